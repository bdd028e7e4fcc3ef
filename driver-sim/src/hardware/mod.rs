//! The "hardware" behind simulated devices, one file per kind behind the
//! [`Backend`] trait: a backend creates and removes a device's ports.
//! Port operations ([`Ports`]) are the kernel's for veth and netdevsim
//! ports alike, which are both "cabled" netdevs of the hardware namespace
//! ([`netdevs`]: each port has a peer netdev, the cable's far end), and the
//! model's own for model ports. Where the hardware lives ([`netns`]) and
//! which kernel objects are this simulator's ([`ownership`]) are here too.

pub mod model;
pub mod netdevs;
pub mod netdevsim;
pub mod netns;
pub mod ownership;
pub mod veth;

use netdevs::Netdevs;

use crate::config::DeviceConfig;
use simdev_netlink::rtnl::KernelError;
use simdev_protocol::simdev::{Mac, Rings};

/// One port: a netdev and its cable end, as the backend made them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub index: u32,
    pub ifname: String,
    pub ifindex: u32,
    pub peer_ifname: String,
    pub peer_ifindex: u32,
    /// Whether its driver has rings (ethtool `-g`).
    pub has_rings: bool,
}

/// A port's netdev as its hardware reports it now (what the device model
/// makes `dev-get`'s port of).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortState {
    pub ifindex: u32,
    pub ifname: String,
    /// Its cable end's name now.
    pub peer_ifname: String,
    pub mac: Mac,
    pub mtu: u32,
    pub up: bool,
    /// `IF_OPER_*`.
    pub oper_state: u8,
    /// The kernel's `LOWER_UP`.
    pub carrier: bool,
    /// Ring sizes, when the port's driver has them.
    pub rings: Option<Rings>,
}

/// A port's traffic counters as its hardware reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortCounters {
    /// The netdev's name now.
    pub ifname: String,
    /// In `struct rtnl_link_stats64` order: rx/tx packets, rx/tx bytes,
    /// rx/tx errors, rx/tx dropped.
    pub stats64: [u64; 8],
}

/// A backend operation failed; `action` says what was being done. (The
/// kernel's error is the `source`, so error chains print it once.)
#[derive(Debug, thiserror::Error)]
#[error("{action}")]
pub struct BackendError {
    pub action: String,
    #[source]
    pub source: KernelError,
}

impl BackendError {
    /// What was being done and what the kernel said, in one line.
    pub fn message(&self) -> String {
        format!("{}: {}", self.action, self.source)
    }
}

/// How a device's ports are made: what a backend needs to create them,
/// and to make them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortsConfig {
    pub device_name: String,
    /// Per port: its netdev's name and its cable end's.
    pub names: Vec<(String, String)>,
    pub mtu: Option<u32>,
    /// Port N gets base + N.
    pub base_mac: Option<Mac>,
    pub up: bool,
    pub queues: Option<u32>,
}

impl PortsConfig {
    pub fn of(config: &DeviceConfig) -> Self {
        PortsConfig {
            device_name: config.name.get_ref().clone(),
            names: (0..*config.ports.get_ref()).map(|i| (config.port_ifname(i), config.peer_ifname(i))).collect(),
            mtu: config.mtu.as_ref().map(|m| *m.get_ref()),
            base_mac: config.base_mac(),
            up: config.up,
            queues: config.queues(),
        }
    }
}

/// What a backend made for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hardware {
    pub ports: Vec<Port>,
    /// The kernel device behind the ports, for netdevsim.
    pub netdevsim: Option<netdevsim::NsimDevice>,
}

pub trait Backend {
    /// Creates the device's ports (netdevs in `netdevs`' namespace, for
    /// the kernel's backends, which refuse without one). On failure nothing
    /// is left behind.
    fn create(&mut self, netdevs: Option<&mut Netdevs>, config: &PortsConfig) -> Result<Hardware, BackendError>;

    /// Removes what [`Backend::create`] made.
    fn remove(&mut self, netdevs: Option<&mut Netdevs>, hardware: &Hardware) -> Result<(), BackendError>;

    /// Removes what [`Backend::create`] made for several devices (at
    /// teardown), together where the kernel can: it tries every device
    /// and returns the first failure (logging the others).
    fn remove_many(&mut self, mut netdevs: Option<&mut Netdevs>, hardware: &[&Hardware]) -> Result<(), BackendError> {
        let mut first_error = None;
        for one in hardware {
            match (self.remove(netdevs.as_deref_mut(), one), &first_error) {
                (Ok(()), _) => {}
                (Err(e), None) => first_error = Some(e),
                (Err(e), Some(_)) => log::warn!("{}", e.message()),
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Makes again the ports whose netdevs were deleted by somebody else;
    /// returns the device's ports then.
    fn repair(
        &mut self,
        _netdevs: Option<&mut Netdevs>,
        _config: &PortsConfig,
        hardware: &Hardware,
    ) -> Result<Vec<Port>, BackendError> {
        Ok(hardware.ports.clone())
    }
}

/// The kernel's backends without a hardware namespace (a simulator run in
/// process, for fuzzing): only model devices can be made.
pub fn needs_netdevs(netdevs: Option<&mut Netdevs>) -> Result<&mut Netdevs, BackendError> {
    netdevs.ok_or_else(|| BackendError {
        action: "creating netdevs".into(),
        source: KernelError {
            errno: libc::EOPNOTSUPP,
            message: Some("this simulator has no hardware namespace: only model devices".into()),
        },
    })
}

/// What can be done to a port.
pub trait Ports {
    /// The port as its hardware reports it now; `None` when its netdev is
    /// gone (deleted by somebody else).
    fn port_state(&mut self, port: &Port) -> Result<Option<PortState>, KernelError>;

    fn set_mtu(&mut self, port: &Port, mtu: u32) -> Result<(), KernelError>;
    fn set_mac(&mut self, port: &Port, mac: &Mac) -> Result<(), KernelError>;
    fn set_up(&mut self, port: &Port, up: bool) -> Result<(), KernelError>;
    /// Plugs (true) or unplugs (false) the port's cable.
    fn set_carrier(&mut self, port: &Port, on: bool) -> Result<(), KernelError>;
    /// Sets ring sizes (`ethtool -G`); the driver may have none (`EOPNOTSUPP`).
    fn set_rings(&mut self, port: &Port, rx: Option<u32>, tx: Option<u32>) -> Result<(), KernelError>;
    /// The kernel's counters of the port.
    fn port_counters(&mut self, port: &Port) -> Result<PortCounters, KernelError>;
}
