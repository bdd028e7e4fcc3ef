//! The simulator deletes or changes only what it created in this run: a
//! name that is taken is a clear error naming whose netdev holds it, never
//! taken over; a failed start or `dev-new` leaves other netdevs alone;
//! `kill -9` in the host namespace leaves nothing of its own behind; and
//! `--reclaim` removes only leftovers of simulators that no longer run.
//!
//! "Host" mode runs inside a network namespace of the test's own
//! ([`TestNamespace`]), so the machine's own namespace is never touched
//! (and the tests run unprivileged too, as that namespace's administrator).

use simdev_tests::{bin, eventually, Simulator, TestNamespace};

fn host_config(devices: &[&str]) -> String {
    let mut config = "[simulator]\nnetns = \"host\"\n".to_string();
    for name in devices {
        config.push_str(&format!("[[device]]\nname = \"{name}\"\nports = 2\n"));
    }
    config
}

/// A veth pair of the user's, with an alias that is not a simulator's mark.
fn users_veth(ns: &TestNamespace, name: &str) -> u64 {
    ns.ip(&["link", "add", name, "type", "veth", "peer", "name", &format!("{name}-peer")]);
    ns.ip(&["link", "set", name, "alias", "the user's own uplink"]);
    ns.ifindex(name).expect("created")
}

#[test]
fn a_failed_start_leaves_the_users_netdev_and_says_whose_it_is() {
    let ns = TestNamespace::new();
    let users = users_veth(&ns, "fs0p1");
    let error = Simulator::try_start_in(Some(&ns), &host_config(&["fs0"]), &[]).err().expect("the start must fail");
    assert!(error.contains("creating veth pair fs0p1/fs0p1-peer"), "{error}");
    assert!(error.contains("fs0p1 exists and is not simdev's"), "{error}");
    assert_eq!(ns.ifindex("fs0p1"), Some(users), "the user's netdev is untouched");
    assert!(ns.ifindex("fs0p1-peer").is_some());
    assert!(ns.ifindex("fs0p0").is_none(), "the port created before the failure was removed");
}

#[test]
fn a_second_simulator_with_the_same_names_leaves_the_first_ones_ports() {
    let ns = TestNamespace::new();
    let first = Simulator::start_in(&ns, &host_config(&["ss0"]));
    let port = ns.ifindex("ss0p0").expect("the first simulator's port");
    let error = Simulator::try_start_in(Some(&ns), &host_config(&["ss0"]), &[]).err().expect("must fail");
    assert!(
        error.contains(&format!("ss0p0 exists: it belongs to the running simulator pid {}", first.pid())),
        "{error}"
    );
    assert_eq!(ns.ifindex("ss0p0"), Some(port));
    let out = first.cli(&["dev", "show", "ss0"]);
    assert!(
        out.status.success(),
        "the first simulator still drives its ports: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dev_add_with_a_taken_name_fails_and_leaves_the_netdev_in_both_namespace_modes() {
    // The private namespace: the user made zp0 in it by hand.
    let sim = Simulator::start("[[device]]\nname = \"keep\"\n");
    let out = sim.in_netns("ip", &["link", "add", "zp0", "type", "veth", "peer", "name", "zp0-peer"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = sim.kernel_link("zp0")["ifindex"].clone();
    let out = sim.cli(&["dev", "add", "z", "ports", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("EEXIST") && stderr.contains("zp0 exists and is not simdev's"), "{stderr}");
    assert_eq!(sim.kernel_link("zp0")["ifindex"], before, "the user's zp0 is untouched");
    assert!(sim.kernel_link_names().contains(&"zp0-peer".to_string()));
    assert_eq!(sim.simdev().dev_list().unwrap().len(), 1);

    // The host namespace.
    let ns = TestNamespace::new();
    let users = users_veth(&ns, "hzp0");
    let sim = Simulator::start_in(&ns, &host_config(&["hkeep"]));
    let out = sim.cli(&["dev", "add", "hz", "ports", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hzp0 exists and is not simdev's"));
    assert_eq!(ns.ifindex("hzp0"), Some(users));
}

#[test]
fn netdevs_carry_the_simulators_mark() {
    let ns = TestNamespace::new();
    let sim = Simulator::start_in(&ns, &host_config(&["mk0"]));
    let links = ns.links();
    for name in ["mk0p0", "mk0p0-peer", "mk0p1", "mk0p1-peer"] {
        let link = links.iter().find(|l| l["ifname"] == name).expect(name);
        let alias = link["ifalias"].as_str().unwrap_or_default();
        assert!(alias.starts_with(&format!("simdev driver-sim pid {} start ", sim.pid())), "{name}: {alias}");
        assert!(alias.ends_with(" device mk0"), "{alias}");
    }
}

#[test]
fn kill_9_in_the_host_namespace_leaves_nothing_of_its_own() {
    let ns = TestNamespace::new();
    let users = users_veth(&ns, "k9user");
    let mut sim = Simulator::start_in(&ns, &host_config(&["hk9"]));
    assert!(ns.ifindex("hk9p1-peer").is_some());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sim.pid()), nix::sys::signal::Signal::SIGKILL).unwrap();
    sim.child().wait().unwrap();
    eventually("the namespace holder removed the simulator's netdevs", || {
        ns.link_names().iter().all(|name| !name.starts_with("hk9"))
    });
    assert_eq!(ns.ifindex("k9user"), Some(users), "the user's netdev is untouched");
}

/// The simulator and its holder both killed: its netdevs stay, marked as a
/// dead simulator's. A new start names them as leftovers; `--reclaim`
/// removes exactly those.
#[test]
fn reclaim_removes_only_what_dead_simulators_left() {
    let ns = TestNamespace::new();
    let users = users_veth(&ns, "rcuser");
    let live = Simulator::start_in(&ns, &host_config(&["rclive"]));
    let mut dead = Simulator::start_in(&ns, &host_config(&["rcdead"]));
    let holder = children_of(dead.pid());
    assert_eq!(holder.len(), 1, "the simulator has one child, its namespace holder");
    for pid in holder.into_iter().chain([dead.pid()]) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    }
    dead.child().wait().unwrap();
    assert!(ns.ifindex("rcdeadp0").is_some(), "left behind");

    let error = Simulator::try_start_in(Some(&ns), &host_config(&["rcdead"]), &[]).err().expect("names are taken");
    assert!(
        error.contains(&format!("left behind by simulator pid {}, which is no longer running", dead.pid()))
            && error.contains("driver-sim --reclaim"),
        "{error}"
    );

    let out = ns.command(bin("driver-sim")).arg("--reclaim").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for port in ["rcdeadp0", "rcdeadp1"] {
        let reclaimed = [format!("{port} and its peer {port}-peer"), format!("{port}-peer and its peer {port}")];
        assert!(reclaimed.iter().any(|pair| stderr.contains(&format!("reclaimed {pair} (left behind by simulator pid {})", dead.pid()))), "{stderr}");
    }
    let names = ns.link_names();
    assert!(names.iter().all(|n| !n.starts_with("rcdead")), "{names:?}");
    assert_eq!(ns.ifindex("rcuser"), Some(users), "the user's netdev is untouched");
    assert!(names.contains(&"rclivep1-peer".to_string()), "a running simulator's netdevs are untouched");
    assert!(live.cli(&["dev", "list"]).status.success());

    let again = Simulator::try_start_in(Some(&ns), &host_config(&["rcdead"]), &[]);
    assert!(again.is_ok(), "the names are free again: {:?}", again.err());
}

/// Pids of the direct children of `pid`.
fn children_of(pid: i32) -> Vec<i32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .map(|task| std::fs::read_to_string(task.unwrap().path().join("children")).unwrap_or_default())
        .flat_map(|text| text.split_whitespace().map(|p| p.parse().unwrap()).collect::<Vec<i32>>())
        .collect()
}
