//! Attribute policies and their validation, as `lib/nlattr.c` does it.
//!
//! A family declares its attribute sets as static [`AttrSet`] tables; the
//! simulator validates every request against them with the kernel's rules
//! (strict for new families, liberal for old ones such as `nlctrl`), and the
//! same tables are rendered as `NL_POLICY_TYPE_ATTR_*` nests for extended
//! ACKs and `CTRL_CMD_GETPOLICY`. Validation never allocates per attribute
//! type beyond one slot table; it does not interpret values beyond the
//! policy (that is the handlers' job).

use crate::wire::{Attr, Attrs, MessageBuilder};

/// The errnos the family code answers with, as `i32`s: the C library's
/// values (Linux numbering; this crate is Linux-only), not a table of ours.
pub mod errno {
    pub use nix::libc::{
        EACCES, EADDRINUSE, EBUSY, ECANCELED, ECONNREFUSED, EEXIST, EINVAL, EIO, EMSGSIZE, ENODATA, ENODEV, ENOENT,
        EOPNOTSUPP, EPERM, ERANGE,
    };
}

/// The type of an attribute, as `enum nla_policy_type` knows it.
#[derive(Debug, Clone, Copy)]
pub enum AttrType {
    Flag,
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    /// Signed 64-bit (`NLA_S64`).
    S64,
    /// `NLA_UINT`: an unsigned integer of 4 or 8 bytes.
    Uint,
    /// `NLA_SINT`: a signed integer of 4 or 8 bytes.
    Sint,
    /// `NLA_STRING`: NUL optional.
    String,
    /// `NLA_NUL_STRING`: must contain a NUL.
    NulString,
    Binary,
    Nested(&'static AttrSet),
    /// `NLA_BITFIELD32` with the bits a selector and value may use
    /// (`NLA_POLICY_BITFIELD32`).
    Bitfield32(u32),
    /// `NLA_UNSPEC` with a minimum length: refused by strict validation
    /// ("Unsupported attribute", like a hole), at least that long when
    /// liberal; not shown in policy dumps.
    Unspec(u16),
    /// `NLA_REJECT`: never accepted; not shown in policy dumps.
    Reject,
}

impl AttrType {
    /// `nla_attr_len[]`: the exact payload size strict validation demands.
    fn exact_len(self) -> Option<usize> {
        match self {
            AttrType::U8 | AttrType::S8 => Some(1),
            AttrType::U16 | AttrType::S16 => Some(2),
            AttrType::U32 | AttrType::S32 => Some(4),
            AttrType::U64 | AttrType::S64 => Some(8),
            _ => None,
        }
    }

    /// `nla_attr_minlen[]`.
    fn min_len(self) -> usize {
        self.exact_len().unwrap_or(0)
    }

    fn max_value(self) -> u64 {
        match self {
            AttrType::U8 => u8::MAX.into(),
            AttrType::U16 => u16::MAX.into(),
            AttrType::U32 => u32::MAX.into(),
            _ => u64::MAX,
        }
    }

    /// A signed type's range.
    fn signed_range(self) -> (i64, i64) {
        match self {
            AttrType::S8 => (i8::MIN.into(), i8::MAX.into()),
            AttrType::S16 => (i16::MIN.into(), i16::MAX.into()),
            AttrType::S32 => (i32::MIN.into(), i32::MAX.into()),
            _ => (i64::MIN, i64::MAX),
        }
    }

    fn is_unsigned_int(self) -> bool {
        matches!(self, AttrType::U8 | AttrType::U16 | AttrType::U32 | AttrType::U64 | AttrType::Uint)
    }

    fn is_signed_int(self) -> bool {
        matches!(self, AttrType::S8 | AttrType::S16 | AttrType::S32 | AttrType::S64 | AttrType::Sint)
    }

    /// `NL_ATTR_TYPE_*` as reported by policy dumps.
    pub fn policy_type(self) -> u32 {
        match self {
            AttrType::Flag => 1,
            AttrType::U8 => 2,
            AttrType::U16 => 3,
            AttrType::U32 => 4,
            AttrType::U64 => 5,
            AttrType::S8 => 6,
            AttrType::S16 => 7,
            AttrType::S32 => 8,
            AttrType::S64 => 9,
            AttrType::Binary => 10,
            AttrType::String => 11,
            AttrType::NulString => 12,
            AttrType::Nested(_) => 13,
            AttrType::Bitfield32(_) => 15,
            AttrType::Sint => 16,
            AttrType::Uint => 17,
            AttrType::Reject | AttrType::Unspec(_) => 0,
        }
    }

    /// A short name for documentation and error messages.
    pub fn name(self) -> &'static str {
        match self {
            AttrType::Flag => "flag",
            AttrType::U8 => "u8",
            AttrType::U16 => "u16",
            AttrType::U32 => "u32",
            AttrType::U64 => "u64",
            AttrType::S8 => "s8",
            AttrType::S16 => "s16",
            AttrType::S32 => "s32",
            AttrType::S64 => "s64",
            AttrType::Uint => "uint",
            AttrType::Sint => "sint",
            AttrType::Bitfield32(_) => "bitfield32",
            AttrType::Unspec(_) => "unspec",
            AttrType::String => "string",
            AttrType::NulString => "nul-string",
            AttrType::Binary => "binary",
            AttrType::Nested(_) => "nest",
            AttrType::Reject => "reject",
        }
    }
}

/// Extra checks beyond the type (`validation_type` + `min`/`max`/`len`).
#[derive(Debug, Clone, Copy)]
pub enum Check {
    None,
    /// Integer range, inclusive (`NLA_POLICY_RANGE`).
    Range {
        min: u64,
        max: u64,
    },
    /// Signed integer range, inclusive.
    SignedRange {
        min: i64,
        max: i64,
    },
    /// Strings and binaries: at most this many bytes (`.len`; for strings
    /// the terminating NUL does not count).
    MaxLen(u16),
    /// Binaries of exactly this length (`NLA_POLICY_EXACT_LEN`).
    ExactLen(u16),
    /// Unsigned integers: only these bits (`NLA_POLICY_MASK`).
    Mask(u64),
}

/// One attribute of a set.
#[derive(Debug, Clone, Copy)]
pub struct AttrSpec {
    pub id: u16,
    /// The name users see (YNL style, e.g. `dev-name`).
    pub name: &'static str,
    pub ty: AttrType,
    pub check: Check,
    pub doc: &'static str,
}

/// A named attribute set; ids need not be dense, and the highest is `maxtype`.
#[derive(Debug)]
pub struct AttrSet {
    pub name: &'static str,
    pub attrs: &'static [AttrSpec],
}

impl AttrSet {
    pub fn max_type(&self) -> u16 {
        self.attrs.iter().map(|a| a.id).max().unwrap_or(0)
    }

    pub fn get(&self, id: u16) -> Option<&'static AttrSpec> {
        self.attrs.iter().find(|a| a.id == id)
    }

    pub fn by_name(&self, name: &str) -> Option<&'static AttrSpec> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// Finds the attribute at byte `offset` of `message` (below the given
    /// attribute area) and returns its dotted name, e.g. `dev.port.mtu`;
    /// how a client names the attribute an extended ACK points at.
    pub fn name_at_offset(&'static self, attrs: Attrs<'_>, offset: usize) -> Option<String> {
        for attr in attrs {
            let end = attr.offset + crate::wire::NLA_HDRLEN + attr.payload.len();
            if attr.offset == offset {
                return Some(match self.get(attr.kind()) {
                    Some(spec) => spec.name.to_string(),
                    None => format!("attribute {}", attr.kind()),
                });
            }
            if offset > attr.offset && offset < end {
                if let Some(AttrSpec { ty: AttrType::Nested(inner), name, .. }) = self.get(attr.kind()) {
                    let inner_name = inner.name_at_offset(attr.nested(), offset)?;
                    return Some(format!("{name}.{inner_name}"));
                }
            }
        }
        None
    }
}

/// `genl_policy_reject_all`: what the kernel validates requests of a
/// split-ops command mode without a policy against (maxattr 1, attribute 1
/// rejected, anything above unknown).
pub static REJECT_ALL: AttrSet = AttrSet {
    name: "reject-all",
    attrs: &[AttrSpec { id: 1, name: "", ty: AttrType::Reject, check: Check::None, doc: "" }],
};

/// How strictly to validate (`NL_VALIDATE_STRICT` vs `NL_VALIDATE_LIBERAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// New families: unknown types, trailing bytes, wrong integer sizes and
    /// missing `NLA_F_NESTED` are errors.
    Strict,
    /// Commands of old families (below `resv_start_op`): those are tolerated.
    Liberal,
}

/// Why validation failed, with what the kernel puts in the extended ACK.
#[derive(Debug, Clone)]
pub struct ValidationError {
    /// Positive errno.
    pub errno: i32,
    pub message: &'static str,
    /// Offset of the offending attribute from the start of the message.
    pub offset: Option<usize>,
    /// The policy the attribute failed (`NLMSGERR_ATTR_POLICY`).
    pub policy: Option<&'static AttrSpec>,
}

/// The result of parsing: the last attribute seen of each type (the
/// kernel's `tb[]`), plus a warning message left by liberal parsing.
#[derive(Debug, Clone)]
pub struct Parsed<'a> {
    slots: Vec<Option<Attr<'a>>>,
    /// Set when liberal parsing tolerated leftover bytes; the kernel keeps
    /// this message in the extended ACK even when the handler then fails.
    pub warning: Option<&'static str>,
}

impl<'a> Parsed<'a> {
    pub fn get(&self, id: u16) -> Option<Attr<'a>> {
        self.slots.get(id as usize).copied().flatten()
    }
}

/// Validates and indexes `attrs` against `set` (`__nla_validate_parse`).
pub fn parse<'a>(
    set: &'static AttrSet,
    attrs: Attrs<'a>,
    strictness: Strictness,
) -> Result<Parsed<'a>, ValidationError> {
    let max_type = set.max_type();
    let mut slots = vec![None; max_type as usize + 1];
    let mut iter = attrs;
    for attr in iter.by_ref() {
        let kind = attr.kind();
        if kind == 0 || kind > max_type {
            if strictness == Strictness::Strict {
                return Err(ValidationError {
                    errno: crate::policy::errno::EINVAL,
                    message: "Unknown attribute type",
                    offset: Some(attr.offset),
                    policy: None,
                });
            }
            continue;
        }
        match set.get(kind) {
            Some(spec) => validate_attr(spec, &attr, strictness)?,
            // A hole in the policy (`NLA_UNSPEC`): per-op policies list only
            // what their op takes; strict validation refuses the rest.
            None if strictness == Strictness::Strict => {
                return Err(ValidationError {
                    errno: errno::EINVAL,
                    message: "Unsupported attribute",
                    offset: Some(attr.offset),
                    policy: None,
                });
            }
            None => {}
        }
        slots[kind as usize] = Some(attr);
    }
    let mut warning = None;
    if iter.leftover() > 0 {
        warning = Some("bytes leftover after parsing attributes");
        if strictness == Strictness::Strict {
            return Err(ValidationError {
                errno: errno::EINVAL,
                message: "bytes leftover after parsing attributes",
                offset: None,
                policy: None,
            });
        }
    }
    Ok(Parsed { slots, warning })
}

/// `validate_nla` for one attribute: its length and flags for the type,
/// then the policy's further validation (range, mask, exact length).
fn validate_attr(spec: &'static AttrSpec, attr: &Attr<'_>, strictness: Strictness) -> Result<(), ValidationError> {
    let fail = |errno: i32, message: &'static str| ValidationError {
        errno,
        message,
        offset: Some(attr.offset),
        policy: Some(spec),
    };
    let len = attr.payload.len();
    let strict = strictness == Strictness::Strict;
    if let Some(exact) = spec.ty.exact_len() {
        if len != exact && strict {
            return Err(fail(errno::EINVAL, "invalid attribute length"));
        }
    }
    if strict {
        let nested_type = matches!(spec.ty, AttrType::Nested(_));
        if nested_type && !attr.has_nested_flag() {
            return Err(fail(errno::EINVAL, "NLA_F_NESTED is missing"));
        }
        if !nested_type && !matches!(spec.ty, AttrType::Unspec(_)) && attr.has_nested_flag() {
            return Err(fail(errno::EINVAL, "NLA_F_NESTED not expected"));
        }
    }
    const FAILED: &str = "Attribute failed policy validation";
    match spec.ty {
        AttrType::Reject => return Err(fail(errno::EINVAL, FAILED)),
        AttrType::Flag => {
            if len > 0 {
                return Err(fail(errno::ERANGE, FAILED));
            }
        }
        AttrType::Uint | AttrType::Sint => {
            if len != 4 && len != 8 {
                return Err(fail(errno::EINVAL, "invalid attribute length"));
            }
        }
        AttrType::Bitfield32(valid) => {
            if len != 8 {
                return Err(fail(errno::ERANGE, FAILED));
            }
            let value = read_uint_prefix(attr.payload, 4) as u32;
            let selector = read_uint_prefix(&attr.payload[4..], 4) as u32;
            // `validate_nla_bitfield32`.
            if valid == 0 || selector & !valid != 0 || value & !valid != 0 || value & !selector != 0 {
                return Err(fail(errno::EINVAL, FAILED));
            }
        }
        AttrType::NulString | AttrType::String => {
            let max = match spec.check {
                Check::MaxLen(max) => Some(max as usize),
                _ => None,
            };
            if matches!(spec.ty, AttrType::NulString) {
                let window = max.map_or(len, |m| len.min(m + 1));
                if window == 0 || !attr.payload[..window].contains(&0) {
                    return Err(fail(errno::EINVAL, FAILED));
                }
            }
            if len < 1 {
                return Err(fail(errno::ERANGE, FAILED));
            }
            if let Some(max) = max {
                let text_len = if attr.payload[len - 1] == 0 { len - 1 } else { len };
                if text_len > max {
                    return Err(fail(errno::ERANGE, FAILED));
                }
            }
        }
        AttrType::Binary => {
            if let Check::MaxLen(max) = spec.check {
                if len > max as usize {
                    return Err(fail(errno::ERANGE, FAILED));
                }
            }
        }
        AttrType::Nested(inner) => {
            if len > 0 {
                if len < crate::wire::NLA_HDRLEN {
                    return Err(fail(errno::ERANGE, FAILED));
                }
                parse(inner, attr.nested(), strictness)?;
            }
        }
        AttrType::Unspec(min_len) => {
            if strict {
                return Err(ValidationError {
                    errno: errno::EINVAL,
                    message: "Unsupported attribute",
                    offset: Some(attr.offset),
                    policy: None,
                });
            }
            if len < min_len as usize {
                return Err(fail(errno::ERANGE, FAILED));
            }
        }
        AttrType::U8
        | AttrType::U16
        | AttrType::U32
        | AttrType::U64
        | AttrType::S8
        | AttrType::S16
        | AttrType::S32
        | AttrType::S64 => {
            if len < spec.ty.min_len() {
                return Err(fail(errno::ERANGE, FAILED));
            }
        }
    }
    // The further validation (`nla_validate_int_range`, `nla_validate_mask`).
    match spec.check {
        Check::Range { min, max } if spec.ty.is_unsigned_int() => {
            let value = unsigned_value(spec.ty, attr.payload);
            if value < min || value > max {
                return Err(fail(errno::ERANGE, "integer out of range"));
            }
        }
        Check::SignedRange { min, max } if spec.ty.is_signed_int() => {
            let value = signed_value(spec.ty, attr.payload);
            if value < min || value > max {
                return Err(fail(errno::ERANGE, "integer out of range"));
            }
        }
        Check::Mask(mask) if spec.ty.is_unsigned_int() && unsigned_value(spec.ty, attr.payload) & !mask != 0 => {
            return Err(ValidationError {
                errno: errno::EINVAL,
                message: "reserved bit set",
                offset: Some(attr.offset),
                policy: None,
            });
        }
        Check::ExactLen(exact) if matches!(spec.ty, AttrType::Binary) && len != exact as usize => {
            return Err(fail(errno::ERANGE, "binary attribute size out of range"));
        }
        _ => {}
    }
    Ok(())
}

/// An unsigned attribute's value as `nla_get_*` reads it: the first bytes
/// of a fixed type, the whole of an `NLA_UINT`.
fn unsigned_value(ty: AttrType, payload: &[u8]) -> u64 {
    match ty {
        AttrType::Uint => read_uint_prefix(payload, payload.len()),
        _ => read_uint_prefix(payload, ty.min_len()),
    }
}

/// A signed attribute's value, sign-extended.
fn signed_value(ty: AttrType, payload: &[u8]) -> i64 {
    let size = match ty {
        AttrType::Sint => payload.len(),
        _ => ty.min_len(),
    };
    let raw = read_uint_prefix(payload, size);
    let shift = 64 - 8 * size as u32;
    ((raw << shift) as i64) >> shift
}

/// Reads the integer the way the kernel's `nla_get_*` does: the first bytes.
fn read_uint_prefix(payload: &[u8], size: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..size].copy_from_slice(&payload[..size]);
    u64::from_ne_bytes(bytes)
}

/// `NL_POLICY_TYPE_ATTR_*`.
pub mod policy_attr {
    pub const TYPE: u16 = 1;
    pub const MIN_VALUE_S: u16 = 2;
    pub const MAX_VALUE_S: u16 = 3;
    pub const MIN_VALUE_U: u16 = 4;
    pub const MAX_VALUE_U: u16 = 5;
    pub const MIN_LENGTH: u16 = 6;
    pub const MAX_LENGTH: u16 = 7;
    pub const POLICY_IDX: u16 = 8;
    pub const POLICY_MAXTYPE: u16 = 9;
    pub const BITFIELD32_MASK: u16 = 10;
    pub const PAD: u16 = 11;
    pub const MASK: u16 = 12;
}

/// Writes the `NL_POLICY_TYPE_ATTR_*` attributes describing `spec`, in the
/// order `__netlink_policy_dump_write_attr` emits them. `nested_index` is
/// the policy index of a nested set (policy dumps only; `None` in extacks).
/// Writes nothing for `NLA_REJECT`, which has no policy to describe
/// (callers leave such attributes out, as `-ENODATA` makes the kernel do).
pub fn write_policy_attrs(spec: &AttrSpec, nested_index: Option<u32>, out: &mut MessageBuilder) {
    match spec.ty {
        AttrType::Reject | AttrType::Unspec(_) => return,
        AttrType::Nested(inner) => {
            if let Some(index) = nested_index {
                out.put_u32(policy_attr::POLICY_IDX, index);
                out.put_u32(policy_attr::POLICY_MAXTYPE, inner.max_type().into());
            }
        }
        ty if ty.is_unsigned_int() => match spec.check {
            Check::Mask(mask) => {
                out.put_u64(policy_attr::MASK, mask);
            }
            _ => {
                let (min, max) = match spec.check {
                    Check::Range { min, max } => (min, max),
                    _ => (0, ty.max_value()),
                };
                out.put_u64(policy_attr::MIN_VALUE_U, min);
                out.put_u64(policy_attr::MAX_VALUE_U, max);
            }
        },
        ty if ty.is_signed_int() => {
            let (min, max) = match spec.check {
                Check::SignedRange { min, max } => (min, max),
                _ => ty.signed_range(),
            };
            out.put_u64(policy_attr::MIN_VALUE_S, min as u64);
            out.put_u64(policy_attr::MAX_VALUE_S, max as u64);
        }
        AttrType::Bitfield32(mask) => {
            out.put_u32(policy_attr::BITFIELD32_MASK, mask);
        }
        AttrType::String | AttrType::NulString | AttrType::Binary => match spec.check {
            Check::ExactLen(len) => {
                out.put_u32(policy_attr::MIN_LENGTH, len.into());
                out.put_u32(policy_attr::MAX_LENGTH, len.into());
            }
            Check::MaxLen(len) => {
                out.put_u32(policy_attr::MAX_LENGTH, len.into());
            }
            _ => {}
        },
        _ => {}
    }
    out.put_u32(policy_attr::TYPE, spec.ty.policy_type());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{MessageBuilder, NLA_F_NESTED};

    static INNER: AttrSet = AttrSet {
        name: "inner",
        attrs: &[AttrSpec {
            id: 1,
            name: "value",
            ty: AttrType::U32,
            check: Check::Range { min: 10, max: 20 },
            doc: "",
        }],
    };
    static OUTER: AttrSet = AttrSet {
        name: "outer",
        attrs: &[
            AttrSpec { id: 1, name: "id", ty: AttrType::U32, check: Check::None, doc: "" },
            AttrSpec { id: 2, name: "name", ty: AttrType::NulString, check: Check::MaxLen(15), doc: "" },
            AttrSpec { id: 3, name: "mac", ty: AttrType::Binary, check: Check::ExactLen(6), doc: "" },
            AttrSpec { id: 4, name: "inner", ty: AttrType::Nested(&INNER), check: Check::None, doc: "" },
        ],
    };

    fn check(build: impl FnOnce(&mut MessageBuilder), strictness: Strictness) -> Result<(), ValidationError> {
        let mut b = MessageBuilder::genl(0x13, 1, 1, 0, 1, 1);
        build(&mut b);
        let msg = b.finish();
        let message = crate::wire::split_messages(&msg).next().unwrap();
        parse(&OUTER, message.genl_attrs(0), strictness).map(|_| ())
    }

    #[test]
    fn strict_rejects_unknown_type_with_its_offset() {
        let err = check(
            |b| {
                b.put_u32(1, 1).put_u32(9, 1);
            },
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!((err.errno, err.message, err.offset), (22, "Unknown attribute type", Some(28)));
        assert!(check(
            |b| {
                b.put_u32(9, 1);
            },
            Strictness::Liberal
        )
        .is_ok());
    }

    #[test]
    fn strict_requires_exact_integer_size() {
        let err = check(
            |b| {
                b.put_u16(1, 1);
            },
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!((err.errno, err.message), (22, "invalid attribute length"));
        assert!(check(
            |b| {
                b.put_u64(1, 1);
            },
            Strictness::Liberal
        )
        .is_ok());
        let err = check(
            |b| {
                b.put_u16(1, 1);
            },
            Strictness::Liberal,
        )
        .unwrap_err();
        assert_eq!(err.errno, 34);
    }

    #[test]
    fn nested_flag_is_required_and_nested_ranges_checked() {
        let err = check(
            |b| {
                b.nest_start_noflag(4).put_u32(1, 15).nest_end();
            },
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!(err.message, "NLA_F_NESTED is missing");
        let err = check(
            |b| {
                b.nest_start(4).put_u32(1, 25).nest_end();
            },
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!((err.errno, err.message, err.offset), (34, "integer out of range", Some(24)));
        assert!(check(
            |b| {
                b.nest_start(4).put_u32(1, 15).nest_end();
            },
            Strictness::Strict
        )
        .is_ok());
        let _ = NLA_F_NESTED;
    }

    #[test]
    fn strings_and_binaries_follow_kernel_rules() {
        let err = check(
            |b| {
                b.put_bytes(2, b"sim0");
            },
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!((err.errno, err.message), (22, "Attribute failed policy validation"));
        let err = check(
            |b| {
                b.put_str(2, "sixteen-chars-xx");
            },
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!(err.errno, 22, "the kernel finds no NUL within len + 1 bytes");
        assert!(check(
            |b| {
                b.put_str(2, "fifteen-chars-x");
            },
            Strictness::Strict
        )
        .is_ok());
        let err = check(
            |b| {
                b.put_bytes(3, &[1, 2, 3]);
            },
            Strictness::Strict,
        )
        .unwrap_err();
        assert_eq!((err.errno, err.message), (34, "binary attribute size out of range"));
    }

    #[test]
    fn trailing_bytes_fail_strict_and_warn_liberal() {
        let build = |b: &mut MessageBuilder| {
            b.put_u32(1, 1).put_raw(&[40, 0, 2, 0, b'x', 0, 0, 0]);
        };
        let err = check(build, Strictness::Strict).unwrap_err();
        assert_eq!(err.message, "bytes leftover after parsing attributes");
        let mut b = MessageBuilder::genl(0x13, 1, 1, 0, 1, 1);
        build(&mut b);
        let msg = b.finish();
        let message = crate::wire::split_messages(&msg).next().unwrap();
        let parsed = parse(&OUTER, message.genl_attrs(0), Strictness::Liberal).unwrap();
        assert_eq!(parsed.warning, Some("bytes leftover after parsing attributes"));
        assert_eq!(parsed.get(1).unwrap().u32(), Some(1));
    }

    #[test]
    fn reject_all_refuses_attribute_one_and_knows_no_other() {
        let parse_one = |kind: u16| {
            let mut b = MessageBuilder::genl(0x13, 1, 1, 0, 1, 1);
            b.put_u32(kind, 1);
            let msg = b.finish();
            let message = crate::wire::split_messages(&msg).next().unwrap();
            parse(&REJECT_ALL, message.genl_attrs(0), Strictness::Strict).map(|_| ()).unwrap_err()
        };
        let err = parse_one(1);
        assert_eq!((err.errno, err.message), (22, "Attribute failed policy validation"));
        let mut out = MessageBuilder::new(0, 0, 0, 0);
        write_policy_attrs(err.policy.unwrap(), None, &mut out);
        assert_eq!(out.finish().len(), crate::wire::NLMSG_HDRLEN, "NLA_REJECT describes nothing");
        assert_eq!(parse_one(2).message, "Unknown attribute type");
    }

    #[test]
    fn holes_in_a_policy_are_unsupported_when_strict() {
        static HOLEY: AttrSet = AttrSet {
            name: "holey",
            attrs: &[AttrSpec { id: 3, name: "c", ty: AttrType::U32, check: Check::None, doc: "" }],
        };
        let mut b = MessageBuilder::genl(0x13, 1, 1, 0, 1, 1);
        b.put_u32(2, 1);
        let msg = b.finish();
        let message = crate::wire::split_messages(&msg).next().unwrap();
        let err = parse(&HOLEY, message.genl_attrs(0), Strictness::Strict).unwrap_err();
        assert_eq!((err.errno, err.message, err.policy.is_none()), (22, "Unsupported attribute", true));
        assert!(parse(&HOLEY, message.genl_attrs(0), Strictness::Liberal).is_ok());
    }

    #[test]
    fn offsets_name_nested_attributes() {
        let mut b = MessageBuilder::genl(0x13, 1, 1, 0, 1, 1);
        b.put_u32(1, 1).nest_start(4).put_u32(1, 15).nest_end();
        let msg = b.finish();
        let message = crate::wire::split_messages(&msg).next().unwrap();
        assert_eq!(OUTER.name_at_offset(message.genl_attrs(0), 20).as_deref(), Some("id"));
        assert_eq!(OUTER.name_at_offset(message.genl_attrs(0), 32).as_deref(), Some("inner.value"));
    }

    #[test]
    fn wider_types_follow_nlattr() {
        static WIDE: AttrSet = AttrSet {
            name: "wide",
            attrs: &[
                AttrSpec {
                    id: 1,
                    name: "t",
                    ty: AttrType::S32,
                    check: Check::SignedRange { min: -5, max: 5 },
                    doc: "",
                },
                AttrSpec { id: 2, name: "u", ty: AttrType::Uint, check: Check::Mask(0b101), doc: "" },
                AttrSpec { id: 3, name: "b", ty: AttrType::Bitfield32(0b11), check: Check::None, doc: "" },
                AttrSpec { id: 4, name: "k", ty: AttrType::Unspec(4), check: Check::None, doc: "" },
            ],
        };
        let run = |build: &dyn Fn(&mut MessageBuilder), strictness| {
            let mut b = MessageBuilder::genl(0x13, 1, 1, 0, 1, 1);
            build(&mut b);
            let msg = b.finish();
            let message = crate::wire::split_messages(&msg).next().unwrap();
            parse(&WIDE, message.genl_attrs(0), strictness).map(|_| ()).map_err(|e| (e.errno, e.message))
        };
        let strict = |build: &dyn Fn(&mut MessageBuilder)| run(build, Strictness::Strict);
        assert_eq!(
            strict(&|b| {
                b.put_u32(1, (-5i32) as u32);
            }),
            Ok(()),
            "sign-extended"
        );
        assert_eq!(
            strict(&|b| {
                b.put_u32(1, (-6i32) as u32);
            }),
            Err((34, "integer out of range"))
        );
        assert_eq!(
            strict(&|b| {
                b.put_u64(2, 0b100);
            }),
            Ok(()),
            "8 bytes"
        );
        assert_eq!(
            strict(&|b| {
                b.put_u32(2, 0b101);
            }),
            Ok(()),
            "or 4"
        );
        assert_eq!(
            strict(&|b| {
                b.put_u16(2, 1);
            }),
            Err((22, "invalid attribute length"))
        );
        assert_eq!(
            strict(&|b| {
                b.put_u32(2, 0b010);
            }),
            Err((22, "reserved bit set"))
        );
        let bitfield = |value: u32, selector: u32| {
            move |b: &mut MessageBuilder| {
                b.put_bytes(3, &[value.to_ne_bytes(), selector.to_ne_bytes()].concat());
            }
        };
        assert_eq!(strict(&bitfield(0b01, 0b11)), Ok(()));
        assert_eq!(
            strict(&bitfield(0b01, 0b00)),
            Err((22, "Attribute failed policy validation")),
            "a value not selected"
        );
        assert_eq!(
            strict(&bitfield(0b100, 0b100)),
            Err((22, "Attribute failed policy validation")),
            "outside the mask"
        );
        assert_eq!(
            strict(&|b| {
                b.put_bytes(4, &[1, 2, 3, 4]);
            }),
            Err((22, "Unsupported attribute"))
        );
        assert_eq!(
            run(
                &|b| {
                    b.put_bytes(4, &[1, 2, 3]);
                },
                Strictness::Liberal
            ),
            Err((34, "Attribute failed policy validation"))
        );
        assert_eq!(
            run(
                &|b| {
                    b.put_bytes(4, &[1, 2, 3, 4]);
                },
                Strictness::Liberal
            ),
            Ok(())
        );
    }
}
