//! `fault-get`, `fault-set`, `fault-clear`: faults injected at runtime,
//! checked by the same rules as faults from TOML. On netdevsim, a fault
//! one of the driver's own debugfs knobs can produce is armed there, and
//! the kernel fails the request (`fault-get` names the knob).

use super::{device_scope, dump_per_device, kernel_error, required, target_device};
use crate::driver::model::faults::check_fault;
use crate::kernel::dump::{DoneFraming, DumpHandler, DumpRequest, DumpStep, Position};
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::simdev::{cmd, dev_attr, FaultInfo, GROUP_CONFIG};
use simdev_protocol::wire::MessageBuilder;

fn write_faults(sim: &Simulator, dev: u32, message: &mut MessageBuilder) {
    let device = sim.devices.get(dev).expect("known");
    device.scoped(device.faults.list().to_vec()).encode(message);
}

pub fn get(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let mut reply = request.reply(cmd::FAULT_GET);
    write_faults(sim, id, &mut reply);
    Ok(Some(reply.finish()))
}

pub const DUMP: DumpHandler = DumpHandler { start: device_scope, next: dump_next, done: DoneFraming::WithLastPart };

fn dump_next(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    dump_per_device(sim, request, position, cmd::FAULT_GET, |sim, id, part| {
        write_faults(sim, id, part);
        Ok(())
    })
}

/// Announces the device's faults as they are now.
fn notify_faults(sim: &mut Simulator, dev: u32) {
    let mut message = sim.notification(cmd::FAULT_CHANGE_NTF);
    write_faults(sim, dev, &mut message);
    sim.notify(dev, GROUP_CONFIG, message.finish());
}

pub fn set(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let command_attr = required(request, dev_attr::FAULT_CMD)?;
    let attrs = &request.attrs;
    let u32_of = |attr| attrs.get(attr).and_then(|a| a.u32());
    let fault = FaultInfo {
        command: command_attr.string().unwrap_or_default().to_string(),
        errno: u32_of(dev_attr::FAULT_ERRNO).unwrap_or(0),
        count: u32_of(dev_attr::FAULT_COUNT),
        probability: u32_of(dev_attr::FAULT_PROBABILITY),
        delay_ms: u32_of(dev_attr::FAULT_DELAY_MS).unwrap_or(0),
        fail_at: attrs.get(dev_attr::FAULT_FAIL_AT).and_then(|a| a.u8()),
        interval_ms: u32_of(dev_attr::FAULT_INTERVAL_MS),
        down_ms: u32_of(dev_attr::FAULT_DOWN_MS),
        port_index: u32_of(dev_attr::PORT_INDEX),
        fired: 0,
        knob: None,
        reporter: attrs.get(dev_attr::HEALTH_REPORTER).and_then(|a| a.string()).map(str::to_string),
    };
    let device = sim.devices.get(id).expect("selected");
    let reporters: Vec<&str> = device.devlink.reporters.iter().map(|r| r.name.as_str()).collect();
    check_fault(&fault, device.ports.len() as u32, device.backend, &reporters)
        .map_err(|refusal| HandlerError::at(refusal.errno, refusal.message, &command_attr))?;
    sim.devices.set_fault(id, fault).map_err(|e| kernel_error(sim, id, e))?;
    sim.start_flaps(id);
    notify_faults(sim, id);
    Ok(None)
}

pub fn clear(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let command = request.attrs.get(dev_attr::FAULT_CMD).and_then(|a| a.string()).map(str::to_string);
    sim.devices.clear_faults(id, command.as_deref()).map_err(|e| kernel_error(sim, id, e))?;
    sim.start_flaps(id);
    notify_faults(sim, id);
    Ok(None)
}
