//! The hardware namespace's netdevs, shared by the backends whose ports
//! are real netdevs with a peer netdev as their cable's far end (veth
//! pairs; linked netdevsim ports): state read from and changed through
//! rtnetlink, ring sizes through the kernel's ethtool family. The cable's
//! MTU follows the port's, so frames the port may send are not dropped on
//! the far side; unplugging the cable is taking the peer down, which the
//! kernel shows as the port losing carrier.

use super::Ports;
use crate::device::Port;
use crate::netns::Undertaker;
use crate::ownership::name_taken;
use crate::rtnl::{KernelError, Rtnl};
use genl_client::client::Client;
use genl_client::ethtool::{Ethtool, Netdev};
use simdev_protocol::simdev::{Mac, OperState, PortInfo, PortStats, Rings};
use std::os::fd::OwnedFd;

/// The kernel's netdevs of the hardware namespace, as ports with cables.
pub struct Netdevs {
    pub rtnl: Rtnl,
    /// Told what was created that outlives the simulator (see [`crate::netns`]).
    pub undertaker: Option<Undertaker>,
    /// A `NETLINK_GENERIC` socket in the namespace, until ethtool is resolved on it.
    genl: Option<OwnedFd>,
    ethtool: Option<Ethtool>,
    /// Whether this backend's driver has rings: learned from the kernel's
    /// first answer (a driver's ethtool operations do not change), so a
    /// driver without them costs no request per port afterwards.
    has_rings: Option<bool>,
}

impl Netdevs {
    pub fn new(rtnl: Rtnl, genl: OwnedFd, undertaker: Option<Undertaker>) -> Self {
        Netdevs { rtnl, undertaker, genl: Some(genl), ethtool: None, has_rings: None }
    }

    /// Refuses names a netdev of the namespace holds, other than those
    /// being named (`EEXIST`, saying which name and whose netdev holds it).
    pub fn check_names_free<'a>(
        &mut self,
        names: impl IntoIterator<Item = &'a String>,
        being_named: &[u32],
    ) -> Result<(), KernelError> {
        let existing = self.rtnl.links()?;
        for name in names {
            if let Some(taken) =
                existing.iter().find(|link| link.ifname == *name && !being_named.contains(&link.ifindex))
            {
                return Err(KernelError { errno: libc::EEXIST, message: Some(name_taken(taken)) });
            }
        }
        Ok(())
    }

    /// Notes a netdev the simulator created.
    pub fn created(&self, ifindex: u32) {
        if let Some(undertaker) = &self.undertaker {
            undertaker.created_netdev(ifindex);
        }
    }

    /// Notes a netdev the simulator removed.
    pub fn removed(&self, ifindex: u32) {
        if let Some(undertaker) = &self.undertaker {
            undertaker.removed_netdev(ifindex);
        }
    }

    fn ethtool(&mut self) -> Result<&mut Ethtool, KernelError> {
        if self.ethtool.is_none() {
            let socket = self.genl.take().ok_or(KernelError {
                errno: libc::EIO,
                message: Some("the ethtool family could not be resolved".into()),
            })?;
            self.ethtool = Some(Client::kernel_on(socket).and_then(Ethtool::new).map_err(KernelError::from)?);
        }
        Ok(self.ethtool.as_mut().expect("just opened"))
    }

    /// The port's rings, or `None` when its driver has none.
    fn rings(&mut self, port: &Port) -> Result<Option<Rings>, KernelError> {
        if self.has_rings == Some(false) {
            return Ok(None);
        }
        match self.ethtool()?.rings(&Netdev::Index(port.ifindex)) {
            Ok(rings) => {
                self.has_rings = Some(true);
                Ok(Some(rings))
            }
            Err(e) if e.errno() == Some(nix::errno::Errno::EOPNOTSUPP) => {
                self.has_rings = Some(false);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Ports for Netdevs {
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
            rings: self.rings(port)?,
        })
    }

    /// Sets the cable's MTU, then the port's; undoes the first if the second fails.
    fn set_mtu(&mut self, port: &Port, mtu: u32) -> Result<(), KernelError> {
        let rtnl = &mut self.rtnl;
        let old_peer_mtu = rtnl.link(port.peer_ifindex)?.mtu;
        rtnl.set_mtu(port.peer_ifindex, mtu)?;
        rtnl.set_mtu(port.ifindex, mtu).inspect_err(|_| {
            let _ = rtnl.set_mtu(port.peer_ifindex, old_peer_mtu);
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

    /// `ethtool -G`: the kernel says whether the driver has rings and
    /// whether the sizes fit.
    fn set_rings(&mut self, port: &Port, rx: Option<u32>, tx: Option<u32>) -> Result<(), KernelError> {
        self.ethtool()?.set_rings(&Netdev::Index(port.ifindex), rx, tx).map_err(KernelError::from)
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
