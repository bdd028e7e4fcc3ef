//! What a served family's ops do, by generic rules over its store (the
//! request was validated by the spec's policies before it gets here):
//!
//! - **get** (a do whose name ends in `-get`, or whose request attributes
//!   all are in its reply): the first object of the op's set whose
//!   attributes equal every attribute the request carries; its reply
//!   attributes. None: `ENOENT`, the extack naming the key (or what the
//!   family's `not-found` says).
//! - **dump**: every object of the set that matches the request's
//!   attributes, one message each; a filter that matches nothing ends the
//!   dump with `-ENODEV` in `NLMSG_DONE`, as the kernel's spec-generated
//!   netdev does.
//! - **set** (`-set`): the object the request's key attributes name
//!   ([`key_attrs`]) takes the request's other attributes.
//! - **new** (`-new`, `-add`, `-create`): a new object of the request's
//!   attributes; `EEXIST` when its key is taken.
//! - **del** (`-del`, `-delete`, `-remove`): the object removed.
//!
//! Each change sends the set's notification (`-create-ntf`/`-add-ntf`/
//! `-new-ntf`, `-change-ntf`, `-delete-ntf`/`-del-ntf`) to its group, with
//! what the notification's spec lists. Any other op answers `EOPNOTSUPP`.
//! Faults set on an op (`[[family.fault]]`) fire before it does anything.

use super::personality::{DumpFraming, Entry, Personality};
use super::store::{canonical, header_members, Attrs, Object};
use crate::kernel::dump::{DoneFraming, DumpHandler, DumpRequest, DumpStep, DumpTarget, Position};
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::errno::errno_name;
use simdev_protocol::policy::errno;
use simdev_protocol::wire::{MessageBuilder, GENL_HDRLEN, NLM_F_MULTI};
use simdev_protocol::ynl::codec::Codec;
use simdev_ynl::{Family, Op};
use std::rc::Rc;

/// What an op does, from its name and shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Set,
    New,
    Del,
    /// No generic meaning: a driver's own (a flash, a reload...).
    Other,
}

impl Verb {
    pub fn of(op: &Op) -> Verb {
        let last = op.name.rsplit('-').next().unwrap_or_default();
        match last {
            "get" => Verb::Get,
            "set" => Verb::Set,
            "new" | "add" | "create" => Verb::New,
            "del" | "delete" | "remove" => Verb::Del,
            _ => {
                let mode = op.do_.as_ref();
                let request = mode.and_then(|m| m.request.as_ref()).map(|r| &r.attributes);
                let reply = mode.and_then(|m| m.reply.as_ref()).map(|r| &r.attributes);
                match (request, reply) {
                    (Some(request), Some(reply)) if request.iter().all(|a| reply.contains(a)) => Verb::Get,
                    _ => Verb::Other,
                }
            }
        }
    }
}

/// The attributes that name an object of `set`: the do request of the
/// set's `-get` op whose request attributes all are in its reply (a read
/// by key answers with the key: dpll's `device-get`, not `device-id-get`).
pub fn key_attrs(family: &Family, set: &str) -> Option<Vec<String>> {
    family
        .ops
        .iter()
        .filter(|op| family.op_attr_set(op).is_some_and(|s| s.name == set) && Verb::of(op) == Verb::Get)
        .filter_map(|op| {
            let mode = op.do_.as_ref()?;
            let request = &mode.request.as_ref()?.attributes;
            let reply = &mode.reply.as_ref()?.attributes;
            request.iter().all(|a| reply.contains(a)).then(|| request.clone())
        })
        .min_by_key(Vec::len)
}

/// The family, op and set a request is for (the spec lives as long as
/// the process, so none of them borrows the simulator).
fn op_of(sim: &Simulator, request: &Request<'_>) -> (&'static Family, &'static Op, &'static str) {
    let family = sim.served.get(request.family_id).expect("a served family's request").ynl;
    let op = family.op_by_request_value(request.genl.cmd).expect("the family's spec declares the command");
    let set = family.op_attr_set(op).expect("checked when the family was loaded");
    (family, op, &set.name)
}

fn store<'a>(sim: &'a mut Simulator, request: &Request<'_>) -> &'a mut super::store::Store {
    &mut sim.served.get_mut(request.family_id).expect("a served family's request").store
}

/// The request's attributes, in the store's form, with the members of the
/// family's fixed header that are not zero (OVS's `dp_ifindex` 0 names no
/// datapath: the name does).
fn request_attrs(family: &Family, set: &str, request: &Request<'_>) -> Result<Attrs, HandlerError> {
    let mut attrs = parsed_attrs(family, set, request)?;
    let codec = Codec::new(family);
    if let Some(header) = family.fixed_header.as_deref() {
        let raw = request.message.payload().get(GENL_HDRLEN..GENL_HDRLEN + usize::from(request.family.hdrsize));
        let members = codec
            .decode_struct(header, raw.unwrap_or_default())
            .map_err(|e| HandlerError::new(errno::EINVAL, e.to_string()))?;
        if let serde_json::Value::Object(members) = members.to_json() {
            attrs.extend(members);
        }
    }
    let mut attrs = canonical(family, set, &attrs).map_err(|e| HandlerError::new(errno::EINVAL, e))?;
    for name in header_members(family) {
        if attrs.get(name).is_some_and(|value| *value == serde_json::json!(0)) {
            attrs.remove(name);
        }
    }
    Ok(attrs)
}

/// The request's attributes as the codec reads them.
fn parsed_attrs(family: &Family, set: &str, request: &Request<'_>) -> Result<Attrs, HandlerError> {
    let command = request.family.command(request.genl.cmd);
    let strictness = command.and_then(|c| request.family.strictness(c, request.message.header.is_dump()));
    let Some(strictness) = strictness else {
        // Not parsed by the kernel (a split op's mode without request
        // attributes, a dump that opts out of validation): its handler
        // reads nothing, as netdev's dev-get dump lists every device
        // whatever the request carries.
        return Ok(Attrs::default());
    };
    // What the spec does not describe passed the op's policy (a family that
    // does not validate strictly lets it by, as devlink's param-set lets
    // the value data its spec leaves out): the handler reads it raw.
    let mut codec = Codec::new(family);
    codec.process_unknown = true;
    codec.read_leading = strictness == simdev_protocol::policy::Strictness::Liberal;
    let value = codec
        .decode(set, request.message.genl_attrs(request.family.hdrsize.into()))
        .map_err(|e| HandlerError::new(errno::EINVAL, e.to_string()))?;
    let serde_json::Value::Object(mut attrs) = value.to_json() else { unreachable!("a set decodes to a dict") };
    attrs.retain(|name, _| !name.starts_with("UnknownAttr("));
    Ok(attrs)
}

/// The attributes of `wanted` that `mode`'s request lists, where the spec
/// lists them, and the fixed header's members: what the kernel's handler
/// reads (others pass its validation unread, as devlink's param-get
/// ignores the cmode iproute2 sends).
fn listed(family: &Family, wanted: &Attrs, mode: Option<&simdev_ynl::Mode>) -> Attrs {
    let header = header_members(family);
    match mode.and_then(|m| m.request.as_ref()) {
        Some(request) => wanted
            .iter()
            .filter(|(name, _)| request.attributes.contains(name) || header.contains(&name.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        None => wanted.clone(),
    }
}

/// `message` about the object `key` names, pointing at the request's
/// first key attribute (`NL_SET_ERR_MSG_ATTR`).
fn about_key(
    errno: i32,
    message: String,
    family: &Family,
    set: &str,
    key: &Attrs,
    request: &Request<'_>,
) -> HandlerError {
    let value = key.keys().next().and_then(|name| attr_type(family, set, name));
    match value.and_then(|value| request.all(value).next()) {
        Some(attr) => HandlerError::at(errno, message, &attr),
        None => HandlerError::new(errno, message),
    }
}

/// The number of attribute `name` of `set`.
pub fn attr_type(family: &Family, set: &str, name: &str) -> Option<u16> {
    family.attr_set(set)?.attr(name).map(|a| a.value)
}

/// `key` as an extack says it: `id 7, module-name "x"`.
pub fn describe(key: &Attrs) -> String {
    key.iter().map(|(name, value)| format!("{name} {value}")).collect::<Vec<_>>().join(", ")
}

/// A key attribute the attributes lack: its number in the served
/// family's set, and a message naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingKey {
    pub attr_type: u16,
    pub message: String,
}

/// The attributes of `wanted` that name an object of `set` ([`key_attrs`];
/// without a `-get` op, the first attribute given), with the fixed
/// header's members it has, which name it too: alone, where the key
/// attributes are missing (OVS's datapath by `dp_ifindex`).
pub fn key_of(family: &Family, set: &str, wanted: &Attrs) -> Result<Attrs, MissingKey> {
    let header = header_members(family);
    let names = key_attrs(family, set)
        .unwrap_or_else(|| wanted.keys().filter(|k| !header.contains(&k.as_str())).take(1).cloned().collect());
    let mut key: Attrs = wanted
        .iter()
        .filter(|(name, _)| header.contains(&name.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let by_header = !key.is_empty();
    for name in names {
        match wanted.get(&name) {
            Some(value) => {
                key.insert(name, value.clone());
            }
            None if by_header => {}
            None => {
                let attr_type = attr_type(family, set, &name).unwrap_or(0);
                let message = format!("missing attribute: {name} (it names the {set})");
                return Err(MissingKey { attr_type, message });
            }
        }
    }
    if key.is_empty() {
        return Err(MissingKey { attr_type: 0, message: format!("no attribute names the {set}") });
    }
    Ok(key)
}

/// A request's key, or the kernel's `GENL_REQ_ATTR_CHECK` error.
fn request_key(family: &Family, set: &str, wanted: &Attrs) -> Result<Attrs, HandlerError> {
    key_of(family, set, wanted).map_err(|missing| HandlerError::missing(missing.attr_type, missing.message))
}

/// Encodes `attrs` of `set` (with the fixed header's members, if the
/// family has one) after `message`'s headers.
fn encode(family: &Family, set: &str, attrs: &Attrs, mut message: MessageBuilder) -> Result<Vec<u8>, HandlerError> {
    Codec::new(family)
        .encode(set, family.fixed_header.as_deref(), &serde_json::Value::Object(attrs.clone()), &mut message)
        .map_err(|e| HandlerError::new(errno::EIO, format!("the simulator cannot encode its own object: {e}")))?;
    Ok(message.finish())
}

/// A message's attributes of `object`: the reply list's (everything the
/// object has without one), and the fixed header's members.
fn reply_attrs(family: &Family, object: &Object, reply: Option<&Vec<String>>) -> Attrs {
    let mut attrs = match reply {
        Some(names) => object.select(names),
        None => object.attrs.clone(),
    };
    for name in header_members(family) {
        if let Some(value) = object.attrs.get(name) {
            attrs.insert(name.to_string(), value.clone());
        }
    }
    attrs
}

/// Encodes `object`'s attributes among `reply` (all without a list), then
/// those in wire form the spec does not describe, after `message`'s headers.
fn encode_object(
    family: &Family,
    set: &str,
    object: &Object,
    reply: Option<&Vec<String>>,
    mut message: MessageBuilder,
) -> Result<Vec<u8>, HandlerError> {
    let header = family.fixed_header.as_deref();
    Codec::new(family)
        .encode(set, header, &serde_json::Value::Object(reply_attrs(family, object, reply)), &mut message)
        .map_err(|e| HandlerError::new(errno::EIO, format!("the simulator cannot encode its own object: {e}")))?;
    message.put_raw(&object.raw);
    Ok(message.finish())
}

/// The command replies to `op`'s do (or dump) carry: the mode's own
/// reply value where the spec gives one (devlink's port get: 7), else the
/// op's.
fn reply_cmd(op: &Op, dump: bool) -> u8 {
    let mode = if dump { op.dump.as_ref() } else { op.do_.as_ref() };
    let own = mode.and_then(|m| m.reply.as_ref()).and_then(|r| r.value);
    own.or(op.reply_value).or(op.request_value).expect("a call has a number")
}

/// The `-get` op whose objects `op` reads or changes: `port-set`'s is
/// `port-get`, a one-word op's (devlink's `set`) is `get`.
fn get_op_of<'a>(family: &'a Family, op: &'a Op) -> Option<&'a str> {
    let get = match op.name.rsplit_once('-') {
        Some((kind, _)) => format!("{kind}-get"),
        None => "get".to_string(),
    };
    family.op(&get).map(|o| o.name.as_str())
}

/// Where the objects of an op come from.
#[derive(Clone, Copy)]
enum Source {
    Store,
    /// The family's driver code computes them ([`Personality`]).
    Personality(&'static dyn Personality, &'static str),
}

impl Source {
    /// The attributes a reply carries: the spec's reply list for stored
    /// objects; all of a personality's (it fills what the kernel fills,
    /// where a spec lists less: devlink's `port-get` reply names only the
    /// port's handle).
    fn reply_list(self, spec: Option<&Vec<String>>) -> Option<&Vec<String>> {
        match self {
            Source::Store => spec,
            Source::Personality(..) => None,
        }
    }
}

fn source(sim: &Simulator, family_id: u16, op: &'static Op) -> Source {
    let served = sim.served.get(family_id).expect("served");
    match (served.personality, get_op_of(served.ynl, op)) {
        (Some(personality), _) if personality.answers(&op.name) => Source::Personality(personality, &op.name),
        (Some(personality), Some(get)) if personality.answers(get) => Source::Personality(personality, get),
        _ => Source::Store,
    }
}

/// The first object of `set` from `source` at or after `from` that matches
/// `wanted`, and where the next search starts.
fn next_object(
    sim: &mut Simulator,
    family_id: u16,
    source: Source,
    set: &str,
    wanted: &Attrs,
    from: u64,
) -> Option<(Object, u64)> {
    match source {
        Source::Store => {
            let object = sim.served.get(family_id).expect("served").store.next_from(set, wanted, from)?.clone();
            let next = object.serial + 1;
            Some((object, next))
        }
        Source::Personality(personality, get) => {
            let mut cursor = from;
            loop {
                let (entry, next) = personality.object(sim, get, wanted, cursor)?;
                let Entry { attrs, keys, raw } = entry;
                let object = Object { serial: cursor, set: set.to_string(), attrs, keys, raw };
                if object.matches(wanted) {
                    return Some((object, next));
                }
                cursor = next;
            }
        }
    }
}

/// Fires the faults set on `op`: an errno fails the request (before it
/// does anything), a delay holds its answer back (`ctx`; dumps take
/// errnos only).
fn fire_faults(
    sim: &mut Simulator,
    request: &Request<'_>,
    op: &Op,
    ctx: Option<&mut Context>,
) -> Result<(), HandlerError> {
    let served = sim.served.get_mut(request.family_id).expect("a served family's request");
    let Some(hit) = served.faults.check(&op.name) else { return Ok(()) };
    if let Some(ctx) = ctx.filter(|_| !hit.delay.is_zero()) {
        ctx.delay = Some(hit.delay);
    }
    match hit.errno as i32 {
        0 => Ok(()),
        errno => Err(HandlerError::new(errno, format!("injected fault: {} fails with {}", op.name, errno_name(errno)))),
    }
}

pub fn do_(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let (family, op, set) = op_of(sim, request);
    fire_faults(sim, request, op, Some(ctx))?;
    let wanted = request_attrs(family, set, request)?;
    let reply_list = op.do_.as_ref().and_then(|m| m.reply.as_ref()).map(|r| &r.attributes);
    let reply = |object: &Object| match reply_list {
        Some(list) => {
            encode(family, set, &reply_attrs(family, object, Some(list)), request.reply(reply_cmd(op, false))).map(Some)
        }
        None => Ok(None),
    };
    let how = sim.served.get(request.family_id).expect("served").not_found;
    let from = source(sim, request.family_id, op);
    let own_error = match from {
        Source::Personality(personality, get) => personality.not_found_error(sim, get, &wanted, request),
        Source::Store => None,
    };
    let not_found = |key: &Attrs| match (&own_error, how.extack) {
        (Some(error), _) => error.clone(),
        (None, true) => {
            about_key(how.errno, format!("no {set} object with {}", describe(key)), family, set, key, request)
        }
        (None, false) => HandlerError { errno: how.errno, ext: Default::default() },
    };
    if sim.served.get(request.family_id).and_then(|f| f.personality).is_some_and(|p| p.lacks(&op.name)) {
        // The object it names must exist first (the core's `pre_doit`).
        let get = get_op_of(family, op).and_then(|get| family.op(get));
        let names =
            get.and_then(|g| g.do_.as_ref()?.request.as_ref()).map(|r| r.attributes.clone()).unwrap_or_default();
        let key: Attrs =
            wanted.iter().filter(|(name, _)| names.contains(name)).map(|(k, v)| (k.clone(), v.clone())).collect();
        next_object(sim, request.family_id, from, set, &key, 0).ok_or_else(|| not_found(&key))?;
        return Err(HandlerError { errno: errno::EOPNOTSUPP, ext: Default::default() });
    }
    if let Some(personality) = sim.served.get(request.family_id).and_then(|f| f.personality) {
        if let Some(answer) = personality.act(sim, ctx, request, op, &wanted) {
            return answer;
        }
    }
    let verb = Verb::of(op);
    if let (Source::Personality(..), Verb::Set | Verb::New | Verb::Del) = (from, verb) {
        return Err(HandlerError::new(
            errno::EOPNOTSUPP,
            format!("{} of {} is not simulated: its objects are the simulated devices", op.name, family.name),
        ));
    }
    match verb {
        Verb::Get => {
            let wanted = listed(family, &wanted, op.do_.as_ref());
            let found = next_object(sim, request.family_id, from, set, &wanted, 0);
            let (object, _) = found.ok_or_else(|| not_found(&wanted))?;
            let reply = request.reply(reply_cmd(op, false));
            Ok(Some(encode_object(family, set, &object, from.reply_list(reply_list), reply)?))
        }
        Verb::Set => {
            let key = request_key(family, set, &wanted)?;
            let object = store(sim, request).find_mut(set, &key).ok_or_else(|| not_found(&key))?;
            object.attrs.extend(wanted);
            let object = object.clone();
            announce(sim, request.family_id, set, Change::Changed, &object);
            reply(&object)
        }
        Verb::New => {
            let key = request_key(family, set, &wanted)?;
            if store(sim, request).find(set, &key).is_some() {
                let message = format!("a {set} object with {} exists", describe(&key));
                return Err(about_key(errno::EEXIST, message, family, set, &key, request));
            }
            let object = store(sim, request).insert(set, wanted).clone();
            announce(sim, request.family_id, set, Change::Created, &object);
            reply(&object)
        }
        Verb::Del => {
            let key = request_key(family, set, &wanted)?;
            let object = store(sim, request).remove(set, &key).ok_or_else(|| not_found(&key))?;
            announce(sim, request.family_id, set, Change::Deleted, &object);
            Ok(None)
        }
        Verb::Other => Err(HandlerError::new(
            errno::EOPNOTSUPP,
            format!(
                "{} has no generic meaning (it is a driver's own): the simulator serves it only with a handler",
                op.name
            ),
        )),
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Changed,
    Deleted,
}

impl Change {
    /// The verbs a notification of this change is named with.
    fn verbs(self) -> &'static [&'static str] {
        match self {
            Change::Created => &["create", "add", "new"],
            Change::Changed => &["change"],
            Change::Deleted => &["delete", "del"],
        }
    }
}

/// The notification of `change` to an object of `set`, if the spec has one:
/// `<object>-<verb>-ntf` whose attributes are of `set`.
pub fn notification_of<'a>(family: &'a Family, set: &str, change: Change) -> Option<&'a Op> {
    family.ops.iter().filter(|op| op.is_notification()).find(|op| {
        let verb = op.name.strip_suffix("-ntf").and_then(|rest| rest.rsplit('-').next());
        verb.is_some_and(|verb| change.verbs().contains(&verb)) && family.op_attr_set(op).is_some_and(|s| s.name == set)
    })
}

/// Sends the notification of `change` to an object of family `family_id`
/// to its group (and the group's unicast subscribers), as the kernel's
/// families do: seq 0, port 0.
pub fn announce(sim: &mut Simulator, family_id: u16, set: &str, change: Change, object: &Object) {
    let family = sim.served.get(family_id).expect("served").ynl;
    sim.bump_generation();
    let Some(op) = notification_of(family, set, change) else { return };
    let Some(group) = op.mcgrp.as_deref().or(family.mcast_groups.first().map(|g| g.name.as_str())) else { return };
    let Some(group) = sim.families.get(family_id).and_then(|f| f.group(group)) else { return };
    let attrs = reply_attrs(family, object, family.notification_attrs(op).map(|m| &m.attributes));
    let cmd = op.reply_value.expect("a notification has a number");
    let message = MessageBuilder::genl(family_id, 0, 0, 0, cmd, family.version);
    match encode(family, set, &attrs, message) {
        Ok(message) => sim.multicast(group, message),
        Err(e) => log::warn!("{}: {}", op.name, e.ext.message.unwrap_or_default()),
    }
}

/// Every object of the set matching the request's attributes.
pub const DUMP: DumpHandler = DumpHandler { start: dump_start, next: dump_next, done: DoneFraming::WithLastPart };

fn dump_start(sim: &mut Simulator, request: &Request<'_>) -> Result<DumpTarget, HandlerError> {
    let (family, op, set) = op_of(sim, request);
    fire_faults(sim, request, op, None)?;
    let filter = listed(family, &request_attrs(family, set, request)?, op.dump.as_ref());
    let mut framing = DumpFraming::default();
    if let Source::Personality(personality, _) = source(sim, request.family_id, op) {
        personality.check_dump(sim, &op.name, &filter)?;
        framing = personality.dump_framing(&op.name);
    }
    Ok(DumpTarget::Served { cmd: request.genl.cmd, filter: Rc::new(filter), framing })
}

/// `position.outer`: where the search for the next object starts (a
/// store serial, a personality's cursor); `position.inner`: 1 once an
/// object matched.
fn dump_next(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    let DumpTarget::Served { cmd, filter, framing } = &request.target else { unreachable!("a served family's dump") };
    let served = sim.served.get(request.family_id).expect("served");
    let (family, dump_multi) = (served.ynl, served.dump_multi);
    let op = family.op_by_request_value(*cmd).expect("declared");
    let set = &family.op_attr_set(op).expect("checked").name;
    let from = source(sim, request.family_id, op);
    let Some((object, next)) = next_object(sim, request.family_id, from, set, filter, position.outer) else {
        if !filter.is_empty() && position.inner == 0 {
            return Err(HandlerError { errno: errno::ENODEV, ext: Default::default() });
        }
        return Ok(None);
    };
    let reply = op.dump.as_ref().and_then(|m| m.reply.as_ref()).or(op.do_.as_ref().and_then(|m| m.reply.as_ref()));
    let cmd = framing.cmd.unwrap_or_else(|| reply_cmd(op, true));
    let flags = if dump_multi { NLM_F_MULTI } else { 0 } | framing.extra_flags;
    let part = MessageBuilder::genl(request.family_id, flags, request.header.seq, request.port, cmd, request.version);
    let message = encode_object(family, set, &object, from.reply_list(reply.map(|r| &r.attributes)), part)?;
    Ok(Some((message, Position { outer: next, inner: 1 })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dpll's shape, in small: a `-get` by id, a lookup by other
    /// attributes, set/new/del, and notifications of each change.
    const SPEC: &str = r#"
name: clocks
protocol: genetlink
attribute-sets:
  - name: clock
    attributes:
      - { name: id, type: u32 }
      - { name: label, type: string }
      - { name: rate, type: u64 }
operations:
  list:
    - name: clock-id-get
      attribute-set: clock
      do: { request: { attributes: [ label ] }, reply: { attributes: [ id ] } }
    - name: clock-get
      attribute-set: clock
      do: { request: { attributes: [ id ] }, reply: &all { attributes: [ id, label, rate ] } }
      dump: { reply: *all }
    - { name: clock-set, attribute-set: clock, do: { request: { attributes: [ id, rate ] } } }
    - { name: clock-new, attribute-set: clock, do: { request: { attributes: [ id, label, rate ] } } }
    - { name: clock-del, attribute-set: clock, do: { request: { attributes: [ id ] } } }
    - { name: clock-reset, attribute-set: clock, do: { request: { attributes: [ id ] } } }
    - { name: clock-create-ntf, notify: clock-get, mcgrp: watch }
    - { name: clock-change-ntf, notify: clock-get, mcgrp: watch }
    - { name: clock-delete-ntf, notify: clock-get, mcgrp: watch }
mcast-groups:
  list:
    - name: watch
"#;

    #[test]
    fn ops_are_read_from_their_names_and_shapes() {
        let family = Family::from_yaml(SPEC).unwrap();
        let verb = |name: &str| Verb::of(family.op(name).unwrap());
        assert_eq!(verb("clock-get"), Verb::Get);
        assert_eq!(verb("clock-id-get"), Verb::Get);
        assert_eq!(verb("clock-set"), Verb::Set);
        assert_eq!(verb("clock-new"), Verb::New);
        assert_eq!(verb("clock-del"), Verb::Del);
        assert_eq!(verb("clock-reset"), Verb::Other, "a driver's own");
    }

    #[test]
    fn an_object_is_named_by_its_get_ops_key_not_a_lookups() {
        let family = Family::from_yaml(SPEC).unwrap();
        assert_eq!(key_attrs(&family, "clock"), Some(vec!["id".to_string()]));
        assert_eq!(key_attrs(&family, "nothing"), None);
    }

    #[test]
    fn each_change_has_its_notification() {
        let family = Family::from_yaml(SPEC).unwrap();
        let name = |change| notification_of(&family, "clock", change).map(|op| op.name.as_str());
        assert_eq!(name(Change::Created), Some("clock-create-ntf"));
        assert_eq!(name(Change::Changed), Some("clock-change-ntf"));
        assert_eq!(name(Change::Deleted), Some("clock-delete-ntf"));
        assert_eq!(notification_of(&family, "other", Change::Created).map(|op| &op.name), None);
    }
}
