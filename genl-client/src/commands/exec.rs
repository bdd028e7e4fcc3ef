//! `genl-client exec -- PROGRAM [ARGS]`: runs PROGRAM (in genl-client's
//! place, so its exit status is PROGRAM's) with the preload library, so
//! that its `NETLINK_GENERIC` sockets see the simulator's simdev family
//! next to the kernel's families. The simulator is resolved here, once;
//! the library learns it from the environment
//! ([`simdev_protocol::preload`]). Programs the library cannot reach,
//! because their system calls do not go through a shared C library
//! (statically linked ones, Go), are refused before they run.

use crate::simdev::SimdevClient;
use object::Object;
use simdev_netlink::client::Target;
use simdev_netlink::error::{Error, Result};
use simdev_protocol::preload::{FAMILY_ID_ENV, GROUPS_ENV, LIBRARY_ENV, LIBRARY_FILE, PORT_ENV};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

pub fn run(target: Target, command: &[OsString]) -> Result<()> {
    let Target::Simulator { port } = target else {
        return Err(Error::Usage("exec shows a simulator's family to a program: not with --kernel".into()));
    };
    let Some((program, args)) = command.split_first() else {
        return Err(Error::Usage("exec -- PROGRAM [ARGS]".into()));
    };
    let path = find_program(program)?;
    check_reachable(&path, program)?;
    let library = library()?;
    // Resolved here, then closed: the program inherits no socket of ours.
    let family = SimdevClient::connect(target)?.family().clone();
    let groups: Vec<String> = simdev_protocol::simdev::FAMILY
        .mcast_groups
        .iter()
        .map(|name| family.group_id(name).map(|id| id.to_string()))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Protocol("the simulator's GETFAMILY lacks one of simdev's groups".into()))?;
    let mut preload = library.into_os_string();
    if let Some(others) = std::env::var_os("LD_PRELOAD").filter(|o| !o.is_empty()) {
        preload.push(":");
        preload.push(others);
    }
    let error = std::process::Command::new(&path)
        .arg0(program)
        .args(args)
        .env("LD_PRELOAD", preload)
        .env(PORT_ENV, port.to_string())
        .env(FAMILY_ID_ENV, family.id.to_string())
        .env(GROUPS_ENV, groups.join(","))
        .exec();
    Err(Error::Exec(format!("running {}: {error}", path.display())))
}

/// PROGRAM as the shell finds it: a path when it has a slash, else the
/// first executable of that name on `PATH`.
fn find_program(program: &OsStr) -> Result<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .ok_or_else(|| Error::Exec(format!("{}: command not found", program.to_string_lossy())))
}

/// Refuses a program whose system calls would bypass the preload library.
/// A script is judged by its interpreter (`#!/usr/bin/env NAME`: by NAME).
fn check_reachable(path: &Path, shown: &OsStr) -> Result<()> {
    let data = std::fs::read(path).map_err(|e| Error::Exec(format!("reading {}: {e}", path.display())))?;
    if let Some(line) = data.strip_prefix(b"#!") {
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let mut words = line.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty());
        let Some(interpreter) = words.next().map(|w| PathBuf::from(OsStr::from_bytes(w))) else { return Ok(()) };
        let interpreter = match (interpreter.file_name() == Some(OsStr::new("env")), words.next()) {
            (true, Some(name)) => find_program(OsStr::from_bytes(name))?,
            _ => interpreter,
        };
        let data = std::fs::read(&interpreter).map_err(|e| {
            Error::Exec(format!("reading {}'s interpreter {}: {e}", shown.to_string_lossy(), interpreter.display()))
        })?;
        return check_binary(&data, &interpreter.as_os_str().to_string_lossy());
    }
    check_binary(&data, &shown.to_string_lossy())
}

/// An ELF binary must be dynamically linked and not Go; anything else is
/// left for the kernel to run or refuse.
fn check_binary(data: &[u8], shown: &str) -> Result<()> {
    let Ok(file) = object::File::parse(data) else { return Ok(()) };
    if file.format() != object::BinaryFormat::Elf {
        return Ok(());
    }
    let cannot = |why: &str| {
        Err(Error::Exec(format!(
            "{shown} {why}, so the preload library cannot see its sockets; \
             only programs that call the C library's socket functions (C, C++, Rust, Python, ...) can be run under exec"
        )))
    };
    if file.section_by_name(".go.buildinfo").is_some() || file.section_by_name(".note.go.buildid").is_some() {
        return cannot("is a Go program: Go makes its system calls itself, not through the C library");
    }
    let dynamic = file.section_by_name(".interp").is_some() || file.imports().is_ok_and(|i| !i.is_empty());
    if !dynamic {
        return cannot("is statically linked: its system calls do not go through a shared C library");
    }
    Ok(())
}

/// The preload library: `SIMDEV_PRELOAD`, else next to this binary (where
/// `cargo build` puts both).
fn library() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(LIBRARY_ENV) {
        let path = PathBuf::from(path);
        return match path.is_file() {
            true => Ok(std::fs::canonicalize(&path).unwrap_or(path)),
            false => Err(Error::Exec(format!("{LIBRARY_ENV}={} is not a file", path.display()))),
        };
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("finding genl-client's own path", e))?;
    let beside = exe.with_file_name(LIBRARY_FILE);
    if beside.is_file() {
        return Ok(beside);
    }
    Err(Error::Exec(format!(
        "the preload library {LIBRARY_FILE} is not next to {} and {LIBRARY_ENV} is not set (cargo build makes it)",
        exe.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_programs_pass_and_static_ones_are_refused() {
        let sh = std::fs::read(find_program(OsStr::new("sh")).unwrap()).unwrap();
        check_binary(&sh, "sh").unwrap();
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        check_binary(&exe, "this test").unwrap();
        assert!(check_binary(b"not an ELF file", "text").is_ok(), "left to the kernel");
    }

    #[test]
    fn a_missing_program_is_named() {
        let error = find_program(OsStr::new("no-such-program-here")).unwrap_err().to_string();
        assert!(error.contains("no-such-program-here: command not found"), "{error}");
    }
}
