//! The Generic Netlink request path, as `genetlink.c` and `af_netlink.c`
//! run it: split the datagram, check flags and headers, find the family and
//! command, check permission, validate attributes, run the handler, and
//! answer with a reply, an ACK, a dump ending in `NLMSG_DONE`, or an
//! `NLMSG_ERROR` with extended-ACK TLVs. Handlers only see validated requests.
//!
//! Order of checks (each failure answers and stops that message):
//! 1. no `NLM_F_REQUEST`, or a control type: skipped, ACKed if asked;
//! 2. unknown family id: `ENOENT`;
//! 3. shorter than the genetlink + family headers: `EINVAL`;
//! 4. (strict commands) reserved field or unknown flags: `EINVAL`;
//! 5. unknown command, or no do/dump handler for what was asked: `EOPNOTSUPP`;
//! 6. admin command from a uid that is not allowed: `EPERM`;
//! 7. attribute validation against the command's do or dump policy: the
//!    policy's errno and extack;
//! 8. (do) attributes the family's spec says the command requires: `EINVAL`
//!    with the missing type (`GENL_REQ_ATTR_CHECK`);
//! 9. the family's `pre_doit` (simdev's: a request of a failed batch is
//!    `ECANCELED`); then the handler, then its `post_doit`.

use crate::kernel::clients::Client;
use crate::kernel::clients::SubscriptionChange;
use crate::kernel::dump::{DumpCursor, DumpHandler, DumpRequest};
use crate::kernel::timers::TimerEvent;
use crate::simulator::{PendingRequest, Simulator};
use simdev_protocol::extack::{build_error, ExtAck};
use simdev_protocol::family::{CommandSpec, FamilySpec};
use simdev_protocol::policy::{errno, parse, Parsed, Strictness, ValidationError};
use simdev_protocol::wire::{
    split_messages, Attr, GenlHeader, Message, MessageBuilder, NlHeader, GENL_HDRLEN, NLMSG_HDRLEN, NLMSG_MIN_TYPE,
    NLM_F_ACK, NLM_F_DUMP, NLM_F_ECHO, NLM_F_REQUEST,
};
use std::time::Duration;

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender {
    pub port: u32,
    /// From `SCM_CREDENTIALS`; `None` if the kernel did not attach them.
    pub uid: Option<u32>,
}

/// A validated request, as handlers see it.
pub struct Request<'a> {
    pub message: Message<'a>,
    pub genl: GenlHeader,
    pub attrs: Parsed<'a>,
    pub family_id: u16,
    pub family: &'static FamilySpec,
    pub sender: Sender,
}

impl Request<'_> {
    pub fn header(&self) -> &NlHeader {
        &self.message.header
    }

    /// Starts the reply to a do request.
    pub fn reply(&self, cmd: u8) -> MessageBuilder {
        self.start(cmd, 0)
    }

    fn start(&self, cmd: u8, flags: u16) -> MessageBuilder {
        let header = self.header();
        MessageBuilder::genl(self.family_id, flags, header.seq, self.sender.port, cmd, self.family.version)
    }

    /// Every attribute of type `kind` (the policy's index keeps only the
    /// last of each type, as the kernel's `nla_parse` does; a multi-attr is
    /// read from the message).
    pub fn all(&self, kind: u16) -> impl Iterator<Item = Attr<'_>> {
        self.message.genl_attrs(self.family.hdrsize.into()).filter(move |a| a.kind() == kind)
    }

    /// What later buffers of a dump of this request need to know.
    pub fn dump_request(&self, target: crate::kernel::dump::DumpTarget) -> DumpRequest {
        DumpRequest {
            header: *self.header(),
            family_id: self.family_id,
            version: self.family.version,
            port: self.sender.port,
            target,
        }
    }
}

/// A handler's failure: errno plus extended ACK.
#[derive(Debug, Clone)]
pub struct HandlerError {
    /// Positive errno.
    pub errno: i32,
    pub ext: ExtAck,
}

impl HandlerError {
    pub fn new(errno: i32, message: impl Into<String>) -> Self {
        HandlerError { errno, ext: ExtAck::message(message) }
    }

    /// An error about one attribute of the request (`NL_SET_ERR_MSG_ATTR`).
    pub fn at(errno: i32, message: impl Into<String>, attr: &Attr<'_>) -> Self {
        let mut error = Self::new(errno, message);
        error.ext.offset = Some(attr.offset);
        error
    }

    /// A required attribute is missing (`GENL_REQ_ATTR_CHECK`).
    pub fn missing(attr_type: u16, message: impl Into<String>) -> Self {
        let mut error = Self::new(errno::EINVAL, message);
        error.ext.missing_type = Some(attr_type);
        error
    }
}

impl From<ValidationError> for HandlerError {
    fn from(v: ValidationError) -> Self {
        HandlerError {
            errno: v.errno,
            ext: ExtAck {
                message: Some(v.message.to_string()),
                offset: v.offset,
                policy: v.policy,
                ..Default::default()
            },
        }
    }
}

/// What a handler decides besides its answer, for the request path to
/// carry out (what the kernel's handlers leave in `genl_info` or return).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Context {
    /// The device the request is about (its counters count it).
    pub device: Option<u32>,
    /// Latency an injected fault added: the answer is held back this long.
    pub delay: Option<Duration>,
    /// The request is answered later, by [`Simulator::answer`] with this
    /// token (its work runs on a worker or over simulated time; the
    /// client's other requests are answered meanwhile).
    pub answer_later: Option<u64>,
    /// What the request changes in its socket's unicast subscription
    /// (carried out if it succeeds).
    pub subscription: Option<SubscriptionChange>,
    /// The largest receive its socket says it makes (`socket-set`).
    pub recv_size: Option<u32>,
    /// Its socket waits for each request's first answer (`socket-set`'s
    /// `sync-send`).
    pub sync_send: bool,
    /// Datagrams that follow the reply (devlink's health messages: the
    /// reply's parts, then `NLMSG_DONE`, each its own datagram).
    pub more_replies: Vec<Vec<u8>>,
    /// A message the ACK of a request that succeeded carries (a
    /// `NL_SET_ERR_MSG` before a `return 0`: devlink's skipped trap).
    pub warning: Option<String>,
}

/// A `do` handler: the reply (if any) or the error.
pub type DoHandler = fn(&mut Simulator, &mut Context, &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError>;

/// A family's `pre_doit`: runs before its do or dump handler, with the
/// requesting socket's state; an error answers the request instead.
pub type PreDoit = fn(&Request<'_>, &Client) -> Result<(), HandlerError>;

/// A family's `post_doit`: runs after its handler, with what the handler
/// decided and whether it failed.
pub type PostDoit = fn(&mut Simulator, &Context, &Request<'_>, &mut Client, bool);

/// The handlers behind one command.
pub struct Handlers {
    pub do_: Option<DoHandler>,
    pub dump: Option<DumpHandler>,
}

/// Answers the messages of one datagram from `client`, at most `budget`
/// of them: answers go to its queue (each reply, ACK and error a datagram
/// of its own, as the kernel sends them), a dump it starts becomes its
/// running dump, notifications wait in `sim`, and answers an injected
/// latency holds back go to the timer queue. Returns where the messages
/// not answered yet start, if any are left.
pub fn handle_datagram(
    sim: &mut Simulator,
    datagram: &[u8],
    sender: Sender,
    client: &mut Client,
    budget: usize,
) -> Option<usize> {
    for (index, message) in split_messages(datagram).enumerate() {
        if index == budget {
            return Some(message.bytes.as_ptr() as usize - datagram.as_ptr() as usize);
        }
        handle_message(sim, message, sender, client);
    }
    None
}

/// Answers every request of a datagram that cannot wait for its turn with
/// `ENOBUFS`, without running it.
pub fn refuse_datagram(datagram: &[u8], client: &mut Client) {
    let ext = ExtAck::message("too many requests from this socket are waiting: not run");
    for message in split_messages(datagram).filter(|m| m.header.flags & NLM_F_REQUEST != 0) {
        client.push(build_error(&message.header, client.port, -libc::ENOBUFS, &ext));
    }
}

fn handle_message(sim: &mut Simulator, message: Message<'_>, sender: Sender, client: &mut Client) {
    let header = message.header;
    if header.flags & NLM_F_REQUEST == 0 || header.ty < NLMSG_MIN_TYPE {
        if header.flags & NLM_F_ACK != 0 {
            client.push(build_error(&header, sender.port, 0, &ExtAck::default()));
        } else if client.sync_send {
            client.push(handled_without_answer(&header, sender.port));
        }
        return;
    }
    if let Some(replay) = sim.replay.as_mut().filter(|_| !socket_plumbing(&sim.families, &message)) {
        let spec = sim.families.get(header.ty).map(|family| family.spec());
        match replay.answer(&message, sender.port, spec) {
            Some(Ok(datagrams)) if datagrams.is_empty() && client.sync_send => {
                client.push(handled_without_answer(&header, sender.port));
                return;
            }
            Some(Ok(datagrams)) => return datagrams.into_iter().for_each(|datagram| client.push(datagram)),
            Some(Err(e)) => return client.push(build_error(&header, sender.port, -e.errno, &e.ext)),
            None => {}
        }
    }
    let is_dump = header.is_dump();
    let mut answers = Vec::new();
    let mut context = Context::default();
    let result = run_request(sim, message, sender, client, &mut context, &mut answers);
    let failed = result.is_err();
    if let (Some(change), false) = (context.subscription, failed) {
        client.change_subscription(change);
    }
    if let (Some(bytes), false) = (context.recv_size, failed) {
        client.note_recv_size(bytes as usize);
    }
    if context.sync_send && !failed {
        client.sync_send = true;
    }
    let answered_later = context.answer_later.is_some();
    let status = match (result, context.answer_later) {
        // Its work goes on: the ACK comes when it ends.
        (Ok(_), Some(token)) => {
            sim.wait_for(token, PendingRequest { port: sender.port, uid: sender.uid, header });
            None
        }
        (Ok(warning), None) => {
            (header.flags & NLM_F_ACK != 0 && !is_dump).then(|| build_error(&header, sender.port, 0, &warning))
        }
        (Err(e), _) => Some(build_error(&header, sender.port, -e.errno, &e.ext)),
    };
    if answers.is_empty() && status.is_none() && !answered_later && client.sync_send {
        answers.push(handled_without_answer(&header, sender.port));
    }
    match context.delay {
        Some(delay) => {
            answers.extend(status);
            hand_out_own_notifications(sim, client);
            sim.timers.schedule(delay, TimerEvent::Send { port: sender.port, uid: sender.uid, datagrams: answers })
        }
        None => {
            answers.into_iter().for_each(|answer| client.push(answer));
            hand_out_own_notifications(sim, client);
            status.into_iter().for_each(|status| client.push(status));
        }
    }
}

/// simdev's requests about the client's own socket (`socket-set`,
/// `subscribe`, `unsubscribe`), which a replay leaves to the simulator:
/// they set up this conversation, whatever the recorded one said.
fn socket_plumbing(families: &crate::kernel::families::Families, message: &Message<'_>) -> bool {
    use simdev_protocol::simdev::{cmd, FAMILY_NAME};
    let simdev = families.get(message.header.ty).is_some_and(|family| family.spec().name == FAMILY_NAME);
    let command = message.genl_header().map(|genl| genl.cmd);
    simdev && matches!(command, Some(cmd::SOCKET_SET | cmd::SUBSCRIBE | cmd::UNSUBSCRIBE))
}

/// What a socket that waits for every request's first answer (`sync-send`)
/// gets for a request handled without one: an empty `NLMSG_NOOP` with the
/// request's seq, which its library drops (the kernel never sends one).
fn handled_without_answer(request: &NlHeader, port: u32) -> Vec<u8> {
    MessageBuilder::new(simdev_protocol::wire::NLMSG_NOOP, 0, request.seq, port).finish()
}

/// A kernel doit's notifications (`genl_notify`) go out before
/// `netlink_ack`: a socket subscribed to the group of a change it made
/// reads its reply (if any), the notification, then the ACK, as from the
/// kernel's ethtool. So the notifications waiting now (this request's, and
/// earlier ones of this turn) go into this client's queue before its
/// status; the fan-out skips it for them.
pub fn hand_out_own_notifications(sim: &mut Simulator, client: &mut Client) {
    sim.announce_changes();
    for notification in sim.waiting_notifications() {
        if client.is_subscribed(notification.group) && !notification.delivered.contains(&client.port) {
            client.push(notification.message.clone());
            notification.delivered.push(client.port);
        }
    }
}

/// Steps 2..8, the family's hooks and the handler; returns a success
/// warning (usually empty).
fn run_request(
    sim: &mut Simulator,
    message: Message<'_>,
    sender: Sender,
    client: &mut Client,
    context: &mut Context,
    answers: &mut Vec<Vec<u8>>,
) -> Result<ExtAck, HandlerError> {
    let header = message.header;
    let ops = sim.families.get(header.ty).ok_or(HandlerError { errno: errno::ENOENT, ext: ExtAck::default() })?.ops;
    let family = ops.spec;
    let headers_len = NLMSG_HDRLEN + GENL_HDRLEN + family.hdrsize as usize;
    let genl = message
        .genl_header()
        .filter(|_| message.bytes.len() >= headers_len)
        .ok_or(HandlerError { errno: errno::EINVAL, ext: ExtAck::default() })?;
    check_genl_header(family, &header, &genl)?;

    let unsupported = HandlerError { errno: errno::EOPNOTSUPP, ext: ExtAck::default() };
    let command = family.command(genl.cmd).ok_or(unsupported.clone())?;
    let handlers = (ops.handlers)(genl.cmd).ok_or(unsupported.clone())?;
    let is_dump = header.is_dump();
    let declared = if is_dump { command.has_dump } else { command.has_do };
    if !declared || (is_dump && handlers.dump.is_none()) || (!is_dump && handlers.do_.is_none()) {
        return Err(unsupported);
    }
    if command.admin && !sim.may_administer(sender.uid) {
        return Err(HandlerError { errno: errno::EPERM, ext: ExtAck::default() });
    }
    // `__netlink_dump_start`: one dump at a time per socket, refused
    // before the request's attributes are looked at.
    if is_dump && client.dump_running() {
        return Err(HandlerError { errno: errno::EBUSY, ext: ExtAck::default() });
    }

    let attrs = match (command.policy(is_dump), family.strictness(command, is_dump)) {
        (Some(policy), Some(strictness)) => parse(policy, message.genl_attrs(family.hdrsize.into()), strictness)?,
        _ => parse(&EMPTY_SET, simdev_protocol::wire::Attrs::new(&[], 0), Strictness::Liberal)?,
    };
    if !is_dump {
        check_required(command, &attrs)?;
    }
    let warning = attrs.warning;
    let family_id = header.ty;
    let request = Request { message, genl, attrs, family_id, family, sender };
    let with_warning = |mut e: HandlerError| {
        if e.ext.message.is_none() {
            e.ext.message = warning.map(str::to_string);
        }
        e
    };

    if let Some(pre_doit) = ops.pre_doit {
        pre_doit(&request, client)?;
    }
    let result = match (handlers.dump, handlers.do_) {
        (Some(dump), _) if is_dump => (dump.start)(sim, &request).map(|target| {
            let mut cursor = DumpCursor::new(request.dump_request(target), &dump, sim.generation());
            let (buffer, finished) = cursor.next_buffer(sim, client.dump_buffer_size());
            answers.push(buffer);
            if !finished {
                client.dump = Some(cursor);
            }
        }),
        (_, Some(do_)) => do_(sim, context, &request).map(|reply| {
            answers.extend(reply);
            answers.append(&mut context.more_replies);
        }),
        _ => unreachable!("checked above"),
    };
    if let Some(post_doit) = ops.post_doit {
        post_doit(sim, context, &request, client, result.is_err());
    }
    result.map_err(with_warning)?;
    if is_dump {
        return Ok(ExtAck::default());
    }
    Ok(context.warning.take().or(warning.map(str::to_string)).map(ExtAck::message).unwrap_or_default())
}

/// Step 8: each required attribute, or one of its alternatives, is there.
/// The extended ACK names the first alternative, as `MISS_TYPE` can name
/// only one.
fn check_required(command: &CommandSpec, attrs: &Parsed<'_>) -> Result<(), HandlerError> {
    for alternatives in command.required {
        if alternatives.iter().any(|&id| attrs.get(id).is_some()) {
            continue;
        }
        let set = command.do_policy.expect("required attributes come with a do policy");
        let names: Vec<&str> = alternatives.iter().map(|&id| set.get(id).map_or("?", |a| a.name)).collect();
        return Err(HandlerError::missing(alternatives[0], format!("missing attribute: {}", names.join(" or "))));
    }
    Ok(())
}

static EMPTY_SET: simdev_protocol::policy::AttrSet = simdev_protocol::policy::AttrSet { name: "none", attrs: &[] };

/// `genl_header_check`: only for commands at or after `resv_start_op`.
fn check_genl_header(family: &FamilySpec, header: &NlHeader, genl: &GenlHeader) -> Result<(), HandlerError> {
    if genl.cmd < family.resv_start_op {
        return Ok(());
    }
    if genl.reserved != 0 {
        return Err(HandlerError::new(errno::EINVAL, "genlmsghdr.reserved field is not 0"));
    }
    let mut flags = header.flags;
    if flags & NLM_F_DUMP == NLM_F_DUMP {
        flags &= !NLM_F_DUMP;
    }
    if flags & !(NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO) != 0 {
        return Err(HandlerError::new(errno::EINVAL, "ambiguous or reserved bits set in nlmsg_flags"));
    }
    Ok(())
}
