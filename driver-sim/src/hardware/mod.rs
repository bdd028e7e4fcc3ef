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
use crate::driver::device::Port;
use simdev_netlink::rtnl::KernelError;
use simdev_protocol::simdev::{Mac, PortInfo, PortStats};

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
    /// The port as its hardware reports it now.
    fn port_info(&mut self, port: &Port) -> Result<PortInfo, KernelError>;

    fn set_mtu(&mut self, port: &Port, mtu: u32) -> Result<(), KernelError>;
    fn set_mac(&mut self, port: &Port, mac: &Mac) -> Result<(), KernelError>;
    fn set_up(&mut self, port: &Port, up: bool) -> Result<(), KernelError>;
    /// Plugs (true) or unplugs (false) the port's cable.
    fn set_carrier(&mut self, port: &Port, on: bool) -> Result<(), KernelError>;
    /// Sets ring sizes (`ethtool -G`); the driver may have none (`EOPNOTSUPP`).
    fn set_rings(&mut self, port: &Port, rx: Option<u32>, tx: Option<u32>) -> Result<(), KernelError>;
    /// The kernel's counters of the port.
    fn port_stats(&mut self, port: &Port) -> Result<PortStats, KernelError>;
}
