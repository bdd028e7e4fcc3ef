//! Batch mode (`genl-client -b`): pipelined, in order, stopping at the
//! first failure with nothing after it applied (or running everything with
//! `--force`), errors as `FILE:LINE: command: ERRNO: message`.

use simdev_tests::{Simulator, TempFile};
use std::process::{Command, Output, Stdio};

const BOARD: &str = r#"
[[device]]
name = "b0"
ports = 2

[[device.register]]
name = "ctrl"
offset = 0

[[device.register]]
name = "id"
offset = 4
access = "ro"
reset = 7
"#;

fn batch(sim: &Simulator, script: &str, args: &[&str]) -> (Output, String) {
    let file = TempFile::with_contents("batch", script);
    let path = file.0.display().to_string();
    let out = Command::new(simdev_tests::bin("genl-client"))
        .args(["--port", &sim.port.to_string(), "-b", &path])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out, path)
}

fn ctrl(sim: &Simulator) -> u64 {
    sim.simdev().reg_read(&simdev_protocol::simdev::DevSelector::Name("b0".into()), "ctrl").unwrap().value.unwrap()
}

/// Writes 1..=n to ctrl, with a failing line after `fail_after` writes.
fn script(n: u64, fail_after: u64) -> String {
    let mut text = String::from("# a long script\n");
    for value in 1..=n {
        text.push_str(&format!("reg write b0 ctrl {value}\n"));
        if value == fail_after {
            text.push_str("reg write b0 id 1   # read-only: fails\n");
        }
    }
    text
}

#[test]
fn the_first_failure_stops_the_batch_and_nothing_after_it_is_applied() {
    let sim = Simulator::start(BOARD);
    let (out, path) = batch(&sim, &script(500, 100), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{path}:102: reg write b0 id 1: EACCES: register id is read-only [attribute: reg-name]"
        )),
        "{stderr}"
    );
    assert_eq!(ctrl(&sim), 100, "the writes after the failure, even those in flight, were not applied");
    let stats = sim.simdev().stats(&simdev_protocol::simdev::DevSelector::Name("b0".into())).unwrap();
    assert_eq!(stats.driver.errors, 1, "the skipped lines never reached the device");
}

#[test]
fn force_runs_every_line_and_reports_each_failure() {
    let sim = Simulator::start(BOARD);
    let text = format!("{}reg write b0 id 2\n", script(50, 10));
    let (out, path) = batch(&sim, &text, &["--force"]);
    assert_eq!(out.status.code(), Some(1), "a failure makes the exit status non-zero");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{path}:12: reg write b0 id 1: EACCES")), "{stderr}");
    assert!(stderr.contains(&format!("{path}:53: reg write b0 id 2: EACCES")), "{stderr}");
    assert_eq!(ctrl(&sim), 50);
}

#[test]
fn json_gives_one_result_per_line() {
    let sim = Simulator::start(BOARD);
    let text = "reg write b0 ctrl 5\nreg read b0 ctrl\nreg write b0 \\\n  id 3\nreg write b0 ctrl 6\n";
    let (out, _) = batch(&sim, text, &["-j"]);
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["ok"], true);
    // The reply as the spec names it: what reg-get answers.
    assert_eq!(lines[1]["reply"]["reg"][0]["value"], 5);
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(
        (lines[2]["ok"].as_bool(), lines[2]["errno"].as_str(), lines[2]["line"].as_u64()),
        (Some(false), Some("EACCES"), Some(3))
    );
    assert_eq!(lines[2]["command"], "reg write b0    id 3");
    assert_eq!(lines[2]["code"], libc::EACCES, "the errno's number too, as single commands' -j errors give it");
    // The write after the failure was in flight: reported as skipped, not run.
    assert_eq!((lines[3]["skipped"].as_bool(), lines[3]["line"].as_u64()), (Some(true), Some(5)));
    assert_eq!(ctrl(&sim), 5);
}

#[test]
fn pipelined_results_equal_sequential_ones() {
    let mut text = String::new();
    for value in 0..200 {
        text.push_str(&format!("reg write b0 ctrl {value}\nreg read b0 ctrl\n"));
        if value % 50 == 0 {
            text.push_str("dev list\nport list b0\nfault list b0\n");
        }
    }
    let run = |window: &str| {
        let sim = Simulator::start(BOARD);
        let (out, _) = batch(&sim, &text, &["-j", "--window", window]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut results = String::from_utf8(out.stdout).unwrap();
        // ifindexes, MACs and namespaces differ between simulators; the rest must not.
        results = results
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                strip(&mut v);
                v.to_string() + "\n"
            })
            .collect();
        (results, ctrl(&sim))
    };
    let (sequential, last_seq) = run("1");
    let (pipelined, last_pipe) = run("64");
    assert_eq!(last_seq, 199);
    assert_eq!(last_pipe, 199);
    assert_eq!(pipelined, sequential);
    assert_eq!(pipelined.lines().count(), 400 + 4 * 3);
}

fn strip(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("ifindex");
            map.remove("mac");
            map.remove("netns");
            map.values_mut().for_each(strip);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

#[test]
fn a_malformed_line_stops_the_batch_before_anything_runs() {
    let sim = Simulator::start(BOARD);
    let (out, path) = batch(&sim, "reg write b0 ctrl 9\nreg frob b0\n", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with(&format!("{path}:2: reg frob b0: EINVAL: unrecognized subcommand 'frob'")), "{stderr}");
    assert_eq!(ctrl(&sim), 0, "line 1 did not run either");
    let (out, path) = batch(&sim, "dev list\nreg write 'b0 ctrl 1\n", &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{path}:2: unterminated")));
}

#[test]
fn stdin_batches_mix_controller_commands_and_dumps() {
    let sim = Simulator::start(BOARD);
    let mut child = Command::new(simdev_tests::bin("genl-client"))
        .args(["--port", &sim.port.to_string(), "-b", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"reg write b0 ctrl 3\nctrl get simdev\ndev list\nreg read b0 ctrl\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let name = text.find("Name: simdev").unwrap();
    let dev = text.find("b0: id 1 backend veth").unwrap();
    let reg = text.find("b0 ctrl: offset 0x0 width 32 access rw reset 0x0 value 0x3").unwrap();
    assert!(name < dev && dev < reg, "output in line order: {text}");
}

/// What a socket remembers of its failed batches is its own: another
/// socket failing a thousand batches does not make it forget.
#[test]
fn failed_batches_of_other_sockets_do_not_flush_a_sockets_record() {
    use simdev_protocol::simdev::{cmd, dev_attr, DevSelector};
    use simdev_protocol::wire::{NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST};
    let sim = Simulator::start(BOARD);
    let write = |seq: u32, batch: u32, reg: &str| {
        let mut m = simdev_protocol::wire::MessageBuilder::genl(
            sim.family_id,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            0,
            cmd::REG_SET,
            1,
        );
        DevSelector::Name("b0".into()).encode(&mut m);
        m.put_str(dev_attr::REG_NAME, reg).put_u64(dev_attr::REG_VALUE, 9).put_u32(dev_attr::BATCH, batch);
        m.finish()
    };
    let status = |client: &mut simdev_netlink::client::Client, seq: u32| loop {
        for reply in client.recv_raw().unwrap() {
            let message = reply.message();
            if message.header.ty == NLMSG_ERROR && message.header.seq == seq {
                return simdev_protocol::extack::decode_status(&message).unwrap().error;
            }
        }
    };
    let mut victim = sim.client();
    victim.send_raw(&write(1, 5, "id")).unwrap();
    assert_eq!(status(&mut victim, 1), -libc::EACCES, "batch 5 fails");
    let mut other = sim.client();
    for batch in 1..=1100 {
        other.send_raw(&write(batch, batch, "id")).unwrap();
        assert_eq!(status(&mut other, batch), -libc::EACCES);
    }
    victim.send_raw(&write(2, 5, "ctrl")).unwrap();
    assert_eq!(status(&mut victim, 2), -libc::ECANCELED, "the victim's batch 5 is still stopped");
    assert_ne!(ctrl(&sim), 9, "and its later line did not run");
}

/// With `-j` every line gets one record, also the lines after a failure
/// (skipped, whether they were in flight or never sent), so the records do
/// not depend on the window.
#[test]
fn every_line_after_a_failure_gets_a_skipped_record_whatever_the_window() {
    let text = format!("{}ctrl get simdev\ndev list\n", script(20, 5));
    let run = |window: &str| {
        let sim = Simulator::start(BOARD);
        let (out, _) = batch(&sim, &text, &["-j", "--window", window]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(ctrl(&sim), 5);
        let records: Vec<serde_json::Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        records
    };
    let sequential = run("1");
    assert_eq!(sequential, run("64"));
    // 20 writes, the failing one (line 7), ctrl get, dev list; the comment
    // line has no record.
    let lines: Vec<u64> = sequential.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, (2..=24).collect::<Vec<u64>>());
    assert_eq!(sequential[5]["errno"], "EACCES", "{}", sequential[5]);
    assert!(sequential[6..].iter().all(|r| r["skipped"] == true && r["ok"] == false), "{sequential:?}");
    assert_eq!(sequential[22]["command"], "dev list");
}

/// The YNL grammar in a batch: `--family simdev --do|--dump` lines are
/// pipelined with the friendly ones and stop the batch the same way; other
/// YNL lines (here a spec file) run on their own, with the same answer.
#[test]
fn ynl_grammar_lines_run_in_a_batch() {
    let sim = Simulator::start(BOARD);
    let spec = TempFile::with_contents("simdev.yaml", simdev_protocol::simdev::SPEC_YAML);
    let spec = spec.0.display().to_string();
    let get = r#"--json '{"dev-name": "b0", "reg-name": "ctrl"}'"#;
    let text = format!(
        "--family simdev --do reg-set --json '{{\"dev-name\": \"b0\", \"reg-name\": \"ctrl\", \"reg-value\": 9}}'\n\
         reg read b0 ctrl\n\
         --family simdev --dump dev-get\n\
         --spec {spec} --do reg-get {get}\n\
         --family simdev --do reg-set --json '{{\"dev-name\": \"b0\", \"reg-name\": \"id\", \"reg-value\": 1}}'\n\
         --family simdev --do reg-set --json '{{\"dev-name\": \"b0\", \"reg-name\": \"ctrl\", \"reg-value\": 10}}'\n"
    );
    let (out, _) = batch(&sim, &text, &["-j"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(r.len(), 6, "{r:?}");
    assert_eq!((&r[0]["ok"], &r[0]["reply"]), (&true.into(), &serde_json::Value::Null), "only ACKed");
    assert_eq!(r[1]["reply"]["reg"][0]["value"], 9);
    assert_eq!(r[2]["reply"][0]["dev-name"], "b0", "a dump's reply is its list");
    assert_eq!(r[3]["reply"], r[1]["reply"], "the spec file's answer is the built-in one's");
    assert_eq!((&r[4]["errno"], &r[4]["attribute"]), (&"EACCES".into(), &"reg-name".into()), "{}", r[4]);
    assert_eq!(r[5]["skipped"], true);
    assert_eq!(ctrl(&sim), 9);

    // Text: as YNL prints it, whether pipelined (built-in spec) or run alone (file).
    let (out, _) = batch(&sim, &format!("--family simdev --do reg-get {get}\n--spec {spec} --do reg-get {get}\n"), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let (first, second) = text.split_at(text.len() / 2);
    assert_eq!(first, second, "{text}");
    assert!(first.starts_with("{'dev-id': 1,\n 'dev-name': 'b0',\n 'reg': [{"), "{first}");
}

#[test]
fn a_ynl_line_the_spec_refuses_stops_the_batch_before_anything_runs() {
    let sim = Simulator::start(BOARD);
    let cases = [
        ("--family simdev --do dev-frob", "simdev has no operation `dev-frob`"),
        ("--family simdev --dump dev-set", "simdev `dev-set` has no dump"),
        ("--family simdev --do dev-set --json '{\"mtu\": \"big\"}'", "--json: "),
        ("--family simdev --do dev-get --json '{'", "--json: "),
        ("--family simdev --do dev-get reg list b0", "not both"),
        ("--family nope --do dev-get", "no built-in spec for `nope`"),
    ];
    for (line, message) in cases {
        let (out, path) = batch(&sim, &format!("reg write b0 ctrl 9\n{line}\n"), &[]);
        assert_eq!(out.status.code(), Some(1), "{line}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(&format!("{path}:2: ")) && stderr.contains(message), "{line}: {stderr}");
        assert_eq!(ctrl(&sim), 0, "line 1 did not run: {line}");
    }
}
