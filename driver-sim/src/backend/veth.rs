//! veth hardware: each port is a veth pair. The port end (`NAMEpN`) is the
//! device's netdev; the peer end (`NAMEpN-peer`) is the cable, kept up so
//! that the port has carrier whenever it is up itself. Real traffic passes
//! between the two ends (see [`super::netdevs`]).

use super::netdevs::Netdevs;
use super::{Backend, BackendError, Hardware};
use crate::config::DeviceConfig;
use crate::device::Port;
use crate::rtnl::{KernelError, NewPort};
use simdev_protocol::simdev::port_mac;

#[derive(Default)]
pub struct VethBackend;

impl VethBackend {
    /// Creates every port, then learns their ifindexes from one dump;
    /// leaves the ports that exist in `ports`, also on failure.
    fn create_all(netdevs: &mut Netdevs, config: &DeviceConfig, ports: &mut Vec<Port>) -> Result<(), BackendError> {
        let pairs: Vec<(String, String, NewPort)> = (0..*config.ports.get_ref())
            .map(|index| {
                let new_port = NewPort {
                    mtu: config.mtu.as_ref().map(|m| *m.get_ref()),
                    mac: config.base_mac().map(|base| port_mac(&base, index)),
                    up: config.up,
                    queues: config.queues(),
                };
                (config.port_ifname(index), config.peer_ifname(index), new_port)
            })
            .collect();
        let names: Vec<(u32, String, String)> =
            pairs.iter().enumerate().map(|(i, (name, peer, _))| (i as u32, name.clone(), peer.clone())).collect();
        let created = netdevs.rtnl.create_veths(&pairs);
        Self::adopt(netdevs, &names, ports);
        if let Err((index, source)) = created {
            let (_, name, peer) = &names[index];
            return Err(BackendError { action: format!("creating veth pair {name}/{peer}"), source });
        }
        if ports.len() != names.len() {
            let source = KernelError { errno: libc::ENODEV, message: Some("a new port vanished".into()) };
            return Err(BackendError { action: format!("looking up the ports of {}", config.name.get_ref()), source });
        }
        Ok(())
    }

    fn remove_ports(netdevs: &mut Netdevs, ports: &[Port]) -> Result<(), BackendError> {
        let mut first_error = None;
        for port in ports {
            // Deleting one end of a veth pair deletes both.
            if let Err(source) = netdevs.rtnl.delete_link(port.ifindex) {
                log::warn!("removing {}: {source}", port.ifname);
                first_error.get_or_insert(BackendError { action: format!("removing {}", port.ifname), source });
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Turns created (index, name, peer) triples into ports, with ifindexes.
    fn adopt(netdevs: &mut Netdevs, names: &[(u32, String, String)], ports: &mut Vec<Port>) {
        let links = match netdevs.rtnl.links() {
            Ok(links) => links,
            Err(e) => {
                log::warn!("listing links: {e}");
                return;
            }
        };
        let ifindex = |name: &str| links.iter().find(|l| l.ifname == name).map(|l| l.ifindex);
        for (index, ifname, peer_ifname) in names {
            if let (Some(port), Some(peer)) = (ifindex(ifname), ifindex(peer_ifname)) {
                ports.push(Port {
                    index: *index,
                    ifname: ifname.clone(),
                    ifindex: port,
                    peer_ifname: peer_ifname.clone(),
                    peer_ifindex: peer,
                });
            }
        }
    }
}

impl Backend for VethBackend {
    fn create(&mut self, netdevs: &mut Netdevs, config: &DeviceConfig) -> Result<Hardware, BackendError> {
        let mut ports = Vec::new();
        match Self::create_all(netdevs, config, &mut ports) {
            Ok(()) => Ok(Hardware { ports, netdevsim: None }),
            Err(e) => {
                let _ = Self::remove_ports(netdevs, &ports);
                Err(e)
            }
        }
    }

    fn remove(&mut self, netdevs: &mut Netdevs, hardware: &Hardware) -> Result<(), BackendError> {
        Self::remove_ports(netdevs, &hardware.ports)
    }
}
