//! `reload`: `devlink_nl_reload_doit`'s checks with netdevsim's driver
//! behind it (it reloads by `driver_reinit` only, with no limit), doing
//! what simdev's `dev-reset` does (its faults too), and what netdevsim's
//! `reload_down`/`reload_up` remake announced as devlink announces them:
//! the instance's objects gone, then back, then the instance with its
//! reload counts.
//!
//! A device whose firmware activates by reset (`[device.firmware]
//! activation = "reset"`) also has `fw_activate`, as NIC drivers do: the
//! flashed version runs, and the driver is re-initialised with it (both
//! actions performed and counted). Others refuse it as netdevsim does.

use super::super::personality::Answer;
use super::super::store::Attrs;
use super::wire::{attr, cmd};
use super::{device_of, driver_objects, objects_changed, refuse_kernel_device, send_object, Change, Notices};
use crate::config::Activation;
use crate::driver::ops::dev::Reset;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_netlink::devlink::{RELOAD_ACTION_DRIVER_REINIT, RELOAD_ACTION_FW_ACTIVATE};
use simdev_protocol::policy::errno;

/// `DEVLINK_RELOAD_LIMIT_MAX`.
const LIMIT_MAX: u32 = 1;

pub fn reload(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>, wanted: &Attrs) -> Answer {
    let id = device_of(sim, wanted)?;
    let action_attr = request.all(attr::RELOAD_ACTION).next();
    let action = action_attr.and_then(|a| a.u8()).unwrap_or(RELOAD_ACTION_DRIVER_REINIT);
    let activates = fw_activate_supported(sim, id);
    if action != RELOAD_ACTION_DRIVER_REINIT && !(action == RELOAD_ACTION_FW_ACTIVATE && activates) {
        return Err(HandlerError::new(errno::EOPNOTSUPP, "Requested reload action is not supported by the driver"));
    }
    let limits_attr = request.all(attr::RELOAD_LIMITS).next();
    if let Some(limits) = limits_attr {
        let value = u32::from_ne_bytes(limits.payload[..4].try_into().expect("bitfield32 by policy"));
        let selector = u32::from_ne_bytes(limits.payload[4..8].try_into().expect("bitfield32 by policy"));
        let selected = value & selector;
        if selected == 0 {
            return Err(HandlerError::new(errno::EINVAL, "Invalid limit selected"));
        }
        let limit = (0..=LIMIT_MAX).find(|l| selected & (1 << l) != 0).unwrap_or(LIMIT_MAX + 1);
        if selected != 1 << limit {
            return Err(HandlerError::new(errno::EOPNOTSUPP, "Multiselection of limit is not supported"));
        }
        // netdevsim registers no limit.
        return Err(HandlerError::new(errno::EOPNOTSUPP, "Requested limit is not supported by the driver"));
    }
    if wanted.keys().any(|name| name.starts_with("netns-")) {
        let message = "the simulator does not move devlink instances between network namespaces";
        return Err(HandlerError::new(errno::EOPNOTSUPP, message));
    }
    refuse_kernel_device(sim, id, "reload")?;
    crate::driver::ops::fire_faults(sim, ctx, id, "dev-reset")?;
    let mut down = Notices::default();
    driver_objects(sim, id, false, &mut down);
    down.send(sim);
    let fw_activate = action == RELOAD_ACTION_FW_ACTIVATE;
    let how = if fw_activate { Reset::FwActivate } else { Reset::DriverReinit };
    let done = crate::driver::ops::dev::reset_device(sim, ctx, id, how);
    // `devlink_reload`: a failed reload_up is shown until one succeeds.
    sim.devices.get_mut(id).expect("found").devlink.reload_failed = done.is_err();
    done?;
    let instance = &mut sim.devices.get_mut(id).expect("found").devlink;
    instance.reloaded();
    // `devlink_reload_stats_update`: every action performed.
    instance.reinits += 1;
    instance.activations += u32::from(fw_activate);
    let mut up = Notices::default();
    driver_objects(sim, id, true, &mut up);
    objects_changed(sim, id, "get", Change::Made, &mut up);
    up.send(sim);
    if action_attr.is_none() && limits_attr.is_none() {
        return Ok(None);
    }
    // `devlink_nl_reload_actions_performed_snd`: a firmware activation
    // re-initialises the driver too.
    let performed = (1u32 << RELOAD_ACTION_DRIVER_REINIT) | (u32::from(fw_activate) << RELOAD_ACTION_FW_ACTIVATE);
    let mut attrs = super::handle(&sim.devices.get(id).expect("found").devlink);
    attrs.insert("reload-actions-performed".into(), serde_json::json!({"value": performed, "selector": performed}));
    send_object(sim, request, cmd::RELOAD, attrs, &[]).map(Some)
}

/// Whether device `id`'s driver has `fw_activate`: its firmware activates
/// by reset.
fn fw_activate_supported(sim: &Simulator, id: u32) -> bool {
    sim.devices.get(id).is_some_and(|d| d.firmware.activation == Activation::Reset)
}

/// `dev-stats` of device `id`'s instance (`devlink_reload_stats_put`):
/// its own, of the actions its driver has (no limits: unspecified only),
/// then the remote ones, of every action and the limits it may have.
pub fn dev_stats(sim: &Simulator, id: u32) -> serde_json::Value {
    let instance = &sim.devices.get(id).expect("known").devlink;
    let entry = |limit: u8, value: u32| serde_json::json!({"reload-stats-limit": limit, "reload-stats-value": value});
    let info = |action: &str, entries: Vec<serde_json::Value>| serde_json::json!({"reload-action": action, "reload-action-stats": [{"reload-stats-entry": entries}]});
    let mut own = vec![info("driver-reinit", vec![entry(0, instance.reinits)])];
    if fw_activate_supported(sim, id) {
        own.push(info("fw-activate", vec![entry(0, instance.activations)]));
    }
    serde_json::json!({
        "reload-stats": {"reload-action-info": own},
        "remote-reload-stats": {"reload-action-info": [
            info("driver-reinit", vec![entry(0, 0)]),
            info("fw-activate", vec![entry(0, 0), entry(1, 0)]),
        ]},
    })
}
