//! What whoever started the simulator learns, and what it may run: the
//! ready line (stdout, and `--ready-fd`), systemd's `NOTIFY_SOCKET`
//! protocol, and `--exec`'s program under test, whose exit ends the
//! simulator.

use anyhow::Context;
use simdev_protocol::ready::Ready;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::process::{Child, Command};

/// Says so: the line on stdout and on `ready_fd` (then closed), and
/// `READY=1` to `NOTIFY_SOCKET` when set.
pub fn announce(ready: &Ready, ready_fd: Option<i32>) -> anyhow::Result<()> {
    let line = ready.line();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").and_then(|_| stdout.flush()).context("writing the ready line")?;
    if let Some(fd) = ready_fd {
        // SAFETY: the caller handed this descriptor over for the ready
        // line (checked open at startup); the file closes it.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        writeln!(file, "{line}").with_context(|| format!("writing the ready line to fd {fd}"))?;
    }
    let status = format!(
        "serving {} (family id {:#x}) on netlink port {}",
        simdev_protocol::simdev::FAMILY_NAME,
        ready.family_id,
        ready.port
    );
    notify_service_manager(&format!("READY=1\nSTATUS={status}\nMAINPID={}", std::process::id()));
    Ok(())
}

/// Starts `--exec`'s program with the simulator's whereabouts in its
/// environment ([`Ready::environment`]; `SIMDEV_PORT` is also what
/// `genl-client` reads).
pub fn spawn(ready: &Ready, command: &[String]) -> anyhow::Result<Child> {
    let (program, args) = command.split_first().context("--exec needs a program after --")?;
    let mut child = Command::new(program);
    child.args(args).envs(ready.environment());
    child.spawn().with_context(|| format!("--exec: running {program}"))
}

/// Checks, before anything is created, that `fd` is open.
pub fn check_ready_fd(fd: i32) -> anyhow::Result<()> {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        anyhow::bail!("--ready-fd {fd}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `state` to systemd's notification socket, when `NOTIFY_SOCKET`
/// names one (a path, or `@name` in the abstract namespace); a failure is
/// only logged.
pub fn notify_service_manager(state: &str) {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    let address = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name),
        None => SocketAddr::from_pathname(&path),
    };
    let sent = address.and_then(|address| UnixDatagram::unbound()?.send_to_addr(state.as_bytes(), &address));
    if let Err(e) = sent {
        log::warn!("NOTIFY_SOCKET {}: {e}", path.to_string_lossy());
    }
}

/// The exit status a shell would give for `status`: its code, or 128 + the
/// signal that ended it.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or(status.signal().map(|s| 128 + s)).unwrap_or(1)
}
