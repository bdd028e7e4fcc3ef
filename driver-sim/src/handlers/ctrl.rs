//! The emulated controller's `CTRL_CMD_GETFAMILY`: by id, by name, or as a
//! dump, answered like the kernel's `ctrl_getfamily`/`ctrl_dumpfamily`.

use crate::genl::{HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::ctrl::{attr, cmd, FamilyInfo};
use simdev_protocol::policy::errno;

fn encode(request: &Request<'_>, info: &FamilyInfo, dump: bool) -> Vec<u8> {
    let mut message = if dump { request.dump_part(cmd::NEWFAMILY) } else { request.reply(cmd::NEWFAMILY) };
    info.encode(&mut message);
    message.finish()
}

/// The kernel looks the id up first, then the name; neither is `EINVAL`,
/// no match `ENOENT` (no extack message in either case).
pub fn get_family(sim: &mut Simulator, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let infos = sim.families.infos();
    let found = if let Some(id) = request.attrs.get(attr::FAMILY_ID) {
        // Liberal parsing: a longer integer is read by its first bytes.
        let id = u16::from_ne_bytes([id.payload[0], id.payload[1]]);
        infos.iter().find(|f| f.id == id)
    } else if let Some(name) = request.attrs.get(attr::FAMILY_NAME) {
        let name = name.string().unwrap_or_default();
        infos.iter().find(|f| f.name == name)
    } else {
        return Err(HandlerError { errno: errno::EINVAL, ext: Default::default() });
    };
    let info = found.ok_or(HandlerError { errno: errno::ENOENT, ext: Default::default() })?;
    Ok(Some(encode(request, info, false)))
}

/// Like the kernel, the dump ignores any attributes and lists every family.
pub fn dump_families(sim: &mut Simulator, request: &Request<'_>) -> Result<Vec<Vec<u8>>, HandlerError> {
    Ok(sim.families.infos().iter().map(|info| encode(request, info, true)).collect())
}
