//! Starting, refusing to start, permissions, and leaving nothing behind.

use genl_client::simdev::SimdevClient;
use nix::errno::Errno;
use simdev_netlink::client::Target;
use simdev_netlink::error::Error;
use simdev_protocol::simdev::{DevSelector, DevSet};
use simdev_tests::{bin, eventually, is_root, skip, Simulator, TempFile, TestNamespace};
use std::process::Command;

fn driver_sim(args: &[&str]) -> std::process::Output {
    Command::new(bin("driver-sim")).args(args).output().expect("run driver-sim")
}

fn host_links() -> Vec<String> {
    let out = Command::new("ip").args(["-j", "link", "show"]).output().unwrap();
    let links: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    links.iter().map(|l| l["ifname"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_port_in_use_is_a_clear_startup_error() {
    let sim = Simulator::start("[[device]]\nname = \"pu0\"\n");
    let out = driver_sim(&["--port", &sim.port.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("netlink port {} is already in use", sim.port)), "{stderr}");
    assert!(out.stdout.is_empty(), "no ready line");
    // the first simulator is unaffected
    let mut client = SimdevClient::connect(Target::Simulator { port: sim.port }).unwrap();
    assert_eq!(client.dev_list().unwrap().len(), 1);
}

/// `--port auto`: the kernel picks a free port (autobind) and the ready
/// line names it; fifty simulators started at once all come up, each on
/// its own port, each serving its own device.
#[test]
fn fifty_simulators_started_at_once_on_auto_ports_all_come_up() {
    let handles: Vec<_> = (0..50)
        .map(|i| {
            std::thread::spawn(move || {
                let config = format!("[[device]]\nname = \"auto{i}\"\nbackend = \"model\"\n");
                Simulator::try_start(&config).map_err(|e| format!("simulator {i}: {e}"))
            })
        })
        .collect();
    let sims: Vec<Simulator> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
    let mut ports: Vec<u32> = sims.iter().map(|s| s.port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 50, "fifty different ports");
    for (i, sim) in sims.iter().enumerate() {
        assert!(sim.ready_line.contains(&format!(" port={} ", sim.port)), "{}", sim.ready_line);
        let devices = sim.simdev().dev_list().unwrap();
        assert_eq!(devices.iter().map(|d| d.name.clone()).collect::<Vec<_>>(), [format!("auto{i}")]);
    }
}

#[test]
fn port_zero_or_garbage_is_refused_and_auto_is_offered() {
    for (args, message) in [
        (vec!["--port", "0"], "port 0 is the kernel's (`auto` lets the kernel pick a free one)"),
        (vec!["--port", "sixty"], "`sixty` is not a port id or `auto`"),
    ] {
        let out = driver_sim(&args);
        assert_eq!(out.status.code(), Some(2), "a usage error: {args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(message), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // In the file too, where "auto" works as on the command line.
    let config = TempFile::with_contents(
        "auto",
        "[simulator]\nport = \"auto\"\n[[device]]\nname = \"fa0\"\nbackend = \"model\"\n",
    );
    let mut child = Command::new(bin("driver-sim"))
        .args(["--config", &config.0.display().to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut ready).unwrap();
    let port: u32 = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("port="))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{ready}"));
    let devices = SimdevClient::connect(Target::Simulator { port }).unwrap().dev_list().unwrap();
    assert_eq!(devices[0].name, "fa0");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn bad_toml_names_file_line_column_and_key_before_creating_anything() {
    let config =
        TempFile::with_contents("bad", "[simulator]\nnetns = \"private\"\n\n[[device]]\nname = \"bt0\"\nportz = 2\n");
    let path = config.0.display().to_string();
    for args in [vec!["--config", path.as_str()], vec!["--config", path.as_str(), "--check-config"]] {
        let out = driver_sim(&args);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("{path}:6:1: unknown field `portz`")), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let too_long = TempFile::with_contents("long", "[[device]]\nname = \"averylongname\"\n");
    let out = driver_sim(&["--config", &too_long.0.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":2:8: device.name `averylongname`") && stderr.contains("IFNAMSIZ"), "{stderr}");
    let missing = driver_sim(&["--config", "/nonexistent/simdev.toml"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/simdev.toml"));
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn check_config_validates_without_serving() {
    let out = driver_sim(&["--check-config"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ok: 2 devices"), "the embedded default: {stdout}");
    let default = simdev_tests::configs_dir().join("default.toml");
    let out = driver_sim(&["--check-config", "--config", &default.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let one = TempFile::with_contents("one", "[[device]]\nname = \"one0\"\nports = 1\n");
    let out = driver_sim(&["--check-config", "--config", &one.0.display().to_string()]);
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": ok: 1 device, 1 port\n"), "{out:?}");
}

#[test]
fn help_shows_the_ready_line_without_a_made_up_id() {
    let help = String::from_utf8(driver_sim(&["--help"]).stdout).unwrap();
    assert!(help.contains("ready family=simdev id=ID port=N"), "{help}");
}

#[test]
fn admin_commands_need_an_allowed_uid() {
    let sim = Simulator::start("[simulator]\nadmin_uids = [4242]\n[[device]]\nname = \"ad0\"\n");
    let mut client = SimdevClient::connect(Target::Simulator { port: sim.port }).unwrap();
    let before = sim.kernel_link("ad0p0")["mtu"].clone();
    let err = client.dev_set(&DevSet { mtu: Some(1280), ..DevSet::new(DevSelector::Id(1)) }).unwrap_err();
    assert!(matches!(err, Error::Netlink { errno: Errno::EPERM, .. }), "{err}");
    assert_eq!(sim.kernel_link("ad0p0")["mtu"], before, "nothing changed");
    assert_eq!(client.dev_list().unwrap().len(), 1, "reading needs no permission");
}

#[test]
fn another_users_dev_set_is_refused_by_default() {
    if !is_root() {
        skip("switching to another uid needs root (the same check runs via admin_uids above)");
        return;
    }
    let sim = Simulator::start("[[device]]\nname = \"ou0\"\n");
    let run_as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin("genl-client"))
            .args(["--port", &sim.port.to_string()])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run_as_nobody(&["dev", "set", "ou0", "mtu", "1280"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("EPERM"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sim.kernel_link("ou0p0")["mtu"], 1500);
    assert!(run_as_nobody(&["dev", "list"]).status.success());
    let out = sim.cli(&["dev", "set", "ou0", "mtu", "1280"]);
    assert!(out.status.success(), "root is allowed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn kill_9_leaves_nothing_in_the_callers_namespace() {
    let sim = Simulator::start("[[device]]\nname = \"k9\"\nports = 3\n");
    let holder = sim.netns.trim_end_matches("/ns/net").to_string();
    assert!(sim.kernel_link_names().contains(&"k9p2-peer".to_string()));
    let pid = nix::unistd::Pid::from_raw(sim.pid());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    let mut sim = sim;
    sim.child().wait().unwrap();
    eventually("the namespace holder is gone", || !std::path::Path::new(&holder).exists());
    assert!(host_links().iter().all(|l| !l.starts_with("k9p")), "no k9 port in the caller's namespace");
    // the port is free again at once
    let out = Command::new(bin("genl-client")).args(["--port", &sim.port.to_string(), "dev", "list"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no simulator answers"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// "Host" is a network namespace of the test's own (see tests/ownership.rs).
#[test]
fn host_namespace_hardware_is_removed_on_sigterm_and_on_failed_startup() {
    let ns = TestNamespace::new();
    let mut sim = Simulator::start_in(&ns, "[simulator]\nnetns = \"host\"\n[[device]]\nname = \"h0\"\nports = 2\n");
    assert!(ns.link_names().contains(&"h0p1".to_string()));
    assert!(sim.stop().success());
    assert!(ns.link_names().iter().all(|l| !l.starts_with("h0p")), "SIGTERM removed the veths");

    // A second device whose netdev name is taken: startup fails, the first is rolled back.
    ns.ip(&["link", "add", "h0xp0", "type", "bridge"]);
    let result = Simulator::try_start_in(
        Some(&ns),
        "[simulator]\nnetns = \"host\"\n[[device]]\nname = \"h0\"\n[[device]]\nname = \"h0x\"\n",
        &[],
    );
    let error = result.err().expect("startup must fail");
    assert!(
        error.contains("creating veth pair h0xp0/h0xp0-peer") && error.contains("File exists (h0xp0 exists"),
        "{error}"
    );
    let names = ns.link_names();
    assert!(names.iter().all(|l| !l.starts_with("h0p")), "the first device was rolled back: {names:?}");
    assert!(names.contains(&"h0xp0".to_string()), "the bridge that held the name is still there");
}
