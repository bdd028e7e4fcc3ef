//! `driver-sim`'s command line: every flag defined and documented once.

use crate::config::PortChoice;
use clap::Parser;
use std::path::PathBuf;

/// Generic Netlink driver simulator: serves the `simdev` family (and a
/// controller to resolve it) on NETLINK_USERSOCK, backed by real veth
/// devices in a private network namespace.
///
/// On readiness prints one line on stdout:
/// `ready family=simdev id=ID port=N netns=/proc/PID/ns/net [userns=...]`
/// (ID: the family id, by default the one the kernel would give next).
#[derive(Debug, Parser)]
#[command(name = "driver-sim", version)]
pub struct Cli {
    /// TOML configuration; without it, the embedded configs/default.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Netlink port id to serve on (decimal or 0x-hex), or `auto` for a
    /// free one the kernel picks (the ready line names it); overrides the
    /// config.
    #[arg(long, value_name = "PORT|auto", value_parser = PortChoice::parse)]
    pub port: Option<PortChoice>,

    /// Validate the configuration, print a summary, and exit.
    #[arg(long)]
    pub check_config: bool,

    /// Remove what simulators that are no longer running left in this
    /// network namespace (netdevs carrying their mark, and the netdevsim
    /// devices those belong to), name each on stderr, and exit. Nothing
    /// else is touched.
    #[arg(long, conflicts_with = "check_config")]
    pub reclaim: bool,

    /// Also name the hardware's namespace: bind-mount it at
    /// /run/netns/NAME (so `ip -n NAME` works) until the simulator ends
    /// (even by kill -9); overrides the config. Needs root.
    #[arg(long, value_name = "NAME", value_parser = netns_name)]
    pub netns_name: Option<String>,

    /// What simulated time follows: `real`, or `virtual` (still until
    /// `genl-client clock advance` moves it); overrides the config.
    #[arg(long, value_enum, value_name = "CLOCK")]
    pub clock: Option<crate::config::ClockChoice>,

    /// Record every datagram the simulator receives and sends to FILE, a
    /// pcap (LINKTYPE_NETLINK) Wireshark and tshark read; overrides the config.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<std::path::PathBuf>,

    /// Begin a new capture file before one would pass MB million bytes (as
    /// tcpdump's -C): FILE, then FILE1, FILE2, ...; overrides the config.
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(1..))]
    pub pcap_max: Option<u64>,

    /// With --pcap-max: keep at most N files, reusing their names in turn
    /// (FILE again after FILE{N-1}); overrides the config.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub pcap_files: Option<u32>,

    /// Answer as the conversation recorded in FILE (a pcap of `--pcap` or
    /// `genl-client exec --pcap`) answered: recorded requests get their
    /// recorded answers; overrides the config.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<std::path::PathBuf>,

    /// With --replay: leave attribute ATTR (of any recorded op) or OP.ATTR
    /// (of that op) out of the comparison, as one the program makes anew
    /// each run; repeatable, or comma-separated; adds to the config's.
    #[arg(long, value_name = "[OP.]ATTR", value_delimiter = ',')]
    pub replay_ignore: Vec<String>,

    /// Also write the ready line to file descriptor N, then close it (for
    /// harnesses that do not read stdout).
    #[arg(long, value_name = "N")]
    pub ready_fd: Option<i32>,

    /// Once ready, run the command after `--` (the program under test) with
    /// SIMDEV_PORT, SIMDEV_FAMILY_ID, SIMDEV_NETNS (and SIMDEV_USERNS,
    /// SIMDEV_NETNS_NAME when there are) in its environment; when it exits,
    /// tear down and exit with its status.
    #[arg(long, requires = "command")]
    pub exec: bool,

    /// The program `--exec` runs, and its arguments.
    #[arg(last = true, value_name = "PROGRAM", requires = "exec")]
    pub command: Vec<String>,
}

fn netns_name(text: &str) -> Result<String, String> {
    crate::hardware::netns::check_netns_name(text).map(|()| text.to_string())
}
