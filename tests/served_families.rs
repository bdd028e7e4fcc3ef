//! Families served from their kernel YNL specs (`[[family]]`): the
//! kernel's YNL CLI and iproute2's `genl`, unmodified, under
//! `genl-client exec`, reach a simulated dpll driver on a kernel that has
//! none; its errors have the kernel's shape; and netdev, served from its
//! spec with the kernel's own objects, answers byte for byte as the
//! kernel's netdev does.

use simdev_netlink::client::{Client, Reply};
use simdev_protocol::wire::{MessageBuilder, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use simdev_protocol::ynl::codec::Codec;
use simdev_tests::{exchange, kernel_ynl, python, Simulator, TempFile};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn spec(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("Documentation/netlink/specs/{name}.yaml"))
}

/// A simulated dpll device with two dplls and a pin, as a driver would
/// register them.
fn dpll_config(dir: &Path) -> String {
    format!(
        r#"
[[device]]
name = "d0"
ports = 1

[[family]]
spec = "{}"

[[family.object]]
set = "dpll"
id = 0
module-name = "simdpll"
clock-id = 4660
type = "eec"
mode = "automatic"
lock-status = "locked"

[[family.object]]
set = "dpll"
id = 1
module-name = "simdpll"
clock-id = 4660
type = "pps"
mode = "manual"
lock-status = "unlocked"

[[family.object]]
set = "pin"
id = 0
module-name = "simdpll"
clock-id = 4660
board-label = "GNSS"
type = "gnss"
frequency = 1
"#,
        spec(dir, "dpll").display()
    )
}

/// The kernel's YNL CLI, under `genl-client exec`, on spec `spec`.
fn ynl(dir: &Path, sim: &Simulator, spec: &Path, args: &[&str]) -> Command {
    let mut command = simdev_tests::ynl_cli(sim.port, dir, spec);
    command.arg("--no-schema").args(args);
    command
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn ok_json(command: &mut Command) -> serde_json::Value {
    let out = command.arg("--output-json").output().expect("run python3");
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

#[test]
fn the_kernels_ynl_cli_drives_a_simulated_dpll() {
    let Some(dir) = kernel_ynl() else { return };
    let sim = Simulator::start(&dpll_config(&dir));
    let dpll = spec(&dir, "dpll");
    let devices = ok_json(&mut ynl(&dir, &sim, &dpll, &["--dump", "device-get"]));
    let expected = serde_json::json!([
        {"id": 0, "module-name": "simdpll", "mode": "automatic", "lock-status": "locked", "clock-id": 4660, "type": "eec"},
        {"id": 1, "module-name": "simdpll", "mode": "manual", "lock-status": "unlocked", "clock-id": 4660, "type": "pps"},
    ]);
    assert_eq!(devices, expected, "the configured objects");
    let id = ok_json(&mut ynl(
        &dir,
        &sim,
        &dpll,
        &["--do", "device-id-get", "--json", r#"{"module-name": "simdpll", "clock-id": 4660, "type": "pps"}"#],
    ));
    assert_eq!(id, serde_json::json!({"id": 1}), "a lookup by other attributes answers the reply's only");

    let out = ynl(&dir, &sim, &dpll, &["--do", "device-get", "--json", r#"{"id": 9}"#]).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("error: -2"), "ENOENT: {}", text(&out));
    assert!(
        text(&out).contains("extack: {'msg': 'no dpll object with id 9', 'bad-attr': '.id'}"),
        "the extack names the key: {}",
        text(&out)
    );

    let set = ynl(&dir, &sim, &dpll, &["--do", "pin-set", "--json", r#"{"id": 0, "frequency": 10000000}"#]).output();
    let set = set.unwrap();
    assert!(set.status.success(), "{}", text(&set));
    let pin = ok_json(&mut ynl(&dir, &sim, &dpll, &["--do", "pin-get", "--json", r#"{"id": 0}"#]));
    assert_eq!(pin["frequency"], 10000000, "{pin}");
    assert_eq!(pin["board-label"], "GNSS", "the other attributes stay: {pin}");

    let out = ynl(&dir, &sim, &dpll, &["--do", "pin-set", "--json", r#"{"frequency": 5}"#]).output().unwrap();
    assert!(text(&out).contains("error: -22") && text(&out).contains("'miss-type'"), "no key: {}", text(&out));
}

#[test]
fn a_listener_sees_a_served_familys_notifications() {
    let Some(dir) = kernel_ynl() else { return };
    let sim = Simulator::start(&dpll_config(&dir));
    let dpll = spec(&dir, "dpll");
    // One YNL listens, another changes the pin (YNL 6.12 cannot do both on
    // one socket, against the kernel's families too).
    let listener = ynl(&dir, &sim, &dpll, &["--subscribe", "monitor", "--sleep", "3", "--output-json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    sim.wait_for_subscribers(1);
    let set = ynl(&dir, &sim, &dpll, &["--do", "pin-set", "--json", r#"{"id": 0, "frequency": 25}"#]).output();
    assert!(set.as_ref().unwrap().status.success(), "{}", text(set.as_ref().unwrap()));
    let out = listener.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let notifications: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(notifications[0]["name"], "pin-change-ntf", "{notifications}");
    assert_eq!(notifications[0]["msg"]["frequency"], 25, "{notifications}");
    assert_eq!(notifications[0]["msg"]["board-label"], "GNSS", "the whole pin, as pin-get replies: {notifications}");
}

#[test]
fn iproute2s_genl_lists_the_served_family() {
    let Some(dir) = kernel_ynl() else { return };
    let sim = Simulator::start(&dpll_config(&dir));
    let out = Command::new(simdev_tests::bin("genl-client"))
        .arg("--port")
        .arg(sim.port.to_string())
        .args(["exec", "--", "genl", "ctrl", "list"])
        .output()
        .expect("run genl");
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    let dpll = listing.split("Name: ").find(|entry| entry.starts_with("dpll")).unwrap_or_else(|| panic!("{listing}"));
    assert!(dpll.contains("name: monitor"), "its group: {dpll}");
    assert!(listing.contains("Name: nlctrl") && listing.contains("Name: simdev"), "{listing}");
}

/// `spec`'s text with the first `name: NAME` attribute's type changed.
fn retyped(spec: &Path, name: &str, from: &str, to: &str) -> TempFile {
    let text = std::fs::read_to_string(spec).unwrap();
    let at = text.find(&format!("name: {name}\n")).expect("the attribute");
    let (head, tail) = text.split_at(at);
    let tail = tail.replacen(&format!("type: {from}"), &format!("type: {to}"), 1);
    TempFile::with_contents(&format!("{name}-{to}.yaml"), &format!("{head}{tail}"))
}

/// What YNL prints of a Netlink error, without the lengths and the values
/// of the policy (each family's own).
fn error_shape(out: &Output) -> (String, String) {
    let text = text(out);
    let errno = text.lines().find(|l| l.trim().starts_with("error:")).unwrap_or_default().trim().to_string();
    let extack = text.lines().find(|l| l.trim().starts_with("extack:")).unwrap_or_default().to_string();
    (errno, extack.split("'policy'").next().unwrap().trim().to_string())
}

#[test]
fn a_wrong_attribute_type_is_refused_as_a_kernel_family_refuses_it() {
    let Some(dir) = kernel_ynl() else { return };
    // The kernel's netdev, asked with an ifindex of 8 bytes.
    let netdev = retyped(&spec(&dir, "netdev"), "ifindex", "u32", "u64");
    let kernel = Command::new(python())
        .arg(dir.join("tools/net/ynl/cli.py"))
        .args(["--no-schema", "--spec"])
        .arg(&netdev.0)
        .args(["--do", "dev-get", "--json", r#"{"ifindex": 1}"#])
        .output()
        .unwrap();
    let sim = Simulator::start(&dpll_config(&dir));
    let dpll = retyped(&spec(&dir, "dpll"), "id", "u32", "u64");
    let served = ynl(&dir, &sim, &dpll.0, &["--do", "device-get", "--json", r#"{"id": 1}"#]).output().unwrap();
    let (kernel_errno, kernel_extack) = error_shape(&kernel);
    assert_eq!(kernel_errno, "error: -22", "{}", text(&kernel));
    assert!(kernel_extack.contains("'msg': 'invalid attribute length'"), "{}", text(&kernel));
    assert_eq!(error_shape(&served), (kernel_errno, kernel_extack.replace("ifindex", "id")), "{}", text(&served));
    assert!(text(&served).contains("'type': 'u32'"), "the policy it failed: {}", text(&served));
}

/// Every message of `replies` with what differs between two families by
/// design masked: the family id (`nlmsg_type`, also in an error's echoed
/// header), the sequence number and the port.
fn masked(replies: &[Reply]) -> Vec<Vec<u8>> {
    replies
        .iter()
        .map(|reply| {
            let mut bytes = reply.message().bytes.to_vec();
            let long_error = bytes.len() >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN;
            let mut mask = |at: usize, len: usize| bytes[at..at + len].fill(0);
            let header = reply.message().header;
            if header.ty != NLMSG_ERROR && header.ty != simdev_protocol::wire::NLMSG_DONE {
                mask(4, 2);
            }
            mask(8, 8);
            if header.ty == NLMSG_ERROR && long_error {
                let echoed = NLMSG_HDRLEN + 4;
                mask(echoed + 4, 2);
                mask(echoed + 8, 8);
            }
            bytes
        })
        .collect()
}

#[test]
fn netdev_served_from_its_spec_answers_as_the_kernels_netdev() {
    let Some(dir) = kernel_ynl() else { return };
    let netdev = spec(&dir, "netdev");
    let family = simdev_ynl::Family::from_yaml(&std::fs::read_to_string(&netdev).unwrap()).unwrap();
    let codec = Codec::new(&family);
    let request = |id: u16, seq: u32, flags: u16, ifindex: Option<u32>| {
        let mut message = MessageBuilder::genl(id, NLM_F_REQUEST | flags, seq, 0, 1, 1);
        if let Some(ifindex) = ifindex {
            message.put_u32(1, ifindex);
        }
        message.finish()
    };
    // The kernel's own netdevs (this namespace's; only read).
    let mut kernel = Client::kernel().unwrap();
    let kernel_id = kernel.resolve_family("netdev").unwrap().id;
    let kernel_dump = exchange(&mut kernel, &request(kernel_id, 5, NLM_F_DUMP, None), 5);
    let kernel_missing = exchange(&mut kernel, &request(kernel_id, 6, NLM_F_ACK, Some(0x7fff_0000)), 6);
    // dev-get's dump takes no request attributes: a split op's mode
    // without a policy, whose requests the kernel does not parse.
    let kernel_stray = exchange(&mut kernel, &request(kernel_id, 7, NLM_F_DUMP, Some(0x7fff_0000)), 7);

    let mut objects = String::new();
    for reply in kernel_dump.iter().filter(|r| r.message().header.ty == kernel_id) {
        let value = codec.decode("dev", reply.message().genl_attrs(0)).unwrap().to_json();
        let toml = toml_line(&value);
        objects += &format!("\n[[family.object]]\nset = \"dev\"\n{toml}\n");
    }
    let config = format!(
        "[[device]]\nname = \"n0\"\nports = 1\n\n[[family]]\nspec = \"{}\"\nnot-found = {{ errno = \"ENODEV\", extack = false }}\ndump-multi = false\n{objects}",
        netdev.display()
    );
    let sim = Simulator::start(&config);
    let mut client = sim.client();
    let served_id = client.resolve_family("netdev").unwrap().id;
    assert_ne!(served_id, kernel_id, "its own id, not the kernel's");
    let served_dump = exchange(&mut client, &request(served_id, 5, NLM_F_DUMP, None), 5);
    let served_missing = exchange(&mut client, &request(served_id, 6, NLM_F_ACK, Some(0x7fff_0000)), 6);
    let served_stray = exchange(&mut client, &request(served_id, 7, NLM_F_DUMP, Some(0x7fff_0000)), 7);
    assert!(kernel_dump.len() >= 2, "at least one netdev and NLMSG_DONE");
    assert_eq!(masked(&served_dump), masked(&kernel_dump), "the dump, message for message");
    assert_eq!(masked(&served_missing), masked(&kernel_missing), "dev-get of an ifindex that does not exist");
    assert_eq!(masked(&kernel_stray), masked(&kernel_dump), "the kernel ignores the dump's stray attribute");
    assert_eq!(masked(&served_stray), masked(&kernel_stray), "a dump with a stray attribute");
}

/// A JSON object's members as TOML `key = value` lines (YNL's JSON of a
/// netdev: integers and lists of names).
fn toml_line(value: &serde_json::Value) -> String {
    let serde_json::Value::Object(map) = value else { panic!("an object") };
    map.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join("\n")
}

/// `driver-sim --check-config` on `config`: its first line of output.
fn check_config(config: &str) -> (bool, String) {
    let file = TempFile::with_contents("family-config", config);
    let out = Command::new(simdev_tests::bin("driver-sim")).arg("--config").arg(&file.0).arg("--check-config").output();
    let out = out.expect("run driver-sim");
    let text = text(&out).replace(&file.0.display().to_string(), "lab.toml");
    (out.status.success(), text.trim().to_string())
}

const SMALL_SPEC: &str = "name: clocks\nprotocol: genetlink\nattribute-sets:\n  - name: clock\n    attributes:\n      - { name: id, type: u32 }\noperations:\n  list:\n    - { name: clock-get, attribute-set: clock, do: { request: { attributes: [ id ] }, reply: { attributes: [ id ] } } }\n";

#[test]
fn bad_family_configurations_are_refused_with_their_line() {
    let spec = TempFile::with_contents("clocks-spec", SMALL_SPEC);
    let spec = spec.0.display().to_string();
    let refused = |config: &str, wanted: &str| {
        let (ok, text) = check_config(config);
        assert!(!ok, "accepted: {config}");
        assert!(text.contains(wanted), "{config}\nsays: {text}\nnot: {wanted}");
    };
    refused(
        "[[family]]\nspec = \"no-such-family\"\n",
        "lab.toml:2:8: family.spec: no kernel spec named `no-such-family`",
    );
    refused("[[family]]\nspec = \"/nonexistent/x.yaml\"\n", "/nonexistent/x.yaml: no such file");
    refused(
        &format!("[[family]]\nspec = \"{spec}\"\n[[family]]\nspec = \"{spec}\"\n"),
        "family clocks is served twice",
    );
    refused(
        &format!("[[family]]\nspec = \"{spec}\"\n\n[[family.object]]\nset = \"clock\"\nid = \"seven\"\n"),
        "lab.toml:4:1: family.object: set clock:",
    );
    refused(
        &format!("[[family]]\nspec = \"{spec}\"\nnot-found = {{ errno = \"EBOGUS\" }}\n"),
        "family.not-found.errno: EBOGUS is not an errno",
    );
    let simdev = TempFile::with_contents("simdev-spec", simdev_protocol::simdev::SPEC_YAML);
    refused(&format!("[[family]]\nspec = \"{}\"\n", simdev.0.display()), "family simdev is the simulator's own");
    let unservable = SMALL_SPEC.replace("type: u32 }", "type: binary, checks: { max-len: 4 } }");
    let unservable = TempFile::with_contents("unservable-spec", &unservable);
    refused(
        &format!("[[family]]\nspec = \"{}\"\n", unservable.0.display()),
        "family clocks cannot be served: clock.id: a binary with a max-len has no kernel policy simdev can validate",
    );
    let (ok, text) =
        check_config(&format!("[[family]]\nspec = \"{spec}\"\n\n[[family.object]]\nset = \"clock\"\nid = 7\n"));
    assert!(ok, "{text}");
    assert!(text.ends_with("family clocks (1 object)"), "{text}");
}

const SPECS_BEGIN: &str = "<!-- generated from the kernel's specs by tests/served_families.rs: begin -->\n";
const SPECS_END: &str = "<!-- generated: end -->\n";

/// Every Generic Netlink spec of the kernel's YNL material either loads
/// as a served family or is refused with what it needs that simdev lacks;
/// docs/driver-sim.md lists which (`SIMDEV_UPDATE_DOCS=1` rewrites it).
#[test]
fn every_kernel_spec_is_served_or_refused_with_the_reason() {
    let Some(dir) = kernel_ynl() else { return };
    let mut specs: Vec<PathBuf> = std::fs::read_dir(dir.join("Documentation/netlink/specs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    specs.sort();
    let mut table = String::from("| spec | served | what it has, or why not |\n|---|---|---|\n");
    for path in &specs {
        let text = std::fs::read_to_string(path).unwrap();
        if text.lines().any(|line| line.trim() == "protocol: netlink-raw") {
            continue; // classic netlink (rtnetlink, nftables): not Generic Netlink
        }
        let stem = path.file_stem().unwrap().to_string_lossy();
        let family = simdev_ynl::Family::from_yaml(&text).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let own = family.name == simdev_protocol::ctrl::CTRL_FAMILY.name;
        let row = match simdev_protocol::served::family_spec(&family) {
            Ok(_) if own => format!("| {stem} | no | the simulator's own controller, emulated |"),
            Ok(spec) => {
                let groups =
                    if spec.mcast_groups.is_empty() { "no groups".into() } else { spec.mcast_groups.join(", ") };
                format!(
                    "| {stem} | yes | {} ops, {} notifications; groups: {groups} |",
                    spec.commands.len(),
                    spec.notifications.len()
                )
            }
            Err(why) => {
                assert!(!why.is_empty() && why.len() < 200, "{stem}: a precise reason: {why}");
                format!("| {stem} | no | {} |", why.replace('|', "\\|"))
            }
        };
        table += &row;
        table.push('\n');
    }
    for served in ["dpll", "netdev", "devlink", "team"] {
        assert!(table.contains(&format!("| {served} | yes |")), "{served} is served:\n{table}");
    }
    simdev_tests::check_generated_section("docs/driver-sim.md", SPECS_BEGIN, SPECS_END, &table, "served_families");
}

/// The README's served-family example, as written: its TOML (the kernel's
/// dpll spec by name) and its YNL command.
#[test]
fn the_readmes_served_family_example_works_as_written() {
    let Some(dir) = kernel_ynl() else { return };
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Ok(readme) = std::fs::read_to_string(top.join("README.md")) else {
        simdev_tests::skip("README.md is not readable by this user");
        return;
    };
    let section = &readme[readme.find("### Families from their YNL specs").expect("the section")..];
    let toml = section.split("```toml\n").nth(1).and_then(|rest| rest.split("```").next()).expect("its TOML");
    let command = section.split("```sh\n").nth(1).and_then(|rest| rest.split("```").next()).expect("its command");
    let words: Vec<String> =
        command.replace("\\\n", " ").split_whitespace().map(|w| w.replace("DIR", &dir.display().to_string())).collect();
    assert_eq!(words[..4], ["genl-client", "exec", "--", "python3"], "{command}");
    // `spec = "dpll"` is found where tests/ynl/kernel-ynl put it.
    let specs = dir.join("Documentation/netlink/specs");
    let inner = simdev_testing::Simulator::builder(&format!("[[device]]\nname = \"r0\"\n\n{toml}"))
        .program(simdev_tests::bin("driver-sim"))
        .prefix(["env".to_string(), format!("SIMDEV_SPEC_DIR={}", specs.display())])
        .start()
        .expect("driver-sim starts on the README's TOML");
    let out = Command::new(simdev_tests::bin("genl-client"))
        .env(simdev_protocol::PORT_ENV, inner.port().to_string())
        .args(&words[1..3])
        .arg(python())
        .args(&words[4..])
        .output()
        .unwrap();
    assert!(out.status.success(), "{command}: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("'module-name': 'simdpll'") && stdout.contains("'mode': 'automatic'"), "{stdout}");
}

/// pyroute2's `GenericNetlinkSocket`, unmodified under `exec`, resolves the
/// served dpll by name and dumps its devices (the script simdev's own
/// pyroute2 test runs, with dpll's numbers from its spec).
#[test]
fn pyroute2_reaches_a_served_family() {
    let Some(dir) = kernel_ynl() else { return };
    let packages = simdev_tests::python_packages();
    if !packages.join("pyroute2").is_dir() {
        simdev_tests::skip("pyroute2 is not installed (.ci/run installs it in /opt/simdev-python)");
        return;
    }
    let sim = Simulator::start(&dpll_config(&dir));
    let family = simdev_ynl::Family::from_yaml(&std::fs::read_to_string(spec(&dir, "dpll")).unwrap()).unwrap();
    let set = family.attr_set("dpll").unwrap();
    let numbers = [
        family.version.to_string(),
        family.op("device-get").unwrap().request_value.unwrap().to_string(),
        set.attr("id").unwrap().value.to_string(),
        set.attr("module-name").unwrap().value.to_string(),
    ];
    let script = TempFile::with_contents("pyroute2_dump.py", include_str!("clients/pyroute2_dump.py"));
    let out = Command::new(simdev_tests::bin("genl-client"))
        .arg("--port")
        .arg(sim.port.to_string())
        .args(["exec", "--"])
        .arg(python())
        .arg(&script.0)
        .arg("dpll")
        .args(numbers)
        .env("PYTHONPATH", packages)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let served_id = sim.client().resolve_family("dpll").unwrap().id;
    assert_eq!(lines[0]["family_id"], served_id, "the served family's id");
    let devices: Vec<(u64, &str)> =
        lines[1..].iter().map(|l| (l["dev_id"].as_u64().unwrap(), l["dev_name"].as_str().unwrap())).collect();
    assert_eq!(devices, [(0, "simdpll"), (1, "simdpll")]);
}

/// `[[family.fault]]` on a served family's op: its errno once, then the op
/// runs; a fault on an op the family does not have is refused at startup.
#[test]
fn faults_apply_to_a_served_familys_ops() {
    let Some(dir) = kernel_ynl() else { return };
    let config =
        format!("{}\n[[family.fault]]\ncommand = \"pin-set\"\nerrno = \"EBUSY\"\ncount = 1\n", dpll_config(&dir));
    let sim = Simulator::start(&config);
    let dpll = spec(&dir, "dpll").display().to_string();
    let set = || sim.cli(&["--spec", &dpll, "--do", "pin-set", "--json", r#"{"id": 0, "frequency": 3}"#]);
    let first = set();
    assert!(!first.status.success());
    assert!(
        text(&first).contains("EBUSY") && text(&first).contains("injected fault: pin-set fails with EBUSY"),
        "{}",
        text(&first)
    );
    let second = set();
    assert!(second.status.success(), "once only: {}", text(&second));

    let (ok, text) =
        check_config(&format!("{}\n[[family.fault]]\ncommand = \"flash\"\nerrno = \"EIO\"\n", dpll_config(&dir)));
    assert!(!ok && text.contains("family.fault `flash`: `flash` is not an op of dpll"), "{text}");
}

/// `genl-client family NAME new|set|del` (simdev's `object-*` ops): the
/// simulated hardware changes what the family's own ops cannot (a dpll's
/// lock status), programs see it and hear of it, and bad requests are
/// named.
#[test]
fn served_objects_change_at_run_time() {
    let Some(dir) = kernel_ynl() else { return };
    let sim = Simulator::start(&dpll_config(&dir));
    let dpll = spec(&dir, "dpll");
    let listener = ynl(&dir, &sim, &dpll, &["--subscribe", "monitor", "--sleep", "3", "--output-json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    sim.wait_for_subscribers(1);
    let ok = |args: &[&str]| {
        let out = sim.cli(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    };
    ok(&["family", "dpll", "set", "dpll", r#"{"id": 1}"#, r#"{"lock-status": "locked"}"#]);
    ok(&["family", "dpll", "new", "pin", r#"{"id": 1, "board-label": "SMA1", "type": "ext"}"#]);
    ok(&["family", "dpll", "del", "pin", r#"{"id": 0}"#]);
    let device = ok_json(&mut ynl(&dir, &sim, &dpll, &["--do", "device-get", "--json", r#"{"id": 1}"#]));
    assert_eq!(device["lock-status"], "locked", "{device}");
    let pins = ok_json(&mut ynl(&dir, &sim, &dpll, &["--dump", "pin-get"]));
    assert_eq!(pins, serde_json::json!([{"id": 1, "board-label": "SMA1", "type": "ext"}]));
    let out = listener.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let heard: Vec<String> = serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
        .expect("json")
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(heard, ["device-change-ntf", "pin-create-ntf", "pin-delete-ntf"]);

    let refused = |args: &[&str], wanted: &str| {
        let out = sim.cli(args);
        assert!(!out.status.success() && text(&out).contains(wanted), "{args:?}: {}", text(&out));
    };
    refused(&["family", "team", "del", "x", "{}"], "no family team is served from a spec (served: dpll)");
    refused(&["family", "dpll", "del", "nest", "{}"], "dpll has no attribute set nest");
    refused(&["family", "dpll", "new", "pin", r#"{"id": 1}"#], "EEXIST");
    refused(&["family", "dpll", "set", "pin", r#"{"id": 9}"#, "{}"], "no pin object with id 9");
    refused(&["family", "dpll", "set", "pin", r#"{"id": 1}"#, r#"{"colour": 1}"#], "has no attribute 'colour'");
    refused(&["family", "dpll", "new", "pin", "{not json"], "is not a JSON object");
}

/// team (`genetlink-legacy`, one global policy, every op validated
/// liberally: `dont-validate: strict`), served with a team device's
/// options and ports, driven by the kernel's YNL CLI under exec; and
/// the liberal validation as the kernel's: a `u32` sent as 8 bytes is
/// taken (the kernel only warns of its length), read by its leading bytes
/// as `nla_get_u32` reads it.
#[test]
fn the_kernels_ynl_cli_drives_a_simulated_team_device() {
    let Some(dir) = kernel_ynl() else { return };
    let team = spec(&dir, "team");
    let config = format!(
        r#"
[[family]]
spec = "{}"

[[family.object]]
set = "team"
team-ifindex = 5
list-option = {{ option = {{ name = "mode", type = 4, data = "6163746976656261636b7570" }} }}
list-port = {{ port = {{ ifindex = 7, linkup = true, speed = 10000, duplex = 1 }} }}
"#,
        team.display()
    );
    let sim = Simulator::start(&config);
    let get = ["--do", "options-get", "--json", r#"{"team-ifindex": 5}"#];
    let options = ok_json(&mut ynl(&dir, &sim, &team, &get));
    assert_eq!(options["list-option"]["option"]["name"], "mode", "{options}");
    let ports = ok_json(&mut ynl(&dir, &sim, &team, &["--do", "port-list-get", "--json", r#"{"team-ifindex": 5}"#]));
    assert_eq!(ports["list-port"]["port"]["speed"], 10000, "{ports}");
    let set = r#"{"team-ifindex": 5, "list-option": {"option": {"name": "mode", "type": 4, "data": "6c6f616462616c616e6365"}}}"#;
    ok_json(&mut ynl(&dir, &sim, &team, &["--do", "options-set", "--json", set]));
    let changed = ok_json(&mut ynl(&dir, &sim, &team, &get));
    assert_ne!(changed, options, "the option changed");
    let missing =
        ynl(&dir, &sim, &team, &["--do", "options-get", "--json", r#"{"team-ifindex": 6}"#]).output().unwrap();
    assert!(text(&missing).contains("no team object with team-ifindex 6"), "{}", text(&missing));

    let mut client = sim.client();
    let id = client.resolve_family("team").unwrap().id;
    let options_get = simdev_ynl::Family::from_yaml(&std::fs::read_to_string(&team).unwrap())
        .unwrap()
        .ops
        .iter()
        .find(|op| op.name == "options-get")
        .and_then(|op| op.request_value)
        .expect("options-get's number") as u8;
    let mut request = MessageBuilder::genl(id, NLM_F_REQUEST, 9, 0, options_get, 1);
    request.put_u64(1, 5);
    let replies = exchange(&mut client, &request.finish(), 9);
    let reply = replies.first().expect("an answer").message();
    assert_eq!(reply.header.ty, id, "answered, not refused: {:?}", reply.header);
    let ifindex = reply.genl_attrs(0).find(|a| a.kind() == 1).and_then(|a| a.u32());
    assert_eq!(ifindex, Some(5), "read as the u32 its first bytes make");
}

/// A family whose messages carry a fixed header (OVS's `ovs_header`),
/// served from its spec and driven by the kernel's YNL CLI: the header's
/// members come in the objects, are read from requests (nonzero, they name
/// the object; zero, the name does) and go out in every reply; GETFAMILY
/// reports the header's size.
#[test]
fn the_kernels_ynl_cli_drives_a_simulated_ovs_datapath() {
    let Some(dir) = kernel_ynl() else { return };
    let ovs = spec(&dir, "ovs_datapath");
    let config = format!(
        "[[family]]\nspec = \"{}\"\n\n[[family.object]]\nset = \"datapath\"\ndp-ifindex = 7\nname = \"dp0\"\nupcall-pid = 100\n",
        ovs.display()
    );
    let sim = Simulator::start(&config);
    let names = |dump: &serde_json::Value| -> Vec<(String, u64)> {
        let list = dump.as_array().expect("a dump's list");
        list.iter().map(|d| (d["name"].as_str().unwrap().to_string(), d["dp-ifindex"].as_u64().unwrap())).collect()
    };
    let dump = ok_json(&mut ynl(&dir, &sim, &ovs, &["--dump", "get"]));
    assert_eq!(names(&dump), [("dp0".to_string(), 7)], "{dump}");
    assert_eq!(dump[0]["upcall-pid"], 100, "{dump}");
    let by_name = ok_json(&mut ynl(&dir, &sim, &ovs, &["--do", "get", "--json", r#"{"name": "dp0"}"#]));
    assert_eq!((by_name["name"].as_str(), by_name["dp-ifindex"].as_u64()), (Some("dp0"), Some(7)), "{by_name}");
    let by_header = ok_json(&mut ynl(&dir, &sim, &ovs, &["--do", "get", "--json", r#"{"dp-ifindex": 7}"#]));
    assert_eq!(by_header, by_name, "the header names it too");

    let new = ["--do", "new", "--json", r#"{"name": "dp1", "upcall-pid": 5}"#];
    ok_json(&mut ynl(&dir, &sim, &ovs, &new));
    let dump = ok_json(&mut ynl(&dir, &sim, &ovs, &["--dump", "get"]));
    assert_eq!(names(&dump), [("dp0".to_string(), 7), ("dp1".to_string(), 0)], "{dump}");
    let again = ynl(&dir, &sim, &ovs, &new).output().unwrap();
    assert!(
        !again.status.success() && text(&again).contains("a datapath object with name \"dp1\" exists"),
        "{}",
        text(&again)
    );
    ok_json(&mut ynl(&dir, &sim, &ovs, &["--do", "del", "--json", r#"{"name": "dp1"}"#]));
    let dump = ok_json(&mut ynl(&dir, &sim, &ovs, &["--dump", "get"]));
    assert_eq!(names(&dump), [("dp0".to_string(), 7)], "{dump}");
    let missing = ynl(&dir, &sim, &ovs, &["--do", "get", "--json", r#"{"dp-ifindex": 8}"#]).output().unwrap();
    assert!(text(&missing).contains("no datapath object with dp-ifindex 8"), "{}", text(&missing));

    let mut client = sim.client();
    let family = client.resolve_family("ovs_datapath").unwrap();
    assert_eq!(family.hdrsize, 4, "sizeof(struct ovs_header)");
    // Shorter than the header: EINVAL, as genl_family_rcv_msg refuses it.
    let get = 3;
    let short = MessageBuilder::genl(family.id, NLM_F_REQUEST | NLM_F_ACK, 11, 0, get, 2).finish();
    let status = simdev_protocol::extack::decode_status(&exchange(&mut client, &short, 11)[0].message()).unwrap();
    assert_eq!(status.error, -libc::EINVAL);
    // An attribute the policy refuses after the header (a name without its
    // NUL, refused strictly and liberally alike): the extack's offset
    // counts the header.
    let mut wrong = MessageBuilder::genl(family.id, NLM_F_REQUEST | NLM_F_ACK, 12, 0, get, 2);
    wrong.put_raw(&0u32.to_ne_bytes()).put_bytes(1, b"dp0");
    let status =
        simdev_protocol::extack::decode_status(&exchange(&mut client, &wrong.finish(), 12)[0].message()).unwrap();
    assert_eq!((status.error, status.offset), (-libc::EINVAL, Some(24)), "{:?}", status.message);
}

/// A dump's fixed header filters as a driver's does: `ovs_vport`'s dump of
/// datapath 7 (`dp_ifindex` in its header) lists that datapath's ports.
#[test]
fn a_vport_dump_lists_the_ports_of_the_datapath_its_header_names() {
    let Some(dir) = kernel_ynl() else { return };
    let ovs = spec(&dir, "ovs_vport");
    let mut config = format!("[[family]]\nspec = \"{}\"\n", ovs.display());
    for (dp, name, port, kind) in [(7, "vp0", 0, "internal"), (7, "vp1", 1, "netdev"), (8, "vp2", 0, "internal")] {
        config.push_str(&format!(
            "[[family.object]]\nset = \"vport\"\ndp-ifindex = {dp}\nname = \"{name}\"\nport-no = {port}\ntype = \"{kind}\"\n"
        ));
    }
    let sim = Simulator::start(&config);
    let ports = |json: &str| -> Vec<(String, String, u64)> {
        let dump = ok_json(&mut ynl(&dir, &sim, &ovs, &["--dump", "get", "--json", json]));
        let list = dump.as_array().unwrap_or_else(|| panic!("a list: {dump}"));
        list.iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().into(),
                    p["type"].as_str().unwrap().into(),
                    p["dp-ifindex"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let of_7 = [("vp0".to_string(), "internal".to_string(), 7), ("vp1".to_string(), "netdev".to_string(), 7)];
    assert_eq!(ports(r#"{"dp-ifindex": 7}"#), of_7);
}

/// `resv-start-op`: commands below it are validated liberally, as the
/// kernel's OVS families' are (their drivers set it to their `SET`
/// command plus one): an attribute of a type the family does not have is
/// ignored there and refused by a strict command.
#[test]
fn commands_below_resv_start_op_are_validated_liberally() {
    let Some(dir) = kernel_ynl() else { return };
    let ovs = spec(&dir, "ovs_datapath");
    // A `get` of datapath 7 (by its header) with an attribute of type 99.
    let answers = |table_line: &str| {
        let config = format!(
            "[[family]]\nspec = \"{}\"\n{table_line}\n[[family.object]]\nset = \"datapath\"\ndp-ifindex = 7\nname = \"dp0\"\n",
            ovs.display()
        );
        let sim = Simulator::start(&config);
        let mut client = sim.client();
        let id = client.resolve_family("ovs_datapath").unwrap().id;
        let mut request = MessageBuilder::genl(id, NLM_F_REQUEST | NLM_F_ACK, 13, 0, 3, 2);
        request.put_raw(&7u32.to_ne_bytes()).put_u32(99, 1);
        let answers = exchange(&mut client, &request.finish(), 13);
        let last = simdev_protocol::extack::decode_status(&answers.last().expect("answers").message()).unwrap();
        (answers.len(), last.error, last.offset)
    };
    assert_eq!(answers(""), (1, -libc::EINVAL, Some(24)), "strict: refused, pointing at the attribute");
    assert_eq!(answers("resv-start-op = 5"), (2, 0, None), "liberal: the datapath, then the ACK");
}

/// The id iproute2's `genl ctrl get name NAME` shows, run under exec with
/// `exec_args` (`--family NAME`, or nothing).
fn genl_ctrl_id(sim: &Simulator, exec_args: &[&str], name: &str) -> String {
    let out = Command::new(simdev_tests::bin("genl-client"))
        .args(["--port", &sim.port.to_string(), "exec"])
        .args(exec_args)
        .args(["--", "genl", "ctrl", "get", "name", name])
        .output()
        .expect("run genl under exec");
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    let id = text.split("ID: ").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("an ID");
    id.to_string()
}

/// A served family the kernel has too (netdev) replaces the kernel's for
/// programs under exec only where asked: `exec --family netdev`, or
/// `shadow = true` in its `[[family]]` table (which simdev's
/// `family-get` reports).
#[test]
fn a_served_family_the_kernel_has_replaces_it_only_where_asked() {
    let Some(dir) = kernel_ynl() else { return };
    let kernel_id = format!("{:#x}", Client::kernel().unwrap().resolve_family("netdev").unwrap().id);
    for shadow in [false, true] {
        let config = format!("[[family]]\nspec = \"{}\"\nshadow = {shadow}\n", spec(&dir, "netdev").display());
        let sim = Simulator::start(&config);
        let served_id = format!("{:#x}", sim.client().resolve_family("netdev").unwrap().id);
        assert_ne!(served_id, kernel_id);
        let plain = if shadow { &served_id } else { &kernel_id };
        assert_eq!(&genl_ctrl_id(&sim, &[], "netdev"), plain, "shadow = {shadow}");
        assert_eq!(genl_ctrl_id(&sim, &["--family", "netdev"], "netdev"), served_id, "--family netdev");
        let said =
            sim.cli(&["-j", "--family", "simdev", "--do", "family-get", "--json", r#"{"family-name": "netdev"}"#]);
        let said: serde_json::Value = serde_json::from_slice(&said.stdout).unwrap_or_else(|e| panic!("{e}: {said:?}"));
        assert_eq!(said["family-shadow"], u8::from(shadow), "{said}");
        let unknown = sim.cli(&["--family", "simdev", "--do", "family-get", "--json", r#"{"family-name": "dpll"}"#]);
        assert!(
            String::from_utf8_lossy(&unknown.stderr).contains("no family dpll is served from a spec"),
            "{unknown:?}"
        );
    }
}

/// mptcp_pm served from its spec lists its ops with the flags the
/// kernel's own mptcp_pm reports (`uns-admin-perm` as
/// `GENL_UNS_ADMIN_PERM`, the namespace's admin check), op for op, and,
/// with `groups` configured, the kernel's groups.
#[test]
fn a_served_familys_op_flags_are_the_kernels() {
    let Some(dir) = kernel_ynl() else { return };
    let Ok(kernel) = Client::kernel().unwrap().resolve_family("mptcp_pm") else {
        simdev_tests::skip("this kernel has no mptcp_pm family to compare with");
        return;
    };
    // Its groups are registered by the kernel's C code; the spec has none.
    let groups: Vec<String> = kernel.mcast_groups.iter().map(|g| format!("{:?}", g.name)).collect();
    let mptcp = spec(&dir, "mptcp_pm");
    let config = format!("[[family]]\nspec = \"{}\"\ngroups = [{}]\n", mptcp.display(), groups.join(", "));
    let sim = Simulator::start(&config);
    let served = sim.client().resolve_family("mptcp_pm").unwrap();
    let flags =
        |info: &simdev_protocol::ctrl::FamilyInfo| info.ops.iter().map(|op| (op.id, op.flags)).collect::<Vec<_>>();
    assert!(flags(&kernel).iter().any(|(_, f)| f & simdev_protocol::family::GENL_UNS_ADMIN_PERM != 0));
    assert_eq!(flags(&served), flags(&kernel));
    let names =
        |info: &simdev_protocol::ctrl::FamilyInfo| info.mcast_groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>();
    assert!(!names(&kernel).is_empty());
    assert_eq!(names(&served), names(&kernel), "the configured groups, in order");
}
