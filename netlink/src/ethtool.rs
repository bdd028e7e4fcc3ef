//! The kernel's `ethtool` family: ring sizes (`ethtool -g` / `-G`), which
//! simdev shows and sets on ports whose driver has rings (netdevsim), and
//! `genl-client --kernel ethtool rings` shows and sets. Numbers are those
//! of `include/uapi/linux/ethtool_netlink.h`.

use crate::client::Client;
use crate::error::{Error, Result};
use simdev_protocol::simdev::Rings;
use simdev_protocol::wire::{Attrs, Message, MessageBuilder};

pub const FAMILY_NAME: &str = "ethtool";
pub const VERSION: u8 = 1;

pub mod cmd {
    pub const RINGS_GET: u8 = 15;
    pub const RINGS_SET: u8 = 16;
    /// Kernel to user space: ring sizes changed (on the `monitor` group).
    pub const RINGS_NTF: u8 = 17;
}

/// The multicast group of ethtool's notifications.
pub const GROUP_MONITOR: &str = "monitor";

pub mod attr {
    /// `ETHTOOL_A_*_HEADER`: attribute 1 of every request.
    pub const HEADER: u16 = 1;
    pub const HEADER_DEV_INDEX: u16 = 1;
    pub const HEADER_DEV_NAME: u16 = 2;
    pub const RINGS_RX_MAX: u16 = 2;
    pub const RINGS_TX_MAX: u16 = 5;
    pub const RINGS_RX: u16 = 6;
    pub const RINGS_TX: u16 = 9;
}

/// The netdev a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Netdev {
    Index(u32),
    Name(String),
}

impl Netdev {
    fn encode_header(&self, out: &mut MessageBuilder) {
        out.nest_start(attr::HEADER);
        match self {
            Netdev::Index(index) => out.put_u32(attr::HEADER_DEV_INDEX, *index),
            Netdev::Name(name) => out.put_str(attr::HEADER_DEV_NAME, name),
        };
        out.nest_end();
    }
}

fn decode_rings(attrs: Attrs<'_>) -> Rings {
    let number = |kind: u16| attrs.get(kind).and_then(|a| a.u32()).unwrap_or(0);
    Rings {
        rx: number(attr::RINGS_RX),
        rx_max: number(attr::RINGS_RX_MAX),
        tx: number(attr::RINGS_TX),
        tx_max: number(attr::RINGS_TX_MAX),
    }
}

/// A `RINGS_NTF` notification of family `family_id`: the netdev's ifindex
/// and its ring sizes now.
pub fn decode_rings_notification(message: &Message<'_>, family_id: u16) -> Option<(u32, Rings)> {
    if message.header.ty != family_id || message.genl_header()?.cmd != cmd::RINGS_NTF {
        return None;
    }
    let attrs = message.genl_attrs(0);
    let ifindex = attrs.get(attr::HEADER)?.nested().get(attr::HEADER_DEV_INDEX)?.u32()?;
    Some((ifindex, decode_rings(attrs)))
}

/// A client of the kernel's ethtool family (netdevs of the namespace its
/// socket was opened in).
pub struct Ethtool {
    client: Client,
    family_id: u16,
    monitor_group: Option<u32>,
}

impl Ethtool {
    pub fn new(mut client: Client) -> Result<Self> {
        let family = client.resolve_family(FAMILY_NAME)?;
        Ok(Ethtool { client, family_id: family.id, monitor_group: family.group_id(GROUP_MONITOR) })
    }

    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// The id of the `monitor` multicast group (its notifications).
    pub fn monitor_group(&self) -> Option<u32> {
        self.monitor_group
    }

    /// Ring sizes and maximums; `EOPNOTSUPP` when the driver has no rings.
    pub fn rings(&mut self, netdev: &Netdev) -> Result<Rings> {
        let mut request = self.client.new_request(self.family_id, cmd::RINGS_GET, VERSION, 0);
        netdev.encode_header(&mut request);
        let replies = self.client.execute(request, None)?;
        let reply = replies.first().ok_or_else(|| Error::Protocol("RINGS_GET without a reply".into()))?;
        Ok(decode_rings(reply.message().genl_attrs(0)))
    }

    /// `ethtool -G`: sets the ring sizes given (the kernel checks them
    /// against the maximums).
    pub fn set_rings(&mut self, netdev: &Netdev, rx: Option<u32>, tx: Option<u32>) -> Result<()> {
        let mut request = self.client.new_request(self.family_id, cmd::RINGS_SET, VERSION, 0);
        netdev.encode_header(&mut request);
        if let Some(rx) = rx {
            request.put_u32(attr::RINGS_RX, rx);
        }
        if let Some(tx) = tx {
            request.put_u32(attr::RINGS_TX, tx);
        }
        self.client.execute(request, None).map(drop)
    }
}
