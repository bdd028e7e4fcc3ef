//! `genl-client exec [--family NAME] -- PROGRAM [ARGS]`: runs PROGRAM (in
//! genl-client's place, so its exit status is PROGRAM's) with the preload
//! library, so that its `NETLINK_GENERIC` sockets see the simulator's
//! families next to the kernel's: simdev, and every family it serves from
//! a spec that the kernel does not have (one the kernel has too only when
//! `--family` names it). The simulator is resolved here, once;
//! the library learns it from the environment
//! ([`simdev_protocol::preload`]). Programs the library cannot reach,
//! because their system calls do not go through a shared C library
//! (statically linked ones, Go), are refused before they run.

use crate::simdev::SimdevClient;
use object::Object;
use simdev_netlink::client::Client;
use simdev_netlink::client::Target;
use simdev_netlink::error::{Error, Result};
use simdev_protocol::preload::{
    families_value, ServedFamily, FAMILIES_ENV, LIBRARY_ENV, LIBRARY_FILE, PCAP_ENV, PORT_ENV,
};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

pub fn run(target: Target, shadow: &[String], pcap: Option<&Path>, command: &[OsString]) -> Result<()> {
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
    let families = served_families(target, shadow)?;
    let mut preload = library.into_os_string();
    if let Some(others) = std::env::var_os("LD_PRELOAD").filter(|o| !o.is_empty()) {
        preload.push(":");
        preload.push(others);
    }
    let mut run = std::process::Command::new(&path);
    run.arg0(program)
        .args(args)
        .env("LD_PRELOAD", preload)
        .env(PORT_ENV, port.to_string())
        .env(FAMILIES_ENV, families_value(&families));
    if let Some(file) = pcap {
        run.env(PCAP_ENV, start_capture(file)?);
    }
    let error = run.exec();
    Err(Error::Exec(format!("running {}: {error}", path.display())))
}

/// Makes `file` an empty capture (its pcap header) for the library to
/// append to; returns its absolute path (the program may change directory).
fn start_capture(file: &Path) -> Result<PathBuf> {
    let failed = |e: std::io::Error| Error::Usage(format!("cannot write the capture {}: {e}", file.display()));
    std::fs::write(file, simdev_protocol::pcap::file_header()).map_err(failed)?;
    std::fs::canonicalize(file).map_err(failed)
}

/// The families the program reaches at the simulator: simdev first (its
/// groups in the spec's order), then each other family the simulator lists
/// except the controller and those the kernel has, unless `shadow` names
/// them or the simulator's configuration says `shadow = true` for them
/// (a name in `shadow` the simulator does not serve is an error).
fn served_families(target: Target, shadow: &[String]) -> Result<Vec<ServedFamily>> {
    // The program's first netlink socket will have the port autobind tries
    // first, this process's pid (exec keeps it). Were one of the sockets
    // here on it, the simulator would take the program's socket for that
    // one, with what that one said of itself (its receive size): so that
    // port is held, unused, while they talk.
    let _pid_port = hold_pid_port()?;
    let mut simdev_client = SimdevClient::connect(target)?;
    let simdev = simdev_client.family().clone();
    let groups = simdev_protocol::simdev::FAMILY
        .mcast_groups
        .iter()
        .map(|name| simdev.group_id(name))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Protocol("the simulator's GETFAMILY lacks one of simdev's groups".into()))?;
    let mut families = vec![ServedFamily { name: simdev.name.clone(), id: simdev.id, groups }];
    let simulator = Client::connect(target)?.list_families()?;
    for name in shadow {
        if !simulator.iter().any(|f| &f.name == name) {
            return Err(Error::Usage(format!("--family {name}: the simulator does not serve a family of that name")));
        }
    }
    let kernel: Vec<String> = Client::kernel()?.list_families()?.into_iter().map(|f| f.name).collect();
    for family in simulator {
        let own = family.id == simdev_protocol::ctrl::GENL_ID_CTRL || family.name == simdev.name;
        if own {
            continue;
        }
        if kernel.contains(&family.name)
            && !shadow.contains(&family.name)
            && !simdev_client.family_shadows(&family.name)?
        {
            continue;
        }
        let groups = family.mcast_groups.iter().map(|g| g.id).collect();
        families.push(ServedFamily { name: family.name, id: family.id, groups });
    }
    Ok(families)
}

/// A `NETLINK_USERSOCK` socket bound to the port autobind gives first.
fn hold_pid_port() -> Result<std::os::fd::OwnedFd> {
    use nix::sys::socket::{bind, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType};
    let holder = socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkUserSock)
        .map_err(|e| Error::io("opening a netlink socket", e))?;
    bind(std::os::fd::AsRawFd::as_raw_fd(&holder), &NetlinkAddr::new(0, 0))
        .map_err(|e| Error::io("binding a netlink socket", e))?;
    Ok(holder)
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
