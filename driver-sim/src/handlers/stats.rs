//! `stats-get`: the kernel's counters of every port plus the driver's own.

use super::{dump_targets, kernel_error, target_device};
use crate::genl::{HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::simdev::{cmd, StatsInfo};

fn stats_message(sim: &mut Simulator, request: &Request<'_>, dev: u32, dump: bool) -> Result<Vec<u8>, HandlerError> {
    let ports = sim.devices.port_stats(dev).map_err(|e| kernel_error(sim, dev, e))?;
    let device = sim.devices.get(dev).expect("known");
    let stats = StatsInfo { dev_id: dev, dev_name: device.name.clone(), driver: device.stats, ports };
    let mut message = if dump { request.dump_part(cmd::STATS_GET) } else { request.reply(cmd::STATS_GET) };
    stats.encode(&mut message);
    Ok(message.finish())
}

pub fn get(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, request)?;
    stats_message(sim, request, id, false).map(Some)
}

pub fn dump(sim: &mut Simulator, request: &Request<'_>) -> Result<Vec<Vec<u8>>, HandlerError> {
    dump_targets(sim, request)?.into_iter().map(|id| stats_message(sim, request, id, true)).collect()
}
