//! `clock-get` and `clock-advance`: simulated time. On the virtual clock
//! (`--clock virtual`) time stands still until `clock-advance` moves it,
//! running every timer due in the span in order, each at its own time, so a
//! test's notifications come in the same sequence every run. A long advance
//! runs a budget of timers per turn of the event loop
//! ([`crate::simulator::ADVANCE_BUDGET`]), serving others in between, and
//! is acknowledged when done.

use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{cmd, dev_attr};
use std::time::Duration;

pub fn get(sim: &mut Simulator, _: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let mut reply = request.reply(cmd::CLOCK_GET);
    reply
        .put_u64(dev_attr::CLOCK_MS, sim.timers.now().as_millis() as u64)
        .put_u8(dev_attr::CLOCK_VIRTUAL, sim.timers.is_virtual().into());
    Ok(Some(reply.finish()))
}

pub fn advance(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    // Present and within its bounds: the spec requires and checks it.
    let attr = request.attrs.get(dev_attr::CLOCK_ADVANCE_MS).expect("required by the spec");
    if !sim.timers.is_virtual() {
        let message = "the simulator runs on the real clock: start it with --clock virtual to advance time";
        return Err(HandlerError::at(errno::EOPNOTSUPP, message.to_string(), &attr));
    }
    let token = sim.new_token();
    if !sim.start_advance(Duration::from_millis(attr.u64().unwrap_or_default()), token) {
        return Err(HandlerError::new(errno::EBUSY, "the clock is being advanced already".to_string()));
    }
    ctx.answer_later = Some(token);
    Ok(None)
}
