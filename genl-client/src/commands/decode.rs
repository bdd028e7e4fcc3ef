//! `decode FILE... [--spec FILE]...`: a netlink capture (`driver-sim --pcap`,
//! an nlmon capture) printed message by message, each Generic Netlink
//! message with its family, operation and attributes by name, as YNL
//! prints messages (`pprint`; with `-j`, their JSON): the dissector
//! Wireshark lacks for devlink, ethtool and the families it does not know.
//!
//! Family ids are the capture's own, learnt from the controller's answers
//! inside it (`CTRL_CMD_NEWFAMILY`: id and name); each family is decoded
//! by the first spec of that name: one given with `--spec`, simdev's
//! (built in), the kernel's ([`simdev_ynl::specs`]). Answers are decoded
//! as answers to the request of their port and sequence number; what has
//! no spec, or does not decode by it, is shown as raw attributes.

use super::Output;
use crate::ynl::codec::Codec;
use crate::ynl::value::{pformat, Value};
use serde_json::{json, Map};
use simdev_netlink::error::{Error, Result};
use simdev_protocol::ctrl::{FamilyInfo, GENL_ID_CTRL};
use simdev_protocol::errno::errno_name;
use simdev_protocol::extack::decode_status;
use simdev_protocol::pcap::{self, Direction, NETLINK_GENERIC};
use simdev_protocol::wire::{
    split_messages, Attrs, Message, GENL_HDRLEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP, NLM_F_ACK,
    NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_FILTERED, NLM_F_DUMP_INTR, NLM_F_ECHO, NLM_F_MULTI,
    NLM_F_REQUEST,
};
use simdev_ynl::{Family, Op};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

/// Prints `files`, one conversation in their order (a rotated capture's
/// files: ids learnt in one decode the next).
pub fn run(files: &[PathBuf], specs: &[PathBuf], output: Output) -> Result<()> {
    let mut decoder = Decoder::new(specs)?;
    let mut messages = Vec::new();
    let mut number = 0;
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| Error::Usage(format!("cannot read {}: {e}", file.display())))?;
        let capture = pcap::read(&bytes).map_err(|why| Error::Usage(format!("{}: {why}", file.display())))?;
        for frame in &capture.frames {
            number += 1;
            for decoded in decoder.frame(number, frame) {
                if output.json {
                    messages.push(decoded.json());
                } else {
                    println!("{}", decoded.text());
                }
            }
        }
        if let Some(why) = capture.cut_short {
            eprintln!("genl-client: {}: the capture ends part way: {why}", file.display());
        }
    }
    if output.json {
        let all = serde_json::Value::Array(messages);
        let text = if output.pretty { serde_json::to_string_pretty(&all) } else { serde_json::to_string(&all) };
        println!("{}", text.expect("JSON"));
    }
    Ok(())
}

/// What a message is, in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    Answer,
    Notification,
    Ack,
    Error,
    Done,
    Noop,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Answer => "answer",
            Kind::Notification => "notification",
            Kind::Ack => "ack",
            Kind::Error => "error",
            Kind::Done => "done",
            Kind::Noop => "noop",
        }
    }
}

/// An attribute not decoded: its type and payload.
type RawAttr = (u16, Vec<u8>);

/// One message, decoded as far as the capture and the specs allow.
struct Decoded {
    frame: usize,
    seconds: f64,
    direction: Option<Direction>,
    kind: Kind,
    flags: Vec<&'static str>,
    seq: u32,
    port: u32,
    /// The family's name, or its id when the capture never names it.
    family: Option<String>,
    cmd: Option<u8>,
    op: Option<String>,
    attrs: Option<Value>,
    /// Attributes shown raw, and why.
    raw: Option<(Vec<RawAttr>, String)>,
    /// An error's or done's status: errno, message, the attribute at fault.
    status: Option<(i32, Option<String>, Option<String>)>,
}

impl Decoded {
    fn text(&self) -> String {
        let at = time_of_day(self.seconds);
        let mut line = format!("#{} {at} {}", self.frame, self.kind.name());
        for part in [&self.family, &self.op].into_iter().flatten() {
            line.push(' ');
            line.push_str(part);
        }
        if let (None, Some(cmd)) = (&self.op, self.cmd) {
            line.push_str(&format!(" cmd {cmd}"));
        }
        if let Some((errno, message, attribute)) = &self.status {
            if *errno != 0 {
                line.push_str(&format!(" {}", errno_name(-errno)));
            }
            if let Some(message) = message {
                line.push_str(&format!(" \"{message}\""));
            }
            if let Some(attribute) = attribute {
                line.push_str(&format!(" [attribute: {attribute}]"));
            }
        }
        line.push_str(&format!(" seq {} port {}", self.seq, self.port));
        if !self.flags.is_empty() {
            line.push_str(&format!(" flags {}", self.flags.join(",")));
        }
        if let Some(attrs) = &self.attrs {
            line.push('\n');
            line.push_str(&pformat(attrs));
        }
        if let Some((attrs, why)) = &self.raw {
            line.push_str(&format!("\n  ({why})"));
            for (kind, payload) in attrs {
                line.push_str(&format!("\n  attr {kind}: {}", hex(payload)));
            }
        }
        line
    }

    fn json(&self) -> serde_json::Value {
        let mut object = Map::new();
        object.insert("frame".into(), json!(self.frame));
        object.insert("time".into(), json!(self.seconds));
        let direction = self.direction.map(|d| match d {
            Direction::ToDriver => "to-driver",
            Direction::FromDriver => "from-driver",
        });
        object.insert("direction".into(), json!(direction));
        object.insert("kind".into(), json!(self.kind.name()));
        object.insert("flags".into(), json!(self.flags));
        object.insert("seq".into(), json!(self.seq));
        object.insert("port".into(), json!(self.port));
        let fields = [("family", json!(self.family)), ("op", json!(self.op)), ("cmd", json!(self.cmd))];
        for (key, value) in fields {
            if !value.is_null() {
                object.insert(key.into(), value);
            }
        }
        if let Some(attrs) = &self.attrs {
            object.insert("attrs".into(), attrs.to_json());
        }
        if let Some((attrs, why)) = &self.raw {
            let raw: Vec<_> = attrs.iter().map(|(kind, payload)| json!({"type": kind, "hex": hex(payload)})).collect();
            object.insert("raw-attrs".into(), json!(raw));
            object.insert("undecoded".into(), json!(why));
        }
        if let Some((errno, message, attribute)) = &self.status {
            let name = (*errno != 0).then(|| errno_name(-errno));
            object.insert(
                "error".into(),
                json!({"code": errno, "errno": name, "message": message, "attribute": attribute}),
            );
        }
        serde_json::Value::Object(object)
    }
}

/// `HH:MM:SS.micros` (UTC) of seconds since the epoch, as tcpdump prints.
fn time_of_day(seconds: f64) -> String {
    let whole = seconds as u64;
    let micros = ((seconds - whole as f64) * 1e6).round() as u64 % 1_000_000;
    let day = whole % 86_400;
    format!("{:02}:{:02}:{:02}.{micros:06}", day / 3600, day / 60 % 60, day % 60)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The flags a message's header says, in words.
fn flag_names(flags: u16, ty: u16) -> Vec<&'static str> {
    let mut names = Vec::new();
    let mut add = |bit: u16, name| {
        if flags & bit != 0 {
            names.push(name);
        }
    };
    add(NLM_F_REQUEST, "request");
    add(NLM_F_MULTI, "multi");
    add(NLM_F_ACK, "ack");
    add(NLM_F_ECHO, "echo");
    add(NLM_F_DUMP_INTR, "dump-intr");
    add(NLM_F_DUMP_FILTERED, "dump-filtered");
    if ty == NLMSG_ERROR {
        add(NLM_F_CAPPED, "capped");
        add(NLM_F_ACK_TLVS, "ack-tlvs");
    } else if flags & NLM_F_REQUEST != 0 && flags & NLM_F_DUMP == NLM_F_DUMP {
        names.push("dump");
    }
    names
}

#[derive(Debug, Clone)]
struct Asked {
    port: u32,
    family: u16,
    op: Option<String>,
}

/// Requests of one sequence number remembered (clients reuse numbers).
const ASKED_PER_SEQ: usize = 8;

struct Decoder {
    /// Specs given with `--spec`, by family name.
    given: HashMap<String, Family>,
    /// Specs looked up so far (`None`: none found).
    found: HashMap<String, Option<Family>>,
    /// Family ids the capture named.
    names: HashMap<u16, String>,
    /// Requests seen, by sequence number: the port they name (0: the
    /// kernel's to fill in, as most clients leave it), family id and
    /// operation; the last few of each number.
    requests: HashMap<u32, Vec<Asked>>,
}

impl Decoder {
    fn new(specs: &[PathBuf]) -> Result<Self> {
        let mut given = HashMap::new();
        for path in specs {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Usage(format!("cannot read the spec {}: {e}", path.display())))?;
            let family = Family::from_yaml(&text).map_err(|e| Error::Usage(format!("spec {}: {e}", path.display())))?;
            given.insert(family.name.clone(), family);
        }
        let names = HashMap::from([(GENL_ID_CTRL, "nlctrl".to_string())]);
        Ok(Decoder { given, found: HashMap::new(), names, requests: HashMap::new() })
    }

    fn spec(&mut self, name: &str) -> Option<&Family> {
        if self.given.contains_key(name) {
            return self.given.get(name);
        }
        self.found
            .entry(name.to_string())
            .or_insert_with(|| {
                let text = match super::ynl::built_in_spec(name) {
                    Some(text) => text.to_string(),
                    None => std::fs::read_to_string(simdev_ynl::specs::find(name).ok()?).ok()?,
                };
                Family::from_yaml(&text).ok()
            })
            .as_ref()
    }

    fn frame(&mut self, number: usize, frame: &pcap::Frame) -> Vec<Decoded> {
        let seconds = frame.at.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        split_messages(&frame.datagram)
            .map(|message| {
                let mut decoded = Decoded {
                    frame: number,
                    seconds,
                    direction: frame.direction,
                    kind: Kind::Noop,
                    flags: flag_names(message.header.flags, message.header.ty),
                    seq: message.header.seq,
                    port: message.header.port,
                    family: None,
                    cmd: None,
                    op: None,
                    attrs: None,
                    raw: None,
                    status: None,
                };
                if frame.protocol == NETLINK_GENERIC {
                    self.message(&message, &mut decoded);
                } else {
                    decoded.raw =
                        Some((Vec::new(), format!("netlink protocol {}, not Generic Netlink", frame.protocol)));
                }
                decoded
            })
            .collect()
    }

    fn message(&mut self, message: &Message<'_>, decoded: &mut Decoded) {
        let header = message.header;
        match header.ty {
            NLMSG_NOOP => decoded.kind = Kind::Noop,
            NLMSG_ERROR | NLMSG_DONE => {
                let Some(status) = decode_status(message) else { return };
                decoded.kind = match (header.ty, status.error) {
                    (NLMSG_DONE, _) => Kind::Done,
                    (_, 0) => Kind::Ack,
                    _ => Kind::Error,
                };
                let attribute = status.offset.and_then(|offset| self.attribute_at(message, offset));
                decoded.status = Some((status.error, status.message, attribute));
                if let Some(request) = status.request.filter(|_| header.ty == NLMSG_ERROR) {
                    decoded.family = Some(self.family_name(request.ty));
                }
            }
            id => {
                let request = header.flags & NLM_F_REQUEST != 0;
                // An answer carries the request's number, and the port the
                // request named or the kernel filled in.
                let asked = (self.requests.get(&header.seq).into_iter().flatten().rev())
                    .find(|a| a.family == id && (a.port == 0 || a.port == header.port))
                    .cloned();
                decoded.kind = match (request, &asked) {
                    (true, _) => Kind::Request,
                    (false, Some(_)) => Kind::Answer,
                    (false, None) => Kind::Notification,
                };
                decoded.family = Some(self.family_name(id));
                let Some(genl) = message.genl_header() else {
                    decoded.raw = Some((Vec::new(), "no genetlink header".into()));
                    return;
                };
                decoded.cmd = Some(genl.cmd);
                if id == GENL_ID_CTRL {
                    self.learn_family(message);
                }
                let op = self.genl(message, decoded, asked.and_then(|a| a.op));
                if request {
                    let asked = self.requests.entry(header.seq).or_default();
                    if asked.len() == ASKED_PER_SEQ {
                        asked.remove(0);
                    }
                    asked.push(Asked { port: header.port, family: id, op });
                }
            }
        }
    }

    /// A family id's name: as the capture named it, or the number.
    fn family_name(&self, id: u16) -> String {
        self.names.get(&id).cloned().unwrap_or_else(|| format!("family {id}"))
    }

    /// An nlctrl message naming a family and its id teaches both.
    fn learn_family(&mut self, message: &Message<'_>) {
        // A `NEWFAMILY` answer names both; a request by name is not one.
        if let Ok(info) = FamilyInfo::decode(message.genl_attrs(0)) {
            self.names.insert(info.id, info.name);
        }
    }

    /// Decodes a Generic Netlink message by its family's spec; returns the
    /// operation's name. `asked`: the operation of the request answered.
    fn genl(&mut self, message: &Message<'_>, decoded: &mut Decoded, asked: Option<String>) -> Option<String> {
        let raw = |why: String| Some((message.genl_attrs(0).map(|a| (a.kind(), a.payload.to_vec())).collect(), why));
        let name = self.names.get(&message.header.ty).cloned();
        let Some(family) = name.as_deref().and_then(|name| self.spec(name)) else {
            decoded.raw = raw(match name {
                Some(name) => format!("no spec for {name}: give it with --spec"),
                None => "the capture does not name this family id (no controller answer for it)".into(),
            });
            return None;
        };
        let cmd = message.genl_header().expect("checked").cmd;
        let Some(op) = operation(family, decoded.kind, cmd, asked.as_deref()) else {
            decoded.raw = raw(format!("{} has no operation with command {cmd}", family.name));
            return None;
        };
        decoded.op = Some(op.name.clone());
        let Some(set) = family.op_attr_set(op) else { return Some(op.name.clone()) };
        let codec = Codec { process_unknown: true, ..Codec::new(family) };
        let hdrsize = family.fixed_header.as_deref().and_then(|h| codec.struct_size(h).ok()).unwrap_or(0);
        match codec.decode(&set.name, message.genl_attrs(hdrsize)) {
            Ok(value) => decoded.attrs = Some(value),
            Err(e) => decoded.raw = raw(format!("does not decode by the spec: {e}")),
        }
        Some(op.name.clone())
    }

    /// The dotted name of the attribute at `offset` of the request an
    /// error echoes (whole, not capped), by its family's spec.
    fn attribute_at(&mut self, message: &Message<'_>, offset: u32) -> Option<String> {
        let echoed = message.payload().get(4..)?;
        let request = split_messages(echoed).next()?;
        let name = self.names.get(&request.header.ty)?.clone();
        let family = self.spec(&name)?;
        let op = family.op_by_request_value(request.genl_header()?.cmd)?;
        let set = family.op_attr_set(op)?;
        let attrs = Attrs::new(request.bytes.get(NLMSG_HDRLEN + GENL_HDRLEN..)?, NLMSG_HDRLEN + GENL_HDRLEN);
        let path = Codec::new(family).attr_path(&set.name, attrs, offset as usize)?;
        Some(path.trim_start_matches('.').to_string())
    }
}

/// The operation a message of `kind` with command `cmd` belongs to: a
/// request's by its number; an answer's the request's (`asked`) if its
/// reply has that number; a notification's the notification's.
fn operation<'a>(family: &'a Family, kind: Kind, cmd: u8, asked: Option<&str>) -> Option<&'a Op> {
    let replies = |op: &&Op| op.reply_value == Some(cmd);
    match kind {
        Kind::Request => family.op_by_request_value(cmd),
        Kind::Answer => asked
            .and_then(|name| family.op(name))
            .filter(replies)
            .or_else(|| family.ops.iter().filter(|op| op.is_call()).find(replies)),
        _ => family
            .ops
            .iter()
            .filter(|op| op.is_notification())
            .find(replies)
            .or_else(|| family.ops.iter().find(replies)),
    }
}
