//! Malformed requests to the simdev family get the answers a strict kernel
//! family gives to the same malformation, and the simulator keeps serving.
//!
//! The reference is the kernel's own `netdev` family (`dev-get`, attribute
//! 1 a u32 like simdev's `dev-id`), and `ethtool`'s strict `pse-get` for a
//! nest sent without `NLA_F_NESTED`. Policy nests are compared where the
//! attributes' policies are alike.

use simdev_netlink::client::{Client, Reply};
use simdev_protocol::extack::{decode_status, Status};
use simdev_protocol::simdev::{cmd, dev_attr, DevSelector};
use simdev_protocol::wire::{MessageBuilder, NLA_F_NESTED, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use simdev_tests::{exchange, Simulator};

const SEQ: u32 = 300;
const REQ_ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;

/// A request to `family`, command `command`, built by `build`.
fn request(family: u16, flags: u16, command: u8, build: &dyn Fn(&mut MessageBuilder)) -> Vec<u8> {
    let mut m = MessageBuilder::genl(family, flags, SEQ, 0, command, 1);
    build(&mut m);
    m.finish()
}

/// The one status answer, asserting there is exactly one answer.
fn only_status(answers: &[Reply]) -> Status {
    assert_eq!(answers.len(), 1, "expected exactly one answer");
    decode_status(&answers[0].message()).expect("an NLMSG_ERROR")
}

/// What two error answers must share.
fn essentials(status: &Status, flags: u16) -> String {
    format!(
        "flags={flags:#x} error={} msg={:?} offs={:?} miss={:?} has_policy={}",
        status.error,
        status.message,
        status.offset,
        status.missing_type,
        status.policy.is_some()
    )
}

struct Peers {
    sim: Simulator,
    kernel: Client,
    netdev: u16,
}

impl Peers {
    fn new() -> Self {
        let sim = Simulator::start("[[device]]\nname = \"m0\"\n");
        let mut kernel = Client::kernel().unwrap();
        let netdev = kernel.resolve_family("netdev").expect("the kernel's netdev family").id;
        Peers { sim, kernel, netdev }
    }

    /// Sends the malformation to netdev `dev-get` and simdev `dev-get`
    /// (or the given commands) and returns both answers.
    fn both(
        &mut self,
        flags: u16,
        kernel_cmd: u8,
        sim_cmd: u8,
        build: &dyn Fn(&mut MessageBuilder),
    ) -> (Vec<Reply>, Vec<Reply>) {
        let kernel = exchange(&mut self.kernel, &request(self.netdev, flags, kernel_cmd, build), SEQ);
        let simulated = exchange(&mut self.sim.client(), &request(self.sim.family_id, flags, sim_cmd, build), SEQ);
        (kernel, simulated)
    }

    fn assert_same_error(&mut self, case: &str, flags: u16, build: &dyn Fn(&mut MessageBuilder)) -> Status {
        let (kernel, simulated) = self.both(flags, 1, cmd::DEV_GET, build);
        let (k, s) = (only_status(&kernel), only_status(&simulated));
        let flags_of = |r: &[Reply]| r[0].message().header.flags;
        assert_ne!(k.error, 0, "case `{case}`: the kernel refuses it");
        assert_eq!(
            essentials(&s, flags_of(&simulated)),
            essentials(&k, flags_of(&kernel)),
            "case `{case}`: simulator (left) vs kernel (right)"
        );
        s
    }

    /// The simulator still answers a well-formed request.
    fn assert_still_serving(&self) {
        let mut client = genl_client::simdev::SimdevClient::connect(simdev_netlink::client::Target::Simulator {
            port: self.sim.port,
        })
        .unwrap();
        assert_eq!(client.dev_get(&DevSelector::Id(1)).unwrap().name, "m0");
    }
}

#[test]
fn strict_validation_matches_a_kernel_family() {
    let mut peers = Peers::new();
    let id = |m: &mut MessageBuilder| {
        m.put_u32(dev_attr::DEV_ID, 1);
    };
    peers.assert_same_error("unknown attribute type", REQ_ACK, &|m| {
        id(m);
        m.put_u32(60, 1);
    });
    peers.assert_same_error("attribute type 0", REQ_ACK, &|m| {
        m.put_u32(0, 1);
        id(m);
    });
    peers.assert_same_error("wrong integer size", REQ_ACK, &|m| {
        m.put_u16(dev_attr::DEV_ID, 1);
    });
    peers.assert_same_error("NLA_F_NESTED on an integer", REQ_ACK, &|m| {
        m.put_bytes(dev_attr::DEV_ID | 0x8000, &1u32.to_ne_bytes());
    });
    peers.assert_same_error("trailing bytes", REQ_ACK, &|m| {
        id(m);
        m.put_raw(&[1, 2, 3, 4]);
    });
    peers.assert_same_error("nla_len past the end", REQ_ACK, &|m| {
        m.put_raw(&[40, 0, 1, 0, 1, 0, 0, 0]);
    });
    peers.assert_same_error("reserved flag bits", REQ_ACK | 0x10, &id);
    let status = {
        let mut kernel_bytes = request(peers.netdev, REQ_ACK, 1, &id);
        let mut sim_bytes = request(peers.sim.family_id, REQ_ACK, cmd::DEV_GET, &id);
        kernel_bytes[18] = 1;
        sim_bytes[18] = 1;
        let k = only_status(&exchange(&mut peers.kernel, &kernel_bytes, SEQ));
        let s = only_status(&exchange(&mut peers.sim.client(), &sim_bytes, SEQ));
        assert_eq!(essentials(&s, 0), essentials(&k, 0), "genlmsghdr.reserved");
        s
    };
    assert_eq!(status.message.as_deref(), Some("genlmsghdr.reserved field is not 0"));
    peers.assert_still_serving();
}

#[test]
fn an_attribute_the_op_does_not_take_is_refused_like_the_kernels_per_op_policies() {
    let mut peers = Peers::new();
    // netdev's qstats-get dump policy lists ifindex (1) and scope (4):
    // 2 is a hole. simdev's dev-get do policy lists dev-id, dev-name and
    // batch (30): reg-name (11) is a hole.
    // A hole is refused before its flags are looked at: with NLA_F_NESTED
    // set too, it is the same answer.
    for flag in [0, NLA_F_NESTED] {
        let put = |kind: u16| {
            move |m: &mut MessageBuilder| {
                m.put_u32(kind | flag, 1);
            }
        };
        let kernel =
            only_status(&exchange(&mut peers.kernel, &request(peers.netdev, REQ_ACK | NLM_F_DUMP, 12, &put(2)), SEQ));
        let simulated = only_status(&exchange(
            &mut peers.sim.client(),
            &request(peers.sim.family_id, REQ_ACK, cmd::DEV_GET, &put(dev_attr::REG_NAME)),
            SEQ,
        ));
        assert_eq!(essentials(&simulated, 0), essentials(&kernel, 0), "simulator (left) vs kernel (right)");
        assert_eq!(simulated.message.as_deref(), Some("Unsupported attribute"));
    }
    peers.assert_still_serving();
}

#[test]
fn missing_selector_reports_the_missing_type_like_the_kernel() {
    let mut peers = Peers::new();
    let (kernel, simulated) = peers.both(REQ_ACK, 1, cmd::DEV_GET, &|_| {});
    let (k, s) = (only_status(&kernel), only_status(&simulated));
    assert_eq!((s.error, s.missing_type), (k.error, k.missing_type));
    // The simulator adds a message naming what is missing; the kernel's
    // GENL_REQ_ATTR_CHECK sends none.
    assert_eq!(s.message.as_deref(), Some("missing attribute: dev-id or dev-name"));
    peers.assert_still_serving();
}

/// A dump filtered by a device that does not exist: an `NLMSG_ERROR`
/// with `ENODEV` before any part, as the kernel's ethtool answers a dump
/// filtered by an unknown netdev (its `linkinfo-get`, header `dev-name`).
#[test]
fn a_dump_of_an_unknown_device_is_refused_as_ethtool_refuses_it() {
    let mut peers = Peers::new();
    let ethtool = peers.kernel.resolve_family("ethtool").expect("the kernel's ethtool").id;
    let unknown_netdev = request(ethtool, NLM_F_REQUEST | NLM_F_DUMP, 4, &|m| {
        m.nest_start(1).put_str(2, "nosuch0").nest_end();
    });
    let kernel = only_status(&exchange(&mut peers.kernel, &unknown_netdev, SEQ));
    let mut sim_client = peers.sim.client();
    let unknown_device = request(peers.sim.family_id, NLM_F_REQUEST | NLM_F_DUMP, cmd::PORT_GET, &|m| {
        DevSelector::Name("nosuch0".into()).encode(m);
    });
    let simulated = only_status(&exchange(&mut sim_client, &unknown_device, SEQ));
    assert_eq!((simulated.error, kernel.error), (-libc::ENODEV, -libc::ENODEV));
    assert!(simulated.offset.is_some() && kernel.offset.is_some(), "both point at the selector");
    peers.assert_still_serving();
}

#[test]
fn dispatch_errors_match_the_kernel() {
    let mut peers = Peers::new();
    let id = |m: &mut MessageBuilder| {
        m.put_u32(dev_attr::DEV_ID, 1);
    };
    // unknown command
    let (k, s) = peers.both(REQ_ACK, 99, 99, &id);
    assert_eq!(only_status(&s), Status { request: only_status(&s).request, ..only_status(&k) });
    // a dump of a do-only command (netdev 2 and simdev dev-set both lack dump)
    let (k, s) = peers.both(REQ_ACK | NLM_F_DUMP, 2, cmd::DEV_SET, &|_| {});
    assert_eq!((only_status(&s).error, only_status(&k).error), (-95, -95));
    // no NLM_F_REQUEST: ACK only, nothing done
    let (k, s) = peers.both(NLM_F_ACK, 1, cmd::DEV_GET, &id);
    assert_eq!((only_status(&s).error, only_status(&k).error), (0, 0));
    // truncated headers: silently dropped by both
    let mut sim_client = peers.sim.client();
    let short = &request(peers.sim.family_id, REQ_ACK, cmd::DEV_GET, &id)[..12];
    assert!(exchange(&mut sim_client, short, SEQ).is_empty());
    assert!(exchange(&mut peers.kernel, &request(peers.netdev, REQ_ACK, 1, &id)[..12], SEQ).is_empty());
    // unknown family id
    let bad = request(0x3fd, REQ_ACK, 1, &id);
    let (k, s) =
        (only_status(&exchange(&mut peers.kernel, &bad, SEQ)), only_status(&exchange(&mut sim_client, &bad, SEQ)));
    assert_eq!((s.error, s.message), (k.error, k.message));
    assert_eq!(s.error, -2);
    peers.assert_still_serving();
}

#[test]
fn a_flood_of_garbage_is_answered_and_service_continues() {
    let peers = Peers::new();
    let mut client = peers.sim.client();
    // Every prefix of a valid request (the kernel refuses empty sends):
    // each is answered or dropped, never crashes the simulator.
    let full = request(peers.sim.family_id, REQ_ACK, cmd::DEV_GET, &|m| {
        m.put_u32(dev_attr::DEV_ID, 1).put_str(dev_attr::DEV_NAME, "m0");
    });
    for len in 1..full.len() {
        let mut bytes = full[..len].to_vec();
        if len >= 4 {
            bytes[..4].copy_from_slice(&(len as u32).to_ne_bytes());
        }
        let answers = exchange(&mut client, &bytes, SEQ);
        assert!(answers.len() <= 2, "prefix {len}: {} answers", answers.len());
    }
    peers.assert_still_serving();
}
