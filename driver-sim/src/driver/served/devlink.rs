//! The simulated devices' devlink personality: with `devlink` served from
//! the kernel's spec (`[[family]] spec = "devlink"`), every simulated
//! device is a devlink instance (`simdev/NAME`), its ports are devlink
//! ports of flavour physical with their netdevs, and `info` reports its
//! driver and firmware, in the attributes and order the kernel's devlink
//! core fills them (`net/devlink/`), as netdevsim's instances answer.
//! Its driver's `config` group is registered too (the spec lists none).
//!
//! `flash-update` flashes the simulated firmware (the file name is the new
//! version): the request is answered when the flash ends, and every flash
//! of the device, however started (`genl-client fw flash` too), is
//! announced on `config` as devlink announces a flash
//! (`DEVLINK_CMD_FLASH_UPDATE`, `_STATUS`, `_END`), with the statuses
//! netdevsim's flash sends (`nsim_dev_flash_update`).

use super::ops::attr_type;
use super::personality::{Answer, Personality};
use super::store::Attrs;
use super::NotFound;
use crate::driver::model::firmware::PREPARING;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use serde_json::json;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::FwStatus;
use simdev_protocol::wire::MessageBuilder;
use simdev_protocol::ynl::codec::Codec;
use simdev_ynl::Op;

/// The bus name of the simulated devices' devlink instances.
pub const BUS_NAME: &str = "simdev";
/// What `info` names as the driver.
pub const DRIVER_NAME: &str = "simdev";
/// The version name `info` reports the simulated firmware under.
pub const FW_VERSION_NAME: &str = "fw";

pub struct Devlink;

pub static DEVLINK: Devlink = Devlink;

/// A port cursor: the device id above, the port index below.
const PORT_BITS: u32 = 16;

fn handle(name: &str) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("bus-name".into(), json!(BUS_NAME));
    attrs.insert("dev-name".into(), json!(name));
    attrs
}

fn version(name: &str, value: &str) -> serde_json::Value {
    json!({"info-version-name": name, "info-version-value": value})
}

impl Personality for Devlink {
    fn groups(&self) -> &'static [&'static str] {
        &["config"]
    }

    /// `devlink_get_from_attrs_lock`, `devlink_port_get_from_attrs`: a
    /// bare `ENODEV`.
    fn not_found(&self) -> NotFound {
        NotFound { errno: libc::ENODEV, extack: false }
    }

    /// netdevsim's ports have no split callbacks.
    fn lacks(&self, op: &str) -> bool {
        matches!(op, "port-split" | "port-unsplit")
    }

    fn act(
        &self,
        sim: &mut Simulator,
        ctx: &mut Context,
        request: &Request<'_>,
        op: &Op,
        wanted: &Attrs,
    ) -> Option<Answer> {
        match op.name.as_str() {
            "flash-update" => Some(flash_update(sim, ctx, request, wanted)),
            _ => None,
        }
    }

    fn answers(&self, get_op: &str) -> bool {
        matches!(get_op, "get" | "port-get" | "info-get")
    }

    fn object(&self, sim: &mut Simulator, get_op: &str, cursor: u64) -> Option<(Attrs, u64)> {
        match get_op {
            // `devlink_nl_fill`: the handle and whether a reload failed.
            "get" => {
                let id = sim.devices.first_from(cursor)?;
                let mut attrs = handle(&sim.devices.get(id).expect("listed").name);
                attrs.insert("reload-failed".into(), json!(0));
                Some((attrs, u64::from(id) + 1))
            }
            // `devlink_nl_port_fill`: handle, index, type and netdev, then
            // `devlink_nl_port_attrs_put` (splittable, flavour, number:
            // netdevsim numbers its physical ports from 1).
            "port-get" => {
                let mut cursor = cursor;
                loop {
                    let id = sim.devices.first_from(cursor >> PORT_BITS)?;
                    let port = if u64::from(id) == cursor >> PORT_BITS { (cursor & 0xffff) as u32 } else { 0 };
                    let info = sim.devices.info(id).ok();
                    let device = sim.devices.get(id).expect("listed");
                    if port as usize >= device.ports.len() {
                        cursor = (u64::from(id) + 1) << PORT_BITS;
                        continue;
                    }
                    let mut attrs = handle(&device.name);
                    attrs.insert("port-index".into(), json!(port));
                    attrs.insert("port-type".into(), json!("eth"));
                    if let Some(netdev) = info.as_ref().and_then(|i| i.ports.get(port as usize)).filter(|p| !p.missing)
                    {
                        attrs.insert("port-netdev-ifindex".into(), json!(netdev.ifindex));
                        attrs.insert("port-netdev-name".into(), json!(netdev.ifname));
                    }
                    attrs.insert("port-splittable".into(), json!(0));
                    attrs.insert("port-flavour".into(), json!("physical"));
                    attrs.insert("port-number".into(), json!(port + 1));
                    return Some((attrs, (u64::from(id) << PORT_BITS) | u64::from(port + 1)));
                }
            }
            // `devlink_nl_info_fill`: handle, the driver's name, then what
            // the driver puts: the simulated firmware, stored then running.
            "info-get" => {
                let id = sim.devices.first_from(cursor)?;
                let fw = sim.devices.fw_info(id).ok()?;
                let device = sim.devices.get(id).expect("listed");
                let mut attrs = handle(&device.name);
                attrs.insert("info-driver-name".into(), json!(DRIVER_NAME));
                let stored = fw.pending_version.clone().unwrap_or_else(|| fw.version.clone());
                attrs.insert("info-version-stored".into(), json!([version(FW_VERSION_NAME, &stored)]));
                attrs.insert("info-version-running".into(), json!([version(FW_VERSION_NAME, &fw.version)]));
                Some((attrs, u64::from(id) + 1))
            }
            _ => None,
        }
    }
}

/// The device a request's handle names, or the core's bare `ENODEV`.
fn device_of(sim: &Simulator, wanted: &Attrs) -> Result<u32, HandlerError> {
    let bus = wanted.get("bus-name").and_then(|v| v.as_str());
    let name = wanted.get("dev-name").and_then(|v| v.as_str());
    let no_device = || HandlerError { errno: errno::ENODEV, ext: Default::default() };
    if bus != Some(BUS_NAME) {
        return Err(no_device());
    }
    sim.devices.iter().find(|d| Some(d.name.as_str()) == name).map(|d| d.id).ok_or_else(no_device)
}

/// `devlink_nl_flash_update_doit` with netdevsim's driver behind it.
fn flash_update(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>, wanted: &Attrs) -> Answer {
    let id = device_of(sim, wanted)?;
    let family = sim.served.get(request.family_id).expect("served").ynl;
    let number = |name: &str| attr_type(family, "devlink", name).unwrap_or(0);
    let Some(file) = wanted.get("flash-update-file-name").and_then(|v| v.as_str()) else {
        let name = "flash-update-file-name";
        return Err(HandlerError::missing(number(name), format!("missing attribute: {name}")));
    };
    if let Some(component) = wanted.get("flash-update-component").and_then(|v| v.as_str()) {
        if component != FW_VERSION_NAME {
            let message = "selected component is not supported by this device";
            return Err(match request.all(number("flash-update-component")).next() {
                Some(a) => HandlerError::at(errno::EINVAL, message, &a),
                None => HandlerError::new(errno::EINVAL, message),
            });
        }
    }
    if sim.devices.get(id).expect("found").netdevsim.is_some() {
        let message = "this device's flash is the kernel's netdevsim's: flash it with the kernel's devlink";
        return Err(HandlerError::new(errno::EOPNOTSUPP, message));
    }
    let file = file.to_string();
    crate::driver::ops::fw::start_simulated_flash(sim, id, &file)?;
    let token = sim.new_token();
    ctx.answer_later = Some(token);
    sim.served.get_mut(request.family_id).expect("served").waiting.push((id, token));
    Ok(None)
}

/// netdevsim's flash in bytes: what `Flashing` counts done of.
const NSIM_FLASH_SIZE: u64 = 500_000;
/// The timeout netdevsim announces for its last step ("Flash select").
const NSIM_FLASH_SELECT_TIMEOUT: u64 = 81;

/// devlink's command numbers of a flash's notifications.
const CMD_FLASH_UPDATE: u8 = 58;
const CMD_FLASH_UPDATE_END: u8 = 59;
const CMD_FLASH_UPDATE_STATUS: u8 = 60;

/// Announces a flash status of device `dev` as devlink announces it, if
/// devlink is served; a flash that ended answers the `flash-update` that
/// started it.
pub fn relay_flash(sim: &mut Simulator, dev: u32, status: &FwStatus) {
    let Some(registered) = sim.families.by_name("devlink") else { return };
    let (id, group) = (registered.id, registered.group("config"));
    let Some(name) = sim.devices.get(dev).map(|d| d.name.clone()) else { return };
    let family = sim.served.get(id).expect("a served family").ynl;
    let mut notices: Vec<(u8, Attrs)> = Vec::new();
    let status_of = |message: &str, done: u64, total: u64, timeout: u64| {
        let mut attrs = handle(&name);
        attrs.insert("flash-update-status-msg".into(), json!(message));
        attrs.insert("flash-update-status-done".into(), json!(done));
        attrs.insert("flash-update-status-total".into(), json!(total));
        attrs.insert("flash-update-status-timeout".into(), json!(timeout));
        (CMD_FLASH_UPDATE_STATUS, attrs)
    };
    let starts = status.message == PREPARING && !status.finished;
    if starts {
        notices.push((CMD_FLASH_UPDATE, handle(&name)));
    }
    match (status.finished, status.error) {
        (false, _) if starts => notices.push(status_of(PREPARING, 0, 0, 0)),
        (false, _) => notices.push(status_of("Flashing", status.done * NSIM_FLASH_SIZE / 100, NSIM_FLASH_SIZE, 0)),
        (true, 0) => {
            notices.push(status_of("Flashing", NSIM_FLASH_SIZE, NSIM_FLASH_SIZE, 0));
            notices.push(status_of("Flash select", 0, 0, NSIM_FLASH_SELECT_TIMEOUT));
            notices.push(status_of("Flashing done", 0, 0, 0));
        }
        (true, _) => notices.push(status_of(&status.message, 0, 0, 0)),
    }
    if status.finished {
        notices.push((CMD_FLASH_UPDATE_END, handle(&name)));
    }
    if let Some(group) = group {
        for (cmd, attrs) in notices {
            let mut message = MessageBuilder::genl(id, 0, 0, 0, cmd, family.version);
            let json = serde_json::Value::Object(attrs);
            match Codec::new(family).encode("devlink", None, &json, &mut message) {
                Ok(()) => sim.multicast(group, message.finish()),
                Err(e) => log::warn!("devlink flash notification: {e}"),
            }
        }
    }
    if !status.finished {
        return;
    }
    let served = sim.served.get_mut(id).expect("a served family");
    let (waiting, others): (Vec<_>, Vec<_>) = served.waiting.drain(..).partition(|(d, _)| *d == dev);
    served.waiting = others;
    for (_, token) in waiting {
        let outcome = match status.error {
            0 => Ok(()),
            error => Err(HandlerError::new(error as i32, status.message.clone())),
        };
        sim.answer(token, outcome);
    }
}
