//! The simulator's state: registered families, devices, who may
//! administer, and notifications waiting to be sent. One instance, owned by
//! the event loop; handlers get it by `&mut`.

use crate::device::Devices;
use simdev_protocol::ctrl::{FamilyInfo, CTRL_FAMILY, GENL_ID_CTRL};
use simdev_protocol::family::FamilySpec;
use simdev_protocol::simdev;

/// The families this simulator serves and the ids they were given.
#[derive(Debug, Clone)]
pub struct Families {
    pub simdev_id: u16,
    /// Multicast group numbers of simdev's groups, in spec order.
    pub simdev_groups: Vec<u32>,
    /// The emulated controller's `notify` group number.
    pub ctrl_groups: Vec<u32>,
}

impl Families {
    /// Registers nlctrl and simdev. `NETLINK_USERSOCK` has groups 1..=32;
    /// the controller takes 1 and simdev the next ones.
    pub fn new(simdev_id: u16) -> Self {
        let ctrl_groups: Vec<u32> = (1..=CTRL_FAMILY.mcast_groups.len() as u32).collect();
        let first = ctrl_groups.len() as u32 + 1;
        let simdev_groups = (first..first + simdev::FAMILY.mcast_groups.len() as u32).collect();
        Families {
            simdev_id,
            simdev_groups,
            ctrl_groups,
        }
    }

    pub fn spec_by_id(&self, id: u16) -> Option<&'static FamilySpec> {
        match id {
            GENL_ID_CTRL => Some(&CTRL_FAMILY),
            id if id == self.simdev_id => Some(&simdev::FAMILY),
            _ => None,
        }
    }

    /// Every family as `GETFAMILY` describes it, in id order.
    pub fn infos(&self) -> Vec<FamilyInfo> {
        vec![
            FamilyInfo::from_spec(&CTRL_FAMILY, GENL_ID_CTRL, &self.ctrl_groups),
            FamilyInfo::from_spec(&simdev::FAMILY, self.simdev_id, &self.simdev_groups),
        ]
    }

    /// The multicast group number of one of simdev's groups.
    pub fn simdev_group(&self, name: &str) -> u32 {
        let index = simdev::FAMILY
            .mcast_groups
            .iter()
            .position(|g| *g == name)
            .expect("a declared group");
        self.simdev_groups[index]
    }
}

pub struct Simulator {
    pub families: Families,
    pub devices: Devices,
    admin_uids: Vec<u32>,
    notifications: Vec<(u32, Vec<u8>)>,
}

impl Simulator {
    pub fn new(families: Families, devices: Devices, admin_uids: Vec<u32>) -> Self {
        Simulator {
            families,
            devices,
            admin_uids,
            notifications: Vec::new(),
        }
    }

    /// Whether a sender may run admin commands (the simulator's stand-in
    /// for `CAP_NET_ADMIN`).
    pub fn may_administer(&self, uid: Option<u32>) -> bool {
        uid.is_some_and(|uid| self.admin_uids.contains(&uid))
    }

    /// Queues a multicast notification on one of simdev's groups.
    pub fn notify(&mut self, group: &str, message: Vec<u8>) {
        let group = self.families.simdev_group(group);
        self.notifications.push((group, message));
    }

    pub fn take_notifications(&mut self) -> Vec<(u32, Vec<u8>)> {
        std::mem::take(&mut self.notifications)
    }
}
