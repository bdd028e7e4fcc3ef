//! The client's errors: what failed, with the errno and the extended-ACK
//! details decoded into names a user can act on.

use nix::errno::Errno;
use simdev_protocol::errno::strerror;

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
        /// The raw extended ACK: offset, missing type, failed policy.
        details: Box<ExtackDetails>,
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
    /// The simulator lost answers for this socket, which did not read them
    /// in time (its `NLMSG_OVERRUN` marker; the kernel says `ENOBUFS`).
    #[error("answers were lost: this socket did not read them in time (ENOBUFS)")]
    AnswersLost,
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
    /// `exec` cannot run the program as asked (not found, out of the
    /// preload library's reach, no library).
    #[error("exec: {0}")]
    Exec(String),
}

/// What an extended ACK said, as numbers: for callers that name
/// attributes themselves (from a spec) and for JSON errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtackDetails {
    /// `NLMSGERR_ATTR_OFFS`: the offending attribute's byte offset.
    pub offset: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_TYPE`.
    pub missing_type: Option<u32>,
    /// `NLMSGERR_ATTR_POLICY`: the failed policy's `NL_POLICY_TYPE_ATTR_*` values.
    pub policy: Vec<(u16, u64)>,
}

impl ExtackDetails {
    pub fn from_status(status: &simdev_protocol::extack::Status) -> Self {
        let policy = status.policy.iter().flatten().map(|(kind, payload)| (*kind, uint(payload))).collect();
        ExtackDetails { offset: status.offset, missing_type: status.missing_type, policy }
    }

    /// The policy as YNL names it (`{"type": "u32", "min-value": 68, ...}`).
    pub fn policy_json(&self) -> Option<serde_json::Value> {
        use simdev_protocol::policy::policy_attr as p;
        if self.policy.is_empty() {
            return None;
        }
        const TYPES: [&str; 17] = [
            "flag",
            "u8",
            "u16",
            "u32",
            "u64",
            "s8",
            "s16",
            "s32",
            "s64",
            "binary",
            "string",
            "nul_string",
            "nested",
            "nested_array",
            "bitfield32",
            "sint",
            "uint",
        ];
        let mut map = serde_json::Map::new();
        for &(kind, value) in &self.policy {
            let (name, value): (&str, serde_json::Value) = match kind {
                p::TYPE => ("type", TYPES.get((value as usize).wrapping_sub(1)).map_or(value.into(), |t| (*t).into())),
                p::MIN_VALUE_S => ("min-value", (value as i64).into()),
                p::MAX_VALUE_S => ("max-value", (value as i64).into()),
                p::MIN_VALUE_U => ("min-value", value.into()),
                p::MAX_VALUE_U => ("max-value", value.into()),
                p::MIN_LENGTH => ("min-length", value.into()),
                p::MAX_LENGTH => ("max-length", value.into()),
                p::BITFIELD32_MASK => ("bitfield32-mask", value.into()),
                p::MASK => ("mask", value.into()),
                _ => continue,
            };
            map.insert(name.to_string(), value);
        }
        Some(serde_json::Value::Object(map))
    }
}

fn uint(payload: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let len = payload.len().min(8);
    bytes[..len].copy_from_slice(&payload[..len]);
    u64::from_ne_bytes(bytes)
}

impl Error {
    /// The error as one JSON object, for `-j`: the errno (name, number,
    /// description), and what the extended ACK said (message, attribute,
    /// missing attribute, the failed policy's bounds).
    pub fn to_json(&self) -> serde_json::Value {
        let mut error = serde_json::Map::new();
        if let Some(errno) = self.errno() {
            error.insert("errno".into(), format!("{errno:?}").into());
            error.insert("code".into(), (errno as i32).into());
            error.insert("description".into(), strerror(errno as i32).into());
        }
        match self {
            Error::Netlink { message, attribute, missing, details, .. } => {
                if let Some(message) = message {
                    error.insert("message".into(), message.clone().into());
                }
                if let Some(attribute) = attribute {
                    error.insert("attribute".into(), attribute.clone().into());
                }
                if let Some(missing) = missing {
                    error.insert("missing".into(), missing.clone().into());
                }
                if let Some(policy) = details.policy_json() {
                    error.insert("policy".into(), policy);
                }
            }
            other => {
                error.insert("message".into(), other.to_string().into());
            }
        }
        serde_json::json!({ "error": error })
    }

    pub fn io(context: &'static str, source: impl Into<std::io::Error>) -> Self {
        Error::Io { context, source: source.into() }
    }

    /// The errno: the peer's for errors it reported, otherwise the one
    /// that says what went wrong (`ECONNREFUSED` for no simulator,
    /// `ETIMEDOUT` for no answer, `EPERM` for an untrusted one, `EINVAL`
    /// for a usage error, ...). `None` only for a batch's summary (its
    /// lines carried theirs).
    pub fn errno(&self) -> Option<Errno> {
        Some(match self {
            Error::Netlink { errno, .. } => *errno,
            Error::FamilyNotFound(_) => Errno::ENOENT,
            Error::NoSimulator(_) => Errno::ECONNREFUSED,
            Error::Io { source, .. } => source.raw_os_error().map_or(Errno::EIO, Errno::from_raw),
            Error::Decode(_) | Error::Protocol(_) => Errno::EPROTO,
            Error::SubscribePermission | Error::Untrusted { .. } => Errno::EPERM,
            Error::EventsLost | Error::AnswersLost => Errno::ENOBUFS,
            Error::Timeout | Error::NoAnswer { .. } => Errno::ETIMEDOUT,
            Error::Usage(_) => Errno::EINVAL,
            Error::Exec(_) => Errno::ENOEXEC,
            Error::BatchFailed(_) => return None,
        })
    }
}

fn describe_netlink(
    errno: &Errno,
    message: &Option<String>,
    attribute: &Option<String>,
    missing: &Option<String>,
) -> String {
    let mut text = format!("{errno:?} ({})", strerror(*errno as i32));
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
