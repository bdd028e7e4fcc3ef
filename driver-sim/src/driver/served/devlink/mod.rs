//! The simulated devices' devlink personality: with `devlink` served from
//! the kernel's spec (`[[family]] spec = "devlink"`), every simulated
//! device is a devlink instance (`simdev/NAME`) that answers as netdevsim's
//! instances do, in the attributes and order the kernel's devlink core
//! fills them (`net/devlink/`): its ports are devlink ports of flavour
//! physical with their netdevs, `info` reports its driver and firmware,
//! and it has netdevsim's parameters, health reporters, dummy region and
//! traps ([`instance::Instance`]), a flash ([`flash`]) and a reload
//! ([`reload`]). Its driver's `config` group is registered too (the spec
//! lists none), and every change is announced there as devlink announces
//! it.

pub mod flash;
pub mod health;
pub mod instance;
pub mod params;
pub mod regions;
pub mod reload;
pub mod traps;
pub mod wire;

use super::personality::{Answer, DumpFraming, Entry, Personality};
use super::store::Attrs;
use super::NotFound;
use crate::kernel::dump::DoneFraming;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use serde_json::json;
use simdev_protocol::policy::errno;
use simdev_protocol::wire::{Attr, MessageBuilder, NLMSG_DONE, NLM_F_ACK, NLM_F_MULTI};
use simdev_protocol::ynl::codec::Codec;
use simdev_ynl::Op;
use traps::Traps;
use wire::{attr, cmd};

/// What `info` names as the driver.
pub const DRIVER_NAME: &str = "simdev";
/// The version name `info` reports the simulated firmware under.
pub const FW_VERSION_NAME: &str = "fw";

pub struct Devlink;

pub static DEVLINK: Devlink = Devlink;

/// A cursor over a per-device collection: the device id above, the
/// item's index below.
const INDEX_BITS: u32 = 16;

/// An instance's handle, as every devlink message starts.
fn handle(instance: &instance::Instance) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("bus-name".into(), json!(instance.bus));
    attrs.insert("dev-name".into(), json!(instance.dev));
    attrs
}

fn version(name: &str, value: &str) -> serde_json::Value {
    json!({"info-version-name": name, "info-version-value": value})
}

fn bare(errno: i32) -> HandlerError {
    HandlerError { errno, ext: Default::default() }
}

/// The get ops whose objects are this personality's, and the commands
/// devlink announces their creation and removal with.
const OBJECTS: &[(&str, Option<(u8, u8)>)] = &[
    ("get", Some((cmd::NEW, cmd::DEL))),
    ("port-get", Some((cmd::PORT_NEW, cmd::PORT_DEL))),
    ("info-get", None),
    ("eswitch-get", None),
    ("param-get", Some((cmd::PARAM_NEW, cmd::PARAM_DEL))),
    ("health-reporter-get", None),
    ("health-reporter-dump-get", None),
    ("region-get", Some((cmd::REGION_NEW, cmd::REGION_DEL))),
    ("region-read", None),
    ("trap-get", Some((cmd::TRAP_NEW, cmd::TRAP_DEL))),
    ("trap-group-get", Some((cmd::TRAP_GROUP_NEW, cmd::TRAP_GROUP_DEL))),
    ("trap-policer-get", Some((cmd::TRAP_POLICER_NEW, cmd::TRAP_POLICER_DEL))),
];

impl Personality for Devlink {
    fn groups(&self) -> &'static [&'static str] {
        &["config"]
    }

    /// `devlink_get_from_attrs_lock`, `devlink_port_get_from_attrs`: a
    /// bare `ENODEV`.
    fn not_found(&self) -> NotFound {
        NotFound { errno: libc::ENODEV, extack: false }
    }

    /// The device exists but not the object: each object's own answer.
    fn not_found_error(
        &self,
        sim: &Simulator,
        get_op: &str,
        wanted: &Attrs,
        request: &Request<'_>,
    ) -> Option<HandlerError> {
        device_of(sim, wanted).ok()?;
        let named = |kind: u16, message: &str| match request.all(kind).next() {
            Some(a) => HandlerError::at(errno::ENOENT, message, &a),
            None => HandlerError::new(errno::ENOENT, message),
        };
        Some(match get_op {
            "param-get" | "health-reporter-get" | "region-get" => bare(errno::EINVAL),
            "trap-get" => named(attr::TRAP_NAME, "Device did not register this trap"),
            "trap-group-get" => named(attr::TRAP_GROUP_NAME, "Device did not register this trap group"),
            "trap-policer-get" => named(attr::TRAP_POLICER_ID, "Device did not register this trap policer"),
            _ => return None,
        })
    }

    /// `devlink_fmsg_dumpit` and `devlink_nl_region_read_dumpit` start
    /// their parts with `NLM_F_ACK | NLM_F_MULTI` and end when called
    /// again (`NLMSG_DONE` alone). A port dump's parts are `PORT_NEW`:
    /// the spec's 3 ("due to a bug, port dump returns DEVLINK_CMD_NEW")
    /// is what the kernel fixed ("devlink: fix port dump cmd type", in
    /// the 6.12 kernel netdevsim runs in, whose own spec still says 3).
    fn dump_framing(&self, op: &str) -> DumpFraming {
        match op {
            "health-reporter-dump-get" | "region-read" => {
                DumpFraming { extra_flags: NLM_F_ACK, done: DoneFraming::Alone, cmd: None }
            }
            "port-get" => DumpFraming { cmd: Some(cmd::PORT_NEW), ..Default::default() },
            _ => DumpFraming::default(),
        }
    }

    /// netdevsim's ports have no split callbacks.
    fn lacks(&self, op: &str) -> bool {
        matches!(op, "port-split" | "port-unsplit")
    }

    fn act(
        &self,
        sim: &mut Simulator,
        ctx: &mut Context,
        request: &Request<'_>,
        op: &Op,
        wanted: &Attrs,
    ) -> Option<Answer> {
        Some(match op.name.as_str() {
            "flash-update" => flash::update(sim, ctx, request, wanted),
            "reload" => reload::reload(sim, ctx, request, wanted),
            "param-set" => param_set(sim, request, wanted),
            "health-reporter-recover"
            | "health-reporter-diagnose"
            | "health-reporter-set"
            | "health-reporter-dump-clear"
            | "health-reporter-test" => health_op(sim, ctx, request, &op.name, wanted),
            "region-new" => region_new(sim, request, wanted),
            "region-del" => region_del(sim, wanted),
            "eswitch-set" => eswitch_set(sim, wanted),
            "trap-set" | "trap-group-set" | "trap-policer-set" => trap_op(sim, ctx, request, &op.name, wanted),
            _ => return None,
        })
    }

    fn answers(&self, get_op: &str) -> bool {
        OBJECTS.iter().any(|(name, _)| *name == get_op)
    }

    fn check_dump(&self, sim: &mut Simulator, op: &str, wanted: &Attrs) -> Result<(), HandlerError> {
        match op {
            "region-read" => check_region_read(sim, wanted),
            "health-reporter-dump-get" => {
                let id = device_of(sim, wanted)?;
                let name = wanted.get("health-reporter-name").and_then(|v| v.as_str());
                let device = sim.devices.get(id).expect("found");
                let reporter = device
                    .devlink
                    .reporters
                    .iter()
                    .find(|r| Some(r.name.as_str()) == name)
                    .ok_or(bare(errno::EINVAL))?;
                // `devlink_nl_health_reporter_dump_get_dumpit`.
                match reporter.callbacks.dump {
                    Some(_) => Ok(()),
                    None => Err(bare(errno::EOPNOTSUPP)),
                }
            }
            _ => Ok(()),
        }
    }

    fn object(&self, sim: &mut Simulator, get_op: &str, wanted: &Attrs, cursor: u64) -> Option<(Entry, u64)> {
        match get_op {
            "region-read" => region_chunks(sim, wanted, cursor),
            _ => per_device(sim, cursor, |sim, id, index| item(sim, get_op, wanted, id, index)),
        }
    }
}

/// The first item at or after `cursor` of the per-device collections
/// `item` reads (`None` past a device's last: the next device's first).
fn per_device(
    sim: &mut Simulator,
    cursor: u64,
    mut item: impl FnMut(&mut Simulator, u32, usize) -> Option<Option<Entry>>,
) -> Option<(Entry, u64)> {
    let mut cursor = cursor;
    loop {
        let id = sim.devices.first_from(cursor >> INDEX_BITS)?;
        let mut index = if u64::from(id) == cursor >> INDEX_BITS { (cursor & 0xffff) as usize } else { 0 };
        loop {
            match item(sim, id, index) {
                None => break,
                Some(None) => index += 1,
                Some(Some(entry)) => return Some((entry, (u64::from(id) << INDEX_BITS) | (index as u64 + 1))),
            }
        }
        cursor = (u64::from(id) + 1) << INDEX_BITS;
    }
}

/// Item `index` of device `id`'s objects of `get_op`: `None` past the
/// last, `Some(None)` for one the request's filter skips unread (a read
/// that changes state: a health dump, a drop counter).
fn item(sim: &mut Simulator, get_op: &str, wanted: &Attrs, id: u32, index: usize) -> Option<Option<Entry>> {
    let info = if get_op == "port-get" { sim.devices.info(id).ok() } else { None };
    let fw = if get_op == "info-get" { sim.devices.fw_info(id).ok() } else { None };
    let stats = if get_op == "get" { Some(reload::dev_stats(sim, id)) } else { None };
    let uptime_ms = sim.timers.now().as_millis() as u64;
    let device = sim.devices.get_mut(id).expect("listed");
    let mut attrs = handle(&device.devlink);
    let skip = |name: &str, value: &str| wanted.get(name).is_some_and(|w| w.as_str() != Some(value));
    let once = |entry: Entry| (index == 0).then_some(Some(entry));
    match get_op {
        // `devlink_nl_fill`: the handle, whether a reload failed, the
        // reload counts.
        "get" => {
            attrs.insert("reload-failed".into(), json!(u8::from(device.devlink.reload_failed)));
            attrs.insert("dev-stats".into(), stats?);
            once(attrs.into())
        }
        // `devlink_nl_port_fill`: handle, index, type and netdev, then
        // `devlink_nl_port_attrs_put` (splittable, flavour, number:
        // netdevsim numbers its physical ports from 1).
        "port-get" => {
            if index >= device.ports.len() {
                return None;
            }
            attrs.insert("port-index".into(), json!(index));
            attrs.insert("port-type".into(), json!("eth"));
            if let Some(netdev) = info.as_ref().and_then(|i| i.ports.get(index)).filter(|p| !p.missing) {
                attrs.insert("port-netdev-ifindex".into(), json!(netdev.ifindex));
                attrs.insert("port-netdev-name".into(), json!(netdev.ifname));
            }
            attrs.insert("port-splittable".into(), json!(0));
            attrs.insert("port-flavour".into(), json!("physical"));
            attrs.insert("port-number".into(), json!(index + 1));
            Some(Some(attrs.into()))
        }
        // `devlink_nl_info_fill`: handle, the driver's name, then what
        // the driver puts: its serial number, the simulated firmware,
        // stored then running.
        "info-get" => {
            let fw = fw?;
            attrs.insert("info-driver-name".into(), json!(DRIVER_NAME));
            if let Some(serial) = &device.devlink.serial {
                attrs.insert("info-serial-number".into(), json!(serial));
            }
            // A flash's version while it runs, then until activated.
            let stored = fw.pending_version.clone().or(fw.stored_version.clone()).unwrap_or_else(|| fw.version.clone());
            attrs.insert("info-version-stored".into(), json!([version(FW_VERSION_NAME, &stored)]));
            attrs.insert("info-version-running".into(), json!([version(FW_VERSION_NAME, &fw.version)]));
            once(attrs.into())
        }
        // netdevsim's eswitch has a mode, and no inline or encap mode
        // callbacks.
        "eswitch-get" => {
            let mode = if device.devlink.switchdev { "switchdev" } else { "legacy" };
            attrs.insert("eswitch-mode".into(), json!(mode));
            once(attrs.into())
        }
        "param-get" => {
            let param = device.devlink.params.get(index)?;
            let keys = Attrs::from_iter([("param-name".to_string(), json!(param.name))]);
            Some(Some(Entry { attrs, keys, raw: param.nest() }))
        }
        "health-reporter-get" => {
            let reporter = device.devlink.reporters.get(index)?;
            let keys = Attrs::from_iter([("health-reporter-name".to_string(), json!(reporter.name))]);
            Some(Some(Entry { attrs, keys, raw: reporter.nest() }))
        }
        // `devlink_fmsg_dumpit`: the kept dump (taken now if none is), no
        // handle.
        "health-reporter-dump-get" => {
            let reporter = device.devlink.reporters.get_mut(index)?;
            if skip("health-reporter-name", &reporter.name) {
                return Some(None);
            }
            reporter.take_dump(uptime_ms, None);
            // One without a dump callback is refused before the dump starts.
            let Some((fmsg, _, _)) = reporter.dump.as_ref() else { return Some(None) };
            let raw = fmsg.nest();
            let mut keys = attrs;
            keys.insert("health-reporter-name".into(), json!(reporter.name));
            Some(Some(Entry { attrs: Attrs::new(), keys, raw }))
        }
        // `devlink_nl_region_fill`: name, size, the most snapshots it
        // keeps, its snapshots' ids (nests without `NLA_F_NESTED`, a
        // nest each: written here, the spec lists one).
        "region-get" => {
            if index > 0 {
                return None;
            }
            attrs.insert("region-name".into(), json!(regions::NAME));
            attrs.insert("region-size".into(), json!(regions::SIZE));
            attrs.insert("region-max-snapshots".into(), json!(regions::MAX_SNAPSHOTS));
            let ids: Vec<u32> = device.devlink.region.snapshots.iter().map(|(id, _)| *id).collect();
            let raw = wire::raw(|m| {
                m.nest_start_noflag(attr::REGION_SNAPSHOTS);
                for id in ids {
                    m.nest_start_noflag(attr::REGION_SNAPSHOT).put_u32(attr::REGION_SNAPSHOT_ID, id).nest_end();
                }
                m.nest_end();
            });
            Some(Some(Entry { attrs, keys: Attrs::new(), raw }))
        }
        "trap-get" => {
            if index >= Traps::trap_count() {
                return None;
            }
            if wanted.contains_key("trap-name") && Traps::trap_index(wanted["trap-name"].as_str()?) != Some(index) {
                return Some(None);
            }
            attrs.extend(device.devlink.traps.trap(index));
            Some(Some(attrs.into()))
        }
        "trap-group-get" => {
            if index >= Traps::group_count() {
                return None;
            }
            attrs.extend(device.devlink.traps.group(index));
            Some(Some(attrs.into()))
        }
        "trap-policer-get" => {
            if index >= Traps::policer_count() {
                return None;
            }
            let id = wanted.get("trap-policer-id").and_then(|v| v.as_u64());
            if id.is_some_and(|id| Traps::policer_index(id as u32) != Some(index)) {
                return Some(None);
            }
            attrs.extend(device.devlink.traps.policer(index));
            Some(Some(attrs.into()))
        }
        _ => None,
    }
}

/// The device a request's handle names, or the core's bare `ENODEV`.
fn device_of(sim: &Simulator, wanted: &Attrs) -> Result<u32, HandlerError> {
    let bus = wanted.get("bus-name").and_then(|v| v.as_str());
    let name = wanted.get("dev-name").and_then(|v| v.as_str());
    let named = |d: &&crate::driver::device::Device| {
        Some(d.devlink.bus.as_str()) == bus && Some(d.devlink.dev.as_str()) == name
    };
    sim.devices.iter().find(named).map(|d| d.id).ok_or_else(|| bare(errno::ENODEV))
}

/// A device whose hardware is the kernel's netdevsim has the kernel's own
/// devlink instance: that one does `what`.
fn refuse_kernel_device(sim: &Simulator, id: u32, what: &str) -> Result<(), HandlerError> {
    if sim.devices.get(id).expect("found").netdevsim.is_some() {
        let message = format!("this device's {what} is the kernel's netdevsim's: use the kernel's devlink");
        return Err(HandlerError::new(errno::EOPNOTSUPP, message));
    }
    Ok(())
}

/// The served devlink family.
fn family(sim: &Simulator) -> Option<(u16, &'static simdev_ynl::Family)> {
    let id = sim.families.by_name("devlink")?.id;
    Some((id, sim.served.get(id)?.ynl))
}

/// `attrs` (devlink's set), then `raw`, after `message`'s headers.
fn encode(family: &simdev_ynl::Family, attrs: Attrs, raw: &[u8], mut message: MessageBuilder) -> Option<Vec<u8>> {
    match Codec::new(family).encode("devlink", None, &serde_json::Value::Object(attrs), &mut message) {
        Ok(()) => {
            message.put_raw(raw);
            Some(message.finish())
        }
        Err(e) => {
            log::warn!("devlink message: {e}");
            None
        }
    }
}

/// Announces `attrs` then `raw` as devlink command `cmd` on `config`, as
/// devlink's notifications go (seq 0, port 0).
fn send(sim: &mut Simulator, cmd: u8, attrs: Attrs, raw: &[u8]) {
    let Some((id, family)) = family(sim) else { return };
    let Some(group) = sim.families.get(id).and_then(|f| f.group("config")) else { return };
    if let Some(message) = encode(family, attrs, raw, MessageBuilder::genl(id, 0, 0, 0, cmd, family.version)) {
        sim.multicast(group, message);
    }
}

/// A reply to `request`: `attrs`, then `raw`.
fn send_object(
    sim: &Simulator,
    request: &Request<'_>,
    cmd: u8,
    attrs: Attrs,
    raw: &[u8],
) -> Result<Vec<u8>, HandlerError> {
    let family = sim.served.get(request.family_id).expect("served").ynl;
    encode(family, attrs, raw, request.reply(cmd)).ok_or_else(|| HandlerError::new(errno::EIO, "cannot encode"))
}

/// How objects come and go, each with devlink's notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Made, in order.
    Made,
    /// Unregistered as the instance goes (netdevsim's remove: its
    /// parameters, in their order, then the instance itself).
    Unregistered,
    /// Removed by the driver (a reload's `reload_down`, a remove's first
    /// part): newest first, the traps disabled first
    /// (`devl_traps_unregister`).
    Removed,
}

/// devlink notifications not sent yet: command, attributes, raw tail.
#[derive(Debug, Default)]
pub struct Notices(Vec<(u8, Attrs, Vec<u8>)>);

impl Notices {
    fn push(&mut self, cmd: u8, attrs: Attrs, raw: Vec<u8>) {
        self.0.push((cmd, attrs, raw));
    }

    /// Sends them on `config`, in order.
    pub fn send(self, sim: &mut Simulator) {
        for (cmd, attrs, raw) in self.0 {
            send(sim, cmd, attrs, &raw);
        }
    }
}

/// The notifications of every object of `get_op` of device `dev`, as
/// `change` says. `region-snapshots`: the region's snapshots, gone. Ports
/// have their own sequence ([`ports_changed`]).
fn objects_changed(sim: &mut Simulator, dev: u32, get_op: &str, change: Change, notices: &mut Notices) {
    let gone = change != Change::Made;
    if family(sim).is_none() {
        return;
    }
    let Some(instance) = sim.devices.get(dev).map(|d| handle(&d.devlink)) else { return };
    if get_op == "region-snapshots" {
        let ids: Vec<u32> = sim.devices.get(dev).expect("known").devlink.region.snapshots.iter().map(|s| s.0).collect();
        for id in ids.into_iter().rev() {
            notices.push(cmd::REGION_DEL, region_notice(&instance, Some(id)), Vec::new());
        }
        return;
    }
    let Some((_, Some((new, del)))) = OBJECTS.iter().find(|(op, _)| *op == get_op) else { return };
    // Each made as it is sent (a trap's drop counter counts each read).
    let count = match get_op {
        "trap-get" => Traps::trap_count(),
        "trap-group-get" => Traps::group_count(),
        "trap-policer-get" => Traps::policer_count(),
        "param-get" => sim.devices.get(dev).map_or(0, |d| d.devlink.params.len()),
        _ => 1,
    };
    let newest_first = gone && !(change == Change::Unregistered && get_op == "param-get");
    let order: Vec<usize> = if newest_first { (0..count).rev().collect() } else { (0..count).collect() };
    for index in order {
        let Some(Some(entry)) = item(sim, get_op, &Attrs::new(), dev, index) else { continue };
        let attrs = match get_op {
            "region-get" => region_notice(&instance, None),
            // `devl_traps_unregister` disables every trap (action drop)
            // before it announces them gone.
            "trap-get" if change == Change::Removed => {
                let mut attrs = entry.attrs;
                attrs.insert("trap-action".into(), json!("drop"));
                attrs
            }
            _ => entry.attrs,
        };
        let raw = if get_op == "region-get" { Vec::new() } else { entry.raw };
        notices.push(if gone { *del } else { *new }, attrs, raw);
    }
}

/// What devlink announces when device `dev`'s instance comes (`dev-new`)
/// or goes (`dev-del`), as for a netdevsim device probed or removed on
/// this kernel (6.12, compared in the netdevsim suite): the instance
/// registers first and each object announces itself as the driver makes
/// it (parameters, region, policers, groups, traps, ports); going, the
/// driver removes them as a reload does, then its parameters (in their
/// order) and the instance. Made now, to be sent when the device has come
/// or gone.
pub fn instance_notices(sim: &mut Simulator, dev: u32, coming: bool) -> Notices {
    let mut notices = Notices::default();
    if family(sim).is_none() {
        return notices;
    }
    if coming {
        objects_changed(sim, dev, "get", Change::Made, &mut notices);
        objects_changed(sim, dev, "param-get", Change::Made, &mut notices);
        driver_objects(sim, dev, true, &mut notices);
    } else {
        driver_objects(sim, dev, false, &mut notices);
        objects_changed(sim, dev, "param-get", Change::Unregistered, &mut notices);
        objects_changed(sim, dev, "get", Change::Unregistered, &mut notices);
    }
    notices
}

/// What netdevsim's driver makes and removes on a reload (and on probe
/// and remove), as devlink announces it. Going (`reload_down`): the ports
/// first, then the rest newest first. Coming (`reload_up`): in the order
/// the driver makes them, the ports last.
fn driver_objects(sim: &mut Simulator, dev: u32, coming: bool, notices: &mut Notices) {
    if coming {
        for get in ["region-get", "trap-policer-get", "trap-group-get", "trap-get"] {
            objects_changed(sim, dev, get, Change::Made, notices);
        }
        ports_changed(sim, dev, true, notices);
    } else {
        ports_changed(sim, dev, false, notices);
        for get in ["trap-get", "trap-group-get", "trap-policer-get", "region-snapshots", "region-get"] {
            objects_changed(sim, dev, get, Change::Removed, notices);
        }
    }
}

/// The port notifications of netdevsim's ports made or removed, as the
/// core sends them. Going (`nsim_dev_port_del`, the last port first): its
/// netdev unregistered (`devlink_port_netdevice_event`: type eth, no
/// netdev), its type cleared (`devl_port_type_clear`: notset), the port
/// gone. Coming (`nsim_dev_port_add`, in order): registered (notset),
/// typed (`devl_port_type_eth_set`: eth), then with its netdev once
/// registered.
fn ports_changed(sim: &mut Simulator, dev: u32, coming: bool, notices: &mut Notices) {
    let mut ports = Vec::new();
    while let Some(found) = item(sim, "port-get", &Attrs::new(), dev, ports.len()) {
        ports.extend(found.map(|entry| entry.attrs));
    }
    let stage = |attrs: &Attrs, port_type: &str, netdev: bool| {
        let mut attrs = attrs.clone();
        if !netdev {
            attrs.remove("port-netdev-ifindex");
            attrs.remove("port-netdev-name");
        }
        attrs.insert("port-type".into(), json!(port_type));
        attrs
    };
    if coming {
        for port in &ports {
            notices.push(cmd::PORT_NEW, stage(port, "notset", false), Vec::new());
            notices.push(cmd::PORT_NEW, stage(port, "eth", false), Vec::new());
            notices.push(cmd::PORT_NEW, port.clone(), Vec::new());
        }
    } else {
        for port in ports.iter().rev() {
            notices.push(cmd::PORT_NEW, stage(port, "eth", false), Vec::new());
            notices.push(cmd::PORT_NEW, stage(port, "notset", false), Vec::new());
            notices.push(cmd::PORT_DEL, stage(port, "notset", false), Vec::new());
        }
    }
}

/// `devlink_nl_region_notify_build`: the region, with a snapshot's id or
/// its size.
fn region_notice(handle: &Attrs, snapshot: Option<u32>) -> Attrs {
    let mut attrs = handle.clone();
    attrs.insert("region-name".into(), json!(regions::NAME));
    match snapshot {
        Some(id) => attrs.insert("region-snapshot-id".into(), json!(id)),
        None => attrs.insert("region-size".into(), json!(regions::SIZE)),
    };
    attrs
}

/// `devlink_nl_param_set_doit`: the parameter by name (a bare `EINVAL`
/// for none), its value checked and set, `PARAM_NEW` announced.
fn param_set(sim: &mut Simulator, request: &Request<'_>, wanted: &Attrs) -> Answer {
    let id = device_of(sim, wanted)?;
    let name = wanted.get("param-name").and_then(|v| v.as_str()).ok_or(bare(errno::EINVAL))?;
    let device = sim.devices.get_mut(id).expect("found");
    let param = device.devlink.params.iter_mut().find(|p| p.name == name).ok_or(bare(errno::EINVAL))?;
    param.set_from(request)?;
    let raw = param.nest();
    let attrs = handle(&device.devlink);
    send(sim, cmd::PARAM_NEW, attrs, &raw);
    Ok(None)
}

/// The reporter a request names (`devlink_health_reporter_get_from_info`:
/// a bare `EINVAL` for none) and its index.
fn reporter_of(sim: &Simulator, wanted: &Attrs) -> Result<(u32, usize), HandlerError> {
    let id = device_of(sim, wanted)?;
    let name = wanted.get("health-reporter-name").and_then(|v| v.as_str());
    let device = sim.devices.get(id).expect("found");
    let index =
        device.devlink.reporters.iter().position(|r| Some(r.name.as_str()) == name).ok_or(bare(errno::EINVAL))?;
    Ok((id, index))
}

/// Announces reporter `index` of device `id` (`devlink_recover_notify`:
/// `HEALTH_REPORTER_RECOVER`, the reporter as a get shows it).
fn announce_reporter(sim: &mut Simulator, id: u32, index: usize) {
    let device = sim.devices.get(id).expect("found");
    let nest = device.devlink.reporters[index].nest();
    send(sim, cmd::HEALTH_REPORTER_RECOVER, handle(&device.devlink), &nest);
}

/// Device `id`'s reporter `reporter` reports an error (simdev's
/// `health-report`; netdevsim's debugfs `break_health` for its dummy):
/// `devlink_health_report`, each change of the reporter's state announced.
/// `ECANCELED` when the core does not recover, as the core answers.
/// `reporter`: the request's attribute naming it (`ENOENT` points at it).
pub fn report_health(sim: &mut Simulator, id: u32, reporter: &Attr<'_>, message: &str) -> Result<(), HandlerError> {
    if family(sim).is_none() {
        return Err(HandlerError::new(errno::EOPNOTSUPP, "devlink is not served: the device has no health reporters"));
    }
    let name = reporter.string().unwrap_or_default();
    match report_error(sim, id, name, message) {
        Some(true) => Ok(()),
        Some(false) => {
            let why =
                "not recovered: the last error was not recovered, or the last recovery is within the grace period";
            Err(HandlerError::new(errno::ECANCELED, why))
        }
        None => {
            let message = format!("{} has no health reporter {name}", sim.devices.get(id).expect("known").name);
            Err(HandlerError::at(errno::ENOENT, message, reporter))
        }
    }
}

/// Device `id`'s reporter `name` reports an error (`devlink_health_report`),
/// each change of its state announced where devlink is served: whether the
/// core went on (false: it did not recover, its `-ECANCELED`), `None` if
/// the device has no such reporter. A fault's reporter reports through
/// this too, as a driver reports what fails.
pub fn report_error(sim: &mut Simulator, id: u32, name: &str, message: &str) -> Option<bool> {
    let uptime_ms = sim.timers.now().as_millis() as u64;
    let device = sim.devices.get_mut(id)?;
    let index = device.devlink.reporters.iter().position(|r| r.name == name)?;
    let instance = handle(&device.devlink);
    let mut nests = Vec::new();
    let went_on = device.devlink.reporters[index].report(message, uptime_ms, |r| nests.push(r.nest()));
    for nest in nests {
        send(sim, cmd::HEALTH_REPORTER_RECOVER, instance.clone(), &nest);
    }
    Some(went_on)
}

fn health_op(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>, op: &str, wanted: &Attrs) -> Answer {
    let (id, index) = reporter_of(sim, wanted)?;
    let uptime_ms = sim.timers.now().as_millis() as u64;
    let reporter = &mut sim.devices.get_mut(id).expect("found").devlink.reporters[index];
    match op {
        // `devlink_health_reporter_recover`: nothing to do when healthy.
        "health-reporter-recover" => {
            if reporter.recover(uptime_ms, None).map_err(|_| bare(errno::EOPNOTSUPP))? {
                announce_reporter(sim, id, index);
            }
            Ok(None)
        }
        // `devlink_fmsg_snd`: the message in parts, then `NLMSG_DONE`,
        // each its own datagram.
        "health-reporter-diagnose" => {
            let fmsg = reporter.diagnose().ok_or(bare(errno::EOPNOTSUPP))?;
            let header = request.message.header;
            let flags = NLM_F_MULTI;
            let family = sim.served.get(request.family_id).expect("served").ynl;
            let mut part = MessageBuilder::genl(
                request.family_id,
                flags,
                header.seq,
                request.sender.port,
                cmd::HEALTH_REPORTER_DIAGNOSE,
                family.version,
            );
            part.put_raw(&fmsg.nest());
            ctx.more_replies.push(MessageBuilder::new(NLMSG_DONE, flags, header.seq, request.sender.port).finish());
            Ok(Some(part.finish()))
        }
        // `devlink_nl_health_reporter_set_doit`: what the driver lacks
        // cannot be set.
        "health-reporter-set" => {
            let recover_attrs = wanted.contains_key("health-reporter-graceful-period")
                || wanted.contains_key("health-reporter-auto-recover");
            if recover_attrs && !reporter.can_recover() {
                return Err(bare(errno::EOPNOTSUPP));
            }
            if wanted.contains_key("health-reporter-auto-dump") && reporter.callbacks.dump.is_none() {
                return Err(bare(errno::EOPNOTSUPP));
            }
            if let Some(period) = wanted.get("health-reporter-graceful-period").and_then(|v| v.as_u64()) {
                reporter.graceful_period = period;
            }
            if let Some(on) = wanted.get("health-reporter-auto-recover").and_then(|v| v.as_u64()) {
                reporter.auto_recover = on != 0;
            }
            if let Some(on) = wanted.get("health-reporter-auto-dump").and_then(|v| v.as_u64()) {
                reporter.auto_dump = on != 0;
            }
            Ok(None)
        }
        "health-reporter-dump-clear" => {
            if reporter.callbacks.dump.is_none() {
                return Err(bare(errno::EOPNOTSUPP));
            }
            reporter.dump = None;
            Ok(None)
        }
        // netdevsim's reporters, and declared ones, have no test callback.
        _ => Err(bare(errno::EOPNOTSUPP)),
    }
}

/// `devlink_nl_region_new_doit` with netdevsim's dummy snapshot.
fn region_new(sim: &mut Simulator, request: &Request<'_>, wanted: &Attrs) -> Answer {
    let id = device_of(sim, wanted)?;
    let Some(name) = wanted.get("region-name").and_then(|v| v.as_str()) else {
        return Err(HandlerError::missing(attr::REGION_NAME, "missing attribute: region-name"));
    };
    if name != regions::NAME {
        let message = "The requested region does not exist";
        return Err(match request.all(attr::REGION_NAME).next() {
            Some(a) => HandlerError::at(errno::EINVAL, message, &a),
            None => HandlerError::new(errno::EINVAL, message),
        });
    }
    let device = sim.devices.get_mut(id).expect("found");
    let region = &mut device.devlink.region;
    if region.snapshots.len() as u32 >= regions::MAX_SNAPSHOTS {
        return Err(HandlerError::new(libc::ENOSPC, "The region has reached the maximum number of stored snapshots"));
    }
    let asked = wanted.get("region-snapshot-id").and_then(|v| v.as_u64()).map(|v| v as u32);
    if asked.is_some_and(|s| region.snapshot(s).is_some()) {
        return Err(match request.all(attr::REGION_SNAPSHOT_ID).next() {
            Some(a) => HandlerError::at(errno::EEXIST, "The requested snapshot id is already in use", &a),
            None => HandlerError::new(errno::EEXIST, "The requested snapshot id is already in use"),
        });
    }
    let snapshot = asked.unwrap_or_else(|| region.free_id());
    region.take(snapshot);
    let dev = handle(&device.devlink);
    send(sim, cmd::REGION_NEW, region_notice(&dev, Some(snapshot)), &[]);
    match asked {
        Some(_) => Ok(None),
        // The id it chose, in the reply (`devlink_nl_region_notify_build`).
        None => send_object(sim, request, cmd::REGION_NEW, region_notice(&dev, Some(snapshot)), &[]).map(Some),
    }
}

/// `devlink_nl_region_del_doit`: a bare `EINVAL` for an unknown region
/// or snapshot.
/// `devlink_nl_eswitch_set_doit` on netdevsim: the mode changes (the
/// simulated devices have no VFs for switchdev mode to represent); inline
/// and encap modes have no callback, a bare `EOPNOTSUPP`.
fn eswitch_set(sim: &mut Simulator, wanted: &Attrs) -> Answer {
    let id = device_of(sim, wanted)?;
    let switchdev = match wanted.get("eswitch-mode").and_then(|v| v.as_str()) {
        Some("switchdev") => Some(true),
        Some("legacy") => Some(false),
        Some(_) => return Err(bare(errno::EINVAL)),
        None => None,
    };
    if let Some(switchdev) = switchdev {
        sim.devices.get_mut(id).expect("found").devlink.switchdev = switchdev;
    }
    if wanted.contains_key("eswitch-inline-mode") || wanted.contains_key("eswitch-encap-mode") {
        return Err(bare(errno::EOPNOTSUPP));
    }
    Ok(None)
}

fn region_del(sim: &mut Simulator, wanted: &Attrs) -> Answer {
    let id = device_of(sim, wanted)?;
    if wanted.get("region-name").and_then(|v| v.as_str()) != Some(regions::NAME) {
        return Err(bare(errno::EINVAL));
    }
    let Some(snapshot) = wanted.get("region-snapshot-id").and_then(|v| v.as_u64()) else {
        return Err(HandlerError::missing(attr::REGION_SNAPSHOT_ID, "missing attribute: region-snapshot-id"));
    };
    let device = sim.devices.get_mut(id).expect("found");
    if !device.devlink.region.remove(snapshot as u32) {
        return Err(bare(errno::EINVAL));
    }
    let dev = handle(&device.devlink);
    send(sim, cmd::REGION_DEL, region_notice(&dev, Some(snapshot as u32)), &[]);
    Ok(None)
}

/// `devlink_nl_region_read_dumpit`'s checks.
fn check_region_read(sim: &Simulator, wanted: &Attrs) -> Result<(), HandlerError> {
    let Some(name) = wanted.get("region-name").and_then(|v| v.as_str()) else {
        return Err(HandlerError::new(errno::EINVAL, "No region name provided"));
    };
    let id = device_of(sim, wanted)?;
    if name != regions::NAME {
        return Err(HandlerError::new(errno::EINVAL, "Requested region does not exist"));
    }
    let direct = wanted.get("region-direct").is_some_and(|v| v == &json!(true));
    let Some(snapshot) = wanted.get("region-snapshot-id").and_then(|v| v.as_u64()) else {
        return Err(match direct {
            // netdevsim's dummy region has no direct read.
            true => HandlerError::new(errno::EOPNOTSUPP, "Requested region does not support direct read"),
            false => HandlerError::new(errno::EINVAL, "No snapshot id provided"),
        });
    };
    if direct {
        return Err(HandlerError::new(errno::EINVAL, "Direct region read does not use snapshot"));
    }
    if sim.devices.get(id).expect("found").devlink.region.snapshot(snapshot as u32).is_none() {
        return Err(HandlerError::new(errno::EINVAL, "Requested snapshot does not exist"));
    }
    Ok(())
}

/// Chunks of a region read fitting one message of a page, from byte
/// `cursor` of the range the request asks (the whole region without
/// one), as `devlink_nl_region_read_fill` fills a buffer.
fn region_chunks(sim: &mut Simulator, wanted: &Attrs, cursor: u64) -> Option<(Entry, u64)> {
    let id = device_of(sim, wanted).ok()?;
    let snapshot = wanted.get("region-snapshot-id")?.as_u64()? as u32;
    let device = sim.devices.get(id)?;
    let data = device.devlink.region.snapshot(snapshot)?;
    let (mut start, mut end) = (0, regions::SIZE);
    if let (Some(addr), Some(len)) = (
        wanted.get("region-chunk-addr").and_then(|v| v.as_u64()),
        wanted.get("region-chunk-len").and_then(|v| v.as_u64()),
    ) {
        start = addr;
        end = addr.saturating_add(len).min(regions::SIZE);
    }
    let from = start.max(cursor);
    if from >= end {
        return None;
    }
    // A page's worth (NLMSG_GOODSIZE) less the headers and the handle.
    const CHUNKS_PER_MESSAGE: u64 = 13;
    let to = (from + CHUNKS_PER_MESSAGE * regions::CHUNK).min(end);
    let raw = wire::raw(|m| {
        m.nest_start_noflag(attr::REGION_CHUNKS);
        let mut at = from;
        while at < to {
            let size = regions::CHUNK.min(to - at);
            m.nest_start_noflag(attr::REGION_CHUNK)
                .put_bytes(attr::REGION_CHUNK_DATA, &data[at as usize..(at + size) as usize])
                .put_u64(attr::REGION_CHUNK_ADDR, at)
                .nest_end();
            at += size;
        }
        m.nest_end();
    });
    let mut attrs = handle(&device.devlink);
    attrs.insert("region-name".into(), json!(regions::NAME));
    Some((Entry { attrs, keys: wanted.clone(), raw }, to))
}

/// `trap-set`, `trap-group-set`, `trap-policer-set` with the core's rules.
fn trap_op(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>, op: &str, wanted: &Attrs) -> Answer {
    let id = device_of(sim, wanted)?;
    let action = match wanted.get("trap-action").and_then(|v| v.as_str()) {
        Some(action) => Some(
            ["drop", "trap", "mirror"]
                .into_iter()
                .find(|a| *a == action)
                .ok_or_else(|| HandlerError::new(errno::EINVAL, "Invalid trap action"))?,
        ),
        None => None,
    };
    let named = |kind: u16, message: &str| match request.all(kind).next() {
        Some(a) => HandlerError::at(errno::ENOENT, message, &a),
        None => HandlerError::new(errno::ENOENT, message),
    };
    // The core announces none of these changes (`__devlink_trap_action_set`,
    // `devlink_trap_group_set`, `devlink_trap_policer_set` notify nothing).
    {
        let traps = &mut sim.devices.get_mut(id).expect("found").devlink.traps;
        match op {
            "trap-set" => {
                let name = wanted.get("trap-name").and_then(|v| v.as_str()).unwrap_or_default();
                let index = Traps::trap_index(name)
                    .ok_or_else(|| named(attr::TRAP_NAME, "Device did not register this trap"))?;
                if let Some(Err(warning)) = action.map(|action| traps.set_action(index, action)) {
                    ctx.warning = Some(warning.to_string());
                }
            }
            "trap-group-set" => {
                let name = wanted.get("trap-group-name").and_then(|v| v.as_str()).unwrap_or_default();
                let index = Traps::group_index(name)
                    .ok_or_else(|| named(attr::TRAP_GROUP_NAME, "Device did not register this trap group"))?;
                if let Some(policer) = wanted.get("trap-policer-id").and_then(|v| v.as_u64()) {
                    if policer != 0 && Traps::policer_index(policer as u32).is_none() {
                        return Err(named(attr::TRAP_POLICER_ID, "Device did not register this trap policer"));
                    }
                }
                if let Some(action) = action {
                    for trap in Traps::group_members(index) {
                        if let Err(warning) = traps.set_action(trap, action) {
                            ctx.warning = Some(warning.to_string());
                        }
                    }
                }
                if let Some(policer) = wanted.get("trap-policer-id").and_then(|v| v.as_u64()) {
                    traps.set_group_policer(index, policer as u32);
                }
            }
            _ => {
                let policer = wanted.get("trap-policer-id").and_then(|v| v.as_u64()).unwrap_or_default();
                let index = Traps::policer_index(policer as u32)
                    .ok_or_else(|| named(attr::TRAP_POLICER_ID, "Device did not register this trap policer"))?;
                let rate = wanted.get("trap-policer-rate").and_then(|v| v.as_u64());
                let burst = wanted.get("trap-policer-burst").and_then(|v| v.as_u64());
                let check = |value: Option<u64>, (min, max): (u64, u64), what: &str| match value {
                    Some(v) if v < min => {
                        Err(HandlerError::new(errno::EINVAL, format!("Policer {what} lower than limit")))
                    }
                    Some(v) if v > max => {
                        Err(HandlerError::new(errno::EINVAL, format!("Policer {what} higher than limit")))
                    }
                    _ => Ok(()),
                };
                check(rate, traps::POLICER_RATE, "rate")?;
                check(burst, traps::POLICER_BURST, "burst size")?;
                traps.set_policer(index, rate, burst);
            }
        }
    }
    Ok(None)
}
