//! A neli program as any neli user writes it — `NlRouter` on
//! `NETLINK_GENERIC`, the family resolved by name, a dump — that knows
//! nothing of simdev's simulator. Run it under `genl-client exec` and it
//! drives the simulated driver:
//!
//! ```sh
//! cargo build --example neli_router -p simdev-genl-client
//! genl-client exec -- target/debug/examples/neli_router
//! ```
//!
//! Prints the family id, then one `DEV_ID DEV_NAME` line per device.

use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::genl::{Genlmsghdr, GenlmsghdrBuilder};
use neli::nl::NlPayload;
use neli::router::synchronous::NlRouter;
use neli::types::{Buffer, GenlBuffer};
use neli::utils::Groups;
// The family's numbers, from its one definition (protocol/simdev.yaml);
// everything on the wire is neli's own encoding.
use simdev_protocol::simdev::dev_attr::{DEV_ID, DEV_NAME};
use simdev_protocol::simdev::{cmd::DEV_GET, FAMILY_NAME, FAMILY_VERSION};
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let (router, _multicast) = NlRouter::connect(NlFamily::Generic, None, Groups::empty())?;
    let family = router.resolve_genl_family(FAMILY_NAME)?;
    println!("family {family:#x}");
    let request = GenlmsghdrBuilder::<u8, u16>::default()
        .cmd(DEV_GET)
        .version(FAMILY_VERSION)
        .attrs(GenlBuffer::<u16, Buffer>::new())
        .build()?;
    let replies = router.send::<u16, _, u16, Genlmsghdr<u8, u16>>(family, NlmF::DUMP, NlPayload::Payload(request))?;
    for reply in replies {
        let reply = reply?;
        let Some(payload) = reply.get_payload() else { continue };
        let attrs = payload.attrs().get_attr_handle();
        let id: u32 = attrs.get_attr_payload_as(DEV_ID)?;
        let name: String = attrs.get_attr_payload_as_with_len(DEV_NAME)?;
        println!("{id} {name}");
    }
    Ok(())
}
