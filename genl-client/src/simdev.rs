//! Typed calls of the `simdev` family: resolve it once through the
//! controller, then one method per command; [`Event`] decodes notifications.

use crate::ynl::codec::Codec;
use crate::ynl::value::Value;
use serde::de::DeserializeOwned;
use simdev_netlink::client::{Client, Reply, Subscription, Target};
use simdev_netlink::error::{Error, Result};
use simdev_protocol::ctrl::FamilyInfo;
use simdev_protocol::simdev::{
    self, format_mac, DevInfo, DevSelector, DevSet, FaultInfo, FwInfo, FwStatus, Mac, PortInfo, RegInfo, Scoped,
    SensorInfo, StatsInfo, DEV_ATTRS, FAMILY_VERSION,
};
use simdev_protocol::wire::MessageBuilder;
use simdev_ynl::Family;

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

/// Where an object of a family served from its spec lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectTarget {
    pub family: String,
    pub set: String,
}

impl ObjectTarget {
    fn put(&self, put: &mut dyn FnMut(&str, serde_json::Value)) {
        put("family-name", serde_json::json!(self.family));
        put("object-set", serde_json::json!(self.set));
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
    /// A port's LED, by the spec's `led-state` name (`off`, `on`, `blink`).
    PortLed(DevSelector, u32, String),
    /// A port's cable unplugged for this many milliseconds.
    PortFlap(DevSelector, u32, u64),
    /// A devlink health reporter of the device reports an error: its
    /// name, the error's message.
    HealthReport(DevSelector, String, String),
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
    ClockShow,
    /// Milliseconds to move the virtual clock by.
    ClockAdvance(u64),
    /// An object of a served family, added (its attributes as JSON text).
    ObjectNew(ObjectTarget, String),
    /// An object named by a JSON key, its attributes changed.
    ObjectSet(ObjectTarget, String, String),
    /// An object named by a JSON key, removed.
    ObjectDel(ObjectTarget, String),
    /// An operation as the YNL grammar names it (`--do OP | --dump OP
    /// --json JSON`); made by [`Call::by_spec`], which checks it.
    Spec {
        op: String,
        dump: bool,
        request: serde_json::Value,
    },
}

impl Call {
    /// The spec's name of the operation it runs.
    pub fn op(&self) -> &str {
        match self {
            Call::Spec { op, .. } => op,
            Call::DevGet(_) | Call::DevList => "dev-get",
            Call::DevSet(_) => "dev-set",
            Call::DevNew(_) => "dev-new",
            Call::DevDel(_) => "dev-del",
            Call::DevReset(_) => "dev-reset",
            Call::PortGet(..) | Call::PortList(_) => "port-get",
            Call::PortSet(..) => "port-set",
            Call::PortLed(..) => "dev-led-set",
            Call::PortFlap(..) => "port-flap",
            Call::HealthReport(..) => "health-report",
            Call::RegRead(..) | Call::RegList(_) => "reg-get",
            Call::RegWrite(..) => "reg-set",
            Call::SensorGet(..) | Call::SensorList(_) => "sensor-get",
            Call::SensorSet(..) => "sensor-set",
            Call::FwShow(_) => "fw-get",
            Call::FwFlash(..) => "fw-flash",
            Call::Stats(_) => "stats-get",
            Call::FaultList(_) => "fault-get",
            Call::FaultSet(..) => "fault-set",
            Call::FaultClear(..) => "fault-clear",
            Call::ClockShow => "clock-get",
            Call::ClockAdvance(_) => "clock-advance",
            Call::ObjectNew(..) => "object-new",
            Call::ObjectSet(..) => "object-set",
            Call::ObjectDel(..) => "object-del",
        }
    }

    /// Whether it is sent as a dump.
    pub fn is_dump(&self) -> bool {
        match self {
            Call::Spec { dump, .. } => *dump,
            _ => matches!(self, Call::DevList | Call::PortList(_) | Call::RegList(_) | Call::SensorList(_)),
        }
    }

    /// The YNL grammar's `--do OP` (or `--dump OP`) with `--json REQUEST`,
    /// checked against the spec as the request is encoded: an unknown
    /// operation or mode, or a request the spec cannot encode, is a usage
    /// error before anything is sent.
    pub fn by_spec(op: &str, dump: bool, request: serde_json::Value) -> Result<Call> {
        let spec = simdev_spec();
        let calls: Vec<&str> = spec.ops.iter().filter(|o| o.is_call()).map(|o| o.name.as_str()).collect();
        let found = spec.op(op).filter(|o| o.is_call()).ok_or_else(|| {
            Error::Usage(format!("simdev has no operation `{op}`; its operations: {}", calls.join(", ")))
        })?;
        let (has_mode, mode) = if dump { (found.dump.is_some(), "dump") } else { (found.do_.is_some(), "do") };
        if !has_mode {
            return Err(Error::Usage(format!("simdev `{op}` has no {mode}")));
        }
        if !request.is_object() {
            return Err(Error::Usage(format!("--json: the request must be an object of attributes, not {request}")));
        }
        let mut scratch = MessageBuilder::genl(0, 0, 0, 0, 0, FAMILY_VERSION);
        Codec::new(spec)
            .encode("dev", None, &request, &mut scratch)
            .map_err(|e| Error::Usage(format!("--json: {e}")))?;
        Ok(Call::Spec { op: op.to_string(), dump, request })
    }

    /// The request's attributes as the spec names them (what the YNL
    /// grammar's `--json` takes); the spec-driven encoder makes the message.
    pub fn request(&self) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let mut map = Map::new();
        let mut put = |key: &str, value: Value| {
            map.insert(key.to_string(), value);
        };
        let dev = |dev: &DevSelector, put: &mut dyn FnMut(&str, Value)| match dev {
            DevSelector::Id(id) => put("dev-id", json!(id)),
            DevSelector::Name(name) => put("dev-name", json!(name)),
        };
        let bool01 = |b: bool| json!(u8::from(b));
        match self {
            Call::Spec { request, .. } => return request.clone(),
            Call::DevList | Call::ClockShow => {}
            Call::ClockAdvance(ms) => put("clock-advance-ms", json!(ms)),
            Call::ObjectNew(target, attrs) => {
                target.put(&mut put);
                put("object-attrs", json!(attrs));
            }
            Call::ObjectSet(target, key, attrs) => {
                target.put(&mut put);
                put("object-key", json!(key));
                put("object-attrs", json!(attrs));
            }
            Call::ObjectDel(target, key) => {
                target.put(&mut put);
                put("object-key", json!(key));
            }
            Call::DevGet(d) | Call::DevDel(d) | Call::DevReset(d) | Call::FwShow(d) | Call::Stats(d) => {
                dev(d, &mut put)
            }
            Call::FaultList(d) => dev(d, &mut put),
            Call::DevSet(set) => {
                dev(&set.dev, &mut put);
                if let Some(mtu) = set.mtu {
                    put("mtu", json!(mtu));
                }
                if let Some(mac) = &set.mac {
                    put("mac", json!(format_mac(mac)));
                }
                if let Some(up) = set.up {
                    put("up", bool01(up));
                }
            }
            Call::DevNew(config) => put("config", json!(config)),
            Call::PortList(d) | Call::RegList(d) | Call::SensorList(d) => {
                if let Some(d) = d {
                    dev(d, &mut put);
                }
            }
            Call::PortGet(d, port) => {
                dev(d, &mut put);
                put("port-index", json!(port));
            }
            Call::PortLed(d, port, state) => {
                dev(d, &mut put);
                put("port-index", json!(port));
                put("led-state", json!(state));
            }
            Call::PortFlap(d, port, ms) => {
                dev(d, &mut put);
                put("port-index", json!(port));
                put("flap-ms", json!(ms));
            }
            Call::HealthReport(d, reporter, message) => {
                dev(d, &mut put);
                put("health-reporter", json!(reporter));
                put("health-message", json!(message));
            }
            Call::PortSet(d, port, set) => {
                dev(d, &mut put);
                put("port-index", json!(port));
                if let Some(carrier) = set.carrier {
                    put("carrier", bool01(carrier));
                }
                if let Some(mtu) = set.mtu {
                    put("mtu", json!(mtu));
                }
                if let Some(mac) = &set.mac {
                    put("mac", json!(format_mac(mac)));
                }
                if let Some(up) = set.up {
                    put("up", bool01(up));
                }
                if let Some(rx) = set.rx_ring {
                    put("rx-ring", json!(rx));
                }
                if let Some(tx) = set.tx_ring {
                    put("tx-ring", json!(tx));
                }
            }
            Call::RegRead(d, reg) => {
                dev(d, &mut put);
                put("reg-name", json!(reg));
            }
            Call::RegWrite(d, reg, value) => {
                dev(d, &mut put);
                put("reg-name", json!(reg));
                put("reg-value", json!(value));
            }
            Call::SensorGet(d, sensor) => {
                dev(d, &mut put);
                put("sensor-name", json!(sensor));
            }
            Call::SensorSet(d, sensor, value) => {
                dev(d, &mut put);
                put("sensor-name", json!(sensor));
                put("sensor-value", json!(value));
            }
            Call::FwFlash(d, image) => {
                dev(d, &mut put);
                match image {
                    FwImage::Version(version) => put("fw-version", json!(version)),
                    FwImage::File(file) => put("fw-file", json!(file)),
                }
            }
            Call::FaultSet(d, fault) => {
                dev(d, &mut put);
                put("fault-cmd", json!(fault.command));
                if fault.errno != 0 {
                    put("fault-errno", json!(fault.errno));
                }
                let optional = [
                    ("fault-count", fault.count),
                    ("fault-probability", fault.probability),
                    ("fault-interval-ms", fault.interval_ms),
                    ("fault-down-ms", fault.down_ms),
                    ("port-index", fault.port_index),
                ];
                for (key, value) in optional {
                    if let Some(value) = value {
                        put(key, json!(value));
                    }
                }
                if fault.delay_ms != 0 {
                    put("fault-delay-ms", json!(fault.delay_ms));
                }
                if let Some(fail_at) = fault.fail_at {
                    put("fault-fail-at", json!(fail_at));
                }
                if let Some(reporter) = &fault.reporter {
                    put("health-reporter", json!(reporter));
                }
            }
            Call::FaultClear(d, command) => {
                dev(d, &mut put);
                if let Some(command) = command {
                    put("fault-cmd", json!(command));
                }
            }
        }
        Value::Object(map)
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

    /// The request for `call`, flagged as a dump when it is one, encoded by
    /// the spec.
    pub fn call_request(&mut self, call: &Call) -> Result<MessageBuilder> {
        self.batch_request(call, None)
    }

    /// [`SimdevClient::call_request`], as part of batch `batch` (the
    /// `batch` attribute: later requests of a failed batch are skipped).
    pub fn batch_request(&mut self, call: &Call, batch: Option<u32>) -> Result<MessageBuilder> {
        let spec = simdev_spec();
        let op = spec.op(call.op()).expect("Call names the spec's operations");
        let cmd = op.request_value.expect("an operation has a request value");
        let flags = if call.is_dump() { simdev_protocol::wire::NLM_F_DUMP } else { 0 };
        let mut request = self.client.new_request(self.family.id, cmd, FAMILY_VERSION, flags);
        let mut attrs = call.request();
        if let Some(batch) = batch {
            attrs["batch"] = batch.into();
        }
        Codec::new(spec)
            .encode("dev", None, &attrs, &mut request)
            .map_err(|e| Error::Usage(format!("{}: {e}", call.op())))?;
        Ok(request)
    }

    /// Runs `call` and returns its replies (the parts, for dumps).
    pub fn call(&mut self, call: &Call) -> Result<Vec<Reply>> {
        let request = self.call_request(call)?;
        if call.is_dump() {
            Ok(self.client.dump(request, Some(&DEV_ATTRS))?.parts)
        } else {
            self.client.execute(request, Some(&DEV_ATTRS))
        }
    }

    /// Runs `call` and decodes its answer by the spec.
    pub fn call_value(&mut self, call: &Call) -> Result<Value> {
        let replies = self.call(call)?;
        decode_answer(call, &replies)
    }

    /// Whether programs under `genl-client exec` see the served family
    /// `name` in place of the kernel's family of that name (`family-get`).
    pub fn family_shadows(&mut self, name: &str) -> Result<bool> {
        let request = self.request(simdev_protocol::simdev::cmd::FAMILY_GET, |b| {
            b.put_str(simdev_protocol::simdev::dev_attr::FAMILY_NAME, name);
        });
        let replies = self.client.execute(request, Some(&DEV_ATTRS))?;
        let shadow = replies.iter().find_map(|reply| {
            reply.message().genl_attrs(0).find(|a| a.kind() == simdev_protocol::simdev::dev_attr::FAMILY_SHADOW)?.u8()
        });
        shadow.map(|s| s != 0).ok_or_else(|| Error::Protocol(format!("family-get {name}: no family-shadow")))
    }

    /// A do's reply, as `T`.
    fn one<T: DeserializeOwned>(&mut self, call: Call) -> Result<T> {
        match self.call_value(&call)? {
            Value::None => Err(Error::Protocol(format!("{}: no reply", call.op()))),
            value => typed(&value),
        }
    }

    /// A dump's replies, each as `T` (one at a time: a dump of many
    /// objects never holds more than one decoded form at once).
    fn each<T: DeserializeOwned>(&mut self, call: Call) -> Result<Vec<T>> {
        let replies = self.call(&call)?;
        let codec = Codec::new(simdev_spec());
        replies.iter().map(|reply| typed(&decode_reply(&codec, reply)?)).collect()
    }

    pub fn dev_get(&mut self, dev: &DevSelector) -> Result<DevInfo> {
        self.one(Call::DevGet(dev.clone()))
    }

    pub fn dev_list(&mut self) -> Result<Vec<DevInfo>> {
        self.each(Call::DevList)
    }

    /// Applies a change; returns once the simulator (and the kernel behind
    /// it) accepted it.
    pub fn dev_set(&mut self, set: &DevSet) -> Result<()> {
        self.call(&Call::DevSet(set.clone())).map(drop)
    }

    /// Hot-plugs a device described by a TOML `[[device]]` table body.
    pub fn dev_new(&mut self, config_toml: &str) -> Result<DevInfo> {
        self.one(Call::DevNew(config_toml.to_string()))
    }

    pub fn dev_del(&mut self, dev: &DevSelector) -> Result<()> {
        self.call(&Call::DevDel(dev.clone())).map(drop)
    }

    pub fn dev_reset(&mut self, dev: &DevSelector) -> Result<()> {
        self.call(&Call::DevReset(dev.clone())).map(drop)
    }

    /// Ports of one device, or of all.
    pub fn port_list(&mut self, dev: Option<&DevSelector>) -> Result<Vec<Scoped<PortInfo>>> {
        self.each(Call::PortList(dev.cloned()))
    }

    pub fn port_get(&mut self, dev: &DevSelector, port: u32) -> Result<PortInfo> {
        first_item(self.one(Call::PortGet(dev.clone(), port))?)
    }

    pub fn port_set(&mut self, dev: &DevSelector, port: u32, set: &PortSet) -> Result<()> {
        self.call(&Call::PortSet(dev.clone(), port, *set)).map(drop)
    }

    pub fn reg_list(&mut self, dev: Option<&DevSelector>) -> Result<Vec<Scoped<RegInfo>>> {
        self.each(Call::RegList(dev.cloned()))
    }

    pub fn reg_read(&mut self, dev: &DevSelector, reg: &str) -> Result<RegInfo> {
        first_item(self.one(Call::RegRead(dev.clone(), reg.to_string()))?)
    }

    pub fn reg_write(&mut self, dev: &DevSelector, reg: &str, value: u64) -> Result<()> {
        self.call(&Call::RegWrite(dev.clone(), reg.to_string(), value)).map(drop)
    }

    pub fn sensor_list(&mut self, dev: Option<&DevSelector>) -> Result<Vec<Scoped<SensorInfo>>> {
        self.each(Call::SensorList(dev.cloned()))
    }

    pub fn sensor_get(&mut self, dev: &DevSelector, sensor: &str) -> Result<SensorInfo> {
        first_item(self.one(Call::SensorGet(dev.clone(), sensor.to_string()))?)
    }

    pub fn sensor_set(&mut self, dev: &DevSelector, sensor: &str, value: i64) -> Result<()> {
        self.call(&Call::SensorSet(dev.clone(), sensor.to_string(), value)).map(drop)
    }

    pub fn fw_show(&mut self, dev: &DevSelector) -> Result<Scoped<FwInfo>> {
        self.one(Call::FwShow(dev.clone()))
    }

    /// Starts a flash; it runs on in the simulator (see [`Event::FwStatus`]).
    pub fn fw_flash(&mut self, dev: &DevSelector, image: &FwImage) -> Result<()> {
        self.call(&Call::FwFlash(dev.clone(), image.clone())).map(drop)
    }

    pub fn stats(&mut self, dev: &DevSelector) -> Result<StatsInfo> {
        self.one(Call::Stats(dev.clone()))
    }

    pub fn fault_list(&mut self, dev: &DevSelector) -> Result<Scoped<FaultInfo>> {
        self.one(Call::FaultList(dev.clone()))
    }

    /// Injects a fault (`fired` is ignored).
    pub fn fault_set(&mut self, dev: &DevSelector, fault: &FaultInfo) -> Result<()> {
        self.call(&Call::FaultSet(dev.clone(), fault.clone())).map(drop)
    }

    /// Removes a device's faults: those of `command`, or all.
    pub fn fault_clear(&mut self, dev: &DevSelector, command: Option<&str>) -> Result<()> {
        self.call(&Call::FaultClear(dev.clone(), command.map(str::to_string))).map(drop)
    }

    /// Simulated time since the simulator started, and whether its clock
    /// is virtual.
    pub fn clock(&mut self) -> Result<(std::time::Duration, bool)> {
        clock_of(&self.call_value(&Call::ClockShow)?)
    }

    /// Moves the virtual clock forward by `span`; returns once every timer
    /// due in it has run, with the new simulated time.
    pub fn clock_advance(&mut self, span: std::time::Duration) -> Result<std::time::Duration> {
        let ms = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
        self.call(&Call::ClockAdvance(ms))?;
        Ok(self.clock()?.0)
    }

    /// Subscribes to the named groups (all when empty), resolved through
    /// the controller like any family's groups, by unicast
    /// ([`subscribe_by_unicast`]): no privilege needed, and only this
    /// simulator's notifications. (To join the groups as a kernel client
    /// would, give their ids to [`Subscription::new`].)
    pub fn subscribe(&self, groups: &[&str]) -> Result<Subscription> {
        subscribe_by_unicast(self.client.target(), &self.family, &self.group_ids(groups)?)
    }

    /// The id of one of simdev's groups.
    pub fn group_id(&self, name: &str) -> Result<u32> {
        Ok(self.group_ids(&[name])?[0])
    }

    /// The ids of the named groups (all when empty).
    fn group_ids(&self, groups: &[&str]) -> Result<Vec<u32>> {
        let names: Vec<&str> = if groups.is_empty() {
            self.family.mcast_groups.iter().map(|g| g.name.as_str()).collect()
        } else {
            groups.to_vec()
        };
        names
            .iter()
            .map(|name| {
                self.family
                    .group_id(name)
                    .ok_or_else(|| Error::Usage(format!("simdev has no multicast group `{name}`")))
            })
            .collect()
    }

    /// The name of group number `id`.
    pub fn group_name(&self, id: u32) -> Option<&str> {
        self.family.mcast_groups.iter().find(|g| g.id == id).map(|g| g.name.as_str())
    }
}

/// Subscribes to simdev's groups `ids` (numbers from the controller): joins
/// them, or, where the kernel refuses (joining `NETLINK_USERSOCK` groups
/// takes `CAP_NET_ADMIN`), asks the simulator to unicast their
/// notifications to a socket of its own (`subscribe`, simdev's extension).
/// Either way the [`Subscription`] gives each notification with its group.
pub fn subscribe_groups(target: Target, family: &FamilyInfo, ids: &[u32]) -> Result<Subscription> {
    match Subscription::new(target, ids) {
        Err(Error::SubscribePermission) => subscribe_by_unicast(target, family, ids),
        other => other,
    }
}

/// Asks the simulator to unicast the notifications of simdev's groups `ids`
/// to a socket of its own (`subscribe`, simdev's extension). Unlike joining,
/// it needs no privilege, and it hears only this simulator: every
/// simulator on the machine multicasts on the same `NETLINK_USERSOCK`
/// groups, so a member's receive buffer also takes (and drops) the others'
/// notifications, and a busy one can overflow it.
pub fn subscribe_by_unicast(target: Target, family: &FamilyInfo, ids: &[u32]) -> Result<Subscription> {
    let mut client = Client::connect(target)?;
    let mut request = client.new_request(family.id, simdev::cmd::SUBSCRIBE, FAMILY_VERSION, 0);
    for &id in ids {
        request.put_u32(simdev::dev_attr::MCAST_GROUP, id);
    }
    client.execute(request, Some(&DEV_ATTRS))?;
    let groups = simdev_spec()
        .ops
        .iter()
        .filter(|op| op.is_notification())
        .filter_map(|op| Some((op.reply_value?, family.group_id(op.mcgrp.as_deref()?)?)))
        .collect();
    client.into_unicast_subscription(groups)
}

/// The simdev spec (built in), read once.
pub fn simdev_spec() -> &'static Family {
    static SPEC: std::sync::OnceLock<Family> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| Family::from_yaml(simdev::SPEC_YAML).expect("the build checked the built-in spec"))
}

/// The answer to `call` as the spec decodes it: a do's reply (`None` when
/// only acknowledged), a dump's list of replies.
pub fn decode_answer(call: &Call, replies: &[Reply]) -> Result<Value> {
    let codec = Codec::new(simdev_spec());
    let mut decoded = replies.iter().map(|r| decode_reply(&codec, r)).collect::<Result<Vec<_>>>()?;
    Ok(match (call.is_dump(), decoded.len()) {
        (true, _) => Value::List(decoded),
        (false, 0) => Value::None,
        (false, 1) => decoded.pop().expect("one"),
        (false, _) => Value::List(decoded),
    })
}

/// One reply's attributes, decoded by the spec.
fn decode_reply(codec: &Codec, reply: &Reply) -> Result<Value> {
    codec.decode("dev", reply.message().genl_attrs(0)).map_err(|e| Error::Protocol(e.0))
}

/// A decoded value as a typed message (whose serde form is the spec's).
pub fn typed<T: DeserializeOwned>(value: &Value) -> Result<T> {
    T::deserialize(value).map_err(|e| Error::Protocol(format!("an answer of unexpected shape: {e}")))
}

/// `clock-get`'s reply: the time and whether the clock is virtual.
fn clock_of(value: &Value) -> Result<(std::time::Duration, bool)> {
    let json = value.to_json();
    let ms = json["clock-ms"].as_u64().ok_or_else(|| Error::Protocol("clock reply without clock-ms".into()))?;
    Ok((std::time::Duration::from_millis(ms), json["clock-virtual"] == 1))
}

fn first_item<T>(scoped: Scoped<T>) -> Result<T> {
    scoped.items.into_iter().next().ok_or_else(|| Error::Protocol("reply without its object".into()))
}

/// A decoded simdev notification.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Decodes a notification by the spec; `None` for commands the spec
    /// has no notification for. Also returns the spec's name and the
    /// decoded message (what `monitor -j` prints).
    pub fn decode_named(reply: &Reply) -> Result<Option<(String, Value, Event)>> {
        let message = reply.message();
        let Some(genl) = message.genl_header() else { return Ok(None) };
        let spec = simdev_spec();
        let Some(op) = spec.ops.iter().find(|op| op.is_notification() && op.reply_value == Some(genl.cmd)) else {
            return Ok(None);
        };
        let msg = Codec::new(spec).decode("dev", message.genl_attrs(0)).map_err(|e| Error::Protocol(e.0))?;
        let event = match op.name.as_str() {
            "dev-change-ntf" => Event::DevChange { dev: typed(&msg)? },
            "dev-add-ntf" => Event::DevAdd { dev: typed(&msg)? },
            "dev-del-ntf" => Event::DevDel { dev: typed(&msg)? },
            "reg-change-ntf" => Event::RegChange { regs: typed(&msg)? },
            "sensor-change-ntf" => Event::SensorChange { sensors: typed(&msg)? },
            "sensor-alarm-ntf" => Event::SensorAlarm { sensors: typed(&msg)? },
            "fw-flash-status-ntf" => Event::FwStatus { status: typed(&msg)? },
            "fault-fired-ntf" => Event::FaultFired { faults: typed(&msg)? },
            "fault-change-ntf" => Event::FaultChange { faults: typed(&msg)? },
            _ => return Ok(None),
        };
        Ok(Some((op.name.clone(), msg, event)))
    }

    /// Decodes a notification; `None` for commands this client does not know.
    pub fn decode(reply: &Reply) -> Result<Option<Event>> {
        Ok(Self::decode_named(reply)?.map(|(_, _, event)| event))
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

#[cfg(test)]
mod tests {
    use super::*;
    use simdev_protocol::simdev::{Access, DriverStats, Nested, OperState, PortStats, Rings, ServerStats};
    use simdev_protocol::wire::split_messages;

    /// What the simulator encodes, decoded the client's way: by the spec,
    /// then into the typed message.
    fn through_the_wire<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
        encode: impl FnOnce(&mut MessageBuilder),
    ) -> T {
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, 1, 1);
        encode(&mut b);
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        let value = Codec::new(simdev_spec()).decode("dev", message.genl_attrs(0)).unwrap();
        let direct = typed(&value).unwrap();
        let via_json: T = serde_json::from_value(value.to_json()).unwrap();
        assert_eq!(direct, via_json, "the typed form is the JSON form");
        direct
    }

    fn scoped<T: Nested + Clone>(items: Vec<T>) -> Scoped<T> {
        Scoped { dev_id: 4, dev_name: "hw0".into(), items }
    }

    #[test]
    fn every_reply_the_simulator_encodes_decodes_by_the_spec() {
        let dev = DevInfo {
            id: 3,
            name: "sim0".into(),
            backend: "veth".into(),
            netns: None,
            devlink: Some("netdevsim/netdevsim1".into()),
            ports: vec![PortInfo {
                index: 0,
                ifindex: 7,
                ifname: "sim0p0".into(),
                peer_ifname: "sim0p0-peer".into(),
                mac: [2, 0, 0, 0, 0, 1],
                mtu: 1500,
                up: true,
                oper_state: OperState::UP,
                carrier: true,
                rings: Some(Rings { rx: 512, rx_max: 4096, tx: 256, tx_max: 4096 }),
                missing: true,
                led_state: simdev::led_state::ON as u8,
            }],
        };
        assert_eq!(through_the_wire::<DevInfo>(|b| dev.encode(b)), dev);
        let regs = scoped(vec![
            RegInfo { name: "ctrl".into(), offset: 0, width: 32, access: Access::Rw, reset: 1, value: Some(5) },
            RegInfo { name: "doorbell".into(), offset: 8, width: 16, access: Access::Wo, reset: 0, value: None },
        ]);
        assert_eq!(through_the_wire::<Scoped<RegInfo>>(|b| regs.encode(b)), regs);
        let sensors = scoped(vec![SensorInfo {
            name: "temp".into(),
            kind: "temperature".into(),
            unit: "mC".into(),
            value: -5000,
            min: -40000,
            max: 125000,
            alarm_low: None,
            alarm_high: Some(90000),
            alarm: true,
        }]);
        assert_eq!(through_the_wire::<Scoped<SensorInfo>>(|b| sensors.encode(b)), sensors);
        let fw = scoped(vec![FwInfo {
            version: "1.2.3".into(),
            flash_duration_ms: Some(500),
            flashing: true,
            pending_version: Some("2.0".into()),
            stored_version: Some("1.9".into()),
        }]);
        assert_eq!(through_the_wire::<Scoped<FwInfo>>(|b| fw.encode(b)), fw);
        let status = scoped(vec![FwStatus {
            message: "Flashing".into(),
            version: "2.0".into(),
            done: 5,
            total: 10,
            error: 0,
            finished: false,
        }]);
        assert_eq!(through_the_wire::<Scoped<FwStatus>>(|b| status.encode(b)), status);
        let faults = scoped(vec![FaultInfo {
            command: "dev-set".into(),
            errno: 5,
            count: Some(2),
            delay_ms: 10,
            knob: Some("fail_reload".into()),
            ..Default::default()
        }]);
        assert_eq!(through_the_wire::<Scoped<FaultInfo>>(|b| faults.encode(b)), faults);
        let stats = StatsInfo {
            dev_id: 1,
            dev_name: "s".into(),
            driver: DriverStats { commands: 9, errors: 1, faults_fired: 1, notifications: u64::MAX },
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
        assert_eq!(through_the_wire::<StatsInfo>(|b| stats.encode(b)), stats);
    }

    #[test]
    fn every_call_encodes_by_the_spec() {
        let dev = DevSelector::Name("d0".into());
        let calls = [
            Call::DevGet(DevSelector::Id(1)),
            Call::DevList,
            Call::DevSet(DevSet { dev: dev.clone(), mtu: Some(1400), mac: Some([2, 0, 0, 0, 0, 1]), up: Some(true) }),
            Call::DevNew("name = \"x\"".into()),
            Call::DevDel(dev.clone()),
            Call::DevReset(dev.clone()),
            Call::PortGet(dev.clone(), 1),
            Call::PortList(Some(dev.clone())),
            Call::PortSet(dev.clone(), 0, PortSet { carrier: Some(false), mtu: Some(9000), ..Default::default() }),
            Call::PortLed(dev.clone(), 1, "blink".into()),
            Call::PortFlap(dev.clone(), 1, 250),
            Call::HealthReport(dev.clone(), "dummy".into(), "broken".into()),
            Call::RegRead(dev.clone(), "ctrl".into()),
            Call::RegList(None),
            Call::RegWrite(dev.clone(), "ctrl".into(), u64::MAX),
            Call::SensorGet(dev.clone(), "t".into()),
            Call::SensorList(None),
            Call::SensorSet(dev.clone(), "t".into(), -3),
            Call::FwShow(dev.clone()),
            Call::FwFlash(dev.clone(), FwImage::File("f.bin".into())),
            Call::Stats(dev.clone()),
            Call::FaultList(dev.clone()),
            Call::FaultSet(dev.clone(), FaultInfo { command: "reg-get".into(), errno: 5, ..Default::default() }),
            Call::FaultClear(dev.clone(), None),
            Call::ClockShow,
            Call::ClockAdvance(1500),
            Call::ObjectNew(ObjectTarget { family: "dpll".into(), set: "pin".into() }, r#"{"id": 2}"#.into()),
            Call::ObjectSet(ObjectTarget { family: "dpll".into(), set: "dpll".into() }, "{}".into(), "{}".into()),
            Call::ObjectDel(ObjectTarget { family: "dpll".into(), set: "pin".into() }, r#"{"id": 2}"#.into()),
        ];
        let codec = Codec::new(simdev_spec());
        for call in calls {
            let op = simdev_spec().op(call.op()).unwrap();
            let command = simdev::FAMILY.command(op.request_value.unwrap()).unwrap();
            let mut b = MessageBuilder::genl(0x13, 0, 1, 0, command.id, 1);
            codec.encode("dev", None, &call.request(), &mut b).unwrap();
            let bytes = b.finish();
            let message = split_messages(&bytes).next().unwrap();
            // Each request passes its operation's own policy in the simulator.
            let policy = command.policy(call.is_dump()).unwrap();
            simdev_protocol::policy::parse(policy, message.genl_attrs(0), simdev_protocol::policy::Strictness::Strict)
                .unwrap_or_else(|e| panic!("{call:?}: {}", e.message));
        }
    }
}
