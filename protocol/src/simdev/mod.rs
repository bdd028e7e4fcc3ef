//! The `simdev` family: its definitions, generated at build time from its
//! YNL spec `protocol/simdev.yaml` (commands, attribute numbers, groups,
//! enums, defines, limits, policies, the family table), and the typed
//! messages both sides exchange ([`dev`]: devices and ports; [`hw`]:
//! registers, sensors, firmware, faults, statistics).
//!
//! The operations, their attributes and docs are the spec's; [`cmd`] lists
//! them, and the README's family reference is generated from the spec.
//! Any request may carry `batch` (a client-chosen id): once a request of
//! that batch from that socket has failed, later requests of the batch are
//! not run but answered `ECANCELED`, so a pipelining client gets
//! stop-at-first-failure without waiting. Replies use the request's
//! command number; notifications use the `*-ntf` numbers (64 and up) and
//! carry the same attributes as the matching get reply, with seq 0.

pub mod dev;
mod forms;
pub mod hw;

pub use dev::*;
pub use hw::*;

use crate::family::{CommandSpec, FamilySpec, NotificationSpec};
use crate::policy::{AttrSet, AttrSpec, AttrType, Check};

include!(concat!(env!("OUT_DIR"), "/simdev_family.rs"));

/// The MTU range simdev accepts; the kernel may refuse more (veth: 68..65535).
pub const MTU_MIN: u32 = dev_limits::MTU.0 as u32;
pub const MTU_MAX: u32 = dev_limits::MTU.1 as u32;
/// Probabilities are given in parts per million.
pub const PROBABILITY_ONE: u32 = dev_limits::FAULT_PROBABILITY.1 as u32;
/// Longest injected latency, in milliseconds.
pub const DELAY_MAX_MS: u32 = dev_limits::FAULT_DELAY_MS.1 as u32;
/// The pseudo-command naming a periodic link-flap fault.
pub const LINK_FLAP: &str = "link-flap";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_table_is_consistent() {
        assert_eq!(FAMILY.max_attr(), 0, "per-op policies: no family-wide maxattr");
        assert!(FAMILY.command(cmd::DEV_SET).unwrap().admin);
        assert_eq!(FAMILY.command(cmd::DEV_GET).unwrap().op_flags(), 0x0e);
        assert_eq!(FAMILY.command(cmd::DEV_SET).unwrap().op_flags(), 0x0b);
        assert!(FAMILY.command(cmd::DEV_CHANGE_NTF).is_none());
        assert_eq!(FAMILY.notification(cmd::DEV_CHANGE_NTF).unwrap().group, GROUP_CONFIG);
        let mut ids: Vec<u8> = FAMILY.commands.iter().map(|c| c.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), FAMILY.commands.len(), "command ids are unique");
        assert_eq!((MTU_MIN, MTU_MAX, PROBABILITY_ONE, DELAY_MAX_MS), (68, 65535, 1_000_000, 60_000));
        assert_eq!((DEV_NAME_MAX, OBJECT_NAME_MAX, FW_VERSION_MAX, FW_FILE_MAX), (15, 31, 63, 255));
    }

    #[test]
    fn command_names_are_unique() {
        for c in FAMILY.commands {
            assert_eq!(FAMILY.command_by_name(c.name).unwrap().id, c.id);
            assert_eq!(FAMILY.message_id(c.name), Some(c.id));
        }
    }

    #[test]
    fn per_op_policies_follow_ynl_gen_c() {
        let dev_set = FAMILY.command(cmd::DEV_SET).unwrap();
        let policy = dev_set.do_policy.unwrap();
        assert_eq!(policy.max_type(), dev_attr::BATCH, "maxattr is the highest listed attribute");
        assert!(policy.get(dev_attr::REG_NAME).is_none(), "attributes dev-set does not take are holes");
        assert!(dev_set.dump_policy.is_none());
        // Both modes with a request: two policies; a mode without: reject-all.
        let port_get = FAMILY.command(cmd::PORT_GET).unwrap();
        assert!(!std::ptr::eq(port_get.do_policy.unwrap(), port_get.dump_policy.unwrap()));
        assert!(port_get.dump_policy.unwrap().get(dev_attr::PORT_INDEX).is_none());
        assert_eq!(port_get.required, &[&[dev_attr::DEV_ID, dev_attr::DEV_NAME][..], &[dev_attr::PORT_INDEX][..]]);
        let flash = FAMILY.command(cmd::FW_FLASH).unwrap();
        assert_eq!(flash.required[1], &[dev_attr::FW_VERSION, dev_attr::FW_FILE]);
    }
}
