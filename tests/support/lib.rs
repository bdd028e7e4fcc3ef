//! Test harness for the workspace integration tests: start `driver-sim`
//! through `simdev_testing` (the fixture other projects use), look at the kernel's state
//! inside the simulator's namespace (`nsenter` + `ip -j`), run the CLI, and
//! exchange raw bytes with the kernel's and the simulator's controllers.
//!
//! The binaries come from the target directory of the test executable
//! (`tests/run` and `cargo build` put them there) or from `SIMDEV_BIN_DIR`.

use simdev_netlink::client::{Client, Reply};
use simdev_protocol::wire::{MessageBuilder, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_MULTI, NLM_F_REQUEST};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Path of a workspace binary (`driver-sim`, `genl-client`).
pub fn bin(name: &str) -> PathBuf {
    let dir = match std::env::var_os("SIMDEV_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            // Test executables live in target/PROFILE/deps, binaries (the
            // benchmark among them) in target/PROFILE.
            let exe = std::env::current_exe().expect("test executable path");
            let dir = exe.parent().expect("executable directory");
            if dir.join(name).exists() {
                dir.to_path_buf()
            } else {
                dir.parent().expect("target dir").to_path_buf()
            }
        }
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`cargo build`, or run tests/run)",
        path.display()
    );
    path
}

/// The project's `configs/` directory (`SIMDEV_CONFIGS_DIR` overrides, for
/// runs that cannot read the checkout).
pub fn configs_dir() -> PathBuf {
    std::env::var_os("SIMDEV_CONFIGS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/configs")))
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The Python the tests run (the kernel's YNL tools, pytest, pyroute2):
/// `$SIMDEV_PYTHON` (tests/run sets it: a python3 `nobody` can run too),
/// else `python3`.
pub fn python() -> std::ffi::OsString {
    std::env::var_os("SIMDEV_PYTHON").unwrap_or_else(|| "python3".into())
}

/// The kernel's YNL CLI (from its YNL material `dir`, [`kernel_ynl`]) on
/// `spec`, unmodified, under `genl-client exec` against the simulator at
/// `port`; the caller adds `--schema FILE` or `--no-schema`, and the rest.
pub fn ynl_cli(port: u32, dir: &std::path::Path, spec: &std::path::Path) -> Command {
    let mut command = Command::new(bin("genl-client"));
    command
        .arg("--port")
        .arg(port.to_string())
        .args(["exec", "--"])
        .arg(python())
        .arg(dir.join("tools/net/ynl/cli.py"))
        .arg("--spec")
        .arg(spec);
    command
}

/// Where the packages pinned in `tests/python/requirements.txt` are
/// installed (`.ci/run` puts them there): `$SIMDEV_PYTEST_PATH`, else
/// `/opt/simdev-python`. For `PYTHONPATH`.
pub fn python_packages() -> PathBuf {
    std::env::var_os("SIMDEV_PYTEST_PATH").map_or_else(|| PathBuf::from("/opt/simdev-python"), PathBuf::from)
}

/// Where `tests/ynl/kernel-ynl` put the kernel's YNL material: the
/// directory `$SIMDEV_KERNEL_YNL` names (tests/run sets it), or the
/// default cache. `None` (and a visible skip) when neither has it.
pub fn kernel_ynl() -> Option<PathBuf> {
    let dir = match std::env::var_os("SIMDEV_KERNEL_YNL") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/simdev-ynl/linux-source-6.12"),
    };
    if dir.join("tools/net/ynl/cli.py").is_file() {
        return Some(dir);
    }
    skip("the kernel's YNL material is not fetched here (run tests/ynl/kernel-ynl; tests/run does)");
    None
}

/// A file in the temp directory, removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn with_contents(stem: &str, contents: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("simdev-{stem}-{}-{}.toml", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, contents).expect("write temp file");
        // Readable by an unprivileged user too (tests may switch uid).
        let _ = std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644));
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `program` run in network namespace `netns` (entering `userns` first,
/// as the mapped root, without calling setgroups, which an unprivileged
/// user namespace denies).
pub fn nsenter(netns: &str, userns: Option<&str>, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("nsenter");
    if let Some(userns) = userns {
        command.arg(format!("--user={userns}")).arg("--preserve-credentials");
    }
    command.arg(format!("--net={netns}")).arg(program);
    command
}

/// A network namespace of a test's own, standing in for "the host" of
/// `netns = "host"` simulators: held by a sleeping process (in a user
/// namespace of its own when not root, where it may administer its
/// network namespace), gone with it. Nothing outside it is touched.
pub struct TestNamespace {
    holder: Child,
    pub netns: String,
    pub userns: Option<String>,
}

impl TestNamespace {
    pub fn new() -> TestNamespace {
        let flags = if is_root() { "-n" } else { "-Urn" };
        let holder = Command::new("unshare")
            .args([flags, "sleep", "infinity"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare a network namespace");
        let pid = holder.id();
        let netns = format!("/proc/{pid}/ns/net");
        // unshare sets the namespaces up (as non-root: unshare, then the uid
        // and gid maps) and only then execs sleep; entering earlier finds a
        // namespace without a uid map, where creating a veth is EPERM.
        let comm = format!("/proc/{pid}/comm");
        eventually("the test namespace is set up", || {
            std::fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep")
        });
        let userns = (!is_root()).then(|| format!("/proc/{pid}/ns/user"));
        TestNamespace { holder, netns, userns }
    }

    /// `program` run inside the namespace (as its administrator).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        nsenter(&self.netns, self.userns.as_deref(), program)
    }

    /// `ip ARGS...` inside the namespace; panics if it fails.
    pub fn ip(&self, args: &[&str]) -> String {
        let out = self.command("ip").args(args).output().expect("run ip");
        assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every link of the namespace, as `ip -j -d link show` gives it.
    pub fn links(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.ip(&["-j", "-d", "link", "show"])).expect("ip -j output")
    }

    pub fn link_names(&self) -> Vec<String> {
        self.links().iter().map(|l| l["ifname"].as_str().unwrap().to_string()).collect()
    }

    /// A link's ifindex, if it exists.
    pub fn ifindex(&self, name: &str) -> Option<u64> {
        self.links().iter().find(|l| l["ifname"] == name).and_then(|l| l["ifindex"].as_u64())
    }
}

impl Default for TestNamespace {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A child process that runs until the test ends: killed and reaped on
/// drop, so that a failing assertion leaves no process behind.
pub struct Background(pub Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running simulator: `simdev_testing`'s fixture, with what these
/// tests check around it (the kernel's view, the CLI, a test namespace).
pub struct Simulator {
    pub inner: simdev_testing::Simulator,
    pub port: u32,
    pub family_id: u16,
    pub netns: String,
    pub userns: Option<String>,
    pub ready_line: String,
    /// Runs commands where the simulator runs (a test namespace), if not here.
    place: Option<(String, Option<String>)>,
}

impl Simulator {
    /// Starts `driver-sim` on `config` at a fresh port and waits until ready.
    pub fn start(config: &str) -> Simulator {
        Self::try_start(config).unwrap_or_else(|e| panic!("driver-sim did not start: {e}"))
    }

    /// Like [`Simulator::start`], returning the failure (exit status, stderr).
    pub fn try_start(config: &str) -> Result<Simulator, String> {
        Self::try_start_in(None, config, &[])
    }

    /// Starts `driver-sim` inside a test namespace (its "host"), with more
    /// arguments; clients must run there too ([`Simulator::cli`] does).
    pub fn start_in(ns: &TestNamespace, config: &str) -> Simulator {
        Self::try_start_in(Some(ns), config, &[]).unwrap_or_else(|e| panic!("driver-sim did not start: {e}"))
    }

    /// Like [`Simulator::start_in`] (or [`Simulator::try_start`] without a
    /// namespace), returning the failure (exit status, stderr).
    pub fn try_start_in(ns: Option<&TestNamespace>, config: &str, args: &[&str]) -> Result<Simulator, String> {
        let mut builder = simdev_testing::Simulator::builder(config).program(bin("driver-sim"));
        if let Some(ns) = ns {
            let mut prefix = vec!["nsenter".to_string()];
            if let Some(userns) = &ns.userns {
                prefix.extend([format!("--user={userns}"), "--preserve-credentials".into()]);
            }
            prefix.push(format!("--net={}", ns.netns));
            builder = builder.prefix(prefix);
        }
        for arg in args {
            builder = builder.arg(arg);
        }
        let inner = builder.start().map_err(|e| e.to_string())?;
        Ok(Simulator {
            port: inner.port(),
            family_id: inner.family_id(),
            netns: inner.netns_path().to_string(),
            // A simulator in a test namespace's user namespace is root there
            // and prints none; entering its hardware takes the test's.
            userns: inner.userns_path().map(str::to_string).or_else(|| ns.and_then(|ns| ns.userns.clone())),
            ready_line: inner.ready_line().to_string(),
            place: ns.map(|ns| (ns.netns.clone(), ns.userns.clone())),
            inner,
        })
    }

    pub fn pid(&self) -> i32 {
        self.inner.pid() as i32
    }

    /// A `simdev` client of this simulator (family resolved).
    pub fn simdev(&self) -> genl_client::simdev::SimdevClient {
        genl_client::simdev::SimdevClient::connect(simdev_netlink::client::Target::Simulator { port: self.port })
            .expect("resolve simdev")
    }

    /// Waits until `count` sockets have subscribed to notifications by
    /// unicast (a listener is ready once its subscription is in).
    pub fn wait_for_subscribers(&self, count: u32) {
        let dev = self.simdev().dev_list().expect("dev-get dump").first().expect("a device").name.clone();
        let selector = simdev_protocol::simdev::DevSelector::Name(dev);
        eventually(&format!("{count} subscriber(s)"), || {
            self.simdev().stats(&selector).is_ok_and(|s| s.server.subscribers >= count)
        });
    }

    /// A raw client socket connected to this simulator.
    pub fn client(&self) -> Client {
        Client::simulator(self.port).expect("connect to simulator")
    }

    /// Runs a command inside the simulator's network namespace.
    pub fn in_netns(&self, program: &str, args: &[&str]) -> Output {
        nsenter(&self.netns, self.userns.as_deref(), program).args(args).output().expect("run nsenter")
    }

    /// `ip -j link show dev IFNAME` inside the namespace: the kernel's word.
    pub fn kernel_link(&self, ifname: &str) -> serde_json::Value {
        let out = self.in_netns("ip", &["-j", "-d", "link", "show", "dev", ifname]);
        assert!(out.status.success(), "ip link show {ifname}: {}", String::from_utf8_lossy(&out.stderr));
        let mut links: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("ip -j output");
        links.remove(0)
    }

    /// Names of all links in the namespace.
    pub fn kernel_link_names(&self) -> Vec<String> {
        let out = self.in_netns("ip", &["-j", "link", "show"]);
        assert!(out.status.success(), "ip link show: {}", String::from_utf8_lossy(&out.stderr));
        let links: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("ip -j output");
        links.iter().map(|l| l["ifname"].as_str().unwrap().to_string()).collect()
    }

    /// Runs `genl-client --port PORT ARGS...` (where the simulator runs).
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut command = match &self.place {
            Some((netns, userns)) => nsenter(netns, userns.as_deref(), bin("genl-client")),
            None => Command::new(bin("genl-client")),
        };
        command.arg("--port").arg(self.port.to_string()).args(args).output().expect("run genl-client")
    }

    /// SIGTERM, then wait; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.inner.stop().expect("wait for driver-sim")
    }

    /// The `driver-sim` process (to kill it, say).
    pub fn child(&mut self) -> &mut Child {
        self.inner.child()
    }
}

/// Waits (bounded, 30 s) for a condition that follows an asynchronous
/// event (a timer in the simulator, a signal). Not a timing assertion: it
/// only fails if the event never happens.
pub fn eventually(what: &str, condition: impl FnMut() -> bool) {
    let mut condition = condition;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether the link's `ip -j` flags contain `flag`.
pub fn has_flag(link: &serde_json::Value, flag: &str) -> bool {
    link["flags"].as_array().is_some_and(|flags| flags.iter().any(|f| f == flag))
}

/// Sends `request` (raw bytes, sequence number `seq`), then a probe
/// request, and returns every message answering `seq` that arrived before
/// the probe's ACK. Netlink answers in order, so this sees "no answer"
/// without waiting on a timer. A dump still running when the probe is
/// answered (the kernel continues dumps as the reader drains them) is read
/// to its `NLMSG_DONE`.
pub fn exchange(client: &mut Client, request: &[u8], seq: u32) -> Vec<Reply> {
    const PROBE_SEQ: u32 = 0x7fff_fff0;
    let mut probe = MessageBuilder::new(simdev_protocol::wire::NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, PROBE_SEQ, 0);
    probe.put_raw(&[]);
    let probe = probe.finish();
    client.set_recv_timeout(Duration::from_secs(10)).unwrap();
    client.send_raw(request).expect("send request");
    client.send_raw(&probe).expect("send probe");
    let mut answers: Vec<Reply> = Vec::new();
    let mut probe_answered = false;
    loop {
        let dump_open = answers.iter().any(|r| r.message().header.flags & NLM_F_MULTI != 0)
            && !answers.iter().any(|r| r.message().header.ty == NLMSG_DONE);
        if probe_answered && !dump_open {
            return answers;
        }
        for reply in client.recv_raw().expect("receive (timed out?)") {
            let header = reply.message().header;
            if header.seq == PROBE_SEQ && header.ty == NLMSG_ERROR {
                probe_answered = true;
            } else if header.seq == seq {
                answers.push(reply);
            }
        }
    }
}

/// Whether a reply ends a request (ACK/error or the end of a dump).
pub fn is_status(reply: &Reply) -> bool {
    matches!(reply.message().header.ty, NLMSG_ERROR | NLMSG_DONE)
}

/// The peak resident set size of process `pid` (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// A bare `NETLINK_USERSOCK` socket, for clients that misbehave on purpose
/// or read with exactly the buffer size a netlink reader is promised.
pub struct RawSocket {
    fd: std::os::fd::OwnedFd,
}

/// What a dump reader is promised to be able to read whole.
pub const READ_BUFFER: usize = 32 * 1024;

impl RawSocket {
    /// Bound to an automatic port, with a receive buffer of `rcvbuf` bytes
    /// (the kernel doubles it and enforces a minimum: 1 gives the smallest).
    pub fn usersock(rcvbuf: usize) -> Self {
        use nix::sys::socket::{bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockProtocol, SockType};
        let fd = socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkUserSock)
            .expect("a NETLINK_USERSOCK socket");
        setsockopt(&fd, sockopt::RcvBuf, &rcvbuf).expect("SO_RCVBUF");
        bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &nix::sys::socket::NetlinkAddr::new(0, 0)).expect("bind");
        RawSocket { fd }
    }

    /// Joins multicast group `group` (`NETLINK_ADD_MEMBERSHIP`: on
    /// `NETLINK_USERSOCK`, root only); the error, if refused.
    pub fn join(&self, group: u32) -> std::io::Result<()> {
        // SAFETY: a u32 option value of the size given.
        let rc = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&self.fd),
                libc::SOL_NETLINK,
                libc::NETLINK_ADD_MEMBERSHIP,
                (&group as *const u32).cast(),
                std::mem::size_of::<u32>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    pub fn send_to(&self, port: u32, bytes: &[u8]) {
        let to = nix::sys::socket::NetlinkAddr::new(port, 0);
        nix::sys::socket::sendto(
            std::os::fd::AsRawFd::as_raw_fd(&self.fd),
            bytes,
            &to,
            nix::sys::socket::MsgFlags::empty(),
        )
        .expect("send to the simulator");
    }

    /// One datagram read with a [`READ_BUFFER`] buffer, or `None` after
    /// `timeout`; a datagram longer than the buffer panics.
    pub fn receive_one(&self, timeout: Duration) -> Option<Vec<u8>> {
        let (datagram, truncated) = self.receive(timeout)?;
        assert!(!truncated, "a datagram longer than {READ_BUFFER} bytes");
        Some(datagram)
    }

    /// Every datagram until none came for `quiet`, and how many of them
    /// were longer than [`READ_BUFFER`].
    pub fn receive_all(&self, quiet: Duration) -> (Vec<Vec<u8>>, usize) {
        let mut datagrams = Vec::new();
        let mut truncated = 0;
        while let Some((datagram, cut)) = self.receive(quiet) {
            truncated += usize::from(cut);
            datagrams.push(datagram);
        }
        (datagrams, truncated)
    }

    fn receive(&self, timeout: Duration) -> Option<(Vec<u8>, bool)> {
        let tv = nix::sys::time::TimeVal::new(timeout.as_secs() as i64, timeout.subsec_micros().into());
        nix::sys::socket::setsockopt(&self.fd, nix::sys::socket::sockopt::ReceiveTimeout, &tv).expect("SO_RCVTIMEO");
        let mut buf = vec![0u8; READ_BUFFER];
        // SAFETY: reads into a buffer of the length given.
        let len = unsafe {
            libc::recv(std::os::fd::AsRawFd::as_raw_fd(&self.fd), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC)
        };
        if len < 0 {
            let err = std::io::Error::last_os_error();
            assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "receive: {err}");
            return None;
        }
        let len = len as usize;
        buf.truncate(len.min(READ_BUFFER));
        Some((buf, len > READ_BUFFER))
    }
}

/// Says, visibly, that (part of) the running test cannot run here, and
/// why: on the terminal even when the test harness captures output (the
/// line bypasses the capture), and in the file `$SIMDEV_SKIPPED` names,
/// which `tests/run` summarises at the end. The caller then returns.
pub fn skip(why: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let line = format!("SKIPPED {test}: {why}\n");
    // Written to the file descriptor itself: libtest captures only print!/eprint!.
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("SIMDEV_SKIPPED") {
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

/// Checks that the part of document `doc` (relative to the checkout)
/// between the markers `begin` and `end` is `rendered`; with
/// `SIMDEV_UPDATE_DOCS` set, writes it there instead. `test` names the
/// test that renders it, for the message. An unreadable document is a
/// visible skip.
pub fn check_generated_section(doc: &str, begin: &str, end: &str, rendered: &str, test: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let Ok(text) = std::fs::read_to_string(&path) else {
        skip(&format!("{} is not readable by this user", path.display()));
        return;
    };
    let start = text.find(begin).unwrap_or_else(|| panic!("{doc}: the begin marker")) + begin.len();
    let stop = start + text[start..].find(end).unwrap_or_else(|| panic!("{doc}: the end marker"));
    if text[start..stop] == *rendered {
        return;
    }
    if std::env::var_os("SIMDEV_UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{rendered}{}", &text[..start], &text[stop..])).unwrap();
        return;
    }
    panic!("{doc} is stale; run `SIMDEV_UPDATE_DOCS=1 cargo test --test {test}`. It should read:\n{rendered}");
}

/// A C program of `tests/clients/` (`SOURCE.c`), built with gcc against
/// the libraries `packages` names (pkg-config names, e.g. `libmnl`), or
/// why it cannot be built here. The file goes when the value does.
pub fn c_client(source: &str, packages: &[&str]) -> Result<TempFile, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(format!("{source}.c"));
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs"])
        .args(packages)
        .output()
        .map_err(|e| format!("pkg-config: {e} (Debian pkgconf; .ci/run installs it)"))?;
    if !flags.status.success() {
        let why = String::from_utf8_lossy(&flags.stderr);
        return Err(format!(
            "{}: {} (Debian libmnl-dev, libnl-genl-3-dev; .ci/run installs them)",
            packages.join(" "),
            why.trim()
        ));
    }
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!("simdev-{source}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let program = TempFile(std::env::temp_dir().join(name));
    let flags = String::from_utf8_lossy(&flags.stdout).into_owned();
    let built = Command::new("gcc")
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&program.0)
        .arg(&path)
        .args(flags.split_whitespace())
        .output()
        .map_err(|e| format!("gcc: {e}"))?;
    if !built.status.success() {
        return Err(format!("gcc {}: {}", path.display(), String::from_utf8_lossy(&built.stderr)));
    }
    Ok(program)
}
