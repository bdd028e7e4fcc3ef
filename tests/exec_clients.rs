//! Unmodified third-party Generic Netlink programs reach the simulator
//! through `genl-client exec` (the preload library): iproute2's `genl`,
//! libnl's `genl-ctrl-list`, pyroute2, the kernel's YNL CLI, a C-library
//! probe (`genl-probe`) and a neli program. They see simdev next to the
//! kernel's families, drive it, and observe the kernel's framing: the
//! probe's view of simdev equals its view of a kernel family. Changes are
//! checked in the kernel (`ip`), not in the simulator's answers.

use simdev_protocol::simdev::{cmd, dev_attr, FAMILY, FAMILY_NAME, FAMILY_VERSION, SPEC_YAML};
use simdev_tests::{bin, kernel_ynl, python, python_packages, skip, Simulator, TempFile};
use std::path::PathBuf;
use std::process::{Command, Output};

const CONFIG: &str = "[[device]]\nname = \"ex0\"\nports = 2\n\n[[device]]\nname = \"ex1\"\nports = 1\n";

/// `genl-client --port P exec -- PROGRAM ARGS...`
fn exec(sim: &Simulator, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(bin("genl-client"));
    command.arg("--port").arg(sim.port.to_string()).arg("exec").arg("--").arg(program);
    command
}

fn stdout(output: Output, what: &str) -> String {
    assert!(output.status.success(), "{what}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8")
}

/// `genl ctrl list` split into one block per family, by name.
fn families(listing: &str) -> Vec<(String, String)> {
    listing
        .split("\nName: ")
        .map(|b| b.trim_start_matches("Name: ").trim().to_string())
        .filter(|b| !b.is_empty())
        .map(|b| (b.lines().next().unwrap_or_default().trim().to_string(), b))
        .collect()
}

#[test]
fn iproute2_genl_lists_simdev_among_the_kernels_families() {
    let sim = Simulator::start(CONFIG);
    let plain = stdout(Command::new("genl").args(["ctrl", "list"]).output().unwrap(), "genl ctrl list");
    let through = stdout(exec(&sim, "genl").args(["ctrl", "list"]).output().unwrap(), "exec genl ctrl list");
    let (kernel, mut seen) = (families(&plain), families(&through));
    let simdev = seen.iter().position(|(name, _)| name == "simdev").expect("simdev listed");
    let (_, block) = seen.remove(simdev);
    assert_eq!(seen, kernel, "every kernel family, unchanged");
    assert!(block.contains(&format!("ID: {:#x}", sim.family_id)), "{block}");
    assert_eq!(block.matches("ID-0x").count(), FAMILY.commands.len() + FAMILY.mcast_groups.len(), "{block}");
    let info = sim.simdev();
    for group in FAMILY.mcast_groups {
        let id = info.family().group_id(group).unwrap();
        assert!(block.contains(&format!("ID-{id:#x}  name: {group}")), "{block}");
        assert!(!plain.contains(&format!("ID-{id:#x}  name:")), "group {id:#x} is not a kernel group");
    }
    // GETFAMILY by name and by id: the simulator's answer, the same block.
    let by_name = stdout(exec(&sim, "genl").args(["ctrl", "get", "name", "simdev"]).output().unwrap(), "get name");
    let by_id = format!("{:#x}", sim.family_id);
    let by_id = stdout(exec(&sim, "genl").args(["ctrl", "get", "id", &by_id]).output().unwrap(), "get id");
    assert_eq!(families(&by_name), [("simdev".to_string(), block.clone())]);
    assert_eq!(families(&by_id), families(&by_name));
    // A kernel family asked through the preload: the kernel's answer.
    let nlctrl = |c: &mut Command| stdout(c.args(["ctrl", "get", "name", "nlctrl"]).output().unwrap(), "nlctrl");
    assert_eq!(nlctrl(&mut exec(&sim, "genl")), nlctrl(&mut Command::new("genl")));
}

#[test]
fn libnl_lists_simdev_among_the_kernels_families() {
    if Command::new("genl-ctrl-list").arg("--help").output().is_err() {
        skip("libnl's genl-ctrl-list is not installed (Debian libnl-utils; .ci/run installs it)");
        return;
    }
    let sim = Simulator::start(CONFIG);
    let plain = stdout(Command::new("genl-ctrl-list").output().unwrap(), "genl-ctrl-list");
    let through = stdout(exec(&sim, "genl-ctrl-list").output().unwrap(), "exec genl-ctrl-list");
    let line = format!("{:#06x} simdev version {}", sim.family_id, simdev_protocol::simdev::FAMILY_VERSION);
    let mut expected: Vec<&str> = plain.lines().collect();
    expected.push(&line);
    let mut seen: Vec<&str> = through.lines().collect();
    expected.sort_unstable();
    seen.sort_unstable();
    assert_eq!(seen, expected);
}

/// The pinned packages, if pyroute2 is among them.
fn pyroute2_packages() -> Option<PathBuf> {
    let packages = python_packages();
    if packages.join("pyroute2").is_dir() {
        return Some(packages);
    }
    skip(
        "pyroute2 is not installed (.ci/run: pip install --target /opt/simdev-python -r tests/python/requirements.txt)",
    );
    None
}

#[test]
fn pyroute2_resolves_simdev_and_dumps_its_devices() {
    let Some(packages) = pyroute2_packages() else { return };
    let sim = Simulator::start(CONFIG);
    let script = TempFile::with_contents("pyroute2_dump.py", include_str!("clients/pyroute2_dump.py"));
    let numbers =
        [FAMILY_VERSION, cmd::DEV_GET, dev_attr::DEV_ID as u8, dev_attr::DEV_NAME as u8].map(|n| n.to_string());
    let out = exec(&sim, python())
        .arg(&script.0)
        .arg(FAMILY_NAME)
        .args(numbers)
        .env("PYTHONPATH", packages)
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> =
        stdout(out, "pyroute2").lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines[0]["family_id"], sim.family_id);
    let names: Vec<&str> = lines[1..].iter().map(|l| l["dev_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ex0", "ex1"]);
    // The kernel has what pyroute2 was told about.
    assert!(sim.kernel_link_names().contains(&"ex0p1".to_string()));
}

/// The kernel's YNL CLI, unmodified, with simdev's spec, under exec.
struct Ynl {
    dir: PathBuf,
    spec: TempFile,
}

impl Ynl {
    fn new() -> Option<Ynl> {
        Some(Ynl { dir: kernel_ynl()?, spec: TempFile::with_contents("simdev.yaml", SPEC_YAML) })
    }

    fn command(&self, sim: Option<&Simulator>, spec: &std::path::Path, args: &[&str]) -> Command {
        let mut command = match sim {
            Some(sim) => exec(sim, python()),
            None => Command::new(python()),
        };
        // Sets print in hash order: one seed, so runs compare.
        command.env("PYTHONHASHSEED", "0");
        command.arg(self.dir.join("tools/net/ynl/cli.py")).arg("--no-schema").arg("--spec").arg(spec).args(args);
        command
    }

    fn simdev(&self, sim: &Simulator, args: &[&str]) -> String {
        let out = self.command(Some(sim), &self.spec.0, &[&["--output-json"], args].concat()).output().unwrap();
        stdout(out, &format!("ynl {args:?}"))
    }
}

#[test]
fn the_kernels_ynl_cli_drives_simdev_through_exec() {
    let Some(ynl) = Ynl::new() else { return };
    let sim = Simulator::start(CONFIG);
    let dump: serde_json::Value = serde_json::from_str(&ynl.simdev(&sim, &["--dump", "dev-get"])).unwrap();
    let names: Vec<&str> = dump.as_array().unwrap().iter().map(|d| d["dev-name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ex0", "ex1"]);
    let ifname = dump[0]["port"][1]["ifname"].as_str().unwrap().to_string();
    assert_eq!(sim.kernel_link(&ifname)["ifname"], ifname.as_str(), "the kernel has the dumped port");

    ynl.simdev(&sim, &["--do", "dev-set", "--json", r#"{"dev-name": "ex0", "mtu": 1400}"#]);
    assert_eq!(sim.kernel_link("ex0p0")["mtu"], 1400, "changed in the kernel");

    // Two requests in one datagram: four answers, each in its own datagram.
    let both = ynl
        .simdev(&sim, &["--multi", "dev-get", r#"{"dev-name": "ex1"}"#, "--multi", "fw-get", r#"{"dev-name": "ex0"}"#]);
    let both: serde_json::Value = serde_json::from_str(&both).unwrap();
    assert_eq!((both[0]["dev-name"].as_str(), both[1]["dev-name"].as_str()), (Some("ex1"), Some("ex0")), "{both}");
}

#[test]
fn the_kernels_ynl_cli_receives_simdev_notifications_through_exec() {
    let Some(ynl) = Ynl::new() else { return };
    let sim = Simulator::start(CONFIG);
    // Joining simdev's group needs no privilege through the preload (it
    // subscribes by unicast), so this runs as any user.
    let listener = ynl
        .command(Some(&sim), &ynl.spec.0, &["--output-json", "--subscribe", "config", "--sleep", "3"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    sim.wait_for_subscribers(1);
    let set = sim.cli(&["dev", "set", "ex1", "mtu", "1300"]);
    assert!(set.status.success(), "{set:?}");
    let out = stdout(listener.wait_with_output().unwrap(), "ynl --subscribe");
    assert!(out.contains("\"name\": \"dev-change-ntf\"") && out.contains("\"mtu\": 1300"), "{out}");
}

#[test]
fn kernel_families_answer_through_exec_as_without_it() {
    let Some(ynl) = Ynl::new() else { return };
    let sim = Simulator::start(CONFIG);
    let netdev = ynl.dir.join("Documentation/netlink/specs/netdev.yaml");
    let run = |sim| stdout(ynl.command(sim, &netdev, &["--dump", "dev-get"]).output().unwrap(), "ynl netdev");
    assert_eq!(run(Some(&sim)), run(None));
}

/// `genl-probe FAMILY SCENARIO` under exec.
fn probe(sim: &Simulator, family: &str, scenario: &str) -> serde_json::Value {
    let out = exec(sim, bin("genl-probe")).args([family, scenario]).output().unwrap();
    serde_json::from_str(&stdout(out, &format!("genl-probe {family} {scenario}"))).expect("JSON")
}

#[test]
fn simdev_is_framed_and_woken_as_the_kernel_frames_and_wakes() {
    let sim = Simulator::start(CONFIG);
    // The controller's answers about simdev (the simulator's) against its
    // answers about itself (the kernel's), seen by the same program.
    let scenarios = [
        "do",
        "multi",
        "error",
        "error-capped",
        "dump",
        "answered-in-send",
        "peek",
        "poll",
        "epoll",
        "thread",
        "fork",
        "fork-busy",
    ];
    for scenario in scenarios {
        let (kernel, simulated) = (probe(&sim, "nlctrl", scenario), probe(&sim, "simdev", scenario));
        assert_eq!(simulated, kernel, "{scenario}");
    }
    assert_eq!(probe(&sim, "simdev", "fork-busy")["children_stuck"], 0, "a fork never inherits a held lock");
    let in_send = probe(&sim, "simdev", "answered-in-send");
    assert!(in_send.as_object().unwrap().values().all(|v| v == true), "{in_send}");
    let multi = probe(&sim, "simdev", "multi");
    assert_eq!(multi.as_array().unwrap().len(), 4, "reply, ACK, reply, ACK: four datagrams");
    // simdev's own dump against netdev's: DONE with the last parts, the
    // requester's port. (netdev's parts lack NLM_F_MULTI, genlmsg_iput;
    // simdev's have it, as ethtool's and nlctrl's.)
    let (netdev, simdev) = (probe(&sim, "netdev", "family-dump"), probe(&sim, "simdev", "family-dump"));
    for key in ["ends_with_done", "one_done", "done_pid_is_mine", "done_shares_the_last_datagram"] {
        assert_eq!(simdev[key], netdev[key], "{key}: {simdev} vs {netdev}");
    }
    assert_eq!(simdev["every_part_multi"], true);
}

/// A program that leaves its answers unread until they overflow learns
/// of the loss as from the kernel: a receive reports ENOBUFS (the kernel's
/// socket error; the simulator's NLMSG_OVERRUN marker, which the preload
/// turns into it).
#[test]
fn lost_answers_are_reported_as_enobufs_as_by_the_kernel() {
    let sim = Simulator::start(CONFIG);
    let (kernel, simulated) = (probe(&sim, "nlctrl", "overrun"), probe(&sim, "simdev", "overrun"));
    assert_eq!(kernel, serde_json::json!({"enobufs": true}));
    assert_eq!(simulated, kernel);
}

/// A program under exec reads the controller's family list as the kernel
/// would send it were simdev one of its families: ids in order (simdev's,
/// the next free one, last), `NLMSG_DONE` packed with the last families.
#[test]
fn the_family_list_under_exec_is_in_id_order_with_simdev_last() {
    let sim = Simulator::start(CONFIG);
    let direct = Command::new(bin("genl-probe")).args(["nlctrl", "ctrl-dump"]).output().unwrap();
    let kernel: serde_json::Value = serde_json::from_str(&stdout(direct, "genl-probe ctrl-dump")).unwrap();
    assert_eq!(kernel["ids_ascending"], true);
    assert_eq!(kernel["done_shares_the_last_datagram"], true, "{kernel}");
    let merged = probe(&sim, "nlctrl", "ctrl-dump");
    assert_eq!(merged["ids_ascending"], true, "{merged}");
    assert_eq!(merged["done_shares_the_last_datagram"], true, "{merged}");
    assert_eq!(merged["last_family"], "simdev", "{merged}");
}

/// A program's dump datagrams are sized for its receives, as the kernel
/// sizes them: ethtool's policy dump (about 16 KB) from the kernel and
/// simdev's (about 8 KB) from the simulator, each read first with 4 KiB
/// buffers (libmnl's), then with 64 KiB ones, by the same program.
#[test]
fn dump_datagrams_are_sized_for_the_programs_receives_as_by_the_kernel() {
    let sim = Simulator::start(CONFIG);
    let (kernel, simulated) = (probe(&sim, "ethtool", "dump-sizes"), probe(&sim, "simdev", "dump-sizes"));
    assert_eq!(
        kernel,
        serde_json::json!({"whole_with_4096": true, "first_fits_a_page": true, "larger_after_a_large_receive": true})
    );
    assert_eq!(simulated, kernel);
}

#[test]
fn programs_out_of_the_preloads_reach_are_refused() {
    let sim = Simulator::start(CONFIG);
    let source = TempFile::with_contents("static-main.c", "int main(void) { return 0; }\n");
    let program = TempFile::with_contents("static-main", "");
    let built = Command::new("gcc").args(["-x", "c", "-static", "-o"]).arg(&program.0).arg(&source.0).output();
    if !built.as_ref().is_ok_and(|o| o.status.success()) {
        skip("gcc cannot link a static program here (no libc.a)");
        return;
    }
    let out = exec(&sim, &program.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is statically linked"), "{stderr}");
    // What marks a Go binary (Go makes its own system calls even when
    // dynamically linked): its build-info section.
    let go = TempFile::with_contents(
        "go-like.c",
        "__attribute__((section(\".go.buildinfo\"), used)) static const char info[] = \"\\xff Go buildinf:\";\n\
         int main(void) { return 0; }\n",
    );
    let go_program = TempFile::with_contents("go-like", "");
    let built = Command::new("gcc").args(["-x", "c", "-o"]).arg(&go_program.0).arg(&go.0).output().unwrap();
    assert!(built.status.success(), "{built:?}");
    let out = exec(&sim, &go_program.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a Go program"), "{out:?}");
    let out = exec(&sim, "no-such-program-anywhere").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-program-anywhere: command not found"));
    // The program's exit status is exec's.
    assert_eq!(exec(&sim, "sh").args(["-c", "exit 7"]).status().unwrap().code(), Some(7));
}

#[test]
fn a_neli_router_program_drives_simdev_through_exec() {
    let sim = Simulator::start(CONFIG);
    let program = bin("examples/neli_router");
    let out = stdout(exec(&sim, &program).output().unwrap(), "neli_router");
    assert_eq!(out, format!("family {:#x}\n1 ex0\n2 ex1\n", sim.family_id));
    // Without exec it asks the kernel, which has no simdev.
    let alone = Command::new(&program).output().unwrap();
    assert!(!alone.status.success(), "{alone:?}");
}

/// What a C client of `tests/clients/` printed (one JSON line), minus its timing.
fn c_client_answer(output: Output, what: &str) -> serde_json::Value {
    let mut value: serde_json::Value = serde_json::from_str(&stdout(output, what)).expect("JSON");
    value.as_object_mut().unwrap().remove("rtt_us");
    value
}

/// Programs written with libmnl (as its `genl-family-get` example) and
/// with libnl-genl (`genl_ctrl_resolve`), unmodified under exec: the
/// kernel's families answer as without the library, simdev's as the
/// kernel would answer for it; alone, they find no simdev.
#[test]
fn libmnl_and_libnl_programs_resolve_families_under_exec() {
    let programs = [("mnl_getfamily", "libmnl"), ("libnl_getfamily", "libnl-genl-3.0")];
    let mut built = Vec::new();
    for (source, package) in programs {
        match simdev_tests::c_client(source, &[package]) {
            Ok(program) => built.push((source, program)),
            Err(why) => skip(&format!("{source} cannot be built: {why}")),
        }
    }
    if built.is_empty() {
        return;
    }
    let sim = Simulator::start(CONFIG);
    for (source, program) in &built {
        for family in ["nlctrl", "ethtool"] {
            let alone = c_client_answer(Command::new(&program.0).args([family, "3"]).output().unwrap(), source);
            let under = c_client_answer(exec(&sim, &program.0).args([family, "3"]).output().unwrap(), source);
            assert_eq!(under, alone, "{source} {family}: the kernel's answer, as without exec");
        }
        let simdev = c_client_answer(exec(&sim, &program.0).args([FAMILY_NAME, "3"]).output().unwrap(), source);
        assert_eq!(simdev["family_id"], sim.family_id, "{source}: {simdev}");
        if *source == "mnl_getfamily" {
            assert_eq!(simdev["ops"], FAMILY.commands.len(), "every op listed: {simdev}");
        }
        let alone = Command::new(&program.0).args([FAMILY_NAME, "1"]).output().unwrap();
        assert_eq!(alone.status.code(), Some(1), "{source} alone finds no simdev: {alone:?}");
    }
}
