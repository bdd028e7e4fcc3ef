//! The emulated controller: `CTRL_CMD_GETFAMILY` (by id, by name, or as a
//! dump) and `CTRL_CMD_GETPOLICY`, answered like the kernel's
//! `ctrl_getfamily`, `ctrl_dumpfamily` and `ctrl_dumppolicy`.

use crate::genl::{HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::ctrl::{attr, cmd};
use simdev_protocol::policy::errno;
use simdev_protocol::policy_dump::{policy_dump, PolicyDumpError};

/// A `NEWFAMILY` answer from the family's attributes, encoded once.
fn encode(request: &Request<'_>, attrs: &[u8], dump: bool) -> Vec<u8> {
    let mut message = if dump { request.dump_part(cmd::NEWFAMILY) } else { request.reply(cmd::NEWFAMILY) };
    message.put_raw(attrs);
    message.finish()
}

/// The kernel looks the id up first, then the name; neither is `EINVAL`,
/// no match `ENOENT` (no extack message in either case).
pub fn get_family(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
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
    Ok(Some(encode(request, attrs, false)))
}

/// Like the kernel, the dump ignores any attributes and lists every family.
pub fn dump_families(sim: &mut Simulator, request: &Request<'_>) -> Result<Vec<Vec<u8>>, HandlerError> {
    Ok(sim.families.encoded().iter().map(|(_, attrs)| encode(request, attrs, true)).collect())
}

/// `CTRL_CMD_GETPOLICY` (dump only): the family by id or name (neither is
/// `EINVAL`, unknown `ENOENT`), optionally one command (unknown: `ENOENT`
/// pointing at the attribute).
pub fn dump_policy(sim: &mut Simulator, request: &Request<'_>) -> Result<Vec<Vec<u8>>, HandlerError> {
    let bare = |errno| HandlerError { errno, ext: Default::default() };
    let specs = sim.families.specs();
    let found = if let Some(id) = request.attrs.get(attr::FAMILY_ID) {
        let id = u16::from_ne_bytes([id.payload[0], id.payload[1]]);
        specs.iter().find(|(_, fid)| *fid == id)
    } else if let Some(name) = request.attrs.get(attr::FAMILY_NAME) {
        let name = name.string().unwrap_or_default();
        specs.iter().find(|(spec, _)| spec.name == name)
    } else {
        return Err(bare(errno::EINVAL));
    };
    let &(spec, family_id) = found.ok_or(bare(errno::ENOENT))?;
    let op_attr = request.attrs.get(attr::OP);
    let op = op_attr.map(|a| u32::from_ne_bytes(a.payload[..4].try_into().unwrap()));
    let parts = policy_dump(spec, op).map_err(|e| match (e, op_attr) {
        (PolicyDumpError::UnknownOp, Some(op)) => {
            let mut error = bare(errno::ENOENT);
            error.ext.offset = Some(op.offset);
            error
        }
        (PolicyDumpError::UnknownOp, None) => bare(errno::ENOENT),
        (PolicyDumpError::NoPolicy, _) => bare(errno::ENODATA),
    })?;
    Ok(parts
        .iter()
        .map(|part| {
            let mut message = request.dump_part(cmd::GETPOLICY);
            message.put_u16(attr::FAMILY_ID, family_id);
            part.encode(&mut message);
            message.finish()
        })
        .collect())
}
