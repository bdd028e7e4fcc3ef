//! `stats-get`: the kernel's counters of every port plus the driver's own.

use super::{device_scope, dump_per_device, kernel_error, target_device};
use crate::kernel::dump::{DoneFraming, DumpHandler, DumpRequest, DumpStep, Position};
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::simdev::{cmd, StatsInfo};
use simdev_protocol::wire::MessageBuilder;

fn write_stats(sim: &mut Simulator, dev: u32, message: &mut MessageBuilder) -> Result<(), HandlerError> {
    let ports = sim.devices.port_stats(dev).map_err(|e| kernel_error(sim, dev, e))?;
    let device = sim.devices.get(dev).expect("known");
    let stats =
        StatsInfo { dev_id: dev, dev_name: device.name.clone(), driver: device.stats, server: sim.server_stats, ports };
    stats.encode(message);
    Ok(())
}

pub fn get(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let mut reply = request.reply(cmd::STATS_GET);
    write_stats(sim, id, &mut reply)?;
    Ok(Some(reply.finish()))
}

pub const DUMP: DumpHandler = DumpHandler { start: device_scope, next: dump_next, done: DoneFraming::WithLastPart };

fn dump_next(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    dump_per_device(sim, request, position, cmd::STATS_GET, write_stats)
}
