//! The "hardware" behind simulated devices, one file per kind behind the
//! [`Backend`] trait. A backend creates and removes a device's netdevs and
//! applies changes to them through the kernel; it never keeps its own idea
//! of a netdev's state: [`Backend::port_info`] always asks the kernel.

pub mod model;
pub mod veth;

use crate::config::DeviceConfig;
use crate::device::Port;
use crate::rtnl::KernelError;
use simdev_protocol::simdev::{Mac, PortInfo, PortStats};

/// A backend operation failed; `action` says what was being done.
#[derive(Debug, thiserror::Error)]
#[error("{action}: {source}")]
pub struct BackendError {
    pub action: String,
    #[source]
    pub source: KernelError,
}

pub trait Backend {
    /// The name `dev-get` reports.
    fn name(&self) -> &'static str;

    /// Creates the device's ports. On failure nothing is left behind.
    fn create_ports(&mut self, config: &DeviceConfig) -> Result<Vec<Port>, BackendError>;

    /// Removes the device's ports.
    fn remove_ports(&mut self, ports: &[Port]) -> Result<(), BackendError>;

    /// The port as the kernel sees it now.
    fn port_info(&mut self, port: &Port) -> Result<PortInfo, KernelError>;

    fn set_mtu(&mut self, port: &Port, mtu: u32) -> Result<(), KernelError>;
    fn set_mac(&mut self, port: &Port, mac: &Mac) -> Result<(), KernelError>;
    fn set_up(&mut self, port: &Port, up: bool) -> Result<(), KernelError>;
    /// Plugs (true) or unplugs (false) the port's cable.
    fn set_carrier(&mut self, port: &Port, on: bool) -> Result<(), KernelError>;
    /// The kernel's counters of the port.
    fn port_stats(&mut self, port: &Port) -> Result<PortStats, KernelError>;
}
