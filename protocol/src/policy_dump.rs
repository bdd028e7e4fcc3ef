//! `CTRL_CMD_GETPOLICY`: a family's attribute policies as the kernel's
//! controller dumps them (`net/netlink/policy.c`, `ctrl_dumppolicy`), built
//! from a [`FamilySpec`] by the simulator and decoded by the client.
//!
//! A dump is first one message per command naming the policy index its do
//! and dump requests use (`CTRL_ATTR_OP_POLICY`), then one message per
//! attribute of every policy reached (`CTRL_ATTR_POLICY`), nested policies
//! included, numbered in the order the kernel discovers them.

use crate::ctrl::attr;
use crate::family::FamilySpec;
use crate::policy::{policy_attr, write_policy_attrs, AttrSet, AttrType};
use crate::wire::{Attrs, MessageBuilder};
use crate::DecodeError;

/// The policies a dump covers, in the kernel's numbering
/// (`netlink_policy_dump_add_policy`): each command's do policy, then its
/// dump policy, each followed by the sets nested in what is listed so far
/// that are not listed yet. A policy shared by several modes or commands
/// (the same table) has one index.
struct PolicyTable {
    sets: Vec<&'static AttrSet>,
}

impl PolicyTable {
    fn new(policies: impl Iterator<Item = &'static AttrSet>) -> Self {
        let mut table = PolicyTable { sets: Vec::new() };
        for set in policies {
            table.add(set);
            let mut next = 0;
            while next < table.sets.len() {
                for spec in table.sets[next].attrs {
                    if let AttrType::Nested(inner) = spec.ty {
                        table.add(inner);
                    }
                }
                next += 1;
            }
        }
        table
    }

    fn add(&mut self, set: &'static AttrSet) {
        if self.index(set).is_none() {
            self.sets.push(set);
        }
    }

    fn index(&self, set: &AttrSet) -> Option<u32> {
        self.sets.iter().position(|s| std::ptr::eq(*s, set)).map(|i| i as u32)
    }
}

/// One message of a policy dump.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum PolicyPart {
    /// Which policies command `cmd` uses for do and dump requests.
    Op { cmd: u32, do_policy: Option<u32>, dump_policy: Option<u32> },
    /// One attribute of policy `policy`: its raw `NL_POLICY_TYPE_ATTR_*`s.
    Attr { policy: u32, attr: u32, properties: Vec<(u16, u64)> },
}

/// Why a policy dump cannot be made (the kernel's errno).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyDumpError {
    /// `op` names no command of the family (`ENOENT`).
    UnknownOp,
    /// The family has no policies (`ENODATA`).
    NoPolicy,
}

/// The parts of `spec`'s policy dump, for all commands or only `op`.
pub fn policy_dump(spec: &FamilySpec, op: Option<u32>) -> Result<Vec<PolicyPart>, PolicyDumpError> {
    let commands: Vec<_> = match op {
        Some(op) => vec![spec.commands.iter().find(|c| u32::from(c.id) == op).ok_or(PolicyDumpError::UnknownOp)?],
        None => spec.commands.iter().collect(),
    };
    let table = PolicyTable::new(commands.iter().flat_map(|c| [c.do_policy, c.dump_policy]).flatten());
    if table.sets.is_empty() {
        return Err(PolicyDumpError::NoPolicy);
    }
    let mut parts = Vec::new();
    for command in &commands {
        // The kernel keys the entry by its do handler's command number, which
        // is 0 for dump-only commands (so does its own getpolicy).
        let cmd = if command.has_do { u32::from(command.id) } else { 0 };
        let index = |policy: Option<&'static AttrSet>| policy.and_then(|p| table.index(p));
        parts.push(PolicyPart::Op {
            cmd,
            do_policy: index(command.do_policy).filter(|_| command.has_do),
            dump_policy: index(command.dump_policy).filter(|_| command.has_dump),
        });
    }
    for (policy, set) in table.sets.iter().enumerate() {
        // `NLA_REJECT` entries describe nothing and are left out.
        for spec in set.attrs.iter().filter(|a| !matches!(a.ty, AttrType::Reject)) {
            let mut scratch = MessageBuilder::new(0, 0, 0, 0);
            let nested = match spec.ty {
                AttrType::Nested(inner) => table.index(inner),
                _ => None,
            };
            write_policy_attrs(spec, nested, &mut scratch);
            let bytes = scratch.finish();
            let properties = Attrs::new(&bytes[crate::wire::NLMSG_HDRLEN..], 0)
                .map(|a| (a.kind(), a.uint().unwrap_or_default()))
                .collect();
            parts.push(PolicyPart::Attr { policy: policy as u32, attr: spec.id.into(), properties });
        }
    }
    Ok(parts)
}

impl PolicyPart {
    /// Writes the part's attributes after `CTRL_ATTR_FAMILY_ID`.
    pub fn encode(&self, out: &mut MessageBuilder) {
        match self {
            PolicyPart::Op { cmd, do_policy, dump_policy } => {
                out.nest_start(attr::OP_POLICY).nest_start(*cmd as u16);
                if let Some(index) = do_policy {
                    out.put_u32(attr::POLICY_DO, *index);
                }
                if let Some(index) = dump_policy {
                    out.put_u32(attr::POLICY_DUMP, *index);
                }
                out.nest_end().nest_end();
            }
            PolicyPart::Attr { policy, attr: id, properties } => {
                out.nest_start(attr::POLICY).nest_start(*policy as u16).nest_start(*id as u16);
                for (kind, value) in properties {
                    match *kind {
                        policy_attr::MIN_VALUE_S
                        | policy_attr::MAX_VALUE_S
                        | policy_attr::MIN_VALUE_U
                        | policy_attr::MAX_VALUE_U
                        | policy_attr::MASK => out.put_u64(*kind, *value),
                        _ => out.put_u32(*kind, *value as u32),
                    };
                }
                out.nest_end().nest_end().nest_end();
            }
        }
    }

    /// Reads one dump message's attributes (after the genetlink header).
    pub fn decode(attrs: Attrs<'_>) -> Result<Self, DecodeError> {
        if let Some(op_policy) = attrs.get(attr::OP_POLICY) {
            let op = op_policy.nested().next().ok_or(DecodeError::new("op-policy", "empty"))?;
            let inner = op.nested();
            return Ok(PolicyPart::Op {
                cmd: op.kind().into(),
                do_policy: inner.get(attr::POLICY_DO).and_then(|a| a.u32()),
                dump_policy: inner.get(attr::POLICY_DUMP).and_then(|a| a.u32()),
            });
        }
        let policy = attrs.get(attr::POLICY).ok_or(DecodeError::new("policy", "neither op-policy nor policy"))?;
        let set = policy.nested().next().ok_or(DecodeError::new("policy", "empty"))?;
        let item = set.nested().next().ok_or(DecodeError::new("policy", "no attribute"))?;
        Ok(PolicyPart::Attr {
            policy: set.kind().into(),
            attr: item.kind().into(),
            properties: item.nested().map(|a| (a.kind(), a.uint().unwrap_or_default())).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctrl::CTRL_FAMILY;

    #[test]
    fn nlctrl_dumps_like_the_kernels() {
        let parts = policy_dump(&CTRL_FAMILY, None).unwrap();
        // Measured on this machine: op 3 do=0 dump=0; op 0 (getpolicy) dump=1;
        // policy 0 attrs 1, 2; policy 1 attrs 1, 2, 10.
        assert_eq!(parts[0], PolicyPart::Op { cmd: 3, do_policy: Some(0), dump_policy: Some(0) });
        assert_eq!(parts[1], PolicyPart::Op { cmd: 0, do_policy: None, dump_policy: Some(1) });
        let attrs: Vec<(u32, u32)> = parts[2..]
            .iter()
            .map(|p| match p {
                PolicyPart::Attr { policy, attr, .. } => (*policy, *attr),
                _ => panic!("ops come first"),
            })
            .collect();
        assert_eq!(attrs, [(0, 1), (0, 2), (1, 1), (1, 2), (1, 10)]);
        assert_eq!(policy_dump(&CTRL_FAMILY, Some(99)), Err(PolicyDumpError::UnknownOp));
    }

    use crate::family::CommandSpec;
    use crate::policy::{AttrSpec, Check, REJECT_ALL};

    static INNER: AttrSet = AttrSet {
        name: "inner",
        attrs: &[AttrSpec { id: 1, name: "x", ty: AttrType::U8, check: Check::None, doc: "" }],
    };
    static OUTER: AttrSet = AttrSet {
        name: "outer",
        attrs: &[AttrSpec { id: 2, name: "inner", ty: AttrType::Nested(&INNER), check: Check::None, doc: "" }],
    };
    static OTHER: AttrSet = AttrSet {
        name: "other",
        attrs: &[AttrSpec { id: 3, name: "y", ty: AttrType::U32, check: Check::None, doc: "" }],
    };
    const fn command(id: u8, has_do: bool, do_policy: Option<&'static AttrSet>) -> CommandSpec {
        CommandSpec {
            id,
            name: "",
            has_do,
            has_dump: true,
            admin: false,
            uns_admin: false,
            do_policy,
            dump_policy: Some(&REJECT_ALL),
            required: &[],
            dont_validate: 0,
            doc: "",
        }
    }
    static NESTING: FamilySpec = FamilySpec {
        name: "nesting",
        version: 1,
        hdrsize: 0,
        resv_start_op: 0,
        split_ops: true,
        policy: None,
        commands: &[command(1, true, Some(&OUTER)), command(2, true, Some(&OTHER)), command(3, false, None)],
        notifications: &[],
        mcast_groups: &[],
    };

    #[test]
    fn policies_are_numbered_as_the_kernel_adds_them() {
        let parts = policy_dump(&NESTING, None).unwrap();
        // outer=0, its nest inner=1 right after it, then the shared
        // reject-all=2 (dump of every command), other=3; reject-all
        // entries are not listed.
        assert_eq!(parts[0], PolicyPart::Op { cmd: 1, do_policy: Some(0), dump_policy: Some(2) });
        assert_eq!(parts[1], PolicyPart::Op { cmd: 2, do_policy: Some(3), dump_policy: Some(2) });
        assert_eq!(parts[2], PolicyPart::Op { cmd: 0, do_policy: None, dump_policy: Some(2) });
        let attrs: Vec<(u32, u32)> = parts[3..]
            .iter()
            .map(|p| match p {
                PolicyPart::Attr { policy, attr, .. } => (*policy, *attr),
                _ => panic!("ops come first"),
            })
            .collect();
        assert_eq!(attrs, [(0, 2), (1, 1), (3, 3)]);
        let PolicyPart::Attr { properties, .. } = &parts[3] else { unreachable!() };
        assert!(properties.contains(&(policy_attr::POLICY_IDX, 1)));
    }

    #[test]
    fn parts_round_trip() {
        for part in policy_dump(&crate::simdev::FAMILY, None).unwrap() {
            let mut b = MessageBuilder::genl(0x10, 0, 0, 0, 10, 2);
            b.put_u16(attr::FAMILY_ID, 0x13);
            part.encode(&mut b);
            let bytes = b.finish();
            let message = crate::wire::split_messages(&bytes).next().unwrap();
            assert_eq!(PolicyPart::decode(message.genl_attrs(0)).unwrap(), part);
        }
    }
}
