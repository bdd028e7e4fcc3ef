//! A family's kernel definition made at run time from its YNL spec: the
//! [`FamilySpec`] (commands, per-op policies, notifications, groups) the
//! simulator validates and answers the controller with, built by the same
//! rules (`simdev_ynl::kernel_policy`) that generate simdev's own at build
//! time. What simdev cannot serve is refused with a message naming it.
//!
//! A served family lives as long as the process: its tables are made once,
//! at startup, and leaked, so that they are `'static` like simdev's.

use crate::family::{CommandSpec, FamilySpec, NotificationSpec};
use crate::policy::{AttrSet, AttrSpec, AttrType, Check, REJECT_ALL};
use simdev_ynl::kernel_policy::{self, ModePolicy, PolicyCheck, PolicyType};
use simdev_ynl::{Family, KernelPolicy, Permission};
use std::collections::HashMap;

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn leak_str(text: &str) -> &'static str {
    Box::leak(text.to_string().into_boxed_str())
}

/// Builds the kernel definition of `family`.
pub fn family_spec(family: &Family) -> Result<&'static FamilySpec, String> {
    // A fixed header (OVS's `ovs_header`) is the family's, every message's.
    if let Some(op) = family.ops.iter().find(|op| op.fixed_header != family.fixed_header) {
        return Err(format!("{}: a fixed header of its own, which simdev does not serve yet", op.name));
    }
    let hdrsize = match &family.fixed_header {
        Some(header) => {
            let size = crate::ynl::codec::Codec::new(family).struct_size(header).map_err(|e| e.0)?;
            u16::try_from(size).map_err(|_| format!("fixed header {header}: {size} bytes"))?
        }
        None => 0,
    };
    let mut builder = Builder { family, sets: HashMap::new(), building: Vec::new() };
    let global = match kernel_policy::global_policy(family)? {
        Some((set, attrs)) => Some(builder.policy(&format!("{} global", family.name), set, &attrs)?),
        None => None,
    };
    let mut commands = Vec::new();
    let mut policies: HashMap<String, &'static AttrSet> = HashMap::new();
    for op in family.ops.iter().filter(|op| op.is_call()) {
        let id = op.request_value.ok_or_else(|| format!("{}: no request command number", op.name))?;
        let set = kernel_policy::op_set(family, op)?;
        let op_policies = kernel_policy::op_policies(family, op)?;
        let mut policy_of = |policy: &ModePolicy, mode: &str| -> Result<Option<&'static AttrSet>, String> {
            Ok(match policy {
                ModePolicy::Absent => None,
                ModePolicy::RejectAll => Some(&REJECT_ALL),
                ModePolicy::Global => global,
                ModePolicy::Attrs { attrs, shared } => {
                    let name = if *shared { op.name.clone() } else { format!("{} {mode}", op.name) };
                    if let Some(policy) = policies.get(&name) {
                        Some(*policy)
                    } else {
                        let policy = builder.policy(&name, set, attrs)?;
                        policies.insert(name, policy);
                        Some(policy)
                    }
                }
            })
        };
        let do_policy = policy_of(&op_policies.do_, "do")?;
        let dump_policy = policy_of(&op_policies.dump, "dump")?;
        let required: Vec<&'static [u16]> = kernel_policy::required_attrs(family, op)?
            .into_iter()
            .map(|alternatives| &*Box::leak(alternatives.into_boxed_slice()))
            .collect();
        commands.push(CommandSpec {
            id,
            name: leak_str(&op.name),
            has_do: op.do_.is_some(),
            has_dump: op.dump.is_some(),
            admin: op.permission != Permission::Anyone,
            uns_admin: op.permission == Permission::UnsAdmin,
            do_policy,
            dump_policy,
            required: Box::leak(required.into_boxed_slice()),
            dont_validate: op_policies.dont_validate,
            doc: leak_str(op.doc.trim()),
        });
    }
    let mut notifications = Vec::new();
    for op in family.ops.iter().filter(|op| op.is_notification()) {
        let id = op.reply_value.ok_or_else(|| format!("{}: no notification command number", op.name))?;
        // Without an mcgrp, the driver picks the group: the family's only
        // one (ethtool's), or one this cannot know.
        let group = match (&op.mcgrp, family.mcast_groups.as_slice()) {
            (Some(group), _) => group.as_str(),
            (None, [only]) => only.name.as_str(),
            (None, []) => return Err(format!("{}: a notification, and the spec declares no multicast group", op.name)),
            (None, groups) => {
                return Err(format!(
                    "{}: a notification without an mcgrp, and the family has {} groups (its driver picks one)",
                    op.name,
                    groups.len()
                ))
            }
        };
        notifications.push(NotificationSpec {
            id,
            name: leak_str(&op.name),
            group: leak_str(group),
            doc: leak_str(op.doc.trim()),
        });
    }
    let groups: Vec<&'static str> = family.mcast_groups.iter().map(|g| leak_str(&g.name)).collect();
    Ok(leak(FamilySpec {
        name: leak_str(&family.name),
        version: family.version,
        hdrsize,
        resv_start_op: 0,
        split_ops: family.kernel_policy == KernelPolicy::Split,
        policy: global,
        commands: Box::leak(commands.into_boxed_slice()),
        notifications: Box::leak(notifications.into_boxed_slice()),
        mcast_groups: Box::leak(groups.into_boxed_slice()),
    }))
}

/// Makes each attribute set's policy once (a nest shared by several
/// policies is one table, as the kernel's generated code has it).
struct Builder<'a> {
    family: &'a Family,
    sets: HashMap<String, &'static AttrSet>,
    /// Sets being made: a nest back into one of them is a recursion.
    building: Vec<String>,
}

impl Builder<'_> {
    /// The policy of `attrs` (names in `set`), by ascending number.
    fn policy(&mut self, name: &str, set: &simdev_ynl::AttrSet, attrs: &[String]) -> Result<&'static AttrSet, String> {
        let mut specs = Vec::new();
        for attr_name in attrs {
            let attr = set.attr(attr_name).ok_or_else(|| format!("{name}: {} has no {attr_name}", set.name))?;
            specs.extend(self.attr(set, attr)?);
        }
        specs.sort_by_key(|spec: &AttrSpec| spec.id);
        Ok(leak(AttrSet { name: leak_str(name), attrs: Box::leak(specs.into_boxed_slice()) }))
    }

    /// A whole set, as nests reach it.
    fn nested_set(&mut self, name: &str) -> Result<&'static AttrSet, String> {
        if let Some(set) = self.sets.get(name) {
            return Ok(set);
        }
        if self.building.iter().any(|n| n == name) {
            return Err(format!("{name}: a set nested in itself, which simdev's policies cannot hold yet"));
        }
        let set = self.family.attr_set(name).ok_or_else(|| format!("no attribute set {name}"))?;
        self.building.push(name.to_string());
        let attrs: Vec<String> = set.attrs.iter().map(|a| a.name.clone()).collect();
        let policy = self.policy(name, set, &attrs);
        self.building.pop();
        let policy = policy?;
        self.sets.insert(name.to_string(), policy);
        Ok(policy)
    }

    fn attr(&mut self, set: &simdev_ynl::AttrSet, attr: &simdev_ynl::Attr) -> Result<Option<AttrSpec>, String> {
        let Some(policy) = kernel_policy::attr_policy(self.family, set, attr)? else { return Ok(None) };
        let here = || format!("{}.{}", set.name, attr.name);
        let len16 = |len: u32| u16::try_from(len).map_err(|_| format!("{}: length {len} is over 65535", here()));
        let ty = match policy.ty {
            PolicyType::Flag => AttrType::Flag,
            PolicyType::U8 => AttrType::U8,
            PolicyType::U16 => AttrType::U16,
            PolicyType::U32 => AttrType::U32,
            PolicyType::U64 => AttrType::U64,
            PolicyType::S8 => AttrType::S8,
            PolicyType::S16 => AttrType::S16,
            PolicyType::S32 => AttrType::S32,
            PolicyType::S64 => AttrType::S64,
            PolicyType::Uint => AttrType::Uint,
            PolicyType::Sint => AttrType::Sint,
            PolicyType::String => AttrType::String,
            PolicyType::NulString => AttrType::NulString,
            PolicyType::Binary => AttrType::Binary,
            PolicyType::Bitfield32(mask) => AttrType::Bitfield32(mask),
            PolicyType::Nested(name) => AttrType::Nested(self.nested_set(&name)?),
            PolicyType::Unspec(len) => AttrType::Unspec(len16(len)?),
        };
        let check = match policy.check {
            PolicyCheck::None => Check::None,
            PolicyCheck::Range { min, max } => Check::Range { min, max },
            PolicyCheck::SignedRange { min, max } => Check::SignedRange { min, max },
            PolicyCheck::Mask(mask) => Check::Mask(mask),
            PolicyCheck::MaxLen(len) => Check::MaxLen(len16(len)?),
            PolicyCheck::ExactLen(len) => Check::ExactLen(len16(len)?),
        };
        Ok(Some(AttrSpec { id: attr.value, name: leak_str(&attr.name), ty, check, doc: leak_str(attr.doc.trim()) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simdevs_spec_makes_the_family_its_build_script_made() {
        let family = Family::from_yaml(crate::simdev::SPEC_YAML).unwrap();
        let served = family_spec(&family).unwrap();
        let built = &crate::simdev::FAMILY;
        assert_eq!(served.name, built.name);
        assert_eq!(served.mcast_groups, built.mcast_groups);
        assert_eq!(served.commands.len(), built.commands.len());
        for (a, b) in served.commands.iter().zip(built.commands) {
            assert_eq!((a.id, a.name, a.has_do, a.has_dump, a.admin), (b.id, b.name, b.has_do, b.has_dump, b.admin));
            assert_eq!(a.required, b.required, "{}", a.name);
            assert_eq!(a.op_flags(), b.op_flags(), "{}", a.name);
            for (x, y) in [(a.do_policy, b.do_policy), (a.dump_policy, b.dump_policy)] {
                assert_eq!(format!("{:?}", x.map(|p| p.attrs)), format!("{:?}", y.map(|p| p.attrs)), "{}", a.name);
            }
        }
        let ids = |f: &FamilySpec| f.notifications.iter().map(|n| (n.id, n.name, n.group)).collect::<Vec<_>>();
        assert_eq!(ids(served), ids(built));
    }

    #[test]
    fn what_cannot_be_served_is_named() {
        let spec = "name: t\nprotocol: genetlink\nattribute-sets:\n  - name: s\n    attributes:\n      - { name: a, type: binary, checks: { max-len: 4 } }\noperations:\n  list:\n    - { name: get, attribute-set: s, do: { request: { attributes: [ a ] } } }\n";
        let error = family_spec(&Family::from_yaml(spec).unwrap()).unwrap_err();
        assert_eq!(error, "s.a: a binary with a max-len has no kernel policy simdev can validate");
    }

    #[test]
    fn a_fixed_header_is_the_familys_hdrsize() {
        let spec = |op_header: &str| {
            format!(
                "name: t\nprotocol: genetlink-legacy\ndefinitions:\n  - {{ name: hdr, type: struct, members: [ {{ name: a, type: u32 }}, {{ name: b, type: u16 }}, {{ name: c, type: pad, len: 2 }} ] }}\n  - {{ name: other, type: struct, members: [ {{ name: x, type: u8 }} ] }}\nattribute-sets:\n  - name: s\n    attributes:\n      - {{ name: n, type: u32 }}\noperations:\n  fixed-header: hdr\n  list:\n    - {{ name: get, value: 1, attribute-set: s, {op_header} do: {{ request: {{ attributes: [ n ] }} }} }}\n"
            )
        };
        let served = family_spec(&Family::from_yaml(&spec("")).unwrap()).unwrap();
        assert_eq!(served.hdrsize, 8);
        let error = family_spec(&Family::from_yaml(&spec("fixed-header: other,")).unwrap()).unwrap_err();
        assert_eq!(error, "get: a fixed header of its own, which simdev does not serve yet");
    }
}
