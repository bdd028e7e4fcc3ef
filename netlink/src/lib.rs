//! Netlink I/O, shared by the simulator and the client: the layer under
//! both that talks to sockets. `protocol` says what the bytes mean; this
//! crate sends and receives them.
//!
//! - [`client::Client`]: a socket to the kernel or to a simulator; requests,
//!   dumps, family resolution, decoded errors ([`error`]).
//! - [`pipeline`]: many requests in flight, answers matched in order.
//! - [`mmsg`]: many datagrams per system call (`recvmmsg`/`sendmmsg`).
//! - [`rtnl`]: the kernel's rtnetlink, for links (create, inspect, change, delete).
//! - [`devlink`]: the kernel's devlink family (instances, info, reload, flash).
//! - [`ethtool`]: the kernel's ethtool family (ring sizes).
//!
//! Nothing here knows the simulator's state or the command line.

pub mod client;
pub mod devlink;
pub mod error;
pub mod ethtool;
pub mod mmsg;
pub mod pipeline;
pub mod rtnl;
