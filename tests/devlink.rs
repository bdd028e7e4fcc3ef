//! The simulated devices' devlink personality (`[[family]] spec =
//! "devlink"`), driven by iproute2's `devlink`, unmodified, under
//! `genl-client exec`, on a kernel that has no devlink: instances, ports
//! with the kernel's netdevs (checked against `ip`), info, and the errors
//! netdevsim's instances give.

use simdev_tests::{kernel_ynl, Simulator};
use std::process::{Command, Output};

const CONFIG: &str = r#"
[[device]]
name = "dl0"
ports = 2
serial = "SD-0001"

[device.firmware]
version = "2.4.1"

[[device]]
name = "dl1"
ports = 1
"#;

/// CONFIG serving the kernel's devlink spec, or `None` (skipped visibly)
/// without the kernel's YNL material.
fn start() -> Option<Simulator> {
    let dir = kernel_ynl()?;
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    Some(Simulator::start(&format!("{CONFIG}\n[[family]]\nspec = \"{}\"\n", spec.display())))
}

fn devlink(sim: &Simulator, args: &[&str]) -> Output {
    Command::new(simdev_tests::bin("genl-client"))
        .arg("--port")
        .arg(sim.port.to_string())
        .args(["exec", "--", "devlink"])
        .args(args)
        .output()
        .expect("run devlink")
}

/// A `devlink monitor` of the simulator for 3 s, listening once this returns.
fn monitor(sim: &Simulator) -> std::process::Child {
    let monitor = Command::new(simdev_tests::bin("genl-client"))
        .arg("--port")
        .arg(sim.port.to_string())
        .args(["exec", "--", "timeout", "3", "devlink", "monitor"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run devlink monitor");
    sim.wait_for_subscribers(1);
    monitor
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn ok(sim: &Simulator, args: &[&str]) -> String {
    let out = devlink(sim, args);
    assert!(out.status.success(), "devlink {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn json(sim: &Simulator, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["-j"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(sim, &all)).expect("devlink -j prints JSON")
}

#[test]
fn every_device_is_a_devlink_instance() {
    let Some(sim) = start() else { return };
    assert_eq!(ok(&sim, &["dev", "show"]), "simdev/dl0\nsimdev/dl1\n");
    assert_eq!(json(&sim, &["dev", "show"]), serde_json::json!({"dev": {"simdev/dl0": {}, "simdev/dl1": {}}}));
    assert_eq!(ok(&sim, &["dev", "show", "simdev/dl1"]), "simdev/dl1\n");
}

#[test]
fn its_ports_are_the_kernels_netdevs() {
    let Some(sim) = start() else { return };
    let ports = json(&sim, &["port", "show"]);
    let ports = ports["port"].as_object().expect("ports");
    assert_eq!(ports.keys().collect::<Vec<_>>(), ["simdev/dl0/0", "simdev/dl0/1", "simdev/dl1/0"]);
    for (handle, port) in ports {
        let netdev = port["netdev"].as_str().unwrap();
        // The kernel's word: the netdev exists, named so, in the simulator's namespace.
        assert_eq!(sim.kernel_link(netdev)["ifname"], netdev, "{handle}");
        let index: u64 = handle.rsplit('/').next().unwrap().parse().unwrap();
        assert_eq!(port["type"], "eth");
        assert_eq!(port["flavour"], "physical");
        assert_eq!(port["port"], index + 1, "numbered from 1, as netdevsim's");
        assert_eq!(port["splittable"], false);
    }
    // netdevsim's layout, line for line.
    assert_eq!(
        ok(&sim, &["port", "show", "simdev/dl0/1"]),
        "simdev/dl0/1: type eth netdev dl0p1 flavour physical port 2 splittable false\n"
    );
}

#[test]
fn info_reports_the_driver_and_the_simulated_firmware() {
    let Some(sim) = start() else { return };
    let info = json(&sim, &["dev", "info", "simdev/dl0"]);
    assert_eq!(
        info,
        serde_json::json!({"info": {"simdev/dl0": {
            "driver": "simdev",
            "serial_number": "SD-0001",
            "versions": {"running": {"fw": "2.4.1"}, "stored": {"fw": "2.4.1"}}
        }}})
    );
    // A change of the simulated firmware shows.
    let flash = sim.cli(&["fw", "flash", "dl1", "3.0"]);
    assert!(flash.status.success(), "{}", text(&flash));
    assert_eq!(json(&sim, &["dev", "info", "simdev/dl1"])["info"]["simdev/dl1"]["versions"]["running"]["fw"], "3.0");
}

/// genl-client's output of `args` against the simulator.
fn genl_client(sim: &Simulator, args: &[&str]) -> String {
    let out = sim.cli(args);
    assert!(out.status.success(), "genl-client {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn genl_clients_devlink_reads_the_simulator_as_the_devlink_tool_does() {
    let Some(sim) = start() else { return };
    // The same text and JSON as iproute2's, from the same instances.
    for args in [&["dev", "show"][..], &["dev", "info"], &["dev", "info", "simdev/dl0"], &["dev", "show", "simdev/dl1"]]
    {
        let ours: Vec<&str> = ["devlink"].into_iter().chain(args.iter().copied()).collect();
        assert_eq!(genl_client(&sim, &ours), ok(&sim, args), "text of {args:?}");
        let ours: Vec<&str> = ["-j", "devlink"].into_iter().chain(args.iter().copied()).collect();
        let ours: serde_json::Value = serde_json::from_str(&genl_client(&sim, &ours)).expect("JSON");
        assert_eq!(ours, json(&sim, args), "JSON of {args:?}");
    }
    // Its reload is the instance's: counted where iproute2 reads it.
    genl_client(&sim, &["devlink", "dev", "reload", "simdev/dl1"]);
    let stats = json(&sim, &["-s", "dev", "show", "simdev/dl1"]);
    assert_eq!(stats["dev"]["simdev/dl1"]["stats"]["reload"], serde_json::json!({"driver_reinit": {"unspecified": 1}}));
    // An unknown instance: the personality's bare ENODEV.
    let out = sim.cli(&["devlink", "dev", "info", "simdev/nope"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("No such device"), "{}", text(&out));
    // A simulator that does not serve devlink says how to make it.
    let plain = Simulator::start(CONFIG);
    let out = plain.cli(&["devlink", "dev", "show"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("the simulator does not serve it: add [[family]] spec = \"devlink\""),
        "{}",
        text(&out)
    );
}

#[test]
fn errors_are_netdevsims() {
    let Some(sim) = start() else { return };
    let refused = |args: &[&str], wanted: &str| {
        let out = devlink(&sim, args);
        assert!(!out.status.success(), "devlink {args:?}: {}", text(&out));
        assert!(text(&out).contains(wanted), "devlink {args:?}: {}", text(&out));
    };
    // `devlink_get_from_attrs_lock`, `devlink_port_get_from_attrs`: ENODEV.
    refused(&["dev", "show", "simdev/nope"], "kernel answers: No such device");
    refused(&["port", "show", "simdev/dl0/9"], "kernel answers: No such device");
    // netdevsim's ports have no split callback.
    refused(&["port", "split", "simdev/dl0/0", "count", "2"], "kernel answers: Operation not supported");
    refused(&["port", "split", "simdev/dl0/9", "count", "2"], "kernel answers: No such device");
}

/// The command numbers of the answers are the kernel's: a port get and a
/// port dump answer `DEVLINK_CMD_PORT_NEW` (7; the 6.12 spec's dump value
/// 3 is a bug the kernel fixed, netdevsim's in the VM answers 7), an
/// instance get `DEVLINK_CMD_NEW`.
#[test]
fn answers_carry_the_kernels_command_numbers() {
    use simdev_protocol::wire::{MessageBuilder, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
    let Some(sim) = start() else { return };
    let mut client = sim.client();
    let id = client.resolve_family("devlink").unwrap().id;
    let request = |cmd: u8, flags: u16, seq: u32, port: Option<u32>| {
        let mut m = MessageBuilder::genl(id, NLM_F_REQUEST | flags, seq, 0, cmd, 1);
        m.put_str(1, "simdev").put_str(2, "dl0");
        if let Some(port) = port {
            m.put_u32(3, port);
        }
        m.finish()
    };
    let commands = |replies: Vec<simdev_netlink::client::Reply>| -> Vec<u8> {
        replies.iter().filter(|r| r.message().header.ty == id).map(|r| r.message().genl_header().unwrap().cmd).collect()
    };
    // get = 1, port-get = 5 (the spec's request values).
    assert_eq!(commands(simdev_tests::exchange(&mut client, &request(1, NLM_F_ACK, 1, None), 1)), [3]);
    assert_eq!(commands(simdev_tests::exchange(&mut client, &request(5, NLM_F_ACK, 2, Some(1)), 2)), [7]);
    let dump = MessageBuilder::genl(id, NLM_F_REQUEST | NLM_F_DUMP, 3, 0, 5, 1).finish();
    assert_eq!(commands(simdev_tests::exchange(&mut client, &dump, 3)), [7, 7, 7]);
}

/// `devlink dev flash` flashes the simulated firmware: answered when the
/// flash ends, its progress printed as it goes (iproute2 prints statuses
/// until its child's send returns, which is when the flash ended, as the
/// kernel handles a request inside send), announced on `config` as
/// netdevsim's flash is (a `devlink monitor` sees begin, netdevsim's
/// statuses, end), and a fault on simdev's flash fails it with its errno
/// and message.
#[test]
fn a_flash_is_announced_as_netdevsims_and_fails_as_faults_say() {
    let Some(dir) = kernel_ynl() else { return };
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    let config = format!(
        "[[device]]\nname = \"fl0\"\n[device.firmware]\nflash_duration_ms = 200\n\n\
         [[device]]\nname = \"fl1\"\n[[device.fault]]\ncommand = \"fw-flash\"\nfail_at = 50\nerrno = \"EIO\"\n\n\
         [[family]]\nspec = \"{}\"\n",
        spec.display()
    );
    let sim = Simulator::start(&config);
    let monitor = monitor(&sim);
    let started = std::time::Instant::now();
    let printed = ok(&sim, &["dev", "flash", "simdev/fl0", "file", "fw-2.0.bin"]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(200), "answered when the flash ended");
    // Not a terminal: one line per status message, as iproute2 prints them.
    assert_eq!(printed, "Preparing to flash\nFlashing\nFlash select\nFlashing done\n");
    // On a terminal, the percentages too, to 100 %.
    let on_tty = on_a_terminal(&sim, "dev flash simdev/fl0 file fw-3.0.bin");
    let on_tty = on_tty.replace('\u{8}', "");
    for step in
        ["Preparing to flash", "Flashing  10%", "  50%", " 100%", "Flash select ( 0m 0s : 1m 21s )", "Flashing done"]
    {
        assert!(on_tty.contains(step), "{step:?} in {on_tty:?}");
    }
    assert_eq!(
        json(&sim, &["dev", "info", "simdev/fl0"])["info"]["simdev/fl0"]["versions"]["running"]["fw"],
        "fw-3.0.bin"
    );

    let failed = devlink(&sim, &["dev", "flash", "simdev/fl1", "file", "fw-2.0.bin"]);
    assert!(!failed.status.success());
    assert!(text(&failed).contains("Error: Flashing failed."), "the fault's message: {}", text(&failed));

    let heard = String::from_utf8_lossy(&monitor.wait_with_output().unwrap().stdout).to_string();
    let fl0: Vec<&str> = heard.lines().filter(|l| l.contains("simdev/fl0")).collect();
    assert_eq!(fl0.first(), Some(&"[flash,begin] simdev/fl0:"), "{heard}");
    assert_eq!(fl0.get(1), Some(&"[flash,status] simdev/fl0: msg Preparing to flash done 0 total 0"), "{heard}");
    let tail: Vec<&str> = fl0.iter().rev().take(4).rev().copied().collect();
    assert_eq!(
        tail,
        [
            "[flash,status] simdev/fl0: msg Flashing done 500000 total 500000",
            "[flash,status] simdev/fl0: msg Flash select done 0 total 0",
            "[flash,status] simdev/fl0: msg Flashing done done 0 total 0",
            "[flash,end] simdev/fl0:",
        ],
        "{heard}"
    );
    let fl1: Vec<&str> = heard.lines().filter(|l| l.contains("simdev/fl1")).collect();
    assert_eq!(fl1.last(), Some(&"[flash,end] simdev/fl1:"), "{heard}");
    assert!(fl1.contains(&"[flash,status] simdev/fl1: msg Flashing failed done 0 total 0"), "{heard}");
}

/// What `devlink ARGS` prints on a terminal (a pseudo-terminal of
/// util-linux's `script`).
fn on_a_terminal(sim: &Simulator, args: &str) -> String {
    let command = format!("{} --port {} exec -- devlink {args}", simdev_tests::bin("genl-client").display(), sim.port);
    let out = Command::new("script").args(["-qec", &command, "/dev/null"]).output().expect("run script");
    assert!(out.status.success(), "devlink {args} on a terminal: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `devlink` failing with `wanted` in its output.
fn refused(sim: &Simulator, args: &[&str], wanted: &str) {
    let out = devlink(sim, args);
    assert!(!out.status.success(), "devlink {args:?} succeeded: {}", text(&out));
    assert!(text(&out).contains(wanted), "devlink {args:?}: {}", text(&out));
}

/// CONFIG with device `dl2` declaring its own parameters, devlink served.
fn start_with_params() -> Option<Simulator> {
    let dir = kernel_ynl()?;
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    Some(Simulator::start(&format!(
        "{CONFIG}\n[[device]]\nname = \"dl2\"\n\
         [[device.param]]\nname = \"fast_path\"\ntype = \"bool\"\ncmodes = [\"runtime\", \"driverinit\"]\nvalue = false\n\
         [[device.param]]\nname = \"region_snapshot_enable\"\ntype = \"bool\"\ncmodes = [\"runtime\"]\nvalue = true\n\
         [[device.param]]\nname = \"board\"\ntype = \"string\"\ncmodes = [\"permanent\"]\nvalue = \"rev-b\"\n\
         \n[[family]]\nspec = \"{}\"\n",
        spec.display()
    )))
}

/// Parameters: netdevsim's by default, a device's own from its
/// `[[device.param]]`; set per cmode (one the parameter lacks is refused
/// as the kernel refuses it), announced on `config`, driverinit values
/// kept across a reload.
#[test]
fn parameters_are_netdevsims_or_the_configurations() {
    let Some(sim) = start_with_params() else { return };
    assert_eq!(
        json(&sim, &["dev", "param", "show", "simdev/dl0", "name", "max_macs"]),
        serde_json::json!({"param": {"simdev/dl0": [
            {"name": "max_macs", "type": "generic", "values": [{"cmode": "driverinit", "value": 32}]}
        ]}})
    );
    let own = json(&sim, &["dev", "param", "show"]);
    assert_eq!(
        own["param"]["simdev/dl2"],
        serde_json::json!([
            {"name": "fast_path", "type": "driver-specific", "values": [
                {"cmode": "runtime", "value": false}, {"cmode": "driverinit", "value": false}]},
            {"name": "region_snapshot_enable", "type": "generic", "values": [{"cmode": "runtime", "value": true}]},
            {"name": "board", "type": "driver-specific", "values": [{"cmode": "permanent", "value": "rev-b"}]},
        ])
    );

    let monitor = monitor(&sim);
    ok(&sim, &["dev", "param", "set", "simdev/dl2", "name", "fast_path", "value", "true", "cmode", "runtime"]);
    ok(&sim, &["dev", "param", "set", "simdev/dl2", "name", "board", "value", "rev-c", "cmode", "permanent"]);
    ok(&sim, &["dev", "param", "set", "simdev/dl0", "name", "max_macs", "value", "16", "cmode", "driverinit"]);
    refused(
        &sim,
        &["dev", "param", "set", "simdev/dl0", "name", "max_macs", "value", "16", "cmode", "runtime"],
        "Configuration mode not supported",
    );
    refused(
        &sim,
        &["dev", "param", "set", "simdev/dl0", "name", "nope", "value", "1", "cmode", "runtime"],
        "kernel answers: Invalid argument",
    );
    let shown = json(&sim, &["dev", "param", "show", "simdev/dl2", "name", "fast_path"]);
    assert_eq!(shown["param"]["simdev/dl2"][0]["values"][0], serde_json::json!({"cmode": "runtime", "value": true}));
    let shown = json(&sim, &["dev", "param", "show", "simdev/dl2", "name", "board"]);
    assert_eq!(shown["param"]["simdev/dl2"][0]["values"][0]["value"], "rev-c");

    ok(&sim, &["dev", "reload", "simdev/dl0"]);
    let shown = json(&sim, &["dev", "param", "show", "simdev/dl0", "name", "max_macs"]);
    assert_eq!(shown["param"]["simdev/dl0"][0]["values"][0]["value"], 16, "kept across a reload");
    let heard = String::from_utf8_lossy(&monitor.wait_with_output().unwrap().stdout).to_string();
    let params: Vec<&str> = heard.lines().filter(|l| l.starts_with("[param,new]")).collect();
    assert_eq!(
        params,
        [
            "[param,new] simdev/dl2: name fast_path type driver-specific",
            "[param,new] simdev/dl2: name board type driver-specific",
            "[param,new] simdev/dl0: name max_macs type generic",
        ],
        "{heard}"
    );
}

/// netdevsim's health reporters: `empty` says nothing, `dummy` diagnoses
/// and dumps netdevsim's test message (kept until cleared), recovers,
/// takes its settings; `test` has no callback.
#[test]
fn health_reporters_are_netdevsims() {
    let Some(sim) = start() else { return };
    let shown = json(&sim, &["health", "show", "simdev/dl0", "reporter", "dummy"]);
    assert_eq!(
        shown,
        serde_json::json!({"health": {"simdev/dl0": [{"reporter": "dummy", "state": "healthy", "error": 0,
            "recover": 0, "grace_period": 0, "auto_recover": true, "auto_dump": true}]}})
    );
    assert_eq!(json(&sim, &["health", "diagnose", "simdev/dl0", "reporter", "empty"]), serde_json::json!({}));
    let out = devlink(&sim, &["-j", "health", "diagnose", "simdev/dl0", "reporter", "dummy"]);
    // netdevsim's message closes two nests it never opened: iproute2 stops
    // there, and says so ("kernel answers: Success"), as with netdevsim.
    assert!(String::from_utf8_lossy(&out.stderr).contains("kernel answers: Success"), "{}", text(&out));
    let message: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(message["test_string"], "somestring");
    assert_eq!(message["test_nest"], serde_json::json!({"nested_test_bool": false, "nested_test_u8": 0}));
    assert_eq!(message["test_binary"].as_array().map(Vec::len), Some(16));

    let first = devlink(&sim, &["-j", "health", "dump", "show", "simdev/dl0", "reporter", "dummy"]);
    let again = devlink(&sim, &["-j", "health", "dump", "show", "simdev/dl0", "reporter", "dummy"]);
    assert_eq!(first.stdout, again.stdout, "the dump is kept");
    let shown = json(&sim, &["health", "show", "simdev/dl0", "reporter", "dummy"]);
    assert!(shown["health"]["simdev/dl0"][0]["last_dump_date"].is_string(), "{shown}");
    ok(&sim, &["health", "dump", "clear", "simdev/dl0", "reporter", "dummy"]);
    let shown = json(&sim, &["health", "show", "simdev/dl0", "reporter", "dummy"]);
    assert!(shown["health"]["simdev/dl0"][0].get("last_dump_date").is_none(), "{shown}");
    let fresh = devlink(&sim, &["-j", "health", "dump", "show", "simdev/dl0", "reporter", "dummy"]);
    assert_ne!(first.stdout, fresh.stdout, "a new dump, new random bytes");

    ok(&sim, &["health", "recover", "simdev/dl0", "reporter", "dummy"]);
    ok(&sim, &["health", "set", "simdev/dl0", "reporter", "dummy", "grace_period", "10", "auto_recover", "false"]);
    let shown = json(&sim, &["health", "show", "simdev/dl0", "reporter", "dummy"]);
    assert_eq!(shown["health"]["simdev/dl0"][0]["grace_period"], 10);
    assert_eq!(shown["health"]["simdev/dl0"][0]["auto_recover"], false);
    refused(
        &sim,
        &["health", "set", "simdev/dl0", "reporter", "empty", "grace_period", "10"],
        "kernel answers: Operation not supported",
    );
    refused(&sim, &["health", "test", "simdev/dl0", "reporter", "dummy"], "kernel answers: Operation not supported");
    refused(&sim, &["health", "show", "simdev/dl0", "reporter", "nope"], "kernel answers: Invalid argument");
}

/// A device's devlink handle may be configured, a PCI-like one for
/// programs that want one: everything devlink says of the device uses it,
/// and a handle is one device's (`dev add` of a taken one is `EEXIST`).
#[test]
fn a_configured_handle_is_the_instances_name() {
    let Some(dir) = kernel_ynl() else { return };
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    let sim = Simulator::start(&format!(
        "[[device]]\nname = \"nic0\"\nports = 1\ndevlink = \"pci/0000:03:00.0\"\n[device.firmware]\nflash_duration_ms = 50\n\n\
         [[family]]\nspec = \"{}\"\n",
        spec.display()
    ));
    assert_eq!(ok(&sim, &["dev", "show"]), "pci/0000:03:00.0\n");
    assert_eq!(
        ok(&sim, &["port", "show"]),
        "pci/0000:03:00.0/0: type eth netdev nic0p0 flavour physical port 1 splittable false\n"
    );
    assert_eq!(json(&sim, &["dev", "info", "pci/0000:03:00.0"])["info"]["pci/0000:03:00.0"]["driver"], "simdev");
    ok(&sim, &["dev", "flash", "pci/0000:03:00.0", "file", "fw-7.bin"]);
    ok(&sim, &["dev", "param", "set", "pci/0000:03:00.0", "name", "max_macs", "value", "8", "cmode", "driverinit"]);
    refused(&sim, &["dev", "show", "simdev/nic0"], "kernel answers: No such device");
    let taken = sim.cli(&["dev", "add", "nic1", "devlink", "pci/0000:03:00.0"]);
    assert!(text(&taken).contains("EEXIST") && text(&taken).contains("pci/0000:03:00.0 exists"), "{}", text(&taken));
    assert!(sim.cli(&["dev", "add", "nic1", "devlink", "pci/0000:04:00.0"]).status.success());
    assert_eq!(ok(&sim, &["dev", "show"]), "pci/0000:03:00.0\npci/0000:04:00.0\n");
}

/// A device added or removed at run time comes and goes in devlink as a
/// netdevsim device probed or removed does (the netdevsim suite compares
/// the whole sequence): the instance first, then what it has, its port
/// with the kernel's netdev; going, the reverse, the instance last.
#[test]
fn a_device_added_or_removed_comes_and_goes_in_devlink() {
    let Some(sim) = start() else { return };
    let monitor = monitor(&sim);
    assert!(sim.cli(&["dev", "add", "dl9", "ports", "1"]).status.success());
    assert_eq!(ok(&sim, &["dev", "show"]), "simdev/dl0\nsimdev/dl1\nsimdev/dl9\n");
    assert!(sim.cli(&["dev", "del", "dl9"]).status.success());
    let heard = String::from_utf8_lossy(&monitor.wait_with_output().unwrap().stdout).to_string();
    let dl9: Vec<&str> = heard.lines().filter(|l| l.contains("simdev/dl9")).collect();
    assert!(dl9.first().is_some_and(|l| l.starts_with("[dev,new] simdev/dl9:")), "{heard}");
    assert!(dl9.last().is_some_and(|l| l.starts_with("[dev,del] simdev/dl9:")), "{heard}");
    assert!(
        dl9.contains(&"[port,new] simdev/dl9/0: type eth netdev dl9p0 flavour physical port 1 splittable false"),
        "{heard}"
    );
    for kind in ["[param,new]", "[region,new]", "[trap,new]", "[trap,del]", "[port,del]", "[param,del]"] {
        assert!(dl9.iter().any(|l| l.starts_with(kind)), "{kind} in {heard}");
    }
}

const DECLARED_REPORTERS: &str = r#"
[[device]]
name = "hr0"

[[device.health_reporter]]
name = "tx"
recover = true
graceful_period = 250

[device.health_reporter.diagnose]
queue = 3
state = "stalled"

[device.health_reporter.dump]
ring = [1, 2, 3]
descriptors = [{ id = 0, busy = true }, { id = 1, busy = false }]

[device.health_reporter.dump.last]
head = 7

[[device.health_reporter]]
name = "fw"

[[device.health_reporter]]
name = "dummy"
like = "dummy"
auto_recover = false
"#;

/// Reporters a configuration declares: the callbacks it gives them (a
/// missing one refused as the core refuses it), the pairs their diagnose
/// and dump put, the settings they start with; netdevsim's by `like`.
#[test]
fn health_reporters_may_be_declared() {
    let Some(dir) = kernel_ynl() else { return };
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    let sim = Simulator::start(&format!("{DECLARED_REPORTERS}\n[[family]]\nspec = \"{}\"\n", spec.display()));
    let shown = json(&sim, &["health", "show"]);
    assert_eq!(
        shown,
        serde_json::json!({"health": {"simdev/hr0": [
            {"reporter": "tx", "state": "healthy", "error": 0, "recover": 0, "grace_period": 250,
             "auto_recover": true, "auto_dump": true},
            {"reporter": "fw", "state": "healthy", "error": 0, "recover": 0},
            {"reporter": "dummy", "state": "healthy", "error": 0, "recover": 0, "grace_period": 0,
             "auto_recover": false, "auto_dump": true},
        ]}})
    );
    assert_eq!(
        json(&sim, &["health", "diagnose", "simdev/hr0", "reporter", "tx"]),
        serde_json::json!({"queue": 3, "state": "stalled"})
    );
    // An error: counted, dumped with its message first, recovered.
    assert!(sim.cli(&["dev", "health-report", "hr0", "tx", "queue 3 timed out"]).status.success());
    assert_eq!(
        json(&sim, &["health", "dump", "show", "simdev/hr0", "reporter", "tx"]),
        serde_json::json!({"error_message": "queue 3 timed out", "ring": [1, 2, 3],
            "descriptors": [{"id": 0, "busy": true}, {"id": 1, "busy": false}], "last": {"head": 7}})
    );
    let tx = &json(&sim, &["health", "show", "simdev/hr0", "reporter", "tx"])["health"]["simdev/hr0"][0];
    assert_eq!(
        (tx["error"].as_u64(), tx["recover"].as_u64(), tx["state"].as_str()),
        (Some(1), Some(1), Some("healthy"))
    );
    // Within the grace period the core does not recover.
    let again = sim.cli(&["dev", "health-report", "hr0", "tx", "again"]);
    assert!(text(&again).contains("ECANCELED"), "{}", text(&again));

    // `fw` has no callbacks: what needs one is not supported.
    for args in [
        &["health", "diagnose", "simdev/hr0", "reporter", "fw"][..],
        &["health", "dump", "show", "simdev/hr0", "reporter", "fw"],
        &["health", "dump", "clear", "simdev/hr0", "reporter", "fw"],
        &["health", "recover", "simdev/hr0", "reporter", "fw"],
        &["health", "set", "simdev/hr0", "reporter", "fw", "auto_dump", "true"],
        &["health", "set", "simdev/hr0", "reporter", "fw", "grace_period", "5"],
    ] {
        // A recover of a healthy reporter does nothing, callback or not.
        if args[1] == "recover" {
            ok(&sim, args);
            continue;
        }
        refused(&sim, args, "kernel answers: Operation not supported");
    }
    // Its error is counted and leaves it in error: nothing recovers it.
    assert!(sim.cli(&["dev", "health-report", "hr0", "fw", "lost"]).status.success());
    let fw = &json(&sim, &["health", "show", "simdev/hr0", "reporter", "fw"])["health"]["simdev/hr0"][0];
    assert_eq!((fw["error"].as_u64(), fw["state"].as_str()), (Some(1), Some("error")));
    refused(&sim, &["health", "recover", "simdev/hr0", "reporter", "fw"], "kernel answers: Operation not supported");
    // netdevsim's dummy, by `like`, says netdevsim's message.
    let dummy = devlink(&sim, &["-j", "health", "diagnose", "simdev/hr0", "reporter", "dummy"]);
    let dummy: serde_json::Value = serde_json::from_slice(&dummy.stdout).expect("JSON");
    assert_eq!(dummy["test_string"], "somestring");
    // A reload makes them again as the configuration declares them.
    ok(&sim, &["dev", "reload", "simdev/hr0"]);
    let fw = &json(&sim, &["health", "show", "simdev/hr0", "reporter", "fw"])["health"]["simdev/hr0"][0];
    assert_eq!((fw["error"].as_u64(), fw["state"].as_str()), (Some(0), Some("healthy")));
}

/// A fault with a `reporter`: each failure it injects (a command's errno,
/// a flash failed part way, a link flap) is reported by that health
/// reporter, as a driver reports what fails; one for a reporter the
/// device lacks, or that would fail nothing, is refused.
#[test]
fn a_faults_failures_are_reported_by_its_health_reporter() {
    let Some(dir) = kernel_ynl() else { return };
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    let config = format!(
        "{DECLARED_REPORTERS}\n[device.firmware]\nflash_duration_ms = 100\n\n\
         [[device.fault]]\ncommand = \"dev-set\"\nerrno = \"EIO\"\ncount = 1\nreporter = \"dummy\"\n\n\
         [[family]]\nspec = \"{}\"\n",
        spec.display()
    );
    let sim = Simulator::start(&config);
    let reporter =
        |name: &str| json(&sim, &["health", "show", "simdev/hr0", "reporter", name])["health"]["simdev/hr0"][0].clone();
    let dump = |name: &str| json(&sim, &["health", "dump", "show", "simdev/hr0", "reporter", name]);

    let set = sim.cli(&["dev", "set", "hr0", "mtu", "1400"]);
    assert!(!set.status.success(), "the fault fails it");
    let dummy = reporter("dummy");
    assert_eq!((dummy["error"].as_u64(), dummy["state"].as_str()), (Some(1), Some("error")), "{dummy}");
    assert_eq!(dump("dummy")["break_message"], "injected fault: dev-set fails with EIO");

    // Set at run time: a flash failed part way, reported when it fails.
    let fault = sim.cli(&["fault", "set", "hr0", "fw-flash", "fail-at", "50", "errno", "EIO", "reporter", "tx"]);
    assert!(fault.status.success(), "{}", text(&fault));
    let listed = String::from_utf8_lossy(&sim.cli(&["fault", "list", "hr0"]).stdout).to_string();
    assert!(listed.contains("fw-flash errno EIO fail-at 50 reporter tx"), "{listed}");
    let flash = sim.cli(&["fw", "flash", "hr0", "2.0"]);
    assert!(!flash.status.success());
    let tx = reporter("tx");
    assert_eq!((tx["error"].as_u64(), tx["recover"].as_u64()), (Some(1), Some(1)), "{tx}");
    assert_eq!(dump("tx")["error_message"], "injected fault: the flash of 2.0 failed at 50% with EIO");

    // A link flap: reported as the carrier goes.
    let flap = ["fault", "set", "hr0", "link-flap", "interval", "50", "down", "10", "port", "0", "count", "1"];
    let flap: Vec<&str> = flap.into_iter().chain(["reporter", "fw"]).collect();
    assert!(sim.cli(&flap).status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while reporter("fw")["error"] != 1 {
        assert!(std::time::Instant::now() < deadline, "no report of the flap: {}", reporter("fw"));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    for (args, wanted) in [
        (
            &["fault", "set", "hr0", "dev-reset", "errno", "EIO", "reporter", "empty"][..],
            "no health reporter `empty` (tx, fw, dummy)",
        ),
        (&["fault", "set", "hr0", "dev-reset", "delay", "10", "reporter", "tx"], "a reporter reports failures"),
    ] {
        let out = sim.cli(args);
        assert!(!out.status.success() && text(&out).contains(wanted), "{args:?}: {}", text(&out));
    }
}

/// simdev's `health-report` makes a reporter report an error as
/// netdevsim's debugfs `break_health` does (the netdevsim suite compares
/// the two): counted, announced, dumped with its message, recovered from
/// at once with auto-recover (`ECANCELED` when the core will not), and
/// refused for a reporter the device lacks or without devlink served.
#[test]
fn a_reported_error_is_counted_announced_dumped_and_recovered() {
    let Some(sim) = start() else { return };
    let monitor = monitor(&sim);
    let report = |reporter: &str, message: &str| sim.cli(&["dev", "health-report", "dl0", reporter, message]);
    assert!(report("dummy", "it broke").status.success());
    let dummy = |sim: &Simulator| {
        json(sim, &["health", "show", "simdev/dl0", "reporter", "dummy"])["health"]["simdev/dl0"][0].clone()
    };
    let shown = dummy(&sim);
    assert_eq!(
        (shown["state"].as_str(), shown["error"].as_u64(), shown["recover"].as_u64()),
        (Some("healthy"), Some(1), Some(1)),
        "{shown}"
    );
    assert!(shown["last_dump_date"].is_string(), "auto-dump kept the error's dump: {shown}");
    let dumped = devlink(&sim, &["-j", "health", "dump", "show", "simdev/dl0", "reporter", "dummy"]);
    let dumped: serde_json::Value = serde_json::from_slice(&dumped.stdout).expect("JSON");
    assert_eq!(dumped["break_message"], "it broke");
    let diagnosed = devlink(&sim, &["-j", "health", "diagnose", "simdev/dl0", "reporter", "dummy"]);
    let diagnosed: serde_json::Value = serde_json::from_slice(&diagnosed.stdout).expect("JSON");
    assert_eq!(diagnosed["recovered_break_message"], "it broke");

    // Without auto-recover it stays in error; with it again, the core
    // will not recover what was not recovered.
    ok(&sim, &["health", "set", "simdev/dl0", "reporter", "dummy", "auto_recover", "false"]);
    assert!(report("dummy", "again").status.success());
    assert_eq!(dummy(&sim)["state"], "error");
    ok(&sim, &["health", "set", "simdev/dl0", "reporter", "dummy", "auto_recover", "true"]);
    let canceled = report("dummy", "once more");
    assert!(text(&canceled).contains("ECANCELED"), "{}", text(&canceled));
    assert_eq!(dummy(&sim)["error"], 3, "counted all the same");
    ok(&sim, &["health", "recover", "simdev/dl0", "reporter", "dummy"]);
    assert_eq!(dummy(&sim)["state"], "healthy");

    let unknown = report("nope", "x");
    assert!(
        text(&unknown).contains("ENOENT") && text(&unknown).contains("[attribute: health-reporter]"),
        "{}",
        text(&unknown)
    );
    let heard = String::from_utf8_lossy(&monitor.wait_with_output().unwrap().stdout).to_string();
    let states: Vec<&str> =
        heard.lines().filter_map(|l| l.trim().strip_prefix("state ")).map(|l| l.split(' ').next().unwrap()).collect();
    // error, recovered; error (no auto-recover); error (canceled); recovered by hand.
    assert_eq!(states, ["error", "healthy", "error", "error", "healthy"], "{heard}");

    let plain = Simulator::start(CONFIG);
    let unserved = plain.cli(&["dev", "health-report", "dl0", "dummy", "x"]);
    assert!(
        text(&unserved).contains("EOPNOTSUPP") && text(&unserved).contains("devlink is not served"),
        "{}",
        text(&unserved)
    );
}

/// netdevsim's `dummy` region: snapshots taken with an id or the next
/// free one, read in part or whole (a read past the end stops there),
/// deleted once.
#[test]
fn region_snapshots_are_taken_read_and_deleted() {
    let Some(sim) = start() else { return };
    assert_eq!(
        json(&sim, &["region", "show", "simdev/dl0/dummy"]),
        serde_json::json!({"regions": {"simdev/dl0/dummy": {"size": 32768, "snapshot": [], "max": 16}}})
    );
    ok(&sim, &["region", "new", "simdev/dl0/dummy", "snapshot", "7"]);
    refused(
        &sim,
        &["region", "new", "simdev/dl0/dummy", "snapshot", "7"],
        "The requested snapshot id is already in use",
    );
    let made = json(&sim, &["region", "new", "simdev/dl0/dummy"]);
    assert_eq!(made, serde_json::json!({"regions": {"simdev/dl0/dummy": {"snapshot": [0]}}}));
    let read = json(&sim, &["region", "read", "simdev/dl0/dummy", "snapshot", "7", "address", "32760", "length", "16"]);
    assert_eq!(read["read"]["address"], 32760);
    assert_eq!(read["read"]["data"].as_array().map(Vec::len), Some(8), "stops at the region's end");
    let whole = ok(&sim, &["region", "dump", "simdev/dl0/dummy", "snapshot", "7"]);
    assert_eq!(whole.lines().count(), 32768 / 16, "16 bytes a line");
    refused(
        &sim,
        &["region", "read", "simdev/dl0/dummy", "snapshot", "9", "address", "0", "length", "4"],
        "Requested snapshot does not exist",
    );
    ok(&sim, &["region", "del", "simdev/dl0/dummy", "snapshot", "7"]);
    refused(&sim, &["region", "del", "simdev/dl0/dummy", "snapshot", "7"], "kernel answers: Invalid argument");
    assert_eq!(
        json(&sim, &["region", "show", "simdev/dl0/dummy"])["regions"]["simdev/dl0/dummy"]["snapshot"],
        serde_json::json!([0])
    );
}

/// netdevsim's traps, groups and policers: actions set where the core
/// allows (a non-drop trap's is skipped with its warning), policers
/// within netdevsim's limits.
#[test]
fn traps_and_policers_are_netdevsims() {
    let Some(sim) = start() else { return };
    assert_eq!(json(&sim, &["trap", "show"])["trap"]["simdev/dl0"].as_array().map(Vec::len), Some(14));
    assert_eq!(json(&sim, &["trap", "group", "show"])["trap_group"]["simdev/dl0"].as_array().map(Vec::len), Some(6));
    ok(&sim, &["trap", "set", "simdev/dl0", "trap", "blackhole_route", "action", "trap"]);
    let shown = json(&sim, &["trap", "show", "simdev/dl0", "trap", "blackhole_route"]);
    assert_eq!(shown["trap"]["simdev/dl0"][0]["action"], "trap");
    let skipped = devlink(&sim, &["trap", "set", "simdev/dl0", "trap", "fid_miss", "action", "drop"]);
    assert!(skipped.status.success(), "{}", text(&skipped));
    assert!(
        text(&skipped).contains("Warning: Cannot change action of non-drop traps. Skipping."),
        "{}",
        text(&skipped)
    );
    refused(&sim, &["trap", "show", "simdev/dl0", "trap", "nope"], "Device did not register this trap.");
    ok(&sim, &["trap", "group", "set", "simdev/dl0", "group", "l3_drops", "policer", "2"]);
    let shown = json(&sim, &["trap", "group", "show", "simdev/dl0", "group", "l3_drops"]);
    assert_eq!(shown["trap_group"]["simdev/dl0"][0]["policer"], 2);
    ok(&sim, &["trap", "policer", "set", "simdev/dl0", "policer", "1", "rate", "100", "burst", "16"]);
    let shown = json(&sim, &["trap", "policer", "show", "simdev/dl0", "policer", "1"]);
    assert_eq!(shown, serde_json::json!({"trap_policer": {"simdev/dl0": [{"policer": 1, "rate": 100, "burst": 16}]}}));
    refused(
        &sim,
        &["trap", "policer", "set", "simdev/dl0", "policer", "1", "rate", "9000"],
        "Policer rate higher than limit.",
    );
    refused(
        &sim,
        &["trap", "policer", "set", "simdev/dl0", "policer", "1", "burst", "7"],
        "Policer burst size lower than limit.",
    );
    refused(
        &sim,
        &["trap", "policer", "set", "simdev/dl0", "policer", "9", "rate", "100"],
        "Device did not register this trap policer.",
    );
}

/// `devlink dev reload` does what netdevsim's does, on the simulated
/// device: its netdevs reset (the kernel's word), traps and
/// policers back to netdevsim's, the reload counted; what netdevsim's
/// refuses is refused with its message, and simdev's `dev-reset` faults
/// fail it.
#[test]
fn a_reload_remakes_the_device_as_netdevsims() {
    let Some(dir) = kernel_ynl() else { return };
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    let config = format!(
        "{CONFIG}\n[[device]]\nname = \"rl1\"\n[[device.fault]]\ncommand = \"dev-reset\"\nerrno = \"EBUSY\"\n\n\
         [[family]]\nspec = \"{}\"\n",
        spec.display()
    );
    let sim = Simulator::start(&config);
    let before = sim.kernel_link("dl0p0")["ifindex"].as_u64().expect("dl0p0's ifindex");
    let mtu = sim.cli(&["dev", "set", "dl0", "mtu", "1400"]);
    assert!(mtu.status.success(), "{}", text(&mtu));
    ok(&sim, &["trap", "policer", "set", "simdev/dl0", "policer", "1", "rate", "100"]);
    ok(&sim, &["dev", "eswitch", "set", "simdev/dl0", "mode", "switchdev"]);
    ok(&sim, &["dev", "reload", "simdev/dl0"]);
    // New netdevs in their initial state, as netdevsim's reload makes:
    // the kernel's word, and the devlink port's.
    let after = sim.kernel_link("dl0p0");
    assert_ne!(after["ifindex"].as_u64(), Some(before), "a new kernel netdev");
    assert_eq!(after["mtu"], 1500, "in its initial state");
    let port = json(&sim, &["port", "show", "simdev/dl0/0"]);
    assert_eq!(port["port"]["simdev/dl0/0"]["netdev"], "dl0p0");
    let link = sim.kernel_link("dl0p0-peer");
    assert_eq!(link["link"], "dl0p0", "cabled to its port again: {link}");
    let shown = json(&sim, &["trap", "policer", "show", "simdev/dl0", "policer", "1"]);
    assert_eq!(shown["trap_policer"]["simdev/dl0"][0]["rate"], 1000, "netdevsim's policers again");
    let stats = json(&sim, &["-s", "dev", "show", "simdev/dl0"]);
    assert_eq!(stats["dev"]["simdev/dl0"]["stats"]["reload"], serde_json::json!({"driver_reinit": {"unspecified": 1}}));
    assert_eq!(json(&sim, &["dev", "eswitch", "show", "simdev/dl0"])["dev"]["simdev/dl0"]["mode"], "switchdev");

    refused(
        &sim,
        &["dev", "reload", "simdev/dl0", "action", "fw_activate"],
        "Error: Requested reload action is not supported by the driver.",
    );
    refused(
        &sim,
        &["dev", "reload", "simdev/dl0", "action", "driver_reinit", "limit", "no_reset"],
        "kernel answers: Invalid argument",
    );
    refused(&sim, &["dev", "reload", "simdev/rl1"], "kernel answers: Device or resource busy");
    refused(
        &sim,
        &["dev", "eswitch", "set", "simdev/dl0", "inline-mode", "none"],
        "kernel answers: Operation not supported",
    );
    let stats = json(&sim, &["-s", "dev", "show", "simdev/dl0"]);
    assert_eq!(
        stats["dev"]["simdev/dl0"]["stats"]["reload"]["driver_reinit"]["unspecified"], 1,
        "refused reloads do not count"
    );
}

/// Firmware that activates by reset: a flash stores its version, the old
/// one runs until `reload action fw_activate` (or simdev's `dev reset`)
/// runs it; a `driver_reinit` does not; the counts are the kernel's.
#[test]
fn a_flashed_version_awaits_fw_activate() {
    let Some(dir) = kernel_ynl() else { return };
    let spec = dir.join("Documentation/netlink/specs/devlink.yaml");
    let config = format!(
        "[[device]]\nname = \"ac0\"\n[device.firmware]\nversion = \"1.0\"\nflash_duration_ms = 100\n\
         activation = \"reset\"\n\n[[family]]\nspec = \"{}\"\n",
        spec.display()
    );
    let sim = Simulator::start(&config);
    let versions = |sim: &Simulator| {
        let info = json(sim, &["dev", "info", "simdev/ac0"]);
        let versions = &info["info"]["simdev/ac0"]["versions"];
        (
            versions["running"]["fw"].as_str().unwrap().to_string(),
            versions["stored"]["fw"].as_str().unwrap().to_string(),
        )
    };
    ok(&sim, &["dev", "flash", "simdev/ac0", "file", "fw-2.0.bin"]);
    assert_eq!(versions(&sim), ("1.0".to_string(), "fw-2.0.bin".to_string()), "stored, not running");
    let shown = genl_client(&sim, &["fw", "show", "ac0"]);
    assert!(shown.contains("fw 1.0") && shown.contains("stored fw-2.0.bin (runs after a reset)"), "{shown}");

    ok(&sim, &["dev", "reload", "simdev/ac0"]);
    assert_eq!(versions(&sim).0, "1.0", "a driver re-init runs the old firmware still");
    let activated = ok(&sim, &["dev", "reload", "simdev/ac0", "action", "fw_activate"]);
    assert!(activated.contains("driver_reinit") && activated.contains("fw_activate"), "both performed: {activated}");
    assert_eq!(versions(&sim), ("fw-2.0.bin".to_string(), "fw-2.0.bin".to_string()));
    let stats = json(&sim, &["-s", "dev", "show", "simdev/ac0"]);
    assert_eq!(
        stats["dev"]["simdev/ac0"]["stats"]["reload"],
        serde_json::json!({"driver_reinit": {"unspecified": 2}, "fw_activate": {"unspecified": 1}})
    );
    // 6.12's policy takes the limits' mask from the wrong enum (the spec's
    // reload-action: bits 1-2), so iproute2's selector (bits 0-1) fails
    // validation before the driver is asked, as in the kernel.
    refused(
        &sim,
        &["dev", "reload", "simdev/ac0", "action", "fw_activate", "limit", "no_reset"],
        "Error: Attribute failed policy validation.",
    );

    // simdev's reset activates too.
    genl_client(&sim, &["fw", "flash", "ac0", "3.0"]);
    assert_eq!(versions(&sim), ("fw-2.0.bin".to_string(), "3.0".to_string()));
    genl_client(&sim, &["dev", "reset", "ac0"]);
    assert_eq!(versions(&sim), ("3.0".to_string(), "3.0".to_string()));
}

/// The kernel's YNL CLI with the kernel's `devlink.yaml`, under `exec`.
fn ynl(sim: &Simulator, dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = simdev_tests::ynl_cli(sim.port, dir, &dir.join("Documentation/netlink/specs/devlink.yaml"));
    command.args(["--no-schema", "--output-json"]).args(args);
    command
}

fn ynl_json(sim: &Simulator, dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = ynl(sim, dir, args).output().expect("run the YNL CLI");
    assert!(out.status.success(), "YNL {args:?}: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("YNL {args:?}: {e}: {}", text(&out)))
}

/// The kernel's YNL CLI reads the instances and their info as iproute2
/// does, and a `--subscribe config` gets the flash's notifications. (YNL
/// 6.12 cannot decode them: its devlink spec gives no op the reply value
/// of `DEVLINK_CMD_FLASH_UPDATE`, 58, nor of any `*_NEW` notification but
/// the instance's and the port's, so its decoder fails with `KeyError: 58`
/// on the first one, whoever sent it; that failure is the proof the
/// notification reached it.)
#[test]
fn the_kernels_ynl_cli_reads_the_simulated_devlink() {
    let Some(dir) = kernel_ynl() else { return };
    let Some(sim) = start() else { return };
    let instances = ynl_json(&sim, &dir, &["--dump", "get"]);
    let names: Vec<(&str, &str)> = instances
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| (i["bus-name"].as_str().unwrap(), i["dev-name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("simdev", "dl0"), ("simdev", "dl1")]);
    let info = ynl_json(&sim, &dir, &["--do", "info-get", "--json", r#"{"bus-name": "simdev", "dev-name": "dl0"}"#]);
    assert_eq!(info["info-driver-name"], "simdev");
    let running = &info["info-version-running"][0];
    assert_eq!(
        (running["info-version-name"].as_str(), running["info-version-value"].as_str()),
        (Some("fw"), Some("2.4.1"))
    );
    let missing = ynl(&sim, &dir, &["--do", "info-get", "--json", r#"{"bus-name": "simdev", "dev-name": "nope"}"#])
        .output()
        .unwrap();
    assert!(text(&missing).contains("error: -19"), "ENODEV, as netdevsim's devlink: {}", text(&missing));

    let subscriber = ynl(&sim, &dir, &["--subscribe", "config", "--sleep", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the YNL CLI");
    sim.wait_for_subscribers(1);
    let flash = ynl(
        &sim,
        &dir,
        &[
            "--do",
            "flash-update",
            "--json",
            r#"{"bus-name": "simdev", "dev-name": "dl1", "flash-update-file-name": "fw-5.bin"}"#,
        ],
    )
    .output()
    .unwrap();
    assert!(flash.status.success(), "{}", text(&flash));
    let heard = subscriber.wait_with_output().unwrap();
    assert!(text(&heard).contains("KeyError: 58"), "the flash's first notification reached YNL: {}", text(&heard));
    assert_eq!(
        json(&sim, &["dev", "info", "simdev/dl1"])["info"]["simdev/dl1"]["versions"]["running"]["fw"],
        "fw-5.bin"
    );
}
