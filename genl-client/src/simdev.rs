//! Typed calls of the `simdev` family: resolve it once through the
//! controller, then one method per command; [`Event`] decodes notifications.

use crate::client::{Client, Reply, Subscription, Target};
use crate::error::{Error, Result};
use simdev_protocol::ctrl::FamilyInfo;
use simdev_protocol::simdev::{
    self, cmd, dev_attr, DevInfo, DevSelector, DevSet, FaultInfo, FwInfo, FwStatus, Mac, Nested, PortInfo, RegInfo,
    Scoped, SensorInfo, StatsInfo, DEV_ATTRS, FAMILY_VERSION,
};
use simdev_protocol::wire::MessageBuilder;

/// A client bound to the resolved `simdev` family.
pub struct SimdevClient {
    client: Client,
    family: FamilyInfo,
}

/// What `port-set` changes; absent fields stay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PortSet {
    pub carrier: Option<bool>,
    pub mtu: Option<u32>,
    pub mac: Option<Mac>,
    pub up: Option<bool>,
    pub rx_ring: Option<u32>,
    pub tx_ring: Option<u32>,
}

/// What `fw-flash` installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FwImage {
    /// A version of simulated firmware (veth and model devices).
    Version(String),
    /// A firmware file, relative to the kernel's firmware path (netdevsim:
    /// flashed through devlink, which loads it).
    File(String),
}

impl std::fmt::Display for FwImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FwImage::Version(version) => f.write_str(version),
            FwImage::File(file) => write!(f, "file {file}"),
        }
    }
}

/// One simdev request, as data: what it asks and how it is encoded. The
/// typed methods of [`SimdevClient`], the CLI and batch mode all go through
/// it, so each command's wire format is written once.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    DevGet(DevSelector),
    DevList,
    DevSet(DevSet),
    DevNew(String),
    DevDel(DevSelector),
    DevReset(DevSelector),
    PortGet(DevSelector, u32),
    PortList(Option<DevSelector>),
    PortSet(DevSelector, u32, PortSet),
    RegRead(DevSelector, String),
    RegList(Option<DevSelector>),
    RegWrite(DevSelector, String, u64),
    SensorGet(DevSelector, String),
    SensorList(Option<DevSelector>),
    SensorSet(DevSelector, String, i64),
    FwShow(DevSelector),
    FwFlash(DevSelector, FwImage),
    Stats(DevSelector),
    FaultList(DevSelector),
    FaultSet(DevSelector, FaultInfo),
    FaultClear(DevSelector, Option<String>),
}

impl Call {
    /// The simdev command number.
    pub fn command(&self) -> u8 {
        match self {
            Call::DevGet(_) | Call::DevList => cmd::DEV_GET,
            Call::DevSet(_) => cmd::DEV_SET,
            Call::DevNew(_) => cmd::DEV_NEW,
            Call::DevDel(_) => cmd::DEV_DEL,
            Call::DevReset(_) => cmd::DEV_RESET,
            Call::PortGet(..) | Call::PortList(_) => cmd::PORT_GET,
            Call::PortSet(..) => cmd::PORT_SET,
            Call::RegRead(..) | Call::RegList(_) => cmd::REG_GET,
            Call::RegWrite(..) => cmd::REG_SET,
            Call::SensorGet(..) | Call::SensorList(_) => cmd::SENSOR_GET,
            Call::SensorSet(..) => cmd::SENSOR_SET,
            Call::FwShow(_) => cmd::FW_GET,
            Call::FwFlash(..) => cmd::FW_FLASH,
            Call::Stats(_) => cmd::STATS_GET,
            Call::FaultList(_) => cmd::FAULT_GET,
            Call::FaultSet(..) => cmd::FAULT_SET,
            Call::FaultClear(..) => cmd::FAULT_CLEAR,
        }
    }

    /// Whether it is sent as a dump.
    pub fn is_dump(&self) -> bool {
        matches!(self, Call::DevList | Call::PortList(_) | Call::RegList(_) | Call::SensorList(_))
    }

    /// Writes the request's attributes.
    pub fn encode(&self, m: &mut MessageBuilder) {
        match self {
            Call::DevList => {}
            Call::DevGet(dev)
            | Call::DevDel(dev)
            | Call::DevReset(dev)
            | Call::FwShow(dev)
            | Call::Stats(dev)
            | Call::FaultList(dev) => dev.encode(m),
            Call::DevSet(set) => set.encode(m),
            Call::DevNew(config) => {
                m.put_str(dev_attr::CONFIG, config);
            }
            Call::PortList(dev) | Call::RegList(dev) | Call::SensorList(dev) => {
                if let Some(dev) = dev {
                    dev.encode(m);
                }
            }
            Call::PortGet(dev, port) => {
                dev.encode(m);
                m.put_u32(dev_attr::PORT_INDEX, *port);
            }
            Call::PortSet(dev, port, set) => {
                dev.encode(m);
                m.put_u32(dev_attr::PORT_INDEX, *port);
                if let Some(carrier) = set.carrier {
                    m.put_u8(dev_attr::CARRIER, carrier.into());
                }
                if let Some(mtu) = set.mtu {
                    m.put_u32(dev_attr::MTU, mtu);
                }
                if let Some(mac) = &set.mac {
                    m.put_bytes(dev_attr::MAC, mac);
                }
                if let Some(up) = set.up {
                    m.put_u8(dev_attr::UP, up.into());
                }
                if let Some(rx) = set.rx_ring {
                    m.put_u32(dev_attr::RX_RING, rx);
                }
                if let Some(tx) = set.tx_ring {
                    m.put_u32(dev_attr::TX_RING, tx);
                }
            }
            Call::RegRead(dev, reg) => {
                dev.encode(m);
                m.put_str(dev_attr::REG_NAME, reg);
            }
            Call::RegWrite(dev, reg, value) => {
                dev.encode(m);
                m.put_str(dev_attr::REG_NAME, reg).put_u64(dev_attr::REG_VALUE, *value);
            }
            Call::SensorGet(dev, sensor) => {
                dev.encode(m);
                m.put_str(dev_attr::SENSOR_NAME, sensor);
            }
            Call::SensorSet(dev, sensor, value) => {
                dev.encode(m);
                m.put_str(dev_attr::SENSOR_NAME, sensor).put_i64(dev_attr::SENSOR_VALUE, *value);
            }
            Call::FwFlash(dev, image) => {
                dev.encode(m);
                match image {
                    FwImage::Version(version) => m.put_str(dev_attr::FW_VERSION, version),
                    FwImage::File(file) => m.put_str(dev_attr::FW_FILE, file),
                };
            }
            Call::FaultSet(dev, fault) => {
                dev.encode(m);
                encode_fault(fault, m);
            }
            Call::FaultClear(dev, command) => {
                dev.encode(m);
                if let Some(command) = command {
                    m.put_str(dev_attr::FAULT_CMD, command);
                }
            }
        }
    }
}

fn encode_fault(fault: &FaultInfo, m: &mut MessageBuilder) {
    m.put_str(dev_attr::FAULT_CMD, &fault.command);
    if fault.errno != 0 {
        m.put_u32(dev_attr::FAULT_ERRNO, fault.errno);
    }
    let optional = [
        (dev_attr::FAULT_COUNT, fault.count),
        (dev_attr::FAULT_PROBABILITY, fault.probability),
        (dev_attr::FAULT_INTERVAL_MS, fault.interval_ms),
        (dev_attr::FAULT_DOWN_MS, fault.down_ms),
        (dev_attr::PORT_INDEX, fault.port_index),
    ];
    for (attr, value) in optional {
        if let Some(value) = value {
            m.put_u32(attr, value);
        }
    }
    if fault.delay_ms != 0 {
        m.put_u32(dev_attr::FAULT_DELAY_MS, fault.delay_ms);
    }
    if let Some(fail_at) = fault.fail_at {
        m.put_u8(dev_attr::FAULT_FAIL_AT, fail_at);
    }
}

impl SimdevClient {
    /// Connects and resolves `simdev` by name through the controller.
    pub fn connect(target: Target) -> Result<Self> {
        let mut client = Client::connect(target)?;
        let family = client.resolve_family(simdev::FAMILY_NAME)?;
        Ok(SimdevClient { client, family })
    }

    /// What the controller said about the family (id, ops, groups).
    pub fn family(&self) -> &FamilyInfo {
        &self.family
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Starts a request of the family; `build` adds the attributes.
    pub fn request(&mut self, command: u8, build: impl FnOnce(&mut MessageBuilder)) -> MessageBuilder {
        let mut request = self.client.new_request(self.family.id, command, FAMILY_VERSION, 0);
        build(&mut request);
        request
    }

    /// The request for `call`, flagged as a dump when it is one.
    pub fn call_request(&mut self, call: &Call) -> MessageBuilder {
        let flags = if call.is_dump() { simdev_protocol::wire::NLM_F_DUMP } else { 0 };
        let mut request = self.client.new_request(self.family.id, call.command(), FAMILY_VERSION, flags);
        call.encode(&mut request);
        request
    }

    /// Runs `call` and returns its replies (the parts, for dumps).
    pub fn call(&mut self, call: &Call) -> Result<Vec<Reply>> {
        let request = self.call_request(call);
        if call.is_dump() {
            Ok(self.client.dump(request, Some(&DEV_ATTRS))?.parts)
        } else {
            self.client.execute(request, Some(&DEV_ATTRS))
        }
    }

    fn one<T>(&mut self, call: Call, decode: impl Fn(&Reply) -> Result<T>) -> Result<T> {
        let replies = self.call(&call)?;
        let reply = replies.first().ok_or_else(|| Error::Protocol("no reply".into()))?;
        decode(reply)
    }

    fn each<T>(&mut self, call: Call, decode: impl Fn(&Reply) -> Result<T>) -> Result<Vec<T>> {
        self.call(&call)?.iter().map(decode).collect()
    }

    pub fn dev_get(&mut self, dev: &DevSelector) -> Result<DevInfo> {
        self.one(Call::DevGet(dev.clone()), decode_dev)
    }

    pub fn dev_list(&mut self) -> Result<Vec<DevInfo>> {
        self.each(Call::DevList, decode_dev)
    }

    /// Applies a change; returns once the simulator (and the kernel behind
    /// it) accepted it.
    pub fn dev_set(&mut self, set: &DevSet) -> Result<()> {
        self.call(&Call::DevSet(set.clone())).map(drop)
    }

    /// Hot-plugs a device described by a TOML `[[device]]` table body.
    pub fn dev_new(&mut self, config_toml: &str) -> Result<DevInfo> {
        self.one(Call::DevNew(config_toml.to_string()), decode_dev)
    }

    pub fn dev_del(&mut self, dev: &DevSelector) -> Result<()> {
        self.call(&Call::DevDel(dev.clone())).map(drop)
    }

    pub fn dev_reset(&mut self, dev: &DevSelector) -> Result<()> {
        self.call(&Call::DevReset(dev.clone())).map(drop)
    }

    /// Ports of one device, or of all.
    pub fn port_list(&mut self, dev: Option<&DevSelector>) -> Result<Vec<Scoped<PortInfo>>> {
        self.each(Call::PortList(dev.cloned()), decode_scoped)
    }

    pub fn port_get(&mut self, dev: &DevSelector, port: u32) -> Result<PortInfo> {
        self.one(Call::PortGet(dev.clone(), port), |r| first_item(decode_scoped(r)?))
    }

    pub fn port_set(&mut self, dev: &DevSelector, port: u32, set: &PortSet) -> Result<()> {
        self.call(&Call::PortSet(dev.clone(), port, *set)).map(drop)
    }

    pub fn reg_list(&mut self, dev: Option<&DevSelector>) -> Result<Vec<Scoped<RegInfo>>> {
        self.each(Call::RegList(dev.cloned()), decode_scoped)
    }

    pub fn reg_read(&mut self, dev: &DevSelector, reg: &str) -> Result<RegInfo> {
        self.one(Call::RegRead(dev.clone(), reg.to_string()), |r| first_item(decode_scoped(r)?))
    }

    pub fn reg_write(&mut self, dev: &DevSelector, reg: &str, value: u64) -> Result<()> {
        self.call(&Call::RegWrite(dev.clone(), reg.to_string(), value)).map(drop)
    }

    pub fn sensor_list(&mut self, dev: Option<&DevSelector>) -> Result<Vec<Scoped<SensorInfo>>> {
        self.each(Call::SensorList(dev.cloned()), decode_scoped)
    }

    pub fn sensor_get(&mut self, dev: &DevSelector, sensor: &str) -> Result<SensorInfo> {
        self.one(Call::SensorGet(dev.clone(), sensor.to_string()), |r| first_item(decode_scoped(r)?))
    }

    pub fn sensor_set(&mut self, dev: &DevSelector, sensor: &str, value: i64) -> Result<()> {
        self.call(&Call::SensorSet(dev.clone(), sensor.to_string(), value)).map(drop)
    }

    pub fn fw_show(&mut self, dev: &DevSelector) -> Result<Scoped<FwInfo>> {
        self.one(Call::FwShow(dev.clone()), decode_scoped)
    }

    /// Starts a flash; it runs on in the simulator (see [`Event::FwStatus`]).
    pub fn fw_flash(&mut self, dev: &DevSelector, image: &FwImage) -> Result<()> {
        self.call(&Call::FwFlash(dev.clone(), image.clone())).map(drop)
    }

    pub fn stats(&mut self, dev: &DevSelector) -> Result<StatsInfo> {
        self.one(Call::Stats(dev.clone()), |r| Ok(StatsInfo::decode(r.message().genl_attrs(0))?))
    }

    pub fn fault_list(&mut self, dev: &DevSelector) -> Result<Scoped<FaultInfo>> {
        self.one(Call::FaultList(dev.clone()), decode_scoped)
    }

    /// Injects a fault (`fired` is ignored).
    pub fn fault_set(&mut self, dev: &DevSelector, fault: &FaultInfo) -> Result<()> {
        self.call(&Call::FaultSet(dev.clone(), fault.clone())).map(drop)
    }

    /// Removes a device's faults: those of `command`, or all.
    pub fn fault_clear(&mut self, dev: &DevSelector, command: Option<&str>) -> Result<()> {
        self.call(&Call::FaultClear(dev.clone(), command.map(str::to_string))).map(drop)
    }

    /// Subscribes to the named groups (all when empty), resolved through
    /// the controller like any family's groups.
    pub fn subscribe(&self, groups: &[&str]) -> Result<Subscription> {
        let names: Vec<&str> = if groups.is_empty() {
            self.family.mcast_groups.iter().map(|g| g.name.as_str()).collect()
        } else {
            groups.to_vec()
        };
        let ids = names
            .iter()
            .map(|name| {
                self.family
                    .group_id(name)
                    .ok_or_else(|| Error::Usage(format!("simdev has no multicast group `{name}`")))
            })
            .collect::<Result<Vec<_>>>()?;
        Subscription::new(self.client.target(), &ids)
    }

    /// The name of group number `id`.
    pub fn group_name(&self, id: u32) -> Option<&str> {
        self.family.mcast_groups.iter().find(|g| g.id == id).map(|g| g.name.as_str())
    }
}

pub fn decode_dev(reply: &Reply) -> Result<DevInfo> {
    Ok(DevInfo::decode(reply.message().genl_attrs(0))?)
}

pub fn decode_scoped<T: Nested>(reply: &Reply) -> Result<Scoped<T>> {
    Ok(Scoped::decode(reply.message().genl_attrs(0))?)
}

fn first_item<T>(scoped: Scoped<T>) -> Result<T> {
    scoped.items.into_iter().next().ok_or_else(|| Error::Protocol("reply without its object".into()))
}

/// A decoded simdev notification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    DevChange { dev: DevInfo },
    DevAdd { dev: DevInfo },
    DevDel { dev: DevInfo },
    RegChange { regs: Scoped<RegInfo> },
    SensorChange { sensors: Scoped<SensorInfo> },
    SensorAlarm { sensors: Scoped<SensorInfo> },
    FwStatus { status: Scoped<FwStatus> },
    FaultFired { faults: Scoped<FaultInfo> },
    FaultChange { faults: Scoped<FaultInfo> },
}

impl Event {
    /// Decodes a notification; `None` for commands this client does not know.
    pub fn decode(reply: &Reply) -> Result<Option<Event>> {
        let message = reply.message();
        let Some(genl) = message.genl_header() else { return Ok(None) };
        let attrs = message.genl_attrs(0);
        Ok(Some(match genl.cmd {
            cmd::DEV_CHANGE_NTF => Event::DevChange { dev: DevInfo::decode(attrs)? },
            cmd::DEV_ADD_NTF => Event::DevAdd { dev: DevInfo::decode(attrs)? },
            cmd::DEV_DEL_NTF => Event::DevDel { dev: DevInfo::decode(attrs)? },
            cmd::REG_CHANGE_NTF => Event::RegChange { regs: decode_scoped(reply)? },
            cmd::SENSOR_CHANGE_NTF => Event::SensorChange { sensors: decode_scoped(reply)? },
            cmd::SENSOR_ALARM_NTF => Event::SensorAlarm { sensors: decode_scoped(reply)? },
            cmd::FW_FLASH_STATUS_NTF => Event::FwStatus { status: decode_scoped(reply)? },
            cmd::FAULT_FIRED_NTF => Event::FaultFired { faults: decode_scoped(reply)? },
            cmd::FAULT_CHANGE_NTF => Event::FaultChange { faults: decode_scoped(reply)? },
            _ => return Ok(None),
        }))
    }

    /// The device the event is about.
    pub fn dev_id(&self) -> u32 {
        match self {
            Event::DevChange { dev } | Event::DevAdd { dev } | Event::DevDel { dev } => dev.id,
            Event::RegChange { regs } => regs.dev_id,
            Event::SensorChange { sensors } | Event::SensorAlarm { sensors } => sensors.dev_id,
            Event::FwStatus { status } => status.dev_id,
            Event::FaultFired { faults } | Event::FaultChange { faults } => faults.dev_id,
        }
    }
}
