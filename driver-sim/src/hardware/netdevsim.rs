//! netdevsim hardware: the kernel's own simulated device
//! (`drivers/net/netdevsim`). A simdev device is one netdevsim device
//! (`/sys/bus/netdevsim/new_device`, created from inside the hardware
//! namespace, so its netdevs and its devlink instance live there) and its
//! cable is a second netdevsim device with as many ports, each port linked
//! to its cable end through `/sys/bus/netdevsim/link_device`: a linked pair
//! passes traffic and has carrier while both ends are up, like a veth pair
//! (see [`super::netdevs`]). Ports are renamed `NAMEpN` / `NAMEpN-peer`.
//!
//! The netdevs are found by rtnetlink (`IFLA_PARENT_DEV_NAME`,
//! `IFLA_PHYS_PORT_NAME`), not under the device's sysfs directory: sysfs
//! shows only the netdevs of the namespace it was mounted in, and the
//! simulator's is not the hardware's.
//!
//! Firmware, flash and reset go through devlink, see [`NetdevsimBackend::devlink`].

use super::netdevs::Netdevs;
use super::Port;
use super::{needs_netdevs, Backend, BackendError, Hardware, Ports, PortsConfig};
use crate::hardware::netns::in_namespace;
use crate::hardware::ownership::Mark;
use simdev_netlink::client::Client;
use simdev_netlink::devlink::{Devlink, Handle};
use simdev_netlink::rtnl::{KernelError, LinkChange, LinkState};
use simdev_protocol::simdev::{port_mac, FaultInfo};
use std::collections::BTreeSet;
use std::os::fd::AsRawFd;
use std::path::Path;

pub const BUS: &str = "/sys/bus/netdevsim";
/// netdevsim's per-device fault knobs.
const DEBUGFS: &str = "/sys/kernel/debug/netdevsim";
/// netdevsim's devlink bus name.
pub const DEVLINK_BUS: &str = "netdevsim";

/// The two netdevsim devices behind one simdev device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsimDevice {
    pub id: u32,
    pub cable_id: u32,
    /// The sysfs nodes of the two when they were made: a device another
    /// user made with a reused id has another node, and is not ours.
    pub nodes: [u64; 2],
}

/// The identity of netdevsim device `id` now: its sysfs node's inode
/// number (kernfs numbers nodes afresh), if it exists.
pub fn node_of(id: u32) -> Option<u64> {
    std::fs::metadata(format!("{BUS}/devices/netdevsim{id}")).ok().map(|m| std::os::unix::fs::MetadataExt::ino(&m))
}

impl NsimDevice {
    pub fn devlink(&self) -> Handle {
        Handle::new(DEVLINK_BUS, &format!("netdevsim{}", self.id))
    }

    /// Turns one of the device's debugfs fault knobs on or off.
    pub fn set_knob(&self, knob: &str, on: bool) -> Result<(), KernelError> {
        let path = format!("{DEBUGFS}/netdevsim{}/{knob}", self.id);
        std::fs::write(&path, if on { "Y" } else { "N" }).map_err(|e| KernelError {
            errno: e.raw_os_error().unwrap_or(libc::EIO),
            message: Some(format!("writing {path}: {e} (is debugfs mounted on /sys/kernel/debug?)")),
        })
    }
}

/// The netdevsim knob that makes the kernel itself fail as `fault` asks,
/// if there is one: a `dev-reset` (devlink reload) failing every time with
/// the errno the knob makes netdevsim return — `fail_reload` (EINVAL, after
/// the driver tore its ports down, as a real failed reload does) or
/// `dont_allow_reload` (EOPNOTSUPP, refused before anything happens).
/// Other faults are the simulated driver's own, as on every backend.
pub fn knob_for(fault: &FaultInfo) -> Option<&'static str> {
    let every_time = fault.count.is_none() && fault.probability.is_none() && fault.delay_ms == 0;
    match (fault.command.as_str(), fault.errno as i32) {
        ("dev-reset", libc::EINVAL) if every_time => Some("fail_reload"),
        ("dev-reset", libc::EOPNOTSUPP) if every_time => Some("dont_allow_reload"),
        _ => None,
    }
}

pub struct NetdevsimBackend {
    netns_path: String,
    devlink: Option<Devlink>,
}

fn io_error(action: &str, e: std::io::Error) -> BackendError {
    BackendError { action: action.to_string(), source: e.into() }
}

/// Refuses clearly where there is no netdevsim.
fn check_available() -> Result<(), KernelError> {
    if Path::new(BUS).exists() {
        return Ok(());
    }
    Err(KernelError {
        errno: libc::EOPNOTSUPP,
        message: Some(format!(
            "netdevsim is not available: {BUS} is missing (load it with `modprobe netdevsim`; \
             tests/vm/run-in-vm boots a kernel that has it)"
        )),
    })
}

/// Ids of the netdevsim devices that exist now (anyone's).
fn used_ids() -> BTreeSet<u32> {
    let Ok(entries) = std::fs::read_dir(format!("{BUS}/devices")) else {
        return BTreeSet::new();
    };
    entries.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("netdevsim")?.parse().ok()).collect()
}

/// Writes one line to a netdevsim bus file and turns the kernel's refusal
/// into an error (sysfs writes fail with the errno the driver returned).
fn write_bus(file: &str, line: String) -> std::io::Result<()> {
    std::fs::write(format!("{BUS}/{file}"), line)
}

fn fail(action: &str) -> impl Fn(KernelError) -> BackendError + '_ {
    move |source| BackendError { action: action.to_string(), source }
}

impl NetdevsimBackend {
    pub fn new(netns_path: String) -> Self {
        NetdevsimBackend { netns_path, devlink: None }
    }

    /// A devlink client in the hardware namespace (opened on first use).
    pub fn devlink(&mut self) -> Result<&mut Devlink, KernelError> {
        if self.devlink.is_none() {
            let opened = in_namespace(&self.netns_path, || Client::kernel().and_then(Devlink::new))
                .map_err(KernelError::from)?
                .map_err(KernelError::from)?;
            self.devlink = Some(opened);
        }
        Ok(self.devlink.as_mut().expect("just opened"))
    }

    pub fn netns_path(&self) -> &str {
        &self.netns_path
    }

    /// Creates a netdevsim device with `ports` ports of `queues` queues in the hardware
    /// namespace, at the lowest free id (another user may take an id
    /// between the look and the write: the kernel then says ENOSPC and the
    /// next id is tried).
    /// Returns the device's id and the identity of its sysfs node.
    fn new_device(&self, netdevs: &Netdevs, ports: u32, queues: u32) -> Result<(u32, u64), BackendError> {
        let mut taken = used_ids();
        for _ in 0..64 {
            let id = (1..).find(|id| !taken.contains(id)).expect("a free id");
            let line = format!("{id} {ports} {queues}");
            let written =
                in_namespace(&self.netns_path, move || write_bus("new_device", line)).and_then(|result| result);
            match written {
                Ok(()) => {
                    let node = node_of(id).unwrap_or_default();
                    if let Some(undertaker) = &netdevs.undertaker {
                        undertaker.created_netdevsim(id, node);
                    }
                    return Ok((id, node));
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EEXIST)) => {
                    taken.insert(id);
                }
                Err(e) if e.raw_os_error() == Some(libc::EACCES) || e.raw_os_error() == Some(libc::EPERM) => {
                    let source = KernelError {
                        errno: libc::EPERM,
                        message: Some(format!("writing {BUS}/new_device needs root")),
                    };
                    return Err(BackendError { action: "creating a netdevsim device".into(), source });
                }
                Err(e) => return Err(io_error("creating a netdevsim device", e)),
            }
        }
        Err(BackendError {
            action: "creating a netdevsim device".into(),
            source: KernelError { errno: libc::ENOSPC, message: Some("no free netdevsim id".into()) },
        })
    }

    /// Deletes netdevsim device `id` if it still is the one made as
    /// `node`: one somebody else deleted is gone already, and one made
    /// since with the same id is theirs.
    fn del_device(&self, netdevs: &Netdevs, id: u32, node: u64) -> Result<(), BackendError> {
        if node_of(id) == Some(node) {
            write_bus("del_device", id.to_string()).map_err(|e| io_error(&format!("removing netdevsim{id}"), e))?;
        }
        if let Some(undertaker) = &netdevs.undertaker {
            undertaker.removed_netdevsim(id);
        }
        Ok(())
    }

    /// The netdevs of netdevsim device `id`, in port order (netdevsim
    /// names its ports `p1`, `p2`, ... by devlink port number).
    fn netdevs(netdevs: &mut Netdevs, id: u32, ports: u32) -> Result<Vec<LinkState>, KernelError> {
        let parent = format!("netdevsim{id}");
        netdevs.sync();
        let mut found: Vec<(u32, LinkState)> = netdevs
            .all()
            .filter(|link| link.parent_dev.as_deref() == Some(parent.as_str()))
            .cloned()
            .filter_map(|link| {
                let number = link.phys_port_name.as_deref()?.strip_prefix('p')?.parse().ok()?;
                Some((number, link))
            })
            .collect();
        if found.len() != ports as usize {
            let message = format!("{parent} has {} ports in this namespace, not {ports}", found.len());
            return Err(KernelError { errno: libc::ENODEV, message: Some(message) });
        }
        found.sort_by_key(|(number, _)| *number);
        Ok(found.into_iter().map(|(_, link)| link).collect())
    }

    /// Finds the device's and the cable's netdevs, names and marks them as
    /// the simulator's, links each port to its cable end, and brings them
    /// to their initial state. A name another netdev holds is refused.
    pub fn adopt(
        &mut self,
        netdevs: &mut Netdevs,
        device: &NsimDevice,
        config: &PortsConfig,
    ) -> Result<Vec<Port>, BackendError> {
        let count = config.names.len() as u32;
        let own = Self::netdevs(netdevs, device.id, count).map_err(fail("finding the netdevsim ports"))?;
        let cable =
            Self::netdevs(netdevs, device.cable_id, count).map_err(fail("finding the cable's netdevsim ports"))?;
        let being_named: Vec<u32> = own.iter().chain(&cable).map(|link| link.ifindex).collect();
        netdevs
            .check_names_free(config.names.iter().flat_map(|(name, peer)| [name, peer]), &being_named)
            .map_err(fail(&format!("naming the ports of {}", config.device_name)))?;
        let netns = std::fs::File::open(&self.netns_path).map_err(|e| io_error("opening the hardware namespace", e))?;
        let fd = netns.as_raw_fd();
        let alias = Mark::own().alias(&config.device_name);
        let mut ports = Vec::new();
        for (index, ((port, peer), (name, peer_name))) in own.iter().zip(&cable).zip(&config.names).enumerate() {
            let action = format!("setting up {name}");
            let name_and_mark = |ifindex, name: &String| LinkChange {
                ifindex,
                name: Some(name.clone()),
                alias: Some(alias.clone()),
                up: None,
            };
            let changes = [name_and_mark(port.ifindex, name), name_and_mark(peer.ifindex, peer_name)];
            netdevs.rtnl.change_links(&changes).map_err(|(_, e)| e).map_err(fail(&action))?;
            write_bus("link_device", format!("{fd}:{} {fd}:{}", port.ifindex, peer.ifindex))
                .map_err(|e| io_error(&format!("linking {name} to {peer_name}"), e))?;
            let port = Port {
                index: index as u32,
                ifname: name.clone(),
                ifindex: port.ifindex,
                peer_ifname: peer_name.clone(),
                peer_ifindex: peer.ifindex,
                has_rings: true,
            };
            if let Some(mtu) = config.mtu {
                netdevs.set_mtu(&port, mtu).map_err(fail(&action))?;
            }
            if let Some(base) = &config.base_mac {
                netdevs.rtnl.set_mac(port.ifindex, &port_mac(base, port.index)).map_err(fail(&action))?;
            }
            netdevs.rtnl.set_up(port.peer_ifindex, true).map_err(fail(&action))?;
            if config.up {
                netdevs.rtnl.set_up(port.ifindex, true).map_err(fail(&action))?;
            }
            netdevs.read_rings(port.ifindex);
            ports.push(port);
        }
        Ok(ports)
    }

    fn create_device(
        &mut self,
        netdevs: &mut Netdevs,
        config: &PortsConfig,
        created: &mut Vec<(u32, u64)>,
    ) -> Result<Hardware, BackendError> {
        let count = config.names.len() as u32;
        let queues = config.queues.unwrap_or(1);
        let (id, node) = self.new_device(netdevs, count, queues)?;
        created.push((id, node));
        let (cable_id, cable_node) = self.new_device(netdevs, count, queues)?;
        created.push((cable_id, cable_node));
        let device = NsimDevice { id, cable_id, nodes: [node, cable_node] };
        let ports = self.adopt(netdevs, &device, config)?;
        Ok(Hardware { ports, netdevsim: Some(device) })
    }
}

impl Backend for NetdevsimBackend {
    fn create(&mut self, netdevs: Option<&mut Netdevs>, config: &PortsConfig) -> Result<Hardware, BackendError> {
        let netdevs = needs_netdevs(netdevs)?;
        check_available().map_err(|source| BackendError { action: "creating a netdevsim device".into(), source })?;
        let mut created = Vec::new();
        self.create_device(netdevs, config, &mut created).inspect_err(|_| {
            for (id, node) in created {
                if let Err(e) = self.del_device(netdevs, id, node) {
                    log::warn!("{}", e.message());
                }
            }
        })
    }

    fn remove(&mut self, netdevs: Option<&mut Netdevs>, hardware: &Hardware) -> Result<(), BackendError> {
        let netdevs = needs_netdevs(netdevs)?;
        let Some(device) = &hardware.netdevsim else {
            return Ok(());
        };
        let first = self.del_device(netdevs, device.id, device.nodes[0]);
        let second = self.del_device(netdevs, device.cable_id, device.nodes[1]);
        first.and(second)
    }
}
