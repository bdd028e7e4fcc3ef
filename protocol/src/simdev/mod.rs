//! The `simdev` family, version 1: commands, attribute sets, multicast
//! groups (this file), and the typed messages both sides exchange
//! ([`dev`]: devices and ports; [`hw`]: registers, sensors, firmware,
//! faults, statistics).
//!
//! ```text
//! dev-get     do dev -> dev              dump -> dev...
//! dev-set     do, admin: dev [mtu] [mac] [up]
//! dev-new     do, admin: config (a TOML [[device]] table) -> dev
//! dev-del     do, admin: dev
//! dev-reset   do, admin: dev
//! port-get    do dev port-index -> dev+port   dump [dev] -> dev+port...
//! port-set    do, admin: dev port-index [carrier] [mtu] [mac] [up] [rx-ring] [tx-ring]
//! reg-get     do dev reg-name -> dev+reg      dump [dev] -> dev+reg...
//! reg-set     do, admin: dev reg-name reg-value
//! sensor-get  do dev sensor-name              dump [dev]
//! sensor-set  do, admin: dev sensor-name sensor-value
//! fw-get      do dev -> dev+fw                dump [dev]
//! fw-flash    do, admin: dev fw-version | fw-file (netdevsim) (returns at once; progress on `fw`)
//! stats-get   do dev -> dev+stats+port(counters)  dump [dev]
//! fault-get   do dev -> dev+fault...           dump [dev]
//! fault-set   do, admin: dev fault-cmd fault-errno [count|probability] [delay] ...
//! fault-clear do, admin: dev [fault-cmd]
//! ```
//! "dev" above means `dev-id` or `dev-name`. Any request may carry `batch`
//! (a client-chosen id): once a request of that batch from that socket has
//! failed, later requests of the batch are not run but answered `ECANCELED`,
//! so a pipelining client gets stop-at-first-failure without waiting. Replies use the request's
//! command number; notifications use the `*-ntf` numbers (64 and up) and
//! carry the same attributes as the matching get reply, with seq 0.

pub mod dev;
pub mod hw;

pub use dev::*;
pub use hw::*;

use crate::family::{CommandSpec, FamilySpec};
use crate::policy::{AttrSet, AttrSpec, AttrType, Check};

pub const FAMILY_NAME: &str = "simdev";
pub const FAMILY_VERSION: u8 = 1;

pub mod cmd {
    pub const DEV_GET: u8 = 1;
    pub const DEV_SET: u8 = 2;
    pub const DEV_NEW: u8 = 3;
    pub const DEV_DEL: u8 = 4;
    pub const DEV_RESET: u8 = 5;
    pub const PORT_GET: u8 = 6;
    pub const PORT_SET: u8 = 7;
    pub const REG_GET: u8 = 8;
    pub const REG_SET: u8 = 9;
    pub const SENSOR_GET: u8 = 10;
    pub const SENSOR_SET: u8 = 11;
    pub const FW_GET: u8 = 12;
    pub const FW_FLASH: u8 = 13;
    pub const STATS_GET: u8 = 14;
    pub const FAULT_GET: u8 = 15;
    pub const FAULT_SET: u8 = 16;
    pub const FAULT_CLEAR: u8 = 17;

    // Notifications only (never requests).
    /// A device changed (set, reset, carrier, port change): the whole device.
    pub const DEV_CHANGE_NTF: u8 = 64;
    pub const DEV_ADD_NTF: u8 = 65;
    pub const DEV_DEL_NTF: u8 = 66;
    /// A register was written or reset: dev + reg.
    pub const REG_CHANGE_NTF: u8 = 67;
    /// A sensor value changed: dev + sensor (with its alarm state).
    pub const SENSOR_CHANGE_NTF: u8 = 68;
    /// A sensor crossed an alarm threshold (either way): dev + sensor.
    pub const SENSOR_ALARM_NTF: u8 = 69;
    /// Flash progress and result: dev + fw-status.
    pub const FW_FLASH_STATUS_NTF: u8 = 70;
    /// An injected fault fired: dev + fault.
    pub const FAULT_FIRED_NTF: u8 = 71;
    /// Faults were set or cleared: dev + fault...
    pub const FAULT_CHANGE_NTF: u8 = 72;
}

/// Multicast group for configuration changes (devices, ports, registers, faults).
pub const GROUP_CONFIG: &str = "config";
/// Multicast group for events (sensor changes and alarms, faults firing, link flaps).
pub const GROUP_EVENTS: &str = "events";
/// Multicast group for firmware flash progress.
pub const GROUP_FW: &str = "fw";

pub mod dev_attr {
    pub const ID: u16 = 1;
    pub const NAME: u16 = 2;
    pub const BACKEND: u16 = 3;
    pub const PORT: u16 = 4;
    pub const MTU: u16 = 5;
    pub const MAC: u16 = 6;
    pub const UP: u16 = 7;
    pub const PORT_INDEX: u16 = 8;
    pub const CARRIER: u16 = 9;
    pub const REG: u16 = 10;
    pub const REG_NAME: u16 = 11;
    pub const REG_VALUE: u16 = 12;
    pub const SENSOR: u16 = 13;
    pub const SENSOR_NAME: u16 = 14;
    pub const SENSOR_VALUE: u16 = 15;
    pub const FW: u16 = 16;
    pub const FW_VERSION: u16 = 17;
    pub const FW_STATUS: u16 = 18;
    pub const FAULT: u16 = 19;
    pub const FAULT_CMD: u16 = 20;
    pub const FAULT_ERRNO: u16 = 21;
    pub const FAULT_COUNT: u16 = 22;
    pub const FAULT_PROBABILITY: u16 = 23;
    pub const FAULT_DELAY_MS: u16 = 24;
    pub const STATS: u16 = 25;
    pub const CONFIG: u16 = 26;
    pub const FAULT_FAIL_AT: u16 = 27;
    pub const FAULT_INTERVAL_MS: u16 = 28;
    pub const FAULT_DOWN_MS: u16 = 29;
    pub const BATCH: u16 = 30;
    pub const NETNS: u16 = 31;
    pub const DEVLINK: u16 = 32;
    pub const FW_FILE: u16 = 33;
    pub const RX_RING: u16 = 34;
    pub const TX_RING: u16 = 35;
    pub const SERVER: u16 = 36;
}

pub mod port_attr {
    pub const INDEX: u16 = 1;
    pub const IFINDEX: u16 = 2;
    pub const IFNAME: u16 = 3;
    pub const PEER_IFNAME: u16 = 4;
    pub const MAC: u16 = 5;
    pub const MTU: u16 = 6;
    pub const UP: u16 = 7;
    pub const OPER_STATE: u16 = 8;
    pub const CARRIER: u16 = 9;
    pub const RX_PACKETS: u16 = 10;
    pub const TX_PACKETS: u16 = 11;
    pub const RX_BYTES: u16 = 12;
    pub const TX_BYTES: u16 = 13;
    pub const RX_ERRORS: u16 = 14;
    pub const TX_ERRORS: u16 = 15;
    pub const RX_DROPPED: u16 = 16;
    pub const TX_DROPPED: u16 = 17;
    pub const RX_RING: u16 = 18;
    pub const RX_RING_MAX: u16 = 19;
    pub const TX_RING: u16 = 20;
    pub const TX_RING_MAX: u16 = 21;
    pub const MISSING: u16 = 22;
}

pub mod reg_attr {
    pub const NAME: u16 = 1;
    pub const OFFSET: u16 = 2;
    pub const WIDTH: u16 = 3;
    pub const ACCESS: u16 = 4;
    pub const RESET: u16 = 5;
    pub const VALUE: u16 = 6;
}

pub mod sensor_attr {
    pub const NAME: u16 = 1;
    pub const KIND: u16 = 2;
    pub const UNIT: u16 = 3;
    pub const VALUE: u16 = 4;
    pub const MIN: u16 = 5;
    pub const MAX: u16 = 6;
    pub const ALARM_LOW: u16 = 7;
    pub const ALARM_HIGH: u16 = 8;
    pub const ALARM: u16 = 9;
}

pub mod fw_attr {
    pub const VERSION: u16 = 1;
    pub const FLASH_DURATION_MS: u16 = 2;
    pub const FLASHING: u16 = 3;
    pub const PENDING_VERSION: u16 = 4;
}

pub mod fw_status_attr {
    pub const MESSAGE: u16 = 1;
    pub const DONE: u16 = 2;
    pub const TOTAL: u16 = 3;
    /// 0 while running or on success; the errno of a failed flash.
    pub const ERROR: u16 = 4;
    /// 1 on the last status of a flash.
    pub const FINISHED: u16 = 5;
    pub const VERSION: u16 = 6;
}

pub mod fault_attr {
    pub const CMD: u16 = 1;
    pub const ERRNO: u16 = 2;
    pub const COUNT: u16 = 3;
    pub const PROBABILITY: u16 = 4;
    pub const DELAY_MS: u16 = 5;
    pub const FIRED: u16 = 6;
    pub const FAIL_AT: u16 = 7;
    pub const INTERVAL_MS: u16 = 8;
    pub const DOWN_MS: u16 = 9;
    pub const PORT_INDEX: u16 = 10;
    pub const KNOB: u16 = 11;
}

pub mod stats_attr {
    pub const COMMANDS: u16 = 1;
    pub const ERRORS: u16 = 2;
    pub const FAULTS_FIRED: u16 = 3;
    pub const NOTIFICATIONS: u16 = 4;
}

pub mod server_attr {
    pub const ANSWERS_DROPPED: u16 = 1;
    pub const ANSWERS_QUEUED: u16 = 2;
    pub const CLIENTS_WAITING: u16 = 3;
}

/// Longest device name: it must fit `IFNAMSIZ` - 1 like a netdev name.
pub const DEV_NAME_MAX: usize = 15;
/// Longest register, sensor or fault command name.
pub const OBJECT_NAME_MAX: usize = 31;
/// Longest firmware version string.
pub const FW_VERSION_MAX: usize = 63;
/// Longest firmware file name (the kernel's `PATH_MAX` is far more; devlink
/// takes any, but names past this are not firmware names).
pub const FW_FILE_MAX: usize = 255;
/// The MTU range simdev accepts; the kernel may refuse more (veth: 68..65535).
pub const MTU_MIN: u32 = 68;
pub const MTU_MAX: u32 = 65535;
/// Probabilities are given in parts per million.
pub const PROBABILITY_ONE: u32 = 1_000_000;
/// Longest injected latency, in milliseconds.
pub const DELAY_MAX_MS: u32 = 60_000;
/// The pseudo-command naming a periodic link-flap fault.
pub const LINK_FLAP: &str = "link-flap";

const fn attr(id: u16, name: &'static str, ty: AttrType, check: Check, doc: &'static str) -> AttrSpec {
    AttrSpec { id, name, ty, check, doc }
}

const NAME_CHECK: Check = Check::MaxLen(OBJECT_NAME_MAX as u16);
const BOOL: Check = Check::Range { min: 0, max: 1 };

pub static PORT_ATTRS: AttrSet = AttrSet {
    name: "port",
    attrs: &[
        attr(port_attr::INDEX, "index", AttrType::U32, Check::None, "port number within the device, from 0"),
        attr(port_attr::IFINDEX, "ifindex", AttrType::U32, Check::None, "the port's netdev ifindex"),
        attr(port_attr::IFNAME, "ifname", AttrType::String, Check::MaxLen(15), "the port's netdev name"),
        attr(port_attr::PEER_IFNAME, "peer-ifname", AttrType::String, Check::MaxLen(15), "the cable end (veth peer)"),
        attr(port_attr::MAC, "mac", AttrType::Binary, Check::ExactLen(6), "hardware address"),
        attr(port_attr::MTU, "mtu", AttrType::U32, Check::None, "MTU"),
        attr(port_attr::UP, "up", AttrType::U8, BOOL, "administratively up (IFF_UP)"),
        attr(port_attr::OPER_STATE, "oper-state", AttrType::U8, Check::None, "RFC 2863 operational state (IF_OPER_*)"),
        attr(
            port_attr::CARRIER,
            "carrier",
            AttrType::U8,
            BOOL,
            "cable plugged in: the kernel sees LOWER_UP when the port is up",
        ),
        attr(port_attr::RX_PACKETS, "rx-packets", AttrType::U64, Check::None, "kernel counter"),
        attr(port_attr::TX_PACKETS, "tx-packets", AttrType::U64, Check::None, "kernel counter"),
        attr(port_attr::RX_BYTES, "rx-bytes", AttrType::U64, Check::None, "kernel counter"),
        attr(port_attr::TX_BYTES, "tx-bytes", AttrType::U64, Check::None, "kernel counter"),
        attr(port_attr::RX_ERRORS, "rx-errors", AttrType::U64, Check::None, "kernel counter"),
        attr(port_attr::TX_ERRORS, "tx-errors", AttrType::U64, Check::None, "kernel counter"),
        attr(port_attr::RX_DROPPED, "rx-dropped", AttrType::U64, Check::None, "kernel counter"),
        attr(port_attr::TX_DROPPED, "tx-dropped", AttrType::U64, Check::None, "kernel counter"),
        attr(
            port_attr::RX_RING,
            "rx-ring",
            AttrType::U32,
            Check::None,
            "RX ring size (ethtool), when the driver has rings",
        ),
        attr(port_attr::RX_RING_MAX, "rx-ring-max", AttrType::U32, Check::None, "largest RX ring size"),
        attr(port_attr::TX_RING, "tx-ring", AttrType::U32, Check::None, "TX ring size (ethtool)"),
        attr(port_attr::TX_RING_MAX, "tx-ring-max", AttrType::U32, Check::None, "largest TX ring size"),
        attr(
            port_attr::MISSING,
            "missing",
            AttrType::U8,
            BOOL,
            "1: the port's netdev was deleted outside simdev (oper-state NOTPRESENT; dev-reset recreates it)",
        ),
    ],
};

pub static REG_ATTRS: AttrSet = AttrSet {
    name: "reg",
    attrs: &[
        attr(reg_attr::NAME, "name", AttrType::String, NAME_CHECK, "register name"),
        attr(reg_attr::OFFSET, "offset", AttrType::U32, Check::None, "byte offset in the register file"),
        attr(reg_attr::WIDTH, "width", AttrType::U8, Check::None, "bits: 8, 16, 32 or 64"),
        attr(reg_attr::ACCESS, "access", AttrType::String, Check::MaxLen(3), "ro, rw, wo or w1c"),
        attr(reg_attr::RESET, "reset", AttrType::U64, Check::None, "value after reset"),
        attr(reg_attr::VALUE, "value", AttrType::U64, Check::None, "current value (absent for write-only registers)"),
    ],
};

pub static SENSOR_ATTRS: AttrSet = AttrSet {
    name: "sensor",
    attrs: &[
        attr(sensor_attr::NAME, "name", AttrType::String, NAME_CHECK, "sensor name"),
        attr(sensor_attr::KIND, "kind", AttrType::String, NAME_CHECK, "temperature, voltage, current, power, fan, ..."),
        attr(sensor_attr::UNIT, "unit", AttrType::String, NAME_CHECK, "unit of value, min, max and thresholds"),
        attr(sensor_attr::VALUE, "value", AttrType::S64, Check::None, "current reading"),
        attr(sensor_attr::MIN, "min", AttrType::S64, Check::None, "lowest valid reading"),
        attr(sensor_attr::MAX, "max", AttrType::S64, Check::None, "highest valid reading"),
        attr(sensor_attr::ALARM_LOW, "alarm-low", AttrType::S64, Check::None, "alarm when the reading is below"),
        attr(sensor_attr::ALARM_HIGH, "alarm-high", AttrType::S64, Check::None, "alarm when the reading is above"),
        attr(sensor_attr::ALARM, "alarm", AttrType::U8, BOOL, "the reading is beyond a threshold"),
    ],
};

pub static FW_ATTRS: AttrSet = AttrSet {
    name: "fw",
    attrs: &[
        attr(fw_attr::VERSION, "version", AttrType::String, Check::MaxLen(FW_VERSION_MAX as u16), "running version"),
        attr(fw_attr::FLASH_DURATION_MS, "flash-duration-ms", AttrType::U32, Check::None, "how long a flash takes"),
        attr(fw_attr::FLASHING, "flashing", AttrType::U8, BOOL, "a flash is in progress"),
        attr(
            fw_attr::PENDING_VERSION,
            "pending-version",
            AttrType::String,
            Check::MaxLen(FW_VERSION_MAX as u16),
            "version being flashed",
        ),
    ],
};

pub static FW_STATUS_ATTRS: AttrSet = AttrSet {
    name: "fw-status",
    attrs: &[
        attr(fw_status_attr::MESSAGE, "message", AttrType::String, Check::None, "what the flash is doing"),
        attr(fw_status_attr::DONE, "done", AttrType::U64, Check::None, "units done"),
        attr(fw_status_attr::TOTAL, "total", AttrType::U64, Check::None, "units in all (0: no progress measure)"),
        attr(fw_status_attr::ERROR, "error", AttrType::U32, Check::None, "errno of a failed flash, else 0"),
        attr(fw_status_attr::FINISHED, "finished", AttrType::U8, BOOL, "the last status of this flash"),
        attr(fw_status_attr::VERSION, "version", AttrType::String, Check::None, "the version being flashed"),
    ],
};

pub static FAULT_ATTRS: AttrSet = AttrSet {
    name: "fault",
    attrs: &[
        attr(fault_attr::CMD, "cmd", AttrType::String, NAME_CHECK, "command it affects, or link-flap"),
        attr(fault_attr::ERRNO, "errno", AttrType::U32, Check::None, "errno returned (0: latency only)"),
        attr(fault_attr::COUNT, "count", AttrType::U32, Check::None, "times left to fire (absent: unlimited)"),
        attr(
            fault_attr::PROBABILITY,
            "probability",
            AttrType::U32,
            Check::None,
            "chance per command, parts per million",
        ),
        attr(fault_attr::DELAY_MS, "delay-ms", AttrType::U32, Check::None, "latency added to the answer"),
        attr(fault_attr::FIRED, "fired", AttrType::U64, Check::None, "times fired so far"),
        attr(fault_attr::FAIL_AT, "fail-at", AttrType::U8, Check::None, "fw-flash: percent at which the flash fails"),
        attr(fault_attr::INTERVAL_MS, "interval-ms", AttrType::U32, Check::None, "link-flap: period"),
        attr(fault_attr::DOWN_MS, "down-ms", AttrType::U32, Check::None, "link-flap: how long the carrier is lost"),
        attr(fault_attr::PORT_INDEX, "port-index", AttrType::U32, Check::None, "link-flap: the port"),
        attr(
            fault_attr::KNOB,
            "knob",
            AttrType::String,
            Check::None,
            "the kernel's fault knob that enforces it (netdevsim debugfs), when one does",
        ),
    ],
};

pub static STATS_ATTRS: AttrSet = AttrSet {
    name: "stats",
    attrs: &[
        attr(stats_attr::COMMANDS, "commands", AttrType::U64, Check::None, "requests served for this device"),
        attr(stats_attr::ERRORS, "errors", AttrType::U64, Check::None, "requests answered with an error"),
        attr(stats_attr::FAULTS_FIRED, "faults-fired", AttrType::U64, Check::None, "injected faults that fired"),
        attr(stats_attr::NOTIFICATIONS, "notifications", AttrType::U64, Check::None, "notifications sent about it"),
    ],
};

pub static SERVER_ATTRS: AttrSet = AttrSet {
    name: "server",
    attrs: &[
        attr(
            server_attr::ANSWERS_DROPPED,
            "answers-dropped",
            AttrType::U64,
            Check::None,
            "answer datagrams dropped because their client did not read its socket",
        ),
        attr(server_attr::ANSWERS_QUEUED, "answers-queued", AttrType::U64, Check::None, "bytes of answers waiting now"),
        attr(
            server_attr::CLIENTS_WAITING,
            "clients-waiting",
            AttrType::U32,
            Check::None,
            "clients with answers waiting or a dump paused now",
        ),
    ],
};

pub static DEV_ATTRS: AttrSet = AttrSet {
    name: "dev",
    attrs: &[
        attr(dev_attr::ID, "dev-id", AttrType::U32, Check::None, "device id"),
        attr(dev_attr::NAME, "dev-name", AttrType::NulString, Check::MaxLen(DEV_NAME_MAX as u16), "device name"),
        attr(dev_attr::BACKEND, "backend", AttrType::String, Check::MaxLen(15), "the hardware: veth"),
        attr(dev_attr::PORT, "port", AttrType::Nested(&PORT_ATTRS), Check::None, "one per port (multi-attr)"),
        attr(dev_attr::MTU, "mtu", AttrType::U32, Check::Range { min: MTU_MIN as u64, max: MTU_MAX as u64 }, "MTU"),
        attr(dev_attr::MAC, "mac", AttrType::Binary, Check::ExactLen(6), "base MAC: port N gets base + N"),
        attr(dev_attr::UP, "up", AttrType::U8, BOOL, "administrative state"),
        attr(dev_attr::PORT_INDEX, "port-index", AttrType::U32, Check::None, "selects a port"),
        attr(dev_attr::CARRIER, "carrier", AttrType::U8, BOOL, "cable plugged (1) or unplugged (0)"),
        attr(dev_attr::REG, "reg", AttrType::Nested(&REG_ATTRS), Check::None, "one per register (multi-attr)"),
        attr(dev_attr::REG_NAME, "reg-name", AttrType::NulString, NAME_CHECK, "selects a register"),
        attr(dev_attr::REG_VALUE, "reg-value", AttrType::U64, Check::None, "value to write"),
        attr(dev_attr::SENSOR, "sensor", AttrType::Nested(&SENSOR_ATTRS), Check::None, "one per sensor (multi-attr)"),
        attr(dev_attr::SENSOR_NAME, "sensor-name", AttrType::NulString, NAME_CHECK, "selects a sensor"),
        attr(dev_attr::SENSOR_VALUE, "sensor-value", AttrType::S64, Check::None, "reading to inject"),
        attr(dev_attr::FW, "fw", AttrType::Nested(&FW_ATTRS), Check::None, "firmware"),
        attr(
            dev_attr::FW_VERSION,
            "fw-version",
            AttrType::NulString,
            Check::MaxLen(FW_VERSION_MAX as u16),
            "version to flash",
        ),
        attr(dev_attr::FW_STATUS, "fw-status", AttrType::Nested(&FW_STATUS_ATTRS), Check::None, "flash progress"),
        attr(dev_attr::FAULT, "fault", AttrType::Nested(&FAULT_ATTRS), Check::None, "one per fault (multi-attr)"),
        attr(dev_attr::FAULT_CMD, "fault-cmd", AttrType::NulString, NAME_CHECK, "command name, or link-flap"),
        attr(
            dev_attr::FAULT_ERRNO,
            "fault-errno",
            AttrType::U32,
            Check::Range { min: 0, max: 4095 },
            "errno to return",
        ),
        attr(
            dev_attr::FAULT_COUNT,
            "fault-count",
            AttrType::U32,
            Check::Range { min: 1, max: u32::MAX as u64 },
            "fire this many times",
        ),
        attr(
            dev_attr::FAULT_PROBABILITY,
            "fault-probability",
            AttrType::U32,
            Check::Range { min: 1, max: PROBABILITY_ONE as u64 },
            "fire with this chance (ppm)",
        ),
        attr(
            dev_attr::FAULT_DELAY_MS,
            "fault-delay-ms",
            AttrType::U32,
            Check::Range { min: 0, max: DELAY_MAX_MS as u64 },
            "added latency",
        ),
        attr(dev_attr::STATS, "stats", AttrType::Nested(&STATS_ATTRS), Check::None, "driver counters"),
        attr(dev_attr::CONFIG, "config", AttrType::NulString, Check::None, "dev-new: a TOML [[device]] table"),
        attr(
            dev_attr::FAULT_FAIL_AT,
            "fault-fail-at",
            AttrType::U8,
            Check::Range { min: 0, max: 100 },
            "fw-flash: fail at this percent",
        ),
        attr(
            dev_attr::FAULT_INTERVAL_MS,
            "fault-interval-ms",
            AttrType::U32,
            Check::Range { min: 10, max: 3_600_000 },
            "link-flap: period",
        ),
        attr(
            dev_attr::FAULT_DOWN_MS,
            "fault-down-ms",
            AttrType::U32,
            Check::Range { min: 1, max: 3_600_000 },
            "link-flap: carrier-off time",
        ),
        attr(
            dev_attr::BATCH,
            "batch",
            AttrType::U32,
            Check::Range { min: 1, max: u32::MAX as u64 },
            "batch id: once a request of this batch from this socket failed, later ones are skipped (ECANCELED)",
        ),
        attr(dev_attr::NETNS, "netns", AttrType::String, Check::None, "where the device's netdevs live (for nsenter)"),
        attr(
            dev_attr::DEVLINK,
            "devlink",
            AttrType::String,
            Check::None,
            "the kernel devlink instance behind the device, as BUS/DEVICE (netdevsim)",
        ),
        attr(
            dev_attr::FW_FILE,
            "fw-file",
            AttrType::NulString,
            Check::MaxLen(FW_FILE_MAX as u16),
            "firmware file to flash, relative to the kernel's firmware path (netdevsim, as devlink takes it)",
        ),
        attr(dev_attr::RX_RING, "rx-ring", AttrType::U32, Check::None, "port-set: RX ring size (ethtool -G rx)"),
        attr(dev_attr::TX_RING, "tx-ring", AttrType::U32, Check::None, "port-set: TX ring size (ethtool -G tx)"),
        attr(
            dev_attr::SERVER,
            "server",
            AttrType::Nested(&SERVER_ATTRS),
            Check::None,
            "stats-get: the simulator's serving counters (all clients)",
        ),
    ],
};

const fn command(id: u8, name: &'static str, has_dump: bool, admin: bool, doc: &'static str) -> CommandSpec {
    CommandSpec { id, name, has_do: true, has_dump, admin, policy: Some(&DEV_ATTRS), doc }
}

pub static FAMILY: FamilySpec = FamilySpec {
    name: FAMILY_NAME,
    version: FAMILY_VERSION,
    hdrsize: 0,
    resv_start_op: 0,
    policy: Some(&DEV_ATTRS),
    commands: &[
        command(cmd::DEV_GET, "dev-get", true, false, "get one device, or dump all"),
        command(cmd::DEV_SET, "dev-set", false, true, "set MTU, base MAC and admin state of a device's ports"),
        command(cmd::DEV_NEW, "dev-new", false, true, "hot-plug a device described by a TOML [[device]] table"),
        command(cmd::DEV_DEL, "dev-del", false, true, "unplug a device and remove its netdevs"),
        command(cmd::DEV_RESET, "dev-reset", false, true, "registers to reset values, ports flap down and up"),
        command(cmd::PORT_GET, "port-get", true, false, "get one port, or dump ports (of one device)"),
        command(cmd::PORT_SET, "port-set", false, true, "set a port's carrier, MTU, admin state"),
        command(cmd::REG_GET, "reg-get", true, false, "read one register, or dump registers"),
        command(cmd::REG_SET, "reg-set", false, true, "write a register (access rules apply)"),
        command(cmd::SENSOR_GET, "sensor-get", true, false, "read one sensor, or dump sensors"),
        command(cmd::SENSOR_SET, "sensor-set", false, true, "inject a sensor reading"),
        command(cmd::FW_GET, "fw-get", true, false, "firmware version and flash state"),
        command(
            cmd::FW_FLASH,
            "fw-flash",
            false,
            true,
            "start flashing a version (netdevsim: a file); progress on the fw group",
        ),
        command(cmd::STATS_GET, "stats-get", true, false, "kernel port counters and driver counters"),
        command(cmd::FAULT_GET, "fault-get", true, false, "list a device's injected faults"),
        command(cmd::FAULT_SET, "fault-set", false, true, "inject a fault"),
        command(cmd::FAULT_CLEAR, "fault-clear", false, true, "remove a device's faults (of one command)"),
    ],
    mcast_groups: &[GROUP_CONFIG, GROUP_EVENTS, GROUP_FW],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_table_is_consistent() {
        assert_eq!(FAMILY.max_attr(), dev_attr::SERVER as u32);
        assert!(FAMILY.command(cmd::DEV_SET).unwrap().admin);
        assert_eq!(FAMILY.command(cmd::DEV_GET).unwrap().op_flags(), 0x0e);
        assert_eq!(FAMILY.command(cmd::DEV_SET).unwrap().op_flags(), 0x0b);
        assert!(FAMILY.command(cmd::DEV_CHANGE_NTF).is_none());
        let mut ids: Vec<u8> = FAMILY.commands.iter().map(|c| c.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), FAMILY.commands.len(), "command ids are unique");
        for set in [
            &DEV_ATTRS,
            &PORT_ATTRS,
            &REG_ATTRS,
            &SENSOR_ATTRS,
            &FW_ATTRS,
            &FW_STATUS_ATTRS,
            &FAULT_ATTRS,
            &STATS_ATTRS,
            &SERVER_ATTRS,
        ] {
            for (i, a) in set.attrs.iter().enumerate() {
                assert_eq!(a.id as usize, i + 1, "{}: ids are dense from 1", set.name);
            }
        }
    }

    #[test]
    fn command_names_are_unique() {
        for c in FAMILY.commands {
            assert_eq!(FAMILY.command_by_name(c.name).unwrap().id, c.id);
        }
    }
}
