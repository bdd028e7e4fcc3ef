//! The simulated hardware: traffic, carrier, registers, sensors, firmware
//! flash, faults, hot-plug, statistics; each checked in the kernel where the
//! kernel has a say, and through notifications (by unicast, as genl-client
//! subscribes; one test joins a group as a kernel client would).

use genl_client::simdev::{Event, FwImage, PortSet, SimdevClient};
use nix::errno::Errno;
use simdev_netlink::client::Subscription;
use simdev_netlink::error::Error;
use simdev_protocol::simdev::{DevSelector, FaultInfo, GROUP_CONFIG, GROUP_EVENTS, GROUP_FW};
use simdev_tests::{bin, eventually, has_flag, is_root, skip, Simulator};
use std::time::{Duration, Instant};

const BOARD: &str = r#"
[[device]]
name = "hw0"
ports = 2

[device.firmware]
version = "1.0.0"
flash_duration_ms = 400

[[device.register]]
name = "ctrl"
offset = 0
reset = 0x1

[[device.register]]
name = "chip_id"
offset = 4
access = "ro"
reset = 0xc0de

[[device.register]]
name = "doorbell"
offset = 8
width = 16
access = "wo"

[[device.register]]
name = "irq"
offset = 12
width = 8
access = "w1c"
reset = 0x0f

[[device.register]]
name = "link"
offset = 16
width = 8
access = "ro"
reflects = "carrier"

[[device.sensor]]
name = "temp"
kind = "temperature"
unit = "mC"
value = 40000
min = -40000
max = 125000
alarm_high = 90000
"#;

fn hw0() -> DevSelector {
    DevSelector::Name("hw0".into())
}

/// Subscribes to `groups` (by unicast: `subscribe`).
fn subscribe(client: &SimdevClient, groups: &[&str]) -> Subscription {
    let subscription = client.subscribe(groups).expect("subscribe");
    subscription.set_timeout(Some(Duration::from_secs(10))).unwrap();
    subscription
}

/// The next notification of device `dev` that `pick` accepts.
fn next_event<T>(subscription: &mut Subscription, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    loop {
        for (_, reply) in subscription.recv().expect("a notification in time") {
            if let Some(found) = Event::decode(&reply).unwrap().and_then(&mut pick) {
                return found;
            }
        }
    }
}

/// A netdev's packet counter (`rx` or `tx`) as the kernel reports it.
fn kernel_counter(sim: &Simulator, ifname: &str, direction: &str) -> u64 {
    let out = sim.in_netns("ip", &["-s", "-j", "link", "show", ifname]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let links: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    links[0]["stats64"][direction]["packets"].as_u64().unwrap_or_else(|| panic!("{links}"))
}

#[test]
fn frames_cross_from_a_port_to_its_cable_and_counters_grow() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let before = client.stats(&hw0()).unwrap().ports[0].tx_packets;
    let probe = bin("frame-probe").display().to_string();
    let out = sim.in_netns(&probe, &["hw0p0", "hw0p0-peer", "5"]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let out = sim.in_netns(&probe, &["hw0p1-peer", "hw0p1", "3"]);
    assert!(out.status.success(), "the other way, on the other port");
    // The kernel's counters first (`ip -s -j link`), then the simulator's word for them.
    let kernel_tx = kernel_counter(&sim, "hw0p0", "tx");
    let kernel_rx = kernel_counter(&sim, "hw0p1", "rx");
    assert!(kernel_tx >= before + 5, "the kernel counted port 0's frames: {kernel_tx}");
    assert!(kernel_rx >= 3, "the kernel counted port 1's frames: {kernel_rx}");
    let stats = client.stats(&hw0()).unwrap();
    assert!(stats.ports[0].tx_packets >= kernel_tx, "stats agree with the kernel: {:?}", stats.ports[0]);
    assert!(stats.ports[1].rx_packets >= kernel_rx, "stats agree with the kernel: {:?}", stats.ports[1]);
    // A port that is down carries nothing.
    client.port_set(&hw0(), 0, &PortSet { up: Some(false), ..Default::default() }).unwrap();
    assert!(!sim.in_netns(&probe, &["hw0p0-peer", "hw0p0", "1"]).status.success());
}

#[test]
fn carrier_off_and_on_show_in_the_kernel_and_are_announced() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let mut events = subscribe(&client, &[GROUP_CONFIG]);
    assert!(has_flag(&sim.kernel_link("hw0p1"), "LOWER_UP"));
    assert_eq!(client.reg_read(&hw0(), "link").unwrap().value, Some(0b11), "link bits follow carrier");

    client.port_set(&hw0(), 1, &PortSet { carrier: Some(false), ..Default::default() }).unwrap();
    let link = sim.kernel_link("hw0p1");
    assert!(has_flag(&link, "NO-CARRIER") && !has_flag(&link, "LOWER_UP"), "{link}");
    assert_eq!(link["operstate"], "LOWERLAYERDOWN");
    assert!(has_flag(&sim.kernel_link("hw0p0"), "LOWER_UP"), "the other port keeps its cable");
    assert_eq!(client.reg_read(&hw0(), "link").unwrap().value, Some(0b01));
    let dev = next_event(&mut events, |e| match e {
        Event::DevChange { dev } if !dev.ports[1].carrier => Some(dev),
        _ => None,
    });
    assert!(dev.ports[0].carrier, "only port 1 lost its carrier");

    client.port_set(&hw0(), 1, &PortSet { carrier: Some(true), ..Default::default() }).unwrap();
    eventually("the kernel shows the carrier back", || has_flag(&sim.kernel_link("hw0p1"), "LOWER_UP"));
    next_event(&mut events, |e| match e {
        Event::DevChange { dev } if dev.ports[1].carrier => Some(dev),
        _ => None,
    });
}

#[test]
fn registers_follow_their_access_rules_and_reset() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let errno_of = |e: Error| e.errno().unwrap();
    assert_eq!(client.reg_read(&hw0(), "ctrl").unwrap().value, Some(1), "reset value");
    client.reg_write(&hw0(), "ctrl", 0xabcd).unwrap();
    assert_eq!(client.reg_read(&hw0(), "ctrl").unwrap().value, Some(0xabcd));

    let err = client.reg_write(&hw0(), "chip_id", 1).unwrap_err();
    assert!(err.to_string().contains("register chip_id is read-only [attribute: reg-name]"), "{err}");
    assert_eq!(errno_of(err), Errno::EACCES);
    assert_eq!(client.reg_read(&hw0(), "chip_id").unwrap().value, Some(0xc0de));

    client.reg_write(&hw0(), "doorbell", 0x55).unwrap();
    assert_eq!(errno_of(client.reg_read(&hw0(), "doorbell").unwrap_err()), Errno::EACCES, "write-only");
    assert_eq!(errno_of(client.reg_write(&hw0(), "doorbell", 0x1_0000).unwrap_err()), Errno::ERANGE, "16 bits");

    client.reg_write(&hw0(), "irq", 0b0101).unwrap();
    assert_eq!(client.reg_read(&hw0(), "irq").unwrap().value, Some(0b1010), "w1c clears the ones written");
    assert_eq!(errno_of(client.reg_read(&hw0(), "nosuch").unwrap_err()), Errno::ENOENT);

    let listed = client.reg_list(Some(&hw0())).unwrap();
    let names: Vec<&str> = listed.iter().flat_map(|s| s.items.iter().map(|r| r.name.as_str())).collect();
    assert_eq!(names, ["ctrl", "chip_id", "doorbell", "irq", "link"]);
    assert!(listed.iter().flat_map(|s| &s.items).find(|r| r.name == "doorbell").unwrap().value.is_none());

    client.dev_reset(&hw0()).unwrap();
    assert_eq!(client.reg_read(&hw0(), "ctrl").unwrap().value, Some(1));
    assert_eq!(client.reg_read(&hw0(), "irq").unwrap().value, Some(0x0f));
    // The reset flaps the ports: carrier drops, then comes back.
    eventually("the carrier is back after the reset flap", || has_flag(&sim.kernel_link("hw0p0"), "LOWER_UP"));
}

#[test]
fn sensor_readings_are_injected_and_threshold_crossings_announced() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let mut events = subscribe(&client, &[GROUP_EVENTS]);
    client.sensor_set(&hw0(), "temp", 95000).unwrap();
    let temp = client.sensor_get(&hw0(), "temp").unwrap();
    assert_eq!((temp.value, temp.alarm), (95000, true));
    let alarm = next_event(&mut events, |e| match e {
        Event::SensorAlarm { sensors } => Some(sensors.items[0].clone()),
        _ => None,
    });
    assert!(alarm.alarm && alarm.value == 95000);
    client.sensor_set(&hw0(), "temp", 50000).unwrap();
    let cleared = next_event(&mut events, |e| match e {
        Event::SensorAlarm { sensors } => Some(sensors.items[0].clone()),
        _ => None,
    });
    assert!(!cleared.alarm, "crossing back clears the alarm");
    let err = client.sensor_set(&hw0(), "temp", 200000).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ERANGE));
    assert!(err.to_string().contains("[attribute: sensor-value]"), "{err}");
    assert_eq!(client.sensor_get(&hw0(), "temp").unwrap().value, 50000);
}

#[test]
fn a_flash_reports_ordered_progress_and_other_commands_are_served_meanwhile() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let mut events = subscribe(&client, &[GROUP_FW]);
    client.fw_flash(&hw0(), &FwImage::Version("2.0.0".into())).unwrap();
    // The flash runs on; the simulator answers others meanwhile.
    let fw = client.fw_show(&hw0()).unwrap().items.remove(0);
    assert!(fw.flashing && fw.version == "1.0.0" && fw.pending_version.as_deref() == Some("2.0.0"), "{fw:?}");
    assert_eq!(client.dev_get(&hw0()).unwrap().name, "hw0");
    assert_eq!(client.fw_flash(&hw0(), &FwImage::Version("3.0.0".into())).unwrap_err().errno(), Some(Errno::EBUSY));
    let mut statuses = Vec::new();
    while statuses.last().is_none_or(|s: &simdev_protocol::simdev::FwStatus| !s.finished) {
        statuses.push(next_event(&mut events, |e| match e {
            Event::FwStatus { status } => Some(status.items[0].clone()),
            _ => None,
        }));
    }
    assert_eq!(statuses[0].message, "Preparing to flash");
    assert!(statuses.windows(2).all(|w| w[0].done <= w[1].done), "progress only grows");
    let last = statuses.last().unwrap();
    assert_eq!((last.message.as_str(), last.error, last.done, last.total), ("Flashing done", 0, 100, 100));
    eventually("the flash finishes", || !client.fw_show(&hw0()).unwrap().items[0].flashing);
    assert_eq!(client.fw_show(&hw0()).unwrap().items[0].version, "2.0.0");
}

#[test]
fn a_flash_with_an_injected_failure_keeps_the_old_version() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let fault = FaultInfo { command: "fw-flash".into(), fail_at: Some(50), count: Some(1), ..Default::default() };
    client.fault_set(&hw0(), &fault).unwrap();
    let mut events = subscribe(&client, &[GROUP_FW]);
    client.fw_flash(&hw0(), &FwImage::Version("2.0.0".into())).unwrap();
    let last = next_event(&mut events, |e| match e {
        Event::FwStatus { status } if status.items[0].finished => Some(status.items[0].clone()),
        _ => None,
    });
    assert_eq!((last.error, last.done), (Errno::EIO as u32, 50));
    eventually("the flash ends", || !client.fw_show(&hw0()).unwrap().items[0].flashing);
    assert_eq!(client.fw_show(&hw0()).unwrap().items[0].version, "1.0.0");
    // The fault was for one flash: the next one succeeds.
    client.fw_flash(&hw0(), &FwImage::Version("2.0.0".into())).unwrap();
    eventually("the second flash ends", || !client.fw_show(&hw0()).unwrap().items[0].flashing);
    assert_eq!(client.fw_show(&hw0()).unwrap().items[0].version, "2.0.0");

    // The CLI exits non-zero when its flash fails.
    let fault = FaultInfo { command: "fw-flash".into(), fail_at: Some(30), ..Default::default() };
    client.fault_set(&hw0(), &fault).unwrap();
    let out = sim.cli(&["fw", "flash", "hw0", "4.0.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("flash of 4.0.0 failed"));
}

#[test]
fn a_counted_fault_fails_exactly_that_many_commands() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let fault =
        FaultInfo { command: "reg-set".into(), errno: Errno::EBUSY as u32, count: Some(2), ..Default::default() };
    client.fault_set(&hw0(), &fault).unwrap();
    assert!(client.reg_read(&hw0(), "ctrl").is_ok(), "other commands are unaffected");
    for _ in 0..2 {
        let err = client.reg_write(&hw0(), "ctrl", 7).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::EBUSY));
        assert!(err.to_string().contains("injected fault"), "{err}");
    }
    assert_eq!(client.reg_read(&hw0(), "ctrl").unwrap().value, Some(1), "failed writes changed nothing");
    client.reg_write(&hw0(), "ctrl", 7).unwrap();
    assert_eq!(client.reg_read(&hw0(), "ctrl").unwrap().value, Some(7));
    let faults = client.fault_list(&hw0()).unwrap().items;
    assert_eq!((faults[0].fired, faults[0].count), (2, Some(0)));
    let stats = client.stats(&hw0()).unwrap().driver;
    assert_eq!((stats.faults_fired, stats.errors), (2, 2));
    client.fault_clear(&hw0(), None).unwrap();
    assert!(client.fault_list(&hw0()).unwrap().items.is_empty());
}

#[test]
fn a_latency_fault_delays_only_its_command() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let delay = Duration::from_millis(300);
    let fault = FaultInfo { command: "dev-get".into(), delay_ms: 300, ..Default::default() };
    client.fault_set(&hw0(), &fault).unwrap();
    // Send dev-get then fw-get without waiting: the fw-get answer overtakes.
    let slow = client.request(simdev_protocol::simdev::cmd::DEV_GET, |m| hw0().encode(m)).finish();
    let fast = client.request(simdev_protocol::simdev::cmd::FW_GET, |m| hw0().encode(m)).finish();
    let (slow_seq, fast_seq) = (seq_of(&slow), seq_of(&fast));
    let raw = client.client();
    let started = Instant::now();
    raw.send_raw(&slow).unwrap();
    raw.send_raw(&fast).unwrap();
    let mut order = Vec::new();
    while order.len() < 2 {
        for reply in raw.recv_raw().unwrap() {
            order.push((reply.message().header.seq, started.elapsed()));
        }
    }
    assert_eq!(order[0].0, fast_seq, "the undelayed command is answered first");
    assert_eq!(order[1].0, slow_seq);
    assert!(order[1].1 >= delay, "the delayed answer waited at least the fault's delay: {:?}", order[1].1);
}

fn seq_of(message: &[u8]) -> u32 {
    u32::from_ne_bytes(message[8..12].try_into().unwrap())
}

#[test]
fn hot_plug_adds_and_removes_real_netdevs() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let dev = client.dev_new("name = \"hp0\"\nports = 3\nmtu = 1400\n").unwrap();
    assert_eq!((dev.id, dev.ports.len()), (2, 3));
    let names = sim.kernel_link_names();
    for port in ["hp0p0", "hp0p1", "hp0p2", "hp0p2-peer"] {
        assert!(names.contains(&port.to_string()), "{port} in {names:?}");
    }
    assert_eq!(sim.kernel_link("hp0p1")["mtu"], 1400);
    let err = client.dev_new("name = \"hp0\"\n").unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EEXIST));
    let err = client.dev_new("name = \"hp1\"\nportz = 2\n").unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL));
    assert!(err.to_string().contains("dev-new config:2:1: unknown field `portz`"), "{err}");

    client.dev_del(&DevSelector::Name("hp0".into())).unwrap();
    assert!(sim.kernel_link_names().iter().all(|n| !n.starts_with("hp0")), "netdevs removed");
    assert_eq!(client.dev_list().unwrap().len(), 1);
    assert_eq!(client.dev_get(&DevSelector::Name("hp0".into())).unwrap_err().errno(), Some(Errno::ENODEV));
}

#[test]
fn dumps_during_hot_plug_are_consistent() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;
    let sim = Simulator::start(BOARD);
    let port = sim.port;
    let (stop, cycles) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU32::new(0)));
    let plugger = {
        let (stop, cycles) = (stop.clone(), cycles.clone());
        std::thread::spawn(move || {
            let mut client = SimdevClient::connect(simdev_netlink::client::Target::Simulator { port }).unwrap();
            while !stop.load(Ordering::Relaxed) {
                client.dev_new("name = \"churn\"\nports = 4\n").unwrap();
                client.dev_del(&DevSelector::Name("churn".into())).unwrap();
                cycles.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut client = sim.simdev();
    // Dumps while devices come and go: at least 50, over at least 10 plug cycles.
    let mut dumps = 0;
    while dumps < 50 || cycles.load(Ordering::Relaxed) < 10 {
        let devices = client.dev_list().unwrap();
        assert!(devices.len() == 1 || devices.len() == 2, "{} devices", devices.len());
        for dev in &devices {
            let expected = if dev.name == "churn" { 4 } else { 2 };
            assert_eq!(dev.ports.len(), expected, "a device is listed whole or not at all");
        }
        dumps += 1;
    }
    stop.store(true, Ordering::Relaxed);
    plugger.join().unwrap();
}

#[test]
fn example_configs_check_start_and_serve() {
    let dir = simdev_tests::configs_dir();
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let check = std::process::Command::new(bin("driver-sim"))
            .arg("--check-config")
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        assert!(check.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&check.stderr));
        let text = std::fs::read_to_string(&path).unwrap();
        let sim = Simulator::start(&text);
        let devices = sim.simdev().dev_list().unwrap();
        let configured = text.matches("[[device]]").count();
        assert_eq!(devices.len(), configured, "{}", path.display());
        for dev in &devices {
            for port in &dev.ports {
                assert!(has_flag(&sim.kernel_link(&port.ifname), "UP"), "{}: {}", path.display(), port.ifname);
            }
        }
        checked += 1;
    }
    assert!(checked >= 4, "default plus three examples");
}

/// Reads `events` (behind by `sent` notifications) until one read says
/// some were lost; then, once drained, it hears a new change.
fn learns_it_lost_some_then_hears_again(events: &mut Subscription, client: &mut SimdevClient, sent: usize) {
    events.set_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut lost = false;
    for _ in 0..sent {
        match events.recv() {
            Err(Error::EventsLost) => {
                lost = true;
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(lost, "an overflowed subscriber gets EventsLost (ENOBUFS)");
    events.set_timeout(Some(Duration::from_millis(100))).unwrap();
    while !matches!(events.recv(), Err(Error::Timeout)) {}
    events.set_timeout(Some(Duration::from_secs(10))).unwrap();
    client.sensor_set(&hw0(), "temp", 1234).unwrap();
    let value = next_event(events, |e| match e {
        Event::SensorChange { sensors } => Some(sensors.items[0].value),
        _ => None,
    });
    assert_eq!(value, 1234);
}

#[test]
fn a_subscriber_that_falls_behind_learns_it_lost_notifications() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    if !is_root() {
        skip("joining the group needs root: the unicast subscriber's case is checked apart");
        return;
    }
    // A member of the group, as a kernel client would join it.
    let group = client.group_id(GROUP_EVENTS).unwrap();
    let mut events = Subscription::new(simdev_netlink::client::Target::Simulator { port: sim.port }, &[group]).unwrap();
    events.set_recv_buffer(1).unwrap(); // the kernel's minimum
    for value in 0..200 {
        client.sensor_set(&hw0(), "temp", value).unwrap();
    }
    learns_it_lost_some_then_hears_again(&mut events, &mut client, 200);
}

/// A unicast subscriber (any user) that falls behind: the simulator's
/// queue for it fills (its socket takes little), answers are lost there,
/// and the simulator's `NLMSG_OVERRUN` marker makes it learn so, as a
/// group member learns it from the kernel (ENOBUFS); then it hears again.
#[test]
fn a_unicast_subscriber_that_falls_behind_learns_it_lost_notifications() {
    let sim = Simulator::start(BOARD);
    let mut client = sim.simdev();
    let mut events = client.subscribe(&[GROUP_EVENTS]).unwrap();
    events.set_recv_buffer(1).unwrap(); // the kernel's minimum
                                        // More than the simulator queues for one client (128 KiB).
    for value in 0..2000 {
        client.sensor_set(&hw0(), "temp", value).unwrap();
    }
    assert!(client.stats(&hw0()).unwrap().server.answers_dropped > 0, "the simulator dropped some");
    learns_it_lost_some_then_hears_again(&mut events, &mut client, 2000);
}

#[test]
fn the_monitor_prints_json_lines() {
    let sim = Simulator::start(BOARD);
    let mut monitor = simdev_tests::Background(
        std::process::Command::new(bin("genl-client"))
            .args(["--port", &sim.port.to_string(), "-j", "monitor", "config"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut client = sim.simdev();
    let stdout = monitor.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The monitor subscribes some time after it starts: repeat the change
    // until it reports one (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut value = 0;
    let line = loop {
        assert!(Instant::now() < deadline, "the monitor printed nothing");
        value += 1;
        client.reg_write(&hw0(), "ctrl", value).unwrap();
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            break line;
        }
    };
    drop(monitor);
    // As the kernel's YNL prints a notification (name, msg), with the group.
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!((&event["group"], &event["name"]), (&"config".into(), &"reg-change-ntf".into()), "{event}");
    assert_eq!(event["msg"]["dev-name"], "hw0", "{event}");
    assert_eq!(event["msg"]["reg"][0]["name"], "ctrl", "{event}");
}

#[test]
fn model_devices_keep_state_without_netdevs_and_scale_by_count() {
    let sim = Simulator::start("[[device]]\nname = \"m\"\nbackend = \"model\"\ncount = 50\nports = 2\n");
    let mut client = sim.simdev();
    let devices = client.dev_list().unwrap();
    assert_eq!(devices.len(), 50);
    assert_eq!((devices[49].name.as_str(), devices[49].backend.as_str()), ("m49", "model"));
    assert!(sim.kernel_link_names().iter().all(|n| !n.starts_with('m')), "no netdevs for model devices");
    let m7 = DevSelector::Name("m7".into());
    client
        .dev_set(&simdev_protocol::simdev::DevSet {
            mtu: Some(4000),
            ..simdev_protocol::simdev::DevSet::new(m7.clone())
        })
        .unwrap();
    client.port_set(&m7, 1, &PortSet { carrier: Some(false), ..Default::default() }).unwrap();
    let dev = client.dev_get(&m7).unwrap();
    assert!(dev.ports.iter().all(|p| p.mtu == 4000));
    assert_eq!(dev.ports[1].oper_state, simdev_protocol::simdev::OperState::LOWERLAYERDOWN);
    let bad_mac = PortSet { mac: Some([1, 0, 0, 0, 0, 1]), ..Default::default() };
    assert_eq!(client.port_set(&m7, 0, &bad_mac).unwrap_err().errno(), Some(Errno::EADDRNOTAVAIL), "the kernel's rule");
    // Without a base MAC, each device's ports count up from its own base.
    let m8 = client.dev_get(&DevSelector::Name("m8".into())).unwrap();
    assert_eq!(simdev_protocol::simdev::port_mac(&m8.ports[0].mac, 1), m8.ports[1].mac);
    assert_ne!(m8.ports[0].mac, dev.ports[0].mac, "devices do not share addresses");
}

#[test]
fn model_ports_get_base_plus_their_index() {
    let sim =
        Simulator::start("[[device]]\nname = \"mm\"\nbackend = \"model\"\nports = 3\nmac = \"02:00:00:00:00:10\"\n");
    let macs: Vec<String> = sim
        .simdev()
        .dev_get(&DevSelector::Name("mm".into()))
        .unwrap()
        .ports
        .iter()
        .map(|p| simdev_protocol::simdev::format_mac(&p.mac))
        .collect();
    assert_eq!(macs, ["02:00:00:00:00:10", "02:00:00:00:00:11", "02:00:00:00:00:12"]);
}
