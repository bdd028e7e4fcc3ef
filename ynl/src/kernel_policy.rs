//! The kernel input policies a spec gives its family, by the rules of the
//! kernel's generator (`tools/net/ynl/ynl-gen-c.py`, kernel mode): the
//! `nla_policy` of each attribute, and the policy each operation's do and
//! dump requests are validated against. One definition of those rules:
//! simdev's build script prints them as Rust statics for its own family,
//! and the simulator builds them at run time for a family it serves from a
//! spec. A spec entry the generator would not turn into a working policy
//! (or that simdev's validator does not implement) is an error naming it.

use crate::{Attr, AttrSet, AttrType, Family, KernelPolicy, Mode, Op};

/// An attribute's `nla_policy` type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyType {
    Flag,
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    /// `NLA_UINT`: 4 or 8 bytes.
    Uint,
    /// `NLA_SINT`.
    Sint,
    /// `NLA_STRING` (`unterminated-ok`).
    String,
    NulString,
    Binary,
    /// `NLA_POLICY_BITFIELD32(mask)`.
    Bitfield32(u32),
    /// `NLA_POLICY_NESTED` of the named set.
    Nested(String),
    /// `NLA_UNSPEC` with a minimum length: what the generator writes for a
    /// binary with only `min-len` (`{ .len = N }`, no type).
    Unspec(u32),
}

/// The validation beyond the type (`validation_type` and its data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyCheck {
    None,
    /// Unsigned range, inclusive (`NLA_POLICY_RANGE`/`MIN`/`MAX`/`FULL_RANGE`).
    Range {
        min: u64,
        max: u64,
    },
    /// Signed range, inclusive.
    SignedRange {
        min: i64,
        max: i64,
    },
    /// Only these bits (`NLA_POLICY_MASK`).
    Mask(u64),
    /// Strings: at most this many bytes before the NUL (`.len`).
    MaxLen(u32),
    /// Binaries of exactly this length (`NLA_POLICY_EXACT_LEN`).
    ExactLen(u32),
}

/// One attribute's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPolicy {
    pub ty: PolicyType,
    pub check: PolicyCheck,
}

/// How requests of one mode of an operation are validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModePolicy {
    /// The operation has no such mode.
    Absent,
    /// The mode takes no attributes: the kernel's reject-all policy
    /// (`genl_policy_reject_all`).
    RejectAll,
    /// The family's one policy (`kernel-policy: global`).
    Global,
    /// Its own policy: these attributes of the operation's set, by
    /// ascending number. `shared` when the do and dump modes share one
    /// (the generator names it after the operation alone).
    Attrs { attrs: Vec<String>, shared: bool },
}

/// `dont-validate` flags, as the kernel's `GENL_DONT_VALIDATE_*`.
pub mod dont_validate {
    pub const STRICT: u8 = 1 << 0;
    pub const DUMP: u8 = 1 << 1;
    pub const DUMP_STRICT: u8 = 1 << 2;
}

/// An operation's kernel policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpPolicies {
    pub do_: ModePolicy,
    pub dump: ModePolicy,
    /// `GENL_DONT_VALIDATE_*` bits.
    pub dont_validate: u8,
}

/// The policy of attribute `attr` of `set` (`Type._attr_policy` and its
/// subclasses); `None` for attributes the generator leaves out of policies
/// (`unused`, `pad`).
pub fn attr_policy(family: &Family, set: &AttrSet, attr: &Attr) -> Result<Option<AttrPolicy>, String> {
    let here = format!("{}.{}", set.name, attr.name);
    let checks = &attr.checks;
    let unsupported = |what: &str| Err(format!("{here}: {what} has no kernel policy simdev can validate"));
    let scalar = |ty: PolicyType| -> Result<Option<AttrPolicy>, String> {
        let signed = attr.ty.is_signed();
        let enumeration =
            attr.enumeration.as_deref().map(|name| family.enumeration(name).expect("checked by the loader"));
        // A flags enum (or an enum used as flags), or a flags-mask check.
        if attr.enum_as_flags || enumeration.is_some_and(|e| e.flags) {
            let mask = enumeration.expect("enum-as-flags names an enum").mask();
            return Ok(Some(AttrPolicy { ty, check: PolicyCheck::Mask(mask) }));
        }
        if let Some(flags) = &checks.flags_mask {
            let count = family.enumeration(flags).map_or(0, |e| e.entries.len());
            let mask = if count >= 64 { u64::MAX } else { (1u64 << count) - 1 };
            return Ok(Some(AttrPolicy { ty, check: PolicyCheck::Mask(mask) }));
        }
        let (mut min, mut max) = (checks.min, checks.max);
        if let Some(enumeration) = enumeration {
            // An enum bounds the value unless checks say more.
            let (low, high) = enumeration.value_range();
            if min.is_none() && (low != 0 || signed) {
                min = Some(low.into());
            }
            max = max.or(Some(high.into()));
        }
        let (type_min, type_max) = attr.ty.int_range().expect("an integer type");
        let check = if min.is_none() && max.is_none() {
            PolicyCheck::None
        } else {
            let (min, max) = (min.unwrap_or(type_min), max.unwrap_or(type_max));
            if min < type_min || max > type_max || min > max {
                return Err(format!("{here}: limits {min}..={max} do not fit a {}", attr.ty.name()));
            }
            if signed {
                PolicyCheck::SignedRange { min: min as i64, max: max as i64 }
            } else {
                PolicyCheck::Range { min: min as u64, max: max as u64 }
            }
        };
        Ok(Some(AttrPolicy { ty, check }))
    };
    let plain = |ty: PolicyType| Ok(Some(AttrPolicy { ty, check: PolicyCheck::None }));
    match attr.ty {
        AttrType::Unused | AttrType::Pad => Ok(None),
        AttrType::Flag => plain(PolicyType::Flag),
        AttrType::U8 => scalar(PolicyType::U8),
        AttrType::U16 => scalar(PolicyType::U16),
        AttrType::U32 => scalar(PolicyType::U32),
        AttrType::U64 => scalar(PolicyType::U64),
        AttrType::S8 => scalar(PolicyType::S8),
        AttrType::S16 => scalar(PolicyType::S16),
        AttrType::S32 => scalar(PolicyType::S32),
        AttrType::S64 => scalar(PolicyType::S64),
        AttrType::Uint => scalar(PolicyType::Uint),
        AttrType::Sint => scalar(PolicyType::Sint),
        AttrType::String => {
            // `TypeString._attr_policy`: exact-len makes a binary of that
            // length; otherwise max-len is `.len` (min-len is not used).
            if let Some(len) = checks.exact_len {
                return Ok(Some(AttrPolicy { ty: PolicyType::Binary, check: PolicyCheck::ExactLen(len) }));
            }
            let ty = if checks.unterminated_ok { PolicyType::String } else { PolicyType::NulString };
            let check = checks.max_len.map_or(PolicyCheck::None, PolicyCheck::MaxLen);
            Ok(Some(AttrPolicy { ty, check }))
        }
        AttrType::Binary => match (checks.exact_len, checks.min_len, checks.max_len) {
            (Some(len), _, _) => Ok(Some(AttrPolicy { ty: PolicyType::Binary, check: PolicyCheck::ExactLen(len) })),
            (None, Some(len), None) => plain(PolicyType::Unspec(len)),
            (None, None, None) => plain(PolicyType::Binary),
            _ => unsupported("a binary with a max-len"),
        },
        AttrType::Bitfield32 => {
            let name = attr.enumeration.as_deref().ok_or_else(|| format!("{here}: a bitfield32 needs an enum"))?;
            let mask = family.enumeration(name).expect("checked by the loader").mask();
            let mask = u32::try_from(mask).map_err(|_| format!("{here}: enum {name} does not fit a bitfield32"))?;
            plain(PolicyType::Bitfield32(mask))
        }
        AttrType::Nest => {
            let nested = attr.nested.clone().ok_or_else(|| format!("{here}: a nest needs a nested-attributes set"))?;
            plain(PolicyType::Nested(nested))
        }
        other => unsupported(&format!("type {}", other.name())),
    }
}

/// The attribute set of an operation, required of every call.
pub fn op_set<'a>(family: &'a Family, op: &'a Op) -> Result<&'a AttrSet, String> {
    family.op_attr_set(op).ok_or_else(|| format!("{}: an operation needs an attribute-set", op.name))
}

/// The policies of operation `op`'s do and dump requests
/// (`print_kernel_op_table`): for split policies one per mode that has a
/// request, shared when only one mode has one; a mode without a request
/// rejects every attribute; per-op policies take the do request's
/// attributes for both modes; a global policy serves every operation.
pub fn op_policies(family: &Family, op: &Op) -> Result<OpPolicies, String> {
    let mut dont_validate = 0;
    for flag in &op.dont_validate {
        dont_validate |= match flag.as_str() {
            "strict" => dont_validate::STRICT,
            "dump" => dont_validate::DUMP,
            "dump-strict" => dont_validate::DUMP_STRICT,
            other => return Err(format!("{}: unknown dont-validate flag {other:?}", op.name)),
        };
    }
    let request = |mode: &Option<Mode>| mode.as_ref().and_then(|m| m.request.as_ref()).map(|r| r.attributes.clone());
    let (do_, dump) = match family.kernel_policy {
        KernelPolicy::Global => {
            let global = |mode: &Option<Mode>| if mode.is_some() { ModePolicy::Global } else { ModePolicy::Absent };
            (global(&op.do_), global(&op.dump))
        }
        KernelPolicy::PerOp => {
            let attrs = request(&op.do_).unwrap_or_default();
            let per_op = |mode: &Option<Mode>| match mode {
                None => ModePolicy::Absent,
                Some(_) => ModePolicy::Attrs { attrs: attrs.clone(), shared: true },
            };
            (per_op(&op.do_), per_op(&op.dump))
        }
        KernelPolicy::Split => {
            let dual = request(&op.do_).is_some() && request(&op.dump).is_some();
            let split = |mode: &Option<Mode>| match (mode, request(mode)) {
                (None, _) => ModePolicy::Absent,
                (Some(_), None) => ModePolicy::RejectAll,
                (Some(_), Some(attrs)) => ModePolicy::Attrs { attrs, shared: !dual },
            };
            (split(&op.do_), split(&op.dump))
        }
    };
    let set = op_set(family, op)?;
    for policy in [&do_, &dump] {
        if let ModePolicy::Attrs { attrs, .. } = policy {
            for name in attrs {
                set.attr(name)
                    .ok_or_else(|| format!("{}: request attribute {name} is not in {}", op.name, set.name))?;
            }
        }
    }
    Ok(OpPolicies { do_, dump, dont_validate })
}

/// The global policy's attributes (`_load_global_policy`): every request
/// attribute of every operation, all of one set.
pub fn global_policy(family: &Family) -> Result<Option<(&AttrSet, Vec<String>)>, String> {
    if family.kernel_policy != KernelPolicy::Global {
        return Ok(None);
    }
    let mut set_name: Option<&str> = None;
    let mut attrs: Vec<String> = Vec::new();
    for op in family.ops.iter().filter(|op| op.is_call()) {
        for mode in [&op.do_, &op.dump].into_iter().flatten() {
            let Some(request) = &mode.request else { continue };
            let set = op_set(family, op)?;
            match set_name {
                Some(name) if name != set.name => {
                    return Err(format!(
                        "{}: a global policy needs one attribute set, not {name} and {}",
                        op.name, set.name
                    ))
                }
                _ => set_name = Some(&set.name),
            }
            for attr in &request.attributes {
                if !attrs.contains(attr) {
                    attrs.push(attr.clone());
                }
            }
        }
    }
    let Some(name) = set_name else { return Ok(None) };
    let set = family.attr_set(name).expect("an operation's set");
    Ok(Some((set, attrs)))
}

/// The `Requires:` lists of an op as attribute numbers of its set: each
/// entry the alternatives one of which a do request must carry.
pub fn required_attrs(family: &Family, op: &Op) -> Result<Vec<Vec<u16>>, String> {
    let (_, required) = op.requires()?;
    let request = op.do_.as_ref().and_then(|m| m.request.as_ref()).map(|r| &r.attributes);
    let set = op_set(family, op)?;
    let mut out = Vec::new();
    for alternatives in &required {
        let mut values = Vec::new();
        for name in alternatives {
            if !request.is_some_and(|list| list.contains(name)) {
                return Err(format!("{}: requires {name:?}, which its do request does not list", op.name));
            }
            values.push(set.attr(name).expect("listed").value);
        }
        out.push(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
name: t
protocol: genetlink
definitions:
  - { name: colour, type: enum, entries: [ red, green, blue ] }
  - { name: caps, type: flags, entries: [ a, b, c ] }
attribute-sets:
  - name: s
    attributes:
      - { name: id, type: u32, checks: { min: 1 } }
      - { name: colour, type: u8, enum: colour }
      - { name: caps, type: u32, enum: caps }
      - { name: temp, type: s32 }
      - { name: label, type: string, checks: { max-len: 15 } }
      - { name: key, type: binary, checks: { min-len: 4 } }
      - { name: bits, type: uint, checks: { flags-mask: caps } }
operations:
  list:
    - name: get
      attribute-set: s
      do: { request: { attributes: [ id ] }, reply: { attributes: [ id, colour ] } }
      dump: { reply: { attributes: [ id ] } }
    - name: set
      attribute-set: s
      dont-validate: [ strict ]
      do: { request: { attributes: [ id, colour ] } }
      dump: { request: { attributes: [ id ] } }
"#;

    fn policy(family: &Family, name: &str) -> AttrPolicy {
        let set = family.attr_set("s").unwrap();
        attr_policy(family, set, set.attr(name).unwrap()).unwrap().unwrap()
    }

    #[test]
    fn attributes_get_the_generators_policies() {
        let family = Family::from_yaml(SPEC).unwrap();
        assert_eq!(policy(&family, "id").check, PolicyCheck::Range { min: 1, max: u32::MAX.into() });
        assert_eq!(policy(&family, "colour").check, PolicyCheck::Range { min: 0, max: 2 }, "an enum bounds");
        assert_eq!(policy(&family, "caps").check, PolicyCheck::Mask(0b111), "a flags enum masks");
        assert_eq!(policy(&family, "bits"), AttrPolicy { ty: PolicyType::Uint, check: PolicyCheck::Mask(0b111) });
        assert_eq!(policy(&family, "temp"), AttrPolicy { ty: PolicyType::S32, check: PolicyCheck::None });
        assert_eq!(policy(&family, "label").check, PolicyCheck::MaxLen(15));
        assert_eq!(policy(&family, "key").ty, PolicyType::Unspec(4), "min-len alone leaves the type unset");
    }

    #[test]
    fn operations_get_split_policies_and_their_flags() {
        let family = Family::from_yaml(SPEC).unwrap();
        let get = op_policies(&family, family.op("get").unwrap()).unwrap();
        assert_eq!(get.do_, ModePolicy::Attrs { attrs: vec!["id".into()], shared: true });
        assert_eq!(get.dump, ModePolicy::RejectAll);
        let set = op_policies(&family, family.op("set").unwrap()).unwrap();
        assert_eq!(set.do_, ModePolicy::Attrs { attrs: vec!["id".into(), "colour".into()], shared: false });
        assert_eq!(set.dont_validate, dont_validate::STRICT);
    }
}
