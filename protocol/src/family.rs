//! The shape of a Generic Netlink family: commands with their request
//! policies, notifications, multicast groups. [`crate::simdev::FAMILY`] is
//! one (generated from its YNL spec); the emulated controller is another.
//! The simulator validates and dispatches from it, builds `GETFAMILY` and
//! `GETPOLICY` answers from it, and the client names attributes with it.

use crate::policy::{AttrSet, Strictness};

/// `GENL_ADMIN_PERM`: the command needs `CAP_NET_ADMIN` (here: an allowed uid).
pub const GENL_ADMIN_PERM: u32 = 0x01;
pub const GENL_CMD_CAP_DO: u32 = 0x02;
pub const GENL_CMD_CAP_DUMP: u32 = 0x04;
pub const GENL_CMD_CAP_HASPOL: u32 = 0x08;
pub const GENL_UNS_ADMIN_PERM: u32 = 0x10;

/// One command (operation) of a family.
#[derive(Debug)]
pub struct CommandSpec {
    pub id: u8,
    /// YNL-style name, e.g. `dev-get`.
    pub name: &'static str,
    pub has_do: bool,
    pub has_dump: bool,
    /// Refused with `EPERM` unless the sender is allowed to administer.
    pub admin: bool,
    /// The admin check is the network namespace's own
    /// (`GENL_UNS_ADMIN_PERM`, reported as such), not the initial one's.
    pub uns_admin: bool,
    /// The policy do requests are validated against (`None`: none).
    pub do_policy: Option<&'static AttrSet>,
    /// The policy dump requests are validated against (`None`: none).
    pub dump_policy: Option<&'static AttrSet>,
    /// Attributes a do request must carry (`GENL_REQ_ATTR_CHECK`), each
    /// entry a list of alternatives: at least one of them must be present.
    pub required: &'static [&'static [u16]],
    /// `GENL_DONT_VALIDATE_*` bits ([`dont_validate`]).
    pub dont_validate: u8,
    pub doc: &'static str,
}

/// `GENL_DONT_VALIDATE_*`: validation a command opts out of.
pub mod dont_validate {
    /// Do requests are validated liberally.
    pub const STRICT: u8 = 1 << 0;
    /// Dump requests are not validated at all.
    pub const DUMP: u8 = 1 << 1;
    /// Dump requests are validated liberally.
    pub const DUMP_STRICT: u8 = 1 << 2;
}

impl CommandSpec {
    /// `CTRL_ATTR_OP_FLAGS` as the kernel reports them.
    pub fn op_flags(&self) -> u32 {
        let mut flags = 0;
        if self.uns_admin {
            flags |= GENL_UNS_ADMIN_PERM;
        } else if self.admin {
            flags |= GENL_ADMIN_PERM;
        }
        if self.has_do {
            flags |= GENL_CMD_CAP_DO;
        }
        if self.has_dump {
            flags |= GENL_CMD_CAP_DUMP;
        }
        if self.do_policy.is_some() || self.dump_policy.is_some() {
            flags |= GENL_CMD_CAP_HASPOL;
        }
        flags
    }

    /// The policy requests of this kind are validated against.
    pub fn policy(&self, dump: bool) -> Option<&'static AttrSet> {
        if dump {
            self.dump_policy
        } else {
            self.do_policy
        }
    }
}

/// A notification: a command number only the family sends, on a group.
#[derive(Debug)]
pub struct NotificationSpec {
    pub id: u8,
    pub name: &'static str,
    pub group: &'static str,
    pub doc: &'static str,
}

/// A whole family, minus its id (ids are allocated at registration).
#[derive(Debug)]
pub struct FamilySpec {
    pub name: &'static str,
    pub version: u8,
    /// Size of the family's fixed header after `genlmsghdr`.
    pub hdrsize: u16,
    /// Commands below this number get liberal validation and no header
    /// checks (`resv_start_op`); 0 makes every command strict.
    pub resv_start_op: u8,
    /// Its commands are `genl_split_ops` (what YNL generates for
    /// `kernel-policy: split`, the default): a mode without request
    /// attributes has no policy and its requests are not parsed at all,
    /// stray attributes ignored, although the policy dump shows it the
    /// reject-all policy (`genl_op_fill_in_reject_policy_split` fills it in
    /// for the dump only). Full ops validate such requests against it.
    pub split_ops: bool,
    /// The family-wide policy, if any; its max type is `CTRL_ATTR_MAXATTR`
    /// (families with per-op policies have none and report 0).
    pub policy: Option<&'static AttrSet>,
    pub commands: &'static [CommandSpec],
    pub notifications: &'static [NotificationSpec],
    pub mcast_groups: &'static [&'static str],
}

impl FamilySpec {
    pub fn command(&self, id: u8) -> Option<&'static CommandSpec> {
        self.commands.iter().find(|c| c.id == id)
    }

    pub fn command_by_name(&self, name: &str) -> Option<&'static CommandSpec> {
        self.commands.iter().find(|c| c.name == name)
    }

    pub fn notification(&self, id: u8) -> Option<&'static NotificationSpec> {
        self.notifications.iter().find(|n| n.id == id)
    }

    /// The command or notification of that name, as its number.
    pub fn message_id(&self, name: &str) -> Option<u8> {
        let command = self.command_by_name(name).map(|c| c.id);
        command.or_else(|| self.notifications.iter().find(|n| n.name == name).map(|n| n.id))
    }

    pub fn max_attr(&self) -> u32 {
        self.policy.map_or(0, |p| p.max_type().into())
    }

    /// How a do (or dump) request of `command` is validated
    /// (`genl_family_rcv_msg_attrs_parse`): liberally below
    /// `resv_start_op` or where the command opts out of strictness, not at
    /// all for a dump that opts out of validation or a split op's mode
    /// without request attributes (`None`).
    pub fn strictness(&self, command: &CommandSpec, dump: bool) -> Option<Strictness> {
        let unparsed =
            self.split_ops && command.policy(dump).is_some_and(|p| std::ptr::eq(p, &crate::policy::REJECT_ALL));
        if unparsed {
            return None;
        }
        let flags = command.dont_validate;
        let opted_out = if dump { flags & dont_validate::DUMP_STRICT != 0 } else { flags & dont_validate::STRICT != 0 };
        if dump && flags & dont_validate::DUMP != 0 {
            None
        } else if command.id < self.resv_start_op || opted_out {
            Some(Strictness::Liberal)
        } else {
            Some(Strictness::Strict)
        }
    }
}
