//! veth hardware: each port is a veth pair. The port end (`NAMEpN`) is the
//! device's netdev; the peer end (`NAMEpN-peer`) is the cable, kept up so
//! that the port has carrier whenever it is up itself. Real traffic passes
//! between the two ends (see [`super::netdevs`]).
//!
//! Only pairs the kernel created for this request are the device's: a name
//! that is already taken is refused (saying whose netdev holds it), never
//! taken over, and a failed creation removes only what it created.

use super::netdevs::Netdevs;
use super::Port;
use super::{needs_netdevs, Backend, BackendError, Hardware, PortsConfig};
use crate::hardware::ownership::Mark;
use simdev_netlink::rtnl::{KernelError, LinkChange, NewPort};
use simdev_protocol::simdev::port_mac;

#[derive(Default)]
pub struct VethBackend;

/// A failure to create the pair `name`/`peer`.
fn pair_error(name: &str, peer: &str, source: KernelError) -> BackendError {
    BackendError { action: format!("creating veth pair {name}/{peer}"), source }
}

impl VethBackend {
    /// Creates every port and leaves in `ports` those it created (also on
    /// failure, for the caller to remove).
    fn create_all(netdevs: &mut Netdevs, config: &PortsConfig, ports: &mut Vec<Port>) -> Result<(), BackendError> {
        let indices: Vec<u32> = (0..config.names.len() as u32).collect();
        Self::create_ports(netdevs, config, &indices, ports)
    }

    /// Creates the ports of the given indices, leaving in `ports` those it
    /// created (also on failure, for the caller to remove).
    fn create_ports(
        netdevs: &mut Netdevs,
        config: &PortsConfig,
        indices: &[u32],
        ports: &mut Vec<Port>,
    ) -> Result<(), BackendError> {
        let names: Vec<(u32, &String, &String)> =
            indices.iter().map(|&i| (i, &config.names[i as usize].0, &config.names[i as usize].1)).collect();
        for &(_, name, peer) in &names {
            netdevs.check_names_free([name, peer], &[]).map_err(|e| pair_error(name, peer, e))?;
        }
        let pairs: Vec<(String, String, NewPort)> = names
            .iter()
            .map(|&(index, name, peer)| {
                let new_port = NewPort {
                    mtu: config.mtu,
                    mac: config.base_mac.map(|base| port_mac(&base, index)),
                    queues: config.queues,
                };
                (name.clone(), peer.clone(), new_port)
            })
            .collect();
        let created = netdevs.rtnl.create_veths(&pairs);
        // The ones created are found by name: the kernel refuses the names
        // to anybody else while they exist.
        netdevs.sync();
        let mut first_error = None;
        for (&(index, name, peer), outcome) in names.iter().zip(created) {
            if let Err(source) = outcome {
                first_error.get_or_insert_with(|| pair_error(name, peer, source));
                continue;
            }
            let ifindex = |wanted: &str| netdevs.all().find(|l| l.ifname == wanted).map(|l| l.ifindex);
            match (ifindex(name), ifindex(peer)) {
                (Some(ifindex), Some(peer_ifindex)) => {
                    netdevs.created(ifindex);
                    netdevs.created(peer_ifindex);
                    ports.push(Port {
                        index,
                        ifname: name.clone(),
                        ifindex,
                        peer_ifname: peer.clone(),
                        peer_ifindex,
                        has_rings: false,
                    });
                }
                _ => {
                    // Not announced (notifications were lost, and the
                    // dump that replaced them failed): delete it by name, it is ours.
                    let _ = netdevs.rtnl.delete_link_named(name);
                    let source = KernelError { errno: libc::ENODEV, message: Some("a new port vanished".into()) };
                    first_error.get_or_insert_with(|| pair_error(name, peer, source));
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        // Mark both ends as ours; the cable comes up, the port if asked to.
        let alias = Mark::own().alias(&config.device_name);
        let changes: Vec<LinkChange> = ports
            .iter()
            .filter(|port| indices.contains(&port.index))
            .flat_map(|port| {
                let mark = |ifindex, up| LinkChange { ifindex, alias: Some(alias.clone()), up, name: None };
                [mark(port.peer_ifindex, Some(true)), mark(port.ifindex, config.up.then_some(true))]
            })
            .collect();
        netdevs.rtnl.change_links(&changes).map_err(|(index, source)| {
            let (name, peer) = &config.names[indices[index / 2] as usize];
            BackendError { action: format!("setting up veth pair {name}/{peer}"), source }
        })
    }

    fn remove_ports(netdevs: &mut Netdevs, ports: &[Port]) -> Result<(), BackendError> {
        if ports.len() > 1 && Self::remove_together(netdevs, ports) {
            return Ok(());
        }
        let mut first_error = None;
        for port in ports {
            // Deleting one end of a veth pair deletes both.
            match netdevs.rtnl.delete_link(port.ifindex) {
                Ok(()) => {
                    netdevs.removed(port.ifindex);
                    netdevs.removed(port.peer_ifindex);
                }
                Err(source) => {
                    log::warn!("removing {}: {source}", port.ifname);
                    first_error.get_or_insert(BackendError { action: format!("removing {}", port.ifname), source });
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Deletes the ports' pairs with one request
    /// ([`simdev_netlink::rtnl::Rtnl::delete_together`], their port ends:
    /// a veth takes its peer along). Returns whether it did; `false` leaves
    /// them to be deleted one by one.
    fn remove_together(netdevs: &mut Netdevs, ports: &[Port]) -> bool {
        let ifindexes: Vec<u32> = ports.iter().map(|p| p.ifindex).collect();
        if !netdevs.rtnl.delete_together(&ifindexes) {
            return false;
        }
        for port in ports {
            netdevs.removed(port.ifindex);
            netdevs.removed(port.peer_ifindex);
        }
        true
    }
}

impl Backend for VethBackend {
    fn create(&mut self, netdevs: Option<&mut Netdevs>, config: &PortsConfig) -> Result<Hardware, BackendError> {
        let netdevs = needs_netdevs(netdevs)?;
        let mut ports = Vec::new();
        match Self::create_all(netdevs, config, &mut ports) {
            Ok(()) => Ok(Hardware { ports, netdevsim: None }),
            Err(e) => {
                let _ = Self::remove_ports(netdevs, &ports);
                Err(e)
            }
        }
    }

    fn remove(&mut self, netdevs: Option<&mut Netdevs>, hardware: &Hardware) -> Result<(), BackendError> {
        self.remove_many(netdevs, &[hardware])
    }

    /// Every device's pairs in one deletion.
    fn remove_many(&mut self, netdevs: Option<&mut Netdevs>, hardware: &[&Hardware]) -> Result<(), BackendError> {
        let netdevs = needs_netdevs(netdevs)?;
        let present: Vec<Port> =
            hardware.iter().flat_map(|one| &one.ports).filter(|p| netdevs.link(p.ifindex).is_some()).cloned().collect();
        Self::remove_ports(netdevs, &present)
    }

    /// A pair whose port end is gone is made again (its cable end, if it
    /// is still here, is deleted first: it is ours, and veth pairs come
    /// whole); the names must still be free.
    fn repair(
        &mut self,
        netdevs: Option<&mut Netdevs>,
        config: &PortsConfig,
        hardware: &Hardware,
    ) -> Result<Vec<Port>, BackendError> {
        let netdevs = needs_netdevs(netdevs)?;
        netdevs.sync();
        let (present, gone): (Vec<Port>, Vec<Port>) =
            hardware.ports.iter().cloned().partition(|p| netdevs.link(p.ifindex).is_some());
        for port in &gone {
            if netdevs.link(port.peer_ifindex).is_some() {
                netdevs.rtnl.delete_link(port.peer_ifindex).map_err(|source| BackendError {
                    action: format!("removing {}, whose port end is gone", port.peer_ifname),
                    source,
                })?;
                netdevs.removed(port.peer_ifindex);
            }
            netdevs.removed(port.ifindex);
        }
        let indices: Vec<u32> = gone.iter().map(|p| p.index).collect();
        let mut made = Vec::new();
        if let Err(e) = Self::create_ports(netdevs, config, &indices, &mut made) {
            let _ = Self::remove_ports(netdevs, &made);
            return Err(e);
        }
        let mut ports: Vec<Port> = present.into_iter().chain(made).collect();
        ports.sort_by_key(|p| p.index);
        Ok(ports)
    }
}
