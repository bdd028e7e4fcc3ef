//! `simdev_testing` as another project's tests use it: through the
//! public API only (no helper of this workspace's harness but the path of
//! the binary, which a dependent crate gets from `SIMDEV_DRIVER_SIM` or
//! `PATH`).

use simdev_protocol::simdev::{DevSelector, DevSet};
use simdev_testing::{Error, Simulator};
use std::process::Command;
use std::time::Duration;

fn builder(config: &str) -> simdev_testing::Builder {
    Simulator::builder(config).program(simdev_tests::bin("driver-sim"))
}

/// `ip -j link` in a simulator's hardware namespace: by its name where it
/// has one (root), else by its paths.
fn links(sim: &Simulator) -> Vec<serde_json::Value> {
    let out = match sim.netns_name() {
        Some(name) => Command::new("ip").args(["-n", name, "-j", "link", "show"]).output().unwrap(),
        None => {
            let mut nsenter = Command::new("nsenter");
            if let Some(userns) = sim.userns_path() {
                nsenter.arg(format!("--user={userns}")).arg("--preserve-credentials");
            }
            nsenter.arg(format!("--net={}", sim.netns_path())).args(["ip", "-j", "link", "show"]).output().unwrap()
        }
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn eight_simulators_in_parallel_each_drive_their_own_kernel_devices() {
    let root = simdev_tests::is_root();
    if !root {
        simdev_tests::skip("naming namespaces needs root: checked through nsenter and the netns paths instead");
    }
    let threads: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let config = format!("[[device]]\nname = \"fx{i}\"\nports = 2\n");
                let mut builder = builder(&config);
                if root {
                    builder = builder.netns_name(&format!("simdev-fixture-{}-{i}", std::process::id()));
                }
                let sim = builder.start().unwrap();
                let mut client = sim.client().unwrap();
                let mut events = sim.subscribe(&["config"]).unwrap();
                let set = DevSet { mtu: Some(1300 + i), ..DevSet::new(DevSelector::Name(format!("fx{i}"))) };
                client.dev_set(&set).unwrap();
                let announced = events
                    .wait_for(Duration::from_secs(10), |event| match event {
                        genl_client::simdev::Event::DevChange { dev } if dev.ports[0].mtu == 1300 + i => Some(dev),
                        _ => None,
                    })
                    .unwrap();
                assert_eq!(announced.name, format!("fx{i}"));
                let links = links(&sim);
                let port = links.iter().find(|l| l["ifname"] == format!("fx{i}p1")).expect("the port, in the kernel");
                assert_eq!(port["mtu"], 1300 + i, "the kernel's word");
                (sim.port(), sim.netns_name().map(str::to_string))
            })
        })
        .collect();
    let mut ports = Vec::new();
    for thread in threads {
        let (port, name) = thread.join().unwrap();
        ports.push(port);
        if let Some(name) = name {
            assert!(!std::path::Path::new(&format!("/run/netns/{name}")).exists(), "dropped: torn down");
        }
    }
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 8);
}

#[test]
fn failures_say_what_went_wrong() {
    let missing = Simulator::builder("").program("/nonexistent/driver-sim").start().err().unwrap();
    assert!(matches!(missing, Error::Spawn { .. }), "{missing}");
    let bad = builder("[[device]]\nnmae = \"x\"\n").start().err().unwrap();
    match bad {
        Error::Exited { stderr, .. } => assert!(stderr.contains("unknown field `nmae`"), "{stderr}"),
        other => panic!("{other}"),
    }
    let sim = builder("[[device]]\nname = \"fe0\"\nbackend = \"model\"\n").start().unwrap();
    let mut events = sim.subscribe(&["fw"]).unwrap();
    let waited = events.wait_for(Duration::from_millis(200), |_| Some(()));
    assert!(matches!(waited, Err(Error::Timeout(_))), "nothing flashed");
    let err: Error = sim.client().unwrap().dev_get(&DevSelector::Name("nope".into())).unwrap_err().into();
    assert!(matches!(err, Error::Client { errno: Some(libc::ENODEV), .. }), "{err}");
}
