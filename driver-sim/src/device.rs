//! The device model: simulated devices, their ports, and the operations
//! handlers perform on them. State that the kernel owns (MTU, MAC, link
//! state) is never cached here; it is read back through the backend.

use crate::backend::{Backend, BackendError};
use crate::config::ResolvedDevices;
use crate::rtnl::KernelError;
use simdev_protocol::simdev::{dev_attr, port_mac, DevInfo, DevSelector, DevSet, Mac};

/// One port: a netdev and its cable end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub index: u32,
    pub ifname: String,
    pub ifindex: u32,
    pub peer_ifname: String,
    pub peer_ifindex: u32,
}

#[derive(Debug, Clone)]
pub struct Device {
    pub id: u32,
    pub name: String,
    pub ports: Vec<Port>,
}

/// A `dev-set` the kernel refused: which attribute, and why.
#[derive(Debug)]
pub struct SetError {
    /// The `dev` attribute whose change failed.
    pub attr: u16,
    pub port: String,
    pub error: KernelError,
}

/// All devices and the hardware behind them.
pub struct Devices {
    devices: Vec<Device>,
    backend: Box<dyn Backend>,
}

impl Devices {
    pub fn new(backend: Box<dyn Backend>) -> Self {
        Devices {
            devices: Vec::new(),
            backend,
        }
    }

    /// Creates the configured devices; on failure removes what was created.
    pub fn create_all(&mut self, configs: ResolvedDevices) -> Result<(), BackendError> {
        for (id, config) in configs {
            match self.backend.create_ports(&config) {
                Ok(ports) => self.devices.push(Device {
                    id,
                    name: config.name.into_inner(),
                    ports,
                }),
                Err(e) => {
                    self.remove_all();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Removes every device's netdevs (teardown).
    pub fn remove_all(&mut self) {
        for device in std::mem::take(&mut self.devices) {
            if let Err(e) = self.backend.remove_ports(&device.ports) {
                log::warn!("tearing down {}: {e}", device.name);
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        self.devices.iter()
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    pub fn find(&self, selector: &DevSelector) -> Option<&Device> {
        self.devices.iter().find(|d| match selector {
            DevSelector::Id(id) => d.id == *id,
            DevSelector::Name(name) => &d.name == name,
        })
    }

    /// The device as the kernel sees its ports now.
    pub fn info(&mut self, device: &Device) -> Result<DevInfo, KernelError> {
        let ports = device
            .ports
            .iter()
            .map(|port| self.backend.port_info(port))
            .collect::<Result<_, _>>()?;
        Ok(DevInfo {
            id: device.id,
            name: device.name.clone(),
            backend: self.backend.name().to_string(),
            ports,
        })
    }

    /// Applies a `dev-set` to every port: MTU, then MAC (base + port
    /// index), then admin state. All or nothing: if the kernel refuses a
    /// change, the changes already made are undone before returning.
    pub fn apply_set(&mut self, device: &Device, set: &DevSet) -> Result<(), SetError> {
        let mut done: Vec<(&Port, PortChange)> = Vec::new();
        let result = self.apply_each(device, set, &mut done);
        if result.is_err() {
            for (port, previous) in done.into_iter().rev() {
                if let Err(e) = self.apply(port, &previous) {
                    log::warn!("undoing a change on {}: {e}", port.ifname);
                }
            }
        }
        result
    }

    /// Applies the changes port by port, recording in `done` how to undo
    /// each one that succeeded.
    fn apply_each<'d>(
        &mut self,
        device: &'d Device,
        set: &DevSet,
        done: &mut Vec<(&'d Port, PortChange)>,
    ) -> Result<(), SetError> {
        for port in &device.ports {
            let before = self.backend.port_info(port).map_err(|error| SetError {
                attr: dev_attr::ID,
                port: port.ifname.clone(),
                error,
            })?;
            let changes = [
                set.mtu
                    .map(|mtu| (PortChange::Mtu(mtu), PortChange::Mtu(before.mtu))),
                set.mac.map(|base| {
                    (
                        PortChange::Mac(port_mac(&base, port.index)),
                        PortChange::Mac(before.mac),
                    )
                }),
                set.up
                    .map(|up| (PortChange::Up(up), PortChange::Up(before.up))),
            ];
            for (change, previous) in changes.into_iter().flatten() {
                self.apply(port, &change).map_err(|error| SetError {
                    attr: change.attr(),
                    port: port.ifname.clone(),
                    error,
                })?;
                done.push((port, previous));
            }
        }
        Ok(())
    }

    fn apply(&mut self, port: &Port, change: &PortChange) -> Result<(), KernelError> {
        match change {
            PortChange::Mtu(mtu) => self.backend.set_mtu(port, *mtu),
            PortChange::Mac(mac) => self.backend.set_mac(port, mac),
            PortChange::Up(up) => self.backend.set_up(port, *up),
        }
    }
}

/// One change to one port (also how a change is undone).
#[derive(Debug, Clone, Copy)]
enum PortChange {
    Mtu(u32),
    Mac(Mac),
    Up(bool),
}

impl PortChange {
    /// The `dev` attribute that asked for this change.
    fn attr(&self) -> u16 {
        match self {
            PortChange::Mtu(_) => dev_attr::MTU,
            PortChange::Mac(_) => dev_attr::MAC,
            PortChange::Up(_) => dev_attr::UP,
        }
    }
}
