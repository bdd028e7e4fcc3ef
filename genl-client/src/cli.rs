//! `genl-client`'s command line (iproute2/devlink conventions): every flag
//! and command defined and documented once.

use clap::{Parser, Subcommand};
use simdev_netlink::client::{parse_timeout, SimulatorOptions, DEFAULT_TIMEOUT, TIMEOUT_ENV, TRUST_ENV};
use simdev_protocol::{DEFAULT_PORT, PORT_ENV};

/// Generic Netlink client: resolve families, show and drive simdev devices,
/// against the simdev simulator (default) or the kernel (--kernel); drive
/// any family from its YNL spec (--family/--spec with --do/--dump).
///
/// Exit status: 0 on success, 1 on any failure (printed on stderr with the
/// errno, the extended-ACK message and the attribute at fault; with -j, one
/// JSON object on stdout), 2 on a usage error.
#[derive(Debug, Parser)]
#[command(name = "genl-client", version)]
pub struct Cli {
    /// Print JSON (one document per command; `monitor` prints JSON lines;
    /// a failure is one JSON object). `--json` is the YNL grammar's request.
    #[arg(short = 'j', long = "output-json", global = true)]
    pub json: bool,

    /// Pretty-print JSON.
    #[arg(short = 'p', long = "pretty", global = true)]
    pub pretty: bool,

    /// Talk to the kernel's Generic Netlink (NETLINK_GENERIC, port 0).
    /// Conflicts with `--port`, not with `SIMDEV_PORT` (see [`Cli::parse_args`]).
    #[arg(long, global = true)]
    pub kernel: bool,

    /// The simulator's netlink port (decimal or 0x-hex).
    #[arg(long, env = PORT_ENV, value_parser = parse_port, global = true)]
    pub port: Option<u32>,

    /// How long to wait for the simulator's answer, in seconds, before
    /// reporting it stopped (a simulator that is gone is reported within
    /// half a second).
    #[arg(long, value_name = "SECONDS", env = TIMEOUT_ENV, value_parser = parse_timeout, global = true)]
    pub timeout: Option<std::time::Duration>,

    /// Believe a simulator run by this uid too (by default only root's and
    /// your own answers are: whoever holds the port could be anybody).
    #[arg(long, value_name = "UID", env = TRUST_ENV, value_delimiter = ',', global = true)]
    pub trust_uid: Vec<u32>,

    /// Run the commands of FILE (`-` for stdin), one per line, pipelined.
    /// Stops at the first failure: nothing after it is applied.
    #[arg(short = 'b', long = "batch", value_name = "FILE")]
    pub batch: Option<String>,

    /// With -b: run every line, whatever fails.
    #[arg(long, requires = "batch")]
    pub force: bool,

    /// With -b: how many requests may be in flight at once.
    #[arg(long, value_name = "N", default_value_t = simdev_netlink::pipeline::DEFAULT_WINDOW, requires = "batch",
          value_parser = parse_window)]
    pub window: usize,

    #[command(flatten)]
    pub ynl: YnlArgs,

    #[command(subcommand)]
    pub object: Option<Object>,
}

/// The YNL grammar: any family driven by its spec, as the kernel's
/// `tools/net/ynl/cli.py` drives it, with the same results.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "YNL grammar (any family, by its spec)")]
pub struct YnlArgs {
    /// The family to drive by its built-in spec (simdev).
    #[arg(long, value_name = "NAME", conflicts_with = "spec")]
    pub family: Option<String>,
    /// The YNL spec of the family to drive (e.g. the kernel's
    /// Documentation/netlink/specs/netdev.yaml).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<std::path::PathBuf>,
    /// Send the operation's do request.
    #[arg(long = "do", value_name = "OP", conflicts_with = "dump_op")]
    pub do_op: Option<String>,
    /// Send the operation's dump request.
    #[arg(long = "dump", value_name = "OP")]
    pub dump_op: Option<String>,
    /// The request's attributes: a JSON object of attribute names.
    #[arg(long = "json", value_name = "JSON")]
    pub request: Option<String>,
    /// Join a multicast group; the notifications that arrived are printed at
    /// the end (after --sleep).
    #[arg(long, value_name = "GROUP")]
    pub subscribe: Option<String>,
    /// Wait this long (seconds) before printing notifications.
    #[arg(long, value_name = "SECONDS")]
    pub sleep: Option<f64>,
    /// List the family's operations and their modes.
    #[arg(long)]
    pub list_ops: bool,
    /// Decode attributes the spec does not know (as `UnknownAttr(N)`)
    /// instead of failing.
    #[arg(long)]
    pub process_unknown: bool,
}

impl YnlArgs {
    /// Whether the command line uses the YNL grammar.
    pub fn used(&self) -> bool {
        self.family.is_some()
            || self.spec.is_some()
            || self.do_op.is_some()
            || self.dump_op.is_some()
            || self.request.is_some()
            || self.subscribe.is_some()
            || self.list_ops
    }
}

/// One line of a batch file: the CLI grammar without the program name
/// (OBJECT COMMAND, or the YNL grammar).
#[derive(Debug, Parser)]
#[command(name = "batch line", no_binary_name = true)]
pub struct BatchCommand {
    #[command(flatten)]
    pub ynl: YnlArgs,

    #[command(subcommand)]
    pub object: Option<Object>,
}

impl Cli {
    /// The process's command line, parsed as clap's `Cli::parse` would
    /// (usage errors exit 2), except that `--kernel` conflicts only with a
    /// `--port` given on the command line: `SIMDEV_PORT` in the environment
    /// (every program `driver-sim --exec` starts has it) names the
    /// simulator for commands that want one, and does not stop a command
    /// aimed at the kernel.
    ///
    /// With `-j`, a usage error is the one JSON error object on stdout
    /// (`errno` `EINVAL`), as every other failure is; the status is still 2.
    pub fn parse_args() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        Self::parse_from_args(&args).unwrap_or_else(|e| {
            use clap::error::ErrorKind;
            let shown = matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            if !shown && asks_for_json(&args) {
                let rendered = e.render().to_string();
                let first = rendered.lines().next().unwrap_or_default();
                let message = first.strip_prefix("error: ").unwrap_or(first).to_string();
                println!("{}", simdev_netlink::error::Error::Usage(message).to_json());
                std::process::exit(2);
            }
            e.exit()
        })
    }

    /// [`Cli::parse_args`] of these arguments.
    pub fn parse_from_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let mut command = Cli::command();
        let matches = command.try_get_matches_from_mut(args)?;
        let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
        let port_given = matches.value_source("port") == Some(clap::parser::ValueSource::CommandLine);
        if cli.kernel && port_given {
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                "the argument '--kernel' cannot be used with '--port <PORT>'",
            ));
        }
        Ok(cli)
    }

    /// What simulator clients believe and how long they wait.
    pub fn simulator_options(&self) -> SimulatorOptions {
        SimulatorOptions { trusted_uids: self.trust_uid.clone(), timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT) }
    }

    pub fn target(&self) -> simdev_netlink::client::Target {
        if self.kernel {
            simdev_netlink::client::Target::Kernel
        } else {
            simdev_netlink::client::Target::Simulator { port: self.port.unwrap_or(DEFAULT_PORT) }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Object {
    /// The controller: families, their ids, ops and groups.
    Ctrl {
        #[command(subcommand)]
        command: CtrlCommand,
    },
    /// simdev devices.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Ports (netdevs) of devices.
    Port {
        #[command(subcommand)]
        command: PortCommand,
    },
    /// Registers.
    Reg {
        #[command(subcommand)]
        command: RegCommand,
    },
    /// Sensors.
    Sensor {
        #[command(subcommand)]
        command: SensorCommand,
    },
    /// Firmware.
    Fw {
        #[command(subcommand)]
        command: FwCommand,
    },
    /// Simulated time: `show`, or `advance DURATION` on the virtual clock
    /// (running every timer due in that span, in order).
    Clock {
        #[command(subcommand)]
        command: ClockCommand,
    },
    /// Kernel port counters and driver counters.
    Stats {
        #[command(subcommand)]
        command: StatsCommand,
    },
    /// Injected faults.
    Fault {
        #[command(subcommand)]
        command: FaultCommand,
    },
    /// The objects of a family the simulator serves from its spec, changed
    /// as its hardware would change them (JSON as YNL's JSON writes them):
    /// `family NAME new SET JSON`, `family NAME set SET KEY JSON`,
    /// `family NAME del SET KEY`.
    Family {
        /// The served family (`dpll`).
        name: String,
        #[command(subcommand)]
        command: FamilyCommand,
    },
    /// Ring sizes of the kernel's netdevs (with --kernel; like `ethtool -g/-G`).
    Ethtool {
        #[command(subcommand)]
        command: EthtoolCommand,
    },
    /// devlink instances, like the `devlink` tool: the simulator's devices
    /// (when it serves devlink), or the kernel's with --kernel.
    Devlink {
        #[command(subcommand)]
        command: DevlinkCommand,
    },
    /// Print notifications of the given groups (config, events, fw; default all)
    /// until interrupted. They come by unicast (simdev's `subscribe`): no
    /// privilege needed, only this simulator's.
    Monitor {
        /// Print a timestamp before each notification, as `ip monitor -t`
        /// does (with -j: a "timestamp" member).
        #[arg(short = 't', long = "timestamp")]
        timestamp: bool,
        groups: Vec<String>,
    },
    /// Print a netlink capture (pcap: `driver-sim --pcap`, nlmon's) message
    /// by message: family, operation and attributes by name as YNL prints
    /// them (JSON with -j), ids resolved from the controller's answers in
    /// it, each family by its spec (--spec, simdev's, the kernel's).
    /// Several files are one conversation, in the order given (the files
    /// of a rotated capture: FILE FILE1 FILE2...).
    Decode {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
        /// A family's YNL spec to decode it by (before the built-in and the
        /// kernel's). Repeatable.
        #[arg(long = "spec", value_name = "FILE")]
        specs: Vec<std::path::PathBuf>,
    },
    /// Run PROGRAM so that its NETLINK_GENERIC sockets see the simulator's
    /// families (simdev, and those it serves from their specs) next to the
    /// kernel's (an LD_PRELOAD library; see README "Your own programs").
    /// The exit status is PROGRAM's.
    Exec {
        /// Also show PROGRAM the simulator's family NAME where the kernel has
        /// a family of that name too (the simulated one replaces it).
        /// Repeatable.
        #[arg(long = "family", value_name = "NAME")]
        shadow: Vec<String>,
        /// Record PROGRAM's whole Generic Netlink conversation (kernel
        /// families too) to FILE, a pcap as `driver-sim --pcap` writes:
        /// each datagram it sends and receives, as it saw them.
        #[arg(long = "pcap", value_name = "FILE")]
        pcap: Option<std::path::PathBuf>,
        /// PROGRAM [ARGS...], after `--`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true, value_name = "PROGRAM")]
        command: Vec<std::ffi::OsString>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EthtoolCommand {
    /// `rings show IFNAME` (`ethtool -g`), `rings set IFNAME [rx N] [tx N]` (`ethtool -G`).
    Rings {
        #[command(subcommand)]
        command: RingsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RingsCommand {
    Show {
        ifname: String,
    },
    Set {
        ifname: String,
        /// `rx N`, `tx N`.
        #[arg(num_args = 0..)]
        args: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevlinkCommand {
    /// `devlink dev show|info|reload`.
    Dev {
        #[command(subcommand)]
        command: DevlinkDevCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevlinkDevCommand {
    /// List instances (`BUS/DEVICE`), or show one.
    #[command(alias = "list", alias = "ls")]
    Show { handle: Option<String> },
    /// Driver and firmware versions of every instance, or of one.
    Info { handle: Option<String> },
    /// Reload one instance (`devlink dev reload BUS/DEVICE`): its driver
    /// makes its netdevs again.
    Reload { handle: String },
}

#[derive(Debug, Subcommand)]
pub enum CtrlCommand {
    /// List every family (like `genl ctrl list`).
    #[command(alias = "ls", alias = "show")]
    List,
    /// Show one family by name or id.
    Get {
        /// Family name, or id (decimal or 0x-hex).
        family: String,
    },
    /// A family's attribute policies (like `genl ctrl policy`): `ctrl policy NAME|ID [op CMD]`.
    Policy {
        family: String,
        /// `op CMD`: only that command's policies.
        #[arg(num_args = 0..=2)]
        args: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// List devices with their ports, as the kernel sees them.
    #[command(alias = "ls")]
    List,
    /// Show one device.
    Show {
        /// Device name or id.
        dev: String,
    },
    /// Hot-plug a device: `dev add NAME [key value]...` with the keys of a
    /// TOML [[device]] table (id, ports, mtu, mac, up).
    Add {
        name: String,
        #[arg(num_args = 0.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Unplug a device (its netdevs are removed).
    Del { dev: String },
    /// Change a device: `dev set DEV [mtu N] [mac M] [up|down]`.
    Set {
        /// Device name or id.
        dev: String,
        /// `mtu N`, `mac aa:bb:cc:dd:ee:ff` (base MAC: port N gets base + N), `up`, `down`.
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Reset: registers to reset values, ports flap.
    Reset { dev: String },
    /// A devlink health reporter of the device reports an error, as
    /// netdevsim's debugfs `break_health`: `dev health-report DEV dummy MESSAGE`.
    HealthReport {
        dev: String,
        /// The reporter's name (`devlink health show`).
        reporter: String,
        /// What it reports.
        message: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PortCommand {
    /// List ports (of one device, or all).
    #[command(alias = "ls")]
    List { dev: Option<String> },
    /// Change a port: `port set DEV PORT [carrier on|off] [mtu N] [mac M] [up|down]`.
    Set {
        dev: String,
        /// Port index (from 0).
        #[arg(value_name = "PORT")]
        index: u32,
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Set a port's LED: `port led DEV PORT off|on|blink`.
    Led {
        dev: String,
        /// Port index (from 0).
        #[arg(value_name = "PORT")]
        index: u32,
        /// `off`, `on` or `blink` (the spec's `led-state`).
        #[arg(value_name = "STATE")]
        state: String,
    },
    /// Unplug a port's cable for a while, then plug it in: `port flap DEV PORT 200ms`.
    Flap {
        dev: String,
        /// Port index (from 0).
        #[arg(value_name = "PORT")]
        index: u32,
        /// How long the carrier is lost: `200ms`, `2s` (simulated time).
        #[arg(value_parser = parse_duration_ms, value_name = "DURATION")]
        duration_ms: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum FamilyCommand {
    /// Add an object: `new SET '{"id": 2, "module-name": "x", ...}'`.
    New {
        /// The attribute set it belongs to.
        set: String,
        /// Its attributes, a JSON object.
        attrs: String,
    },
    /// Change an object's attributes: `set SET '{"id": 0}' '{"lock-status": "locked"}'`.
    Set {
        set: String,
        /// The attributes that name it, a JSON object.
        key: String,
        /// Those that change, a JSON object.
        attrs: String,
    },
    /// Remove an object: `del SET '{"id": 0}'`.
    Del { set: String, key: String },
}

#[derive(Debug, Subcommand)]
pub enum RegCommand {
    /// List a device's registers.
    #[command(alias = "ls")]
    List { dev: String },
    /// Read a register.
    Read { dev: String, reg: String },
    /// Write a register (decimal or 0x-hex value).
    Write { dev: String, reg: String, value: String },
}

#[derive(Debug, Subcommand)]
pub enum SensorCommand {
    /// List a device's sensors.
    #[command(alias = "ls")]
    List { dev: String },
    /// Inject a reading.
    Set {
        dev: String,
        sensor: String,
        #[arg(allow_hyphen_values = true)]
        value: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum FwCommand {
    /// Running version and flash state.
    Show { dev: String },
    /// Flash a version (`fw flash DEV VERSION`; simulated firmware) or a
    /// firmware file (`fw flash DEV file NAME`; netdevsim, through devlink:
    /// NAME is relative to the kernel's firmware path, e.g. /lib/firmware)
    /// and follow its progress (a progress bar on a terminal); fails if the
    /// flash fails.
    Flash {
        dev: String,
        #[arg(num_args = 1..=2, value_names = ["VERSION | file NAME"], required = true)]
        image: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    Show { dev: String },
}

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Simulated time, and whether the clock is virtual.
    Show,
    /// Move the virtual clock forward: `500ms`, `61s`, `2m`, `1h`, `1.5s`.
    Advance {
        #[arg(value_parser = parse_duration_ms, value_name = "DURATION")]
        duration_ms: u64,
    },
}

/// A duration with its unit (`ms`, `s`, `m`, `h`), in whole milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        _ => return Err(format!("`{text}`: give a unit, ms, s, m or h (`500ms`, `61s`, `2m`)")),
    };
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration"))?;
    let ms = (value * scale).round();
    if !(1.0..=u64::MAX as f64).contains(&ms) {
        return Err(format!("`{text}`: at least 1 ms"));
    }
    Ok(ms as u64)
}

#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// A device's faults.
    #[command(alias = "ls")]
    List { dev: String },
    /// `fault set DEV COMMAND [errno E] [count N | probability P] [delay MS] [fail-at PCT]`,
    /// or `fault set DEV link-flap interval MS down MS port N [count N]`;
    /// either with `[reporter NAME]`: that devlink health reporter of the
    /// device reports an error each time the fault fails something.
    Set {
        dev: String,
        command: String,
        #[arg(num_args = 0.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Remove a device's faults (of one command, or all).
    Clear { dev: String, command: Option<String> },
}

/// Whether a command line asks for JSON (`-j`, `--output-json`, or `-j`
/// among other short flags, `-jp`), before any `--`.
fn asks_for_json(args: &[std::ffi::OsString]) -> bool {
    args.iter().skip(1).map(|a| a.to_string_lossy()).take_while(|a| a != "--").any(|a| {
        a == "--output-json"
            || (a.starts_with('-')
                && !a.starts_with("--")
                && a.contains('j')
                && a[1..].chars().all(|c| "jp".contains(c)))
    })
}

/// `--window N`: at least one request in flight.
fn parse_window(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("a window of 0 would send nothing: give at least 1".into()),
        Ok(window) => Ok(window),
        Err(e) => Err(format!("`{text}` is not a number of requests: {e}")),
    }
}

pub fn parse_port(text: &str) -> Result<u32, String> {
    let value = parse_u64(text).map_err(|e| format!("`{text}` is not a port id: {e}"))?;
    match u32::try_from(value) {
        Ok(0) => Err("port 0 is the kernel's; use --kernel".into()),
        Ok(port) => Ok(port),
        Err(_) => Err(format!("`{text}` is too large for a port id")),
    }
}

/// A number in decimal or `0x` hex.
pub fn parse_u64(text: &str) -> Result<u64, std::num::ParseIntError> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations_have_units() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("61s"), Ok(61_000));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000));
        assert_eq!(parse_duration_ms("1.5s"), Ok(1500));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert!(parse_duration_ms("60").unwrap_err().contains("give a unit"));
        assert!(parse_duration_ms("0s").unwrap_err().contains("at least 1 ms"));
        assert!(parse_duration_ms("xs").is_err());
    }

    #[test]
    fn the_command_line_definitions_are_consistent() {
        Cli::command().debug_assert();
        BatchCommand::command().debug_assert();
    }
}
