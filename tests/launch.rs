//! How harnesses start a simulator and learn about it: `--exec` (the
//! program under test runs with the simulator's whereabouts and its status
//! is the simulator's), `--ready-fd`, `NOTIFY_SOCKET`, `--netns-name`.

use simdev_tests::{bin, eventually, is_root, skip, Simulator, TempFile};
use std::process::{Command, Stdio};

const MODEL: &str = "[[device]]\nname = \"la0\"\nbackend = \"model\"\n";

fn driver_sim() -> Command {
    let mut command = Command::new(bin("driver-sim"));
    command.stdin(Stdio::null());
    command
}

/// The program runs once the simulator is ready, finds it through its
/// environment, and its exit status is driver-sim's, after the teardown.
#[test]
fn exec_runs_the_program_against_the_simulator_and_exits_with_its_status() {
    let config = TempFile::with_contents("exec", "[[device]]\nname = \"la1\"\nports = 1\n");
    let script = r#"echo "env $SIMDEV_PORT $SIMDEV_FAMILY_ID $SIMDEV_NETNS"; "$0" -j dev list || exit 99; exit 7"#;
    let out = driver_sim()
        .args(["--config", &config.0.display().to_string(), "--port", "auto", "--exec", "--", "sh", "-c", script])
        .arg(bin("genl-client"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(7), "the program's status: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let mut lines = stdout.lines();
    let ready = lines.next().unwrap();
    let env: Vec<&str> = lines.next().unwrap().split(' ').collect();
    let field = |key: &str| ready.split(' ').find_map(|w| w.strip_prefix(key)).unwrap();
    assert_eq!(env[1], field("port="), "SIMDEV_PORT: {ready}");
    assert_eq!(env[2], field("id="), "SIMDEV_FAMILY_ID");
    assert_eq!(env[3], field("netns="), "SIMDEV_NETNS");
    let devices: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(devices[0]["dev-name"], "la1", "genl-client found the simulator by SIMDEV_PORT");
    assert!(!std::path::Path::new(env[3]).exists(), "torn down before exiting: {}", env[3]);

    let out = driver_sim().args(["--port", "auto", "--exec", "--", "sh", "-c", "kill -TERM $$"]).output().unwrap();
    assert_eq!(out.status.code(), Some(128 + libc::SIGTERM), "a signal's status as a shell gives it");
    let out = driver_sim().args(["--exec"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--exec needs a program");
}

/// The ready line also goes to `--ready-fd`, and a service manager hears
/// `READY=1` and `STOPPING=1` on `NOTIFY_SOCKET`.
#[test]
fn the_ready_line_reaches_a_ready_fd_and_a_service_manager() {
    let config = TempFile::with_contents("fd", MODEL);
    let ready_file = TempFile::with_contents("ready", "");
    let notify_path = std::env::temp_dir().join(format!("simdev-notify-{}", std::process::id()));
    let _ = std::fs::remove_file(&notify_path);
    let manager = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    manager.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let out = Command::new("sh")
        .args(["-c", r#""$0" --config "$1" --port auto --ready-fd 3 --exec -- true 3>"$2" >/dev/null"#])
        .arg(bin("driver-sim"))
        .arg(&config.0)
        .arg(&ready_file.0)
        .env("NOTIFY_SOCKET", &notify_path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&notify_path);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ready = std::fs::read_to_string(&ready_file.0).unwrap();
    assert!(ready.starts_with("ready family=simdev id=0x") && ready.ends_with('\n'), "{ready:?}");
    let mut buffer = [0u8; 512];
    let len = manager.recv(&mut buffer).unwrap();
    let state = String::from_utf8_lossy(&buffer[..len]);
    assert!(state.starts_with("READY=1\nSTATUS=serving simdev (family id 0x"), "{state}");
    let len = manager.recv(&mut buffer).unwrap();
    assert_eq!(&buffer[..len], b"STOPPING=1");

    let out = driver_sim().args(["--config", &config.0.display().to_string(), "--ready-fd", "9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ready-fd 9: Bad file descriptor"));
}

/// `--netns-name`: `ip -n NAME` reaches the hardware until the simulator
/// ends, however it ends.
#[test]
fn a_named_namespace_works_with_ip_n_and_goes_with_the_simulator() {
    let name = format!("simdev-test-{}", std::process::id());
    let path = format!("/run/netns/{name}");
    if !is_root() {
        let out = driver_sim().args(["--netns-name", &name]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--netns-name needs root") && stderr.contains("nsenter"), "{stderr}");
        skip("--netns-name needs root: only its refusal is checked");
        return;
    }
    let config = "[[device]]\nname = \"nn0\"\nports = 2\n";
    let mut sim = Simulator::try_start_in(None, config, &["--netns-name", &name]).unwrap();
    assert!(sim.ready_line.ends_with(&format!(" netns_name={name}")), "{}", sim.ready_line);
    let out = Command::new("ip").args(["-n", &name, "-j", "link", "show"]).output().unwrap();
    let links: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(links.iter().any(|l| l["ifname"] == "nn0p1"), "{links:?}");

    // The name is taken: a second simulator says so and leaves the first's.
    let error = Simulator::try_start_in(None, config, &["--netns-name", &name]).err().unwrap();
    assert!(error.contains(&format!("{path} exists")), "{error}");
    assert!(std::path::Path::new(&path).exists());

    assert!(sim.stop().success());
    assert!(!std::path::Path::new(&path).exists(), "unmounted and removed at teardown");

    let sim = Simulator::try_start_in(None, config, &["--netns-name", &name]).unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sim.pid()), nix::sys::signal::Signal::SIGKILL).unwrap();
    eventually("the holder removes the name after kill -9", || !std::path::Path::new(&path).exists());

    let host = TempFile::with_contents("host", "[simulator]\nnetns = \"host\"\n");
    let out = driver_sim().args(["--config", &host.0.display().to_string(), "--netns-name", &name]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("names the simulator's private namespace"));
}
