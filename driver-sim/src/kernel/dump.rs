//! Dumps produced one buffer at a time, as the kernel's `netlink_dump`
//! produces them: a dump request is validated and its scope fixed when it
//! arrives (genetlink's `start`), the first buffer is built at once, and
//! each later buffer only when the previous one reached the client's
//! socket. A dump therefore holds a cursor, never its whole answer: memory
//! per client stays bounded whatever it asks for.
//!
//! A buffer holds as many whole messages as fit in the reader's buffer
//! size ([`buffer_size`]: the kernel's, `NLMSG_GOODSIZE` until the socket
//! said how large it reads); `NLMSG_DONE` is appended to the last one when it fits, or comes
//! alone (always alone for the controller's dumps: [`DoneFraming`]). If the
//! simulator's state changed since the dump started, every later message
//! (and `NLMSG_DONE`) carries `NLM_F_DUMP_INTR`, as
//! `nl_dump_check_consistent` marks them.

use crate::kernel::genl::{HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::extack::build_done;
use simdev_protocol::family::FamilySpec;
use simdev_protocol::wire::{MessageBuilder, NlHeader, NLM_F_DUMP_INTR, NLM_F_MULTI};

/// `NLMSG_GOODSIZE` on this architecture: a page less the `struct
/// skb_shared_info` (320 bytes) every skb carries. The kernel's first dump
/// buffer for a socket that has not read yet holds this much.
pub const NLMSG_GOODSIZE: usize = 4096 - 320;

/// The most a dump buffer holds: `SKB_WITH_OVERHEAD(32768)`, the cap the
/// kernel puts on a socket's largest `recvmsg` (`max_recvmsg_len`).
pub const DUMP_DATAGRAM_MAX: usize = 32768 - 320;

/// How much one dump buffer holds for a reader whose largest receive is
/// `recv_size` bytes (0: not known), as `netlink_dump` sizes its skb:
/// `NLMSG_GOODSIZE`, or the reader's size when larger, at most
/// [`DUMP_DATAGRAM_MAX`]. The simulator cannot see a client's `recvmsg`:
/// a client says its size with simdev's `socket-set` (`genl-client exec`'s
/// preload says the program's), and one that does not gets page-sized
/// buffers, which any reader takes whole.
pub fn buffer_size(recv_size: usize) -> usize {
    recv_size.clamp(NLMSG_GOODSIZE, DUMP_DATAGRAM_MAX)
}

/// What a dump covers, fixed when it starts.
#[derive(Debug, Clone)]
pub enum DumpTarget {
    /// simdev objects of every device, or of one device.
    Devices(Option<u32>),
    /// The controller's families.
    Families,
    /// The controller's policy dump of a family (of one of its commands).
    Policy { family: &'static FamilySpec, family_id: u16, op: Option<u32> },
    /// A served family's objects that match a filter, for command `cmd`,
    /// its parts framed as its driver frames them.
    Served {
        cmd: u8,
        filter: std::rc::Rc<crate::driver::served::store::Attrs>,
        framing: crate::driver::served::personality::DumpFraming,
    },
}

/// Where a dump resumes: an outer index (a device id, a family) and an
/// inner one (an object of that device, a policy part).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub outer: u64,
    pub inner: u64,
}

/// What a [`DumpNext`] produces.
pub type DumpStep = Result<Option<(Vec<u8>, Position)>, HandlerError>;

/// The request a dump answers, as much of it as later buffers need.
#[derive(Debug, Clone)]
pub struct DumpRequest {
    pub header: NlHeader,
    pub family_id: u16,
    pub version: u8,
    /// The requester's port.
    pub port: u32,
    pub target: DumpTarget,
}

impl DumpRequest {
    /// Starts one message of the dump.
    pub fn part(&self, cmd: u8) -> MessageBuilder {
        MessageBuilder::genl(self.family_id, NLM_F_MULTI, self.header.seq, self.port, cmd, self.version)
    }
}

/// Validates a dump request and fixes its scope (errors answer the
/// request with `NLMSG_ERROR`, as a failed `start` does).
pub type DumpStart = fn(&mut Simulator, &Request<'_>) -> Result<DumpTarget, HandlerError>;

/// The message at `position` and the position after it; `None` once the
/// dump is complete. Called again for the same position when the message
/// did not fit the buffer, so it must not change state.
pub type DumpNext = fn(&mut Simulator, &DumpRequest, Position) -> DumpStep;

/// Where a dump's `NLMSG_DONE` goes, as the kernel's handler of the same
/// kind puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneFraming {
    /// Appended to the last buffer when it fits, as this kernel (6.18)
    /// frames most dumps (netdev's, ethtool's, the controller's family
    /// list; compared on this kernel).
    WithLastPart,
    /// In a datagram of its own, as the controller's policy dump
    /// (`ctrl_dumppolicy`) ends, even with room left.
    Alone,
}

/// A command's dump.
#[derive(Clone, Copy)]
pub struct DumpHandler {
    pub start: DumpStart,
    pub next: DumpNext,
    pub done: DoneFraming,
}

/// A dump in progress.
pub struct DumpCursor {
    request: DumpRequest,
    next: DumpNext,
    position: Position,
    /// The simulator's generation when the dump started.
    generation: u64,
    /// Every message was sent; only `NLMSG_DONE` is left (it did not fit,
    /// or goes alone).
    only_done_left: bool,
    done: DoneFraming,
}

impl DumpCursor {
    pub fn new(request: DumpRequest, handler: &DumpHandler, generation: u64) -> Self {
        DumpCursor {
            next: handler.next,
            position: Position::default(),
            generation,
            only_done_left: false,
            done: match &request.target {
                DumpTarget::Served { framing, .. } => framing.done,
                _ => handler.done,
            },
            request,
        }
    }

    pub fn request(&self) -> &DumpRequest {
        &self.request
    }

    /// Builds the next buffer; `true` when it ends the dump.
    /// The next buffer, of at most `size` bytes (a first message larger
    /// than that goes alone, as the kernel sends it).
    pub fn next_buffer(&mut self, sim: &mut Simulator, size: usize) -> (Vec<u8>, bool) {
        let interrupted = sim.generation() != self.generation;
        let mut buffer = Vec::new();
        let (error, ext) = if self.only_done_left {
            (0, Default::default())
        } else {
            loop {
                match (self.next)(sim, &self.request, self.position) {
                    Ok(Some((mut message, after))) => {
                        if !buffer.is_empty() && buffer.len() + message.len() > size {
                            return (buffer, false);
                        }
                        if interrupted {
                            mark_interrupted(&mut message);
                        }
                        buffer.extend_from_slice(&message);
                        self.position = after;
                    }
                    Ok(None) => break (0, Default::default()),
                    // A failure after the dump started ends it: the
                    // kernel reports it in NLMSG_DONE.
                    Err(e) => break (-e.errno, e.ext),
                }
            }
        };
        let mut done = build_done(&self.request.header, self.request.port, error, &ext);
        if interrupted {
            mark_interrupted(&mut done);
        }
        let fits = buffer.len() + done.len() <= size && self.done == DoneFraming::WithLastPart;
        if !buffer.is_empty() && !fits {
            self.only_done_left = true;
            return (buffer, false);
        }
        buffer.extend_from_slice(&done);
        (buffer, true)
    }
}

fn mark_interrupted(message: &mut [u8]) {
    let flags = u16::from_ne_bytes([message[6], message[7]]) | NLM_F_DUMP_INTR;
    message[6..8].copy_from_slice(&flags.to_ne_bytes());
}
