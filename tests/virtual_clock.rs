//! `--clock virtual`: simulated time stands still until `clock advance`
//! moves it; every timer due in the span runs in order, each at its own
//! time, and each run gives the same notifications.

use genl_client::simdev::{Event, FwImage};
use simdev_protocol::simdev::{DevSelector, FaultInfo};
use simdev_testing::{Events, Simulator};
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

/// The notifications that arrive until one `last` accepts (bounded), as
/// name and message (without the namespace path, which differs between
/// simulators).
fn until(events: &mut Events, last: impl Fn(&str) -> bool) -> Vec<String> {
    let subscription = events.subscription();
    subscription.set_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut seen = Vec::new();
    loop {
        for (_, reply) in subscription.recv().expect("the notification in time") {
            if let Some((name, msg, _)) = Event::decode_named(&reply).unwrap() {
                let mut msg = msg.to_json();
                msg.as_object_mut().unwrap().remove("netns");
                seen.push(format!("{name} {msg}"));
                if last(seen.last().unwrap()) {
                    return seen;
                }
            }
        }
    }
}

/// A one-hour flash: nothing happens until time is advanced, half of it
/// after half an hour, all of it after the hour; returns every notification.
fn flash_an_hour() -> Vec<String> {
    let sim = start(HOUR_FLASH);
    let mut client = sim.client().unwrap();
    let mut events = sim.subscribe(&["fw", "config"]).unwrap();
    client.fw_flash(&vc0(), &FwImage::Version("2.0".into())).unwrap();
    let mut seen = until(&mut events, |n| n.contains("Preparing to flash"));
    assert!(client.fw_show(&vc0()).unwrap().items[0].flashing, "time stands still");

    assert_eq!(client.clock_advance(Duration::from_secs(1800)).unwrap(), Duration::from_secs(1800));
    seen.extend(until(&mut events, |n| n.contains("\"done\":50,")));
    assert!(client.fw_show(&vc0()).unwrap().items[0].flashing, "not before the hour");

    client.clock_advance(Duration::from_secs(1800)).unwrap();
    seen.extend(until(&mut events, |n| n.starts_with("dev-change-ntf")));
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
    client.clock_advance(Duration::from_millis(4999)).unwrap();
    assert_eq!(client.fault_list(&vc0()).unwrap().items[0].fired, 4, "4 intervals, 4 flaps");
    assert!(client.dev_get(&vc0()).unwrap().ports[0].carrier, "each one over after 100 ms");

    client.clock_advance(Duration::from_millis(1)).unwrap();
    assert_eq!(client.fault_list(&vc0()).unwrap().items[0].fired, 5, "the fifth, at 5 s exactly");
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
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(simdev_tests::bin("genl-client"))
            .args(["--port", &sim.port().to_string()])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(cli(&["clock", "advance", "100ms"]), "", "the CLI's way: silent, like any change");
    assert_eq!(cli(&["clock", "show"]), "clock virtual time 5.100s\n");
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

/// A long advance runs a budget of timers per turn: others are served
/// meanwhile (and see the time move), a second advance meanwhile is
/// refused, and it is acknowledged once everything ran.
#[test]
fn a_long_advance_serves_others_meanwhile() {
    let sim = start("[[device]]\nname = \"vc0\"\nbackend = \"model\"\n");
    let mut admin = sim.client().unwrap();
    let flap = FaultInfo {
        command: "link-flap".into(),
        interval_ms: Some(10),
        down_ms: Some(1),
        port_index: Some(0),
        ..Default::default()
    };
    admin.fault_set(&vc0(), &flap).unwrap();
    let target = sim.target();
    let advancing = std::thread::spawn(move || {
        let mut client = genl_client::simdev::SimdevClient::connect(target).unwrap();
        client.clock_advance(Duration::from_secs(600)) // 60 000 flaps, 120 000 timers
    });
    let mut other = sim.client().unwrap();
    let mut seen_between = false;
    let mut refused = false;
    while !advancing.is_finished() {
        std::thread::sleep(Duration::from_millis(5));
        let (now, _) = other.clock().unwrap();
        seen_between |= now > Duration::ZERO && now < Duration::from_secs(600);
        if let Err(e) = other.clock_advance(Duration::from_millis(1)) {
            refused |= e.errno() == Some(nix::errno::Errno::EBUSY);
        }
    }
    assert!(advancing.join().unwrap().unwrap().as_secs() >= 600, "acknowledged at the end");
    assert!(seen_between, "another client was answered while the clock moved");
    assert!(refused, "a second advance meanwhile is EBUSY");
    // One flap per 10 ms of simulated time (the small advances that got
    // through before or after the long one included).
    let now = admin.clock().unwrap().0.as_millis() as u64;
    assert_eq!(admin.fault_list(&vc0()).unwrap().items[0].fired, now / 10);
}

/// `port flap` from the command line: the kernel loses the carrier at once
/// and gets it back when the virtual clock reaches the duration.
#[test]
fn a_port_flap_lasts_its_simulated_time() {
    let sim = simdev_tests::Simulator::try_start_in(None, HOUR_FLASH, &["--clock", "virtual"]).unwrap();
    let lower_up = || simdev_tests::has_flag(&sim.kernel_link("vc0p0"), "LOWER_UP");
    simdev_tests::eventually("vc0p0 has carrier", lower_up);
    let ok = |args: &[&str]| {
        let out = sim.cli(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    ok(&["port", "flap", "vc0", "0", "1.5s"]);
    assert!(!lower_up(), "unplugged at once");
    ok(&["clock", "advance", "1499ms"]);
    assert!(!lower_up(), "still unplugged at 1499 ms");
    ok(&["clock", "advance", "1ms"]);
    assert!(lower_up(), "plugged in at 1500 ms");
    // Past the spec's limit: the simulator's refusal, naming the attribute.
    let out = sim.cli(&["port", "flap", "vc0", "0", "2h"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ERANGE") && stderr.contains("flap-ms"), "{stderr}");
}
