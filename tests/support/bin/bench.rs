//! `simdev-bench [--smoke] [--only KEY,...] [--output FILE]`: measures simdev against the kernel and against
//! the physical floor of a user-space netlink server on this machine, all in
//! one run, prints a table with the goals, and writes
//! `target/simdev-bench.json`. Build it with the simulator in release mode:
//! `cargo build --release && target/release/simdev-bench`.
//! `--smoke` runs tiny sizes (to keep the benchmark working, not to measure).
//! `--only KEY,...` measures only those figures (and what their ratios need
//! is left out of the ratio table): one figure to profile, say.

use genl_client::simdev::Call;
use neli::consts::socket::NlFamily;
use neli::socket::NlSocket;
use neli::utils::Groups;
use simdev_netlink::client::Client;
use simdev_netlink::pipeline::{Flow, Pipelined};
use simdev_protocol::ctrl::FamilySelector;
use simdev_protocol::simdev::{DevSelector, DEV_ATTRS};
use simdev_protocol::wire::{MessageBuilder, NLM_F_DUMP, NLM_F_REQUEST};
use simdev_tests::{is_root, peak_rss_kib, RawSocket, Simulator, TempFile};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

struct Sizes {
    rtt_rounds: u32,
    pipelined_ops: u32,
    dump_small: u32,
    dump_large: u32,
    veth_ports: u32,
    rss_devices: u32,
    /// Pipelined writes for the capture's cost: three frames each (request,
    /// ACK, notification), so 350 000 make a capture of over a million.
    pcap_ops: u32,
}

const FULL: Sizes = Sizes {
    rtt_rounds: 5000,
    pipelined_ops: 100_000,
    dump_small: 10_000,
    dump_large: 100_000,
    veth_ports: 500,
    rss_devices: 10_000,
    pcap_ops: 350_000,
};
const SMOKE: Sizes = Sizes {
    rtt_rounds: 50,
    pipelined_ops: 1000,
    dump_small: 100,
    dump_large: 1000,
    veth_ports: 10,
    rss_devices: 100,
    pcap_ops: 1000,
};

/// The simulator the round trips and pipelined writes are measured on:
/// one model device with a register to write.
const BENCH_CONFIG: &str =
    "[[device]]\nname = \"bench\"\nbackend = \"model\"\n[[device.register]]\nname = \"scratch\"\noffset = 0\n";

/// Pipelining window used for the throughput figures.
const WINDOW: usize = 64;

fn main() {
    if std::env::args().any(|a| a == "--echo") {
        echo_peer(Echo::Credentials);
    }
    if std::env::args().any(|a| a == "--echo-bare") {
        echo_peer(Echo::Bare);
    }
    let smoke = std::env::args().any(|a| a == "--smoke");
    // Every process of the run (this one, the simulators it starts, the
    // echo peer) shares one CPU: a round trip then costs a context switch,
    // not a cross-CPU wake-up whose cost swings with the scheduler's
    // placement, so the figures and their ratios are repeatable.
    pin_to_one_cpu();
    let sizes = if smoke { SMOKE } else { FULL };
    let only: Option<Vec<String>> =
        std::env::args().skip_while(|a| a != "--only").nth(1).map(|list| list.split(',').map(str::to_string).collect());
    let wanted = |key: &str| only.as_ref().is_none_or(|keys| keys.iter().any(|k| k == key));
    let mut results: BTreeMap<&str, f64> = BTreeMap::new();

    let mut kernel = Client::kernel().expect("kernel genetlink");
    if wanted("kernel_ctrl_rtt_us") {
        results.insert(
            "kernel_ctrl_rtt_us",
            best_of_three(false, || getfamily_rtt(&mut kernel, "nlctrl", sizes.rtt_rounds)),
        );
    }
    if wanted("floor_rtt_us") {
        let rtt = best_of_three(false, || Floor::start(Echo::Credentials).round_trip_us(sizes.rtt_rounds));
        results.insert("floor_rtt_us", rtt);
    }
    if wanted("floor_bare_rtt_us") {
        results.insert(
            "floor_bare_rtt_us",
            best_of_three(false, || Floor::start(Echo::Bare).round_trip_us(sizes.rtt_rounds)),
        );
    }
    if wanted("floor_pipelined_ops_s") {
        let ops = best_of_three(true, || Floor::start(Echo::Credentials).pipelined_ops_s(sizes.pipelined_ops));
        results.insert("floor_pipelined_ops_s", ops);
    }

    let sim_keys = [
        "sim_getfamily_rtt_us",
        "sim_dev_get_rtt_us",
        "sim_getfamily_raw_rtt_us",
        "sim_pipelined_ops_s",
        "probe_kernel_ctrl_rtt_us",
        "probe_direct_rtt_us",
        "probe_preload_rtt_us",
    ];
    let library_wanted = LIBRARY_CLIENTS.iter().flat_map(|(_, _, keys)| keys).any(|k| wanted(k));
    if sim_keys.iter().any(|k| wanted(k)) || library_wanted {
        let sim = Simulator::start(BENCH_CONFIG);
        let mut client = sim.client();
        if wanted("sim_getfamily_rtt_us") {
            results.insert(
                "sim_getfamily_rtt_us",
                best_of_three(false, || getfamily_rtt(&mut client, "simdev", sizes.rtt_rounds)),
            );
        }
        if wanted("sim_dev_get_rtt_us") {
            results.insert("sim_dev_get_rtt_us", best_of_three(false, || dev_get_rtt(&sim, sizes.rtt_rounds)));
        }
        if wanted("sim_getfamily_raw_rtt_us") {
            results
                .insert("sim_getfamily_raw_rtt_us", best_of_three(false, || raw_getfamily_rtt(&sim, sizes.rtt_rounds)));
        }
        if wanted("sim_pipelined_ops_s") {
            results.insert("sim_pipelined_ops_s", best_of_three(true, || pipelined_writes(&sim, sizes.pipelined_ops)));
        }
        // The three ways take turns, five times, so that a slow spell of the
        // machine falls on all of them; each keeps its best.
        let ways = [
            ("probe_kernel_ctrl_rtt_us", ProbeWay::Kernel),
            ("probe_direct_rtt_us", ProbeWay::Direct),
            ("probe_preload_rtt_us", ProbeWay::Preload),
        ];
        for _ in 0..5 {
            for (name, how) in ways.into_iter().filter(|(name, _)| wanted(name)) {
                let rtt = probe_rtt(&sim, how, sizes.rtt_rounds);
                let best = results.entry(name).or_insert(f64::MAX);
                *best = best.min(rtt);
            }
        }
        if library_wanted {
            library_rtts(&sim, wanted, sizes.rtt_rounds, &mut results);
        }
    }

    if wanted("pcap_overhead_ratio") || wanted("pcap_frames_dropped") {
        let (ratio, dropped) = pcap_overhead(sizes.pcap_ops);
        results.insert("pcap_overhead_ratio", ratio);
        results.insert("pcap_frames_dropped", dropped as f64);
    }
    if wanted("stalled_rtt_ratio") {
        let (normal, stalled) = stalled_rtt(sizes.rtt_rounds);
        results.insert("stalled_rtt_ratio", stalled / normal);
    }
    if wanted("amplification_rss_mib") {
        results.insert("amplification_rss_mib", amplification_rss_mib(if smoke { 4 } else { 32 }));
    }
    let (dump_small, dump_large) = if smoke { ("dump_small_s", "dump_large_s") } else { ("dump_10k_s", "dump_100k_s") };
    if wanted(dump_small) {
        results.insert(dump_small, dump_seconds(sizes.dump_small));
    }
    if wanted(dump_large) {
        results.insert(dump_large, dump_seconds(sizes.dump_large));
    }
    if wanted("rss_10k_mib") {
        results.insert("rss_10k_mib", rss_mib(sizes.rss_devices));
    }
    if wanted("veth_500_create_s") {
        results.insert("veth_500_create_s", best_of_three(false, || veth_creation(sizes.veth_ports)));
    }
    if wanted("ip_batch_500_create_s") {
        results.insert("ip_batch_500_create_s", best_of_three(false, || ip_batch_creation(sizes.veth_ports, false)));
    }
    if wanted("ip_batch_500_up_s") {
        results.insert("ip_batch_500_up_s", best_of_three(false, || ip_batch_creation(sizes.veth_ports, true)));
    }

    report(&results, smoke);
}

/// How `genl-probe` reaches the answer to its GETFAMILY.
#[derive(Clone, Copy)]
enum ProbeWay {
    /// The kernel's nlctrl about itself.
    Kernel,
    /// simdev, straight to the simulator's port (`NETLINK_USERSOCK`).
    Direct,
    /// simdev, on `NETLINK_GENERIC` under `genl-client exec` (the preload).
    Preload,
}

/// The GETFAMILY round trip of a C-library client (`genl-probe rtt`).
fn probe_rtt(sim: &Simulator, how: ProbeWay, rounds: u32) -> f64 {
    let probe = simdev_tests::bin("genl-probe");
    let mut command = match how {
        ProbeWay::Preload => {
            let mut c = std::process::Command::new(simdev_tests::bin("genl-client"));
            c.args(["--port", &sim.port.to_string(), "exec", "--"]).arg(&probe);
            c
        }
        _ => std::process::Command::new(&probe),
    };
    command.args([if matches!(how, ProbeWay::Kernel) { "nlctrl" } else { "simdev" }, "rtt"]);
    command.env("GENL_PROBE_ROUNDS", rounds.to_string());
    if matches!(how, ProbeWay::Direct) {
        command.env("GENL_PROBE_DIRECT_PORT", sim.port.to_string());
    }
    let out = command.output().expect("run genl-probe");
    assert!(out.status.success(), "genl-probe: {out:?}");
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("genl-probe JSON");
    value["rtt_us"].as_f64().expect("rtt_us")
}

/// The C programs of `tests/clients/` the benchmark times (source,
/// pkg-config package), with their figures' keys: alone on the kernel's
/// nlctrl (the baseline), under `genl-client exec` on nlctrl (the
/// preload's cost on kernel traffic), under exec on simdev.
const LIBRARY_CLIENTS: [(&str, &str, [&str; 3]); 2] = [
    ("mnl_getfamily", "libmnl", ["libmnl_kernel_rtt_us", "libmnl_exec_kernel_rtt_us", "libmnl_exec_sim_rtt_us"]),
    ("libnl_getfamily", "libnl-genl-3.0", ["libnl_kernel_rtt_us", "libnl_exec_kernel_rtt_us", "libnl_exec_sim_rtt_us"]),
];

/// GETFAMILY round trips of real libraries' programs ([`LIBRARY_CLIENTS`]),
/// the `wanted` figures; the ways take turns five times and each keeps
/// its best (as the probe's).
fn library_rtts(
    sim: &Simulator,
    wanted: impl Fn(&str) -> bool,
    rounds: u32,
    results: &mut BTreeMap<&'static str, f64>,
) {
    let mut programs = Vec::new();
    for (source, package, keys) in LIBRARY_CLIENTS {
        if keys.iter().any(|k| wanted(k)) {
            let program = simdev_tests::c_client(source, &[package])
                .unwrap_or_else(|why| panic!("{source} cannot be built: {why}"));
            programs.push((program, keys));
        }
    }
    for _ in 0..5 {
        for (program, keys) in &programs {
            let [alone, _, exec_sim] = *keys;
            for key in keys.iter().copied().filter(|k| wanted(k)) {
                let mut command = if key == alone {
                    Command::new(&program.0)
                } else {
                    let mut c = Command::new(simdev_tests::bin("genl-client"));
                    c.args(["--port", &sim.port.to_string(), "exec", "--"]).arg(&program.0);
                    c
                };
                let family = if key == exec_sim { "simdev" } else { "nlctrl" };
                let out = command.args([family, &rounds.to_string()]).output().expect("run a library client");
                assert!(out.status.success(), "{key}: {out:?}");
                let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the client's JSON");
                let rtt = value["rtt_us"].as_f64().expect("rtt_us");
                let best = results.entry(key).or_insert(f64::MAX);
                *best = best.min(rtt);
            }
        }
    }
}

fn pin_to_one_cpu() {
    let mut set = nix::sched::CpuSet::new();
    set.set(0).expect("cpu 0");
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).expect("sched_setaffinity");
}

/// The best of three runs of a measurement (lowest time or highest rate),
/// to keep one-off interference out of the figures.
fn best_of_three(higher_is_better: bool, mut measure: impl FnMut() -> f64) -> f64 {
    let runs = [measure(), measure(), measure()];
    let pick = if higher_is_better { f64::max } else { f64::min };
    runs.into_iter().reduce(pick).unwrap()
}

fn per_op_us(started: Instant, rounds: u32) -> f64 {
    started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

/// Sequential `CTRL_CMD_GETFAMILY` round trips (reply and ACK).
fn getfamily_rtt(client: &mut Client, family: &str, rounds: u32) -> f64 {
    let selector = FamilySelector::Name(family.to_string());
    client.get_family(&selector).expect("warm-up");
    let started = Instant::now();
    for _ in 0..rounds {
        client.get_family(&selector).expect("getfamily");
    }
    per_op_us(started, rounds)
}

/// GETFAMILY round trips with prebuilt bytes and no decoding, as the floor
/// is measured: the simulator's own cost, without the client library's.
fn raw_getfamily_rtt(sim: &Simulator, rounds: u32) -> f64 {
    let mut client = sim.client();
    let mut request = client.new_request(simdev_protocol::ctrl::GENL_ID_CTRL, 3, 2, simdev_protocol::wire::NLM_F_ACK);
    request.put_str(simdev_protocol::ctrl::attr::FAMILY_NAME, "simdev");
    let bytes = request.finish();
    let started = Instant::now();
    for _ in 0..rounds {
        client.send_raw(&bytes).unwrap();
        // Reply and ACK arrive as two datagrams, as the kernel sends them.
        assert_eq!(client.recv_raw().unwrap().len(), 1);
        assert_eq!(client.recv_raw().unwrap().len(), 1);
    }
    per_op_us(started, rounds)
}

fn dev_get_rtt(sim: &Simulator, rounds: u32) -> f64 {
    let mut client = sim.simdev();
    let dev = DevSelector::Name("bench".into());
    client.dev_get(&dev).expect("warm-up");
    let started = Instant::now();
    for _ in 0..rounds {
        client.dev_get(&dev).expect("dev-get");
    }
    per_op_us(started, rounds)
}

/// Acknowledged register writes through the pipeline (the batch path).
fn pipelined_writes(sim: &Simulator, ops: u32) -> f64 {
    let mut client = sim.simdev();
    let dev = DevSelector::Name("bench".into());
    let requests: Vec<Pipelined> = (0..ops)
        .map(|i| {
            let call = Call::RegWrite(dev.clone(), "scratch".into(), u64::from(i));
            Pipelined { request: client.call_request(&call).expect("a valid request"), dump: false }
        })
        .collect();
    let started = Instant::now();
    let mut failures = 0;
    client
        .client()
        .pipeline(requests, WINDOW, Some(&DEV_ATTRS), |_, outcome| {
            failures += usize::from(outcome.is_err());
            Flow::Continue
        })
        .expect("pipeline");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(failures, 0, "every write acknowledged");
    assert_eq!(client.reg_read(&dev, "scratch").unwrap().value, Some(u64::from(ops - 1)), "all applied, in order");
    f64::from(ops) / seconds
}

/// The capture's cost at the simulator's full pipelined rate: `ops`
/// acknowledged register writes (each announced too) without a capture,
/// then with `--pcap`, in turns, best of three each. Returns the rate
/// without over the rate with (goal ≤ 1.1: less than 10 % lost), and the
/// frames the capture left out (its writer shares the one CPU).
fn pcap_overhead(ops: u32) -> (f64, u64) {
    let file = TempFile::with_contents("bench-capture.pcap", "");
    let path = file.0.display().to_string();
    let (mut plain, mut captured, mut dropped) = (0f64, 0f64, 0);
    for _ in 0..3 {
        let sim = Simulator::start(BENCH_CONFIG);
        plain = plain.max(pipelined_writes(&sim, ops));
        drop(sim);
        let sim = Simulator::try_start_in(None, BENCH_CONFIG, &["--pcap", &path]).expect("a capturing simulator");
        captured = captured.max(pipelined_writes(&sim, ops));
        let stats = sim.simdev().stats(&DevSelector::Name("bench".into())).expect("stats").server;
        dropped = dropped.max(stats.capture_dropped);
    }
    (plain / captured, dropped)
}

/// How the echo peer receives.
#[derive(Clone, Copy)]
enum Echo {
    /// With the sender's credentials (`SO_PASSCRED`, `recvmsg`), as any
    /// kernel-faithful server must: the kernel knows who sent every request
    /// (`GENL_ADMIN_PERM`, `GENL_UNS_ADMIN_PERM` are decided on it).
    Credentials,
    /// Without (`recvfrom`): the cheapest receive there is (about 1 µs a
    /// round trip less here), the floor of the figures before 2026-12-07.
    Bare,
}

/// The echo peer: `simdev-bench --echo` (or `--echo-bare`) binds a
/// NETLINK_USERSOCK port, prints it, and sends every datagram back to its
/// sender twice, in one system call: the shape of a kernel-faithful answer
/// to a request with `NLM_F_ACK` (a reply, then the ACK, each a datagram of
/// its own), forever.
fn echo_peer(how: Echo) -> ! {
    let echo = NlSocket::connect(NlFamily::Usersock, None, Groups::empty()).expect("echo socket");
    println!("{}", echo.pid().unwrap());
    let fd = std::os::fd::AsRawFd::as_raw_fd(&echo);
    if let Echo::Credentials = how {
        // SAFETY: the socket outlives this borrow.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        nix::sys::socket::setsockopt(&borrowed, nix::sys::socket::sockopt::PassCred, &true).expect("SO_PASSCRED");
    }
    let mut buf = vec![0u8; 65536];
    let mut control = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
    loop {
        let (len, port) = match how {
            Echo::Credentials => {
                let mut iov = [std::io::IoSliceMut::new(&mut buf)];
                let flags = nix::sys::socket::MsgFlags::empty();
                let received =
                    nix::sys::socket::recvmsg::<nix::sys::socket::NetlinkAddr>(fd, &mut iov, Some(&mut control), flags)
                        .expect("recvmsg");
                let sender = received
                    .cmsgs()
                    .expect("control messages")
                    .any(|c| matches!(c, nix::sys::socket::ControlMessageOwned::ScmCredentials(_)));
                assert!(sender, "the sender's credentials");
                (received.bytes, received.address.expect("a sender").pid())
            }
            Echo::Bare => {
                let (len, from) =
                    nix::sys::socket::recvfrom::<nix::sys::socket::NetlinkAddr>(fd, &mut buf).expect("recv");
                (len, from.expect("a sender").pid())
            }
        };
        let answer = &buf[..len];
        let _ = simdev_netlink::mmsg::send_batch(fd, port, &[answer, answer], 0);
    }
}

/// The floor: an echo peer process on NETLINK_USERSOCK that does nothing
/// but answer each datagram as a kernel-faithful server must at least
/// (learn who sent it, answer with two datagrams in one system call), and
/// a client that reads them as the client library does (as many as are
/// there, in one system call).
struct Floor {
    peer: std::process::Child,
    client: NlSocket,
    to: nix::sys::socket::NetlinkAddr,
    request: Vec<u8>,
    slots: simdev_netlink::mmsg::RecvBatch,
}

impl Floor {
    fn start(how: Echo) -> Floor {
        let mut peer = Command::new(std::env::current_exe().unwrap())
            .arg(match how {
                Echo::Credentials => "--echo",
                Echo::Bare => "--echo-bare",
            })
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("echo peer");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(peer.stdout.take().unwrap()), &mut line).unwrap();
        let echo_port: u32 = line.trim().parse().expect("the echo peer's port");
        let mut message = MessageBuilder::genl(0x13, NLM_F_REQUEST, 1, 0, 1, 1);
        message.put_u32(1, 1);
        let mut floor = Floor {
            peer,
            client: NlSocket::connect(NlFamily::Usersock, None, Groups::empty()).unwrap(),
            to: nix::sys::socket::NetlinkAddr::new(echo_port, 0),
            request: message.finish(),
            slots: simdev_netlink::mmsg::RecvBatch::new(16, 65536),
        };
        floor.round_trip();
        floor
    }

    fn send(&self) {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.client);
        nix::sys::socket::sendto(fd, &self.request, &self.to, nix::sys::socket::MsgFlags::empty()).expect("send");
    }

    fn receive(&mut self) -> u32 {
        self.slots.receive(std::os::fd::AsRawFd::as_raw_fd(&self.client), 0).expect("receive") as u32
    }

    /// One request, answered with two datagrams.
    fn round_trip(&mut self) {
        self.send();
        let mut datagrams = 0;
        while datagrams < 2 {
            datagrams += self.receive();
        }
    }

    /// µs per sequential round trip.
    fn round_trip_us(mut self, rounds: u32) -> f64 {
        let started = Instant::now();
        for _ in 0..rounds {
            self.round_trip();
        }
        per_op_us(started, rounds)
    }

    /// Requests answered per second, [`WINDOW`] in flight.
    fn pipelined_ops_s(mut self, ops: u32) -> f64 {
        let started = Instant::now();
        let (mut sent, mut datagrams) = (0, 0);
        while datagrams < 2 * ops {
            while sent < ops && sent - datagrams / 2 < WINDOW as u32 {
                self.send();
                sent += 1;
            }
            datagrams += self.receive();
        }
        f64::from(ops) / started.elapsed().as_secs_f64()
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.peer.kill();
        let _ = self.peer.wait();
    }
}

/// Stalled clients: sockets that ask for a dump of [`STALLED_DUMP`] model
/// devices (several buffers) and never read.
const STALLED_CLIENTS: usize = 8;
const STALLED_DUMP: u32 = 2000;

/// A client's GETFAMILY round trip (µs) with nobody else, then while
/// [`STALLED_CLIENTS`] stalled clients hold dumps the simulator cannot
/// deliver (best of three each, on the same simulator).
fn stalled_rtt(rounds: u32) -> (f64, f64) {
    let sim = Simulator::start(&model_config(STALLED_DUMP));
    let mut client = sim.client();
    let normal = best_of_three(false, || getfamily_rtt(&mut client, "simdev", rounds));
    let stalled: Vec<RawSocket> = (0..STALLED_CLIENTS).map(|_| RawSocket::usersock(1)).collect();
    for socket in &stalled {
        let dump = MessageBuilder::genl(sim.family_id, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, 1, 1).finish();
        socket.send_to(sim.port, &dump);
    }
    let with_stalled = best_of_three(false, || getfamily_rtt(&mut client, "simdev", rounds));
    let waiting = sim.simdev().stats(&DevSelector::Name("m0".into())).expect("stats").server.clients_waiting;
    assert_eq!(waiting as usize, STALLED_CLIENTS, "the stalled clients still hold their dumps");
    (normal, with_stalled)
}

/// Peak resident memory (MiB) of a simulator after one socket that never
/// reads sent `datagrams` datagrams of 64 KiB, each packed with policy
/// dump requests (once 790 MB for 32).
fn amplification_rss_mib(datagrams: usize) -> f64 {
    let sim = Simulator::start(&model_config(1));
    let mut one = MessageBuilder::genl(
        simdev_protocol::ctrl::GENL_ID_CTRL,
        NLM_F_REQUEST | NLM_F_DUMP,
        1,
        0,
        simdev_protocol::ctrl::cmd::GETPOLICY,
        2,
    );
    one.put_str(simdev_protocol::ctrl::attr::FAMILY_NAME, "simdev");
    let one = one.finish();
    let datagram: Vec<u8> = one.iter().copied().cycle().take(one.len() * (64 * 1024 / one.len() - 1)).collect();
    let socket = RawSocket::usersock(1);
    for _ in 0..datagrams {
        socket.send_to(sim.port, &datagram);
    }
    // Until the simulator has answered (or refused) every request: the
    // dropped answers stop growing.
    let mut client = sim.simdev();
    let mut dropped = u64::MAX;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = client.stats(&DevSelector::Name("m".into())).expect("stats").server.answers_dropped;
        if now == dropped {
            break;
        }
        dropped = now;
    }
    peak_rss_kib(sim.pid()) as f64 / 1024.0
}

fn model_config(devices: u32) -> String {
    format!("[[device]]\nname = \"m\"\nbackend = \"model\"\ncount = {devices}\n")
}

/// Seconds to dump and decode `devices` model devices (best of three).
fn dump_seconds(devices: u32) -> f64 {
    let sim = Simulator::start(&model_config(devices));
    let mut client = sim.simdev();
    best_of_three(false, || {
        let started = Instant::now();
        let listed = client.dev_list().expect("dump");
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(listed.len(), devices as usize);
        seconds
    })
}

/// Peak resident memory of a simulator holding `devices` model devices,
/// after it dumped them all once.
fn rss_mib(devices: u32) -> f64 {
    let sim = Simulator::start(&model_config(devices));
    sim.simdev().dev_list().expect("dump");
    peak_rss_kib(sim.pid()) as f64 / 1024.0
}

/// Seconds to start a simulator with `ports` veth ports, in a fresh
/// private namespace, until it is ready.
fn veth_creation(ports: u32) -> f64 {
    let per_device = 50.min(ports);
    let mut config = String::new();
    for d in 0..ports / per_device {
        config.push_str(&format!("[[device]]\nname = \"v{d}\"\nports = {per_device}\n"));
    }
    let started = Instant::now();
    let sim = Simulator::start(&config);
    let seconds = started.elapsed().as_secs_f64();
    drop(sim);
    seconds
}

/// Seconds for `ip -batch` to create `ports` veth pairs in a fresh
/// namespace, and with `up` to bring both ends of each up (the state a
/// simulator's ports are in when it says it is ready).
fn ip_batch_creation(ports: u32, up: bool) -> f64 {
    let mut script: String = (0..ports).map(|i| format!("link add b{i} type veth peer name b{i}-peer\n")).collect();
    if up {
        script.extend((0..ports).map(|i| format!("link set b{i}-peer up\nlink set b{i} up\n")));
    }
    let file = TempFile::with_contents("ip-batch", &script);
    let unshare_flags = if is_root() { "-n" } else { "-Urn" };
    let started = Instant::now();
    let status =
        Command::new("unshare").args([unshare_flags, "ip", "-batch"]).arg(&file.0).status().expect("unshare ip");
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success(), "ip -batch failed");
    seconds
}

fn report(results: &BTreeMap<&str, f64>, smoke: bool) {
    println!("{:<26} {:>14}", "measure", "value");
    for (name, value) in results {
        println!("{name:<26} {value:>14.3}");
    }
    if !smoke {
        let get = |k: &str| results.get(k).copied().unwrap_or(f64::NAN);
        let goals = [
            ("sim_getfamily_rtt_us / floor_rtt_us", get("sim_getfamily_rtt_us") / get("floor_rtt_us"), "<= 1.3"),
            (
                "probe_preload_rtt_us / probe_direct_rtt_us",
                get("probe_preload_rtt_us") / get("probe_direct_rtt_us"),
                "<= 1.1",
            ),
            (
                "sim_pipelined_ops_s / kernel seq rate",
                get("sim_pipelined_ops_s") / (1e6 / get("kernel_ctrl_rtt_us")),
                ">= 1.0",
            ),
            (
                "libmnl_exec_kernel / libmnl_kernel",
                get("libmnl_exec_kernel_rtt_us") / get("libmnl_kernel_rtt_us"),
                "<= 1.1",
            ),
            (
                "libnl_exec_kernel / libnl_kernel",
                get("libnl_exec_kernel_rtt_us") / get("libnl_kernel_rtt_us"),
                "<= 1.1",
            ),
            ("libmnl_exec_sim / libmnl_kernel", get("libmnl_exec_sim_rtt_us") / get("libmnl_kernel_rtt_us"), "<= 1.5"),
            ("libnl_exec_sim / libnl_kernel", get("libnl_exec_sim_rtt_us") / get("libnl_kernel_rtt_us"), "<= 1.5"),
            ("dump_100k_s", get("dump_100k_s"), "<= 0.3"),
            ("dump_100k_s / dump_10k_s", get("dump_100k_s") / get("dump_10k_s"), "<= 12"),
            ("veth_500 / ip_batch_500_up", get("veth_500_create_s") / get("ip_batch_500_up_s"), "<= 1.5"),
            ("rss_10k_mib", get("rss_10k_mib"), "<= 64"),
            ("stalled_rtt_ratio", get("stalled_rtt_ratio"), "<= 2"),
            ("pcap_overhead_ratio", get("pcap_overhead_ratio"), "<= 1.1"),
            ("pcap_frames_dropped", get("pcap_frames_dropped"), "<= 0"),
            ("amplification_rss_mib", get("amplification_rss_mib"), "<= 64"),
        ];
        println!("\n{:<40} {:>10}  goal", "ratio", "value");
        for (name, value, goal) in goals.into_iter().filter(|(_, value, _)| !value.is_nan()) {
            let (op, limit) = goal.split_at(2);
            let limit: f64 = limit.trim().parse().unwrap();
            let met = if op == "<=" { value <= limit } else { value >= limit };
            println!("{name:<40} {value:>10.3}  {goal} {}", if met { "met" } else { "MISSED" });
        }
    }
    let json: serde_json::Map<String, serde_json::Value> =
        results.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect();
    let path = match std::env::args().skip_while(|a| a != "--output").nth(1) {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            let target = std::env::current_exe().unwrap().parent().and_then(|p| p.parent()).unwrap().to_path_buf();
            target.join("simdev-bench.json")
        }
    };
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap() + "\n").expect("write results");
    println!("\nwritten: {}", path.display());
}
