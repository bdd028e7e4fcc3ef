//! `unsubscribe`: ends a socket's unicast subscription to the groups it
//! names, or to all when it names none (see [`super::subscribe`]).

use super::subscribe::groups;
use crate::kernel::clients::SubscriptionChange;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;

pub fn run(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let mask = match groups(sim, request)? {
        0 => u32::MAX,
        mask => mask,
    };
    ctx.subscription = Some(SubscriptionChange::Leave(mask));
    Ok(None)
}
