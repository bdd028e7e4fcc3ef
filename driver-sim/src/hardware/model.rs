//! Model hardware: ports are state in memory, with no kernel netdev. For
//! unprivileged scale runs (thousands of devices); never the default. Port
//! state follows the same rules the kernel applies to a veth pair: the
//! operational state is UP only when the port is up and its cable plugged.

use super::netdevs::Netdevs;
use super::{Backend, BackendError, Hardware, Port, PortCounters, PortState, Ports, PortsConfig};
use simdev_netlink::rtnl::KernelError;
use simdev_protocol::simdev::{port_mac, Mac, OperState};
use std::collections::HashMap;

/// Default MTU of a model port (Ethernet's).
const DEFAULT_MTU: u32 = 1500;

/// What a model port holds (all the state it has).
#[derive(Debug, Clone, Copy)]
struct ModelPort {
    mtu: u32,
    mac: Mac,
    up: bool,
    carrier: bool,
}

/// Ports by their (synthetic) ifindex.
#[derive(Debug, Default)]
pub struct ModelBackend {
    ports: HashMap<u32, ModelPort>,
    next_ifindex: u32,
}

impl ModelBackend {
    fn state(&mut self, port: &Port) -> Result<&mut ModelPort, KernelError> {
        self.ports.get_mut(&port.ifindex).ok_or(KernelError { errno: libc::ENODEV, message: None })
    }
}

impl Backend for ModelBackend {
    fn create(&mut self, _: Option<&mut Netdevs>, config: &PortsConfig) -> Result<Hardware, BackendError> {
        // Without a base MAC, a locally administered one per device, as the
        // kernel's random addresses are.
        let base = config.base_mac.unwrap_or_else(|| port_mac(&[0x02, 0, 0, 0, 0, 0], self.next_ifindex));
        let ports = (0..)
            .zip(&config.names)
            .map(|(index, (name, peer))| {
                self.next_ifindex += 1;
                let ifindex = self.next_ifindex;
                self.ports.insert(
                    ifindex,
                    ModelPort {
                        mtu: config.mtu.unwrap_or(DEFAULT_MTU),
                        mac: port_mac(&base, index),
                        up: config.up,
                        carrier: true,
                    },
                );
                Port {
                    index,
                    ifname: name.clone(),
                    ifindex,
                    peer_ifname: peer.clone(),
                    peer_ifindex: 0,
                    has_rings: false,
                }
            })
            .collect();
        Ok(Hardware { ports, netdevsim: None })
    }

    fn remove(&mut self, _: Option<&mut Netdevs>, hardware: &Hardware) -> Result<(), BackendError> {
        for port in &hardware.ports {
            self.ports.remove(&port.ifindex);
        }
        Ok(())
    }
}

impl Ports for ModelBackend {
    fn port_state(&mut self, port: &Port) -> Result<Option<PortState>, KernelError> {
        let state = *self.state(port)?;
        let oper_state = match (state.up, state.carrier) {
            (false, _) => OperState::DOWN,
            (true, false) => OperState::LOWERLAYERDOWN,
            (true, true) => OperState::UP,
        };
        Ok(Some(PortState {
            ifindex: port.ifindex,
            ifname: port.ifname.clone(),
            peer_ifname: port.peer_ifname.clone(),
            mac: state.mac,
            mtu: state.mtu,
            up: state.up,
            oper_state: oper_state.0,
            carrier: state.up && state.carrier,
            rings: None,
        }))
    }

    fn set_rings(&mut self, _port: &Port, _rx: Option<u32>, _tx: Option<u32>) -> Result<(), KernelError> {
        Err(KernelError { errno: libc::EOPNOTSUPP, message: Some("model ports have no rings".into()) })
    }

    fn set_mtu(&mut self, port: &Port, mtu: u32) -> Result<(), KernelError> {
        self.state(port)?.mtu = mtu;
        Ok(())
    }

    fn set_mac(&mut self, port: &Port, mac: &Mac) -> Result<(), KernelError> {
        if mac[0] & 1 != 0 || *mac == [0; 6] {
            // What the kernel's eth_prepare_mac_addr_change refuses.
            return Err(KernelError { errno: libc::EADDRNOTAVAIL, message: None });
        }
        self.state(port)?.mac = *mac;
        Ok(())
    }

    fn set_up(&mut self, port: &Port, up: bool) -> Result<(), KernelError> {
        self.state(port)?.up = up;
        Ok(())
    }

    fn set_carrier(&mut self, port: &Port, on: bool) -> Result<(), KernelError> {
        self.state(port)?.carrier = on;
        Ok(())
    }

    fn port_counters(&mut self, port: &Port) -> Result<PortCounters, KernelError> {
        self.state(port)?;
        Ok(PortCounters { ifname: port.ifname.clone(), stats64: [0; 8] })
    }
}
