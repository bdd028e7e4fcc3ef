//! Ports that are real netdevs with a peer netdev as their cable's far end
//! (veth pairs; linked netdevsim ports): state read from and changed
//! through rtnetlink. The cable's MTU follows the port's, so frames the
//! port may send are not dropped on the far side; unplugging the cable is
//! taking the peer down, which the kernel shows as the port losing carrier.

use crate::device::Port;
use crate::rtnl::{KernelError, Rtnl};
use simdev_protocol::simdev::{Mac, OperState, PortInfo, PortStats};

pub fn port_info(rtnl: &mut Rtnl, port: &Port) -> Result<PortInfo, KernelError> {
    let link = rtnl.link(port.ifindex)?;
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

/// Sets the cable's MTU, then the port's; undoes the first if the second fails.
pub fn set_mtu(rtnl: &mut Rtnl, port: &Port, mtu: u32) -> Result<(), KernelError> {
    let old_peer_mtu = rtnl.link(port.peer_ifindex)?.mtu;
    rtnl.set_mtu(port.peer_ifindex, mtu)?;
    rtnl.set_mtu(port.ifindex, mtu).inspect_err(|_| {
        let _ = rtnl.set_mtu(port.peer_ifindex, old_peer_mtu);
    })
}

pub fn set_mac(rtnl: &mut Rtnl, port: &Port, mac: &Mac) -> Result<(), KernelError> {
    rtnl.set_mac(port.ifindex, mac)
}

pub fn set_up(rtnl: &mut Rtnl, port: &Port, up: bool) -> Result<(), KernelError> {
    rtnl.set_up(port.ifindex, up)
}

/// The cable is the peer end: down is unplugged (the port loses carrier).
pub fn set_carrier(rtnl: &mut Rtnl, port: &Port, on: bool) -> Result<(), KernelError> {
    rtnl.set_up(port.peer_ifindex, on)
}

pub fn port_stats(rtnl: &mut Rtnl, port: &Port) -> Result<PortStats, KernelError> {
    let link = rtnl.link(port.ifindex)?;
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

/// Implements the port operations of [`super::Backend`] with [`self`]'s
/// functions on the backend's `rtnl` field.
macro_rules! cabled_port_ops {
    () => {
        fn port_info(&mut self, port: &Port) -> Result<PortInfo, KernelError> {
            super::cabled::port_info(&mut self.rtnl, port)
        }

        fn set_mtu(&mut self, port: &Port, mtu: u32) -> Result<(), KernelError> {
            super::cabled::set_mtu(&mut self.rtnl, port, mtu)
        }

        fn set_mac(&mut self, port: &Port, mac: &Mac) -> Result<(), KernelError> {
            super::cabled::set_mac(&mut self.rtnl, port, mac)
        }

        fn set_up(&mut self, port: &Port, up: bool) -> Result<(), KernelError> {
            super::cabled::set_up(&mut self.rtnl, port, up)
        }

        fn set_carrier(&mut self, port: &Port, on: bool) -> Result<(), KernelError> {
            super::cabled::set_carrier(&mut self.rtnl, port, on)
        }

        fn port_stats(&mut self, port: &Port) -> Result<PortStats, KernelError> {
            super::cabled::port_stats(&mut self.rtnl, port)
        }
    };
}
pub(crate) use cabled_port_ops;
