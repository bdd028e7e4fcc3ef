//! veth hardware: each port is a veth pair. The port end (`NAMEpN`) is the
//! device's netdev; the peer end (`NAMEpN-peer`) is the cable, kept up so
//! that the port has carrier whenever it is up itself. Real traffic passes
//! between the two ends. The cable's MTU follows the port's, so frames the
//! port may send are not dropped on the far side.

use super::{Backend, BackendError};
use crate::config::DeviceConfig;
use crate::device::Port;
use crate::rtnl::{KernelError, Rtnl};
use simdev_protocol::simdev::{port_mac, Mac, OperState, PortInfo, PortStats};

pub struct VethBackend {
    rtnl: Rtnl,
}

impl VethBackend {
    pub fn new(rtnl: Rtnl) -> Self {
        VethBackend { rtnl }
    }

    fn create_port(&mut self, config: &DeviceConfig, index: u32) -> Result<Port, BackendError> {
        let ifname = config.port_ifname(index);
        let peer_ifname = config.peer_ifname(index);
        let (ifindex, peer_ifindex) = self
            .rtnl
            .create_veth(&ifname, &peer_ifname)
            .map_err(|source| BackendError { action: format!("creating veth pair {ifname}/{peer_ifname}"), source })?;
        let port = Port { index, ifname, ifindex, peer_ifname, peer_ifindex };
        self.configure_new_port(config, &port).inspect_err(|_| {
            let _ = self.rtnl.delete_link(port.ifindex);
        })?;
        Ok(port)
    }

    fn configure_new_port(&mut self, config: &DeviceConfig, port: &Port) -> Result<(), BackendError> {
        let fail = |what: &str| {
            let action = format!("{what} on {}", port.ifname);
            move |source| BackendError { action, source }
        };
        if let Some(mtu) = &config.mtu {
            self.set_mtu(port, *mtu.get_ref()).map_err(fail("setting mtu"))?;
        }
        if let Some(base) = config.base_mac() {
            self.set_mac(port, &port_mac(&base, port.index)).map_err(fail("setting mac"))?;
        }
        self.rtnl.set_up(port.peer_ifindex, true).map_err(fail("bringing up the cable end"))?;
        if config.up {
            self.set_up(port, true).map_err(fail("bringing up"))?;
        }
        Ok(())
    }
}

impl Backend for VethBackend {
    fn name(&self) -> &'static str {
        "veth"
    }

    fn create_ports(&mut self, config: &DeviceConfig) -> Result<Vec<Port>, BackendError> {
        let mut ports = Vec::new();
        for index in 0..*config.ports.get_ref() {
            match self.create_port(config, index) {
                Ok(port) => ports.push(port),
                Err(e) => {
                    let _ = self.remove_ports(&ports);
                    return Err(e);
                }
            }
        }
        Ok(ports)
    }

    fn remove_ports(&mut self, ports: &[Port]) -> Result<(), BackendError> {
        let mut first_error = None;
        for port in ports {
            // Deleting one end of a veth pair deletes both.
            if let Err(source) = self.rtnl.delete_link(port.ifindex) {
                log::warn!("removing {}: {source}", port.ifname);
                first_error.get_or_insert(BackendError { action: format!("removing {}", port.ifname), source });
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn port_info(&mut self, port: &Port) -> Result<PortInfo, KernelError> {
        let link = self.rtnl.link(port.ifindex)?;
        Ok(PortInfo {
            index: port.index,
            ifindex: link.ifindex,
            ifname: link.ifname,
            peer_ifname: port.peer_ifname.clone(),
            mac: link.mac,
            mtu: link.mtu,
            up: link.up,
            oper_state: OperState(link.oper_state),
            carrier: link.lower_up,
        })
    }

    fn set_mtu(&mut self, port: &Port, mtu: u32) -> Result<(), KernelError> {
        let old_peer_mtu = self.rtnl.link(port.peer_ifindex)?.mtu;
        self.rtnl.set_mtu(port.peer_ifindex, mtu)?;
        self.rtnl.set_mtu(port.ifindex, mtu).inspect_err(|_| {
            let _ = self.rtnl.set_mtu(port.peer_ifindex, old_peer_mtu);
        })
    }

    fn set_mac(&mut self, port: &Port, mac: &Mac) -> Result<(), KernelError> {
        self.rtnl.set_mac(port.ifindex, mac)
    }

    fn set_up(&mut self, port: &Port, up: bool) -> Result<(), KernelError> {
        self.rtnl.set_up(port.ifindex, up)
    }

    /// The cable is the peer end: down is unplugged (the port loses carrier).
    fn set_carrier(&mut self, port: &Port, on: bool) -> Result<(), KernelError> {
        self.rtnl.set_up(port.peer_ifindex, on)
    }

    fn port_stats(&mut self, port: &Port) -> Result<PortStats, KernelError> {
        let link = self.rtnl.link(port.ifindex)?;
        let [rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped] = link.stats;
        Ok(PortStats {
            index: port.index,
            ifname: link.ifname,
            rx_packets,
            tx_packets,
            rx_bytes,
            tx_bytes,
            rx_errors,
            tx_errors,
            rx_dropped,
            tx_dropped,
        })
    }
}
