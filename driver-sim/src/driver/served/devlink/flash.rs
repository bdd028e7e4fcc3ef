//! `flash-update`: flashes the simulated firmware (the file name is the
//! new version); the request is answered when the flash ends, and every
//! flash of the device, however started (`genl-client fw flash` too), is
//! announced on `config` as devlink announces a flash
//! (`DEVLINK_CMD_FLASH_UPDATE`, `_STATUS`, `_END`), with the statuses
//! netdevsim's flash sends (`nsim_dev_flash_update`).

use super::super::ops::attr_type;
use super::super::personality::Answer;
use super::super::store::Attrs;
use super::wire::cmd;
use super::{device_of, handle, refuse_kernel_device, send, FW_VERSION_NAME};
use crate::driver::model::firmware::PREPARING;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use serde_json::json;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::FwStatus;

/// `devlink_nl_flash_update_doit` with netdevsim's driver behind it.
pub fn update(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>, wanted: &Attrs) -> Answer {
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
    refuse_kernel_device(sim, id, "flash")?;
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

/// Announces a flash status of device `dev` as devlink announces it, if
/// devlink is served; a flash that ended answers the `flash-update` that
/// started it.
pub fn relay_flash(sim: &mut Simulator, dev: u32, status: &FwStatus) {
    let Some(id) = sim.families.by_name("devlink").map(|f| f.id) else { return };
    let Some(instance) = sim.devices.get(dev).map(|d| handle(&d.devlink)) else { return };
    let mut notices: Vec<(u8, Attrs)> = Vec::new();
    let status_of = |message: &str, done: u64, total: u64, timeout: u64| {
        let mut attrs = instance.clone();
        attrs.insert("flash-update-status-msg".into(), json!(message));
        attrs.insert("flash-update-status-done".into(), json!(done));
        attrs.insert("flash-update-status-total".into(), json!(total));
        attrs.insert("flash-update-status-timeout".into(), json!(timeout));
        (cmd::FLASH_UPDATE_STATUS, attrs)
    };
    let starts = status.message == PREPARING && !status.finished;
    if starts {
        notices.push((cmd::FLASH_UPDATE, instance.clone()));
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
        notices.push((cmd::FLASH_UPDATE_END, instance.clone()));
    }
    for (cmd, attrs) in notices {
        send(sim, cmd, attrs, &[]);
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
