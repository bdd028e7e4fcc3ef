//! `dev-get` and `dev-set`: the device object.
//!
//! `dev-get` reports what the kernel says about each port, read fresh for
//! every request. `dev-set` applies its changes through the kernel and
//! answers only after the kernel accepted all of them; a refusal carries
//! the kernel's errno and message and points at the attribute it concerns,
//! and undoes what was already changed.

use crate::device::Device;
use crate::genl::{HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{cmd, dev_attr, DevSelector, DevSet, Mac, GROUP_CONFIG};

/// The device a request names by `dev-id` or `dev-name` (both: they must agree).
fn selected_device(sim: &Simulator, request: &Request<'_>) -> Result<Device, HandlerError> {
    let id_attr = request.attrs.get(dev_attr::ID);
    let name_attr = request.attrs.get(dev_attr::NAME);
    let (selector, attr) = match (id_attr, name_attr) {
        (Some(id), _) => (DevSelector::Id(id.u32().unwrap_or_default()), id),
        (None, Some(name)) => (
            DevSelector::Name(name.string().unwrap_or_default().to_string()),
            name,
        ),
        (None, None) => {
            return Err(HandlerError::missing(
                dev_attr::ID,
                "missing attribute: dev-id or dev-name",
            ));
        }
    };
    let device = sim
        .devices
        .find(&selector)
        .ok_or_else(|| HandlerError::at(errno::ENODEV, format!("no device {selector}"), &attr))?;
    if let (Some(_), Some(name)) = (id_attr, name_attr) {
        if Some(device.name.as_str()) != name.string() {
            return Err(HandlerError::at(
                errno::EINVAL,
                "dev-id and dev-name name different devices",
                &name,
            ));
        }
    }
    Ok(device.clone())
}

fn kernel_error(device: &Device, error: crate::rtnl::KernelError) -> HandlerError {
    HandlerError::new(
        error.errno,
        format!("reading {} from the kernel: {error}", device.name),
    )
}

pub fn get(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let device = selected_device(sim, request)?;
    let info = sim
        .devices
        .info(&device)
        .map_err(|e| kernel_error(&device, e))?;
    let mut reply = request.reply(cmd::DEV_GET);
    info.encode(&mut reply);
    Ok(Some(reply.finish()))
}

pub fn dump(sim: &mut Simulator, request: &Request<'_>) -> Result<Vec<Vec<u8>>, HandlerError> {
    let devices: Vec<Device> = sim.devices.iter().cloned().collect();
    devices
        .iter()
        .map(|device| {
            let info = sim
                .devices
                .info(device)
                .map_err(|e| kernel_error(device, e))?;
            let mut part = request.dump_part(cmd::DEV_GET);
            info.encode(&mut part);
            Ok(part.finish())
        })
        .collect()
}

pub fn set(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let device = selected_device(sim, request)?;
    let attrs = &request.attrs;
    let change = DevSet {
        dev: DevSelector::Id(device.id),
        mtu: attrs.get(dev_attr::MTU).and_then(|a| a.u32()),
        mac: attrs
            .get(dev_attr::MAC)
            .and_then(|a| Mac::try_from(a.payload).ok()),
        up: attrs.get(dev_attr::UP).and_then(|a| a.u8()).map(|v| v != 0),
    };
    if change.is_empty() {
        return Ok(None);
    }
    sim.devices.apply_set(&device, &change).map_err(|e| {
        let attr_name = simdev_protocol::simdev::DEV_ATTRS
            .get(e.attr)
            .map_or("?", |s| s.name);
        let why = e.error.message.clone().unwrap_or_else(|| {
            nix::errno::Errno::from_raw(e.error.errno)
                .desc()
                .to_string()
        });
        let message = format!("kernel refused {attr_name} on {}: {why}", e.port);
        match attrs.get(e.attr) {
            Some(attr) => HandlerError::at(e.error.errno, message, &attr),
            None => HandlerError::new(e.error.errno, message),
        }
    })?;
    // Announce the device as it is now, in the dev-get format.
    if let Ok(info) = sim.devices.info(&device) {
        let mut ntf = simdev_protocol::wire::MessageBuilder::genl(
            request.family_id,
            0,
            0,
            0,
            cmd::DEV_CHANGE_NTF,
            request.family.version,
        );
        info.encode(&mut ntf);
        sim.notify(GROUP_CONFIG, ntf.finish());
    }
    Ok(None)
}
