//! The simulator's TOML configuration: schema, defaults, validation.
//!
//! Everything is checked before anything is created: syntax, unknown keys,
//! types, and what the kernel would refuse later (names too long for
//! `IFNAMSIZ`, duplicate names or ids, bad MACs). Every error names the file,
//! line and column and the key at fault. This module does no I/O besides
//! reading the file it is given.

use serde::Deserialize;
use simdev_protocol::ctrl::{GENL_MAX_ID, GENL_START_ALLOC};
use simdev_protocol::simdev::{
    format_mac, parse_mac, port_mac, Access, FaultInfo, Mac, DEV_NAME_MAX, FW_VERSION_MAX, MTU_MAX, MTU_MIN,
    OBJECT_NAME_MAX, PROBABILITY_ONE,
};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// The configuration `driver-sim` runs without `--config`.
pub const DEFAULT_CONFIG: &str = include_str!("../../configs/default.toml");
/// How the embedded default is named in messages.
pub const DEFAULT_CONFIG_NAME: &str = "<embedded configs/default.toml>";

/// Longest netdev name (`IFNAMSIZ` - 1).
pub const IFNAME_MAX: usize = 15;
/// Suffix of a port's cable end (its veth peer).
pub const PEER_SUFFIX: &str = "-peer";
/// Most ports one device may have.
pub const PORTS_MAX: u32 = 64;
/// Most queues one port may have.
pub const QUEUES_MAX: u32 = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub simulator: SimulatorConfig,
    #[serde(default, rename = "device")]
    pub devices: Vec<DeviceConfig>,
    /// Families served from their YNL specs, next to simdev.
    #[serde(default, rename = "family")]
    pub families: Vec<FamilyConfig>,
    /// Where the configuration came from, to locate errors found later
    /// (in the specs its families name).
    #[serde(skip)]
    pub source: Source,
}

/// A configuration's file name and text.
#[derive(Debug, Default, Clone)]
pub struct Source {
    pub file: String,
    pub text: String,
}

impl Source {
    /// An error about the value at `span`.
    pub fn error(&self, span: Range<usize>, message: String) -> ConfigError {
        let (line, column) = line_column(&self.text, span.start);
        ConfigError { file: self.file.clone(), line, column, message }
    }

    /// The directory relative paths in the configuration start from.
    pub fn directory(&self) -> &Path {
        Path::new(&self.file).parent().unwrap_or(Path::new("."))
    }
}

/// A `[[family]]` table: a Generic Netlink family served from its YNL
/// spec, with the objects its generic ops read and change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyConfig {
    /// A kernel spec by name (`dpll`), or a path to a YAML file (relative
    /// to the configuration's directory).
    pub spec: Spanned<String>,
    /// Objects: each a table with `set` (the attribute set it belongs to)
    /// and its attributes as YNL's JSON writes them.
    #[serde(default, rename = "object")]
    pub objects: Vec<Spanned<toml::Table>>,
    /// How a request for an object that does not exist is answered
    /// (default: as the family's driver answers, `ENOENT` with an extack
    /// for a family simdev has no driver code for).
    #[serde(default, rename = "not-found")]
    pub not_found: Option<NotFoundConfig>,
    /// Whether a dump's messages carry `NLM_F_MULTI` (most drivers' do;
    /// netdev's fill dumps with `genlmsg_iput`, which sets no flags).
    #[serde(default = "yes", rename = "dump-multi")]
    pub dump_multi: bool,
    /// Programs under `genl-client exec` see this family in place of the
    /// kernel's family of its name (as `exec --family NAME` makes them).
    #[serde(default)]
    pub shadow: bool,
    /// Multicast groups the family's driver registers that its spec does
    /// not list (mptcp_pm's, team's: the kernel's C code names them).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The family's `resv_start_op`, which its driver sets in C (the OVS
    /// families': their `SET` command + 1): commands below it are
    /// validated liberally and their headers not checked. Default 0, all
    /// strict, as for a family generated from its spec.
    #[serde(default, rename = "resv-start-op")]
    pub resv_start_op: Option<u8>,
    /// Injected faults on the family's ops (`command`: an op's name).
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultConfig>,
}

/// `[[device.param]]`: a parameter of the device's devlink instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamConfig {
    pub name: Spanned<String>,
    /// `u8`, `u16`, `u32`, `string` or `bool`.
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// The configuration modes it has: `runtime`, `driverinit`, `permanent`.
    pub cmodes: Spanned<Vec<String>>,
    /// Its value in each of them at start.
    pub value: Spanned<toml::Value>,
}

impl ParamConfig {
    /// The parameter it declares, or what is wrong with it and where.
    pub fn param(&self) -> Result<crate::driver::served::devlink::params::Param, (Range<usize>, String)> {
        use crate::driver::served::devlink::params::{Param, ParamType, ParamValue};
        let name = self.name.get_ref();
        let at = |span: Range<usize>, why: String| (span, format!("device.param `{name}`: {why}"));
        if name.is_empty() || name.len() > OBJECT_NAME_MAX || !valid_name(name) {
            return Err(at(self.name.span(), format!("1 to {OBJECT_NAME_MAX} letters, digits, '_', '-', '.'")));
        }
        let kind = ParamType::parse(self.kind.get_ref())
            .ok_or_else(|| at(self.kind.span(), "type is one of u8, u16, u32, string, bool".into()))?;
        let value = ParamValue::from_toml(kind, self.value.get_ref()).map_err(|why| at(self.value.span(), why))?;
        Param::new(name, kind, self.cmodes.get_ref(), value).map_err(|why| at(self.cmodes.span(), why))
    }
}

/// `[[device.health_reporter]]`: a health reporter of the device's devlink
/// instance: netdevsim's (`like`), or one whose callbacks and messages
/// it declares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthReporterConfig {
    pub name: Spanned<String>,
    /// netdevsim's reporter of that kind, `dummy` or `empty`: its
    /// callbacks and messages.
    pub like: Option<Spanned<String>>,
    /// Whether it can recover (its driver has a `recover` callback).
    pub recover: Option<Spanned<bool>>,
    /// The pairs its diagnose puts; none: it has no diagnose.
    pub diagnose: Option<Spanned<toml::Table>>,
    /// The pairs its dump puts; none: it has no dump.
    pub dump: Option<Spanned<toml::Table>>,
    /// The core's settings at start (default: auto-recover when it can
    /// recover, auto-dump when it can dump, no grace period).
    pub auto_recover: Option<Spanned<bool>>,
    pub auto_dump: Option<Spanned<bool>>,
    /// Milliseconds after a recovery in which an error is not recovered from.
    pub graceful_period: Option<Spanned<u64>>,
}

impl HealthReporterConfig {
    /// The reporter it declares, or what is wrong with it and where.
    pub fn reporter(
        &self,
        seed: u64,
    ) -> Result<crate::driver::served::devlink::health::Reporter, (Range<usize>, String)> {
        use crate::driver::served::devlink::health::{declared_fmsg, Callbacks, Content, Reporter};
        let name = self.name.get_ref();
        let at = |span: Range<usize>, why: String| (span, format!("device.health_reporter `{name}`: {why}"));
        if name.is_empty() || name.len() > OBJECT_NAME_MAX || !valid_name(name) {
            return Err(at(self.name.span(), format!("1 to {OBJECT_NAME_MAX} letters, digits, '_', '-', '.'")));
        }
        let callbacks = match &self.like {
            Some(like) => {
                let own = (self.recover.as_ref().map(|r| r.span()))
                    .or_else(|| self.diagnose.as_ref().map(|d| d.span()))
                    .or_else(|| self.dump.as_ref().map(|d| d.span()));
                if let Some(span) = own {
                    return Err(at(span, "recover, diagnose and dump are netdevsim's with `like`".into()));
                }
                Callbacks::netdevsim(like.get_ref()).ok_or_else(|| {
                    at(like.span(), format!("like `{}`: netdevsim's are dummy and empty", like.get_ref()))
                })?
            }
            None => {
                let content = |table: &Option<Spanned<toml::Table>>| -> Result<Option<Content>, _> {
                    let Some(table) = table else { return Ok(None) };
                    declared_fmsg(&mut Default::default(), table.get_ref()).map_err(|why| at(table.span(), why))?;
                    Ok(Some(Content::Declared(table.get_ref().clone())))
                };
                Callbacks {
                    recover: self.recover.as_ref().is_some_and(|r| *r.get_ref()),
                    diagnose: content(&self.diagnose)?,
                    dump: content(&self.dump)?,
                }
            }
        };
        let mut reporter = Reporter::new(name, callbacks, seed);
        // The core's rules: only a reporter that recovers has recovery
        // settings, only one that dumps dumps by itself.
        if let Some(on) = &self.auto_recover {
            if *on.get_ref() && !reporter.can_recover() {
                return Err(at(on.span(), "auto_recover needs a reporter that recovers".into()));
            }
            reporter.auto_recover = *on.get_ref();
        }
        if let Some(period) = &self.graceful_period {
            if !reporter.can_recover() {
                return Err(at(period.span(), "graceful_period needs a reporter that recovers".into()));
            }
            reporter.graceful_period = *period.get_ref();
        }
        if let Some(on) = &self.auto_dump {
            if *on.get_ref() && reporter.callbacks.dump.is_none() {
                return Err(at(on.span(), "auto_dump needs a reporter that dumps".into()));
            }
            reporter.auto_dump = *on.get_ref();
        }
        Ok(reporter)
    }
}

/// `not-found = { errno = "ENODEV", extack = false }`: drivers differ
/// (dpll's says ENOENT and names the attribute, netdev's a bare ENODEV).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotFoundConfig {
    #[serde(default = "enoent")]
    pub errno: Spanned<ErrnoValue>,
    /// Whether the error carries a message and the key's offset.
    #[serde(default = "yes")]
    pub extack: bool,
}

fn enoent() -> Spanned<ErrnoValue> {
    Spanned::new(0..0, ErrnoValue::Name("ENOENT".into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    /// Netlink port id to serve on, or "auto" (`--port` overrides).
    pub port: Option<Spanned<PortChoice>>,
    /// Where the hardware lives: "private" or "host".
    #[serde(default)]
    pub netns: Netns,
    /// "auto" (the first dynamic id, 0x13), "random", or a number.
    #[serde(default = "auto_family_id")]
    pub family_id: Spanned<FamilyIdChoice>,
    /// Uids allowed to run admin commands; default: root and the simulator's own uid.
    pub admin_uids: Option<Vec<u32>>,
    /// Also bind-mount the private hardware namespace at /run/netns/NAME
    /// (root only; `--netns-name` overrides).
    pub netns_name: Option<Spanned<String>>,
    /// What simulated time follows: "real" (default) or "virtual" (`--clock` overrides).
    #[serde(default)]
    pub clock: ClockChoice,
    /// Seed of the generator behind probabilistic faults (reproducible runs).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Record every datagram in and out to this pcap file (`--pcap` overrides).
    pub pcap: Option<std::path::PathBuf>,
    /// Begin a new capture file before one would pass this many million
    /// bytes (`--pcap-max` overrides).
    pub pcap_max: Option<u64>,
    /// With `pcap_max`: keep at most this many files (`--pcap-files` overrides).
    pub pcap_files: Option<u32>,
    /// Answer as the conversation recorded in this pcap file answered
    /// (`--replay` overrides).
    pub replay: Option<std::path::PathBuf>,
    /// Attributes (`ATTR`, `OP.ATTR`) a replay leaves out of the comparison.
    #[serde(default)]
    pub replay_ignore: Vec<String>,
}

fn default_seed() -> u64 {
    1
}

fn auto_family_id() -> Spanned<FamilyIdChoice> {
    Spanned::new(0..0, FamilyIdChoice::Auto)
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            port: None,
            netns: Netns::Private,
            family_id: auto_family_id(),
            admin_uids: None,
            netns_name: None,
            clock: ClockChoice::Real,
            seed: default_seed(),
            pcap: None,
            pcap_max: None,
            pcap_files: None,
            replay: None,
            replay_ignore: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Netns {
    /// A fresh network namespace (plus a user namespace when not root) that
    /// dies with the simulator.
    #[default]
    Private,
    /// The namespace the simulator was started in (needs CAP_NET_ADMIN there).
    Host,
}

/// What simulated time follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClockChoice {
    /// Time passes: flashes, link flaps and delayed answers happen on their own.
    #[default]
    Real,
    /// Time stands still until `clock-advance` moves it: tests run an
    /// hour's timers in milliseconds, the same way every run.
    Virtual,
}

/// Why a netdevsim device cannot run on the virtual clock.
const VIRTUAL_CLOCK_NETDEVSIM: &str = "the netdevsim backend's kernel operations (devlink flashes, reloads) take \
     real time, which a virtual clock cannot stop: use clock = \"real\" (or the veth or model backend)";

/// Where the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum PortChoice {
    /// A free port the kernel picks (autobind, as for any netlink socket
    /// bound to port 0); the ready line names it.
    #[serde(with = "auto_word")]
    Auto,
    Fixed(u32),
}

impl PortChoice {
    /// `auto`, or a port id in decimal or `0x` hex (not 0: the kernel's).
    pub fn parse(text: &str) -> Result<PortChoice, String> {
        if text == "auto" {
            return Ok(PortChoice::Auto);
        }
        let value = match text.strip_prefix("0x") {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => text.parse(),
        }
        .map_err(|e| format!("`{text}` is not a port id or `auto`: {e}"))?;
        if value == 0 {
            return Err("port 0 is the kernel's (`auto` lets the kernel pick a free one)".into());
        }
        Ok(PortChoice::Fixed(value))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(untagged)]
pub enum FamilyIdChoice {
    #[default]
    #[serde(with = "auto_word")]
    Auto,
    #[serde(with = "random_word")]
    Random,
    Fixed(u16),
}

/// Serde helpers to accept the bare words "auto" and "random".
macro_rules! word {
    ($module:ident, $word:literal) => {
        mod $module {
            pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                if text == $word {
                    Ok(())
                } else {
                    Err(serde::de::Error::custom(concat!("expected \"", $word, "\"")))
                }
            }
        }
    };
}
word!(auto_word, "auto");
word!(random_word, "random");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Each port a veth pair: the port end and the cable end.
    #[default]
    Veth,
    /// State only, no kernel netdev: for unprivileged scale runs.
    Model,
    /// A real netdevsim device (needs root and a kernel with netdevsim):
    /// its ports linked to a second netdevsim device's as cable ends,
    /// firmware and reset through devlink.
    Netdevsim,
}

impl BackendKind {
    /// The name in configurations and in `dev-get` answers.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Veth => "veth",
            BackendKind::Model => "model",
            BackendKind::Netdevsim => "netdevsim",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Device name; ports are named NAMEp0, NAMEp1, ... and their cable
    /// ends NAMEp0-peer, ...
    pub name: Spanned<String>,
    /// Device id; default: the next free id from 1.
    pub id: Option<Spanned<u32>>,
    #[serde(default)]
    pub backend: BackendKind,
    /// How many such devices: more than 1 appends the index to the name
    /// (and to the id, counting up) — for scale runs.
    #[serde(default = "one")]
    pub count: Spanned<u32>,
    /// Number of ports (1..=64).
    #[serde(default = "one")]
    pub ports: Spanned<u32>,
    /// Initial MTU of every port; default: the kernel's (1500 for veth).
    pub mtu: Option<Spanned<u32>>,
    /// Base MAC, unicast; port N gets base + N. Default: kernel-random.
    pub mac: Option<Spanned<String>>,
    /// Whether ports start administratively up.
    #[serde(default = "yes")]
    pub up: bool,
    /// RX and TX queues of every port (veth, netdevsim); default: the
    /// kernel's (1).
    pub queues: Option<Spanned<u32>>,
    #[serde(default, rename = "register")]
    pub registers: Vec<RegisterConfig>,
    #[serde(default, rename = "sensor")]
    pub sensors: Vec<SensorConfig>,
    #[serde(default)]
    pub firmware: FirmwareConfig,
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultConfig>,
    /// Its devlink instance's parameters; none: netdevsim's (`max_macs`, `test1`).
    #[serde(default, rename = "param")]
    pub params: Vec<ParamConfig>,
    /// Its devlink instance's health reporters; none: netdevsim's
    /// (`empty`, `dummy`).
    #[serde(default, rename = "health_reporter")]
    pub health_reporters: Vec<HealthReporterConfig>,
    /// Its devlink instance's handle, `BUS/DEV` (a PCI-like
    /// `pci/0000:03:00.0`, say); none: `simdev/NAME`.
    pub devlink: Option<Spanned<String>>,
    /// The serial number `devlink dev info` reports; none: none, as
    /// netdevsim. With `count`, each copy's ends in its index.
    pub serial: Option<Spanned<String>>,
}

/// `[[device.register]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterConfig {
    pub name: Spanned<String>,
    /// Byte offset in the register file.
    pub offset: Spanned<u32>,
    /// 8, 16, 32 or 64 bits.
    #[serde(default = "default_width")]
    pub width: Spanned<u8>,
    #[serde(default = "default_access")]
    pub access: Access,
    #[serde(default = "zero_u64")]
    pub reset: Spanned<u64>,
    /// Hardware state the register shows instead of a stored value:
    /// "carrier" (bit N = port N has carrier; read-only).
    pub reflects: Option<Reflects>,
}

fn zero_u64() -> Spanned<u64> {
    Spanned::new(0..0, 0)
}

fn zero_u32() -> Spanned<u32> {
    Spanned::new(0..0, 0)
}

fn default_width() -> Spanned<u8> {
    Spanned::new(0..0, 32)
}

fn default_access() -> Access {
    Access::Rw
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reflects {
    Carrier,
}

/// `[[device.sensor]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorConfig {
    pub name: Spanned<String>,
    /// temperature, voltage, current, power, fan, ...
    pub kind: String,
    /// Unit of every number below (e.g. "mC" for millidegrees Celsius).
    pub unit: String,
    pub value: Spanned<i64>,
    pub min: i64,
    pub max: i64,
    pub alarm_low: Option<i64>,
    pub alarm_high: Option<i64>,
}

/// `[device.firmware]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareConfig {
    #[serde(default = "default_fw_version")]
    pub version: Spanned<String>,
    /// How long a flash takes, in milliseconds (0..=3600000, an hour).
    #[serde(default = "default_flash_ms")]
    pub flash_duration_ms: Spanned<u32>,
    /// When a flashed version runs: as the flash ends, or after a reset.
    #[serde(default = "immediate")]
    pub activation: Spanned<Activation>,
}

fn immediate() -> Spanned<Activation> {
    Spanned::new(0..0, Activation::Immediate)
}

/// When a flashed firmware version starts to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// As the flash ends (netdevsim's, and simdev's default).
    #[default]
    Immediate,
    /// After a reset (`dev reset`, devlink `reload action fw_activate`):
    /// until then the flashed version is stored, the old one runs, as on
    /// most NICs.
    Reset,
}

impl Default for FirmwareConfig {
    fn default() -> Self {
        FirmwareConfig { version: default_fw_version(), flash_duration_ms: default_flash_ms(), activation: immediate() }
    }
}

fn default_fw_version() -> Spanned<String> {
    Spanned::new(0..0, "1.0.0".to_string())
}

fn default_flash_ms() -> Spanned<u32> {
    Spanned::new(0..0, 2000)
}

/// Longest flash the simulator accepts.
pub const FLASH_MAX_MS: u32 = 3_600_000;

/// An errno as a configuration gives it: a name or a number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ErrnoValue {
    Number(i64),
    Name(String),
}

impl ErrnoValue {
    /// The errno (1..=4095), if it is one.
    pub fn value(&self) -> Option<i32> {
        match self {
            ErrnoValue::Number(n) => i32::try_from(*n).ok().filter(|n| (1..=4095).contains(n)),
            ErrnoValue::Name(name) => simdev_protocol::errno::parse_errno(name),
        }
    }
}

impl std::fmt::Display for ErrnoValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrnoValue::Number(n) => write!(f, "{n}"),
            ErrnoValue::Name(name) => f.write_str(name),
        }
    }
}

/// `[[device.fault]]`: the same fields `fault set` takes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// A simdev command name (`dev-set`, `fw-flash`, ...) or `link-flap`.
    pub command: Spanned<String>,
    /// Errno to answer with, by name (`EIO`) or number (`5`); absent: latency only.
    pub errno: Option<Spanned<ErrnoValue>>,
    /// Fire this many times, then stop.
    pub count: Option<Spanned<u32>>,
    /// Fire with this probability (0 < p <= 1), from the seeded generator.
    pub probability: Option<Spanned<f64>>,
    /// Delay the answer by this many milliseconds.
    #[serde(default = "zero_u32")]
    pub delay_ms: Spanned<u32>,
    /// fw-flash only: fail the flash at this percent.
    pub fail_at: Option<Spanned<u8>>,
    /// link-flap only: period, carrier-off time, and the port.
    pub interval_ms: Option<Spanned<u32>>,
    pub down_ms: Option<Spanned<u32>>,
    pub port: Option<Spanned<u32>>,
    /// The device's devlink health reporter that reports an error each
    /// time the fault fails something.
    pub reporter: Option<Spanned<String>>,
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

fn yes() -> bool {
    true
}

impl DeviceConfig {
    /// Whether the device can run on `clock`: a netdevsim device cannot
    /// run on the virtual one (its kernel operations take real time).
    pub fn check_clock(&self, clock: ClockChoice) -> Result<(), String> {
        if clock == ClockChoice::Virtual && self.backend == BackendKind::Netdevsim {
            return Err(format!("device `{}`: {VIRTUAL_CLOCK_NETDEVSIM}", self.name.get_ref()));
        }
        Ok(())
    }

    /// Parses one device table (what `dev-new` carries), validated like a
    /// `[[device]]` of a file; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<DeviceConfig, ConfigError> {
        let locate = |span: Option<Range<usize>>, message: String| {
            let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
            ConfigError { file: source.to_string(), line, column, message }
        };
        let device: DeviceConfig =
            toml::from_str(text).map_err(|e| locate(e.span(), toml_message(text, "device", &e)))?;
        if *device.count.get_ref() != 1 {
            return Err(locate(Some(device.count.span()), "count: one device at a time here".into()));
        }
        device.validate().map_err(|(span, message)| locate(Some(span), message))?;
        Ok(device)
    }

    /// The names of its devlink instance's health reporters.
    pub fn reporter_names(&self) -> Vec<&str> {
        match self.health_reporters.is_empty() {
            true => vec!["empty", "dummy"],
            false => self.health_reporters.iter().map(|r| r.name.get_ref().as_str()).collect(),
        }
    }

    /// Its devlink instance's handle: bus and device names.
    pub fn devlink_handle(&self) -> (String, String) {
        match self.devlink.as_ref().and_then(|h| h.get_ref().split_once('/')) {
            Some((bus, dev)) => (bus.to_string(), dev.to_string()),
            None => (DEVLINK_BUS.to_string(), self.name.get_ref().clone()),
        }
    }

    /// Checks one device on its own (names, sizes, ranges, overlaps).
    fn validate(&self) -> Result<(), (Range<usize>, String)> {
        let name = self.name.get_ref();
        let name_span = self.name.span();
        if name.is_empty() || name.len() > DEV_NAME_MAX {
            return Err((name_span, format!("device.name `{name}`: must be 1 to {DEV_NAME_MAX} characters")));
        }
        if !valid_name(name) {
            return Err((name_span, format!("device.name `{name}`: use letters, digits, '_', '-', '.'")));
        }
        let ports = *self.ports.get_ref();
        if !(1..=PORTS_MAX).contains(&ports) {
            return Err((self.ports.span(), format!("device.ports: {ports} is outside 1..={PORTS_MAX}")));
        }
        if let Some(queues) = &self.queues {
            if !(1..=QUEUES_MAX).contains(queues.get_ref()) {
                return Err((
                    queues.span(),
                    format!("device.queues: {} is outside 1..={QUEUES_MAX}", queues.get_ref()),
                ));
            }
            if self.backend == BackendKind::Model {
                return Err((queues.span(), "device.queues: model ports have no queues".to_string()));
            }
        }
        let longest = self.peer_ifname(ports - 1);
        if longest.len() > IFNAME_MAX {
            return Err((
                name_span,
                format!(
                "device.name `{name}`: too long for its netdevs: `{longest}` exceeds IFNAMSIZ ({IFNAME_MAX} characters)"
            ),
            ));
        }
        if let Some(id) = &self.id {
            if *id.get_ref() == 0 {
                return Err((id.span(), "device.id: ids start at 1".to_string()));
            }
        }
        if let Some(mtu) = &self.mtu {
            if !(MTU_MIN..=MTU_MAX).contains(mtu.get_ref()) {
                return Err((mtu.span(), format!("device.mtu: {} is outside {MTU_MIN}..={MTU_MAX}", mtu.get_ref())));
            }
        }
        if let Some(mac) = &self.mac {
            match parse_mac(mac.get_ref()) {
                None => {
                    return Err((
                        mac.span(),
                        format!("device.mac `{}`: not a MAC address (aa:bb:cc:dd:ee:ff)", mac.get_ref()),
                    ))
                }
                Some(m) if m[0] & 1 != 0 => {
                    return Err((
                        mac.span(),
                        format!("device.mac `{}`: multicast bit set; ports need unicast addresses", mac.get_ref()),
                    ))
                }
                Some(m) if m == [0; 6] => {
                    return Err((mac.span(), "device.mac: all zeros is not a valid address".to_string()))
                }
                Some(base) => {
                    // Port N gets base + N: each of those must be a port's address too.
                    if let Some((index, bad)) =
                        (1..ports).map(|i| (i, port_mac(&base, i))).find(|(_, m)| m[0] & 1 != 0 || *m == [0; 6])
                    {
                        return Err((
                            mac.span(),
                            format!(
                                "device.mac `{}`: port {index} would get {}, not a unicast address (port N gets base + N)",
                                mac.get_ref(),
                                format_mac(&bad)
                            ),
                        ));
                    }
                }
            }
        }
        self.validate_registers()?;
        self.validate_sensors()?;
        if let Some(handle) = &self.devlink {
            let text = handle.get_ref();
            let valid = |part: &str| {
                (1..=DEVLINK_NAME_MAX).contains(&part.len()) && part.chars().all(|c| c.is_ascii_graphic() && c != '/')
            };
            if !text.split_once('/').is_some_and(|(bus, dev)| valid(bus) && valid(dev)) {
                return Err((
                    handle.span(),
                    format!(
                        "device.devlink `{text}`: BUS/DEV, each 1 to {DEVLINK_NAME_MAX} printable characters without '/' (pci/0000:03:00.0)"
                    ),
                ));
            }
        }
        if let Some(serial) = &self.serial {
            let text = serial.get_ref();
            if !(1..=SERIAL_MAX).contains(&text.len()) || !text.chars().all(|c| c.is_ascii_graphic()) {
                return Err((
                    serial.span(),
                    format!("device.serial `{text}`: 1 to {SERIAL_MAX} printable characters, no spaces"),
                ));
            }
        }
        let mut params = std::collections::HashSet::new();
        for param in &self.params {
            param.param()?;
            if !params.insert(param.name.get_ref()) {
                return Err((param.name.span(), format!("device.param `{}`: duplicate name", param.name.get_ref())));
            }
        }
        let mut reporters = std::collections::HashSet::new();
        for reporter in &self.health_reporters {
            reporter.reporter(0)?;
            if !reporters.insert(reporter.name.get_ref()) {
                let name = reporter.name.get_ref();
                return Err((reporter.name.span(), format!("device.health_reporter `{name}`: duplicate name")));
            }
        }
        let fw = &self.firmware;
        if fw.version.get_ref().is_empty() || fw.version.get_ref().len() > FW_VERSION_MAX {
            return Err((fw.version.span(), format!("device.firmware.version: 1 to {FW_VERSION_MAX} characters")));
        }
        if *fw.flash_duration_ms.get_ref() > FLASH_MAX_MS {
            return Err((
                fw.flash_duration_ms.span(),
                format!("device.firmware.flash_duration_ms: at most {FLASH_MAX_MS}"),
            ));
        }
        if *fw.activation.get_ref() == Activation::Reset && self.backend == BackendKind::Netdevsim {
            return Err((
                fw.activation.span(),
                "device.firmware.activation: netdevsim's firmware is the kernel's (it runs a flash at once)".into(),
            ));
        }
        let reporters = self.reporter_names();
        for fault in &self.faults {
            fault.validate(ports, self.backend, &reporters)?;
        }
        Ok(())
    }

    fn validate_registers(&self) -> Result<(), (Range<usize>, String)> {
        let mut names = std::collections::HashSet::new();
        for (i, reg) in self.registers.iter().enumerate() {
            let name = reg.name.get_ref();
            if name.is_empty() || name.len() > OBJECT_NAME_MAX || !valid_name(name) {
                return Err((
                    reg.name.span(),
                    format!("device.register.name `{name}`: 1 to {OBJECT_NAME_MAX} letters, digits, '_', '-', '.'"),
                ));
            }
            if !names.insert(name.as_str()) {
                return Err((reg.name.span(), format!("device.register.name `{name}`: duplicate register name")));
            }
            let width = *reg.width.get_ref();
            if ![8, 16, 32, 64].contains(&width) {
                return Err((reg.width.span(), format!("device.register.width: {width} is not 8, 16, 32 or 64")));
            }
            let bytes = u64::from(width / 8);
            let offset = u64::from(*reg.offset.get_ref());
            if offset % bytes != 0 {
                return Err((
                    reg.offset.span(),
                    format!("device.register.offset: {offset:#x} is not aligned to the register's {bytes} bytes"),
                ));
            }
            if width < 64 && *reg.reset.get_ref() >> width != 0 {
                return Err((
                    reg.reset.span(),
                    format!("device.register.reset: {:#x} does not fit in {width} bits", reg.reset.get_ref()),
                ));
            }
            if reg.reflects.is_some() && reg.access != Access::Ro {
                return Err((
                    reg.name.span(),
                    format!(
                        "device.register `{name}`: a register that reflects hardware state must be access = \"ro\""
                    ),
                ));
            }
            for other in &self.registers[..i] {
                let other_start = u64::from(*other.offset.get_ref());
                let other_end = other_start + u64::from(*other.width.get_ref() / 8);
                if offset < other_end && other_start < offset + bytes {
                    return Err((reg.offset.span(), format!(
                        "device.register `{name}` ({offset:#x}..{:#x}) overlaps `{}` ({other_start:#x}..{other_end:#x})",
                        offset + bytes,
                        other.name.get_ref()
                    )));
                }
            }
        }
        Ok(())
    }

    fn validate_sensors(&self) -> Result<(), (Range<usize>, String)> {
        let mut names = std::collections::HashSet::new();
        for sensor in &self.sensors {
            let name = sensor.name.get_ref();
            if name.is_empty() || name.len() > OBJECT_NAME_MAX || !valid_name(name) {
                return Err((
                    sensor.name.span(),
                    format!("device.sensor.name `{name}`: 1 to {OBJECT_NAME_MAX} letters, digits, '_', '-', '.'"),
                ));
            }
            if !names.insert(name.as_str()) {
                return Err((sensor.name.span(), format!("device.sensor.name `{name}`: duplicate sensor name")));
            }
            if sensor.min > sensor.max {
                return Err((
                    sensor.name.span(),
                    format!("device.sensor `{name}`: min {} is above max {}", sensor.min, sensor.max),
                ));
            }
            let value = *sensor.value.get_ref();
            if !(sensor.min..=sensor.max).contains(&value) {
                return Err((
                    sensor.value.span(),
                    format!("device.sensor `{name}`: value {value} is outside {}..={}", sensor.min, sensor.max),
                ));
            }
            if let (Some(low), Some(high)) = (sensor.alarm_low, sensor.alarm_high) {
                if low > high {
                    return Err((
                        sensor.name.span(),
                        format!("device.sensor `{name}`: alarm_low {low} is above alarm_high {high}"),
                    ));
                }
            }
            if [&sensor.kind, &sensor.unit].iter().any(|t| t.is_empty() || t.len() > OBJECT_NAME_MAX) {
                return Err((
                    sensor.name.span(),
                    format!("device.sensor `{name}`: kind and unit must be 1 to {OBJECT_NAME_MAX} characters"),
                ));
            }
        }
        Ok(())
    }

    pub fn port_ifname(&self, index: u32) -> String {
        format!("{}p{}", self.name.get_ref(), index)
    }

    pub fn peer_ifname(&self, index: u32) -> String {
        format!("{}{}", self.port_ifname(index), PEER_SUFFIX)
    }

    pub fn queues(&self) -> Option<u32> {
        self.queues.as_ref().map(|q| *q.get_ref())
    }

    pub fn base_mac(&self) -> Option<Mac> {
        self.mac.as_ref().and_then(|m| parse_mac(m.get_ref()))
    }
}

/// A configuration error, located in its file.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A device config plus the id it ends up with.
pub type ResolvedDevices = Vec<(u32, DeviceConfig)>;

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let (line, column) = line_column(std::str::from_utf8(&bytes[..valid]).expect("valid prefix"), valid);
            ConfigError {
                file: file.clone(),
                line,
                column,
                message: format!("not UTF-8 text (byte {:#04x}); TOML is UTF-8", bytes[valid]),
            }
        })?;
        Config::parse(&text, &file)
    }

    /// The embedded default.
    pub fn embedded_default() -> Config {
        Config::parse(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME).expect("embedded default config is valid")
    }

    /// Parses and validates `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        Self::parse_limited(text, file, COUNT_MAX)
    }

    /// [`Config::parse`], with at most `max_devices` devices in all.
    pub fn parse_limited(text: &str, file: &str, max_devices: u32) -> Result<Config, ConfigError> {
        let locate = |span: Option<Range<usize>>, message: String| {
            let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
            ConfigError { file: file.to_string(), line, column, message }
        };
        let mut config: Config = toml::from_str(text).map_err(|e| locate(e.span(), toml_message(text, "", &e)))?;
        config.devices =
            expand_counts(config.devices, max_devices).map_err(|(span, message)| locate(Some(span), message))?;
        config.validate().map_err(|(span, message)| locate(Some(span), message))?;
        config.source = Source { file: file.to_string(), text: text.to_string() };
        Ok(config)
    }

    /// Semantic checks; returns the span of the offending value.
    fn validate(&self) -> Result<(), (Range<usize>, String)> {
        if let Some(name) = &self.simulator.netns_name {
            crate::hardware::netns::check_netns_name(name.get_ref())
                .map_err(|why| (name.span(), format!("simulator.netns_name: {why}")))?;
        }
        let family_id = &self.simulator.family_id;
        if let FamilyIdChoice::Fixed(id) = *family_id.get_ref() {
            if !(GENL_START_ALLOC..=GENL_MAX_ID).contains(&id) {
                return Err((
                    family_id.span(),
                    format!(
                    "simulator.family_id: {id:#x} is outside the dynamic range {GENL_START_ALLOC:#x}..={GENL_MAX_ID:#x}"
                ),
                ));
            }
        }
        if let Some(port) = self.simulator.port.as_ref().filter(|p| *p.get_ref() == PortChoice::Fixed(0)) {
            return Err((
                port.span(),
                "simulator.port: 0 is the kernel's port (\"auto\" lets the kernel pick a free one)".to_string(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        let mut handles = std::collections::HashSet::new();
        for dev in &self.devices {
            dev.validate()?;
            dev.check_clock(self.simulator.clock).map_err(|why| (dev.name.span(), why))?;
            let name = dev.name.get_ref();
            if !names.insert(name.clone()) {
                return Err((dev.name.span(), format!("device.name `{name}`: duplicate device name")));
            }
            let handle = dev.devlink_handle();
            if !handles.insert(handle.clone()) {
                let span = dev.devlink.as_ref().map_or(dev.name.span(), |h| h.span());
                return Err((span, format!("device.devlink `{}/{}`: another device has it", handle.0, handle.1)));
            }
            if let Some(id) = &dev.id {
                if !ids.insert(*id.get_ref()) {
                    return Err((id.span(), format!("device.id: duplicate device id {}", id.get_ref())));
                }
            }
        }
        Ok(())
    }

    /// Devices with their ids: configured ids as given, the rest numbered
    /// from 1 skipping taken ones.
    pub fn into_devices(self) -> ResolvedDevices {
        let taken: std::collections::HashSet<u32> =
            self.devices.iter().filter_map(|d| d.id.as_ref().map(|i| *i.get_ref())).collect();
        let mut next = 1;
        self.devices
            .into_iter()
            .map(|dev| {
                let id = match &dev.id {
                    Some(id) => *id.get_ref(),
                    None => {
                        while taken.contains(&next) {
                            next += 1;
                        }
                        next += 1;
                        next - 1
                    }
                };
                (id, dev)
            })
            .collect()
    }
}

fn valid_name(name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

impl FaultConfig {
    /// The errno, parsed (`None`: latency only).
    pub fn errno_value(&self) -> Option<i32> {
        self.errno.as_ref().and_then(|e| e.get_ref().value())
    }

    /// The fault as the model and `fault-get` know it.
    pub fn to_info(&self) -> FaultInfo {
        FaultInfo {
            command: self.command.get_ref().clone(),
            errno: self.errno_value().unwrap_or(0) as u32,
            count: self.count.as_ref().map(|n| *n.get_ref()),
            probability: self.probability.as_ref().map(|p| (p.get_ref() * f64::from(PROBABILITY_ONE)).round() as u32),
            delay_ms: *self.delay_ms.get_ref(),
            fail_at: self.fail_at.as_ref().map(|f| *f.get_ref()),
            interval_ms: self.interval_ms.as_ref().map(|v| *v.get_ref()),
            down_ms: self.down_ms.as_ref().map(|v| *v.get_ref()),
            port_index: self.port.as_ref().map(|v| *v.get_ref()),
            fired: 0,
            knob: None,
            reporter: self.reporter.as_ref().map(|r| r.get_ref().clone()),
        }
    }

    fn validate(&self, ports: u32, backend: BackendKind, reporters: &[&str]) -> Result<(), (Range<usize>, String)> {
        self.validate_values("device.fault")?;
        crate::driver::model::faults::check_fault(&self.to_info(), ports, backend, reporters)
            .map_err(|why| (self.command.span(), format!("device.fault `{}`: {}", self.command.get_ref(), why.message)))
    }

    /// The values TOML can get wrong whatever the fault is on (`key`
    /// names the table in messages).
    pub fn validate_values(&self, key: &str) -> Result<(), (Range<usize>, String)> {
        if let Some(errno) = &self.errno {
            if self.errno_value().is_none() {
                return Err((
                    errno.span(),
                    format!("{key}.errno `{}`: not an errno name (EIO) or number (1..=4095)", errno.get_ref()),
                ));
            }
        }
        if let Some(p) = &self.probability {
            if !(*p.get_ref() > 0.0 && *p.get_ref() <= 1.0) {
                return Err((p.span(), format!("{key}.probability: {} is outside (0, 1]", p.get_ref())));
            }
        }
        Ok(())
    }
}

/// Most devices a configuration may have in all (`count`s added up).
pub const COUNT_MAX: u32 = 1_000_000;
/// The bus name of the simulated devices' devlink instances, unless a
/// device's `devlink` says otherwise.
pub const DEVLINK_BUS: &str = "simdev";
/// Longest bus or device name of a devlink handle (iproute2 takes any;
/// this keeps messages small).
const DEVLINK_NAME_MAX: usize = 63;
/// Longest serial number (with a count's index appended).
const SERIAL_MAX: usize = 64;

/// Replaces each device with `count` > 1 by its copies `NAME0`, `NAME1`, ...
/// (ids counting up from the configured one), checking the total first.
fn expand_counts(devices: Vec<DeviceConfig>, max: u32) -> Result<Vec<DeviceConfig>, (Range<usize>, String)> {
    let mut total: u32 = 0;
    for device in &devices {
        let count = *device.count.get_ref();
        if !(1..=max).contains(&count) {
            return Err((device.count.span(), format!("device.count: {count} is outside 1..={max}")));
        }
        total = total.saturating_add(count);
        if total > max {
            return Err((
                device.count.span(),
                format!("device.count: {total} devices in all; a configuration may have at most {max}"),
            ));
        }
        if let (Some(handle), true) = (&device.devlink, count > 1) {
            return Err((handle.span(), "device.devlink: a handle names one device, not a count of them".to_string()));
        }
        if let Some(id) = &device.id {
            if id.get_ref().checked_add(count - 1).is_none() {
                return Err((
                    id.span(),
                    format!("device.id: {} with count {count} runs past the largest id, {}", id.get_ref(), u32::MAX),
                ));
            }
        }
    }
    let mut expanded = Vec::with_capacity(total as usize);
    for device in devices {
        let count = *device.count.get_ref();
        if count == 1 {
            expanded.push(device);
            continue;
        }
        for i in 0..count {
            let mut copy = device.clone();
            copy.name = Spanned::new(device.name.span(), format!("{}{i}", device.name.get_ref()));
            copy.id = device.id.as_ref().map(|id| Spanned::new(id.span(), id.get_ref() + i));
            copy.serial = device.serial.as_ref().map(|s| Spanned::new(s.span(), format!("{}{i}", s.get_ref())));
            copy.count = Spanned::new(device.count.span(), 1);
            expanded.push(copy);
        }
    }
    Ok(expanded)
}

/// 1-based line and column of a byte offset.
/// A TOML error's message, naming the key it is about as the file's own
/// checks do (`device.ports: invalid type: ...`) when the error points at
/// a `key = value` line: the key, under the table header above it (or
/// `root` for a bare table).
fn toml_message(text: &str, root: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end().to_string();
    let Some(offset) = error.span().map(|span| span.start.min(text.len())) else { return message };
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let Some((key, _)) = text[line_start..offset].split_once('=') else { return message };
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return message;
    }
    let table = text[..line_start]
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix('[').map(|header| header.trim_matches(|c| c == '[' || c == ']')))
        .unwrap_or(root);
    match table {
        "" => format!("{key}: {message}"),
        table => format!("{}.{key}: {message}", table.trim()),
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Config::parse(text, "lab.toml").unwrap_err().to_string()
    }

    #[test]
    fn embedded_default_is_valid_and_has_two_devices() {
        let config = Config::embedded_default();
        assert!(config.devices.len() >= 2);
        assert_eq!(config.simulator.netns, Netns::Private);
    }

    #[test]
    fn devlink_handles_are_bus_slash_dev_and_unique() {
        let ok = Config::parse("[[device]]\nname = \"a\"\ndevlink = \"pci/0000:03:00.0\"\n", "lab.toml").unwrap();
        assert_eq!(ok.devices[0].devlink_handle(), ("pci".to_string(), "0000:03:00.0".to_string()));
        let plain = Config::parse("[[device]]\nname = \"a\"\n", "lab.toml").unwrap();
        assert_eq!(plain.devices[0].devlink_handle(), ("simdev".to_string(), "a".to_string()));
        for bad in ["pci", "pci/", "/x", "pci/a/b", "pci/a b"] {
            let msg = error(&format!("[[device]]\nname = \"a\"\ndevlink = \"{bad}\"\n"));
            assert!(msg.starts_with(&format!("lab.toml:3:11: device.devlink `{bad}`: BUS/DEV")), "{msg}");
        }
        // An explicit handle may not take another device's default one.
        let msg = error("[[device]]\nname = \"a\"\n[[device]]\nname = \"b\"\ndevlink = \"simdev/a\"\n");
        assert!(msg.starts_with("lab.toml:5:11: device.devlink `simdev/a`: another device has it"), "{msg}");
        let msg = error("[[device]]\nname = \"a\"\ncount = 2\ndevlink = \"pci/x\"\n");
        assert!(msg.contains("device.devlink: a handle names one device"), "{msg}");
    }

    #[test]
    fn serial_numbers_are_printable_and_counted_copies_get_their_index() {
        let ok = Config::parse("[[device]]\nname = \"a\"\ncount = 2\nserial = \"SN-\"\n", "lab.toml").unwrap();
        let serials: Vec<_> = ok.devices.iter().map(|d| d.serial.as_ref().unwrap().get_ref().as_str()).collect();
        assert_eq!(serials, ["SN-0", "SN-1"]);
        for bad in ["", "a b", "\\u0007"] {
            let msg = error(&format!("[[device]]\nname = \"a\"\nserial = \"{bad}\"\n"));
            assert!(msg.starts_with("lab.toml:3:10: device.serial `"), "{msg}");
            assert!(msg.contains("1 to 64 printable characters, no spaces"), "{msg}");
        }
    }

    #[test]
    fn firmware_activation_by_reset_is_for_simulated_firmware() {
        let ok = Config::parse("[[device]]\nname = \"a\"\n[device.firmware]\nactivation = \"reset\"\n", "lab.toml");
        assert_eq!(*ok.unwrap().devices[0].firmware.activation.get_ref(), Activation::Reset);
        let msg =
            error("[[device]]\nname = \"a\"\nbackend = \"netdevsim\"\n[device.firmware]\nactivation = \"reset\"\n");
        assert!(
            msg.starts_with("lab.toml:5:14: device.firmware.activation: netdevsim's firmware is the kernel's"),
            "{msg}"
        );
        let msg = error("[[device]]\nname = \"a\"\n[device.firmware]\nactivation = \"later\"\n");
        assert!(msg.contains("unknown variant `later`"), "{msg}");
    }

    #[test]
    fn health_reporters_are_checked_where_they_are_written() {
        let reporter = |body: &str| format!("[[device]]\nname = \"a\"\n[[device.health_reporter]]\n{body}\n");
        let ok = Config::parse(&reporter("name = \"tx\"\nrecover = true\ndiagnose = { q = 1 }"), "lab.toml").unwrap();
        let tx = ok.devices[0].health_reporters[0].reporter(1).unwrap();
        assert!(tx.can_recover() && tx.auto_recover && !tx.auto_dump, "the core's defaults");
        let cases = [
            ("name = \"a b\"", "lab.toml:4:8: device.health_reporter `a b`: 1 to 31 letters"),
            (
                "name = \"x\"\nlike = \"busy\"",
                "lab.toml:5:8: device.health_reporter `x`: like `busy`: netdevsim's are dummy and empty",
            ),
            (
                "name = \"x\"\nlike = \"dummy\"\nrecover = false",
                "lab.toml:6:11: device.health_reporter `x`: recover, diagnose and dump are netdevsim's",
            ),
            (
                "name = \"x\"\nauto_recover = true",
                "lab.toml:5:16: device.health_reporter `x`: auto_recover needs a reporter that recovers",
            ),
            (
                "name = \"x\"\ngraceful_period = 5",
                "lab.toml:5:19: device.health_reporter `x`: graceful_period needs a reporter that recovers",
            ),
            (
                "name = \"x\"\nauto_dump = true",
                "lab.toml:5:13: device.health_reporter `x`: auto_dump needs a reporter that dumps",
            ),
            (
                "name = \"x\"\ndump = { t = -1 }",
                "lab.toml:5:8: device.health_reporter `x`: `t`: -1: fmsg numbers are unsigned",
            ),
            (
                "name = \"x\"\ndump = { t = 1.5 }",
                "lab.toml:5:8: device.health_reporter `x`: `t`: a float has no fmsg form",
            ),
            (
                "name = \"x\"\ndiagnose = { t = [[1]] }",
                "lab.toml:5:12: device.health_reporter `x`: `t`: an array in an array",
            ),
        ];
        for (body, wanted) in cases {
            let msg = error(&reporter(body));
            assert!(msg.starts_with(wanted), "{body}: {msg}");
        }
        // A fault's reporter is one of the device's: declared, or netdevsim's.
        let fault = |reporters: &str, name: &str| {
            format!("[[device]]\nname = \"a\"\n{reporters}[[device.fault]]\ncommand = \"dev-set\"\nerrno = \"EIO\"\nreporter = \"{name}\"\n")
        };
        assert!(Config::parse(&fault("", "dummy"), "lab.toml").is_ok());
        let msg = error(&fault("[[device.health_reporter]]\nname = \"tx\"\n", "dummy"));
        assert!(msg.contains("device.fault `dev-set`: the device has no health reporter `dummy` (tx)"), "{msg}");
        let twice = format!("{}[[device.health_reporter]]\nname = \"x\"\n", reporter("name = \"x\""));
        assert!(error(&twice).contains("device.health_reporter `x`: duplicate name"), "{}", error(&twice));
    }

    #[test]
    fn devlink_params_are_checked_where_they_are_written() {
        let param = |body: &str| format!("[[device]]\nname = \"a\"\n[[device.param]]\n{body}\n");
        let ok =
            Config::parse(&param("name = \"fast\"\ntype = \"u16\"\ncmodes = [\"runtime\"]\nvalue = 7"), "lab.toml");
        assert_eq!(ok.unwrap().devices[0].params[0].name.get_ref(), "fast");
        let msg = error(&param("name = \"x\"\ntype = \"u64\"\ncmodes = [\"runtime\"]\nvalue = 1"));
        assert!(msg.starts_with("lab.toml:5:8: device.param `x`: type is one of u8, u16, u32, string, bool"), "{msg}");
        let msg = error(&param("name = \"x\"\ntype = \"u8\"\ncmodes = [\"runtime\"]\nvalue = 256"));
        assert!(msg.starts_with("lab.toml:7:9: device.param `x`:"), "{msg}");
        let msg = error(&param("name = \"x\"\ntype = \"bool\"\ncmodes = [\"sometimes\"]\nvalue = true"));
        assert!(msg.contains("device.param `x`: no cmode sometimes (runtime, driverinit, permanent)"), "{msg}");
        let msg = error(&param("name = \"max_macs\"\ntype = \"u8\"\ncmodes = [\"driverinit\"]\nvalue = 1"));
        assert!(msg.contains("device.param `max_macs`: max_macs is a generic devlink parameter of type u32"), "{msg}");
        let twice = format!(
            "{}[[device.param]]\nname = \"x\"\ntype = \"bool\"\ncmodes = [\"runtime\"]\nvalue = false\n",
            param("name = \"x\"\ntype = \"bool\"\ncmodes = [\"runtime\"]\nvalue = true")
        );
        assert!(error(&twice).contains("device.param `x`: duplicate name"), "{}", error(&twice));
    }

    #[test]
    fn unknown_key_is_located() {
        let msg = error("[[device]]\nname = \"a\"\nportz = 2\n");
        assert!(msg.starts_with("lab.toml:3:1: unknown field `portz`"), "{msg}");
    }

    #[test]
    fn wrong_type_is_located_and_names_its_key() {
        let msg = error("[[device]]\nname = \"a\"\nports = \"two\"\n");
        assert!(msg.starts_with("lab.toml:3:9: device.ports: invalid type: string \"two\""), "{msg}");
        let msg = error("[simulator]\nseed = \"x\"\n");
        assert!(msg.starts_with("lab.toml:2:8: simulator.seed: invalid type"), "{msg}");
        let msg = error("[[device]]\nname = \"a\"\n[[device.register]]\nname = \"r\"\nwidth = \"8\"\n");
        assert!(msg.contains(": device.register.width: invalid type"), "{msg}");
        let msg = DeviceConfig::parse("name = \"a\"\nports = true\n", "dev-new config").unwrap_err().to_string();
        assert!(msg.starts_with("dev-new config:2:9: device.ports: invalid type"), "{msg}");
    }

    #[test]
    fn names_too_long_for_ifnamsiz_are_refused() {
        let msg = error("[[device]]\nname = \"abcdefghij\"\n");
        assert!(msg.starts_with("lab.toml:2:8: device.name `abcdefghij`: too long"), "{msg}");
        assert!(msg.contains("abcdefghijp0-peer"), "{msg}");
    }

    #[test]
    fn duplicates_and_bad_values_are_refused() {
        let msg = error("[[device]]\nname = \"a\"\n[[device]]\nname = \"a\"\n");
        assert!(msg.starts_with("lab.toml:4:8: device.name `a`: duplicate"), "{msg}");
        let msg = error("[[device]]\nname = \"a\"\nmac = \"01:00:00:00:00:01\"\n");
        assert!(msg.contains("multicast"), "{msg}");
        let msg = error("[[device]]\nname = \"a\"\nmtu = 10\n");
        assert!(msg.starts_with("lab.toml:3:7: device.mtu: 10"), "{msg}");
        let msg = error("[simulator]\nnetns = \"elsewhere\"\n");
        assert!(msg.starts_with("lab.toml:2:9:"), "{msg}");
    }

    #[test]
    fn queues_need_netdevs_and_a_sane_count() {
        let msg = error("[[device]]\nname = \"a\"\nbackend = \"model\"\nqueues = 2\n");
        assert!(msg.starts_with("lab.toml:4:10: device.queues: model ports have no queues"), "{msg}");
        let msg = error("[[device]]\nname = \"a\"\nqueues = 0\n");
        assert!(msg.starts_with("lab.toml:3:10: device.queues: 0 is outside 1..=64"), "{msg}");
    }

    #[test]
    fn family_id_accepts_words_and_numbers() {
        for (text, want) in [
            ("\"auto\"", FamilyIdChoice::Auto),
            ("\"random\"", FamilyIdChoice::Random),
            ("0x20", FamilyIdChoice::Fixed(0x20)),
        ] {
            let config = Config::parse(&format!("[simulator]\nfamily_id = {text}\n"), "f").unwrap();
            assert_eq!(*config.simulator.family_id.get_ref(), want);
        }
        assert!(error("[simulator]\nfamily_id = \"often\"\n").starts_with("lab.toml:2:13:"));
    }

    #[test]
    fn ids_are_assigned_around_configured_ones() {
        let config = Config::parse(
            "[[device]]\nname = \"a\"\n[[device]]\nname = \"b\"\nid = 1\n[[device]]\nname = \"c\"\n",
            "f",
        )
        .unwrap();
        let ids: Vec<u32> = config.into_devices().iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![2, 1, 3]);
    }

    #[test]
    fn every_ports_mac_must_be_unicast() {
        let msg = error("[[device]]\nname = \"a\"\nports = 2\nmac = \"02:ff:ff:ff:ff:ff\"\n");
        assert!(
            msg.starts_with("lab.toml:4:7: device.mac `02:ff:ff:ff:ff:ff`: port 1 would get 03:00:00:00:00:00"),
            "{msg}"
        );
        assert!(Config::parse("[[device]]\nname = \"a\"\nports = 2\nmac = \"02:ff:ff:ff:ff:fe\"\n", "f").is_ok());
    }

    #[test]
    fn counts_are_limited_in_all_and_ids_do_not_wrap() {
        let eight: String =
            (0..8).map(|i| format!("[[device]]\nname = \"m{i}\"\nbackend = \"model\"\ncount = 1000000\n")).collect();
        let msg = error(&eight);
        assert!(msg.starts_with("lab.toml:8:9: device.count: 2000000 devices in all"), "{msg}");
        let msg = error("[[device]]\nname = \"w\"\nbackend = \"model\"\nid = 4294967295\ncount = 2\n");
        assert!(msg.starts_with("lab.toml:4:6: device.id: 4294967295 with count 2 runs past"), "{msg}");
    }

    #[test]
    fn simulator_values_are_located() {
        let msg = error("[simulator]\nfamily_id = 5\n");
        assert!(msg.starts_with("lab.toml:2:13: simulator.family_id: 0x5 is outside"), "{msg}");
        let msg = error("[simulator]\nport = 0\n");
        assert!(msg.starts_with("lab.toml:2:8: simulator.port: 0"), "{msg}");
        let msg = error("[simulator]\nport = \"any\"\n");
        assert!(msg.starts_with("lab.toml:2:8: "), "{msg}");
        let auto = Config::parse("[simulator]\nport = \"auto\"\n", "lab.toml").unwrap();
        assert_eq!(auto.simulator.port.map(|p| *p.get_ref()), Some(PortChoice::Auto));
        assert_eq!(PortChoice::parse("0x10"), Ok(PortChoice::Fixed(16)));
        assert!(PortChoice::parse("0").unwrap_err().contains("`auto` lets the kernel pick"));
    }

    #[test]
    fn an_errno_is_a_name_or_a_number() {
        let fault = |errno: &str| {
            format!("[[device]]\nname = \"a\"\n[[device.fault]]\ncommand = \"dev-set\"\nerrno = {errno}\n")
        };
        for (errno, want) in [("5", 5), ("\"EIO\"", 5), ("\"ebusy\"", 16)] {
            let config = Config::parse(&fault(errno), "f").unwrap_or_else(|e| panic!("{errno}: {e}"));
            assert_eq!(config.devices[0].faults[0].to_info().errno, want, "{errno}");
        }
        let msg = error(&fault("5000"));
        assert!(msg.starts_with("lab.toml:5:9: device.fault.errno `5000`: not an errno"), "{msg}");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_located() {
        let path = std::env::temp_dir().join(format!("simdev-utf8-{}.toml", std::process::id()));
        std::fs::write(&path, b"[[device]]\nname = \"a\xff\"\n").unwrap();
        let msg = Config::load(&path).unwrap_err().to_string();
        let _ = std::fs::remove_file(&path);
        assert!(msg.ends_with(":2:10: not UTF-8 text (byte 0xff); TOML is UTF-8"), "{msg}");
    }
}
