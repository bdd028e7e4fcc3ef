//! The shape of a Generic Netlink family: commands, attribute sets,
//! multicast groups. [`crate::simdev::FAMILY`] is one; the emulated
//! controller is another. The simulator validates and dispatches from it,
//! builds `GETFAMILY` answers from it, and the client names attributes with it.

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
    /// The attribute set requests are validated against (`None`: no policy).
    pub policy: Option<&'static AttrSet>,
    pub doc: &'static str,
}

impl CommandSpec {
    /// `CTRL_ATTR_OP_FLAGS` as the kernel reports them.
    pub fn op_flags(&self) -> u32 {
        let mut flags = 0;
        if self.admin {
            flags |= GENL_ADMIN_PERM;
        }
        if self.has_do {
            flags |= GENL_CMD_CAP_DO;
        }
        if self.has_dump {
            flags |= GENL_CMD_CAP_DUMP;
        }
        if self.policy.is_some() {
            flags |= GENL_CMD_CAP_HASPOL;
        }
        flags
    }
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
    /// The family-wide policy, if any; its max type is `CTRL_ATTR_MAXATTR`.
    pub policy: Option<&'static AttrSet>,
    pub commands: &'static [CommandSpec],
    pub mcast_groups: &'static [&'static str],
}

impl FamilySpec {
    pub fn command(&self, id: u8) -> Option<&'static CommandSpec> {
        self.commands.iter().find(|c| c.id == id)
    }

    pub fn command_by_name(&self, name: &str) -> Option<&'static CommandSpec> {
        self.commands.iter().find(|c| c.name == name)
    }

    pub fn max_attr(&self) -> u32 {
        self.policy.map_or(0, |p| p.max_type().into())
    }

    /// How requests for `cmd` are validated (`genl_header_check` and
    /// `GENL_DONT_VALIDATE_STRICT`).
    pub fn strictness(&self, cmd: u8) -> Strictness {
        if cmd < self.resv_start_op {
            Strictness::Liberal
        } else {
            Strictness::Strict
        }
    }
}
