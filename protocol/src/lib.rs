//! The one definition of the `simdev` Generic Netlink family and of the
//! `nlctrl` controller protocol, shared by the simulator and the client.
//!
//! - [`wire`]: the netlink codec (headers, attributes, building, splitting).
//! - [`encode`]: typed values to attributes, by the spec (serde).
//! - [`policy`]: attribute policies and kernel-faithful validation.
//! - [`family`]: the declarative shape of a family (commands, groups).
//! - [`ctrl`]: the controller's `GETFAMILY` request and reply.
//! - [`extack`]: `NLMSG_ERROR`/`NLMSG_DONE` with extended-ACK TLVs.
//! - [`simdev`]: the simdev family, generated at build time from its YNL
//!   spec `simdev.yaml`, and its typed messages.
//!
//! - [`served`]: a family's kernel definition made from its YNL spec at run time.
//! - [`ynl`]: messages of any family by its YNL spec (YNL's JSON forms).
//! - [`ready`]: the ready line `driver-sim` prints when it serves.
//! - [`pcap`]: netlink conversations as pcap files (written and read).
//!
//! Nothing here does I/O.

pub mod ctrl;
pub mod encode;
pub mod errno;
pub mod extack;
pub mod family;
pub mod fuzzing;
pub mod pcap;
pub mod policy;
pub mod policy_dump;
pub mod preload;
pub mod ready;
pub mod served;
pub mod simdev;
pub mod wire;
pub mod ynl;

/// The netlink port id the simulator binds when none is configured. It lies
/// above any process id (autobind uses the pid first) and below the
/// kernel's negative autobind range, so it does not collide with clients.
pub const DEFAULT_PORT: u32 = 0x5349_4d44; // "SIMD"

/// Environment variable that overrides [`DEFAULT_PORT`] for clients.
pub const PORT_ENV: &str = "SIMDEV_PORT";

/// A reply that does not have the shape the protocol promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what}: {why}")]
pub struct DecodeError {
    pub what: &'static str,
    pub why: &'static str,
}

impl DecodeError {
    pub fn new(what: &'static str, why: &'static str) -> Self {
        DecodeError { what, why }
    }
}
