//! What whoever started the simulator learns, and what it may run: the
//! ready line (stdout, and `--ready-fd`), systemd's `NOTIFY_SOCKET`
//! protocol, and `--exec`'s program under test, whose exit ends the
//! simulator.

use anyhow::Context;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::process::{Child, Command};

/// What the ready line says, and `--exec`'s program gets in its environment.
pub struct Ready {
    pub family_id: u16,
    pub port: u32,
    pub netns: String,
    pub userns: Option<String>,
    pub netns_name: Option<String>,
}

impl Ready {
    /// `ready family=simdev id=0x20 port=N netns=PATH [userns=PATH] [netns_name=NAME]`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "ready family={} id={:#x} port={} netns={}",
            simdev_protocol::simdev::FAMILY_NAME,
            self.family_id,
            self.port,
            self.netns
        );
        if let Some(userns) = &self.userns {
            line.push_str(&format!(" userns={userns}"));
        }
        if let Some(name) = &self.netns_name {
            line.push_str(&format!(" netns_name={name}"));
        }
        line
    }

    /// Reads a ready line back (what [`Ready::line`] wrote); `Err` names the
    /// first field missing or malformed.
    pub fn parse(line: &str) -> Result<Ready, &'static str> {
        let field = |key: &str| {
            line.split(' ').find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('='))).map(str::to_string)
        };
        if !line.starts_with("ready ") {
            return Err("ready");
        }
        Ok(Ready {
            port: field("port").and_then(|p| p.parse().ok()).ok_or("port")?,
            family_id: field("id")
                .and_then(|id| u16::from_str_radix(id.trim_start_matches("0x"), 16).ok())
                .ok_or("id")?,
            netns: field("netns").ok_or("netns")?,
            userns: field("userns"),
            netns_name: field("netns_name"),
        })
    }

    /// Says so: the line on stdout and on `ready_fd` (then closed), and
    /// `READY=1` to `NOTIFY_SOCKET` when set.
    pub fn announce(&self, ready_fd: Option<i32>) -> anyhow::Result<()> {
        let line = self.line();
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
            self.family_id,
            self.port
        );
        notify_service_manager(&format!("READY=1\nSTATUS={status}\nMAINPID={}", std::process::id()));
        Ok(())
    }

    /// Starts `--exec`'s program with the simulator's whereabouts in its
    /// environment (`SIMDEV_PORT` is also what `genl-client` reads).
    pub fn spawn(&self, command: &[String]) -> anyhow::Result<Child> {
        let (program, args) = command.split_first().context("--exec needs a program after --")?;
        let mut child = Command::new(program);
        child
            .args(args)
            .env(simdev_protocol::PORT_ENV, self.port.to_string())
            .env("SIMDEV_FAMILY_ID", format!("{:#x}", self.family_id))
            .env("SIMDEV_NETNS", &self.netns);
        if let Some(userns) = &self.userns {
            child.env("SIMDEV_USERNS", userns);
        }
        if let Some(name) = &self.netns_name {
            child.env("SIMDEV_NETNS_NAME", name);
        }
        child.spawn().with_context(|| format!("--exec: running {program}"))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ready_line_reads_back() {
        let ready = Ready {
            family_id: 0x20,
            port: 4242,
            netns: "/proc/7/ns/net".into(),
            userns: Some("/proc/7/ns/user".into()),
            netns_name: Some("lab".into()),
        };
        let line = ready.line();
        assert_eq!(
            line,
            "ready family=simdev id=0x20 port=4242 netns=/proc/7/ns/net userns=/proc/7/ns/user netns_name=lab"
        );
        let back = Ready::parse(&line).unwrap();
        assert_eq!((back.family_id, back.port, back.line()), (0x20, 4242, line));
        assert_eq!(Ready::parse("ready family=simdev id=0x20 netns=/x").err(), Some("port"));
    }
}
