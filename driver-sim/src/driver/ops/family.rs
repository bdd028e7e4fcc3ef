//! `family-get`: how a family served from its spec is shown to programs
//! under `genl-client exec` — whether it replaces the kernel's family of
//! its name (`[[family]] shadow = true`).

use super::required;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{cmd, dev_attr};

pub fn get(sim: &mut Simulator, _: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let name_attr = required(request, dev_attr::FAMILY_NAME)?;
    let name = name_attr.string().unwrap_or_default();
    let served = sim.families.by_name(name).and_then(|family| sim.served.get(family.id));
    let Some(served) = served else {
        let message = format!("no family {name} is served from a spec");
        return Err(HandlerError::at(errno::ENOENT, message, &name_attr));
    };
    let mut reply = request.reply(cmd::FAMILY_GET);
    reply.put_str(dev_attr::FAMILY_NAME, name).put_u8(dev_attr::FAMILY_SHADOW, served.shadow.into());
    Ok(Some(reply.finish()))
}
