//! `subscribe` and `unsubscribe`: simdev's extension for users who may not
//! join `NETLINK_USERSOCK` groups (the kernel lets anyone send to them but
//! only `CAP_NET_ADMIN` join). A subscribed socket is also sent each of
//! those groups' notifications by unicast, through its answer queue (so a
//! socket that does not read loses them, counted in `answers-dropped`, and
//! never stalls the simulator). The subscription belongs to the socket:
//! it ends with `unsubscribe` or when the socket is gone.

use crate::genl::{HandlerError, Request};
use crate::simulator::{Simulator, SubscriptionChange};
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::dev_attr;

/// The groups a request names, as a mask of group numbers (bit N-1 for
/// group N); each must be one of simdev's.
fn groups(sim: &Simulator, request: &Request<'_>) -> Result<u32, HandlerError> {
    let mut mask = 0;
    for attr in request.all(dev_attr::MCAST_GROUP) {
        let group = attr.u32().unwrap_or_default();
        if !sim.families.simdev_groups.contains(&group) {
            let known: Vec<String> = sim.families.simdev_groups.iter().map(u32::to_string).collect();
            let message = format!("simdev has no multicast group {group} (its groups: {})", known.join(", "));
            return Err(HandlerError::at(errno::EINVAL, message, &attr));
        }
        mask |= 1 << (group - 1);
    }
    Ok(mask)
}

pub fn subscribe(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let mask = groups(sim, request)?;
    sim.change_subscription(SubscriptionChange::Join(mask));
    Ok(None)
}

pub fn unsubscribe(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let mask = match groups(sim, request)? {
        0 => u32::MAX,
        mask => mask,
    };
    sim.change_subscription(SubscriptionChange::Leave(mask));
    Ok(None)
}
