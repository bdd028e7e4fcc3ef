//! `health-report`: one of a device's devlink health reporters reports an
//! error, as netdevsim's debugfs `health/break_health` makes its dummy
//! reporter report one (the devlink personality carries it out).

use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::simdev::dev_attr;

pub fn report(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = super::target_device(sim, ctx, request)?;
    let reporter = super::required(request, dev_attr::HEALTH_REPORTER)?;
    let message = super::required(request, dev_attr::HEALTH_MESSAGE)?.string().unwrap_or_default().to_string();
    crate::driver::served::devlink::report_health(sim, id, &reporter, &message)?;
    Ok(None)
}
