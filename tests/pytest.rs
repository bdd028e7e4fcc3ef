//! The pytest suite (`tests/python`): driver-sim started from Python as
//! another project's tests start it. Its packages are pinned in
//! `tests/python/requirements.txt` and installed by `.ci/run` into
//! `/opt/simdev-python` (or `$SIMDEV_PYTEST_PATH`); without them the test
//! says so and does not run.

use simdev_tests::{bin, python, python_packages, skip};
use std::process::Command;

const SUITE: &str = include_str!("python/test_driver_sim.py");

#[test]
fn the_python_suite_passes() {
    let packages = python_packages();
    let python = python();
    let has_pytest = Command::new(&python)
        .args(["-c", "import pytest"])
        .env("PYTHONPATH", &packages)
        .status()
        .is_ok_and(|s| s.success());
    if !has_pytest {
        skip("pytest is not installed (.ci/run: pip install --target /opt/simdev-python -r tests/python/requirements.txt)");
        return;
    }
    // The suite runs from a copy: the checkout may be unreadable (tests/run
    // runs this as nobody too).
    let dir = std::env::temp_dir().join(format!("simdev-pytest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test_driver_sim.py"), SUITE).unwrap();
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp"])
        .arg(dir.join("tmp"))
        .arg(dir.join("test_driver_sim.py"))
        .current_dir(&dir)
        .env("PYTHONPATH", &packages)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("SIMDEV_DRIVER_SIM", bin("driver-sim"))
        .env("SIMDEV_GENL_CLIENT", bin("genl-client"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("2 passed"), "{report}");
}
