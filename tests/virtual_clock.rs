//! `--clock virtual`: simulated time stands still until `clock advance`
//! moves it; every timer due in the span runs in order, each at its own
//! time, and each run gives the same notifications.

use driver_sim::testing::{Events, Simulator};
use genl_client::simdev::{Event, FwImage};
use simdev_protocol::simdev::{DevSelector, FaultInfo};
use std::time::Duration;

const HOUR_FLASH: &str = r#"
[[device]]
name = "vc0"
ports = 1

mac = "02:00:00:00:0c:00"

[device.firmware]
version = "1.0"
flash_duration_ms = 3600000
"#;

fn start(config: &str) -> Simulator {
    Simulator::builder(config).program(simdev_tests::bin("driver-sim")).arg("--clock").arg("virtual").start().unwrap()
}

fn vc0() -> DevSelector {
    DevSelector::Name("vc0".into())
}

/// Every notification that arrives within `wait`, as its name and message
/// (without the namespace path, which differs between simulators).
fn drain(events: &mut Events, wait: Duration) -> Vec<String> {
    let subscription = events.subscription();
    subscription.set_timeout(Some(wait)).unwrap();
    let mut seen = Vec::new();
    while let Ok(batch) = subscription.recv() {
        for (_, reply) in batch {
            if let Some((name, msg, _)) = Event::decode_named(&reply).unwrap() {
                let mut msg = msg.to_json();
                msg.as_object_mut().unwrap().remove("netns");
                seen.push(format!("{name} {msg}"));
            }
        }
    }
    seen
}

/// A one-hour flash: nothing happens until time is advanced, half of it
/// after half an hour, all of it after the hour; returns every notification.
fn flash_an_hour() -> Vec<String> {
    let sim = start(HOUR_FLASH);
    let mut client = sim.client().unwrap();
    let mut events = sim.subscribe(&["fw", "config"]).unwrap();
    client.fw_flash(&vc0(), &FwImage::Version("2.0".into())).unwrap();
    let mut seen = drain(&mut events, Duration::from_millis(200));
    assert_eq!(seen.len(), 1, "only the flash's start: {seen:?}");
    assert!(client.fw_show(&vc0()).unwrap().items[0].flashing, "time stands still");

    assert_eq!(client.clock_advance(Duration::from_secs(1800)).unwrap(), Duration::from_secs(1800));
    let half = drain(&mut events, Duration::from_millis(200));
    assert!(half.last().unwrap().contains("\"done\":50,"), "{half:?}");
    assert!(client.fw_show(&vc0()).unwrap().items[0].flashing, "not before the hour");
    seen.extend(half);

    client.clock_advance(Duration::from_secs(1800)).unwrap();
    seen.extend(drain(&mut events, Duration::from_millis(200)));
    let fw = client.fw_show(&vc0()).unwrap().items.remove(0);
    assert_eq!((fw.flashing, fw.version.as_str()), (false, "2.0"));
    assert_eq!(client.clock().unwrap(), (Duration::from_secs(3600), true));
    seen
}

#[test]
fn an_hour_long_flash_ends_when_an_hour_is_advanced_and_every_run_is_alike() {
    let first = flash_an_hour();
    let done: Vec<u64> = first
        .iter()
        .filter(|n| n.starts_with("fw-flash-status-ntf"))
        .map(|n| {
            let msg: serde_json::Value = serde_json::from_str(n.split_once(' ').unwrap().1).unwrap();
            msg["fw-status"]["done"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(done, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], "the exact progress: {first:?}");
    assert!(first.last().unwrap().starts_with("dev-change-ntf"), "the new version announced: {first:?}");
    assert_eq!(flash_an_hour(), first, "a second run gives the same notifications");
}

#[test]
fn a_link_flap_fault_flaps_once_per_interval_advanced() {
    let sim = start("[[device]]\nname = \"vc0\"\nports = 1\n");
    let mut client = sim.client().unwrap();
    let flap = FaultInfo {
        command: "link-flap".into(),
        interval_ms: Some(1000),
        down_ms: Some(100),
        port_index: Some(0),
        ..Default::default()
    };
    client.fault_set(&vc0(), &flap).unwrap();
    let mut events = sim.subscribe(&["events"]).unwrap();
    client.clock_advance(Duration::from_millis(4999)).unwrap();
    assert_eq!(drain(&mut events, Duration::from_millis(200)).len(), 4, "4 intervals, 4 flaps");
    assert!(client.dev_get(&vc0()).unwrap().ports[0].carrier, "each one over after 100 ms");

    client.clock_advance(Duration::from_millis(1)).unwrap();
    assert_eq!(drain(&mut events, Duration::from_millis(200)).len(), 1, "the fifth, at 5 s exactly");
    assert_eq!(client.fault_list(&vc0()).unwrap().items[0].fired, 5);
    let link = |sim: &Simulator| {
        let mut nsenter = std::process::Command::new("nsenter");
        if let Some(userns) = sim.userns_path() {
            nsenter.arg(format!("--user={userns}")).arg("--preserve-credentials");
        }
        let out = nsenter
            .arg(format!("--net={}", sim.netns_path()))
            .args(["ip", "-j", "link", "show", "dev", "vc0p0"])
            .output()
            .unwrap();
        let links: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        links[0]["flags"].as_array().unwrap().iter().any(|f| f == "LOWER_UP")
    };
    assert!(!link(&sim), "down in the kernel during the fifth flap");
    let out = std::process::Command::new(simdev_tests::bin("genl-client"))
        .args(["--port", &sim.port().to_string(), "clock", "advance", "100ms"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "clock virtual time 5.100s\n", "the CLI's way");
    assert!(link(&sim), "and up again 100 ms later");
}

#[test]
fn the_real_clock_cannot_be_advanced_and_netdevsim_cannot_run_on_the_virtual_one() {
    let sim = Simulator::builder("[[device]]\nname = \"vc1\"\nbackend = \"model\"\n")
        .program(simdev_tests::bin("driver-sim"))
        .start()
        .unwrap();
    let mut client = sim.client().unwrap();
    assert!(!client.clock().unwrap().1, "real by default");
    let err = client.clock_advance(Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.errno(), Some(nix::errno::Errno::EOPNOTSUPP));
    assert!(err.to_string().contains("start it with --clock virtual"), "{err}");

    let nsim = "[[device]]\nname = \"vc2\"\nbackend = \"netdevsim\"\n";
    let error = start_err(nsim, &["--clock", "virtual"]);
    assert!(error.contains("device `vc2`: the netdevsim backend's kernel operations"), "{error}");
    let error = start_err(&format!("[simulator]\nclock = \"virtual\"\n{nsim}"), &[]);
    assert!(error.contains(":4:8: device `vc2`: the netdevsim backend"), "located in the file: {error}");
}

fn start_err(config: &str, args: &[&str]) -> String {
    let mut builder = Simulator::builder(config).program(simdev_tests::bin("driver-sim"));
    for arg in args {
        builder = builder.arg(arg);
    }
    builder.start().err().expect("refused").to_string()
}

/// An answer a fault's delay holds back waits for the clock too.
#[test]
fn a_delayed_answer_comes_when_its_delay_is_advanced() {
    let sim = start("[[device]]\nname = \"vc0\"\nbackend = \"model\"\n");
    let mut admin = sim.client().unwrap();
    let slow = FaultInfo { command: "dev-get".into(), delay_ms: 2000, ..Default::default() };
    admin.fault_set(&vc0(), &slow).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let target = sim.target();
    std::thread::spawn(move || {
        let mut client = genl_client::simdev::SimdevClient::connect(target).unwrap();
        let _ = tx.send(client.dev_get(&DevSelector::Name("vc0".into())).map(|d| d.name));
    });
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "held while time stands still");
    admin.clock_advance(Duration::from_millis(1999)).unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "not before its delay");
    admin.clock_advance(Duration::from_millis(1)).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap(), "vc0");
}
