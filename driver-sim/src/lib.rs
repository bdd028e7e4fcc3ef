//! The simdev driver simulator: Generic Netlink families served over real
//! netlink sockets, driving real netdevs as their hardware.
//!
//! Three layers, as in the kernel they stand in for:
//! - [`kernel`]: what Generic Netlink does for any family (socket, event
//!   loop, clients, request path, dumps, the controller, families, timers);
//! - [`driver`]: what a driver does (its ops, devices, device model,
//!   background work);
//! - [`hardware`]: what the hardware is (backends: veth, netdevsim, model;
//!   the namespace it lives in; what the simulator owns).
//!
//! Around them: [`config`] (TOML), [`cli`] (`driver-sim`'s flags),
//! [`simulator`] (the state the event loop owns and handlers work on),
//! [`launch`] (the ready line, `--exec`), [`fuzzing`] (the fuzz targets'
//! entry points). Other programs' tests start a simulator with the
//! `simdev-testing` crate.

pub mod cli;
pub mod config;
pub mod driver;
pub mod fuzzing;
pub mod hardware;
pub mod kernel;
pub mod launch;
pub mod simulator;

use anyhow::Context;
use config::{Config, FamilyIdChoice, Netns, PortChoice, DEFAULT_CONFIG_NAME};
use driver::device;
use hardware::{netns, ownership};
use kernel::{server, timers, wake};
use nix::sys::signal::Signal;
use simdev_protocol::ctrl::{GENL_ID_CTRL, GENL_MAX_ID, GENL_START_ALLOC};

/// Runs the simulator until SIGINT/SIGTERM (or until `--exec`'s program
/// ends), then tears everything down. Returns the exit status: 0, or the
/// program's.
pub fn run(cli: cli::Cli) -> anyhow::Result<i32> {
    if cli.reclaim {
        let mut rtnl = simdev_netlink::rtnl::Rtnl::new(netns::open_rtnl().context("opening rtnetlink")?);
        for what in ownership::reclaim(&mut rtnl).context("reclaiming leftovers")? {
            eprintln!("driver-sim: reclaimed {what}");
        }
        return Ok(0);
    }

    let (config, source) = match &cli.config {
        Some(path) => (Config::load(path)?, path.display().to_string()),
        None => (Config::embedded_default(), DEFAULT_CONFIG_NAME.to_string()),
    };
    // The served families' specs are read, and their objects checked,
    // before anything is created.
    let served = driver::served::load(&config.families, &config.source, config.simulator.seed)?;
    if cli.check_config {
        let ports: u32 = config.devices.iter().map(|d| *d.ports.get_ref()).sum();
        let devices = config.devices.len();
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let mut summary = format!("{}, {}", plural(devices, "device"), plural(ports as usize, "port"));
        for family in &served {
            summary += &format!("; family {} ({})", family.ynl.name, plural(family.store.len(), "object"));
        }
        println!("{source}: ok: {summary}");
        return Ok(0);
    }

    // What cannot work is said before anything is created.
    // (`--clock` may override the file's clock, which the file's check saw.)
    let clock = cli.clock.unwrap_or(config.simulator.clock);
    for dev in &config.devices {
        dev.check_clock(clock).map_err(anyhow::Error::msg)?;
    }
    let netns_name = cli.netns_name.clone().or(config.simulator.netns_name.as_ref().map(|n| n.get_ref().clone()));
    if let Some(name) = &netns_name {
        if config.simulator.netns != Netns::Private {
            anyhow::bail!(
                "--netns-name names the simulator's private namespace; with netns = \"host\" the hardware is in yours"
            );
        }
        if !nix::unistd::geteuid().is_root() {
            anyhow::bail!(
                "--netns-name needs root (it bind-mounts the namespace at {}/{name}); without root, enter the \
                 namespace with nsenter and the ready line's netns= and userns= paths",
                netns::NETNS_RUN_DIR
            );
        }
    }
    if let Some(fd) = cli.ready_fd {
        launch::check_ready_fd(fd)?;
    }

    // A signal during startup is remembered and handled (as teardown) as
    // soon as the simulator serves.
    server::install_signal_handlers().context("installing signal handlers")?;

    let port = cli
        .port
        .or(config.simulator.port.as_ref().map(|p| *p.get_ref()))
        .unwrap_or(PortChoice::Fixed(simdev_protocol::DEFAULT_PORT));
    let mut server = server::Server::bind(port)?;
    let rotation = capture_rotation(&cli, &config.simulator)?;
    let pcap = cli.pcap.clone().or(config.simulator.pcap.clone());
    if pcap.is_none() && rotation != kernel::capture::Rotation::default() {
        anyhow::bail!("--pcap-max and --pcap-files (pcap_max, pcap_files) need --pcap (pcap): there is no capture");
    }
    if let Some(path) = pcap {
        let capture = kernel::capture::Capture::create(&path, rotation)
            .with_context(|| format!("creating the capture {}", path.display()))?;
        server.capture = Some(capture);
    }

    let namespace = netns::HardwareNamespace::new(config.simulator.netns == Netns::Private, netns_name.as_deref())?;
    let backends = device::Backends {
        netdevs: Some(
            hardware::netdevs::Netdevs::new(
                simdev_netlink::rtnl::Rtnl::new(
                    namespace.rtnl.try_clone().context("duplicating the rtnetlink socket")?,
                ),
                namespace.genl.try_clone().context("duplicating the generic netlink socket")?,
                namespace.link_monitor.try_clone().context("duplicating the rtnetlink monitor socket")?,
                namespace.genl_monitor.try_clone().context("duplicating the generic netlink monitor socket")?,
                namespace.undertaker().context("duplicating the namespace holder's channel")?,
            )
            .context("reading the hardware namespace's netdevs")?,
        ),
        veth: hardware::veth::VethBackend,
        netdevsim: hardware::netdevsim::NetdevsimBackend::new(namespace.netns_path.clone()),
        model: hardware::model::ModelBackend::default(),
    };
    let mut devices = device::Devices::new(backends, config.simulator.seed);
    devices.netns_path = Some(namespace.netns_path.clone());

    let kernel = kernel_families();
    let kernel_ids: Vec<u16> = kernel.iter().map(|f| f.id).collect();
    let kernel_groups: Vec<u32> = kernel.iter().flat_map(|f| f.mcast_groups.iter().map(|g| g.id)).collect();
    let family_id = match *config.simulator.family_id.get_ref() {
        FamilyIdChoice::Auto => next_family_id(&kernel_ids),
        FamilyIdChoice::Random => random_family_id(&kernel_ids),
        FamilyIdChoice::Fixed(id) => id,
    };
    let own_uid = nix::unistd::geteuid().as_raw();
    let admin_uids = config.simulator.admin_uids.clone().unwrap_or_else(|| {
        let mut uids = vec![0, own_uid];
        uids.dedup();
        uids
    });
    let config_replay = config.simulator.replay.clone();
    let mut replay_ignore = config.simulator.replay_ignore.clone();
    replay_ignore.extend(cli.replay_ignore.iter().cloned());
    devices.create_all(config.into_devices()).context("creating devices")?;
    // Ready means the ports are in the state the configuration asks for.
    devices.settle(device::SETTLE_MAX);
    // Served families get the ids the kernel would give them, registered
    // after simdev.
    let mut registered = vec![(&driver::ops::SIMDEV, family_id)];
    let mut stores = Vec::new();
    let mut taken = kernel_ids.clone();
    taken.push(family_id);
    for family in served {
        let id = next_family_id(&taken);
        taken.push(id);
        registered.push((family.ops, id));
        stores.push((id, family));
    }
    let families = kernel::families::Families::new(&registered, &kernel_groups);
    let timers = timers::Timers::new(clock == config::ClockChoice::Virtual);
    let mut sim = simulator::Simulator::new(families, devices, admin_uids, timers);
    sim.served = driver::served::ServedFamilies::new(stores);
    if let Some(path) = cli.replay.clone().or(config_replay) {
        sim.replay = Some(replay(&path, &sim.families, &kernel, &replay_ignore)?);
    } else if !replay_ignore.is_empty() {
        anyhow::bail!("--replay-ignore (replay_ignore) needs --replay (replay): there is nothing to compare");
    }
    let waker = wake::Waker::new(server.port()).context("opening the event loop's wake-up socket")?;
    server.waker_port = waker.own_port();
    sim.background.set_waker(waker.clone());
    let monitors =
        sim.devices.netdevs().expect("made above").monitors().context("duplicating the notification sockets")?;
    sim.watcher = Some(wake::Watcher::start(monitors, waker).context("starting the notification watcher")?);

    let ready = simdev_protocol::ready::Ready {
        family_id,
        port: server.port(),
        netns: namespace.netns_path.clone(),
        userns: namespace.userns_path.clone(),
        netns_name,
    };
    // Before the program starts, so its end is never missed.
    if cli.exec {
        server::stop_when_a_child_exits().context("installing the SIGCHLD handler")?;
    }
    launch::announce(&ready, cli.ready_fd)?;
    let mut program = if cli.exec { Some(launch::spawn(&ready, &cli.command)?) } else { None };

    let outcome = server.serve(&mut sim);
    launch::notify_service_manager("STOPPING=1");
    // The program under test loses its simulator: it ends too.
    if let Some(program) = program.as_mut() {
        if matches!(program.try_wait(), Ok(None)) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(program.id() as i32), Signal::SIGTERM);
        }
    }
    sim.devices.remove_all();
    // The simulator holds the holder's channel too (the undertaker): it
    // goes first, so the holder sees the channel close.
    drop(sim);
    drop(namespace);
    let signal = outcome.context("serving")?;
    log::info!("{signal}: torn down");
    match program {
        Some(mut program) => Ok(launch::exit_code(program.wait().context("--exec: waiting for the program")?)),
        None => Ok(0),
    }
}

/// How big the capture may grow: `--pcap-max`/`--pcap-files`, else the config's.
fn capture_rotation(cli: &cli::Cli, config: &config::SimulatorConfig) -> anyhow::Result<kernel::capture::Rotation> {
    let max_mb = cli.pcap_max.or(config.pcap_max);
    let files = cli.pcap_files.or(config.pcap_files);
    if max_mb == Some(0) {
        anyhow::bail!("pcap_max: a capture file must be allowed at least 1 MB");
    }
    if files == Some(0) {
        anyhow::bail!("pcap_files: at least 1 file");
    }
    if files.is_some() && max_mb.is_none() {
        anyhow::bail!("--pcap-files (pcap_files) needs --pcap-max (pcap_max): files are begun when one is full");
    }
    Ok(kernel::capture::Rotation { max_bytes: max_mb.map(|mb| mb.saturating_mul(1_000_000)), files })
}

/// The kernel's Generic Netlink families (its controller's dump; any
/// user may ask): their ids and groups are not simdev's to take. Empty,
/// with a warning, if it cannot answer.
/// The conversation recorded in `path`, checked against what this
/// simulator serves: each recorded family (but the kernel's) at the id the
/// recording's program learnt.
fn replay(
    path: &std::path::Path,
    families: &kernel::families::Families,
    kernel: &[simdev_protocol::ctrl::FamilyInfo],
    ignore: &[String],
) -> anyhow::Result<kernel::replay::Replay> {
    let bytes = std::fs::read(path).with_context(|| format!("reading the capture {}", path.display()))?;
    let mut replay =
        kernel::replay::Replay::read(&bytes).map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
    for (name, id) in replay.families() {
        match families.by_name(name) {
            Some(served) if served.id != id => {
                let hint = match name {
                    simdev_protocol::simdev::FAMILY_NAME => format!("[simulator] family_id = {id:#x}"),
                    _ => "the same [[family]] tables, in the same order".to_string(),
                };
                anyhow::bail!(
                    "{}: the recorded {name} has id {id:#x}, this simulator serves it at {:#x} (configure {hint})",
                    path.display(),
                    served.id
                );
            }
            Some(_) => {}
            None if kernel.iter().any(|k| k.name == name) => {} // the kernel's, reached through the kernel
            None => anyhow::bail!(
                "{}: the recorded family {name} is not served here: add [[family]] spec = \"{name}\"",
                path.display()
            ),
        }
    }
    replay
        .ignore(ignore, |id| families.get(id).map(|family| family.spec()))
        .map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
    log::info!("replaying {} recorded requests from {}", replay.requests(), path.display());
    Ok(replay)
}

fn kernel_families() -> Vec<simdev_protocol::ctrl::FamilyInfo> {
    let families = simdev_netlink::client::Client::kernel().and_then(|mut kernel| kernel.list_families());
    match families {
        Ok(families) => families,
        Err(e) => {
            log::warn!("cannot list the kernel's families ({e}): the family id may be one of theirs");
            Vec::new()
        }
    }
}

/// The id the kernel would give a family registered now: its allocator
/// (`idr_alloc_cyclic` from `GENL_START_ALLOC`) hands out the one after
/// the last it gave, wrapping to the first free one. So simdev looks like
/// one more kernel family, and no kernel family has its id. (A family the
/// kernel registers later gets the next one, which the simulator then
/// does not see.)
fn next_family_id(taken: &[u16]) -> u16 {
    let after_last =
        taken.iter().copied().filter(|&id| id >= GENL_START_ALLOC).max().map_or(GENL_START_ALLOC, |id| id + 1);
    (after_last..=GENL_MAX_ID)
        .chain(GENL_START_ALLOC..after_last)
        .find(|id| !taken.contains(id))
        .unwrap_or(GENL_START_ALLOC)
}

/// A random dynamic id that no kernel family has.
fn random_family_id(taken: &[u16]) -> u16 {
    let mut bytes = [0u8; 2];
    // SAFETY: getrandom writes at most the buffer's length.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), 2, 0) };
    let raw = if n == 2 { u16::from_ne_bytes(bytes) } else { std::process::id() as u16 };
    let span = GENL_MAX_ID - GENL_START_ALLOC + 1;
    let start = GENL_START_ALLOC + raw % span;
    let id = (start..=GENL_MAX_ID).chain(GENL_START_ALLOC..start).find(|id| !taken.contains(id)).unwrap_or(start);
    debug_assert_ne!(id, GENL_ID_CTRL);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_family_id_is_the_kernels_next() {
        assert_eq!(next_family_id(&[]), GENL_START_ALLOC);
        assert_eq!(next_family_id(&[GENL_ID_CTRL, 0x13, 0x14, 0x15]), 0x16);
        assert_eq!(next_family_id(&[GENL_ID_CTRL, 0x13, 0x15]), 0x16, "after the last, not in a gap");
        assert_eq!(next_family_id(&[0x13, GENL_MAX_ID]), 0x14, "wraps to the first free one");
    }

    #[test]
    fn a_random_family_id_is_free() {
        let taken: Vec<u16> = (GENL_START_ALLOC..GENL_MAX_ID).collect();
        assert_eq!(random_family_id(&taken), GENL_MAX_ID);
    }
}
