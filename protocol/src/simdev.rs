//! The `simdev` family, version 1: its commands, attribute sets, multicast
//! groups, and the typed messages both sides exchange.
//!
//! ```text
//! dev-get   do (dev-id | dev-name) -> dev      dump -> dev...
//! dev-set   do, admin: (dev-id | dev-name) [mtu] [mac] [up] -> ACK
//! dev       id, name, backend, port*, ...
//! port      index, ifindex, ifname, peer-ifname, mac, mtu, up, oper-state, carrier
//! ```
//! Replies to `dev-get` use the `dev-get` command number. Every change is
//! announced on the `config` group as a `dev-change-ntf` message carrying
//! the whole device, in the `dev-get` reply format.

use crate::family::{CommandSpec, FamilySpec};
use crate::policy::{AttrSet, AttrSpec, AttrType, Check};
use crate::wire::{Attrs, MessageBuilder};
use crate::DecodeError;

pub const FAMILY_NAME: &str = "simdev";
pub const FAMILY_VERSION: u8 = 1;

pub mod cmd {
    pub const DEV_GET: u8 = 1;
    pub const DEV_SET: u8 = 2;
    /// Notification only (never a request): a device changed.
    pub const DEV_CHANGE_NTF: u8 = 64;
}

pub mod dev_attr {
    pub const ID: u16 = 1;
    pub const NAME: u16 = 2;
    pub const BACKEND: u16 = 3;
    pub const PORT: u16 = 4;
    pub const MTU: u16 = 5;
    pub const MAC: u16 = 6;
    pub const UP: u16 = 7;
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
}

/// Longest device name: it must fit `IFNAMSIZ` - 1 like a netdev name.
pub const DEV_NAME_MAX: usize = 15;
/// The MTU range simdev accepts; the kernel may refuse more (veth: 68..65535).
pub const MTU_MIN: u32 = 68;
pub const MTU_MAX: u32 = 65535;

pub static PORT_ATTRS: AttrSet = AttrSet {
    name: "port",
    attrs: &[
        AttrSpec {
            id: port_attr::INDEX,
            name: "index",
            ty: AttrType::U32,
            check: Check::None,
            doc: "port number within the device, from 0",
        },
        AttrSpec {
            id: port_attr::IFINDEX,
            name: "ifindex",
            ty: AttrType::U32,
            check: Check::None,
            doc: "the port's netdev ifindex",
        },
        AttrSpec {
            id: port_attr::IFNAME,
            name: "ifname",
            ty: AttrType::String,
            check: Check::MaxLen(15),
            doc: "the port's netdev name",
        },
        AttrSpec {
            id: port_attr::PEER_IFNAME,
            name: "peer-ifname",
            ty: AttrType::String,
            check: Check::MaxLen(15),
            doc: "the cable end (veth peer) name",
        },
        AttrSpec {
            id: port_attr::MAC,
            name: "mac",
            ty: AttrType::Binary,
            check: Check::ExactLen(6),
            doc: "hardware address",
        },
        AttrSpec {
            id: port_attr::MTU,
            name: "mtu",
            ty: AttrType::U32,
            check: Check::None,
            doc: "MTU",
        },
        AttrSpec {
            id: port_attr::UP,
            name: "up",
            ty: AttrType::U8,
            check: Check::Range { min: 0, max: 1 },
            doc: "administratively up (IFF_UP)",
        },
        AttrSpec {
            id: port_attr::OPER_STATE,
            name: "oper-state",
            ty: AttrType::U8,
            check: Check::None,
            doc: "RFC 2863 operational state (IF_OPER_*)",
        },
        AttrSpec {
            id: port_attr::CARRIER,
            name: "carrier",
            ty: AttrType::U8,
            check: Check::Range { min: 0, max: 1 },
            doc: "carrier present (IFF_LOWER_UP)",
        },
    ],
};

pub static DEV_ATTRS: AttrSet = AttrSet {
    name: "dev",
    attrs: &[
        AttrSpec {
            id: dev_attr::ID,
            name: "dev-id",
            ty: AttrType::U32,
            check: Check::None,
            doc: "device id",
        },
        AttrSpec {
            id: dev_attr::NAME,
            name: "dev-name",
            ty: AttrType::NulString,
            check: Check::MaxLen(DEV_NAME_MAX as u16),
            doc: "device name",
        },
        AttrSpec {
            id: dev_attr::BACKEND,
            name: "backend",
            ty: AttrType::String,
            check: Check::MaxLen(15),
            doc: "the hardware behind the device: veth, netdevsim, model",
        },
        AttrSpec {
            id: dev_attr::PORT,
            name: "port",
            ty: AttrType::Nested(&PORT_ATTRS),
            check: Check::None,
            doc: "one per port (multi-attr)",
        },
        AttrSpec {
            id: dev_attr::MTU,
            name: "mtu",
            ty: AttrType::U32,
            check: Check::Range {
                min: MTU_MIN as u64,
                max: MTU_MAX as u64,
            },
            doc: "MTU for every port",
        },
        AttrSpec {
            id: dev_attr::MAC,
            name: "mac",
            ty: AttrType::Binary,
            check: Check::ExactLen(6),
            doc: "base MAC: port N gets base + N",
        },
        AttrSpec {
            id: dev_attr::UP,
            name: "up",
            ty: AttrType::U8,
            check: Check::Range { min: 0, max: 1 },
            doc: "administrative state of every port",
        },
    ],
};

pub static FAMILY: FamilySpec = FamilySpec {
    name: FAMILY_NAME,
    version: FAMILY_VERSION,
    hdrsize: 0,
    resv_start_op: 0,
    policy: Some(&DEV_ATTRS),
    commands: &[
        CommandSpec {
            id: cmd::DEV_GET,
            name: "dev-get",
            has_do: true,
            has_dump: true,
            admin: false,
            policy: Some(&DEV_ATTRS),
            doc: "get one device (by dev-id or dev-name) or dump all",
        },
        CommandSpec {
            id: cmd::DEV_SET,
            name: "dev-set",
            has_do: true,
            has_dump: false,
            admin: true,
            policy: Some(&DEV_ATTRS),
            doc: "set MTU, base MAC and admin state of a device's ports",
        },
    ],
    mcast_groups: &[GROUP_CONFIG],
};

/// Multicast group for device changes.
pub const GROUP_CONFIG: &str = "config";

/// `IF_OPER_*`, named as `ip link` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperState(pub u8);

impl OperState {
    pub const UNKNOWN: OperState = OperState(0);
    pub const DOWN: OperState = OperState(2);
    pub const LOWERLAYERDOWN: OperState = OperState(3);
    pub const UP: OperState = OperState(6);

    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "UNKNOWN",
            1 => "NOTPRESENT",
            2 => "DOWN",
            3 => "LOWERLAYERDOWN",
            4 => "TESTING",
            5 => "DORMANT",
            6 => "UP",
            _ => "INVALID",
        }
    }
}

/// Which device a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevSelector {
    Id(u32),
    Name(String),
}

impl DevSelector {
    /// What users type: a plain number is an id, anything else a name.
    pub fn parse(text: &str) -> Self {
        text.parse()
            .map_or_else(|_| DevSelector::Name(text.to_string()), DevSelector::Id)
    }

    pub fn encode(&self, out: &mut MessageBuilder) {
        match self {
            DevSelector::Id(id) => out.put_u32(dev_attr::ID, *id),
            DevSelector::Name(name) => out.put_str(dev_attr::NAME, name),
        };
    }
}

impl std::fmt::Display for DevSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DevSelector::Id(id) => write!(f, "{id}"),
            DevSelector::Name(name) => f.write_str(name),
        }
    }
}

/// A 48-bit hardware address.
pub type Mac = [u8; 6];

/// The MAC of port `index` of a device whose base MAC is `base`: base +
/// index, as NICs hand out consecutive addresses to their ports.
pub fn port_mac(base: &Mac, index: u32) -> Mac {
    let mut bytes = [0u8; 8];
    bytes[2..].copy_from_slice(base);
    let value = u64::from_be_bytes(bytes).wrapping_add(index.into()) & 0xffff_ffff_ffff;
    value.to_be_bytes()[2..].try_into().unwrap()
}

pub fn format_mac(mac: &Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn parse_mac(text: &str) -> Option<Mac> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in mac.iter_mut() {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// One port as `dev-get` reports it: the kernel's view of its netdev.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortInfo {
    pub index: u32,
    pub ifindex: u32,
    pub ifname: String,
    pub peer_ifname: String,
    #[serde(serialize_with = "serialize_mac")]
    pub mac: Mac,
    pub mtu: u32,
    pub up: bool,
    #[serde(serialize_with = "serialize_oper_state")]
    pub oper_state: OperState,
    pub carrier: bool,
}

/// A device as `dev-get` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DevInfo {
    pub id: u32,
    pub name: String,
    pub backend: String,
    pub ports: Vec<PortInfo>,
}

fn serialize_mac<S: serde::Serializer>(mac: &Mac, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_mac(mac))
}

fn serialize_oper_state<S: serde::Serializer>(state: &OperState, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.name())
}

impl DevInfo {
    pub fn encode(&self, out: &mut MessageBuilder) {
        out.put_u32(dev_attr::ID, self.id)
            .put_str(dev_attr::NAME, &self.name)
            .put_str(dev_attr::BACKEND, &self.backend);
        for port in &self.ports {
            out.nest_start(dev_attr::PORT)
                .put_u32(port_attr::INDEX, port.index)
                .put_u32(port_attr::IFINDEX, port.ifindex)
                .put_str(port_attr::IFNAME, &port.ifname)
                .put_str(port_attr::PEER_IFNAME, &port.peer_ifname)
                .put_bytes(port_attr::MAC, &port.mac)
                .put_u32(port_attr::MTU, port.mtu)
                .put_u8(port_attr::UP, port.up.into())
                .put_u8(port_attr::OPER_STATE, port.oper_state.0)
                .put_u8(port_attr::CARRIER, port.carrier.into())
                .nest_end();
        }
    }

    pub fn decode(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        let missing = |what| DecodeError::new(what, "missing or wrong size");
        let id = attrs
            .get(dev_attr::ID)
            .and_then(|a| a.u32())
            .ok_or(missing("dev-id"))?;
        let name = attrs
            .get(dev_attr::NAME)
            .and_then(|a| a.string())
            .ok_or(missing("dev-name"))?;
        let backend = attrs
            .get(dev_attr::BACKEND)
            .and_then(|a| a.string())
            .unwrap_or_default();
        let ports = attrs
            .clone()
            .filter(|a| a.kind() == dev_attr::PORT)
            .map(|a| PortInfo::decode(a.nested()))
            .collect::<Result<_, _>>()?;
        Ok(DevInfo {
            id,
            name: name.to_string(),
            backend: backend.to_string(),
            ports,
        })
    }
}

impl PortInfo {
    fn decode(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        let missing = |what| DecodeError::new(what, "missing or wrong size");
        let u32_of = |id, what| attrs.get(id).and_then(|a| a.u32()).ok_or(missing(what));
        let u8_of = |id, what| attrs.get(id).and_then(|a| a.u8()).ok_or(missing(what));
        let str_of = |id| {
            attrs
                .get(id)
                .and_then(|a| a.string())
                .unwrap_or_default()
                .to_string()
        };
        let mac = attrs
            .get(port_attr::MAC)
            .and_then(|a| Mac::try_from(a.payload).ok())
            .ok_or(missing("port.mac"))?;
        Ok(PortInfo {
            index: u32_of(port_attr::INDEX, "port.index")?,
            ifindex: u32_of(port_attr::IFINDEX, "port.ifindex")?,
            ifname: str_of(port_attr::IFNAME),
            peer_ifname: str_of(port_attr::PEER_IFNAME),
            mac,
            mtu: u32_of(port_attr::MTU, "port.mtu")?,
            up: u8_of(port_attr::UP, "port.up")? != 0,
            oper_state: OperState(u8_of(port_attr::OPER_STATE, "port.oper-state")?),
            carrier: u8_of(port_attr::CARRIER, "port.carrier")? != 0,
        })
    }
}

/// What `dev-set` asks to change; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevSet {
    pub dev: DevSelector,
    pub mtu: Option<u32>,
    pub mac: Option<Mac>,
    pub up: Option<bool>,
}

impl DevSet {
    pub fn new(dev: DevSelector) -> Self {
        DevSet {
            dev,
            mtu: None,
            mac: None,
            up: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.mtu.is_none() && self.mac.is_none() && self.up.is_none()
    }

    pub fn encode(&self, out: &mut MessageBuilder) {
        self.dev.encode(out);
        if let Some(mtu) = self.mtu {
            out.put_u32(dev_attr::MTU, mtu);
        }
        if let Some(mac) = &self.mac {
            out.put_bytes(dev_attr::MAC, mac);
        }
        if let Some(up) = self.up {
            out.put_u8(dev_attr::UP, up.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::split_messages;

    fn sample() -> DevInfo {
        DevInfo {
            id: 3,
            name: "sim0".into(),
            backend: "veth".into(),
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
            }],
        }
    }

    #[test]
    fn dev_info_round_trips() {
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, cmd::DEV_GET, FAMILY_VERSION);
        sample().encode(&mut b);
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        assert_eq!(DevInfo::decode(message.genl_attrs(0)).unwrap(), sample());
    }

    #[test]
    fn encoded_reply_passes_the_family_policy() {
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, cmd::DEV_GET, FAMILY_VERSION);
        sample().encode(&mut b);
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        crate::policy::parse(
            &DEV_ATTRS,
            message.genl_attrs(0),
            crate::policy::Strictness::Strict,
        )
        .unwrap();
    }

    #[test]
    fn port_macs_count_up_from_the_base() {
        assert_eq!(port_mac(&[2, 0, 0, 0, 0, 0xff], 1), [2, 0, 0, 0, 1, 0]);
        assert_eq!(port_mac(&[2, 0, 0, 0, 0, 5], 0), [2, 0, 0, 0, 0, 5]);
    }

    #[test]
    fn macs_parse_and_format() {
        assert_eq!(parse_mac("02:00:0a:ff:00:01"), Some([2, 0, 10, 255, 0, 1]));
        assert_eq!(parse_mac("02:00:0a:ff:00"), None);
        assert_eq!(parse_mac("02:00:0a:ff:00:01:02"), None);
        assert_eq!(parse_mac("zz:00:0a:ff:00:01"), None);
        assert_eq!(format_mac(&[2, 0, 10, 255, 0, 1]), "02:00:0a:ff:00:01");
    }

    #[test]
    fn family_table_is_consistent() {
        assert_eq!(FAMILY.max_attr(), 7);
        assert!(FAMILY.command(cmd::DEV_SET).unwrap().admin);
        assert_eq!(FAMILY.command(cmd::DEV_GET).unwrap().op_flags(), 0x0e);
        assert_eq!(FAMILY.command(cmd::DEV_SET).unwrap().op_flags(), 0x0b);
        assert!(FAMILY.command(cmd::DEV_CHANGE_NTF).is_none());
    }
}
