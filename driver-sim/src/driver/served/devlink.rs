//! The simulated devices' devlink personality: with `devlink` served from
//! the kernel's spec (`[[family]] spec = "devlink"`), every simulated
//! device is a devlink instance (`simdev/NAME`), its ports are devlink
//! ports of flavour physical with their netdevs, and `info` reports its
//! driver and firmware, in the attributes and order the kernel's devlink
//! core fills them (`net/devlink/`), as netdevsim's instances answer.
//! Its driver's `config` group is registered too (the spec lists none).

use super::personality::Personality;
use super::store::Attrs;
use super::NotFound;
use crate::simulator::Simulator;
use serde_json::json;

/// The bus name of the simulated devices' devlink instances.
pub const BUS_NAME: &str = "simdev";
/// What `info` names as the driver.
pub const DRIVER_NAME: &str = "simdev";
/// The version name `info` reports the simulated firmware under.
pub const FW_VERSION_NAME: &str = "fw";

pub struct Devlink;

pub static DEVLINK: Devlink = Devlink;

/// A port cursor: the device id above, the port index below.
const PORT_BITS: u32 = 16;

fn handle(name: &str) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("bus-name".into(), json!(BUS_NAME));
    attrs.insert("dev-name".into(), json!(name));
    attrs
}

fn version(name: &str, value: &str) -> serde_json::Value {
    json!({"info-version-name": name, "info-version-value": value})
}

impl Personality for Devlink {
    fn groups(&self) -> &'static [&'static str] {
        &["config"]
    }

    /// `devlink_get_from_attrs_lock`, `devlink_port_get_from_attrs`: a
    /// bare `ENODEV`.
    fn not_found(&self) -> NotFound {
        NotFound { errno: libc::ENODEV, extack: false }
    }

    /// netdevsim's ports have no split callbacks.
    fn lacks(&self, op: &str) -> bool {
        matches!(op, "port-split" | "port-unsplit")
    }

    fn answers(&self, get_op: &str) -> bool {
        matches!(get_op, "get" | "port-get" | "info-get")
    }

    fn object(&self, sim: &mut Simulator, get_op: &str, cursor: u64) -> Option<(Attrs, u64)> {
        match get_op {
            // `devlink_nl_fill`: the handle and whether a reload failed.
            "get" => {
                let id = sim.devices.first_from(cursor)?;
                let mut attrs = handle(&sim.devices.get(id).expect("listed").name);
                attrs.insert("reload-failed".into(), json!(0));
                Some((attrs, u64::from(id) + 1))
            }
            // `devlink_nl_port_fill`: handle, index, type and netdev, then
            // `devlink_nl_port_attrs_put` (splittable, flavour, number:
            // netdevsim numbers its physical ports from 1).
            "port-get" => {
                let mut cursor = cursor;
                loop {
                    let id = sim.devices.first_from(cursor >> PORT_BITS)?;
                    let port = if u64::from(id) == cursor >> PORT_BITS { (cursor & 0xffff) as u32 } else { 0 };
                    let info = sim.devices.info(id).ok();
                    let device = sim.devices.get(id).expect("listed");
                    if port as usize >= device.ports.len() {
                        cursor = (u64::from(id) + 1) << PORT_BITS;
                        continue;
                    }
                    let mut attrs = handle(&device.name);
                    attrs.insert("port-index".into(), json!(port));
                    attrs.insert("port-type".into(), json!("eth"));
                    if let Some(netdev) = info.as_ref().and_then(|i| i.ports.get(port as usize)).filter(|p| !p.missing)
                    {
                        attrs.insert("port-netdev-ifindex".into(), json!(netdev.ifindex));
                        attrs.insert("port-netdev-name".into(), json!(netdev.ifname));
                    }
                    attrs.insert("port-splittable".into(), json!(0));
                    attrs.insert("port-flavour".into(), json!("physical"));
                    attrs.insert("port-number".into(), json!(port + 1));
                    return Some((attrs, (u64::from(id) << PORT_BITS) | u64::from(port + 1)));
                }
            }
            // `devlink_nl_info_fill`: handle, the driver's name, then what
            // the driver puts: the simulated firmware, stored then running.
            "info-get" => {
                let id = sim.devices.first_from(cursor)?;
                let fw = sim.devices.fw_info(id).ok()?;
                let device = sim.devices.get(id).expect("listed");
                let mut attrs = handle(&device.name);
                attrs.insert("info-driver-name".into(), json!(DRIVER_NAME));
                let stored = fw.pending_version.clone().unwrap_or_else(|| fw.version.clone());
                attrs.insert("info-version-stored".into(), json!([version(FW_VERSION_NAME, &stored)]));
                attrs.insert("info-version-running".into(), json!([version(FW_VERSION_NAME, &fw.version)]));
                Some((attrs, u64::from(id) + 1))
            }
            _ => None,
        }
    }
}
