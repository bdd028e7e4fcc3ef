//! The client believes only a simulator it trusts, and never waits forever:
//! a process of another user holding the port is refused, a stopped
//! simulator is reported after the timeout, a vanished one at once, and a
//! flash being watched ends when the simulator stops.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use simdev_tests::{bin, is_root, skip, Simulator};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn signal(sim: &Simulator, signal: Signal) {
    kill(Pid::from_raw(sim.pid()), signal).unwrap();
}

/// Runs `genl-client --port PORT ARGS`, returning its output and how long it took.
fn timed_cli(port: u32, args: &[&str]) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let out = Command::new(bin("genl-client")).arg("--port").arg(port.to_string()).args(args).output().unwrap();
    (out, started.elapsed())
}

#[test]
fn a_port_held_by_a_process_of_another_user_is_not_believed() {
    if !is_root() {
        skip("a process of another uid needs root to start");
        return;
    }
    // The benchmark's echo peer, as uid 65534, sends every request back
    // (a "reply" with the right sequence number): a squatter.
    let mut squatter = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin("simdev-bench"))
        .arg("--echo")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(squatter.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u32 = line.trim().parse().expect("the echo peer's port");
    for args in [&["dev", "set", "x", "mtu", "1400"][..], &["dev", "list"]] {
        let (out, _) = timed_cli(port, args);
        assert_eq!(out.status.code(), Some(1), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("netlink port {port} is held by a process of uid 65534")), "{stderr}");
        assert!(stderr.contains("--trust-uid 65534"), "{stderr}");
    }
    let (out, _) = timed_cli(port, &["--trust-uid", "65534", "--timeout", "1", "dev", "list"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("held by a process"), "trusted when told to");
    squatter.kill().unwrap();
    squatter.wait().unwrap();
}

#[test]
fn a_stopped_simulator_is_reported_after_the_timeout() {
    let sim = Simulator::start("[[device]]\nname = \"tz0\"\nbackend = \"model\"\n");
    signal(&sim, Signal::SIGSTOP);
    let (out, took) = timed_cli(sim.port, &["--timeout", "1", "dev", "list"]);
    signal(&sim, Signal::SIGCONT);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("no answer from the simulator at netlink port {} within 1.", sim.port)),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "reported after about the timeout, not later: {took:?}");
    assert!(sim.cli(&["dev", "list"]).status.success(), "it answers once continued");
}

#[test]
fn a_simulator_that_dies_with_a_request_queued_is_reported_promptly() {
    let mut sim = Simulator::start("[[device]]\nname = \"tz1\"\nbackend = \"model\"\n");
    signal(&sim, Signal::SIGSTOP);
    let port = sim.port;
    let waiting = std::thread::spawn(move || timed_cli(port, &["--timeout", "30", "dev", "list"]));
    std::thread::sleep(Duration::from_millis(300)); // the request is queued
    signal(&sim, Signal::SIGKILL);
    sim.child().wait().unwrap();
    let (out, took) = waiting.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("no simulator answers at netlink port {port}")), "{stderr}");
    assert!(took < Duration::from_secs(10), "noticed long before the 30 s timeout: {took:?}");
}

#[test]
fn stopping_the_simulator_ends_a_flash_being_watched() {
    let config = "[[device]]\nname = \"tz2\"\nbackend = \"model\"\n[device.firmware]\nflash_duration_ms = 60000\n";
    let mut sim = Simulator::start(config);
    let flash = Command::new(bin("genl-client"))
        .args(["--port", &sim.port.to_string(), "fw", "flash", "tz2", "2.0.0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The flash started once fw-get says so.
    simdev_tests::eventually("the flash runs", || {
        sim.simdev()
            .fw_show(&simdev_protocol::simdev::DevSelector::Name("tz2".into()))
            .is_ok_and(|f| f.items[0].flashing)
    });
    let stopped = Instant::now();
    assert!(sim.stop().success());
    let out = flash.wait_with_output().unwrap();
    assert!(stopped.elapsed() < Duration::from_secs(5), "fw flash ended soon after: {:?}", stopped.elapsed());
    assert_eq!(out.status.code(), Some(1));
    // Root sees the group's last status, other users the same by unicast.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Flashing aborted: the simulator stopped"), "{stderr}");
}
