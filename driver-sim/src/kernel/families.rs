//! The families this simulator serves, as the kernel's genetlink registry
//! keeps them: each with its id, its multicast groups' numbers, its
//! `GETFAMILY` answer and its policy dumps.

use crate::kernel::controller;
use crate::kernel::genl::{Handlers, PostDoit, PreDoit};
use simdev_protocol::ctrl::{FamilyInfo, GENL_ID_CTRL};
use simdev_protocol::family::FamilySpec;
use simdev_protocol::policy_dump::{policy_dump, PolicyDumpError, PolicyPart};
use simdev_protocol::wire::MessageBuilder;
use std::collections::HashMap;
use std::rc::Rc;

/// A family as the simulator serves it, what `struct genl_family` is to
/// the kernel: its spec (commands, policies, groups), the handlers of its
/// commands, and the hooks around them.
pub struct FamilyOps {
    pub spec: &'static FamilySpec,
    /// The handlers of a command (`None` for one the spec does not declare).
    pub handlers: fn(u8) -> Option<Handlers>,
    pub pre_doit: Option<PreDoit>,
    pub post_doit: Option<PostDoit>,
}

impl std::fmt::Debug for FamilyOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FamilyOps").field("family", &self.spec.name).finish_non_exhaustive()
    }
}

/// A registered family: its ops, the id and the multicast group numbers
/// it was given.
#[derive(Debug)]
pub struct Registered {
    pub ops: &'static FamilyOps,
    pub id: u16,
    /// Its groups' numbers, in spec order.
    pub groups: Vec<u32>,
}

impl Registered {
    pub fn spec(&self) -> &'static FamilySpec {
        self.ops.spec
    }

    /// The number of one of its groups.
    pub fn group(&self, name: &str) -> Option<u32> {
        self.spec().mcast_groups.iter().position(|g| *g == name).map(|index| self.groups[index])
    }
}

/// The families this simulator serves, in id order, the controller first.
#[derive(Debug)]
pub struct Families {
    registered: Vec<Registered>,
    /// Each family's `GETFAMILY` answer attributes, encoded once: they do
    /// not change while the simulator runs.
    encoded: Vec<(FamilyInfo, Vec<u8>)>,
    /// Policy dumps made so far, by family and command (they do not change either).
    policy_dumps: HashMap<(&'static str, Option<u32>), Rc<[PolicyPart]>>,
}

impl Families {
    /// Registers the controller (its `notify` group is the kernel's, 0x10)
    /// and `families` with the ids they were given. Their groups are
    /// numbered as the kernel would number them if each were one more
    /// kernel family, so programs that see both (`genl-client exec`) never
    /// confuse them: the first run of free ids, given the groups the
    /// kernel's families hold (`kernel_groups`) and those given before.
    pub fn new(families: &[(&'static FamilyOps, u16)], kernel_groups: &[u32]) -> Self {
        let mut taken = kernel_groups.to_vec();
        let mut registered =
            vec![Registered { ops: &controller::FAMILY, id: GENL_ID_CTRL, groups: vec![u32::from(GENL_ID_CTRL)] }];
        for &(ops, id) in families {
            let groups = allocate_groups(ops.spec.mcast_groups.len() as u32, &taken);
            taken.extend(&groups);
            registered.push(Registered { ops, id, groups });
        }
        registered.sort_by_key(|family| family.id);
        let encoded = registered
            .iter()
            .map(|family| {
                let info = FamilyInfo::from_spec(family.spec(), family.id, &family.groups);
                let mut attrs = MessageBuilder::new(0, 0, 0, 0);
                info.encode(&mut attrs);
                let bytes = attrs.finish()[simdev_protocol::wire::NLMSG_HDRLEN..].to_vec();
                (info, bytes)
            })
            .collect();
        Families { registered, encoded, policy_dumps: HashMap::new() }
    }

    /// Every family with its encoded `GETFAMILY` attributes, in id order.
    pub fn encoded(&self) -> &[(FamilyInfo, Vec<u8>)] {
        &self.encoded
    }

    /// The parts of `family`'s policy dump (of command `op`).
    pub fn policy_dump(
        &mut self,
        family: &'static FamilySpec,
        op: Option<u32>,
    ) -> Result<Rc<[PolicyPart]>, PolicyDumpError> {
        if let Some(parts) = self.policy_dumps.get(&(family.name, op)) {
            return Ok(parts.clone());
        }
        let parts: Rc<[PolicyPart]> = policy_dump(family, op)?.into();
        self.policy_dumps.insert((family.name, op), parts.clone());
        Ok(parts)
    }

    /// The family with this id.
    pub fn get(&self, id: u16) -> Option<&Registered> {
        self.registered.iter().find(|family| family.id == id)
    }

    /// The family with this name.
    pub fn by_name(&self, name: &str) -> Option<&Registered> {
        self.registered.iter().find(|family| family.spec().name == name)
    }

    /// Every family, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Registered> {
        self.registered.iter()
    }

    /// A registered family by name; the simulator registered it at startup.
    pub fn expect(&self, name: &str) -> &Registered {
        self.by_name(name).unwrap_or_else(|| panic!("family {name} is registered at startup"))
    }
}

/// `NETLINK_USERSOCK` has groups 1..=32: the simulator multicasts on them.
const USERSOCK_GROUPS: u32 = 32;

/// Group ids the kernel never hands out: 0 and 1, and those of the
/// controller and of the two families with fixed ids (`mc_group_start` in
/// `net/netlink/genetlink.c`).
const RESERVED_GROUPS: [u32; 5] = [0, 1, GENL_ID_CTRL as u32, GENL_ID_CTRL as u32 + 1, GENL_ID_CTRL as u32 + 2];

/// The first `count` consecutive group ids free of `taken` and of the
/// reserved ones, as the kernel's `genl_allocate_reserve_groups` finds
/// them, within `NETLINK_USERSOCK`'s 32. If the kernel holds too many, the
/// highest ids (a program that also sees the kernel's families may then
/// mistake one of them for simdev's; a warning says so).
fn allocate_groups(count: u32, taken: &[u32]) -> Vec<u32> {
    let free = |id: &u32| !RESERVED_GROUPS.contains(id) && !taken.contains(id);
    let first = (2..=USERSOCK_GROUPS + 1 - count).find(|&first| (first..first + count).all(|id| free(&id)));
    let first = first.unwrap_or_else(|| {
        log::warn!(
            "no {count} consecutive multicast group ids are free of the kernel's: a served family's may be taken"
        );
        USERSOCK_GROUPS + 1 - count
    });
    (first..first + count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_allocated_as_the_kernel_would() {
        // This machine's kernel holds 2..=10, 0x10 and 0x11.
        let kernel: Vec<u32> = (2..=10).chain([0x10, 0x11]).collect();
        assert_eq!(allocate_groups(3, &kernel), [11, 12, 13]);
        assert_eq!(allocate_groups(3, &[]), [2, 3, 4]);
        assert_eq!(allocate_groups(3, &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]), [19, 20, 21], "never 16..=18");
        assert_eq!(allocate_groups(3, &(2..=32).collect::<Vec<_>>()), [30, 31, 32], "within usersock's 32");
    }

    #[test]
    fn the_controllers_notify_group_is_the_kernels() {
        let families = Families::new(&[], &[]);
        assert_eq!(families.expect("nlctrl").groups, [0x10]);
    }
}
