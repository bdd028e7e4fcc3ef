//! The emulated controller against the kernel's: the same bytes go to the
//! kernel's `nlctrl` (NETLINK_GENERIC) and to the simulator's, and the
//! answers must have the same shape: message types, flags, errno,
//! extended-ACK TLVs, and attribute layout (ids and names may differ).

use simdev_netlink::client::{Client, Reply};
use simdev_protocol::ctrl::{attr, cmd, GENL_ID_CTRL};
use simdev_protocol::extack::decode_status;
use simdev_protocol::wire::{Attrs, MessageBuilder, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use simdev_tests::{exchange, Simulator};
use std::collections::BTreeSet;

const SEQ: u32 = 100;

/// Attribute paths with payload sizes (strings excepted), nests by their
/// entries' shapes: what a decoder relies on, without the values.
fn attr_paths(attrs: Attrs<'_>, prefix: &str, out: &mut BTreeSet<String>) {
    for a in attrs {
        let nested_list = prefix.is_empty() && (a.kind() == attr::OPS || a.kind() == attr::MCAST_GROUPS);
        let path = format!("{prefix}/{}{}", a.kind(), if a.has_nested_flag() { "N" } else { "" });
        if nested_list {
            out.insert(path.clone());
            for entry in a.nested() {
                attr_paths(entry.nested(), &format!("{path}/*"), out);
            }
        } else if a.kind() == attr::FAMILY_NAME && prefix.is_empty()
            || prefix.ends_with("/7/*") && a.kind() == attr::MCAST_GRP_NAME
        {
            out.insert(format!("{path}:string"));
        } else {
            out.insert(format!("{path}:{}", a.payload.len()));
        }
    }
}

/// One answer, described without ids and names; `own_port` is the
/// requester's port, which every answer carries in `nlmsg_pid` (the request
/// said 0).
fn shape(reply: &Reply, own_port: u32) -> String {
    let message = reply.message();
    let header = message.header;
    let pid = if header.port == own_port { "requester".to_string() } else { header.port.to_string() };
    let described = match header.ty {
        NLMSG_ERROR | NLMSG_DONE => {
            let status = decode_status(&message).expect("status");
            format!(
                "{} flags={:#x} error={} msg={:?} offs={:?} miss={:?} policy={:?}",
                if header.ty == NLMSG_ERROR { "ERROR" } else { "DONE" },
                header.flags,
                status.error,
                status.message,
                status.offset,
                status.missing_type,
                status.policy
            )
        }
        ty => {
            let genl = message.genl_header().unwrap();
            let mut paths = BTreeSet::new();
            attr_paths(message.genl_attrs(0), "", &mut paths);
            format!("type={ty:#x} flags={:#x} cmd={} version={} attrs={paths:?}", header.flags, genl.cmd, genl.version)
        }
    };
    format!("pid={pid} {described}")
}

fn request(flags: u16, command: u8, build: impl FnOnce(&mut MessageBuilder)) -> Vec<u8> {
    let mut m = MessageBuilder::genl(GENL_ID_CTRL, flags, SEQ, 0, command, 2);
    build(&mut m);
    m.finish()
}

/// Sends `bytes` to both controllers and compares every answer's shape.
fn assert_same_answers(sim: &Simulator, case: &str, bytes: &[u8]) {
    let shapes = |mut client: Client| {
        let port = client.local_port().unwrap();
        exchange(&mut client, bytes, SEQ).iter().map(|r| shape(r, port)).collect::<Vec<String>>()
    };
    let kernel = shapes(Client::kernel().unwrap());
    let simulated = shapes(sim.client());
    assert_eq!(simulated, kernel, "case `{case}`: simulator (left) vs kernel (right)");
}

const REQ_ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;

#[test]
fn getfamily_answers_match_the_kernel() {
    let sim = Simulator::start("[[device]]\nname = \"c0\"\n");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "by name",
            request(NLM_F_REQUEST, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            }),
        ),
        (
            "by name with ack",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            }),
        ),
        (
            "by id",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_u16(attr::FAMILY_ID, GENL_ID_CTRL);
            }),
        ),
        (
            "unknown name",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nosuchfamily");
            }),
        ),
        (
            "unknown id",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_u16(attr::FAMILY_ID, 0x3ff);
            }),
        ),
        ("no attributes", request(REQ_ACK, cmd::GETFAMILY, |_| {})),
        ("unknown command", request(REQ_ACK, 99, |_| {})),
        (
            "getpolicy as do",
            request(REQ_ACK, cmd::GETPOLICY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            }),
        ),
        (
            "name without NUL",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_bytes(attr::FAMILY_NAME, b"nlctrl");
            }),
        ),
        (
            "name too long",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "a-name-of-twenty-chars");
            }),
        ),
        // old family: liberal parsing tolerates these
        (
            "id as u32",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_u32(attr::FAMILY_ID, GENL_ID_CTRL.into());
            }),
        ),
        (
            "unknown attribute",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl").put_u32(60, 1);
            }),
        ),
        (
            "attribute type 0",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_u32(0, 1).put_str(attr::FAMILY_NAME, "nlctrl");
            }),
        ),
        ("reserved field set", {
            let mut bytes = request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            });
            bytes[18] = 7;
            bytes
        }),
        (
            "reserved flag bits",
            request(REQ_ACK | 0x1000, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            }),
        ),
        (
            "nla_len past the end",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_raw(&[40, 0, 2, 0, b'n', b'l', 0, 0]);
            }),
        ),
        (
            "trailing bytes after a valid name",
            request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl").put_raw(&[1, 2, 3, 4]);
            }),
        ),
        ("truncated genl header", {
            let mut bytes = MessageBuilder::new(GENL_ID_CTRL, REQ_ACK, SEQ, 0).finish();
            bytes.extend_from_slice(&[cmd::GETFAMILY, 2, 0, 0]);
            bytes[0] = 18; // nlmsg_len covers only 2 bytes of the genl header
            bytes
        }),
        ("truncated nlmsghdr", MessageBuilder::new(GENL_ID_CTRL, REQ_ACK, SEQ, 0).finish()[..12].to_vec()),
        ("nlmsg_len beyond the datagram", {
            let mut bytes = request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            });
            bytes[0] = 200;
            bytes
        }),
        (
            "getpolicy of nlctrl",
            request(REQ_ACK | NLM_F_DUMP, cmd::GETPOLICY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            }),
        ),
        (
            "getpolicy by id of one op",
            request(REQ_ACK | NLM_F_DUMP, cmd::GETPOLICY, |m| {
                m.put_u16(attr::FAMILY_ID, GENL_ID_CTRL).put_u32(attr::OP, 3);
            }),
        ),
        (
            "getpolicy of an unknown op",
            request(REQ_ACK | NLM_F_DUMP, cmd::GETPOLICY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl").put_u32(attr::OP, 99);
            }),
        ),
        (
            "getpolicy of an unknown family",
            request(REQ_ACK | NLM_F_DUMP, cmd::GETPOLICY, |m| {
                m.put_str(attr::FAMILY_NAME, "nosuchfamily");
            }),
        ),
        ("getpolicy without a family", request(REQ_ACK | NLM_F_DUMP, cmd::GETPOLICY, |_| {})),
        (
            "dump with an invalid name",
            request(REQ_ACK | NLM_F_DUMP, cmd::GETFAMILY, |m| {
                m.put_bytes(attr::FAMILY_NAME, b"no-nul");
            }),
        ),
        (
            "missing NLM_F_REQUEST",
            request(NLM_F_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            }),
        ),
        (
            "missing NLM_F_REQUEST without ack",
            request(0, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            }),
        ),
        ("control message type", MessageBuilder::new(simdev_protocol::wire::NLMSG_NOOP, REQ_ACK, SEQ, 0).finish()),
        ("two requests in one datagram", {
            let mut bytes = request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nlctrl");
            });
            bytes.extend(request(REQ_ACK, cmd::GETFAMILY, |m| {
                m.put_str(attr::FAMILY_NAME, "nosuchfamily");
            }));
            bytes
        }),
    ];
    for (case, bytes) in &cases {
        assert_same_answers(&sim, case, bytes);
    }
    let bad_family = {
        let mut m = MessageBuilder::genl(0x3fe, REQ_ACK, SEQ, 0, 1, 1);
        m.put_u32(1, 1);
        m.finish()
    };
    assert_same_answers(&sim, "unknown family id", &bad_family);
}

#[test]
fn getfamily_dump_matches_the_kernel() {
    let sim = Simulator::start("[[device]]\nname = \"c0\"\n");
    for flags in [NLM_F_REQUEST | NLM_F_DUMP, REQ_ACK | NLM_F_DUMP] {
        let bytes = request(flags, cmd::GETFAMILY, |m| {
            m.put_str(attr::FAMILY_NAME, "ignored");
        });
        let answers = |mut client: Client| {
            let port = client.local_port().unwrap();
            exchange(&mut client, &bytes, SEQ).iter().map(|r| shape(r, port)).collect::<Vec<String>>()
        };
        let kernel = answers(Client::kernel().unwrap());
        let simulated = answers(sim.client());
        // Both end with exactly one DONE carrying 0, and no ACK even when asked.
        for answers in [&kernel, &simulated] {
            let last = answers.last().unwrap();
            assert_eq!(last, "pid=requester DONE flags=0x2 error=0 msg=None offs=None miss=None policy=None");
            assert_eq!(answers.iter().filter(|r| r.contains(" DONE ") || r.contains(" ERROR ")).count(), 1);
        }
        let kernel_shapes: BTreeSet<String> = kernel[..kernel.len() - 1].iter().cloned().collect();
        let simulated_shapes: Vec<String> = simulated[..simulated.len() - 1].to_vec();
        assert_eq!(simulated_shapes.len(), 2, "nlctrl and simdev");
        for s in &simulated_shapes {
            assert!(
                kernel_shapes.contains(s),
                "simulator dump part {s}\nnot among the kernel's shapes:\n{kernel_shapes:#?}"
            );
        }
    }
}

/// Where `NLMSG_DONE` goes, read by a socket whose receives are 64 KiB
/// (the kernel's socket has made one; the simulator's said so): the
/// family list packs it into its last datagram when it fits, the policy
/// dump sends it alone; the same from both.
#[test]
fn dump_done_framing_matches_the_kernel() {
    let sim = Simulator::start("[[device]]\nname = \"c0\"\n");
    // The datagrams of a dump: for each, its messages' types.
    let framing = |client: &mut Client, bytes: &[u8]| {
        client.send_raw(bytes).unwrap();
        let mut datagrams: Vec<Vec<&str>> = Vec::new();
        while !datagrams.last().is_some_and(|d| d.contains(&"DONE")) {
            let kinds = client
                .recv_raw()
                .unwrap()
                .iter()
                .map(|r| if r.message().header.ty == NLMSG_DONE { "DONE" } else { "part" })
                .collect();
            datagrams.push(kinds);
        }
        datagrams
            .iter()
            .map(|d| {
                if d.len() > 1 && d.contains(&"DONE") {
                    "parts+DONE"
                } else if d == &["DONE"] {
                    "DONE"
                } else {
                    "parts"
                }
            })
            .collect::<Vec<_>>()
    };
    let families = request(NLM_F_REQUEST | NLM_F_DUMP, cmd::GETFAMILY, |_| {});
    let policy = request(NLM_F_REQUEST | NLM_F_DUMP, cmd::GETPOLICY, |m| {
        m.put_str(attr::FAMILY_NAME, "nlctrl");
    });
    let mut kernel = Client::kernel().unwrap();
    kernel.get_family(&simdev_protocol::ctrl::FamilySelector::Name("nlctrl".into())).unwrap();
    let mut simulated = sim.client();
    let mut declare = simulated.new_request(sim.family_id, simdev_protocol::simdev::cmd::SOCKET_SET, 1, 0);
    declare.put_u32(simdev_protocol::simdev::dev_attr::RECV_SIZE, 65536);
    simulated.execute(declare, None).unwrap();
    for client in [&mut kernel, &mut simulated] {
        assert_eq!(framing(client, &families), ["parts+DONE"], "the family list");
        assert_eq!(framing(client, &policy), ["parts", "DONE"], "the policy dump");
    }
}

#[test]
fn controller_lists_the_same_way_through_the_client() {
    let sim = Simulator::start("[[device]]\nname = \"c0\"\n");
    let mut kernel = Client::kernel().unwrap();
    let mut simulated = sim.client();
    let kernel_ctrl = kernel.resolve_family("nlctrl").unwrap();
    let simulated_ctrl = simulated.resolve_family("nlctrl").unwrap();
    assert_eq!(
        (simulated_ctrl.id, simulated_ctrl.version, simulated_ctrl.hdrsize, simulated_ctrl.maxattr),
        (kernel_ctrl.id, kernel_ctrl.version, kernel_ctrl.hdrsize, kernel_ctrl.maxattr)
    );
    assert_eq!(simulated_ctrl.ops, kernel_ctrl.ops, "GETFAMILY and GETPOLICY with the kernel's flags");
    let names: Vec<String> = simulated.list_families().unwrap().into_iter().map(|f| f.name).collect();
    assert_eq!(names, vec!["nlctrl", "simdev"]);
}

#[test]
fn ctrl_policy_of_nlctrl_prints_the_same_for_kernel_and_simulator() {
    let sim = Simulator::start("[[device]]\nname = \"c0\"\n");
    let kernel = std::process::Command::new(simdev_tests::bin("genl-client"))
        .args(["--kernel", "ctrl", "policy", "nlctrl"])
        .output()
        .unwrap();
    let simulated = sim.cli(&["ctrl", "policy", "nlctrl"]);
    assert!(kernel.status.success() && simulated.status.success());
    assert_eq!(String::from_utf8_lossy(&simulated.stdout), String::from_utf8_lossy(&kernel.stdout));
    let simdev = sim.cli(&["ctrl", "policy", "simdev", "op", "1"]);
    let text = String::from_utf8_lossy(&simdev.stdout);
    // dev-get: a do policy and a dump policy, each with what its request takes.
    assert!(text.contains("op 1 policies: do=0 dump=1"), "{text}");
    assert!(text.contains("policy[0]:attr[2]: type=NUL_STRING max len:15"), "{text}");
    assert!(text.contains("policy[1]:attr[30]: type=U32 range:[1,4294967295]"), "{text}");
    let dev_set = sim.cli(&["ctrl", "policy", "simdev", "op", "2"]);
    let text = String::from_utf8_lossy(&dev_set.stdout);
    assert!(text.contains("policy[0]:attr[6]: type=BINARY min len:6 max len:6"), "{text}");
    assert!(!text.contains("attr[4]"), "dev-set takes no port nest: {text}");
    let by_name = sim.cli(&["ctrl", "policy", "simdev", "op", "dev-set"]);
    assert_eq!(by_name.stdout, dev_set.stdout, "op names are the spec's");
    let json: serde_json::Value =
        serde_json::from_slice(&sim.cli(&["-j", "ctrl", "policy", "simdev", "op", "dev-set"]).stdout).expect("JSON");
    let names: Vec<&str> = json.as_array().unwrap().iter().filter_map(|part| part["name"].as_str()).collect();
    assert_eq!(names, ["dev-set", "dev-id", "dev-name", "mtu", "mac", "up", "batch"], "-j names ops and attributes");
    let unknown = sim.cli(&["ctrl", "policy", "simdev", "op", "dev-frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("its ops: dev-get, dev-set"), "{unknown:?}");
}

/// The structure of a per-op-policy family's policy dump, as facts that
/// hold for the kernel's own `netdev` and `ethtool` on this machine: no
/// family-wide maxattr, every command has a policy (`HASPOL`), a mode
/// without request attributes points at one shared policy that lists no
/// attribute (`genl_policy_reject_all`; ethtool has no such mode), and
/// every other policy lists at least one attribute. Returns how many modes
/// point at the reject-all policy.
fn per_op_structure(client: &mut Client, family: &str) -> Result<usize, String> {
    use simdev_protocol::family::GENL_CMD_CAP_HASPOL;
    use simdev_protocol::policy_dump::PolicyPart;
    let info = client.resolve_family(family).map_err(|e| e.to_string())?;
    if info.maxattr != 0 {
        return Err(format!("{family}: maxattr {}", info.maxattr));
    }
    if let Some(op) = info.ops.iter().find(|op| op.flags & GENL_CMD_CAP_HASPOL == 0) {
        return Err(format!("{family}: op {} has no HASPOL", op.id));
    }
    let parts = client
        .get_policy(&simdev_protocol::ctrl::FamilySelector::Name(family.into()), None)
        .map_err(|e| e.to_string())?;
    let listed: BTreeSet<u32> = parts
        .iter()
        .filter_map(|(_, part)| match part {
            PolicyPart::Attr { policy, .. } => Some(*policy),
            PolicyPart::Op { .. } => None,
        })
        .collect();
    let mut empty_references = Vec::new();
    for (_, part) in &parts {
        if let PolicyPart::Op { do_policy, dump_policy, .. } = part {
            empty_references.extend(do_policy.iter().chain(dump_policy).filter(|index| !listed.contains(index)));
        }
    }
    let empty: BTreeSet<&u32> = empty_references.iter().collect();
    if empty.len() > 1 {
        return Err(format!("{family}: several policies list nothing: {empty:?} (want one, shared)"));
    }
    Ok(empty_references.len())
}

#[test]
fn simdev_policy_dump_has_the_structure_of_the_kernels_per_op_families() {
    let sim = Simulator::start("[[device]]\nname = \"c0\"\n");
    let mut kernel = Client::kernel().unwrap();
    let netdev = per_op_structure(&mut kernel, "netdev").unwrap_or_else(|e| panic!("the kernel's own: {e}"));
    assert!(netdev > 1, "netdev's dumps without requests share the reject-all policy");
    per_op_structure(&mut kernel, "ethtool").unwrap_or_else(|e| panic!("the kernel's own: {e}"));
    // Every simdev mode takes at least `batch`, so none is reject-all.
    per_op_structure(&mut sim.client(), "simdev").unwrap();
}

/// `family_id = "auto"` gives simdev the id the kernel would give a family
/// registered now (the one after its last), so no kernel family has it;
/// `"random"` also avoids theirs.
#[test]
fn the_family_id_is_one_no_kernel_family_has() {
    let kernel: Vec<u16> = Client::kernel().unwrap().list_families().unwrap().iter().map(|f| f.id).collect();
    let last = kernel.iter().copied().filter(|&id| id >= 0x13).max().expect("the kernel has dynamic families");
    let sim = Simulator::start("[[device]]\nname = \"fid0\"\nbackend = \"model\"\n");
    assert_eq!(sim.family_id, last + 1, "the kernel's next id; the kernel's: {kernel:?}");
    for _ in 0..5 {
        let sim =
            Simulator::start("[simulator]\nfamily_id = \"random\"\n[[device]]\nname = \"fid1\"\nbackend = \"model\"\n");
        assert!(!kernel.contains(&sim.family_id), "{:#x} is the kernel's", sim.family_id);
    }
}
