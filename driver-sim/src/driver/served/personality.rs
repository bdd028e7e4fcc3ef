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
use crate::kernel::dump::DoneFraming;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_ynl::Op;

/// What a do handler answers: its reply, if any, or its error.
pub type Answer = Result<Option<Vec<u8>>, HandlerError>;

/// One object a personality computes ([`super::store::Object`]'s parts).
#[derive(Debug, Default)]
pub struct Entry {
    pub attrs: Attrs,
    pub keys: Attrs,
    pub raw: Vec<u8>,
}

impl From<Attrs> for Entry {
    fn from(attrs: Attrs) -> Self {
        Entry { attrs, ..Default::default() }
    }
}

/// How a dump's parts go out, where a driver's dumpit differs from the
/// generic one's (netlink's core appends `NLMSG_DONE` to the last part,
/// parts carry `NLM_F_MULTI` and the spec's reply command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpFraming {
    /// Flags beyond `NLM_F_MULTI` (devlink's health dump and region read
    /// put `NLM_F_ACK` on theirs).
    pub extra_flags: u16,
    pub done: DoneFraming,
    /// The command parts carry, when not the spec's.
    pub cmd: Option<u8>,
}

impl Default for DumpFraming {
    fn default() -> Self {
        DumpFraming { extra_flags: 0, done: DoneFraming::WithLastPart, cmd: None }
    }
}

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

    /// The error for a request naming an object that does not exist, when
    /// the driver's differs by object (`None`: [`Self::not_found`]'s).
    fn not_found_error(
        &self,
        _sim: &Simulator,
        _get_op: &str,
        _wanted: &Attrs,
        _request: &Request<'_>,
    ) -> Option<HandlerError> {
        None
    }

    /// Checks a dump request of `op` before it starts (what the driver's
    /// dumpit refuses; the error answers the request).
    fn check_dump(&self, _sim: &mut Simulator, _op: &str, _wanted: &Attrs) -> Result<(), HandlerError> {
        Ok(())
    }

    /// How its driver frames `op`'s dump.
    fn dump_framing(&self, _op: &str) -> DumpFraming {
        DumpFraming::default()
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

    /// Whether the objects of `get_op` are this personality's (an op that
    /// reads objects of its own, as devlink's `region-read`, is asked by
    /// its own name first).
    fn answers(&self, get_op: &str) -> bool;

    /// The first object of `get_op` at or after `cursor`, with the cursor
    /// after it; `None` past the last. The same cursor gives the same
    /// object while the state does not change (a dump resumes from it).
    /// `wanted` is the request's filter, which the engine applies to what
    /// this returns; an op whose request shapes its objects (a region
    /// read's address and length) reads it, and the objects it makes
    /// then carry the filter in their keys.
    fn object(&self, sim: &mut Simulator, get_op: &str, wanted: &Attrs, cursor: u64) -> Option<(Entry, u64)>;
}

/// The personality of family `name`, if simdev has one.
pub fn of(name: &str) -> Option<&'static dyn Personality> {
    match name {
        "devlink" => Some(&super::devlink::DEVLINK),
        _ => None,
    }
}
