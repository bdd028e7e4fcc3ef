//! simdev's `subscribe` extension: notifications unicast to a socket that
//! asked, for users who may not join `NETLINK_USERSOCK` groups. The CLI
//! tests run as whoever runs the suite (root joins the groups; `tests/run`
//! runs them again as nobody, who gets them by unicast); the protocol tests
//! send `subscribe` themselves, so they take the unicast path as root too.

use simdev_netlink::client::Client;
use simdev_protocol::extack::decode_status;
use simdev_protocol::simdev::{cmd, dev_attr, DevSelector, FaultInfo, FAMILY_VERSION};
use simdev_protocol::wire::{split_messages, MessageBuilder, NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST};
use simdev_tests::{Background, RawSocket, Simulator};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

const BOARD: &str = r#"
[[device]]
name = "u0"
ports = 1

[device.firmware]
version = "1.0"
flash_duration_ms = 300

[[device.sensor]]
name = "temp"
kind = "temperature"
unit = "mC"
value = 40000
min = -40000
max = 125000
"#;

fn u0() -> DevSelector {
    DevSelector::Name("u0".into())
}

fn cli(sim: &Simulator, args: &[&str]) -> std::process::Output {
    Command::new(simdev_tests::bin("genl-client")).arg("--port").arg(sim.port.to_string()).args(args).output().unwrap()
}

/// A subscription ends with its socket: monitors that exit are no longer
/// counted (nor sent to) even if nothing was announced since.
#[test]
fn subscribers_that_exit_are_forgotten() {
    let sim = Simulator::start(BOARD);
    let monitor = || {
        Background(
            Command::new(simdev_tests::bin("genl-client"))
                .args(["--port", &sim.port.to_string(), "monitor", "config"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let (first, second) = (monitor(), monitor());
    sim.wait_for_subscribers(2);
    drop((first, second)); // killed and reaped
    let subscribers = || sim.simdev().stats(&u0()).unwrap().server.subscribers;
    simdev_tests::eventually("no subscribers left", || subscribers() == 0);
}

/// `genl-client monitor` prints device and sensor events for any user.
#[test]
fn monitor_prints_device_and_sensor_events() {
    let sim = Simulator::start(BOARD);
    let mut monitor = Background(
        Command::new(simdev_tests::bin("genl-client"))
            .args(["--port", &sim.port.to_string(), "monitor", "-t", "config", "events"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = monitor.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The monitor subscribes a moment after it starts: change until it reports.
    let mut client = sim.simdev();
    let mut value = 0;
    let first = loop {
        value += 1;
        assert!(value < 100, "the monitor printed nothing");
        client.sensor_set(&u0(), "temp", value).unwrap();
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            break line;
        }
    };
    assert!(first.starts_with("Timestamp: ") && first.ends_with(" usec"), "-t as ip monitor -t: {first}");
    assert!(cli(&sim, &["dev", "set", "u0", "mtu", "1300"]).status.success());
    let lines: Vec<String> = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(5)).ok())
        .take_while(|l| !l.contains("mtu 1300"))
        .collect();
    assert!(lines.iter().any(|l| l.starts_with("[events] sensor u0 temp reading:")), "{lines:?}");
}

/// `genl-client fw flash` shows the progress to 100 % and the result for
/// any user; a failed flash exits 1 with its errno.
#[test]
fn fw_flash_shows_progress_to_the_end_and_the_errno_of_a_failure() {
    let sim = Simulator::start(BOARD);
    let out = cli(&sim, &["fw", "flash", "u0", "2.0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.iter().any(|l| l.contains(" 50% (")), "percentages: {text}");
    assert_eq!(lines.last().copied(), Some("fw flash u0: Flashing done 100% (100/100)"), "{text}");

    let fault = FaultInfo { command: "fw-flash".into(), fail_at: Some(30), errno: 5, ..Default::default() };
    sim.simdev().fault_set(&u0(), &fault).unwrap();
    let out = cli(&sim, &["fw", "flash", "u0", "3.0"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("EIO") && stderr.contains("flash of 3.0 failed"), "{stderr}");
    let progress = String::from_utf8_lossy(&out.stdout);
    assert!(progress.contains(" 20% ("), "progress up to the failure: {progress}");
    // The percentage once, as devlink prints a failed flash's last status.
    assert_eq!(progress.lines().last(), Some("fw flash u0: Flashing failed 30% (30/100)"), "{progress}");
}

/// Sends `subscribe` (or `unsubscribe`) for `groups` on `client`'s socket;
/// returns the answer's errno (0: ACK) and extended-ACK message.
fn request(client: &mut Client, family: u16, command: u8, groups: &[u32]) -> (i32, Option<String>) {
    let mut request = client.new_request(family, command, FAMILY_VERSION, NLM_F_ACK);
    for &group in groups {
        request.put_u32(dev_attr::MCAST_GROUP, group);
    }
    let bytes = request.finish();
    let seq = simdev_protocol::wire::NlHeader::parse(&bytes).unwrap().seq;
    client.send_raw(&bytes).unwrap();
    loop {
        for reply in client.recv_raw().unwrap() {
            let message = reply.message();
            if message.header.ty == NLMSG_ERROR && message.header.seq == seq {
                let status = decode_status(&message).unwrap();
                return (status.error, status.message);
            }
        }
    }
}

/// The notifications (their genl commands) that reach `client`'s socket
/// within `wait`.
fn notifications(client: &mut Client, wait: Duration) -> Vec<u8> {
    client.set_recv_timeout(wait).unwrap();
    let mut commands = Vec::new();
    while let Ok(replies) = client.recv_raw() {
        for reply in replies {
            for message in split_messages(&reply.bytes).filter(|m| m.header.seq == 0) {
                commands.push(message.genl_header().unwrap().cmd);
            }
        }
    }
    commands
}

#[test]
fn subscribe_unicasts_a_groups_notifications_until_unsubscribe() {
    let sim = Simulator::start(BOARD);
    let mut admin = sim.simdev();
    let family = admin.family().clone();
    let events = family.group_id("events").unwrap();
    let config = family.group_id("config").unwrap();
    let mut watcher = sim.client();
    assert_eq!(request(&mut watcher, family.id, cmd::SUBSCRIBE, &[events]), (0, None));

    admin.sensor_set(&u0(), "temp", 1000).unwrap();
    admin
        .dev_set(&simdev_protocol::simdev::DevSet { mtu: Some(1400), ..simdev_protocol::simdev::DevSet::new(u0()) })
        .unwrap();
    let got = notifications(&mut watcher, Duration::from_millis(300));
    assert!(got.contains(&cmd::SENSOR_CHANGE_NTF), "the events group's notification: {got:?}");
    assert!(!got.contains(&cmd::DEV_CHANGE_NTF), "not the config group's: {got:?}");

    assert_eq!(request(&mut watcher, family.id, cmd::SUBSCRIBE, &[config]), (0, None), "groups add up");
    assert_eq!(request(&mut watcher, family.id, cmd::UNSUBSCRIBE, &[events]), (0, None));
    admin.sensor_set(&u0(), "temp", 2000).unwrap();
    admin
        .dev_set(&simdev_protocol::simdev::DevSet { mtu: Some(1500), ..simdev_protocol::simdev::DevSet::new(u0()) })
        .unwrap();
    let got = notifications(&mut watcher, Duration::from_millis(300));
    assert_eq!(got, [cmd::DEV_CHANGE_NTF], "config only, now");

    assert_eq!(request(&mut watcher, family.id, cmd::UNSUBSCRIBE, &[]), (0, None), "none: all");
    admin
        .dev_set(&simdev_protocol::simdev::DevSet { mtu: Some(1400), ..simdev_protocol::simdev::DevSet::new(u0()) })
        .unwrap();
    assert_eq!(notifications(&mut watcher, Duration::from_millis(300)), Vec::<u8>::new());
}

#[test]
fn subscribing_to_a_group_simdev_does_not_have_is_refused() {
    let sim = Simulator::start(BOARD);
    let family = sim.simdev().family().clone();
    let mut client = sim.client();
    let (errno, message) = request(&mut client, family.id, cmd::SUBSCRIBE, &[31]);
    assert_eq!(errno, -libc::EINVAL);
    assert!(message.unwrap().starts_with("the simulator has no multicast group 31 (its groups: "));
    let (errno, message) = request(&mut client, family.id, cmd::SUBSCRIBE, &[]);
    assert_eq!((errno, message.as_deref()), (-libc::EINVAL, Some("missing attribute: mcast-group")));
}

/// A subscriber that never reads loses notifications (counted), and
/// nobody else waits for it.
#[test]
fn a_subscriber_that_does_not_read_loses_notifications_and_stalls_nobody() {
    let sim = Simulator::start(BOARD);
    let mut admin = sim.simdev();
    let family = admin.family().clone();
    // The smallest receive buffer the kernel allows; it asks (the ACK fits)
    // and never reads again.
    let sleeper = RawSocket::usersock(1);
    let mut subscribe =
        MessageBuilder::genl(family.id, NLM_F_REQUEST | NLM_F_ACK, 1, 0, cmd::SUBSCRIBE, FAMILY_VERSION);
    subscribe.put_u32(dev_attr::MCAST_GROUP, family.group_id("events").unwrap());
    sleeper.send_to(sim.port, &subscribe.finish());
    // More than its queue in the simulator (128 KiB) holds.
    for value in 0..2000 {
        admin.sensor_set(&u0(), "temp", value).unwrap();
    }
    let stats = admin.stats(&u0()).unwrap();
    assert!(stats.server.answers_dropped > 0, "dropped and counted: {:?}", stats.server);
    assert!(sleeper.receive_one(Duration::from_millis(100)).is_some(), "what fitted arrived");
}

/// The kernel's order: a doit sends its notification before its ACK, so a
/// socket listening to the group of a change it makes reads the
/// notification first (YNL's `do()` relies on it to return the
/// notifications its request caused). Through simdev's unicast
/// subscription, as any user.
#[test]
fn a_subscriber_reads_its_own_changes_notification_before_its_ack() {
    use simdev_protocol::simdev::{cmd, dev_attr, FAMILY_VERSION};
    use simdev_protocol::wire::{MessageBuilder, NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST};
    let sim = simdev_tests::Simulator::start(BOARD);
    let config = sim.simdev().family().group_id("config").expect("the config group");
    let mut client = sim.client();
    let request = |seq: u32, command: u8, build: &dyn Fn(&mut MessageBuilder)| {
        let mut m = MessageBuilder::genl(sim.family_id, NLM_F_REQUEST | NLM_F_ACK, seq, 0, command, FAMILY_VERSION);
        build(&mut m);
        m.finish()
    };
    // (type, genl command, seq) of each message, in the order they arrive,
    // until the ACK of `seq`.
    let until_ack = |client: &mut simdev_netlink::client::Client, seq: u32| {
        let mut seen = Vec::new();
        loop {
            for reply in client.recv_raw().unwrap() {
                let message = reply.message();
                let command = (message.header.ty == sim.family_id).then(|| message.genl_header().unwrap().cmd);
                seen.push((message.header.ty, command, message.header.seq));
                if message.header.ty == NLMSG_ERROR && message.header.seq == seq {
                    return seen;
                }
            }
        }
    };
    client
        .send_raw(&request(1, cmd::SUBSCRIBE, &|m| {
            m.put_u32(dev_attr::MCAST_GROUP, config);
        }))
        .unwrap();
    assert_eq!(until_ack(&mut client, 1), [(NLMSG_ERROR, None, 1)]);
    let set_mtu = |m: &mut MessageBuilder| {
        m.put_str(dev_attr::DEV_NAME, "u0").put_u32(dev_attr::MTU, 1400);
    };
    client.send_raw(&request(2, cmd::DEV_SET, &set_mtu)).unwrap();
    let family = sim.family_id;
    assert_eq!(
        until_ack(&mut client, 2),
        [(family, Some(cmd::DEV_CHANGE_NTF), 0), (NLMSG_ERROR, None, 2)],
        "the notification (seq 0, as devlink's and netdev's), then the ACK"
    );
    // Two changes in one datagram: each request's notification before its own ACK.
    let both = [
        request(3, cmd::DEV_SET, &set_mtu),
        request(4, cmd::PORT_FLAP, &|m| {
            m.put_str(dev_attr::DEV_NAME, "u0").put_u32(dev_attr::PORT_INDEX, 0).put_u32(dev_attr::FLAP_MS, 50);
        }),
    ]
    .concat();
    client.send_raw(&both).unwrap();
    let mut seen = until_ack(&mut client, 3);
    seen.extend(until_ack(&mut client, 4));
    assert_eq!(
        seen,
        [
            (family, Some(cmd::DEV_CHANGE_NTF), 0),
            (NLMSG_ERROR, None, 3),
            (family, Some(cmd::DEV_CHANGE_NTF), 0),
            (NLMSG_ERROR, None, 4)
        ]
    );
}

/// The same order for a group member (root: only `CAP_NET_ADMIN` joins
/// `NETLINK_USERSOCK` groups): the broadcast goes out before the ACK.
#[test]
fn a_group_member_reads_its_own_changes_notification_before_its_ack() {
    if !simdev_tests::is_root() {
        simdev_tests::skip("joining a NETLINK_USERSOCK group needs root");
        return;
    }
    let sim = simdev_tests::Simulator::start(BOARD);
    let config = sim.simdev().family().group_id("config").expect("the config group");
    let socket = RawSocket::usersock(1 << 20);
    socket.join(config).expect("root joins");
    let mut request =
        MessageBuilder::genl(sim.family_id, NLM_F_REQUEST | NLM_F_ACK, 7, 0, cmd::DEV_SET, FAMILY_VERSION);
    request.put_str(dev_attr::DEV_NAME, "u0").put_u32(dev_attr::MTU, 1300);
    socket.send_to(sim.port, &request.finish());
    // Every simulator multicasts on these groups: only this one's
    // notifications (its namespace path) count.
    let mut seen = Vec::new();
    while seen.last() != Some(&"ack") {
        let datagram = socket.receive_one(Duration::from_secs(10)).expect("the answer in time");
        for message in split_messages(&datagram) {
            if message.header.ty == NLMSG_ERROR && message.header.seq == 7 {
                seen.push("ack");
            } else if message.header.ty == sim.family_id
                && message.genl_attrs(0).get(dev_attr::NETNS).and_then(|a| a.string()) == Some(sim.netns.as_str())
            {
                seen.push("ntf");
            }
        }
    }
    assert_eq!(seen, ["ntf", "ack"]);
}
