//! A simulated driver for other programs' tests, in one call:
//! [`Simulator::start`] runs `driver-sim` on a TOML configuration, on a
//! port the kernel picks (so tests run in parallel), waits for its ready
//! line, and tears it down when the handle is dropped.
//!
//! ```
//! # // Where this workspace builds it; elsewhere `SIMDEV_DRIVER_SIM` or `PATH`.
//! # if std::env::var_os("SIMDEV_DRIVER_SIM").is_none() {
//! #     std::env::set_var("SIMDEV_DRIVER_SIM", concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/driver-sim"));
//! # }
//! use simdev_testing::{simdev, Event, Simulator};
//!
//! let sim = Simulator::start("[[device]]\nname = \"t0\"\nports = 2\n")?;
//! let mut client = sim.client()?;
//! assert_eq!(client.dev_list()?[0].ports.len(), 2);
//!
//! // Subscribe first, then act (here, or the program under test), then
//! // wait for the announcement.
//! let mut events = sim.subscribe(&["config"])?;
//! client.dev_set(&simdev::DevSet { mtu: Some(1400), ..simdev::DevSet::new(simdev::DevSelector::Name("t0".into())) })?;
//! let mtu = events.wait_for(std::time::Duration::from_secs(10), |event| match event {
//!     Event::DevChange { dev } => Some(dev.ports[0].mtu),
//!     _ => None,
//! })?;
//! assert_eq!(mtu, 1400);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The `driver-sim` binary is [`Builder::program`] when given, else
//! `$SIMDEV_DRIVER_SIM`, else `driver-sim` on `PATH` (a crate of this
//! workspace's own can give Cargo's `CARGO_BIN_EXE_driver-sim`). The error
//! type carries text and numbers only: no `nix` or other crate's types.
//!
//! This crate depends on the simulator's public contract only (its command
//! line and the ready line of [`simdev_protocol::ready`]), not on its code;
//! what its API takes and gives is re-exported, so a test needs this one
//! dependency.

pub use genl_client::simdev::{Call, Event, SimdevClient};
pub use simdev_netlink::client::{Subscription, Target};
/// The `simdev` family's typed messages ([`simdev::DevSet`], [`simdev::DevSelector`], ...).
pub use simdev_protocol::simdev;

use simdev_protocol::ready::Ready;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The environment variable naming the `driver-sim` binary.
pub const PROGRAM_ENV: &str = "SIMDEV_DRIVER_SIM";

/// How long [`Builder::start`] waits for the ready line by default.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no driver-sim binary: set {PROGRAM_ENV}, put it on PATH, or give Builder::program")]
    NotFound,
    #[error("cannot run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("driver-sim did not start ({status}): {stderr}")]
    Exited { status: String, stderr: String },
    #[error("driver-sim printed no ready line within {0:?}")]
    NotReady(Duration),
    #[error("driver-sim's ready line lacks `{key}`: {line}")]
    ReadyLine { key: &'static str, line: String },
    /// A client call failed: the message, and the errno when there is one.
    #[error("{message}")]
    Client { message: String, errno: Option<i32> },
    #[error("timed out after {0:?} waiting for the event")]
    Timeout(Duration),
    #[error("{what}: {source}")]
    Io { what: &'static str, source: std::io::Error },
}

impl From<simdev_netlink::error::Error> for Error {
    fn from(e: simdev_netlink::error::Error) -> Self {
        Error::Client { errno: e.errno().map(|e| e as i32), message: e.to_string() }
    }
}

/// How to start a simulator; [`Simulator::builder`] makes one.
#[derive(Debug, Clone)]
pub struct Builder {
    config: String,
    program: Option<PathBuf>,
    prefix: Vec<OsString>,
    args: Vec<OsString>,
    ready_timeout: Duration,
}

impl Builder {
    /// The `driver-sim` binary to run.
    pub fn program(mut self, path: impl Into<PathBuf>) -> Self {
        self.program = Some(path.into());
        self
    }

    /// A command `driver-sim` runs under (`nsenter --net=...`, say).
    pub fn prefix<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, command: I) -> Self {
        self.prefix = command.into_iter().map(Into::into).collect();
        self
    }

    /// One more `driver-sim` argument (`--netns-name NAME` is two).
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Also names the hardware namespace (`ip -n NAME`; root only).
    pub fn netns_name(self, name: &str) -> Self {
        self.arg("--netns-name").arg(name)
    }

    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Starts it and waits until it is ready (or failed: its stderr says why).
    pub fn start(self) -> Result<Simulator, Error> {
        let program = match self.program {
            Some(program) => program,
            None => find_program().ok_or(Error::NotFound)?,
        };
        let config = ConfigFile::new(&self.config)?;
        let mut command = match self.prefix.split_first() {
            Some((first, rest)) => {
                let mut command = Command::new(first);
                command.args(rest).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        command
            .args(&self.args)
            .arg("--config")
            .arg(&config.0)
            .args(["--port", "auto"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child =
            command.spawn().map_err(|source| Error::Spawn { program: program.display().to_string(), source })?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let ready = lines.find_map(|l| l.ok().filter(|l| l.starts_with("ready ")));
            let _ = tx.send(ready);
            for _ in lines {} // drained, so the simulator never blocks on stdout
        });
        let line = match rx.recv_timeout(self.ready_timeout) {
            Ok(Some(line)) => line,
            outcome => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                let mut stderr = String::new();
                let _ = child.stderr.take().expect("piped").read_to_string(&mut stderr);
                return Err(match outcome {
                    Err(_) => Error::NotReady(self.ready_timeout),
                    Ok(_) => Error::Exited { status, stderr: stderr.trim_end().to_string() },
                });
            }
        };
        // From now on its log goes to this process's stderr (a pipe nobody
        // drained would block the simulator).
        let mut stderr = child.stderr.take().expect("piped");
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            if !text.is_empty() {
                eprint!("driver-sim's log:\n{text}");
            }
        });
        let ready = Ready::parse(&line).map_err(|key| Error::ReadyLine { key, line: line.clone() })?;
        Ok(Simulator { ready, child, ready_line: line, _config: config })
    }
}

/// A running `driver-sim`: SIGTERM (teardown) and reaped on drop.
pub struct Simulator {
    ready: Ready,
    ready_line: String,
    child: Child,
    _config: ConfigFile,
}

impl Simulator {
    /// Starts `driver-sim` on `config_toml` (a configuration file's text).
    pub fn start(config_toml: &str) -> Result<Simulator, Error> {
        Self::builder(config_toml).start()
    }

    pub fn builder(config_toml: &str) -> Builder {
        Builder {
            config: config_toml.to_string(),
            program: None,
            prefix: Vec::new(),
            args: Vec::new(),
            ready_timeout: READY_TIMEOUT,
        }
    }

    /// The netlink port it serves on (what `genl-client --port` takes).
    pub fn port(&self) -> u32 {
        self.ready.port
    }

    /// The simdev family's id.
    pub fn family_id(&self) -> u16 {
        self.ready.family_id
    }

    /// Its hardware's network namespace, `/proc/PID/ns/net` (for `nsenter --net=`).
    pub fn netns_path(&self) -> &str {
        &self.ready.netns
    }

    /// The user namespace to enter first, when it runs without root.
    pub fn userns_path(&self) -> Option<&str> {
        self.ready.userns.as_deref()
    }

    /// The namespace's name under /run/netns, when [`Builder::netns_name`] gave one.
    pub fn netns_name(&self) -> Option<&str> {
        self.ready.netns_name.as_deref()
    }

    pub fn ready_line(&self) -> &str {
        &self.ready_line
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The [`Target`] genl-client's library takes.
    pub fn target(&self) -> Target {
        Target::Simulator { port: self.ready.port }
    }

    /// A client with the `simdev` family resolved.
    pub fn client(&self) -> Result<SimdevClient, Error> {
        Ok(SimdevClient::connect(self.target())?)
    }

    /// Subscribes to groups (`config`, `events`, `fw`; all when empty).
    /// Subscribe before acting. By unicast (simdev's `subscribe`), as root
    /// too: every simulator on the machine multicasts on the same
    /// `NETLINK_USERSOCK` groups, and a group member also takes the
    /// notifications of simulators other tests run (a busy one can overflow
    /// it); unicast hears only this one.
    pub fn subscribe(&self, groups: &[&str]) -> Result<Events, Error> {
        Ok(Events { subscription: self.client()?.subscribe(groups)? })
    }

    /// SIGTERM, then waits for the teardown; returns the exit status.
    pub fn stop(&mut self) -> Result<ExitStatus, Error> {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill only sends a signal to the child's pid.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        }
        self.child.wait().map_err(|source| Error::Io { what: "waiting for driver-sim", source })
    }

    /// Its process, for what the handle does not cover (`kill -9`, say).
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Notifications of a simulator, from [`Simulator::subscribe`].
pub struct Events {
    subscription: Subscription,
}

impl Events {
    /// Waits (at most `timeout`) for the first notification `pick` accepts.
    pub fn wait_for<T>(&mut self, timeout: Duration, mut pick: impl FnMut(Event) -> Option<T>) -> Result<T, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout(timeout));
            }
            self.subscription.set_timeout(Some(left))?;
            let batch = match self.subscription.recv() {
                Err(simdev_netlink::error::Error::Timeout) => return Err(Error::Timeout(timeout)),
                outcome => outcome?,
            };
            for (_, reply) in batch {
                if let Some(found) = Event::decode(&reply)?.and_then(&mut pick) {
                    return Ok(found);
                }
            }
        }
    }

    /// The subscription itself (every notification, raw).
    pub fn subscription(&mut self) -> &mut Subscription {
        &mut self.subscription
    }
}

/// `$SIMDEV_DRIVER_SIM`, else `driver-sim` on `PATH`.
fn find_program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(PROGRAM_ENV) {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join("driver-sim")).find(|p| p.is_file())
}

/// The configuration, in a file of its own (readable by any user, as a
/// simulator may run as another), removed on drop.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(text: &str) -> Result<Self, Error> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("simdev-config-{}-{}.toml", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, text).map_err(|source| Error::Io { what: "writing the configuration", source })?;
        let file = ConfigFile(path);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file.0, std::fs::Permissions::from_mode(0o644))
            .map_err(|source| Error::Io { what: "writing the configuration", source })?;
        Ok(file)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
