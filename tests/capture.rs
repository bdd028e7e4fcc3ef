//! `driver-sim --pcap FILE`: every datagram in and out, as a pcap that
//! Wireshark reads (`LINKTYPE_NETLINK`). The file is read back here, frame
//! by frame, and by tshark, the way a user opens it.

use simdev_protocol::wire::{split_messages, NLMSG_ERROR, NLM_F_REQUEST};
use simdev_tests::{Simulator, TempFile};
use std::process::Command;

/// One frame: its packet type (0: to the simulator, 4: from it), the
/// link header's family, and the netlink datagram.
struct Frame {
    packet_type: u16,
    hatype: u16,
    family: u16,
    datagram: Vec<u8>,
}

fn frames(pcap: &[u8]) -> Vec<Frame> {
    assert_eq!(pcap[0..4], 0xa1b2_c3d4u32.to_ne_bytes(), "pcap magic, native byte order");
    assert_eq!(pcap[20..24], 253u32.to_ne_bytes(), "LINKTYPE_NETLINK");
    let mut frames = Vec::new();
    let mut at = 24;
    while at < pcap.len() {
        let length = u32::from_ne_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &pcap[at + 16..at + 16 + length];
        let be = |offset: usize| u16::from_be_bytes([frame[offset], frame[offset + 1]]);
        frames.push(Frame { packet_type: be(0), hatype: be(2), family: be(14), datagram: frame[16..].to_vec() });
        at += 16 + length;
    }
    frames
}

#[test]
fn every_datagram_is_captured_and_wireshark_reads_them() {
    let file = TempFile::with_contents("capture.pcap", "");
    let path = file.0.display().to_string();
    let mut sim = Simulator::try_start_in(None, "[[device]]\nname = \"cap0\"\n", &["--pcap", &path]).unwrap();
    let cli = |args: &[&str]| sim.cli(args).status.code();
    assert_eq!(cli(&["ctrl", "get", "simdev"]), Some(0));
    assert_eq!(cli(&["dev", "set", "cap0", "mtu", "1400"]), Some(0));
    assert_eq!(cli(&["dev", "set", "nosuch", "mtu", "1400"]), Some(1));
    assert_eq!(cli(&["dev", "list"]), Some(0));
    assert!(sim.stop().success());

    let frames = frames(&std::fs::read(&file.0).unwrap());
    assert!(frames.len() >= 12, "{} frames", frames.len());
    let (mut requests, mut errors) = (0, 0);
    for frame in &frames {
        assert_eq!((frame.hatype, frame.family), (824, 16), "ARPHRD_NETLINK, NETLINK_GENERIC");
        let messages: Vec<_> = split_messages(&frame.datagram).collect();
        let whole: usize = messages.iter().map(|m| m.bytes.len().next_multiple_of(4)).sum();
        assert_eq!(whole, frame.datagram.len(), "a frame holds whole messages");
        for message in messages {
            let request = message.header.flags & NLM_F_REQUEST != 0;
            // Requests come in, answers and notifications go out.
            assert_eq!(request, frame.packet_type == 0, "{:?}", message.header);
            requests += usize::from(request);
            errors += usize::from(
                message.header.ty == NLMSG_ERROR && simdev_protocol::wire::read_i32(&message.bytes[16..]) != 0,
            );
        }
    }
    assert!(requests >= 4 && errors >= 1, "{requests} requests, {errors} errors");

    let Ok(out) = Command::new("tshark").arg("-r").arg(&file.0).arg("-V").output() else {
        simdev_tests::skip("tshark is not installed (.ci/run installs it): Wireshark's reading not checked");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.matches("Linux netlink (cooked header)").count(), frames.len(), "every frame is netlink");
    assert!(text.contains("Family Name: simdev"), "nlctrl's answers dissected with the family name");
    assert!(!text.contains("Malformed") && !text.contains("[Expert Info (Error"), "{text}");
}

/// A capture of the simulator serving devlink, with iproute2's `devlink`
/// under `exec` and genl-client, decoded by `genl-client decode`: every
/// message with its family and operation, attributes by name, answers
/// told from requests and notifications, an error with its errno and
/// message; without a spec, raw attributes and what to give.
#[test]
fn a_capture_decodes_message_by_message_by_the_families_specs() {
    let Some(dir) = simdev_tests::kernel_ynl() else { return };
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    let file = TempFile::with_contents("decode.pcap", "");
    let path = file.0.display().to_string();
    let config =
        format!("[[device]]\nname = \"dc0\"\nserial = \"SN-9\"\n\n[[family]]\nspec = \"{}\"\n", spec.display());
    let mut sim = Simulator::try_start_in(None, &config, &["--pcap", &path]).unwrap();
    assert!(sim.cli(&["exec", "--", "devlink", "dev", "info"]).status.success());
    assert!(sim.cli(&["dev", "set", "dc0", "mtu", "1400"]).status.success());
    assert!(!sim.cli(&["dev", "set", "nosuch", "mtu", "1400"]).status.success());
    assert!(sim.stop().success());

    let decode = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(simdev_tests::bin("genl-client"));
        command.args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    };
    let out = decode(&["-j", "decode", &path], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let messages: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    for message in &messages {
        assert!(message.get("raw-attrs").is_none(), "every message decodes: {message}");
        if ["request", "answer", "notification"].contains(&message["kind"].as_str().unwrap()) {
            assert!(message["family"].is_string() && message["op"].is_string(), "named: {message}");
        }
    }
    let find = |kind: &str, family: &str, op: &str| {
        messages
            .iter()
            .find(|m| m["kind"] == kind && m["family"] == family && m["op"] == op)
            .unwrap_or_else(|| panic!("no {kind} {family} {op} in {messages:?}"))
    };
    assert_eq!(find("request", "nlctrl", "getfamily")["attrs"]["family-name"], "simdev");
    let info = find("answer", "devlink", "info-get");
    assert_eq!(
        (info["attrs"]["info-driver-name"].as_str(), info["attrs"]["info-serial-number"].as_str()),
        (Some("simdev"), Some("SN-9"))
    );
    assert_eq!(find("request", "simdev", "dev-set")["attrs"]["mtu"], 1400);
    assert_eq!(find("notification", "simdev", "dev-change-ntf")["attrs"]["dev-name"], "dc0");
    let error = messages.iter().find(|m| m["kind"] == "error").expect("the failed dev-set's error");
    assert_eq!((error["error"]["errno"].as_str(), error["family"].as_str()), (Some("ENODEV"), Some("simdev")));
    assert_eq!(error["error"]["message"], "no device nosuch");

    // Text, as YNL prints: a line per message, then its attributes.
    let out = decode(&["decode", &path], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.contains(" answer devlink info-get seq ")), "{text}");
    assert!(text.contains("'info-serial-number': 'SN-9'"), "{text}");
    assert!(text.lines().any(|l| l.contains(" error simdev ENODEV \"no device nosuch\" seq ")), "{text}");

    // No devlink spec to be found: raw attributes, and what to give.
    let none = [("HOME", "/nonexistent"), ("SIMDEV_KERNEL_YNL", "/nonexistent"), ("SIMDEV_SPEC_DIR", "")];
    let out = decode(&["-j", "decode", &path], &none);
    let messages: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    let info = messages.iter().find(|m| m["family"] == "devlink" && m["kind"] == "answer").expect("devlink's answer");
    assert_eq!(info["undecoded"], "no spec for devlink: give it with --spec", "{info}");
    assert!(info["raw-attrs"].as_array().is_some_and(|a| !a.is_empty()));
    let spec = spec.display().to_string();
    let out = decode(&["-j", "decode", &path, "--spec", &spec], &none);
    let messages: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    assert!(messages.iter().any(|m| m["op"] == "info-get" && m["attrs"]["info-serial-number"] == "SN-9"));

    // What is not a netlink capture is a usage error.
    let config = TempFile::with_contents("not.pcap", "[[device]]\nname = \"a configuration, not a capture\"\n");
    let out = decode(&["decode", &config.0.display().to_string()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a pcap file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `genl-client exec --pcap FILE -- PROGRAM`: the program's whole
/// conversation as it saw it, the kernel's families with the simulated
/// ones (iproute2's `genl ctrl list`: one dump, merged), which tshark reads
/// and `genl-client decode` names message by message.
#[test]
fn exec_records_the_programs_whole_conversation() {
    let Some(dir) = simdev_tests::kernel_ynl() else { return };
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    let sim = Simulator::start(&format!("[[device]]\nname = \"ex0\"\n\n[[family]]\nspec = \"{}\"\n", spec.display()));
    let file = TempFile::with_contents("exec.pcap", "");
    let path = file.0.display().to_string();
    let listed = sim.cli(&["exec", "--pcap", &path, "--", "genl", "ctrl", "list"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));

    let decoded = Command::new(simdev_tests::bin("genl-client")).args(["-j", "decode", &path]).output().unwrap();
    assert!(decoded.status.success(), "{}", String::from_utf8_lossy(&decoded.stderr));
    let messages: Vec<serde_json::Value> = serde_json::from_slice(&decoded.stdout).expect("a JSON list");
    let request = &messages[0];
    assert_eq!((request["kind"].as_str(), request["op"].as_str()), (Some("request"), Some("getfamily")));
    assert_eq!(request["direction"], "to-driver", "what the program sent");
    assert!(request["flags"].as_array().unwrap().contains(&serde_json::json!("dump")));
    let names: Vec<&str> = messages
        .iter()
        .filter(|m| m["kind"] == "answer")
        .map(|m| {
            assert_eq!((m["family"].as_str(), m["op"].as_str()), (Some("nlctrl"), Some("getfamily")), "{m}");
            assert_eq!(m["direction"], "from-driver");
            m["attrs"]["family-name"].as_str().expect("named")
        })
        .collect();
    // The kernel's families (this kernel has ethtool and netdev) and the
    // simulator's, in one list as the program saw it, then its end.
    for family in ["nlctrl", "ethtool", "netdev", "simdev", "devlink"] {
        assert!(names.contains(&family), "{family} in {names:?}");
    }
    assert_eq!(messages.last().unwrap()["kind"], "done");
    if let Ok(out) = Command::new("tshark").arg("-r").arg(&path).arg("-V").output() {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("Family Name: ethtool") && text.contains("Family Name: simdev"), "{text}");
        assert!(!text.contains("Malformed") && !text.contains("[Expert Info (Error"), "{text}");
    } else {
        simdev_tests::skip("tshark is not installed (.ci/run installs it): Wireshark's reading not checked");
    }

    // A program of the simulated family: decoded by the kernel's spec.
    let info = sim.cli(&["exec", "--pcap", &path, "--", "devlink", "dev", "info"]);
    assert!(info.status.success(), "{}", String::from_utf8_lossy(&info.stderr));
    let decoded = Command::new(simdev_tests::bin("genl-client")).args(["-j", "decode", &path]).output().unwrap();
    let messages: Vec<serde_json::Value> = serde_json::from_slice(&decoded.stdout).expect("a JSON list");
    let answer = messages.iter().find(|m| m["family"] == "devlink" && m["kind"] == "answer").expect("devlink's answer");
    assert_eq!((answer["op"].as_str(), answer["attrs"]["dev-name"].as_str()), (Some("info-get"), Some("ex0")));

    // A capture that cannot be written: said, and the program not run.
    let out = sim.cli(&["exec", "--pcap", "/nonexistent/dir/x.pcap", "--", "genl", "ctrl", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write the capture /nonexistent/dir/x.pcap"));
    assert!(out.stdout.is_empty(), "the program did not run");
}

/// A configuration whose dump fills capture files fast: 3000 model
/// devices, about 400 KB a `dev list`.
const MANY: &str = "[[device]]\nname = \"m\"\nbackend = \"model\"\ncount = 3000\n";

/// The capture files of `base` as rotation names them: `base`, `base1`, ...
fn rotated(base: &std::path::Path) -> Vec<std::path::PathBuf> {
    (0..)
        .map(|i| if i == 0 { base.to_path_buf() } else { format!("{}{i}", base.display()).into() })
        .take_while(|path: &std::path::PathBuf| path.exists())
        .collect()
}

#[test]
fn a_capture_begins_a_new_file_at_its_bound_and_keeps_at_most_its_files() {
    for (files, expected) in [(None, 4..=6), (Some(2), 2..=2)] {
        let file = TempFile::with_contents("rotating.pcap", "");
        let path = file.0.display().to_string();
        let mut args = vec!["--pcap", &path, "--pcap-max", "1"];
        let files_arg = files.map(|n: u32| n.to_string());
        if let Some(n) = &files_arg {
            args.extend(["--pcap-files", n]);
        }
        let mut sim = Simulator::try_start_in(None, MANY, &args).unwrap();
        for _ in 0..10 {
            assert_eq!(sim.cli(&["dev", "list"]).status.code(), Some(0));
        }
        let stats = sim.simdev().stats(&simdev_protocol::simdev::DevSelector::Name("m0".into())).unwrap().server;
        assert_eq!(stats.capture_dropped, 0, "{stats:?}");
        assert!(sim.stop().success());
        let paths = rotated(&file.0);
        let _cleanup: Vec<TempFile> = paths.iter().skip(1).map(|p| TempFile(p.clone())).collect();
        assert!(expected.contains(&paths.len()), "{files:?} files kept: {paths:?}");
        let mut total = 0;
        for path in &paths {
            let bytes = std::fs::read(path).unwrap();
            assert!(bytes.len() <= 1_000_000, "{}: {} bytes", path.display(), bytes.len());
            // Each file a whole pcap of whole frames.
            total += frames(&bytes).len() as u64;
        }
        if files.is_none() {
            assert!(total >= stats.capture_frames, "every frame written is in the files: {total} {stats:?}");
            // The files decode as one conversation, in order.
            let decoded = Command::new(simdev_tests::bin("genl-client")).arg("decode").args(&paths).output().unwrap();
            assert!(decoded.status.success(), "{decoded:?}");
            let text = String::from_utf8_lossy(&decoded.stdout);
            assert!(text.matches("dev-get").count() as u64 >= total / 2, "named by simdev's spec");
            assert!(!text.contains("does not name this family id"), "ids learnt across the files");
        }
    }
    let refused = Simulator::try_start_in(None, MANY, &["--pcap", "/tmp/x.pcap", "--pcap-files", "3"]).err().unwrap();
    assert!(refused.contains("--pcap-files (pcap_files) needs --pcap-max"), "{refused}");
    let refused = Simulator::try_start_in(None, MANY, &["--pcap-max", "3"]).err().unwrap();
    assert!(refused.contains("need --pcap (pcap): there is no capture"), "{refused}");
}

/// A capture on a disk that fills (a 256 KiB tmpfs, in a mount namespace
/// of the simulator's own): the capture stops and says how many frames it
/// left out, the simulator serves on.
#[test]
fn a_full_disk_stops_the_capture_not_the_simulator() {
    let dir = std::env::temp_dir().join(format!("simdev-full-disk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mount = format!("mount -t tmpfs -o size=256k simdev-full {} && exec \"$@\"", dir.display());
    let pcap = dir.join("capture.pcap");
    let started = simdev_testing::Simulator::builder(MANY)
        .program(simdev_tests::bin("driver-sim"))
        .prefix(["unshare", "-Urm", "sh", "-c", &mount, "sh"])
        .arg("--pcap")
        .arg(&pcap)
        .start();
    let mut sim = match started {
        Ok(sim) => sim,
        Err(e) => {
            let _ = std::fs::remove_dir(&dir);
            simdev_tests::skip(&format!("no tmpfs in a user and mount namespace here: {e}"));
            return;
        }
    };
    let mut client = sim.client().unwrap();
    for _ in 0..3 {
        assert_eq!(client.dev_list().unwrap().len(), 3000, "served, capture or not");
    }
    let selector = simdev_protocol::simdev::DevSelector::Name("m0".into());
    simdev_tests::eventually("the capture to stop", || {
        client.stats(&selector).is_ok_and(|s| s.server.capture_dropped > 0)
    });
    let before = client.stats(&selector).unwrap().server;
    assert!(before.capture_frames > 0, "frames written before the disk filled: {before:?}");
    assert_eq!(client.dev_list().unwrap().len(), 3000);
    let after = client.stats(&selector).unwrap().server;
    assert!(after.capture_dropped > before.capture_dropped, "frames after it counted too: {after:?}");
    assert_eq!(after.capture_frames, before.capture_frames, "nothing more written");
    assert!(sim.stop().unwrap().success());
    std::fs::remove_dir(&dir).unwrap();
}
