//! `reg-get`, `reg-set`: the register file, with its access rules.

use super::{device_scope, dump_per_object, kernel_error, required, target_device};
use crate::driver::model::registers::AccessError;
use crate::kernel::dump::{DoneFraming, DumpHandler, DumpRequest, DumpStep, Position};
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::simdev::{cmd, dev_attr, RegInfo, GROUP_CONFIG};
use simdev_protocol::wire::Attr;

fn access_error(e: AccessError, attr: &Attr<'_>) -> HandlerError {
    HandlerError::at(e.errno, e.message, attr)
}

/// One register as `reg-get` reports it.
fn reg_info(sim: &mut Simulator, dev: u32, name: &str, attr: &Attr<'_>) -> Result<RegInfo, HandlerError> {
    let carrier = sim.devices.carrier_bits(dev).map_err(|e| kernel_error(sim, dev, e))?;
    let registers = &sim.devices.get(dev).expect("selected").registers;
    let reg = registers.get(name).ok_or_else(|| access_error(registers.read(name, || 0).unwrap_err(), attr))?;
    Ok(registers.info(reg, || carrier))
}

pub fn get(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let attr = required(request, dev_attr::REG_NAME)?;
    let name = attr.string().unwrap_or_default();
    // A read of a write-only register is refused, not answered without value.
    let carrier = sim.devices.carrier_bits(id).map_err(|e| kernel_error(sim, id, e))?;
    let device = sim.devices.get(id).expect("selected");
    device.registers.read(name, || carrier).map_err(|e| access_error(e, &attr))?;
    let info = reg_info(sim, id, name, &attr)?;
    let mut reply = request.reply(cmd::REG_GET);
    sim.devices.get(id).expect("selected").scoped(vec![info]).encode(&mut reply);
    Ok(Some(reply.finish()))
}

pub const DUMP: DumpHandler = DumpHandler { start: device_scope, next: dump_next, done: DoneFraming::WithLastPart };

fn dump_next(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    dump_per_object(sim, request, position, cmd::REG_GET, |sim, id, index| {
        sim.devices.register(id, index).map_err(|e| kernel_error(sim, id, e))
    })
}

pub fn set(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let name_attr = required(request, dev_attr::REG_NAME)?;
    let value = required(request, dev_attr::REG_VALUE)?.u64().unwrap_or_default();
    let name = name_attr.string().unwrap_or_default();
    let device = sim.devices.get_mut(id).expect("selected");
    device.registers.write(name, value).map_err(|e| access_error(e, &name_attr))?;
    let info = reg_info(sim, id, name, &name_attr)?;
    sim.notify_object(id, cmd::REG_CHANGE_NTF, GROUP_CONFIG, info);
    Ok(None)
}
