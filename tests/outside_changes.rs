//! Changes made behind the simulator's back, with `ip link` in its
//! namespace: they show in `dev list` at once and are announced like the
//! simulator's own; a netdev deleted outside leaves its device listed with
//! the port missing (never a failed dump), `dev reset` makes it again; a
//! rename is followed.

use genl_client::simdev::{Event, PortSet, SimdevClient};
use nix::errno::Errno;
use simdev_netlink::client::Subscription;
use simdev_protocol::simdev::{DevInfo, DevSelector, DevSet, OperState, GROUP_CONFIG};
use simdev_protocol::wire::{split_messages, MessageBuilder, NLMSG_DONE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST};
use simdev_tests::{eventually, has_flag, RawSocket, Simulator};
use std::time::Duration;

const TWO: &str = "[[device]]\nname = \"oc0\"\nports = 2\n[[device]]\nname = \"oc1\"\n";

fn dev(name: &str) -> DevSelector {
    DevSelector::Name(name.into())
}

fn ip(sim: &Simulator, args: &[&str]) {
    let out = sim.in_netns("ip", args);
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A subscription to `config` (by unicast, as genl-client subscribes).
fn watch_config(client: &SimdevClient) -> Subscription {
    let subscription = client.subscribe(&[GROUP_CONFIG]).expect("subscribe");
    subscription.set_timeout(Some(Duration::from_secs(10))).unwrap();
    subscription
}

/// The next `dev-change-ntf` of device `name` that `wanted` accepts.
fn announced(events: &mut Subscription, name: &str, wanted: impl Fn(&DevInfo) -> bool) -> DevInfo {
    loop {
        for (_, reply) in events.recv().expect("a notification in time") {
            if let Some(Event::DevChange { dev }) = Event::decode(&reply).unwrap() {
                if dev.name == name && wanted(&dev) {
                    return dev;
                }
            }
        }
    }
}

#[test]
fn an_mtu_set_with_ip_link_shows_at_once_and_is_announced() {
    let sim = Simulator::start(TWO);
    let mut client = sim.simdev();
    let mut events = watch_config(&client);
    ip(&sim, &["link", "set", "oc0p1", "mtu", "9000"]);
    eventually("dev show has the new MTU", || client.dev_get(&dev("oc0")).unwrap().ports[1].mtu == 9000);
    assert_eq!(client.dev_get(&dev("oc0")).unwrap().ports[0].mtu, 1500, "the other port is unchanged");
    let announced = announced(&mut events, "oc0", |d| d.ports[1].mtu == 9000);
    assert_eq!(announced.ports[0].mtu, 1500);
}

#[test]
fn a_netdev_deleted_outside_leaves_its_device_listed_with_the_port_missing_until_reset() {
    let sim = Simulator::start(TWO);
    let mut client = sim.simdev();
    let mut events = watch_config(&client);
    ip(&sim, &["link", "del", "oc0p1"]);
    eventually("the port shows as missing", || client.dev_get(&dev("oc0")).unwrap().ports[1].missing);

    let devices = client.dev_list().expect("the dump does not fail as a whole");
    assert_eq!(devices.len(), 2);
    let oc0 = &devices[0];
    assert_eq!((oc0.ports[1].oper_state, oc0.ports[1].ifname.as_str()), (OperState::NOTPRESENT, "oc0p1"));
    assert!(!oc0.ports[0].missing && oc0.ports[0].up, "the other port is fine");
    assert!(devices[1].ports.iter().all(|p| !p.missing), "oc1 is healthy");
    announced(&mut events, "oc0", |d| d.ports[1].missing);
    let out = sim.cli(&["dev", "show", "oc0"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing"), "{}", String::from_utf8_lossy(&out.stdout));

    // Changes to it are refused clearly; others still work.
    let err = client.port_set(&dev("oc0"), 1, &PortSet { mtu: Some(1400), ..Default::default() }).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ENODEV), "{err}");
    assert!(err.to_string().contains("oc0p1 was deleted outside simdev"), "{err}");
    let err = client.dev_set(&DevSet { mtu: Some(1400), ..DevSet::new(dev("oc0")) }).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ENODEV));
    assert_eq!(sim.kernel_link("oc0p0")["mtu"], 1500, "all or nothing: port 0 was left as it was");
    assert_eq!(client.stats(&dev("oc0")).unwrap().ports.len(), 1, "counters of the port that is there");

    client.dev_reset(&dev("oc0")).unwrap();
    let port = client.dev_get(&dev("oc0")).unwrap().ports.remove(1);
    assert!(!port.missing);
    let link = sim.kernel_link("oc0p1");
    assert_eq!(link["ifindex"].as_u64(), Some(u64::from(port.ifindex)), "made again, with a new ifindex");
    assert!(link["ifalias"].as_str().unwrap().starts_with("simdev driver-sim pid"), "and marked as ours");
    eventually("the remade port has carrier", || has_flag(&sim.kernel_link("oc0p1"), "LOWER_UP"));
}

#[test]
fn a_netdev_renamed_outside_is_followed() {
    let sim = Simulator::start(TWO);
    let mut client = sim.simdev();
    ip(&sim, &["link", "set", "oc1p0", "down"]);
    ip(&sim, &["link", "set", "oc1p0", "name", "uplink7"]);
    eventually("dev show has the new name", || client.dev_get(&dev("oc1")).unwrap().ports[0].ifname == "uplink7");
    client.port_set(&dev("oc1"), 0, &PortSet { mtu: Some(1300), up: Some(true), ..Default::default() }).unwrap();
    assert_eq!(sim.kernel_link("uplink7")["mtu"], 1300, "the simulator drives it by ifindex, whatever its name");
}

/// A device whose netdevs all went can still be removed; the removal is
/// announced, and only then.
#[test]
fn a_device_whose_netdevs_were_deleted_outside_can_be_removed() {
    let sim = Simulator::start(TWO);
    let mut client = sim.simdev();
    let mut events = watch_config(&client);
    ip(&sim, &["link", "del", "oc0p0"]);
    ip(&sim, &["link", "del", "oc0p1"]);
    eventually("both ports show as missing", || client.dev_get(&dev("oc0")).unwrap().ports.iter().all(|p| p.missing));
    client.dev_del(&dev("oc0")).unwrap();
    assert_eq!(client.dev_list().unwrap().len(), 1);
    loop {
        let notifications = events.recv().expect("the removal is announced");
        if notifications.iter().any(|(_, r)| matches!(Event::decode(r), Ok(Some(Event::DevDel { .. })))) {
            break;
        }
    }
}

/// A dump that sees an outside change made while it runs is flagged.
#[test]
fn a_dump_running_while_ip_link_changes_a_port_is_flagged_interrupted() {
    let sim = Simulator::start(
        "[[device]]\nname = \"di0\"\n[[device]]\nname = \"bulk\"\nbackend = \"model\"\ncount = 2000\n",
    );
    let socket = RawSocket::usersock(1);
    let request = MessageBuilder::genl(sim.family_id, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, 1, 1).finish();
    socket.send_to(sim.port, &request);
    let first = socket.receive_one(Duration::from_secs(5)).expect("the first buffer");
    assert!(split_messages(&first).all(|m| m.header.flags & NLM_F_DUMP_INTR == 0));
    ip(&sim, &["link", "set", "di0p0", "mtu", "2000"]);
    let mut client = sim.simdev();
    eventually("the simulator saw the change", || client.dev_get(&dev("di0")).unwrap().ports[0].mtu == 2000);
    let (rest, _) = socket.receive_all(Duration::from_millis(500));
    let last = split_messages(rest.last().expect("more buffers")).last().unwrap().header;
    assert_eq!(last.ty, NLMSG_DONE);
    assert!(last.flags & NLM_F_DUMP_INTR != 0, "the dump says its data changed");
}
