//! `sensor-get`, `sensor-set`: readings, injected at runtime; crossing an
//! alarm threshold (either way) is announced on the `events` group.

use super::{device_scope, dump_per_object, required, target_device};
use crate::kernel::dump::{DoneFraming, DumpHandler, DumpRequest, DumpStep, Position};
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{cmd, dev_attr, GROUP_EVENTS};

pub fn get(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let attr = required(request, dev_attr::SENSOR_NAME)?;
    let name = attr.string().unwrap_or_default();
    let device = sim.devices.get_mut(id).expect("selected");
    let sensor = device
        .sensor_mut(name)
        .ok_or_else(|| HandlerError::at(errno::ENOENT, format!("no sensor {name}"), &attr))?
        .info
        .clone();
    let mut reply = request.reply(cmd::SENSOR_GET);
    device.scoped(vec![sensor]).encode(&mut reply);
    Ok(Some(reply.finish()))
}

pub const DUMP: DumpHandler = DumpHandler { start: device_scope, next: dump_next, done: DoneFraming::WithLastPart };

fn dump_next(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    dump_per_object(sim, request, position, cmd::SENSOR_GET, |sim, id, index| {
        Ok(sim.devices.get(id).expect("a dumped device").sensors.get(index).map(|s| s.info.clone()))
    })
}

pub fn set(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let name_attr = required(request, dev_attr::SENSOR_NAME)?;
    let value_attr = required(request, dev_attr::SENSOR_VALUE)?;
    let name = name_attr.string().unwrap_or_default();
    let device = sim.devices.get_mut(id).expect("selected");
    let sensor = device
        .sensor_mut(name)
        .ok_or_else(|| HandlerError::at(errno::ENOENT, format!("no sensor {name}"), &name_attr))?;
    let reading = sensor
        .set(value_attr.i64().unwrap_or_default())
        .map_err(|(errno, message)| HandlerError::at(errno, message, &value_attr))?;
    let info = sensor.info.clone();
    sim.notify_object(id, cmd::SENSOR_CHANGE_NTF, GROUP_EVENTS, info.clone());
    if reading.alarm_changed {
        sim.notify_object(id, cmd::SENSOR_ALARM_NTF, GROUP_EVENTS, info);
    }
    Ok(None)
}
