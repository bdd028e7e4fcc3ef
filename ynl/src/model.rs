//! The resolved family: every attribute and operation has its number, every
//! reference (nested sets, enums, notified operations, groups, defines in
//! checks) points at something that exists, and implicit rules are applied
//! the way the kernel's `tools/net/ynl/lib/nlspec.py` applies them:
//! attribute values count from 1 and a `value` restarts the count; a
//! `subset-of` set takes its parent's definitions; `unified` operations
//! count from 1 in one sequence, `directional` ones count requests and
//! replies separately; enum entries count from `value-start`, and a flags
//! entry's value is its bit number.

use crate::raw;
use crate::SpecError;

/// The spec's protocol level, which decides the schema it must obey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Genetlink,
    GenetlinkC,
    GenetlinkLegacy,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Genetlink => "genetlink",
            Protocol::GenetlinkC => "genetlink-c",
            Protocol::GenetlinkLegacy => "genetlink-legacy",
        }
    }

    /// The schema file under the kernel's `Documentation/netlink/`.
    pub fn schema_file(self) -> &'static str {
        match self {
            Protocol::Genetlink => "genetlink.yaml",
            Protocol::GenetlinkC => "genetlink-c.yaml",
            Protocol::GenetlinkLegacy => "genetlink-legacy.yaml",
        }
    }
}

/// An attribute's type, as the spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    Unused,
    Pad,
    Flag,
    Binary,
    Bitfield32,
    /// Variable-size unsigned integer (`NLA_UINT`: 4 or 8 bytes).
    Uint,
    /// Variable-size signed integer (`NLA_SINT`).
    Sint,
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    String,
    Nest,
    IndexedArray,
    NestTypeValue,
    SubMessage,
}

impl AttrType {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "unused" => AttrType::Unused,
            "pad" => AttrType::Pad,
            "flag" => AttrType::Flag,
            "binary" => AttrType::Binary,
            "bitfield32" => AttrType::Bitfield32,
            "uint" => AttrType::Uint,
            "sint" => AttrType::Sint,
            "u8" => AttrType::U8,
            "u16" => AttrType::U16,
            "u32" => AttrType::U32,
            "u64" => AttrType::U64,
            "s8" => AttrType::S8,
            "s16" => AttrType::S16,
            "s32" => AttrType::S32,
            "s64" => AttrType::S64,
            "string" => AttrType::String,
            "nest" => AttrType::Nest,
            "indexed-array" => AttrType::IndexedArray,
            "nest-type-value" => AttrType::NestTypeValue,
            "sub-message" => AttrType::SubMessage,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            AttrType::Unused => "unused",
            AttrType::Pad => "pad",
            AttrType::Flag => "flag",
            AttrType::Binary => "binary",
            AttrType::Bitfield32 => "bitfield32",
            AttrType::Uint => "uint",
            AttrType::Sint => "sint",
            AttrType::U8 => "u8",
            AttrType::U16 => "u16",
            AttrType::U32 => "u32",
            AttrType::U64 => "u64",
            AttrType::S8 => "s8",
            AttrType::S16 => "s16",
            AttrType::S32 => "s32",
            AttrType::S64 => "s64",
            AttrType::String => "string",
            AttrType::Nest => "nest",
            AttrType::IndexedArray => "indexed-array",
            AttrType::NestTypeValue => "nest-type-value",
            AttrType::SubMessage => "sub-message",
        }
    }

    /// Fixed-size integers: their size in bytes and signedness.
    pub fn fixed_int(self) -> Option<(usize, bool)> {
        Some(match self {
            AttrType::U8 => (1, false),
            AttrType::U16 => (2, false),
            AttrType::U32 => (4, false),
            AttrType::U64 => (8, false),
            AttrType::S8 => (1, true),
            AttrType::S16 => (2, true),
            AttrType::S32 => (4, true),
            AttrType::S64 => (8, true),
            _ => return None,
        })
    }

    pub fn is_int(self) -> bool {
        self.fixed_int().is_some() || matches!(self, AttrType::Uint | AttrType::Sint)
    }

    pub fn is_signed(self) -> bool {
        matches!(self, AttrType::Sint) || self.fixed_int().is_some_and(|(_, signed)| signed)
    }

    /// The range of values an integer type holds.
    pub fn int_range(self) -> Option<(i128, i128)> {
        match self {
            AttrType::Uint => Some((0, u64::MAX.into())),
            AttrType::Sint => Some((i64::MIN.into(), i64::MAX.into())),
            _ => self.fixed_int().map(|(size, signed)| {
                let bits = 8 * size as u32;
                if signed {
                    (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
                } else {
                    (0, (1i128 << bits) - 1)
                }
            }),
        }
    }
}

/// An attribute's checks, with defines and limits replaced by numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checks {
    pub min: Option<i128>,
    pub max: Option<i128>,
    pub min_len: Option<u32>,
    pub max_len: Option<u32>,
    pub exact_len: Option<u32>,
    /// The flags enum whose bits are the only ones allowed.
    pub flags_mask: Option<String>,
    /// Strings: the NUL terminator is optional (`NLA_STRING`).
    pub unterminated_ok: bool,
    /// The define a length check was written with, for generated code.
    pub max_len_define: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub name: String,
    pub value: u16,
    pub ty: AttrType,
    pub doc: String,
    pub multi_attr: bool,
    /// The attribute set of a `nest` (or of an array's elements).
    pub nested: Option<String>,
    pub enumeration: Option<String>,
    pub enum_as_flags: bool,
    pub checks: Checks,
    pub byte_order: Option<String>,
    pub display_hint: Option<String>,
    pub sub_type: Option<AttrType>,
    pub structure: Option<String>,
    pub sub_message: Option<String>,
    pub selector: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AttrSet {
    pub name: String,
    pub doc: String,
    pub subset_of: Option<String>,
    pub attrs: Vec<Attr>,
}

impl AttrSet {
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub fn attr_by_value(&self, value: u16) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.value == value)
    }

    /// The highest attribute number (the kernel's `maxattr`).
    pub fn max_value(&self) -> u16 {
        self.attrs.iter().map(|a| a.value).max().unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub struct EnumEntry {
    pub name: String,
    /// As written (for flags: the bit number).
    pub value: u64,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct Enum {
    pub name: String,
    pub doc: String,
    /// `flags`: entries are bits.
    pub flags: bool,
    pub entries: Vec<EnumEntry>,
}

impl Enum {
    /// The value on the wire: the entry's value, or its bit for flags.
    pub fn user_value(&self, entry: &EnumEntry) -> u64 {
        if self.flags {
            1u64 << entry.value
        } else {
            entry.value
        }
    }

    pub fn entry(&self, name: &str) -> Option<&EnumEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn entry_by_value(&self, value: u64) -> Option<&EnumEntry> {
        self.entries.iter().find(|e| self.user_value(e) == value)
    }

    /// Lowest and highest wire values.
    pub fn value_range(&self) -> (u64, u64) {
        let values = self.entries.iter().map(|e| self.user_value(e));
        (values.clone().min().unwrap_or(0), values.max().unwrap_or(0))
    }

    /// All bits of a flags enum (or all values as bits, for `enum-as-flags`).
    pub fn mask(&self) -> u64 {
        self.entries.iter().fold(0, |mask, e| mask | (1u64 << e.value))
    }
}

#[derive(Debug, Clone)]
pub struct StructMember {
    pub name: String,
    pub ty: String,
    pub len: Option<u32>,
    pub byte_order: Option<String>,
    pub enumeration: Option<String>,
    pub display_hint: Option<String>,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct Struct {
    pub name: String,
    pub doc: String,
    pub members: Vec<StructMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstValue {
    Int(i64),
    /// Some families define strings (e.g. a group's name).
    Str(String),
}

#[derive(Debug, Clone)]
pub struct Const {
    pub name: String,
    pub doc: String,
    pub value: ConstValue,
}

#[derive(Debug, Clone)]
pub struct SubMessageFormat {
    pub value: String,
    pub fixed_header: Option<String>,
    pub attribute_set: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SubMessage {
    pub name: String,
    pub formats: Vec<SubMessageFormat>,
}

/// The attributes of one direction of an operation mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub attributes: Vec<String>,
    /// The command number this direction of this mode carries, where the
    /// spec gives one of its own (devlink's port dump replies with
    /// `DEVLINK_CMD_NEW`, its do with `DEVLINK_CMD_PORT_NEW`).
    pub value: Option<u8>,
}

impl Message {
    fn from_raw(raw: raw::Message) -> Self {
        Message { attributes: raw.attributes, value: raw.value.and_then(|v| u8::try_from(v).ok()).filter(|&v| v != 0) }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Mode {
    pub request: Option<Message>,
    pub reply: Option<Message>,
}

/// Who may run an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Anyone,
    /// `GENL_ADMIN_PERM`: `CAP_NET_ADMIN` in the initial user namespace.
    Admin,
    /// `GENL_UNS_ADMIN_PERM`: `CAP_NET_ADMIN` in the family's user namespace.
    UnsAdmin,
}

#[derive(Debug, Clone)]
pub struct Op {
    pub name: String,
    pub doc: String,
    /// The command number requests carry (`None` for notifications of
    /// directional families, which have only a reply number).
    pub request_value: Option<u8>,
    /// The command number replies and notifications carry.
    pub reply_value: Option<u8>,
    pub attribute_set: Option<String>,
    pub permission: Permission,
    pub dont_validate: Vec<String>,
    pub fixed_header: Option<String>,
    pub do_: Option<Mode>,
    pub dump: Option<Mode>,
    /// A notification carrying what this operation's do reply carries.
    pub notify: Option<String>,
    /// A notification with its own attributes.
    pub event: Option<Message>,
    pub mcgrp: Option<String>,
}

impl Op {
    pub fn is_notification(&self) -> bool {
        self.notify.is_some() || self.event.is_some()
    }

    pub fn is_call(&self) -> bool {
        self.do_.is_some() || self.dump.is_some()
    }

    /// simdev's one convention beyond the schema: a doc line
    /// `Requires: A, B|C.` names the attributes a do request must carry
    /// (`B|C`: one of them). Returns the doc without that line and the
    /// list, each entry its alternatives.
    pub fn requires(&self) -> Result<(String, Vec<Vec<String>>), String> {
        let mut doc = Vec::new();
        let mut required = Vec::new();
        for line in self.doc.lines() {
            let Some(list) = line.trim().strip_prefix("Requires:") else {
                doc.push(line);
                continue;
            };
            let list = list
                .trim()
                .strip_suffix('.')
                .ok_or_else(|| format!("{}: the Requires line ends with '.'", self.name))?;
            for item in list.split(',') {
                let alternatives: Vec<String> = item.split('|').map(|name| name.trim().to_string()).collect();
                if alternatives.iter().any(String::is_empty) {
                    return Err(format!("{}: the Requires line has an empty name", self.name));
                }
                required.push(alternatives);
            }
        }
        Ok((doc.join("\n").trim_end().to_string(), required))
    }
}

#[derive(Debug, Clone)]
pub struct McastGroup {
    pub name: String,
    pub value: Option<u32>,
}

/// Where a family's kernel input policy lives (genetlink-legacy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelPolicy {
    /// A policy per operation and mode (do, dump): the default.
    Split,
    PerOp,
    Global,
}

/// A whole family, resolved.
#[derive(Debug, Clone)]
pub struct Family {
    pub name: String,
    pub doc: String,
    pub protocol: Protocol,
    pub version: u8,
    pub kernel_policy: KernelPolicy,
    pub consts: Vec<Const>,
    pub enums: Vec<Enum>,
    pub structs: Vec<Struct>,
    pub attr_sets: Vec<AttrSet>,
    pub sub_messages: Vec<SubMessage>,
    pub ops: Vec<Op>,
    pub mcast_groups: Vec<McastGroup>,
    /// The fixed header every message carries after `genlmsghdr`, if any.
    pub fixed_header: Option<String>,
}

impl Family {
    /// Reads and resolves a spec from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, SpecError> {
        let value = crate::yaml::to_json(text)?;
        let raw: raw::Spec = serde_path_to_error::deserialize(value)
            .map_err(|e| SpecError::Invalid { path: e.path().to_string(), message: e.inner().to_string() })?;
        Resolver::default().family(raw)
    }

    pub fn attr_set(&self, name: &str) -> Option<&AttrSet> {
        self.attr_sets.iter().find(|s| s.name == name)
    }

    pub fn op(&self, name: &str) -> Option<&Op> {
        self.ops.iter().find(|o| o.name == name)
    }

    /// The call (do or dump) whose requests carry `value`.
    pub fn op_by_request_value(&self, value: u8) -> Option<&Op> {
        self.ops.iter().find(|o| o.is_call() && o.request_value == Some(value))
    }

    pub fn enumeration(&self, name: &str) -> Option<&Enum> {
        self.enums.iter().find(|e| e.name == name)
    }

    pub fn structure(&self, name: &str) -> Option<&Struct> {
        self.structs.iter().find(|s| s.name == name)
    }

    pub fn constant(&self, name: &str) -> Option<&Const> {
        self.consts.iter().find(|c| c.name == name)
    }

    /// The attributes a notification carries: its event's, or the do reply
    /// of the operation it notifies with.
    pub fn notification_attrs<'a>(&'a self, op: &'a Op) -> Option<&'a Message> {
        if let Some(event) = &op.event {
            return Some(event);
        }
        let notified = self.op(op.notify.as_deref()?)?;
        notified.do_.as_ref()?.reply.as_ref()
    }

    /// The attribute set of an operation (a notification's is the notified
    /// operation's unless it names its own).
    pub fn op_attr_set<'a>(&'a self, op: &'a Op) -> Option<&'a AttrSet> {
        let name = match (&op.attribute_set, &op.notify) {
            (Some(name), _) => name,
            (None, Some(notified)) => self.op(notified)?.attribute_set.as_ref()?,
            (None, None) => return None,
        };
        self.attr_set(name)
    }
}

/// Works out values and checks references, collecting the first error.
#[derive(Default)]
struct Resolver {
    consts: Vec<Const>,
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError::Invalid { path: path.into(), message: message.into() }
}

impl Resolver {
    fn family(mut self, raw: raw::Spec) -> Result<Family, SpecError> {
        let protocol = match raw.protocol.as_deref() {
            None | Some("genetlink") => Protocol::Genetlink,
            Some("genetlink-c") => Protocol::GenetlinkC,
            Some("genetlink-legacy") => Protocol::GenetlinkLegacy,
            Some("netlink-raw") => {
                return Err(invalid(
                    "protocol",
                    "netlink-raw (classic netlink) specs are not read: only Generic Netlink ones",
                ))
            }
            Some(other) => return Err(invalid("protocol", format!("unknown protocol {other:?}"))),
        };
        let version = match raw.version {
            None => 1,
            Some(v) => u8::try_from(v).map_err(|_| invalid("version", format!("{v} does not fit a u8")))?,
        };
        let kernel_policy = match raw.kernel_policy.as_deref() {
            None | Some("split") => KernelPolicy::Split,
            Some("per-op") => KernelPolicy::PerOp,
            Some("global") => KernelPolicy::Global,
            Some(other) => return Err(invalid("kernel-policy", format!("unknown kernel-policy {other:?}"))),
        };

        let mut enums = Vec::new();
        let mut structs = Vec::new();
        for (i, definition) in raw.definitions.into_iter().enumerate() {
            let path = format!("definitions[{i}] ({})", definition.name);
            match definition.kind.as_str() {
                "const" => {
                    let value = match &definition.value {
                        Some(raw::NumberOrName::Number(n)) => ConstValue::Int(*n),
                        Some(raw::NumberOrName::Name(text)) => {
                            match self.number(&raw::NumberOrName::Name(text.clone()), &path) {
                                Ok(n) => {
                                    ConstValue::Int(i64::try_from(n).map_err(|_| invalid(&path, "value out of range"))?)
                                }
                                Err(_) => ConstValue::Str(text.clone()),
                            }
                        }
                        None => return Err(invalid(path, "a const needs a value")),
                    };
                    self.consts.push(Const { name: definition.name, doc: definition.doc, value });
                }
                "enum" | "flags" => enums.push(self.enumeration(definition, &path)?),
                "struct" => structs.push(self.structure(definition, &path)?),
                other => return Err(invalid(path, format!("unknown definition type {other:?}"))),
            }
        }

        let mut attr_sets: Vec<AttrSet> = Vec::new();
        for (i, set) in raw.attribute_sets.into_iter().enumerate() {
            let path = format!("attribute-sets[{i}] ({})", set.name);
            if attr_sets.iter().any(|s| s.name == set.name) {
                return Err(invalid(path, "a second attribute set of this name"));
            }
            let resolved = match &set.subset_of {
                None => self.attr_set(set, &path)?,
                Some(parent) => {
                    let parent = attr_sets
                        .iter()
                        .find(|s| &s.name == parent)
                        .ok_or_else(|| invalid(&path, format!("subset-of names no earlier set {parent:?}")))?;
                    subset(parent, set, &path)?
                }
            };
            attr_sets.push(resolved);
        }

        let enum_model = raw.operations.enum_model.as_deref().unwrap_or("unified");
        let values = match enum_model {
            "unified" => unified_values(&raw.operations.list)?,
            "directional" => directional_values(&raw.operations.list)?,
            other => return Err(invalid("operations.enum-model", format!("unknown enum-model {other:?}"))),
        };
        let mut ops = Vec::new();
        for (i, (op, (request_value, reply_value))) in raw.operations.list.into_iter().zip(values).enumerate() {
            let path = format!("operations.list[{i}] ({})", op.name);
            if ops.iter().any(|o: &Op| o.name == op.name) {
                return Err(invalid(path, "a second operation of this name"));
            }
            let mut permission = Permission::Anyone;
            for flag in &op.flags {
                permission = match flag.as_str() {
                    "admin-perm" => Permission::Admin,
                    "uns-admin-perm" => Permission::UnsAdmin,
                    other => return Err(invalid(&path, format!("unknown flag {other:?}"))),
                };
            }
            let mode = |mode: Option<raw::Mode>| {
                mode.map(|m| Mode { request: m.request.map(Message::from_raw), reply: m.reply.map(Message::from_raw) })
            };
            ops.push(Op {
                name: op.name,
                doc: op.doc,
                request_value,
                reply_value,
                attribute_set: op.attribute_set,
                permission,
                dont_validate: op.dont_validate,
                fixed_header: op.fixed_header.or_else(|| raw.operations.fixed_header.clone()),
                do_: mode(op.do_),
                dump: mode(op.dump),
                notify: op.notify,
                event: op.event.map(Message::from_raw),
                mcgrp: op.mcgrp,
            });
        }

        let mcast_groups = raw
            .mcast_groups
            .map(|g| g.list)
            .unwrap_or_default()
            .into_iter()
            .map(|g| McastGroup { name: g.name, value: g.value.and_then(|v| u32::try_from(v).ok()) })
            .collect();
        let sub_messages = raw
            .sub_messages
            .into_iter()
            .map(|m| SubMessage {
                name: m.name,
                formats: m
                    .formats
                    .into_iter()
                    .map(|f| SubMessageFormat {
                        value: f.value,
                        fixed_header: f.fixed_header,
                        attribute_set: f.attribute_set,
                    })
                    .collect(),
            })
            .collect();
        let family = Family {
            name: raw.name,
            doc: raw.doc,
            protocol,
            version,
            kernel_policy,
            consts: self.consts,
            enums,
            structs,
            attr_sets,
            sub_messages,
            ops,
            mcast_groups,
            fixed_header: raw.operations.fixed_header,
        };
        check_references(&family)?;
        Ok(family)
    }

    /// A number, a define, a define minus one, or a type limit (`u32-max`).
    fn number(&self, value: &raw::NumberOrName, path: &str) -> Result<i128, SpecError> {
        let name = match value {
            raw::NumberOrName::Number(n) => return Ok((*n).into()),
            raw::NumberOrName::Name(name) => name.trim(),
        };
        if let Ok(n) = name.parse::<i128>() {
            return Ok(n);
        }
        if let Some((ty, end)) = name.rsplit_once('-') {
            if let Some((min, max)) = AttrType::parse(ty).and_then(AttrType::int_range) {
                match end {
                    "min" => return Ok(min),
                    "max" => return Ok(max),
                    _ => {}
                }
            }
        }
        let (define, minus) = match name.strip_suffix("- 1") {
            Some(define) => (define.trim(), 1),
            None => (name, 0),
        };
        let value = self.consts.iter().find(|c| c.name == define).and_then(|c| match c.value {
            ConstValue::Int(n) => Some(n),
            ConstValue::Str(_) => None,
        });
        let value = value
            .ok_or_else(|| invalid(path, format!("{name:?} is neither a number, a type limit nor an integer const")))?;
        Ok(i128::from(value) - minus)
    }

    fn length(&self, value: &Option<raw::NumberOrName>, path: &str) -> Result<Option<u32>, SpecError> {
        let Some(value) = value else { return Ok(None) };
        let n = self.number(value, path)?;
        u32::try_from(n).map(Some).map_err(|_| invalid(path, format!("length {n} out of range")))
    }

    fn enumeration(&self, definition: raw::Definition, path: &str) -> Result<Enum, SpecError> {
        let flags = definition.kind == "flags";
        let start = match &definition.value_start {
            Some(v) => self.number(v, path)?,
            None => 0,
        };
        let mut next = start;
        let mut entries: Vec<EnumEntry> = Vec::new();
        for entry in definition.entries {
            let (name, value, doc) = match entry {
                raw::EnumEntry::Name(name) => (name, None, String::new()),
                raw::EnumEntry::Full { name, value, doc } => (name, value, doc),
            };
            let value = value.map_or(next, i128::from);
            let limit = if flags { 63 } else { u64::MAX.into() };
            if !(0..=limit).contains(&value) {
                return Err(invalid(path, format!("entry {name:?}: value {value} out of range")));
            }
            if entries.iter().any(|e| e.name == name) {
                return Err(invalid(path, format!("entry {name:?} appears twice")));
            }
            next = value + 1;
            entries.push(EnumEntry { name, value: value as u64, doc });
        }
        Ok(Enum { name: definition.name, doc: definition.doc, flags, entries })
    }

    fn structure(&self, definition: raw::Definition, path: &str) -> Result<Struct, SpecError> {
        let members = definition
            .members
            .into_iter()
            .map(|m| {
                Ok(StructMember {
                    len: self.length(&m.len, path)?,
                    name: m.name,
                    ty: m.kind,
                    byte_order: m.byte_order,
                    enumeration: m.enumeration,
                    display_hint: m.display_hint,
                    doc: m.doc,
                })
            })
            .collect::<Result<_, SpecError>>()?;
        Ok(Struct { name: definition.name, doc: definition.doc, members })
    }

    fn attr_set(&self, set: raw::AttributeSet, path: &str) -> Result<AttrSet, SpecError> {
        let mut attrs: Vec<Attr> = Vec::new();
        let mut next: i64 = 1;
        for attr in set.attributes {
            let path = format!("{path}.attributes ({})", attr.name);
            let value = attr.value.unwrap_or(next);
            // The type field of `struct nlattr` has 14 bits for the number.
            let value = u16::try_from(value)
                .ok()
                .filter(|v| *v < 1 << 14)
                .ok_or_else(|| invalid(&path, format!("value {value} does not fit nla_type")))?;
            next = i64::from(value) + 1;
            if let Some(other) = attrs.iter().find(|a| a.value == value || a.name == attr.name) {
                return Err(invalid(&path, format!("clashes with {:?} (value {})", other.name, other.value)));
            }
            let kind = attr.kind.as_deref().ok_or_else(|| invalid(&path, "no type"))?;
            let ty = AttrType::parse(kind).ok_or_else(|| invalid(&path, format!("unknown type {kind:?}")))?;
            let sub_type = match attr.sub_type.as_deref() {
                None => None,
                Some(kind) => {
                    Some(AttrType::parse(kind).ok_or_else(|| invalid(&path, format!("unknown sub-type {kind:?}")))?)
                }
            };
            let checks = self.checks(&attr.checks, &path)?;
            attrs.push(Attr {
                name: attr.name,
                value,
                ty,
                doc: attr.doc,
                multi_attr: attr.multi_attr,
                nested: attr.nested_attributes,
                enumeration: attr.enumeration,
                enum_as_flags: attr.enum_as_flags,
                checks,
                byte_order: attr.byte_order,
                display_hint: attr.display_hint,
                sub_type,
                structure: attr.structure,
                sub_message: attr.sub_message,
                selector: attr.selector,
            });
        }
        Ok(AttrSet { name: set.name, doc: set.doc, subset_of: None, attrs })
    }

    fn checks(&self, checks: &raw::Checks, path: &str) -> Result<Checks, SpecError> {
        let limit = |v: &Option<raw::NumberOrName>| v.as_ref().map(|v| self.number(v, path)).transpose();
        let max_len_define = match &checks.max_len {
            Some(raw::NumberOrName::Name(name)) if name.trim().parse::<i64>().is_err() => Some(name.clone()),
            _ => None,
        };
        Ok(Checks {
            min: limit(&checks.min)?,
            max: limit(&checks.max)?,
            min_len: self.length(&checks.min_len, path)?,
            max_len: self.length(&checks.max_len, path)?,
            exact_len: self.length(&checks.exact_len, path)?,
            flags_mask: checks.flags_mask.clone(),
            unterminated_ok: checks.unterminated_ok,
            max_len_define,
        })
    }
}

/// A `subset-of` set: the parent's attributes of those names, with any
/// keys the subset adds (nlspec.py takes the parent's definition); a name
/// listed twice counts once (devlink's specs do that).
fn subset(parent: &AttrSet, set: raw::AttributeSet, path: &str) -> Result<AttrSet, SpecError> {
    let mut seen = std::collections::HashSet::new();
    let attrs = set
        .attributes
        .iter()
        .filter(|a| seen.insert(a.name.clone()))
        .map(|a| {
            let mut attr = parent
                .attr(&a.name)
                .cloned()
                .ok_or_else(|| invalid(path, format!("{:?} is not an attribute of {:?}", a.name, parent.name)))?;
            if a.nested_attributes.is_some() {
                attr.nested.clone_from(&a.nested_attributes);
            }
            Ok(attr)
        })
        .collect::<Result<_, SpecError>>()?;
    Ok(AttrSet { name: set.name, doc: set.doc, subset_of: Some(parent.name.clone()), attrs })
}

/// An operation's request and reply command numbers.
type OpValues = (Option<u8>, Option<u8>);

fn command_value(value: i64, path: &str) -> Result<u8, SpecError> {
    u8::try_from(value).map_err(|_| invalid(path, format!("command value {value} does not fit a u8")))
}

/// `unified`: one sequence from 1; a `value` restarts it.
fn unified_values(list: &[raw::Operation]) -> Result<Vec<OpValues>, SpecError> {
    let mut next = 1;
    list.iter()
        .map(|op| {
            let value = op.value.unwrap_or(next);
            next = value + 1;
            let value = command_value(value, &op.name)?;
            Ok((Some(value), Some(value)))
        })
        .collect()
}

/// `directional`: requests and replies counted apart, as nlspec.py does.
fn directional_values(list: &[raw::Operation]) -> Result<Vec<OpValues>, SpecError> {
    let (mut request, mut reply): (Option<i64>, Option<i64>) = (Some(1), Some(1));
    let mut values = Vec::new();
    for op in list {
        let (request_next, reply_next);
        if op.notify.is_some() || op.event.is_some() {
            if let Some(v) = op.value {
                reply = Some(v);
            }
            request_next = request;
            reply_next = reply.map(|v| v + 1);
            request = None;
        } else if let Some(mode) = op.do_.as_ref().or(op.dump.as_ref()) {
            if let Some(v) = mode.request.as_ref().and_then(|r| r.value).filter(|v| *v != 0) {
                request = Some(v);
            }
            if let Some(v) = mode.reply.as_ref().and_then(|r| r.value).filter(|v| *v != 0) {
                reply = Some(v);
            }
            let reply_increment = i64::from(mode.reply.is_some());
            request_next = request.map(|v| v + 1);
            reply_next = reply.map(|v| v + reply_increment);
        } else {
            return Err(invalid(&op.name, "an operation with neither do, dump, notify nor event"));
        }
        let request_value = if request == request_next { None } else { request };
        let reply_value = if reply == reply_next { None } else { reply };
        values.push((
            request_value.map(|v| command_value(v, &op.name)).transpose()?,
            reply_value.map(|v| command_value(v, &op.name)).transpose()?,
        ));
        request = request_next;
        reply = reply_next;
    }
    Ok(values)
}

/// Every name the spec uses refers to something it defines.
fn check_references(family: &Family) -> Result<(), SpecError> {
    for set in &family.attr_sets {
        for attr in &set.attrs {
            let path = format!("attribute-sets ({}).attributes ({})", set.name, attr.name);
            if let Some(nested) = &attr.nested {
                if family.attr_set(nested).is_none() {
                    return Err(invalid(path, format!("nested-attributes names no set {nested:?}")));
                }
            } else if matches!(attr.ty, AttrType::Nest) {
                return Err(invalid(path, "a nest without nested-attributes"));
            }
            if let Some(name) = &attr.enumeration {
                if family.enumeration(name).is_none() {
                    return Err(invalid(path, format!("enum names no enum {name:?}")));
                }
            }
            if let Some(name) = &attr.checks.flags_mask {
                if family.enumeration(name).is_none_or(|e| !e.flags) {
                    return Err(invalid(path, format!("flags-mask names no flags {name:?}")));
                }
            }
            if let Some(name) = &attr.structure {
                if family.structure(name).is_none() {
                    return Err(invalid(path, format!("struct names no struct {name:?}")));
                }
            }
        }
    }
    let group_known = |name: &str| family.mcast_groups.iter().any(|g| g.name == name);
    for op in &family.ops {
        let path = format!("operations ({})", op.name);
        if let Some(name) = &op.attribute_set {
            if family.attr_set(name).is_none() {
                return Err(invalid(&path, format!("attribute-set names no set {name:?}")));
            }
        }
        if let Some(notified) = &op.notify {
            let target = family.op(notified).filter(|t| t.do_.as_ref().is_some_and(|d| d.reply.is_some()));
            if target.is_none() {
                return Err(invalid(&path, format!("notify names no operation with a do reply: {notified:?}")));
            }
        }
        if let Some(group) = &op.mcgrp {
            if !group_known(group) {
                return Err(invalid(&path, format!("mcgrp names no multicast group {group:?}")));
            }
        }
        let set = family.op_attr_set(op);
        let messages = [&op.do_, &op.dump]
            .into_iter()
            .flatten()
            .flat_map(|mode| [&mode.request, &mode.reply])
            .flatten()
            .chain(&op.event);
        for message in messages {
            let Some(set) = set else {
                if message.attributes.is_empty() {
                    continue;
                }
                return Err(invalid(&path, "lists attributes but has no attribute-set"));
            };
            for name in &message.attributes {
                if set.attr(name).is_none() {
                    return Err(invalid(&path, format!("{name:?} is not an attribute of {:?}", set.name)));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_lines_name_alternatives() {
        let op = |doc: &str| Op {
            name: "x-set".into(),
            doc: doc.into(),
            request_value: Some(1),
            reply_value: Some(1),
            attribute_set: None,
            permission: Permission::Anyone,
            dont_validate: Vec::new(),
            fixed_header: None,
            do_: None,
            dump: None,
            notify: None,
            event: None,
            mcgrp: None,
        };
        let (doc, required) = op("Sets x.\nRequires: dev-id|dev-name, value.").requires().unwrap();
        assert_eq!(doc, "Sets x.");
        assert_eq!(required, [vec!["dev-id".to_string(), "dev-name".into()], vec!["value".into()]]);
        assert_eq!(op("Gets x.").requires().unwrap(), ("Gets x.".to_string(), vec![]));
        assert_eq!(op("Requires: a").requires().unwrap_err(), "x-set: the Requires line ends with '.'");
        assert_eq!(op("Requires: a,.").requires().unwrap_err(), "x-set: the Requires line has an empty name");
    }

    const SPEC: &str = r#"
name: t
doc: A test family.
definitions:
  - { type: const, name: name-max, value: 15 }
  - { type: enum, name: colour, value-start: 2, entries: [ red, { name: green, value: 7 }, blue ] }
  - { type: flags, name: opts, entries: [ a, b, c ] }
attribute-sets:
  - name: main
    attributes:
      - { name: id, type: u32 }
      - { name: name, type: string, checks: { max-len: name-max - 1 } }
      - { name: big, type: u64, value: 10, checks: { max: u32-max } }
      - { name: after, type: u8, enum: colour }
      - { name: inner, type: nest, nested-attributes: main }
  - name: part
    subset-of: main
    attributes:
      - { name: big }
operations:
  list:
    - { name: get, doc: g, attribute-set: main, do: { request: { attributes: [ id ] }, reply: { attributes: [ id, name ] } } }
    - { name: set, doc: s, value: 5, attribute-set: main, flags: [ admin-perm ], do: { request: { attributes: [ id ] } } }
    - { name: ntf, doc: n, notify: get, mcgrp: g }
mcast-groups:
  list: [ { name: g } ]
"#;

    #[test]
    fn values_checks_and_subsets_are_resolved_as_nlspec_does() {
        let family = Family::from_yaml(SPEC).unwrap();
        let main = family.attr_set("main").unwrap();
        let values: Vec<(&str, u16)> = main.attrs.iter().map(|a| (a.name.as_str(), a.value)).collect();
        assert_eq!(values, [("id", 1), ("name", 2), ("big", 10), ("after", 11), ("inner", 12)]);
        assert_eq!(main.attr("name").unwrap().checks.max_len, Some(14));
        assert_eq!(main.attr("big").unwrap().checks.max, Some(u32::MAX.into()));
        assert_eq!(family.attr_set("part").unwrap().attrs[0].value, 10, "a subset keeps its parent's values");
        let colour = family.enumeration("colour").unwrap();
        let entries: Vec<u64> = colour.entries.iter().map(|e| e.value).collect();
        assert_eq!(entries, [2, 7, 8]);
        assert_eq!(colour.value_range(), (2, 8));
        let opts = family.enumeration("opts").unwrap();
        assert_eq!((opts.user_value(&opts.entries[2]), opts.mask()), (4, 7), "flags are bits");
        let ops: Vec<(&str, Option<u8>)> = family.ops.iter().map(|o| (o.name.as_str(), o.request_value)).collect();
        assert_eq!(ops, [("get", Some(1)), ("set", Some(5)), ("ntf", Some(6))]);
        assert_eq!(family.op("set").unwrap().permission, Permission::Admin);
        let ntf = family.op("ntf").unwrap();
        assert_eq!(family.notification_attrs(ntf).unwrap().attributes, ["id", "name"]);
        assert_eq!(family.op_attr_set(ntf).unwrap().name, "main");
    }

    #[test]
    fn bad_references_and_values_are_named() {
        let cases = [
            ("nested-attributes: main", "nested-attributes: nowhere", "names no set \"nowhere\""),
            (
                "request: { attributes: [ id ] }, reply",
                "request: { attributes: [ idd ] }, reply",
                "\"idd\" is not an attribute",
            ),
            ("notify: get", "notify: set", "no operation with a do reply"),
            ("mcgrp: g", "mcgrp: h", "no multicast group"),
            ("value: 10,", "value: 16384,", "does not fit nla_type"),
            ("max-len: name-max - 1", "max-len: nameless", "neither a number"),
            ("type: u32 }", "type: u33 }", "unknown type \"u33\""),
            ("value: 5,", "value: 300,", "does not fit a u8"),
        ];
        for (from, to, why) in cases {
            let spec = SPEC.replacen(from, to, 1);
            assert_ne!(spec, SPEC, "{from}");
            let err = Family::from_yaml(&spec).unwrap_err().to_string();
            assert!(err.contains(why), "{to}: {err}");
        }
        let err = Family::from_yaml("name: x\noperations: 3\n").unwrap_err().to_string();
        assert!(err.starts_with("operations: invalid type"), "{err}");
    }
}
