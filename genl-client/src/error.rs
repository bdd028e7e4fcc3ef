//! The client's errors: what failed, with the errno and the extended-ACK
//! details decoded into names a user can act on.

use nix::errno::Errno;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The peer answered with an error.
    #[error("{}", describe_netlink(.errno, .message, .attribute, .missing))]
    Netlink {
        errno: Errno,
        /// The extended-ACK message.
        message: Option<String>,
        /// The attribute the error points at (`NLMSGERR_ATTR_OFFS`), by name.
        attribute: Option<String>,
        /// A required attribute that was missing (`NLMSGERR_ATTR_MISS_TYPE`), by name.
        missing: Option<String>,
    },
    /// Nobody is bound at the simulator's port.
    #[error("no simulator answers at netlink port {0} (is driver-sim running? see --port / SIMDEV_PORT)")]
    NoSimulator(u32),
    #[error("family `{0}` not found")]
    FamilyNotFound(String),
    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Decode(#[from] simdev_protocol::DecodeError),
    /// Joining a NETLINK_USERSOCK group needs CAP_NET_ADMIN (sending does not).
    #[error("joining the simulator's multicast groups needs CAP_NET_ADMIN: run as root, or run simulator and client together inside `unshare -Urn`")]
    SubscribePermission,
    /// A subscriber fell behind and the kernel dropped notifications (ENOBUFS).
    #[error("notifications were lost: the receive buffer overflowed (ENOBUFS)")]
    EventsLost,
    /// Lines of a batch failed (each was reported as it failed).
    #[error("{0} batch line(s) failed")]
    BatchFailed(usize),
    /// Nothing arrived within the receive timeout.
    #[error("timed out waiting for the simulator")]
    Timeout,
    /// The simulator's port exists, but nothing answered in time.
    #[error("no answer from the simulator at netlink port {port} within {:.1} s (is it stopped, e.g. SIGSTOP? --timeout / SIMDEV_TIMEOUT waits longer)", .waited.as_secs_f64())]
    NoAnswer { port: u32, waited: std::time::Duration },
    /// The port is held by a process the client does not trust.
    #[error("netlink port {port} is held by a process of uid {uid}, which is neither root nor you: not a simulator to trust (if it is one, say so with --trust-uid {uid} or SIMDEV_TRUST_UID)")]
    Untrusted { port: u32, uid: u32 },
    /// The command line asked for something malformed.
    #[error("{0}")]
    Usage(String),
    #[error("unexpected reply: {0}")]
    Protocol(String),
}

impl Error {
    pub fn io(context: &'static str, source: impl Into<std::io::Error>) -> Self {
        Error::Io { context, source: source.into() }
    }

    /// The errno, for errors the peer reported.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Netlink { errno, .. } => Some(*errno),
            Error::FamilyNotFound(_) => Some(Errno::ENOENT),
            _ => None,
        }
    }
}

fn describe_netlink(
    errno: &Errno,
    message: &Option<String>,
    attribute: &Option<String>,
    missing: &Option<String>,
) -> String {
    let mut text = format!("{errno:?} ({})", errno.desc());
    if let Some(message) = message {
        text.push_str(": ");
        text.push_str(message);
    }
    if let Some(attribute) = attribute {
        text.push_str(&format!(" [attribute: {attribute}]"));
    }
    if let Some(missing) = missing {
        text.push_str(&format!(" [missing attribute: {missing}]"));
    }
    text
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
