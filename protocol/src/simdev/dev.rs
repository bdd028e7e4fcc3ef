//! Typed `dev-*` and `port-*` messages: devices, ports, selectors, MACs.

use super::hw::Nested;
use super::{dev_attr, led_state, oper_state};
use crate::wire::MessageBuilder;

/// `IF_OPER_*` (the spec's `oper-state` enum), named as `ip link` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperState(pub u8);

impl OperState {
    pub const UNKNOWN: OperState = OperState(oper_state::UNKNOWN as u8);
    pub const DOWN: OperState = OperState(oper_state::DOWN as u8);
    pub const NOTPRESENT: OperState = OperState(oper_state::NOTPRESENT as u8);
    pub const LOWERLAYERDOWN: OperState = OperState(oper_state::LOWERLAYERDOWN as u8);
    pub const UP: OperState = OperState(oper_state::UP as u8);

    /// The spec's entry name in capitals (`ip link`'s), or `INVALID`.
    pub fn name(self) -> String {
        let entry = oper_state::ENTRIES.iter().find(|(value, _)| *value == u64::from(self.0));
        entry.map_or("INVALID".to_string(), |(_, name)| name.to_uppercase())
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
        text.parse().map_or_else(|_| DevSelector::Name(text.to_string()), DevSelector::Id)
    }

    pub fn encode(&self, out: &mut MessageBuilder) {
        match self {
            DevSelector::Id(id) => out.put_u32(dev_attr::DEV_ID, *id),
            DevSelector::Name(name) => out.put_str(dev_attr::DEV_NAME, name),
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
    crate::ynl::value::hex_separated(mac, Some(':'))
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

/// One port as `dev-get` reports it: the kernel's view of its netdev. Its
/// serde form is the `port` nest as the spec names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PortInfo {
    pub index: u32,
    pub ifindex: u32,
    pub ifname: String,
    pub peer_ifname: String,
    #[serde(with = "super::forms::mac")]
    pub mac: Mac,
    pub mtu: u32,
    #[serde(with = "super::forms::bool01")]
    pub up: bool,
    #[serde(with = "super::forms::oper_state")]
    pub oper_state: OperState,
    #[serde(with = "super::forms::bool01")]
    pub carrier: bool,
    /// Ring sizes, when the port's driver has them (ethtool `-g`).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub rings: Option<Rings>,
    /// The port's netdev was deleted outside simdev: the kernel has no
    /// state for it (`oper_state` is `NOTPRESENT`, the rest zero).
    #[serde(with = "super::forms::bool01", default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    /// The port's LED (the spec's `led-state`): simulated, no kernel has it.
    #[serde(with = "super::forms::led_state", default)]
    pub led_state: u8,
}

impl PortInfo {
    /// A port whose netdev is gone: named as it was, no kernel state.
    pub fn missing(index: u32, ifindex: u32, ifname: &str, peer_ifname: &str) -> Self {
        PortInfo {
            index,
            ifindex,
            ifname: ifname.to_string(),
            peer_ifname: peer_ifname.to_string(),
            mac: [0; 6],
            mtu: 0,
            up: false,
            oper_state: OperState::NOTPRESENT,
            carrier: false,
            rings: None,
            missing: true,
            led_state: led_state::OFF as u8,
        }
    }
}

/// A port's ring sizes and their maximums, as ethtool reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rings {
    #[serde(rename = "rx-ring")]
    pub rx: u32,
    #[serde(rename = "rx-ring-max")]
    pub rx_max: u32,
    #[serde(rename = "tx-ring")]
    pub tx: u32,
    #[serde(rename = "tx-ring-max")]
    pub tx_max: u32,
}

/// A device as `dev-get` reports it; its serde form is the reply as the
/// spec names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DevInfo {
    #[serde(rename = "dev-id")]
    pub id: u32,
    #[serde(rename = "dev-name")]
    pub name: String,
    pub backend: String,
    /// Where the device's netdevs live (`/proc/PID/ns/net`, for `nsenter`);
    /// none for model devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// The kernel devlink instance behind the device (`netdevsim/netdevsimN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devlink: Option<String>,
    #[serde(rename = "port", default)]
    pub ports: Vec<PortInfo>,
}

impl DevInfo {
    pub fn encode(&self, out: &mut MessageBuilder) {
        super::hw::encode_dev(self, out)
    }
}

impl Nested for PortInfo {
    const KEY: &'static str = "port";
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
        DevSet { dev, mtu: None, mac: None, up: None }
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
    use crate::simdev::{cmd, DEV_ATTRS, FAMILY_VERSION};
    use crate::wire::split_messages;

    fn sample() -> DevInfo {
        DevInfo {
            id: 3,
            name: "sim0".into(),
            backend: "veth".into(),
            netns: Some("/proc/1/ns/net".into()),
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
                missing: false,
                led_state: led_state::BLINK as u8,
            }],
        }
    }

    #[test]
    fn dev_info_serde_form_is_the_specs() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "dev-id": 3, "dev-name": "sim0", "backend": "veth", "netns": "/proc/1/ns/net",
                "devlink": "netdevsim/netdevsim1",
                "port": [{
                    "index": 0, "ifindex": 7, "ifname": "sim0p0", "peer-ifname": "sim0p0-peer",
                    "mac": "02:00:00:00:00:01", "mtu": 1500, "up": 1, "oper-state": "up", "carrier": 1,
                    "rx-ring": 512, "rx-ring-max": 4096, "tx-ring": 256, "tx-ring-max": 4096, "led-state": "blink"
                }]
            })
        );
        assert_eq!(serde_json::from_value::<DevInfo>(json).unwrap(), sample());
    }

    #[test]
    fn encoded_reply_passes_the_family_policy() {
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, cmd::DEV_GET, FAMILY_VERSION);
        crate::encode::encode(&DEV_ATTRS, &sample(), &mut b).expect("DevInfo fits the dev set");
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        crate::policy::parse(&DEV_ATTRS, message.genl_attrs(0), crate::policy::Strictness::Strict).unwrap();
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
}
