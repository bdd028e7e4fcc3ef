//! A served family's driver code: what a real driver of the family
//! answers from its own state rather than from stored objects. A
//! personality computes the objects of some of the family's get ops from
//! the simulator's state (devlink's instances and ports are the simulated
//! devices and their netdevs, [`super::devlink`]); the generic engine
//! still validates, matches, filters, paces dumps and encodes. It may also
//! register multicast groups its family's spec does not list (the kernel
//! driver's own, as devlink's `config`).

use super::store::Attrs;
use super::NotFound;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_ynl::Op;

/// What a do handler answers: its reply, if any, or its error.
pub type Answer = Result<Option<Vec<u8>>, HandlerError>;

pub trait Personality: Sync {
    /// Multicast groups its driver registers beyond the spec's.
    fn groups(&self) -> &'static [&'static str] {
        &[]
    }

    /// How its driver answers a request for an object that does not exist
    /// (the configuration's `not-found` overrides it).
    fn not_found(&self) -> NotFound {
        NotFound { errno: libc::ENOENT, extack: true }
    }

    /// Ops its driver has no callback for: the kernel's core answers them
    /// with a bare `EOPNOTSUPP` (netdevsim's `port-split`).
    fn lacks(&self, _op: &str) -> bool {
        false
    }

    /// Runs `op` (its request's attributes in the store's form) when its
    /// driver does something of its own (a flash); `None`: the generic
    /// rules apply.
    fn act(
        &self,
        _sim: &mut Simulator,
        _ctx: &mut Context,
        _request: &Request<'_>,
        _op: &Op,
        _wanted: &Attrs,
    ) -> Option<Answer> {
        None
    }

    /// Whether the objects of `get_op` are this personality's.
    fn answers(&self, get_op: &str) -> bool;

    /// The first object of `get_op` at or after `cursor`, with the cursor
    /// after it; `None` past the last. The same cursor gives the same
    /// object while the state does not change (a dump resumes from it).
    fn object(&self, sim: &mut Simulator, get_op: &str, cursor: u64) -> Option<(Attrs, u64)>;
}

/// The personality of family `name`, if simdev has one.
pub fn of(name: &str) -> Option<&'static dyn Personality> {
    match name {
        "devlink" => Some(&super::devlink::DEVLINK),
        _ => None,
    }
}
