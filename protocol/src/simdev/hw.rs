//! Typed messages for the device's hardware objects: registers, sensors,
//! firmware and its flash status, faults, statistics. Each is a nest
//! ([`Nested`]); replies put one or more of them after the device's id and
//! name ([`Scoped`]). A type's serde definition is its only definition: the
//! spec writes it to the wire ([`crate::encode`]) and serde_json gives its
//! JSON form, the one the client decodes replies into.

use super::DEV_ATTRS;
use crate::wire::MessageBuilder;

/// An object carried as a nest of the `dev` set.
pub trait Nested: Sized + serde::Serialize {
    /// The `dev` attribute holding it: its key in a reply's JSON form.
    const KEY: &'static str;
    /// Whether a reply may carry several (`multi-attr`: a JSON list).
    const MULTI: bool = true;
}

/// Writes a message of the `dev` set (a reply or notification): its wire
/// form is its serde form written by the spec ([`crate::encode`]).
pub(crate) fn encode_dev<T: serde::Serialize>(message: &T, out: &mut MessageBuilder) {
    let written = crate::encode::encode(&DEV_ATTRS, message, out);
    // A type that does not fit the spec fails every time it is written:
    // each message type's tests write it.
    debug_assert!(written.is_ok(), "{}", written.unwrap_err());
}

impl<T: Nested> Scoped<T> {
    pub fn encode(&self, out: &mut MessageBuilder) {
        encode_dev(self, out)
    }
}

/// A reply about objects of one device: `dev-id`, `dev-name`, then one
/// nest per object. Its serde form is the reply as the spec names it
/// (`{"dev-id", "dev-name", "reg": [...]}`; a single nest such as `fw` is
/// an object, not a list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scoped<T> {
    pub dev_id: u32,
    pub dev_name: String,
    pub items: Vec<T>,
}

impl<T: Nested + serde::Serialize> serde::Serialize for Scoped<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("dev-id", &self.dev_id)?;
        map.serialize_entry("dev-name", &self.dev_name)?;
        match (T::MULTI, self.items.as_slice()) {
            (true, items) if !items.is_empty() => map.serialize_entry(T::KEY, items)?,
            (false, [item]) => map.serialize_entry(T::KEY, item)?,
            _ => {}
        }
        map.end()
    }
}

impl<'de, T: Nested + serde::de::DeserializeOwned> serde::Deserialize<'de> for Scoped<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let field = |map: &mut serde_json::Map<String, serde_json::Value>, key: &str| {
            map.remove(key).ok_or_else(|| D::Error::custom(format!("no `{key}`")))
        };
        let dev_id = serde_json::from_value(field(&mut map, "dev-id")?).map_err(D::Error::custom)?;
        let dev_name = serde_json::from_value(field(&mut map, "dev-name")?).map_err(D::Error::custom)?;
        let items = match map.remove(T::KEY) {
            None => Vec::new(),
            Some(serde_json::Value::Array(items)) => {
                items.into_iter().map(serde_json::from_value).collect::<Result<_, _>>().map_err(D::Error::custom)?
            }
            Some(item) => vec![serde_json::from_value(item).map_err(D::Error::custom)?],
        };
        Ok(Scoped { dev_id, dev_name, items })
    }
}

/// How a register may be accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Read-only: writes are refused.
    Ro,
    /// Read-write.
    Rw,
    /// Write-only: reads are refused.
    Wo,
    /// Write-1-to-clear: bits written as 1 are cleared.
    W1c,
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::Ro => "ro",
            Access::Rw => "rw",
            Access::Wo => "wo",
            Access::W1c => "w1c",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Access::Ro, Access::Rw, Access::Wo, Access::W1c].into_iter().find(|a| a.name() == text)
    }

    pub fn readable(self) -> bool {
        self != Access::Wo
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegInfo {
    pub name: String,
    pub offset: u32,
    pub width: u8,
    pub access: Access,
    pub reset: u64,
    /// Absent for write-only registers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
}

impl Nested for RegInfo {
    const KEY: &'static str = "reg";
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SensorInfo {
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub unit: String,
    pub value: i64,
    pub min: i64,
    pub max: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_low: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_high: Option<i64>,
    #[serde(with = "super::forms::bool01")]
    pub alarm: bool,
}

impl Nested for SensorInfo {
    const KEY: &'static str = "sensor";
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FwInfo {
    pub version: String,
    /// How long a flash takes, when the device says (simulated firmware).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_duration_ms: Option<u32>,
    #[serde(with = "super::forms::bool01", default)]
    pub flashing: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_version: Option<String>,
    /// A flashed version awaiting activation by a reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_version: Option<String>,
}

impl Nested for FwInfo {
    const KEY: &'static str = "fw";
    const MULTI: bool = false;
}

/// One flash progress report, like devlink's flash status notifications.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FwStatus {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub done: u64,
    #[serde(default)]
    pub total: u64,
    /// Errno of a failed flash; 0 otherwise.
    #[serde(default)]
    pub error: u32,
    /// The flash is over (successfully when `error` is 0).
    #[serde(with = "super::forms::bool01", default)]
    pub finished: bool,
}

impl Nested for FwStatus {
    const KEY: &'static str = "fw-status";
    const MULTI: bool = false;
}

/// An injected fault as `fault-get` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FaultInfo {
    /// A command name (`dev-set`, `fw-flash`, ...) or `link-flap`.
    #[serde(rename = "cmd")]
    pub command: String,
    pub errno: u32,
    /// Times left to fire; `None`: unlimited (or probabilistic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Parts per million.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<u32>,
    #[serde(default)]
    pub delay_ms: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_at: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_index: Option<u32>,
    #[serde(default)]
    pub fired: u64,
    /// The kernel's knob that enforces the fault (netdevsim's debugfs
    /// `fail_reload`, ...); `None`: the simulator injects it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knob: Option<String>,
    /// The device's devlink health reporter that reports an error each
    /// time the fault fails something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<String>,
}

impl Nested for FaultInfo {
    const KEY: &'static str = "fault";
}

/// The driver's own counters for a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct DriverStats {
    pub commands: u64,
    pub errors: u64,
    pub faults_fired: u64,
    pub notifications: u64,
}

impl Nested for DriverStats {
    const KEY: &'static str = "stats";
    const MULTI: bool = false;
}

/// The simulator's serving counters, over all clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct ServerStats {
    /// Answer datagrams dropped because their client did not read its socket.
    pub answers_dropped: u64,
    /// Bytes of answers waiting for clients now.
    pub answers_queued: u64,
    /// Clients with answers waiting or a dump paused now.
    pub clients_waiting: u32,
    /// Sockets that notifications are unicast to now (simdev's `subscribe`).
    pub subscribers: u32,
    /// Frames written to the capture (`--pcap`) so far.
    pub capture_frames: u64,
    /// Frames left out of the capture: its writer behind, or its disk full.
    pub capture_dropped: u64,
}

impl Nested for ServerStats {
    const KEY: &'static str = "server";
    const MULTI: bool = false;
}

/// A port's kernel counters (`IFLA_STATS64`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct PortStats {
    pub index: u32,
    pub ifname: String,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
}

impl PortStats {
    /// From the kernel's `struct rtnl_link_stats64` counters, in its order:
    /// rx/tx packets, rx/tx bytes, rx/tx errors, rx/tx dropped.
    pub fn from_stats64(index: u32, ifname: String, stats64: [u64; 8]) -> Self {
        let [rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped] = stats64;
        PortStats {
            index,
            ifname,
            rx_packets,
            tx_packets,
            rx_bytes,
            tx_bytes,
            rx_errors,
            tx_errors,
            rx_dropped,
            tx_dropped,
        }
    }
}

impl Nested for PortStats {
    const KEY: &'static str = "port";
}

/// `stats-get`'s answer: driver counters plus each port's kernel counters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatsInfo {
    #[serde(rename = "dev-id")]
    pub dev_id: u32,
    #[serde(rename = "dev-name")]
    pub dev_name: String,
    #[serde(rename = "stats")]
    pub driver: DriverStats,
    pub server: ServerStats,
    #[serde(rename = "port", default)]
    pub ports: Vec<PortStats>,
}

impl StatsInfo {
    pub fn encode(&self, out: &mut MessageBuilder) {
        encode_dev(self, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{parse, Strictness};
    use crate::simdev::DEV_ATTRS;
    use crate::wire::split_messages;

    /// Encodes and checks the bytes against the family policy; the serde
    /// form (the spec's JSON) converts back to the same value. (Decoding
    /// the bytes is the client's spec-driven codec: genl-client tests it.)
    fn round_trip<T>(items: Vec<T>)
    where
        T: Nested + Clone + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
    {
        let scoped = Scoped { dev_id: 4, dev_name: "hw0".to_string(), items };
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, 1, 1);
        crate::encode::encode(&DEV_ATTRS, &scoped, &mut b).expect("the type fits the dev set");
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        parse(&DEV_ATTRS, message.genl_attrs(0), Strictness::Strict).expect("valid by the family policy");
        let json = serde_json::to_value(&scoped).unwrap();
        assert_eq!((&json["dev-id"], &json["dev-name"]), (&4.into(), &"hw0".into()));
        assert_eq!(serde_json::from_value::<Scoped<T>>(json).unwrap(), scoped);
    }

    #[test]
    fn hardware_objects_round_trip_and_pass_the_policy() {
        round_trip(vec![
            RegInfo { name: "ctrl".into(), offset: 0, width: 32, access: Access::Rw, reset: 1, value: Some(5) },
            RegInfo { name: "doorbell".into(), offset: 8, width: 16, access: Access::Wo, reset: 0, value: None },
        ]);
        round_trip(vec![SensorInfo {
            name: "temp".into(),
            kind: "temperature".into(),
            unit: "mC".into(),
            value: -5000,
            min: -40000,
            max: 125000,
            alarm_low: None,
            alarm_high: Some(90000),
            alarm: false,
        }]);
        round_trip(vec![FwInfo {
            version: "1.2.3".into(),
            flash_duration_ms: Some(500),
            flashing: true,
            pending_version: Some("2.0".into()),
            stored_version: Some("1.9".into()),
        }]);
        round_trip(vec![FwStatus {
            message: "Flashing".into(),
            version: "2.0".into(),
            done: 5,
            total: 10,
            error: 0,
            finished: false,
        }]);
        round_trip(vec![FaultInfo {
            command: "dev-set".into(),
            errno: 5,
            count: Some(2),
            delay_ms: 10,
            knob: Some("fail_reload".into()),
            ..Default::default()
        }]);
        round_trip(vec![PortStats {
            index: 1,
            ifname: "hw0p1".into(),
            rx_packets: 3,
            tx_bytes: 99,
            ..Default::default()
        }]);
    }

    #[test]
    fn stats_round_trip() {
        let stats = StatsInfo {
            dev_id: 1,
            dev_name: "s".into(),
            driver: DriverStats { commands: 9, errors: 1, faults_fired: 1, notifications: 3 },
            server: ServerStats {
                answers_dropped: 4,
                answers_queued: 4096,
                clients_waiting: 1,
                subscribers: 2,
                capture_frames: 9,
                capture_dropped: 1,
            },
            ports: vec![PortStats { index: 0, ifname: "sp0".into(), rx_packets: 1, ..Default::default() }],
        };
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, 1, 1);
        crate::encode::encode(&DEV_ATTRS, &stats, &mut b).expect("StatsInfo fits the dev set");
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        parse(&DEV_ATTRS, message.genl_attrs(0), Strictness::Strict).expect("valid by the family policy");
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["stats"]["faults-fired"], 1);
        assert_eq!(json["server"]["answers-queued"], 4096);
        assert_eq!(json["port"][0]["rx-packets"], 1);
        assert_eq!(serde_json::from_value::<StatsInfo>(json).unwrap(), stats);
    }

    #[test]
    fn access_names_parse() {
        for a in [Access::Ro, Access::Rw, Access::Wo, Access::W1c] {
            assert_eq!(Access::parse(a.name()), Some(a));
        }
        assert_eq!(Access::parse("rx"), None);
    }
}
