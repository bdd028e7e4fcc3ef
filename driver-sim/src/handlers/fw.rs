//! `fw-get`, `fw-flash`. A flash is asynchronous, like devlink's: the
//! request is acknowledged at once, then the `fw` group carries progress
//! and the final result, driven by the timer queue; other requests are
//! served meanwhile.

use super::{dump_targets, required, target_device};
use crate::genl::{HandlerError, Request};
use crate::simulator::Simulator;
use crate::timers::TimerEvent;
use simdev_protocol::simdev::{cmd, dev_attr, GROUP_EVENTS};

fn fw_message(sim: &Simulator, request: &Request<'_>, dev: u32, dump: bool) -> Vec<u8> {
    let device = sim.devices.get(dev).expect("known");
    let mut message = if dump { request.dump_part(cmd::FW_GET) } else { request.reply(cmd::FW_GET) };
    device.scoped(vec![device.firmware.info()]).encode(&mut message);
    message.finish()
}

pub fn get(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, request)?;
    Ok(Some(fw_message(sim, request, id, false)))
}

pub fn dump(sim: &mut Simulator, request: &Request<'_>) -> Result<Vec<Vec<u8>>, HandlerError> {
    Ok(dump_targets(sim, request)?.into_iter().map(|id| fw_message(sim, request, id, true)).collect())
}

pub fn flash(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, request)?;
    let attr = required(request, dev_attr::FW_VERSION)?;
    let version = attr.string().unwrap_or_default();
    let device = sim.devices.get_mut(id).expect("selected");
    if device.firmware.info().flashing {
        // Refuse before consulting flash-failure faults, so none is used up.
        let (errno, message) = device.firmware.start(version, None).unwrap_err();
        return Err(HandlerError::new(errno, message));
    }
    let failure = device.faults.flash_failure();
    let (status, generation) = device
        .firmware
        .start(version, failure.as_ref().map(|(f, _)| *f))
        .map_err(|(errno, message)| HandlerError::new(errno, message))?;
    let interval = device.firmware.step_interval();
    if let Some((_, fault)) = failure {
        device.stats.faults_fired += 1;
        sim.notify_object(id, cmd::FAULT_FIRED_NTF, GROUP_EVENTS, fault);
    }
    sim.notify_flash(id, status);
    sim.timers.schedule(interval, TimerEvent::FlashStep { dev: id, generation });
    Ok(None)
}
