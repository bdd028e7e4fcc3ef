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
            "versions": {"running": {"fw": "2.4.1"}, "stored": {"fw": "2.4.1"}}
        }}})
    );
    // A change of the simulated firmware shows.
    let flash = sim.cli(&["fw", "flash", "dl1", "3.0"]);
    assert!(flash.status.success(), "{}", text(&flash));
    assert_eq!(json(&sim, &["dev", "info", "simdev/dl1"])["info"]["simdev/dl1"]["versions"]["running"]["fw"], "3.0");
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

/// The command numbers of the answers are the kernel's, quirk included: a
/// port get answers `DEVLINK_CMD_PORT_NEW` (7), a port dump
/// `DEVLINK_CMD_NEW` (3), an instance get `DEVLINK_CMD_NEW`.
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
    assert_eq!(commands(simdev_tests::exchange(&mut client, &dump, 3)), [3, 3, 3]);
}

/// `devlink dev flash` flashes the simulated firmware: answered when the
/// flash ends, announced on `config` as netdevsim's flash is (a `devlink
/// monitor` sees begin, netdevsim's statuses, end), and a fault on simdev's
/// flash fails it with its errno and message.
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
    let monitor = Command::new(simdev_tests::bin("genl-client"))
        .arg("--port")
        .arg(sim.port.to_string())
        .args(["exec", "--", "timeout", "3", "devlink", "monitor"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run devlink monitor");
    sim.wait_for_subscribers(1);
    let started = std::time::Instant::now();
    ok(&sim, &["dev", "flash", "simdev/fl0", "file", "fw-2.0.bin"]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(200), "answered when the flash ended");
    assert_eq!(
        json(&sim, &["dev", "info", "simdev/fl0"])["info"]["simdev/fl0"]["versions"]["running"]["fw"],
        "fw-2.0.bin"
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
