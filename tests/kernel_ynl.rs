//! simdev's YNL spec against the kernel's own YNL material (Debian's
//! linux-source-6.12, fetched and cached by `tests/ynl/kernel-ynl`): the
//! spec passes the kernel's JSON schema, and the kernel's YNL CLI, run
//! unmodified under `genl-client exec` (the preload library shows it simdev
//! next to the kernel's families), reads the spec and drives the simulator: every operation, errors with
//! extended ACKs decoded to attribute names, notifications. Changes are
//! checked in the kernel (`ip`), not in the simulator's answers.

use simdev_protocol::simdev::{FAMILY, SPEC_YAML};
use simdev_tests::{eventually, has_flag, kernel_ynl, python, Simulator, TempFile};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

struct Ynl {
    dir: PathBuf,
    port: u32,
    spec: TempFile,
}

impl Ynl {
    fn new(dir: PathBuf, sim: &Simulator) -> Self {
        Ynl { dir, port: sim.port, spec: TempFile::with_contents("simdev.yaml", SPEC_YAML) }
    }

    fn schema(&self) -> PathBuf {
        self.dir.join("Documentation/netlink/genetlink.yaml")
    }

    /// The kernel's YNL CLI with these arguments, against the simulator.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run python3")
    }

    /// `genl-client --port P exec -- python3 cli.py --spec simdev.yaml ARGS`.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = simdev_tests::ynl_cli(self.port, &self.dir, &self.spec.0);
        command.arg("--schema").arg(self.schema()).args(args);
        command
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "ynl {args:?}: {}\n{text}", String::from_utf8_lossy(&out.stderr));
        text
    }

    /// Runs and expects a Netlink error; returns what YNL printed of it.
    fn error(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "ynl {args:?} should fail: {text}");
        assert!(text.contains("Netlink error"), "ynl {args:?}: not a netlink error: {text}");
        text
    }
}

const CONFIG: &str = r#"
[[device]]
name = "y0"
ports = 2
mac = "02:00:00:00:0a:00"

[[device.register]]
name = "ctrl"
offset = 0
width = 32
access = "rw"

[[device.sensor]]
name = "temp"
kind = "temperature"
unit = "mC"
value = 40000
min = -10000
max = 100000
"#;

#[test]
fn the_spec_passes_the_kernels_schema() {
    let Some(dir) = kernel_ynl() else { return };
    let spec = TempFile::with_contents("simdev.yaml", SPEC_YAML);
    let check = "import sys, yaml, jsonschema\n\
                 schema = yaml.safe_load(open(sys.argv[1]))\n\
                 jsonschema.validate(yaml.safe_load(open(sys.argv[2])), schema)\n";
    let out = Command::new(python())
        .args(["-c", check])
        .arg(dir.join("Documentation/netlink/genetlink.yaml"))
        .arg(&spec.0)
        .output()
        .expect("run python3 (needs the yaml and jsonschema modules: python3-yaml, python3-jsonschema)");
    assert!(out.status.success(), "the kernel's schema refuses simdev.yaml: {}", String::from_utf8_lossy(&out.stderr));
}

/// The YNL commands of the README and the family's document, run as
/// written (from the checkout's top, with `DIR` the fetched material and the
/// simulator's port in `SIMDEV_PORT`).
#[test]
fn the_documented_ynl_commands_work_as_written() {
    let Some(dir) = kernel_ynl() else { return };
    let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut text = String::new();
    for document in ["README.md", "docs/family.md"] {
        let Ok(contents) = std::fs::read_to_string(top.join(document)) else {
            simdev_tests::skip(&format!("{document} is not readable by this user"));
            return;
        };
        // Shell continuations joined.
        text.push_str(&contents.replace("\\\n", " "));
    }
    // Comments and code quotes dropped.
    let commands: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("cli.py --spec protocol/simdev.yaml"))
        .map(|l| l.split('#').next().unwrap().trim().trim_matches('`'))
        .collect();
    assert_eq!(commands.len(), 2, "the documented YNL commands: {commands:?}");
    let sim = Simulator::start(CONFIG);
    for command in commands {
        let words: Vec<String> =
            command.split_whitespace().map(|w| w.replace("DIR", &dir.display().to_string())).collect();
        assert_eq!(words[..4], ["genl-client", "exec", "--", "python3"], "{command}");
        let out = Command::new(simdev_tests::bin("genl-client"))
            .current_dir(top)
            .env(simdev_protocol::PORT_ENV, sim.port.to_string())
            .args(["exec", "--"])
            .arg(python())
            .args(&words[4..])
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("'dev-name': 'y0'"), "{command}: {stdout}");
    }
}

#[test]
fn the_kernels_ynl_cli_dumps_sets_and_decodes_errors() {
    let Some(dir) = kernel_ynl() else { return };
    let sim = Simulator::start(CONFIG);
    let ynl = Ynl::new(dir, &sim);

    let listed = ynl.ok(&["--list-ops"]);
    for command in FAMILY.commands {
        assert!(listed.contains(command.name), "--list-ops lacks {}: {listed}", command.name);
    }

    let dump: serde_json::Value = serde_json::from_str(&ynl.ok(&["--dump", "dev-get", "--output-json"])).unwrap();
    let ports = dump[0]["port"].as_array().expect("dev-get dump: y0 with its ports");
    assert_eq!(dump[0]["dev-name"], "y0");
    for port in ports {
        let link = sim.kernel_link(port["ifname"].as_str().unwrap());
        assert_eq!(port["ifindex"], link["ifindex"]);
        assert_eq!(port["mac"], link["address"], "display-hint mac");
        assert_eq!(port["oper-state"], link["operstate"].as_str().unwrap().to_lowercase(), "the oper-state enum");
    }

    ynl.ok(&["--do", "dev-set", "--json", r#"{"dev-name": "y0", "mtu": 1400}"#]);
    for name in ["y0p0", "y0p1"] {
        assert_eq!(sim.kernel_link(name)["mtu"], 1400, "{name}: the kernel has the MTU YNL set");
    }

    let text = ynl.error(&["--do", "dev-set", "--json", r#"{"dev-name": "y0", "mtu": 10}"#]);
    assert!(text.contains("error: -34"), "{text}");
    assert!(text.contains("'bad-attr': '.mtu'"), "the offset decodes to the attribute's name: {text}");
    assert!(text.contains("'min-value': 68"), "the policy's bounds: {text}");
    let text = ynl.error(&["--do", "port-get", "--json", r#"{"dev-name": "y0"}"#]);
    assert!(text.contains("'miss-type': 'port-index'"), "the spec's required attribute: {text}");
    let text = ynl.error(&["--do", "dev-get", "--json", r#"{"dev-name": "y0", "reg-name": "ctrl"}"#]);
    assert!(text.contains("'msg': 'Unsupported attribute'") && text.contains("'bad-attr': '.reg-name'"), "{text}");
    for name in ["y0p0", "y0p1"] {
        assert_eq!(sim.kernel_link(name)["mtu"], 1400, "{name}: refused requests changed nothing");
    }
}

/// CONFIG's simulator on the virtual clock: time passes only by
/// `clock-advance`, so every run answers alike.
/// A family served from a spec, for the `object-*` ops.
const CLOCKS_SPEC: &str = "name: clocks\nprotocol: genetlink\nattribute-sets:\n  - name: clock\n    attributes:\n      - { name: id, type: u32 }\n      - { name: rate, type: u64 }\noperations:\n  list:\n    - { name: clock-get, attribute-set: clock, do: { request: { attributes: [ id ] }, reply: { attributes: [ id, rate ] } } }\n";

/// CONFIG on the virtual clock, serving the `clocks` family too, and the
/// kernel's devlink when its spec is here (for `health-report`).
fn start_virtual() -> Simulator {
    let spec = TempFile::with_contents("clocks-spec", CLOCKS_SPEC);
    let mut config = format!("{CONFIG}\n[[family]]\nspec = \"{}\"\n", spec.0.display());
    if let Some(dir) = kernel_ynl() {
        let devlink = dir.join("Documentation/netlink/specs/devlink.yaml");
        config.push_str(&format!("\n[[family]]\nspec = \"{}\"\n", devlink.display()));
    }
    Simulator::try_start_in(None, &config, &["--clock", "virtual"]).unwrap()
}

/// A request for every mode of every operation, on CONFIG's device, in an
/// order whose answers do not depend on timing (except stats), for a
/// simulator on the virtual clock ([`start_virtual`]), `sim` or one like it.
fn every_request(sim: &Simulator) -> Vec<(&'static str, &'static str, String)> {
    let dev = r#""dev-name": "y0""#;
    // Group ids are allocated at startup, free of the kernel's.
    let config_group = sim.simdev().family().group_id("config").expect("simdev's config group");
    vec![
        ("dev-get", "--do", format!("{{{dev}}}")),
        ("dev-get", "--dump", "{}".into()),
        ("dev-set", "--do", format!("{{{dev}, \"up\": 1}}")),
        ("dev-new", "--do", r#"{"config": "name = \"y1\"\nports = 1\nmac = \"02:00:00:00:0b:00\"\n"}"#.into()),
        ("dev-del", "--do", r#"{"dev-name": "y1"}"#.into()),
        ("port-get", "--do", format!("{{{dev}, \"port-index\": 1}}")),
        ("port-get", "--dump", format!("{{{dev}}}")),
        ("port-set", "--do", format!("{{{dev}, \"port-index\": 1, \"carrier\": 0}}")),
        ("reg-get", "--do", format!("{{{dev}, \"reg-name\": \"ctrl\"}}")),
        ("reg-get", "--dump", "{}".into()),
        ("reg-set", "--do", format!("{{{dev}, \"reg-name\": \"ctrl\", \"reg-value\": 7}}")),
        ("sensor-get", "--do", format!("{{{dev}, \"sensor-name\": \"temp\"}}")),
        ("sensor-get", "--dump", "{}".into()),
        ("sensor-set", "--do", format!("{{{dev}, \"sensor-name\": \"temp\", \"sensor-value\": -5}}")),
        ("fw-get", "--do", format!("{{{dev}}}")),
        ("fw-get", "--dump", "{}".into()),
        ("fw-flash", "--do", format!("{{{dev}, \"fw-version\": \"2.0\"}}")),
        // The simulators run on the virtual clock: this ends the flash.
        ("clock-advance", "--do", r#"{"clock-advance-ms": 60000}"#.into()),
        ("clock-get", "--do", "{}".into()),
        ("stats-get", "--do", format!("{{{dev}}}")),
        ("stats-get", "--dump", "{}".into()),
        ("fault-set", "--do", format!("{{{dev}, \"fault-cmd\": \"reg-get\", \"fault-errno\": 5, \"fault-count\": 1}}")),
        ("fault-get", "--do", format!("{{{dev}}}")),
        ("fault-get", "--dump", "{}".into()),
        ("fault-clear", "--do", format!("{{{dev}}}")),
        ("dev-led-set", "--do", format!("{{{dev}, \"port-index\": 0, \"led-state\": \"on\"}}")),
        ("port-flap", "--do", format!("{{{dev}, \"port-index\": 0, \"flap-ms\": 10}}")),
        ("health-report", "--do", format!("{{{dev}, \"health-reporter\": \"dummy\", \"health-message\": \"x\"}}")),
        ("socket-set", "--do", r#"{"recv-size": 65536}"#.into()),
        (
            "object-new",
            "--do",
            r#"{"family-name": "clocks", "object-set": "clock", "object-attrs": "{\"id\": 2, \"rate\": 10}"}"#.into(),
        ),
        (
            "object-set",
            "--do",
            r#"{"family-name": "clocks", "object-set": "clock", "object-key": "{\"id\": 2}", "object-attrs": "{\"rate\": 20}"}"#
                .into(),
        ),
        ("object-del", "--do", r#"{"family-name": "clocks", "object-set": "clock", "object-key": "{\"id\": 2}"}"#.into()),
        ("family-get", "--do", r#"{"family-name": "clocks"}"#.into()),
        // Group 2 is simdev's first (config): the controller's notify is 1.
        ("subscribe", "--do", format!("{{\"mcast-group\": {config_group}}}")),
        ("unsubscribe", "--do", "{}".into()),
        // Last: its carrier flap would make later answers depend on timing.
        ("dev-reset", "--do", format!("{{{dev}}}")),
    ]
}

#[test]
fn every_operation_of_the_spec_runs_through_the_kernels_ynl_cli() {
    let Some(dir) = kernel_ynl() else { return };
    let sim = start_virtual();
    let ynl = Ynl::new(dir, &sim);
    // YNL raises on an attribute its spec does not know, so each answer
    // decoding is the check that replies carry only what the spec defines.
    let requests = every_request(&sim);
    for command in FAMILY.commands {
        for (mode, present) in [("--do", command.has_do), ("--dump", command.has_dump)] {
            let covered = requests.iter().any(|(name, m, _)| *name == command.name && *m == mode);
            assert_eq!(covered, present, "{} {mode}: every mode of every op is run here", command.name);
        }
    }
    for (name, mode, json) in &requests {
        let out = ynl.run(&["--no-schema", mode, name, "--json", json, "--output-json"]);
        assert!(
            out.status.success(),
            "{name} {mode} {json}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What the requests did, in the kernel.
    assert_eq!(sim.kernel_link("y0p1")["operstate"], "LOWERLAYERDOWN", "port-set carrier 0 through YNL");
    assert!(!sim.kernel_link_names().iter().any(|n| n.starts_with("y1")), "dev-new then dev-del through YNL");
}

/// `port-flap` through the kernel's YNL CLI, on the virtual clock: the
/// kernel loses the port's carrier at once and gets it back when simulated
/// time reaches `flap-ms`, not before; the other port is untouched.
#[test]
fn a_port_flap_drops_the_kernels_carrier_for_its_time() {
    let Some(dir) = kernel_ynl() else { return };
    let sim = start_virtual();
    let ynl = Ynl::new(dir, &sim);
    let carrier = |port: &str| {
        let link = sim.kernel_link(port);
        (link["operstate"].as_str().unwrap().to_string(), has_flag(&link, "LOWER_UP"))
    };
    // The kernel's LOWER_UP changes at once, its operstate a moment later
    // (linkwatch).
    let settles_to = |port: &str, operstate: &str, lower_up: bool| {
        eventually(&format!("{port} is {operstate}"), || carrier(port) == (operstate.to_string(), lower_up));
    };
    settles_to("y0p0", "UP", true);
    ynl.ok(&["--no-schema", "--do", "port-flap", "--json", r#"{"dev-name": "y0", "port-index": 0, "flap-ms": 1000}"#]);
    assert!(!carrier("y0p0").1, "unplugged at once");
    settles_to("y0p0", "LOWERLAYERDOWN", false);
    assert_eq!(carrier("y0p1"), ("UP".to_string(), true), "the other port is untouched");
    let mut simdev = sim.simdev();
    simdev.clock_advance(Duration::from_millis(999)).unwrap();
    assert_eq!(carrier("y0p0"), ("LOWERLAYERDOWN".to_string(), false), "still unplugged at 999 ms");
    simdev.clock_advance(Duration::from_millis(1)).unwrap();
    assert!(carrier("y0p0").1, "plugged in at 1000 ms");
    settles_to("y0p0", "UP", true);
    // Out of the spec's range: the policy's bounds come back, as from a kernel family.
    let out = ynl.run(&[
        "--no-schema",
        "--do",
        "port-flap",
        "--json",
        r#"{"dev-name": "y0", "port-index": 0, "flap-ms": 0}"#,
    ]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("'bad-attr': '.flap-ms'") && text.contains("'min-value': 1"), "{text}");
}

/// A request on a socket that joined the group its change is announced
/// on, encoded by the kernel's YNL library; prints what arrives until the
/// ACK, in order: `reply` (its seq is the request's), `ntf`, `ack`. (The
/// YNL 6.12 library's own `do()` cannot read that order: a notification
/// before the ACK makes it fail, on kernel families too.)
const OWN_NOTIFICATION: &str = r#"
import json, struct, sys
sys.path.insert(0, sys.argv[1] + "/tools/net/ynl")
from lib import YnlFamily
ynl = YnlFamily(sys.argv[2], "")
ynl.ntf_subscribe(sys.argv[3])
ynl.sock.send(ynl._encode_message(ynl.ops[sys.argv[4]], json.loads(sys.argv[5]), [], 4242), 0)
seen = []
while not seen or seen[-1] in ("ntf", "reply"):
    data = ynl.sock.recv(65536)
    offset = 0
    while offset < len(data):
        length, kind, flags, seq, port = struct.unpack_from("IHHII", data, offset)
        if kind == 2:
            error = struct.unpack_from("i", data, offset + 16)[0]
            seen.append("ack" if error == 0 else "error %d" % error)
        else:
            seen.append("reply" if seq == 4242 else "ntf")
        offset += (length + 3) & ~3
print(" ".join(seen))
"#;

/// The kernel's order, and the simulator's: a doit's notification comes
/// after its reply and before its ACK, to a socket that listens for it: the
/// kernel's ethtool (a veth's features, in a namespace of the test's own),
/// and simdev under `genl-client exec` (the join is simdev's unicast
/// subscription, so any user).
#[test]
fn a_changes_notification_comes_before_its_ack_as_from_the_kernel() {
    let Some(dir) = kernel_ynl() else { return };
    let script = TempFile::with_contents("own_ntf.py", OWN_NOTIFICATION);
    let ethtool = dir.join("Documentation/netlink/specs/ethtool.yaml");
    let wanted = r#"{"header": {"dev-name": "v0"}, "wanted": {"bits": {"bit": [{"name": "tx-checksum-ip-generic"}]}}}"#;
    let ns = simdev_tests::TestNamespace::new();
    ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    let out = ns
        .command(python())
        .arg(&script.0)
        .arg(&dir)
        .arg(&ethtool)
        .args(["monitor", "features-set", wanted])
        .output()
        .expect("run python3");
    let kernel = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success(), "{kernel}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(kernel, "reply ntf ack", "the kernel's ethtool: its reply, the notification, the ACK");

    let sim = Simulator::start(CONFIG);
    let ynl = Ynl::new(dir.clone(), &sim);
    let out = Command::new(simdev_tests::bin("genl-client"))
        .arg("--port")
        .arg(sim.port.to_string())
        .args(["exec", "--"])
        .arg(python())
        .arg(&script.0)
        .arg(&dir)
        .arg(&ynl.spec.0)
        .args(["config", "dev-set", r#"{"dev-name": "y0", "mtu": 1400}"#])
        .output()
        .expect("run python3");
    let simdev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success(), "{simdev}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(simdev, "ntf ack", "simdev, in the kernel's order (dev-set has no reply)");
}

#[test]
fn the_kernels_ynl_cli_receives_the_simulators_notifications() {
    let Some(dir) = kernel_ynl() else { return };
    let sim = Simulator::start(CONFIG);
    let ynl = Ynl::new(dir, &sim);
    // One YNL listens, another changes the device. (YNL 6.12 cannot do
    // both on one socket: a notification arriving before the answer to
    // its own request makes it fail, against the kernel's families too.)
    let listener = ynl
        .command(&["--no-schema", "--subscribe", "config", "--sleep", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python3");
    // Through the preload its join is simdev's unicast subscribe: no
    // privilege needed.
    sim.wait_for_subscribers(1);
    ynl.ok(&["--no-schema", "--do", "dev-set", "--json", r#"{"dev-name": "y0", "mtu": 1300}"#]);
    let out = listener.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("'name': 'dev-change-ntf'"), "{text}");
    assert!(text.contains("'mtu': 1300"), "the notification carries the device as it is now: {text}");
}

/// What the kernel's own spec reader (`tools/net/ynl/lib/nlspec.py`) makes
/// of a spec: op names with request and reply values, attribute values per
/// set, enum entry values. Printed as JSON by Python, compared with ours.
const NLSPEC_DUMP: &str = r#"
import json, sys
sys.path.insert(0, sys.argv[1] + "/tools/net/ynl")
from lib import SpecFamily
family = SpecFamily(sys.argv[2], "")
print(json.dumps({
    "ops": [[name, op.req_value, op.rsp_value] for name, op in family.msgs.items()],
    "sets": {name: [[a, attr.value] for a, attr in s.attrs.items()] for name, s in family.attr_sets.items()},
    "enums": {name: [[e, entry.user_value()] for e, entry in c.entries.items()]
              for name, c in family.consts.items() if c["type"] in ("enum", "flags")},
}, sort_keys=True))
"#;

fn ours(family: &simdev_ynl::Family) -> serde_json::Value {
    let ops: Vec<_> =
        family.ops.iter().map(|op| serde_json::json!([op.name, op.request_value, op.reply_value])).collect();
    let sets: serde_json::Map<_, _> = family
        .attr_sets
        .iter()
        .map(|set| (set.name.clone(), set.attrs.iter().map(|a| serde_json::json!([a.name, a.value])).collect()))
        .collect();
    let enums: serde_json::Map<_, _> = family
        .enums
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.entries.iter().map(|entry| serde_json::json!([entry.name, e.user_value(entry)])).collect(),
            )
        })
        .collect();
    serde_json::json!({"ops": ops, "sets": sets, "enums": enums})
}

#[test]
fn specs_resolve_as_the_kernels_own_reader_resolves_them() {
    let Some(dir) = kernel_ynl() else { return };
    let simdev = TempFile::with_contents("simdev.yaml", SPEC_YAML);
    let mut specs = vec![simdev.0.clone()];
    for entry in std::fs::read_dir(dir.join("Documentation/netlink/specs")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("protocol: netlink-raw") {
            specs.push(path);
        }
    }
    assert!(specs.len() > 10, "the kernel's Generic Netlink specs: {specs:?}");
    for path in specs {
        let family = simdev_ynl::Family::from_yaml(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = Command::new(python()).args(["-c", NLSPEC_DUMP]).arg(&dir).arg(&path).output().unwrap();
        assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ours = ours(&family);
        for section in ["ops", "sets", "enums"] {
            if ours[section] == theirs[section] {
                continue;
            }
            let differing = match (&ours[section], &theirs[section]) {
                (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                    a.keys().chain(b.keys()).find(|k| a.get(*k) != b.get(*k)).cloned().unwrap_or_default()
                }
                _ => String::new(),
            };
            panic!(
                "{}: {section} {differing}: ours {} vs nlspec.py {}",
                path.display(),
                ours[section].get(&differing).unwrap_or(&ours[section]),
                theirs[section].get(&differing).unwrap_or(&theirs[section])
            );
        }
    }
}

/// JSON with the order of flag sets left out: YNL makes them Python sets,
/// whose order is the interpreter's (lists of strings are sorted).
fn without_set_order(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Array(items) if items.iter().all(|i| i.is_string()) => {
            let mut items = items;
            items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            serde_json::Value::Array(items)
        }
        serde_json::Value::Array(items) => items.into_iter().map(without_set_order).collect(),
        serde_json::Value::Object(map) => map.into_iter().map(|(k, v)| (k, without_set_order(v))).collect(),
        other => other,
    }
}

#[test]
fn genl_client_gives_the_kernels_ynl_results_on_netdev_and_ethtool() {
    let Some(dir) = kernel_ynl() else { return };
    let ns = simdev_tests::TestNamespace::new();
    ns.ip(&["link", "add", "ynl0", "numtxqueues", "3", "numrxqueues", "3", "type", "veth", "peer", "ynl1"]);
    ns.ip(&["link", "set", "ynl0", "up"]);
    let specs = dir.join("Documentation/netlink/specs");
    let cases: Vec<(&str, Vec<&str>, bool)> = vec![
        ("netdev", vec!["--dump", "dev-get"], false),
        ("netdev", vec!["--do", "dev-get", "--json", r#"{"ifindex": 1}"#], false),
        ("ethtool", vec!["--do", "linkinfo-get", "--json", r#"{"header": {"dev-name": "ynl0"}}"#], true),
        ("ethtool", vec!["--do", "channels-get", "--json", r#"{"header": {"dev-name": "ynl0"}}"#], true),
        ("ethtool", vec!["--dump", "channels-get"], true),
        ("ethtool", vec!["--do", "linkstate-get", "--json", r#"{"header": {"dev-name": "ynl1"}}"#], true),
        ("ethtool", vec!["--do", "tsinfo-get", "--json", r#"{"header": {"dev-name": "ynl0"}}"#], true),
        ("ethtool", vec!["--do", "linkmodes-get", "--json", r#"{"header": {"dev-name": "ynl0"}}"#], true),
        ("ethtool", vec!["--do", "strset-get", "--json", r#"{"header": {"dev-name": "ynl0"}}"#], true),
        ("ethtool", vec!["--do", "features-get", "--json", r#"{"header": {"dev-name": "ynl0"}}"#], true),
    ];
    for (family, args, compare_text) in cases {
        let spec = specs.join(format!("{family}.yaml"));
        let ynl = |json: bool| {
            let mut command = ns.command(python());
            command.arg(dir.join("tools/net/ynl/cli.py")).arg("--no-schema").arg("--spec").arg(&spec).args(&args);
            if json {
                command.arg("--output-json");
            }
            command.output().unwrap()
        };
        let ours = |json: bool| {
            let mut command = ns.command(simdev_tests::bin("genl-client"));
            command.arg("--kernel").arg("--spec").arg(&spec).args(&args);
            if json {
                command.arg("-j");
            }
            command.output().unwrap()
        };
        let (theirs_json, ours_json) = (ynl(true), ours(true));
        let case = format!("{family} {args:?}");
        assert!(theirs_json.status.success(), "{case}: YNL: {}", String::from_utf8_lossy(&theirs_json.stdout));
        assert!(ours_json.status.success(), "{case}: genl-client: {}", String::from_utf8_lossy(&ours_json.stderr));
        let parse = |out: &Output| -> serde_json::Value {
            serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{case}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
        };
        assert_eq!(without_set_order(parse(&ours_json)), without_set_order(parse(&theirs_json)), "{case}: JSON");
        if compare_text {
            // No flag sets in these answers: YNL's pprint text, byte for byte.
            assert_eq!(
                String::from_utf8_lossy(&ours(false).stdout),
                String::from_utf8_lossy(&ynl(false).stdout),
                "{case}"
            );
        }
    }
    // A refusal of the kernel's: both fail with its errno.
    let args = ["--do", "rings-get", "--json", r#"{"header": {"dev-name": "ynl0"}}"#];
    let spec = specs.join("ethtool.yaml");
    let ours = ns
        .command(simdev_tests::bin("genl-client"))
        .arg("--kernel")
        .arg("--spec")
        .arg(&spec)
        .args(args)
        .arg("-j")
        .output()
        .unwrap();
    assert_eq!(ours.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
    assert_eq!(error["error"]["errno"], "EOPNOTSUPP", "veth has no rings: {error}");
}

/// An answer without what differs between two simulators of one config
/// (where their netdevs live) or between runs (counters).
fn comparable(mut value: serde_json::Value) -> serde_json::Value {
    if let Some(items) = value.as_array_mut() {
        items.iter_mut().for_each(|item| *item = comparable(item.take()));
    }
    if let Some(map) = value.as_object_mut() {
        map.remove("netns");
    }
    value
}

#[test]
fn genl_client_drives_every_operation_as_the_kernels_ynl_does() {
    let Some(dir) = kernel_ynl() else { return };
    // Two simulators of one config: YNL drives one, genl-client the other.
    let (theirs, ours) = (start_virtual(), start_virtual());
    let ynl = Ynl::new(dir, &theirs);
    for (name, mode, json) in every_request(&theirs) {
        let their_out = ynl.run(&["--no-schema", mode, name, "--json", &json, "--output-json"]);
        let our_out = ours.cli(&["--family", "simdev", mode, name, "--json", &json, "-j"]);
        let case = format!("{name} {mode} {json}");
        assert!(their_out.status.success(), "{case}: YNL: {}", String::from_utf8_lossy(&their_out.stdout));
        assert!(our_out.status.success(), "{case}: genl-client: {}", String::from_utf8_lossy(&our_out.stderr));
        if name == "stats-get" {
            continue; // kernel counters move on their own
        }
        let parse = |out: &Output| -> serde_json::Value { serde_json::from_slice(&out.stdout).expect("JSON") };
        assert_eq!(comparable(parse(&our_out)), comparable(parse(&their_out)), "{case}: genl-client (left) vs YNL");
    }
    assert_eq!(ours.kernel_link("y0p1")["operstate"], "LOWERLAYERDOWN", "port-set carrier 0 through genl-client");
}
