//! `driver-sim --replay FILE`: a conversation recorded once (`--pcap`,
//! `genl-client exec --pcap`) answered again by a simulator that has no
//! device: the kernel's YNL CLI and iproute2's `devlink` print the same as
//! the first time; a request off the recording gets `EOPNOTSUPP` naming
//! its first difference; a capture the simulator cannot replay is refused
//! at start, saying what to configure.

use simdev_protocol::simdev::SPEC_YAML;
use simdev_tests::{kernel_ynl, Simulator, TempFile};
use std::path::Path;
use std::process::{Command, Output};

/// The kernel's YNL CLI with simdev's spec, under `exec`, against `sim`.
fn ynl(sim: &Simulator, dir: &Path, spec: &Path, args: &[&str]) -> Output {
    simdev_tests::ynl_cli(sim.port, dir, spec)
        .arg("--schema")
        .arg(dir.join("Documentation/netlink/genetlink.yaml"))
        .args(args)
        .output()
        .expect("run the YNL CLI")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_recorded_conversation_is_answered_again_without_the_device() {
    let Some(dir) = kernel_ynl() else { return };
    let spec = TempFile::with_contents("simdev.yaml", SPEC_YAML);
    let capture = TempFile::with_contents("replay.pcap", "");
    let path = capture.0.display().to_string();
    let set = ["--do", "dev-set", "--json", r#"{"dev-name": "rp0", "mtu": 1400}"#];
    let commands: [&[&str]; 2] = [&["--dump", "dev-get"], &set];

    let mut recorded = Vec::new();
    {
        let mut sim =
            Simulator::try_start_in(None, "[[device]]\nname = \"rp0\"\nports = 2\n", &["--pcap", &path]).unwrap();
        for args in commands {
            let out = ynl(&sim, &dir, &spec.0, args);
            assert!(out.status.success(), "{args:?}: {}", text(&out));
            recorded.push(out.stdout);
        }
        assert!(sim.stop().success());
    }
    assert!(String::from_utf8_lossy(&recorded[0]).contains("'dev-name': 'rp0'"), "the device answered");

    // A simulator with no device at all answers as the recording did.
    let replaying = Simulator::try_start_in(None, "", &["--replay", &path]).unwrap();
    for (args, first) in commands.iter().zip(&recorded) {
        let out = ynl(&replaying, &dir, &spec.0, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(first), "{args:?} as recorded");
    }
    // Off the recording: the first difference, named by the spec.
    let other = ynl(&replaying, &dir, &spec.0, &["--do", "dev-set", "--json", r#"{"dev-name": "rp0", "mtu": 1500}"#]);
    assert!(!other.status.success());
    let said = text(&other);
    assert!(said.contains("error: -95"), "EOPNOTSUPP: {said}");
    assert!(said.contains("replay: attribute mtu differs from the recorded dev-set request's"), "{said}");
    assert!(said.contains("'bad-attr': '.mtu'"), "{said}");
    let never = ynl(&replaying, &dir, &spec.0, &["--do", "dev-reset", "--json", r#"{"dev-name": "rp0"}"#]);
    assert!(text(&never).contains("replay: no dev-reset request was recorded"), "{}", text(&never));

    drop(replaying);

    // With the mtu ignored (as a value the program makes anew each run),
    // the changed request gets the recorded answer; a name that is in no
    // recorded request is refused at start.
    let ignoring = Simulator::try_start_in(None, "", &["--replay", &path, "--replay-ignore", "dev-set.mtu"]).unwrap();
    let changed = ynl(&ignoring, &dir, &spec.0, &["--do", "dev-set", "--json", r#"{"dev-name": "rp0", "mtu": 1500}"#]);
    assert!(changed.status.success(), "{}", text(&changed));
    assert_eq!(String::from_utf8_lossy(&changed.stdout), String::from_utf8_lossy(&recorded[1]));
    let named = Simulator::try_start_in(None, "", &["--replay", &path, "--replay-ignore", "mtu,cookie"]);
    let why = named.err().expect("refused");
    assert!(why.contains("replay_ignore: no recorded request has an attribute cookie"), "{why}");

    // A recording of simdev at another id cannot be replayed here: said.
    let elsewhere = Simulator::try_start_in(None, "[simulator]\nfamily_id = 0x30\n", &["--replay", &path]);
    let why = elsewhere.err().expect("refused");
    assert!(why.contains("this simulator serves it at 0x30 (configure [simulator] family_id = "), "{why}");
}

/// iproute2's `devlink` recorded under `exec --pcap` against a simulated
/// devlink device, replayed where the simulator has the family but no
/// device: the same JSON. Without the family, the start says what to add.
#[test]
fn a_programs_own_recording_replays_its_simulated_family() {
    let Some(dir) = kernel_ynl() else { return };
    let family = format!("[[family]]\nspec = \"{}\"\n", dir.join("Documentation/netlink/specs/devlink.yaml").display());
    let capture = TempFile::with_contents("devlink.pcap", "");
    let path = capture.0.display().to_string();
    let devlink = |sim: &Simulator, record: bool| {
        let mut command = Command::new(simdev_tests::bin("genl-client"));
        command.arg("--port").arg(sim.port.to_string()).arg("exec");
        if record {
            command.args(["--pcap", &path]);
        }
        command.args(["--", "devlink", "-j", "dev", "info"]).output().expect("run devlink")
    };
    let sim = Simulator::start(&format!("[[device]]\nname = \"dl0\"\nserial = \"R-1\"\n\n{family}"));
    let first = devlink(&sim, true);
    assert!(first.status.success(), "{}", text(&first));
    drop(sim);

    let replaying = Simulator::try_start_in(None, &family, &["--replay", &path]).unwrap();
    let again = devlink(&replaying, false);
    assert!(again.status.success(), "{}", text(&again));
    let json = |out: &Output| serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON");
    assert_eq!(json(&again), json(&first));
    assert_eq!(json(&again)["info"]["simdev/dl0"]["serial_number"], "R-1");

    let without = Simulator::try_start_in(None, "", &["--replay", &path]).err().expect("refused");
    assert!(
        without.contains("the recorded family devlink is not served here: add [[family]] spec = \"devlink\""),
        "{without}"
    );
    let config = TempFile::with_contents("not.pcap", "[[device]]\nname = \"a configuration, not a capture\"\n");
    let bad = Simulator::try_start_in(None, "", &["--replay", &config.0.display().to_string()]).err().expect("refused");
    assert!(bad.contains("not a pcap file"), "{bad}");
}
