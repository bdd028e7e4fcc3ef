//! The YNL grammar: `--family NAME | --spec FILE` with `--do OP | --dump OP
//! [--json JSON]`, `--subscribe GROUP [--sleep S]`, `--list-ops`, run the way
//! the kernel's `tools/net/ynl/cli.py` runs them and printed as it prints
//! them: `pprint` of the decoded answer, or with `-j` its JSON (a do: its
//! reply object, or null when only ACKed; a dump: a list; notifications: a
//! list of `{"name", "msg"}`).

use super::Output;
use crate::cli::YnlArgs;
use crate::ynl::codec::Codec;
use crate::ynl::value::{pformat, python_json, Key, Value};
use simdev_netlink::client::{Client, Reply, Subscription, Target};
use simdev_netlink::error::{Error, Result};
use simdev_protocol::wire::{NLM_F_ACK, NLM_F_DUMP};
use simdev_ynl::{Family, Op};
use std::time::Duration;

/// The specs genl-client carries, by family name.
const BUILT_IN: [(&str, &str); 1] = [(simdev_protocol::simdev::FAMILY_NAME, simdev_protocol::simdev::SPEC_YAML)];

/// The built-in spec of family `name`, if genl-client carries one.
pub fn built_in_spec(name: &str) -> Option<&'static str> {
    BUILT_IN.iter().find(|(family, _)| *family == name).map(|(_, text)| *text)
}

/// The family's spec: built in (`--family`) or read from a file (`--spec`).
pub fn load_spec(args: &YnlArgs) -> Result<Family> {
    let (origin, text) = match (&args.family, &args.spec) {
        (Some(name), None) => match BUILT_IN.iter().find(|(family, _)| family == name) {
            Some((_, text)) => (format!("the built-in {name} spec"), text.to_string()),
            None => {
                return Err(Error::Usage(format!(
                    "no built-in spec for `{name}` (built in: simdev): give its spec with --spec FILE"
                )))
            }
        },
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Usage(format!("cannot read the spec {}: {e}", path.display())))?;
            (path.display().to_string(), text)
        }
        _ => return Err(Error::Usage("give the family by --family NAME or --spec FILE".into())),
    };
    Family::from_yaml(&text).map_err(|e| Error::Usage(format!("{origin}: {e}")))
}

/// The operation `name`, which must have the mode asked for.
fn operation<'a>(family: &'a Family, name: &str, dump: bool) -> Result<&'a Op> {
    let op = family.ops.iter().find(|op| op.name == name && op.is_call()).ok_or_else(|| {
        let names: Vec<&str> = family.ops.iter().filter(|op| op.is_call()).map(|op| op.name.as_str()).collect();
        Error::Usage(format!("{} has no operation `{name}`; its operations: {}", family.name, names.join(", ")))
    })?;
    let (has_mode, mode) = if dump { (op.dump.is_some(), "dump") } else { (op.do_.is_some(), "do") };
    if !has_mode || op.request_value.is_none() {
        return Err(Error::Usage(format!("{} `{name}` has no {mode}", family.name)));
    }
    Ok(op)
}

fn print(value: &Value, output: Output) {
    if output.json {
        let json = value.to_json();
        if output.pretty {
            println!("{}", serde_json::to_string_pretty(&json).expect("JSON"));
        } else {
            println!("{}", python_json(&json));
        }
    } else {
        println!("{}", pformat(value));
    }
}

/// The request: `--json`, or no attributes.
pub fn request_json(args: &YnlArgs) -> Result<serde_json::Value> {
    match &args.request {
        Some(text) => serde_json::from_str(text).map_err(|e| Error::Usage(format!("--json: {e}"))),
        None => Ok(serde_json::json!({})),
    }
}

/// Checks a command line without sending anything: the spec loads, the
/// operations exist in the modes asked for, the request is JSON. Returns
/// the spec, to run it with ([`run_with`]).
pub fn check(args: &YnlArgs) -> Result<Family> {
    let family = load_spec(args)?;
    for (name, dump) in [(&args.do_op, false), (&args.dump_op, true)] {
        if let Some(name) = name {
            operation(&family, name, dump)?;
        }
    }
    request_json(args)?;
    Ok(family)
}

/// Runs one command line of the YNL grammar.
pub fn run(target: Target, args: &YnlArgs, output: Output) -> Result<()> {
    run_with(target, args, &load_spec(args)?, output)
}

/// [`run`] with the family's spec already loaded.
pub fn run_with(target: Target, args: &YnlArgs, family: &Family, output: Output) -> Result<()> {
    if args.list_ops {
        for op in family.ops.iter().filter(|op| op.is_call()) {
            let modes: Vec<&str> = [(op.do_.is_some(), "do"), (op.dump.is_some(), "dump")]
                .into_iter()
                .filter_map(|(has, mode)| has.then_some(mode))
                .collect();
            println!("{}  [ {} ]", op.name, modes.join(", "));
        }
    }
    answers(target, args, family, |answer| print(&answer, output))
}

/// Runs the requests and the subscription of a command line; `emit` gets
/// each document YNL would print, in order: each answer as it comes, then
/// the notifications that arrived (a list).
pub fn answers(target: Target, args: &YnlArgs, family: &Family, mut emit: impl FnMut(Value)) -> Result<()> {
    if args.do_op.is_none() && args.dump_op.is_none() && args.subscribe.is_none() {
        return Ok(());
    }
    let request = request_json(args)?;
    let mut client = Client::connect(target)?;
    let info = client.resolve_family(&family.name)?;
    let mut codec = Codec::new(family);
    codec.process_unknown = args.process_unknown;

    let subscription = match &args.subscribe {
        Some(group) => {
            let id = info.group_id(group).ok_or_else(|| {
                Error::Usage(format!(
                    "{} has no multicast group `{group}` (the controller lists its groups)",
                    family.name
                ))
            })?;
            // simdev's own groups also reach users who may not join them.
            if family.name == simdev_protocol::simdev::FAMILY_NAME && target != Target::Kernel {
                Some(crate::simdev::subscribe_groups(target, &info, &[id])?)
            } else {
                Some(Subscription::new(target, &[id])?)
            }
        }
        None => None,
    };

    for (name, dump) in [(&args.do_op, false), (&args.dump_op, true)] {
        let Some(name) = name else { continue };
        let op = operation(family, name, dump)?;
        emit(call(&mut client, &codec, info.id, op, dump, &request)?);
    }

    if let Some(seconds) = args.sleep {
        std::thread::sleep(Duration::from_secs_f64(seconds.max(0.0)));
    }
    if let Some(mut subscription) = subscription {
        emit(Value::List(notifications(&mut subscription, &codec)?));
    }
    Ok(())
}

/// One request by the spec; the decoded answer: a do's reply (or `None`,
/// or a list when several came), a dump's list.
pub fn call(
    client: &mut Client,
    codec: &Codec<'_>,
    family_id: u16,
    op: &Op,
    dump: bool,
    request: &serde_json::Value,
) -> Result<Value> {
    let family = codec.family;
    let set = family.op_attr_set(op).map(|s| s.name.as_str()).unwrap_or_default();
    let flags = NLM_F_ACK | if dump { NLM_F_DUMP } else { 0 };
    let cmd = op.request_value.expect("a call has a request value");
    let mut message = client.new_request(family_id, cmd, family.version, flags);
    codec
        .encode(set, op.fixed_header.as_deref(), request, &mut message)
        .map_err(|e| Error::Usage(format!("--json: {e}")))?;
    let bytes = message.clone().finish();
    let outcome = if dump { client.dump(message, None).map(|d| d.parts) } else { client.execute(message, None) };
    let replies = outcome.map_err(|e| name_attributes(e, codec, set, op, &bytes))?;
    let mut decoded = Vec::new();
    for reply in &replies {
        decoded.push(decode_reply(codec, op, reply)?);
    }
    Ok(match (dump, decoded.len()) {
        (true, _) => Value::List(decoded),
        (false, 0) => Value::None,
        (false, 1) => decoded.pop().expect("one"),
        (false, _) => Value::List(decoded),
    })
}

/// A reply's attributes (and fixed header) as the spec names them.
fn decode_reply(codec: &Codec<'_>, op: &Op, reply: &Reply) -> Result<Value> {
    let family = codec.family;
    let set = family.op_attr_set(op).map(|s| s.name.as_str()).unwrap_or_default();
    let header_len = match &op.fixed_header {
        Some(header) => codec.struct_size(header).map_err(|e| Error::Protocol(e.0))?,
        None => 0,
    };
    let message = reply.message();
    let mut value = codec.decode(set, message.genl_attrs(header_len)).map_err(|e| Error::Protocol(e.0))?;
    if let Some(header) = &op.fixed_header {
        let raw = message.payload().get(4..4 + header_len).unwrap_or_default();
        if let (Value::Dict(entries), Value::Dict(fields)) =
            (&mut value, codec.decode_struct(header, raw).map_err(|e| Error::Protocol(e.0))?)
        {
            entries.extend(fields);
        }
    }
    Ok(value)
}

/// Names the attribute a peer's error points at, and the missing one, from
/// the spec.
fn name_attributes(error: Error, codec: &Codec<'_>, set: &str, op: &Op, request: &[u8]) -> Error {
    let Error::Netlink { errno, message, attribute, missing, details } = error else { return error };
    let header_len = op.fixed_header.as_deref().and_then(|h| codec.struct_size(h).ok()).unwrap_or(0);
    let start = simdev_protocol::wire::NLMSG_HDRLEN + simdev_protocol::wire::GENL_HDRLEN + header_len;
    let attrs = simdev_protocol::wire::Attrs::new(request.get(start..).unwrap_or_default(), start);
    let attribute = details
        .offset
        .and_then(|offset| codec.attr_path(set, attrs, offset as usize))
        .map(|path| path.trim_start_matches('.').to_string())
        .or(attribute);
    let spec_set = codec.family.attr_set(set);
    let missing = details
        .missing_type
        .and_then(|t| spec_set?.attr_by_value(u16::try_from(t).ok()?))
        .map(|a| a.name.clone())
        .or(missing);
    Error::Netlink { errno, message, attribute, missing, details }
}

/// The notifications that arrived so far, as YNL queues them.
fn notifications(subscription: &mut Subscription, codec: &Codec<'_>) -> Result<Vec<Value>> {
    subscription.set_timeout(Some(Duration::from_millis(1)))?;
    let mut queue = Vec::new();
    loop {
        let replies = match subscription.recv() {
            Ok(replies) => replies,
            Err(Error::Timeout) => return Ok(queue),
            Err(e) => return Err(e),
        };
        for (_, reply) in replies {
            let cmd = reply.message().genl_header().map(|h| h.cmd);
            let op = codec.family.ops.iter().find(|op| op.is_notification() && op.reply_value == cmd);
            let Some(op) = op else { continue };
            let msg = decode_reply(codec, op, &reply)?;
            queue.push(Value::Dict(vec![
                (Key::Str("name".into()), Value::Str(op.name.clone())),
                (Key::Str("msg".into()), msg),
            ]));
        }
    }
}
