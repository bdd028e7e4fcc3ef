//! `dev-get`, `dev-set`, `dev-new`, `dev-del`, `dev-reset`: the device.
//!
//! `dev-get` reports what the kernel says about each port, read fresh for
//! every request. Changes go through the kernel and are answered only after
//! the kernel accepted all of them; a refusal carries the kernel's errno and
//! message, points at the attribute it concerns, and undoes what was done.

use super::{device_scope, dump_per_device, kernel_error, refuse_during_kernel_flash, required, target_device};
use crate::config::DeviceConfig;
use crate::device::{ChangeError, PortSettings};
use crate::dump::{DumpHandler, DumpRequest, DumpStep, Position};
use crate::genl::{HandlerError, Request};
use crate::simulator::{Simulator, RESET_FLAP};
use crate::timers::TimerEvent;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{cmd, dev_attr, Mac, GROUP_CONFIG, GROUP_EVENTS};

pub fn get(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, request)?;
    let info = sim.devices.info(id).map_err(|e| kernel_error(sim, id, e))?;
    let mut reply = request.reply(cmd::DEV_GET);
    info.encode(&mut reply);
    Ok(Some(reply.finish()))
}

pub const DUMP: DumpHandler = DumpHandler { start: device_scope, next: dump_next };

fn dump_next(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    dump_per_device(sim, request, position, cmd::DEV_GET, |sim, id, part| {
        sim.devices.info(id).map_err(|e| kernel_error(sim, id, e))?.encode(part);
        Ok(())
    })
}

/// Maps a refused change to an error pointing at the attribute that asked for it.
pub fn change_error(request: &Request<'_>, e: ChangeError) -> HandlerError {
    let attr_name = simdev_protocol::simdev::DEV_ATTRS.get(e.attr).map_or("?", |s| s.name);
    let why = e.error.message.clone().unwrap_or_else(|| nix::errno::Errno::from_raw(e.error.errno).desc().to_string());
    let message = format!("kernel refused {attr_name} on {}: {why}", e.port);
    match request.attrs.get(e.attr) {
        Some(attr) => HandlerError::at(e.error.errno, message, &attr),
        None => HandlerError::new(e.error.errno, message),
    }
}

pub fn set(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, request)?;
    let attrs = &request.attrs;
    let settings = PortSettings {
        mtu: attrs.get(dev_attr::MTU).and_then(|a| a.u32()),
        mac: attrs.get(dev_attr::MAC).and_then(|a| Mac::try_from(a.payload).ok()),
        up: attrs.get(dev_attr::UP).and_then(|a| a.u8()).map(|v| v != 0),
        ..Default::default()
    };
    if settings.mtu.is_none() && settings.mac.is_none() && settings.up.is_none() {
        return Ok(None);
    }
    sim.devices.apply(id, None, &settings).map_err(|e| change_error(request, e))?;
    sim.notify_dev_change(id);
    Ok(None)
}

/// Hot-plug: the `config` attribute is a TOML `[[device]]` table, checked
/// exactly like one in a configuration file.
pub fn new(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let attr = required(request, dev_attr::CONFIG)?;
    let text = attr.string().unwrap_or_default();
    let config = DeviceConfig::parse(text, "dev-new config")
        .map_err(|e| HandlerError::at(errno::EINVAL, e.to_string(), &attr))?;
    let name = config.name.get_ref().clone();
    if sim.devices.iter().any(|d| d.name == name) {
        return Err(HandlerError::at(errno::EEXIST, format!("device {name} exists"), &attr));
    }
    let id = match &config.id {
        Some(id) if sim.devices.get(*id.get_ref()).is_some() => {
            return Err(HandlerError::at(errno::EEXIST, format!("device id {} is taken", id.get_ref()), &attr));
        }
        Some(id) => *id.get_ref(),
        None => sim.devices.free_id(),
    };
    sim.devices.create(id, &config).map_err(|e| HandlerError::new(e.source.errno, e.message()))?;
    sim.set_current_device(id);
    sim.start_flaps(id);
    let info = sim.devices.info(id).map_err(|e| kernel_error(sim, id, e))?;
    sim.notify_dev(id, cmd::DEV_ADD_NTF);
    let mut reply = request.reply(cmd::DEV_NEW);
    info.encode(&mut reply);
    Ok(Some(reply.finish()))
}

pub fn del(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, request)?;
    refuse_during_kernel_flash(sim, id)?;
    // Describe it while its netdevs still exist: the notification says what went.
    let info = sim.devices.info(id).map_err(|e| kernel_error(sim, id, e))?;
    if let Some(status) = sim.devices.get_mut(id).and_then(|d| d.firmware.abort("device removed")) {
        sim.notify_flash(id, status);
    }
    let mut ntf = sim.notification(cmd::DEV_DEL_NTF);
    info.encode(&mut ntf);
    sim.notify(id, GROUP_CONFIG, ntf.finish());
    sim.devices.remove(id).map_err(|e| HandlerError::new(e.source.errno, e.message()))?;
    Ok(None)
}

/// Registers back to their reset values, a running flash aborted, every
/// port's carrier dropped and restored after [`RESET_FLAP`]. A netdevsim
/// device is reloaded through devlink instead: the driver re-creates its
/// ports (new netdevs, in their initial state).
pub fn reset(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, request)?;
    if sim.devices.get(id).expect("selected").netdevsim.is_some() {
        refuse_during_kernel_flash(sim, id)?;
        if let Err(e) = sim.devices.reload(id) {
            // A fault armed in the kernel fired: count and announce it.
            let device = sim.devices.get_mut(id).expect("selected");
            if let Some(fault) = device.faults.knob_fault("dev-reset").filter(|f| f.errno as i32 == e.errno) {
                fault.fired += 1;
                let fault = fault.clone();
                device.stats.faults_fired += 1;
                sim.notify_object(id, cmd::FAULT_FIRED_NTF, GROUP_EVENTS, fault);
            }
            sim.notify_dev_change(id);
            return Err(kernel_error(sim, id, e));
        }
        sim.devices.get_mut(id).expect("selected").registers.reset();
        sim.notify_dev_change(id);
        return Ok(None);
    }
    let device = sim.devices.get_mut(id).expect("selected");
    device.registers.reset();
    let ports = device.ports.len() as u32;
    if let Some(status) = device.firmware.abort("device reset") {
        sim.notify_flash(id, status);
    }
    for port in 0..ports {
        let generation = sim.devices.set_carrier(id, port, false).map_err(|e| kernel_error(sim, id, e))?;
        sim.timers.schedule(RESET_FLAP, TimerEvent::CarrierUp { dev: id, port, generation });
    }
    sim.notify_dev_change(id);
    Ok(None)
}
