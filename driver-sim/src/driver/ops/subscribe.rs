//! `subscribe` (and its undoing, [`super::unsubscribe`]): simdev's extension for users who may not
//! join `NETLINK_USERSOCK` groups (the kernel lets anyone send to them but
//! only `CAP_NET_ADMIN` join). A subscribed socket is also sent each of
//! those groups' notifications by unicast, through its answer queue (so a
//! socket that does not read loses them, counted in `answers-dropped`, and
//! never stalls the simulator). The subscription belongs to the socket:
//! it ends with `unsubscribe` or when the socket is gone.

use crate::kernel::clients::SubscriptionChange;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::dev_attr;

/// The groups a request names, as a mask of group numbers (bit N-1 for
/// group N); each must be one of simdev's or of a family served from its
/// spec (not the controller's: the simulator sends nothing there).
pub(super) fn groups(sim: &Simulator, request: &Request<'_>) -> Result<u32, HandlerError> {
    let served: Vec<u32> = sim
        .families
        .iter()
        .filter(|family| family.id != simdev_protocol::ctrl::GENL_ID_CTRL)
        .flat_map(|family| family.groups.iter().copied())
        .collect();
    let mut mask = 0;
    for attr in request.all(dev_attr::MCAST_GROUP) {
        let group = attr.u32().unwrap_or_default();
        if !served.contains(&group) {
            let known: Vec<String> = served.iter().map(u32::to_string).collect();
            let message = format!("the simulator has no multicast group {group} (its groups: {})", known.join(", "));
            return Err(HandlerError::at(errno::EINVAL, message, &attr));
        }
        mask |= 1 << (group - 1);
    }
    Ok(mask)
}

pub fn run(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let mask = groups(sim, request)?;
    ctx.subscription = Some(SubscriptionChange::Join(mask));
    Ok(None)
}
