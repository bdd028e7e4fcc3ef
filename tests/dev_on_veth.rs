//! The backbone scenario: a simulator started from TOML in a private
//! namespace is resolved through its controller, lists its devices, and
//! applies MTU, MAC and admin-state changes to real veth devices. Every
//! change is checked in the kernel (`ip -j` inside the namespace).

use genl_client::simdev::SimdevClient;
use nix::errno::Errno;
use simdev_netlink::client::{Subscription, Target};
use simdev_netlink::error::Error;
use simdev_protocol::simdev::{format_mac, DevSelector, DevSet, OperState};
use simdev_tests::Simulator;

const LAB: &str = r#"
[simulator]
netns = "private"

[[device]]
name = "lab0"
ports = 2
mac = "02:aa:00:00:00:10"

[[device]]
name = "lab1"
id = 7
mtu = 2000
"#;

fn connect(sim: &Simulator) -> SimdevClient {
    SimdevClient::connect(Target::Simulator { port: sim.port }).expect("resolve simdev")
}

#[test]
fn resolves_simdev_through_the_emulated_controller() {
    let sim = Simulator::start(LAB);
    let client = connect(&sim);
    let family = client.family();
    assert_eq!(family.name, "simdev");
    assert_eq!(family.id, sim.family_id, "the id the controller gives is the one announced");
    assert_eq!(family.version, 1);
    assert!(family.ops.iter().any(|op| op.id == 1 && op.flags & 0x6 == 0x6), "dev-get: do and dump");
    assert!(family.ops.iter().any(|op| op.id == 2 && op.flags & 0x1 == 0x1), "dev-set: admin");
    assert!(family.group_id("config").is_some());
}

#[test]
fn random_family_id_is_resolved_not_assumed() {
    let sim = Simulator::start("[simulator]\nfamily_id = \"random\"\n[[device]]\nname = \"r0\"\n");
    let mut client = connect(&sim);
    assert_eq!(client.family().id, sim.family_id);
    assert_eq!(client.dev_list().unwrap().len(), 1);
}

#[test]
fn lists_devices_as_the_kernel_sees_them() {
    let sim = Simulator::start(LAB);
    let mut client = connect(&sim);
    let devices = client.dev_list().unwrap();
    assert_eq!(
        devices.iter().map(|d| (d.id, d.name.as_str(), d.ports.len())).collect::<Vec<_>>(),
        vec![(1, "lab0", 2), (7, "lab1", 1)]
    );
    for dev in &devices {
        assert_eq!(dev.backend, "veth");
        for port in &dev.ports {
            let link = sim.kernel_link(&port.ifname);
            assert_eq!(link["ifindex"].as_u64().unwrap() as u32, port.ifindex);
            assert_eq!(link["address"].as_str().unwrap(), format_mac(&port.mac));
            assert_eq!(link["mtu"].as_u64().unwrap() as u32, port.mtu);
            assert_eq!(link["operstate"].as_str().unwrap(), port.oper_state.name());
            assert_eq!(link["linkinfo"]["info_kind"], "veth");
            assert_eq!(port.peer_ifname, format!("{}-peer", port.ifname));
        }
    }
    assert_eq!(devices[0].ports[1].mac, [0x02, 0xaa, 0, 0, 0, 0x11], "port 1 gets base + 1");
    assert_eq!(devices[1].ports[0].mtu, 2000, "configured MTU applied");
    assert_eq!(devices[0].ports[0].oper_state, OperState::UP);
    assert_eq!(devices[0].netns.as_deref(), Some(sim.netns.as_str()), "dev-get says where the netdevs live");
    let by_name = client.dev_get(&DevSelector::Name("lab1".into())).unwrap();
    let by_id = client.dev_get(&DevSelector::Id(7)).unwrap();
    assert_eq!(by_name, by_id);
    assert_eq!(by_name, devices[1]);
}

#[test]
fn dev_set_changes_mtu_mac_and_admin_state_in_the_kernel() {
    let sim = Simulator::start(LAB);
    let mut client = connect(&sim);
    let lab0 = DevSelector::Name("lab0".into());

    client.dev_set(&DevSet { mtu: Some(9000), ..DevSet::new(lab0.clone()) }).unwrap();
    for ifname in ["lab0p0", "lab0p1", "lab0p0-peer", "lab0p1-peer"] {
        assert_eq!(sim.kernel_link(ifname)["mtu"], 9000, "{ifname}: port and cable follow");
    }

    client.dev_set(&DevSet { mac: Some([0x02, 0xbb, 0, 0, 0, 0xff]), ..DevSet::new(lab0.clone()) }).unwrap();
    assert_eq!(sim.kernel_link("lab0p0")["address"], "02:bb:00:00:00:ff");
    assert_eq!(sim.kernel_link("lab0p1")["address"], "02:bb:00:00:01:00");

    client.dev_set(&DevSet { up: Some(false), ..DevSet::new(lab0.clone()) }).unwrap();
    for ifname in ["lab0p0", "lab0p1"] {
        let link = sim.kernel_link(ifname);
        assert_eq!(link["operstate"], "DOWN");
        assert!(!link["flags"].as_array().unwrap().iter().any(|f| f == "UP"), "{ifname} admin down");
    }
    let dev = client.dev_get(&lab0).unwrap();
    assert!(dev.ports.iter().all(|p| !p.up && p.oper_state == OperState::DOWN));

    client.dev_set(&DevSet { up: Some(true), ..DevSet::new(DevSelector::Id(1)) }).unwrap();
    let link = sim.kernel_link("lab0p0");
    assert!(link["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
    assert!(link["flags"].as_array().unwrap().iter().any(|f| f == "LOWER_UP"), "carrier back: the cable end stayed up");
    assert_eq!(sim.kernel_link("lab1p0")["mtu"], 2000, "the other device is untouched");
}

#[test]
fn kernel_refusal_is_relayed_and_nothing_is_half_applied() {
    let sim = Simulator::start(LAB);
    let mut client = connect(&sim);
    let before_mtu = sim.kernel_link("lab0p0")["mtu"].clone();
    // A multicast address: the policy cannot know, the kernel refuses it.
    let set =
        DevSet { mtu: Some(4000), mac: Some([0x01, 0, 0, 0, 0, 1]), ..DevSet::new(DevSelector::Name("lab0".into())) };
    match client.dev_set(&set).unwrap_err() {
        Error::Netlink { errno, message, attribute, .. } => {
            assert_eq!(errno, Errno::EADDRNOTAVAIL, "the kernel's errno");
            assert_eq!(attribute.as_deref(), Some("mac"));
            assert!(message.unwrap().contains("lab0p0"), "names the netdev");
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(sim.kernel_link("lab0p0")["mtu"], before_mtu, "the MTU change was rolled back");
    assert_eq!(sim.kernel_link("lab0p0-peer")["mtu"], before_mtu);
}

#[test]
fn unknown_device_and_missing_selector_are_named() {
    let sim = Simulator::start(LAB);
    let mut client = connect(&sim);
    match client.dev_get(&DevSelector::Name("nosuch".into())).unwrap_err() {
        Error::Netlink { errno, attribute, .. } => {
            assert_eq!(errno, Errno::ENODEV);
            assert_eq!(attribute.as_deref(), Some("dev-name"));
        }
        other => panic!("unexpected error {other}"),
    }
    let mut raw = sim.client();
    let request = raw.new_request(sim.family_id, 1, 1, 0);
    match raw.execute(request, Some(&simdev_protocol::simdev::DEV_ATTRS)).unwrap_err() {
        Error::Netlink { errno, missing, .. } => {
            assert_eq!(errno, Errno::EINVAL);
            assert_eq!(missing.as_deref(), Some("dev-id"));
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn dev_set_is_announced_on_the_config_group() {
    let sim = Simulator::start(LAB);
    let mut client = connect(&sim);
    let group = client.family().group_id("config").unwrap();
    let subscription = Subscription::new(Target::Simulator { port: sim.port }, &[group]);
    let mut monitor = if simdev_tests::is_root() {
        subscription.unwrap()
    } else {
        // The kernel lets only CAP_NET_ADMIN join NETLINK_USERSOCK groups;
        // the refusal is clear, and the simulator unicasts instead.
        assert!(matches!(subscription, Err(Error::SubscribePermission)), "unprivileged join must be refused clearly");
        client.subscribe(&["config"]).unwrap()
    };
    client.dev_set(&DevSet { mtu: Some(1400), ..DevSet::new(DevSelector::Id(7)) }).unwrap();
    // The kernel may announce other changes meanwhile (link states
    // settling): look for this one.
    monitor.set_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    loop {
        let notifications = monitor.recv().expect("the change is announced in time");
        let message = notifications[0].1.message();
        assert_eq!(message.header.ty, sim.family_id);
        assert_eq!(message.header.seq, 0, "notifications carry seq 0");
        assert_eq!(message.genl_header().unwrap().cmd, simdev_protocol::simdev::cmd::DEV_CHANGE_NTF);
        let Some(genl_client::simdev::Event::DevChange { dev }) =
            genl_client::simdev::Event::decode(&notifications[0].1).unwrap()
        else {
            panic!("a dev-change-ntf")
        };
        if (dev.id, dev.ports[0].mtu) == (7, 1400) {
            break;
        }
    }
}

#[test]
fn the_cli_changes_the_real_device() {
    let sim = Simulator::start(LAB);
    let out = sim.cli(&["dev", "set", "lab0", "mtu", "9000"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sim.kernel_link("lab0p1")["mtu"], 9000);

    let out = sim.cli(&["-j", "dev", "show", "lab0"]);
    let dev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dev["port"][1]["mtu"], 9000, "the spec's names: {dev}");
    assert_eq!(dev["port"][1]["ifname"], "lab0p1");
    assert_eq!((&dev["dev-name"], &dev["port"][1]["oper-state"]), (&"lab0".into(), &"up".into()));

    let out = sim.cli(&["dev", "list"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("lab0: id 1 backend veth") && text.contains("lab1: id 7"), "{text}");

    let out = sim.cli(&["dev", "set", "lab0", "mtu", "20"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("ERANGE") && stderr.contains("integer out of range") && stderr.contains("[attribute: mtu]"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // -j: the failure is one JSON object, with the policy's bounds.
    let out = sim.cli(&["-j", "dev", "set", "lab0", "mtu", "20"]);
    assert_eq!(out.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        error,
        serde_json::json!({"error": {
            "errno": "ERANGE", "code": 34, "description": "Numerical result out of range",
            "message": "integer out of range", "attribute": "mtu",
            "policy": {"min-value": 68, "max-value": 65535, "type": "u32"}
        }})
    );
    // A usage error: exit status 2, and --help says so.
    let out = sim.cli(&["dev", "set"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = sim.cli(&["--family", "nosuch", "--do", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no built-in spec for `nosuch`"));
    let help = String::from_utf8(sim.cli(&["--help"]).stdout).unwrap();
    assert!(help.contains("2 on a usage error"), "{help}");
}

#[test]
fn sigterm_tears_the_hardware_down() {
    let mut sim = Simulator::start(LAB);
    assert!(sim.kernel_link_names().contains(&"lab0p0".to_string()));
    let holder = sim.netns.clone();
    let status = sim.stop();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    assert!(!std::path::Path::new(&holder).exists(), "the namespace holder is gone");
}

/// `dev add` answers once its ports' link state settled, as startup waits:
/// right after the answer, the kernel has them up with carrier.
#[test]
fn dev_add_answers_with_its_ports_up_and_carrying() {
    let sim = Simulator::start(LAB);
    for round in 0..3 {
        let name = format!("da{round}");
        let out = sim.cli(&["-j", "dev", "add", &name, "ports", "2"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for index in 0..2 {
            let link = sim.kernel_link(&format!("{name}p{index}"));
            assert_eq!(link["operstate"], "UP", "{link}");
            assert!(simdev_tests::has_flag(&link, "LOWER_UP"), "{link}");
            assert_eq!(reply["port"][index]["oper-state"], "up", "the answer says so too: {reply}");
        }
    }
}
