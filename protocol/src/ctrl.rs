//! The Generic Netlink controller (`nlctrl`) protocol: constants, the
//! `GETFAMILY` request and the `NEWFAMILY` answer, encoded and decoded.
//!
//! The encoding follows the kernel's `ctrl_fill_info` attribute for
//! attribute, including its quirk of sending the OPS and MCAST_GROUPS nests
//! without `NLA_F_NESTED`, so that a tool cannot tell the simulator's
//! controller from the kernel's.

use crate::family::FamilySpec;
use crate::policy::{AttrSet, AttrSpec, AttrType, Check};
use crate::wire::{Attrs, MessageBuilder};

/// `GENL_ID_CTRL`: the controller's fixed family id.
pub const GENL_ID_CTRL: u16 = 0x10;
pub const CTRL_VERSION: u8 = 2;
/// First id the kernel hands out to dynamic families (0x11, 0x12 are reserved).
pub const GENL_START_ALLOC: u16 = 0x13;
/// Highest family id the kernel allocates (`GENL_MAX_ID`).
pub const GENL_MAX_ID: u16 = 1023;
/// `GENL_NAMSIZ` - 1: the longest family or group name.
pub const GENL_NAME_MAX: usize = 15;

pub mod cmd {
    pub const NEWFAMILY: u8 = 1;
    pub const DELFAMILY: u8 = 2;
    pub const GETFAMILY: u8 = 3;
    pub const NEWMCAST_GRP: u8 = 7;
    pub const DELMCAST_GRP: u8 = 8;
    pub const GETPOLICY: u8 = 10;
}

pub mod attr {
    pub const FAMILY_ID: u16 = 1;
    pub const FAMILY_NAME: u16 = 2;
    pub const VERSION: u16 = 3;
    pub const HDRSIZE: u16 = 4;
    pub const MAXATTR: u16 = 5;
    pub const OPS: u16 = 6;
    pub const MCAST_GROUPS: u16 = 7;
    pub const POLICY: u16 = 8;
    pub const OP_POLICY: u16 = 9;
    pub const OP: u16 = 10;
    pub const OP_ID: u16 = 1;
    pub const OP_FLAGS: u16 = 2;
    pub const MCAST_GRP_NAME: u16 = 1;
    pub const MCAST_GRP_ID: u16 = 2;
    pub const POLICY_DO: u16 = 1;
    pub const POLICY_DUMP: u16 = 2;
}

const FAMILY_ID_ATTR: AttrSpec = AttrSpec {
    id: attr::FAMILY_ID,
    name: "family-id",
    ty: AttrType::U16,
    check: Check::None,
    doc: "numeric family id",
};
const FAMILY_NAME_ATTR: AttrSpec = AttrSpec {
    id: attr::FAMILY_NAME,
    name: "family-name",
    ty: AttrType::NulString,
    check: Check::MaxLen(GENL_NAME_MAX as u16),
    doc: "family name",
};

/// `GETFAMILY`'s request policy (`ctrl_policy_family`).
pub static CTRL_GETFAMILY_POLICY: AttrSet =
    AttrSet { name: "ctrl-getfamily", attrs: &[FAMILY_ID_ATTR, FAMILY_NAME_ATTR] };

/// `GETPOLICY`'s request policy (`ctrl_policy_policy`).
pub static CTRL_GETPOLICY_POLICY: AttrSet = AttrSet {
    name: "ctrl-getpolicy",
    attrs: &[
        FAMILY_ID_ATTR,
        FAMILY_NAME_ATTR,
        AttrSpec {
            id: attr::OP,
            name: "op",
            ty: AttrType::U32,
            check: Check::None,
            doc: "only this command's policies",
        },
    ],
};

/// The controller as the simulator emulates it: what the kernel's `nlctrl` has.
pub static CTRL_FAMILY: FamilySpec = FamilySpec {
    name: "nlctrl",
    version: CTRL_VERSION,
    hdrsize: 0,
    // nlctrl predates strict validation: its commands are all "old".
    resv_start_op: cmd::GETPOLICY + 1,
    split_ops: false,
    // The kernel's nlctrl uses per-op policies and reports maxattr 0.
    policy: None,
    commands: &[
        crate::family::CommandSpec {
            id: cmd::GETFAMILY,
            name: "getfamily",
            has_do: true,
            has_dump: true,
            admin: false,
            uns_admin: false,
            do_policy: Some(&CTRL_GETFAMILY_POLICY),
            dump_policy: Some(&CTRL_GETFAMILY_POLICY),
            required: &[],
            dont_validate: 0,
            doc: "get family information by id or name, or dump all families",
        },
        crate::family::CommandSpec {
            id: cmd::GETPOLICY,
            name: "getpolicy",
            has_do: false,
            has_dump: true,
            admin: false,
            uns_admin: false,
            do_policy: None,
            dump_policy: Some(&CTRL_GETPOLICY_POLICY),
            required: &[],
            dont_validate: 0,
            doc: "dump a family's attribute policies (of one command)",
        },
    ],
    notifications: &[],
    mcast_groups: &["notify"],
};

/// One command as listed in `CTRL_ATTR_OPS`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpInfo {
    pub id: u32,
    pub flags: u32,
}

/// One multicast group as listed in `CTRL_ATTR_MCAST_GROUPS`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupInfo {
    pub name: String,
    pub id: u32,
}

/// A family as the controller describes it (`CTRL_CMD_NEWFAMILY`); its
/// JSON form's keys are hyphenated, as the spec names attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FamilyInfo {
    pub name: String,
    pub id: u16,
    pub version: u32,
    pub hdrsize: u32,
    pub maxattr: u32,
    pub ops: Vec<OpInfo>,
    pub mcast_groups: Vec<GroupInfo>,
}

impl FamilyInfo {
    /// Describes a registered family: its spec plus allocated ids.
    pub fn from_spec(spec: &FamilySpec, id: u16, group_ids: &[u32]) -> Self {
        FamilyInfo {
            name: spec.name.to_string(),
            id,
            version: spec.version.into(),
            hdrsize: spec.hdrsize.into(),
            maxattr: spec.max_attr(),
            ops: spec.commands.iter().map(|c| OpInfo { id: c.id.into(), flags: c.op_flags() }).collect(),
            mcast_groups: spec
                .mcast_groups
                .iter()
                .zip(group_ids)
                .map(|(name, &id)| GroupInfo { name: name.to_string(), id })
                .collect(),
        }
    }

    /// Writes the attributes in `ctrl_fill_info` order.
    pub fn encode(&self, out: &mut MessageBuilder) {
        out.put_str(attr::FAMILY_NAME, &self.name)
            .put_u16(attr::FAMILY_ID, self.id)
            .put_u32(attr::VERSION, self.version)
            .put_u32(attr::HDRSIZE, self.hdrsize)
            .put_u32(attr::MAXATTR, self.maxattr);
        if !self.ops.is_empty() {
            out.nest_start_noflag(attr::OPS);
            for (i, op) in self.ops.iter().enumerate() {
                out.nest_start_noflag(i as u16 + 1)
                    .put_u32(attr::OP_ID, op.id)
                    .put_u32(attr::OP_FLAGS, op.flags)
                    .nest_end();
            }
            out.nest_end();
        }
        if !self.mcast_groups.is_empty() {
            out.nest_start_noflag(attr::MCAST_GROUPS);
            for (i, group) in self.mcast_groups.iter().enumerate() {
                out.nest_start_noflag(i as u16 + 1)
                    .put_u32(attr::MCAST_GRP_ID, group.id)
                    .put_str(attr::MCAST_GRP_NAME, &group.name)
                    .nest_end();
            }
            out.nest_end();
        }
    }

    /// Reads a `NEWFAMILY` message's attributes; unknown ones are ignored
    /// (newer kernels add attributes).
    pub fn decode(attrs: Attrs<'_>) -> Result<Self, crate::DecodeError> {
        let mut info = FamilyInfo::default();
        let mut saw_id = false;
        for a in attrs {
            match a.kind() {
                attr::FAMILY_NAME => info.name = a.string().unwrap_or_default().to_string(),
                attr::FAMILY_ID => {
                    info.id = a.u16().ok_or(crate::DecodeError::new("family-id", "not a u16"))?;
                    saw_id = true;
                }
                attr::VERSION => info.version = a.u32().unwrap_or_default(),
                attr::HDRSIZE => info.hdrsize = a.u32().unwrap_or_default(),
                attr::MAXATTR => info.maxattr = a.u32().unwrap_or_default(),
                attr::OPS => {
                    for entry in a.nested() {
                        let inner = entry.nested();
                        info.ops.push(OpInfo {
                            id: inner.get(attr::OP_ID).and_then(|x| x.u32()).unwrap_or_default(),
                            flags: inner.get(attr::OP_FLAGS).and_then(|x| x.u32()).unwrap_or_default(),
                        });
                    }
                }
                attr::MCAST_GROUPS => {
                    for entry in a.nested() {
                        let inner = entry.nested();
                        info.mcast_groups.push(GroupInfo {
                            name: inner
                                .get(attr::MCAST_GRP_NAME)
                                .and_then(|x| x.string())
                                .unwrap_or_default()
                                .to_string(),
                            id: inner.get(attr::MCAST_GRP_ID).and_then(|x| x.u32()).unwrap_or_default(),
                        });
                    }
                }
                _ => {}
            }
        }
        if info.name.is_empty() || !saw_id {
            return Err(crate::DecodeError::new("family", "reply lacks name or id"));
        }
        Ok(info)
    }

    pub fn group_id(&self, name: &str) -> Option<u32> {
        self.mcast_groups.iter().find(|g| g.name == name).map(|g| g.id)
    }
}

/// How a `GETFAMILY` names the family it asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilySelector {
    Name(String),
    Id(u16),
}

impl FamilySelector {
    /// Parses what a user types: a number (decimal or 0x-hex) is an id.
    pub fn parse(text: &str) -> Self {
        let number = match text.strip_prefix("0x") {
            Some(hex) => u16::from_str_radix(hex, 16).ok(),
            None => text.parse().ok(),
        };
        number.map_or_else(|| FamilySelector::Name(text.to_string()), FamilySelector::Id)
    }

    pub fn encode(&self, out: &mut MessageBuilder) {
        match self {
            FamilySelector::Name(name) => out.put_str(attr::FAMILY_NAME, name),
            FamilySelector::Id(id) => out.put_u16(attr::FAMILY_ID, *id),
        };
    }
}

impl std::fmt::Display for FamilySelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FamilySelector::Name(name) => f.write_str(name),
            FamilySelector::Id(id) => write!(f, "{id:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{split_messages, NLM_F_REQUEST};

    #[test]
    fn family_info_round_trips() {
        let info = FamilyInfo::from_spec(&CTRL_FAMILY, GENL_ID_CTRL, &[0x10]);
        let mut b = MessageBuilder::genl(GENL_ID_CTRL, 0, 1, 0, cmd::NEWFAMILY, CTRL_VERSION);
        info.encode(&mut b);
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        let decoded = FamilyInfo::decode(message.genl_attrs(0)).unwrap();
        assert_eq!(decoded, info);
        assert_eq!(decoded.ops[0].flags, 0x0e);
        assert_eq!(decoded.group_id("notify"), Some(0x10));
        // nests are sent without NLA_F_NESTED, like the kernel's controller
        let ops = message.genl_attrs(0).get(attr::OPS).unwrap();
        assert!(!ops.has_nested_flag());
        let _ = NLM_F_REQUEST;
    }

    #[test]
    fn selector_parses_ids_and_names() {
        assert_eq!(FamilySelector::parse("0x10"), FamilySelector::Id(16));
        assert_eq!(FamilySelector::parse("21"), FamilySelector::Id(21));
        assert_eq!(FamilySelector::parse("nlctrl"), FamilySelector::Name("nlctrl".into()));
    }
}
