//! `genl-client --kernel` against the kernel's real families, compared with
//! iproute2's `genl`, which reads the same controller.

use simdev_tests::bin;
use std::process::Command;

fn genl_client(args: &[&str]) -> std::process::Output {
    Command::new(bin("genl-client")).args(args).output().expect("run genl-client")
}

#[test]
fn ctrl_list_is_identical_to_iproute2_genl() {
    let ours = genl_client(&["--kernel", "ctrl", "list"]);
    assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
    let theirs = Command::new("genl").args(["ctrl", "list"]).output().expect("iproute2's genl (package iproute2)");
    assert!(theirs.status.success());
    let (ours, theirs) = (String::from_utf8(ours.stdout).unwrap(), String::from_utf8(theirs.stdout).unwrap());
    assert!(theirs.contains("Name: nlctrl"));
    assert_eq!(ours, theirs, "families, ids, versions, sizes, ops, capabilities and groups");
}

#[test]
fn ctrl_get_by_name_and_id_agree_with_genl() {
    for family in ["nlctrl", "ethtool", "netdev"] {
        let ours = genl_client(&["--kernel", "ctrl", "get", family]);
        let theirs = Command::new("genl").args(["ctrl", "get", "name", family]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&ours.stdout), String::from_utf8_lossy(&theirs.stdout), "{family}");
    }
    let by_id = genl_client(&["--kernel", "-j", "ctrl", "get", "0x10"]);
    let family: serde_json::Value = serde_json::from_slice(&by_id.stdout).unwrap();
    assert_eq!(family["name"], "nlctrl");
    assert_eq!(family["version"], 2);
    assert_eq!(family["mcast-groups"][0]["name"], "notify", "hyphenated keys, as the spec names attributes");
}

#[test]
fn errors_go_to_stderr_with_a_failing_status() {
    let out = genl_client(&["--kernel", "ctrl", "get", "nosuchfamily"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "genl-client: family `nosuchfamily` not found");
    let out = genl_client(&["--port", "12345", "dev", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no simulator answers at netlink port 12345"));
}

#[test]
fn ctrl_policy_is_identical_to_iproute2_genl_for_every_family_with_policies() {
    let list = Command::new("genl").args(["ctrl", "list"]).output().unwrap();
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Name: ").map(str::to_string))
        .collect();
    let mut compared = 0;
    for family in &names {
        let theirs = Command::new("genl").args(["ctrl", "policy", "name", family]).output().unwrap();
        let ours = genl_client(&["--kernel", "ctrl", "policy", family]);
        if !ours.status.success() {
            // Families without policies: ENODATA, as genl reports too.
            assert!(String::from_utf8_lossy(&ours.stderr).contains("ENODATA"), "{family}");
            assert!(String::from_utf8_lossy(&theirs.stderr).contains("No data available"), "{family}");
            continue;
        }
        assert_eq!(String::from_utf8_lossy(&ours.stdout), String::from_utf8_lossy(&theirs.stdout), "{family}");
        compared += 1;
    }
    assert!(compared >= 3, "nlctrl, netdev, ethtool at least");
}

#[test]
fn simdev_port_in_the_environment_does_not_conflict_with_kernel() {
    // Every program `driver-sim --exec` starts has SIMDEV_PORT set.
    let out = Command::new(bin("genl-client"))
        .env(simdev_protocol::PORT_ENV, "12345")
        .args(["--kernel", "ctrl", "get", "nlctrl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Name: nlctrl"));
    // An explicit --port still does.
    let out = genl_client(&["--kernel", "--port", "12345", "ctrl", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'--kernel' cannot be used with '--port <PORT>'"));
}

#[test]
fn a_batch_window_of_zero_is_a_usage_error() {
    let out = genl_client(&["-b", "-", "--window", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a window of 0 would send nothing"), "{out:?}");
}

/// With -j every failure is one JSON error object on stdout with an errno:
/// usage errors (status 2), and failures that are not the peer's.
#[test]
fn json_errors_have_one_shape_with_an_errno() {
    let error_of = |out: &std::process::Output| -> serde_json::Value {
        let value: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        value["error"].clone()
    };
    let usage = genl_client(&["-j", "--port", "0", "dev", "list"]);
    assert_eq!(usage.status.code(), Some(2));
    let error = error_of(&usage);
    assert_eq!((error["errno"].as_str(), error["code"].as_i64()), (Some("EINVAL"), Some(22)), "{error}");
    assert!(error["message"].as_str().unwrap().contains("port 0 is the kernel's"), "{error}");
    let usage = genl_client(&["-jp", "dev", "frobnicate"]);
    assert_eq!((usage.status.code(), error_of(&usage)["errno"].as_str()), (Some(2), Some("EINVAL")));

    let nobody_there = genl_client(&["-j", "--port", "12345", "dev", "list"]);
    assert_eq!(nobody_there.status.code(), Some(1));
    let error = error_of(&nobody_there);
    assert_eq!((error["errno"].as_str(), error["code"].as_i64()), (Some("ECONNREFUSED"), Some(111)), "{error}");
    assert_eq!(error["description"], "Connection refused");
    // Help is still help.
    assert!(genl_client(&["-j", "--help"]).status.success());
}
