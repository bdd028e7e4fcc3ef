//! Typed messages for the device's hardware objects: registers, sensors,
//! firmware and its flash status, faults, statistics. Each is a nest
//! ([`Nested`]); replies put one or more of them after the device's id and
//! name ([`Scoped`]).

use super::{dev_attr, fault_attr, fw_attr, fw_status_attr, port_attr, reg_attr, sensor_attr, server_attr, stats_attr};
use crate::wire::{Attr, Attrs, MessageBuilder};
use crate::DecodeError;

/// An object carried as a nest of the `dev` set.
pub trait Nested: Sized {
    /// The `dev` attribute holding it.
    const ATTR: u16;
    fn encode_fields(&self, out: &mut MessageBuilder);
    fn decode_fields(attrs: Attrs<'_>) -> Result<Self, DecodeError>;

    /// Writes the nest (flagged `NLA_F_NESTED`).
    fn encode(&self, out: &mut MessageBuilder) {
        out.nest_start(Self::ATTR);
        self.encode_fields(out);
        out.nest_end();
    }
}

/// A reply about objects of one device: `dev-id`, `dev-name`, then one
/// nest per object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Scoped<T> {
    pub dev_id: u32,
    pub dev_name: String,
    pub items: Vec<T>,
}

impl<T: Nested> Scoped<T> {
    pub fn encode(&self, out: &mut MessageBuilder) {
        out.put_u32(dev_attr::DEV_ID, self.dev_id).put_str(dev_attr::DEV_NAME, &self.dev_name);
        for item in &self.items {
            item.encode(out);
        }
    }

    pub fn decode(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        let dev_id = attrs.get(dev_attr::DEV_ID).and_then(|a| a.u32()).ok_or(missing("dev-id"))?;
        let dev_name = string(attrs.get(dev_attr::DEV_NAME)).ok_or(missing("dev-name"))?;
        let items = attrs
            .clone()
            .filter(|a| a.kind() == T::ATTR)
            .map(|a| T::decode_fields(a.nested()))
            .collect::<Result<_, _>>()?;
        Ok(Scoped { dev_id, dev_name, items })
    }
}

fn missing(what: &'static str) -> DecodeError {
    DecodeError::new(what, "missing or wrong size")
}

fn string(attr: Option<Attr<'_>>) -> Option<String> {
    attr.and_then(|a| a.string()).map(str::to_string)
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

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegInfo {
    pub name: String,
    pub offset: u32,
    pub width: u8,
    pub access: Access,
    pub reset: u64,
    /// Absent for write-only registers.
    pub value: Option<u64>,
}

impl Nested for RegInfo {
    const ATTR: u16 = dev_attr::REG;

    fn encode_fields(&self, out: &mut MessageBuilder) {
        out.put_str(reg_attr::NAME, &self.name)
            .put_u32(reg_attr::OFFSET, self.offset)
            .put_u8(reg_attr::WIDTH, self.width)
            .put_str(reg_attr::ACCESS, self.access.name())
            .put_u64(reg_attr::RESET, self.reset);
        if let Some(value) = self.value {
            out.put_u64(reg_attr::VALUE, value);
        }
    }

    fn decode_fields(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        Ok(RegInfo {
            name: string(attrs.get(reg_attr::NAME)).ok_or(missing("reg.name"))?,
            offset: attrs.get(reg_attr::OFFSET).and_then(|a| a.u32()).ok_or(missing("reg.offset"))?,
            width: attrs.get(reg_attr::WIDTH).and_then(|a| a.u8()).ok_or(missing("reg.width"))?,
            access: string(attrs.get(reg_attr::ACCESS)).and_then(|a| Access::parse(&a)).ok_or(missing("reg.access"))?,
            reset: attrs.get(reg_attr::RESET).and_then(|a| a.u64()).ok_or(missing("reg.reset"))?,
            value: attrs.get(reg_attr::VALUE).and_then(|a| a.u64()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SensorInfo {
    pub name: String,
    pub kind: String,
    pub unit: String,
    pub value: i64,
    pub min: i64,
    pub max: i64,
    pub alarm_low: Option<i64>,
    pub alarm_high: Option<i64>,
    pub alarm: bool,
}

impl Nested for SensorInfo {
    const ATTR: u16 = dev_attr::SENSOR;

    fn encode_fields(&self, out: &mut MessageBuilder) {
        out.put_str(sensor_attr::NAME, &self.name)
            .put_str(sensor_attr::KIND, &self.kind)
            .put_str(sensor_attr::UNIT, &self.unit)
            .put_i64(sensor_attr::VALUE, self.value)
            .put_i64(sensor_attr::MIN, self.min)
            .put_i64(sensor_attr::MAX, self.max);
        if let Some(low) = self.alarm_low {
            out.put_i64(sensor_attr::ALARM_LOW, low);
        }
        if let Some(high) = self.alarm_high {
            out.put_i64(sensor_attr::ALARM_HIGH, high);
        }
        out.put_u8(sensor_attr::ALARM, self.alarm.into());
    }

    fn decode_fields(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        let int = |id, what| attrs.get(id).and_then(|a| a.i64()).ok_or(missing(what));
        Ok(SensorInfo {
            name: string(attrs.get(sensor_attr::NAME)).ok_or(missing("sensor.name"))?,
            kind: string(attrs.get(sensor_attr::KIND)).unwrap_or_default(),
            unit: string(attrs.get(sensor_attr::UNIT)).unwrap_or_default(),
            value: int(sensor_attr::VALUE, "sensor.value")?,
            min: int(sensor_attr::MIN, "sensor.min")?,
            max: int(sensor_attr::MAX, "sensor.max")?,
            alarm_low: attrs.get(sensor_attr::ALARM_LOW).and_then(|a| a.i64()),
            alarm_high: attrs.get(sensor_attr::ALARM_HIGH).and_then(|a| a.i64()),
            alarm: attrs.get(sensor_attr::ALARM).and_then(|a| a.u8()).ok_or(missing("sensor.alarm"))? != 0,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FwInfo {
    pub version: String,
    /// How long a flash takes, when the device says (simulated firmware).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flash_duration_ms: Option<u32>,
    pub flashing: bool,
    pub pending_version: Option<String>,
}

impl Nested for FwInfo {
    const ATTR: u16 = dev_attr::FW;

    fn encode_fields(&self, out: &mut MessageBuilder) {
        out.put_str(fw_attr::VERSION, &self.version);
        if let Some(duration) = self.flash_duration_ms {
            out.put_u32(fw_attr::FLASH_DURATION_MS, duration);
        }
        out.put_u8(fw_attr::FLASHING, self.flashing.into());
        if let Some(pending) = &self.pending_version {
            out.put_str(fw_attr::PENDING_VERSION, pending);
        }
    }

    fn decode_fields(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        Ok(FwInfo {
            version: string(attrs.get(fw_attr::VERSION)).ok_or(missing("fw.version"))?,
            flash_duration_ms: attrs.get(fw_attr::FLASH_DURATION_MS).and_then(|a| a.u32()),
            flashing: attrs.get(fw_attr::FLASHING).and_then(|a| a.u8()).unwrap_or_default() != 0,
            pending_version: string(attrs.get(fw_attr::PENDING_VERSION)),
        })
    }
}

/// One flash progress report, like devlink's flash status notifications.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FwStatus {
    pub message: String,
    pub version: String,
    pub done: u64,
    pub total: u64,
    /// Errno of a failed flash; 0 otherwise.
    pub error: u32,
    /// The flash is over (successfully when `error` is 0).
    pub finished: bool,
}

impl Nested for FwStatus {
    const ATTR: u16 = dev_attr::FW_STATUS;

    fn encode_fields(&self, out: &mut MessageBuilder) {
        out.put_str(fw_status_attr::MESSAGE, &self.message)
            .put_u64(fw_status_attr::DONE, self.done)
            .put_u64(fw_status_attr::TOTAL, self.total)
            .put_u32(fw_status_attr::ERROR, self.error)
            .put_u8(fw_status_attr::FINISHED, self.finished.into())
            .put_str(fw_status_attr::VERSION, &self.version);
    }

    fn decode_fields(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        Ok(FwStatus {
            message: string(attrs.get(fw_status_attr::MESSAGE)).unwrap_or_default(),
            version: string(attrs.get(fw_status_attr::VERSION)).unwrap_or_default(),
            done: attrs.get(fw_status_attr::DONE).and_then(|a| a.u64()).unwrap_or_default(),
            total: attrs.get(fw_status_attr::TOTAL).and_then(|a| a.u64()).unwrap_or_default(),
            error: attrs.get(fw_status_attr::ERROR).and_then(|a| a.u32()).unwrap_or_default(),
            finished: attrs.get(fw_status_attr::FINISHED).and_then(|a| a.u8()).unwrap_or_default() != 0,
        })
    }
}

/// An injected fault as `fault-get` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FaultInfo {
    /// A command name (`dev-set`, `fw-flash`, ...) or `link-flap`.
    pub command: String,
    pub errno: u32,
    /// Times left to fire; `None`: unlimited (or probabilistic).
    pub count: Option<u32>,
    /// Parts per million.
    pub probability: Option<u32>,
    pub delay_ms: u32,
    pub fail_at: Option<u8>,
    pub interval_ms: Option<u32>,
    pub down_ms: Option<u32>,
    pub port_index: Option<u32>,
    pub fired: u64,
    /// The kernel's knob that enforces the fault (netdevsim's debugfs
    /// `fail_reload`, ...); `None`: the simulator injects it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knob: Option<String>,
}

impl Nested for FaultInfo {
    const ATTR: u16 = dev_attr::FAULT;

    fn encode_fields(&self, out: &mut MessageBuilder) {
        out.put_str(fault_attr::CMD, &self.command).put_u32(fault_attr::ERRNO, self.errno);
        let optional = [
            (fault_attr::COUNT, self.count),
            (fault_attr::PROBABILITY, self.probability),
            (fault_attr::INTERVAL_MS, self.interval_ms),
            (fault_attr::DOWN_MS, self.down_ms),
            (fault_attr::PORT_INDEX, self.port_index),
        ];
        for (id, value) in optional {
            if let Some(value) = value {
                out.put_u32(id, value);
            }
        }
        out.put_u32(fault_attr::DELAY_MS, self.delay_ms).put_u64(fault_attr::FIRED, self.fired);
        if let Some(fail_at) = self.fail_at {
            out.put_u8(fault_attr::FAIL_AT, fail_at);
        }
        if let Some(knob) = &self.knob {
            out.put_str(fault_attr::KNOB, knob);
        }
    }

    fn decode_fields(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        let u32_of = |id| attrs.get(id).and_then(|a| a.u32());
        Ok(FaultInfo {
            command: string(attrs.get(fault_attr::CMD)).ok_or(missing("fault.cmd"))?,
            errno: u32_of(fault_attr::ERRNO).ok_or(missing("fault.errno"))?,
            count: u32_of(fault_attr::COUNT),
            probability: u32_of(fault_attr::PROBABILITY),
            delay_ms: u32_of(fault_attr::DELAY_MS).unwrap_or_default(),
            fail_at: attrs.get(fault_attr::FAIL_AT).and_then(|a| a.u8()),
            interval_ms: u32_of(fault_attr::INTERVAL_MS),
            down_ms: u32_of(fault_attr::DOWN_MS),
            port_index: u32_of(fault_attr::PORT_INDEX),
            fired: attrs.get(fault_attr::FIRED).and_then(|a| a.u64()).unwrap_or_default(),
            knob: string(attrs.get(fault_attr::KNOB)),
        })
    }
}

/// The driver's own counters for a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct DriverStats {
    pub commands: u64,
    pub errors: u64,
    pub faults_fired: u64,
    pub notifications: u64,
}

impl Nested for DriverStats {
    const ATTR: u16 = dev_attr::STATS;

    fn encode_fields(&self, out: &mut MessageBuilder) {
        out.put_u64(stats_attr::COMMANDS, self.commands)
            .put_u64(stats_attr::ERRORS, self.errors)
            .put_u64(stats_attr::FAULTS_FIRED, self.faults_fired)
            .put_u64(stats_attr::NOTIFICATIONS, self.notifications);
    }

    fn decode_fields(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        let get = |id| attrs.get(id).and_then(|a| a.u64()).unwrap_or_default();
        Ok(DriverStats {
            commands: get(stats_attr::COMMANDS),
            errors: get(stats_attr::ERRORS),
            faults_fired: get(stats_attr::FAULTS_FIRED),
            notifications: get(stats_attr::NOTIFICATIONS),
        })
    }
}

/// The simulator's serving counters, over all clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ServerStats {
    /// Answer datagrams dropped because their client did not read its socket.
    pub answers_dropped: u64,
    /// Bytes of answers waiting for clients now.
    pub answers_queued: u64,
    /// Clients with answers waiting or a dump paused now.
    pub clients_waiting: u32,
}

impl Nested for ServerStats {
    const ATTR: u16 = dev_attr::SERVER;

    fn encode_fields(&self, out: &mut MessageBuilder) {
        out.put_u64(server_attr::ANSWERS_DROPPED, self.answers_dropped)
            .put_u64(server_attr::ANSWERS_QUEUED, self.answers_queued)
            .put_u32(server_attr::CLIENTS_WAITING, self.clients_waiting);
    }

    fn decode_fields(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        let get = |id| attrs.get(id).and_then(|a| a.u64()).unwrap_or_default();
        Ok(ServerStats {
            answers_dropped: get(server_attr::ANSWERS_DROPPED),
            answers_queued: get(server_attr::ANSWERS_QUEUED),
            clients_waiting: attrs.get(server_attr::CLIENTS_WAITING).and_then(|a| a.u32()).unwrap_or_default(),
        })
    }
}

/// A port's kernel counters (`IFLA_STATS64`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
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
    fn counters(&self) -> [(u16, u64); 8] {
        [
            (port_attr::RX_PACKETS, self.rx_packets),
            (port_attr::TX_PACKETS, self.tx_packets),
            (port_attr::RX_BYTES, self.rx_bytes),
            (port_attr::TX_BYTES, self.tx_bytes),
            (port_attr::RX_ERRORS, self.rx_errors),
            (port_attr::TX_ERRORS, self.tx_errors),
            (port_attr::RX_DROPPED, self.rx_dropped),
            (port_attr::TX_DROPPED, self.tx_dropped),
        ]
    }
}

impl Nested for PortStats {
    const ATTR: u16 = dev_attr::PORT;

    fn encode_fields(&self, out: &mut MessageBuilder) {
        out.put_u32(port_attr::INDEX, self.index).put_str(port_attr::IFNAME, &self.ifname);
        for (id, value) in self.counters() {
            out.put_u64(id, value);
        }
    }

    fn decode_fields(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        let get = |id| attrs.get(id).and_then(|a| a.u64()).unwrap_or_default();
        Ok(PortStats {
            index: attrs.get(port_attr::INDEX).and_then(|a| a.u32()).ok_or(missing("port.index"))?,
            ifname: string(attrs.get(port_attr::IFNAME)).unwrap_or_default(),
            rx_packets: get(port_attr::RX_PACKETS),
            tx_packets: get(port_attr::TX_PACKETS),
            rx_bytes: get(port_attr::RX_BYTES),
            tx_bytes: get(port_attr::TX_BYTES),
            rx_errors: get(port_attr::RX_ERRORS),
            tx_errors: get(port_attr::TX_ERRORS),
            rx_dropped: get(port_attr::RX_DROPPED),
            tx_dropped: get(port_attr::TX_DROPPED),
        })
    }
}

/// `stats-get`'s answer: driver counters plus each port's kernel counters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatsInfo {
    pub dev_id: u32,
    pub dev_name: String,
    pub driver: DriverStats,
    pub server: ServerStats,
    pub ports: Vec<PortStats>,
}

impl StatsInfo {
    pub fn encode(&self, out: &mut MessageBuilder) {
        out.put_u32(dev_attr::DEV_ID, self.dev_id).put_str(dev_attr::DEV_NAME, &self.dev_name);
        self.driver.encode(out);
        self.server.encode(out);
        for port in &self.ports {
            port.encode(out);
        }
    }

    pub fn decode(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        let ports = Scoped::<PortStats>::decode(attrs.clone())?;
        let driver = attrs
            .get(dev_attr::STATS)
            .map(|a| DriverStats::decode_fields(a.nested()))
            .transpose()?
            .ok_or(missing("stats"))?;
        let server = attrs.get(dev_attr::SERVER).map(|a| ServerStats::decode_fields(a.nested())).transpose()?;
        Ok(StatsInfo {
            dev_id: ports.dev_id,
            dev_name: ports.dev_name,
            driver,
            server: server.ok_or(missing("server"))?,
            ports: ports.items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{parse, Strictness};
    use crate::simdev::DEV_ATTRS;
    use crate::wire::split_messages;

    /// Encodes, checks the bytes against the family policy, decodes.
    fn round_trip<T: Nested + Clone + PartialEq + std::fmt::Debug>(items: Vec<T>) {
        let scoped = Scoped { dev_id: 4, dev_name: "hw0".to_string(), items };
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, 1, 1);
        scoped.encode(&mut b);
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        parse(&DEV_ATTRS, message.genl_attrs(0), Strictness::Strict).expect("valid by the family policy");
        assert_eq!(Scoped::<T>::decode(message.genl_attrs(0)).unwrap(), scoped);
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
            server: ServerStats { answers_dropped: 4, answers_queued: 4096, clients_waiting: 1 },
            ports: vec![PortStats { index: 0, ifname: "sp0".into(), rx_packets: 1, ..Default::default() }],
        };
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, 1, 1);
        stats.encode(&mut b);
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        assert_eq!(StatsInfo::decode(message.genl_attrs(0)).unwrap(), stats);
    }

    #[test]
    fn access_names_parse() {
        for a in [Access::Ro, Access::Rw, Access::Wo, Access::W1c] {
            assert_eq!(Access::parse(a.name()), Some(a));
        }
        assert_eq!(Access::parse("rx"), None);
    }
}
