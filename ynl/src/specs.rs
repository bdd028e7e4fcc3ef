//! Where the kernel's specs are found by name (`devlink`, `dpll`): the
//! directories of `SIMDEV_SPEC_DIR` (colon-separated), then the kernel's
//! YNL material the tests fetch (`tests/ynl/kernel-ynl`: `SIMDEV_KERNEL_YNL`,
//! or its cache, `SIMDEV_YNL_CACHE`, default `~/.cache/simdev-ynl`). The
//! simulator (`spec = "dpll"`) and genl-client (`decode`) look alike.

use std::path::{Path, PathBuf};

/// The directories looked in, in order.
pub fn directories() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("SIMDEV_SPEC_DIR").map(|dirs| std::env::split_paths(&dirs).collect()).unwrap_or_default();
    let specs = |root: PathBuf| root.join("Documentation/netlink/specs");
    if let Some(root) = std::env::var_os("SIMDEV_KERNEL_YNL") {
        dirs.push(specs(root.into()));
    }
    let cache = std::env::var_os("SIMDEV_YNL_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/simdev-ynl")));
    if let Some(cache) = cache {
        dirs.push(specs(cache.join("linux-source-6.12")));
    }
    dirs
}

/// The file of the kernel spec `name`, or where it was looked for.
pub fn find(name: &str) -> Result<PathBuf, String> {
    let dirs = directories();
    dirs.iter().map(|dir| dir.join(format!("{name}.yaml"))).find(|path| path.is_file()).ok_or_else(|| {
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        format!(
            "no kernel spec named `{name}` in {} (tests/ynl/kernel-ynl fetches the kernel's specs; or give a path)",
            if looked.is_empty() { "any spec directory".to_string() } else { looked.join(", ") }
        )
    })
}
