//! The emulated controller: `CTRL_CMD_GETFAMILY` (by id, by name, or as a
//! dump) and `CTRL_CMD_GETPOLICY`, answered like the kernel's
//! `ctrl_getfamily`, `ctrl_dumpfamily` and `ctrl_dumppolicy`.

use crate::kernel::dump::{DoneFraming, DumpHandler, DumpRequest, DumpStep, DumpTarget, Position};
use crate::kernel::families::FamilyOps;
use crate::kernel::genl::{Context, HandlerError, Handlers, Request};
use crate::simulator::Simulator;
use simdev_protocol::ctrl::{attr, cmd, CTRL_FAMILY};

/// The controller, as the simulator serves it (always, with id `0x10`).
pub static FAMILY: FamilyOps = FamilyOps { spec: &CTRL_FAMILY, handlers, pre_doit: None, post_doit: None };

fn handlers(command: u8) -> Option<Handlers> {
    match command {
        cmd::GETFAMILY => Some(Handlers { do_: Some(get_family), dump: Some(DUMP_FAMILIES) }),
        cmd::GETPOLICY => Some(Handlers { do_: None, dump: Some(DUMP_POLICY) }),
        _ => None,
    }
}
use simdev_protocol::policy::errno;
use simdev_protocol::policy_dump::PolicyDumpError;

/// The kernel looks the id up first, then the name; neither is `EINVAL`,
/// no match `ENOENT` (no extack message in either case).
pub fn get_family(
    sim: &mut Simulator,
    _: &mut Context,
    request: &Request<'_>,
) -> Result<Option<Vec<u8>>, HandlerError> {
    let families = sim.families.encoded();
    let found = if let Some(id) = request.attrs.get(attr::FAMILY_ID) {
        // Liberal parsing: a longer integer is read by its first bytes.
        let id = u16::from_ne_bytes([id.payload[0], id.payload[1]]);
        families.iter().find(|(f, _)| f.id == id)
    } else if let Some(name) = request.attrs.get(attr::FAMILY_NAME) {
        let name = name.string().unwrap_or_default();
        families.iter().find(|(f, _)| f.name == name)
    } else {
        return Err(HandlerError { errno: errno::EINVAL, ext: Default::default() });
    };
    let (_, attrs) = found.ok_or(HandlerError { errno: errno::ENOENT, ext: Default::default() })?;
    let mut reply = request.reply(cmd::NEWFAMILY);
    reply.put_raw(attrs);
    Ok(Some(reply.finish()))
}

/// Like the kernel, the dump ignores any attributes and lists every family;
/// its `NLMSG_DONE` shares the last buffer when it fits, as this kernel
/// (6.18) packs `ctrl_dumpfamily`'s (its policy dump's comes alone).
pub const DUMP_FAMILIES: DumpHandler =
    DumpHandler { start: |_, _| Ok(DumpTarget::Families), next: next_family, done: DoneFraming::WithLastPart };

fn next_family(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    let Some((_, attrs)) = sim.families.encoded().get(position.outer as usize) else {
        return Ok(None);
    };
    let mut message = request.part(cmd::NEWFAMILY);
    message.put_raw(attrs);
    Ok(Some((message.finish(), Position { outer: position.outer + 1, inner: 0 })))
}

/// `CTRL_CMD_GETPOLICY` (dump only): the family by id or name (neither is
/// `EINVAL`, unknown `ENOENT`), optionally one command (unknown: `ENOENT`
/// pointing at the attribute).
pub const DUMP_POLICY: DumpHandler = DumpHandler { start: start_policy, next: next_policy, done: DoneFraming::Alone };

fn start_policy(sim: &mut Simulator, request: &Request<'_>) -> Result<DumpTarget, HandlerError> {
    let bare = |errno| HandlerError { errno, ext: Default::default() };
    let found = if let Some(id) = request.attrs.get(attr::FAMILY_ID) {
        sim.families.get(u16::from_ne_bytes([id.payload[0], id.payload[1]]))
    } else if let Some(name) = request.attrs.get(attr::FAMILY_NAME) {
        sim.families.by_name(name.string().unwrap_or_default())
    } else {
        return Err(bare(errno::EINVAL));
    };
    let registered = found.ok_or(bare(errno::ENOENT))?;
    let (family, family_id) = (registered.spec(), registered.id);
    let op_attr = request.attrs.get(attr::OP);
    let op = op_attr.map(|a| u32::from_ne_bytes(a.payload[..4].try_into().unwrap()));
    sim.families.policy_dump(family, op).map_err(|e| match (e, op_attr) {
        (PolicyDumpError::UnknownOp, Some(op)) => {
            let mut error = bare(errno::ENOENT);
            error.ext.offset = Some(op.offset);
            error
        }
        (PolicyDumpError::UnknownOp, None) => bare(errno::ENOENT),
        (PolicyDumpError::NoPolicy, _) => bare(errno::ENODATA),
    })?;
    Ok(DumpTarget::Policy { family, family_id, op })
}

fn next_policy(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    let DumpTarget::Policy { family, family_id, op } = request.target else {
        return Ok(None);
    };
    let parts = sim.families.policy_dump(family, op).expect("checked when the dump started");
    let Some(part) = parts.get(position.outer as usize) else {
        return Ok(None);
    };
    let mut message = request.part(cmd::GETPOLICY);
    message.put_u16(attr::FAMILY_ID, family_id);
    part.encode(&mut message);
    Ok(Some((message.finish(), Position { outer: position.outer + 1, inner: 0 })))
}
