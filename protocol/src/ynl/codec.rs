//! Messages to and from any Generic Netlink family, driven by its YNL spec,
//! with the rules of the kernel's YNL library (`tools/net/ynl/lib/ynl.py`):
//! a request is a JSON object of attribute names (nests are objects,
//! multi-attrs lists, enums names, flags `true`, binaries hex), and a reply
//! decodes to the [`Value`] YNL would make of it: attribute names from the
//! spec, enums as names (flags enums as sets), display hints applied,
//! fixed headers and binary structs as dicts, repeated attributes as lists.
//! An attribute the spec does not know is an error, as in YNL, unless
//! unknown attributes are asked for (`--process-unknown`).

use super::value::{hex_separated, Key, Value};
use crate::wire::{Attr, Attrs, MessageBuilder};
use simdev_ynl::{AttrSet, AttrType, Family, Struct};

/// Why a message could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

fn error<T>(message: impl Into<String>) -> Result<T, CodecError> {
    Err(CodecError(message.into()))
}

type Json = serde_json::Value;

/// A family's spec, ready to encode and decode its messages.
pub struct Codec<'a> {
    pub family: &'a Family,
    /// Decode attributes the spec does not know as `UnknownAttr(N)`.
    pub process_unknown: bool,
    /// Read a fixed-size integer longer than its type by its leading
    /// bytes, as `nla_get_u32` and friends do: what a request validated
    /// liberally may carry (the kernel only warns of the length).
    pub read_leading: bool,
}

impl<'a> Codec<'a> {
    pub fn new(family: &'a Family) -> Self {
        Codec { family, process_unknown: false, read_leading: false }
    }

    fn set(&self, name: &str) -> Result<&'a AttrSet, CodecError> {
        self.family.attr_set(name).ok_or_else(|| CodecError(format!("the spec has no attribute set `{name}`")))
    }

    fn structure(&self, name: &str) -> Result<&'a Struct, CodecError> {
        self.family.structure(name).ok_or_else(|| CodecError(format!("the spec has no struct `{name}`")))
    }

    /// Writes the attributes of `values` (a JSON object) from set `set`,
    /// after the fixed header `header` (its members are taken out of
    /// `values`), in the object's order.
    pub fn encode(
        &self,
        set: &str,
        header: Option<&str>,
        values: &Json,
        out: &mut MessageBuilder,
    ) -> Result<(), CodecError> {
        let Json::Object(values) = values else {
            return error("the request's attributes must be a JSON object");
        };
        let mut values = values.clone();
        if let Some(header) = header {
            out.put_raw(&self.encode_struct(header, &mut values)?);
        }
        let set = self.set(set)?;
        for (name, value) in &values {
            self.add_attr(set, name, value, out)?;
        }
        Ok(())
    }

    /// `YnlFamily._add_attr`.
    fn add_attr(&self, set: &AttrSet, name: &str, value: &Json, out: &mut MessageBuilder) -> Result<(), CodecError> {
        let Some(attr) = set.attr(name) else {
            return error(format!("space '{}' has no attribute '{name}'", set.name));
        };
        let ty = attr.value;
        if attr.multi_attr {
            if let Json::Array(items) = value {
                for item in items {
                    self.add_attr(set, name, item, out)?;
                }
                return Ok(());
            }
        }
        let wrong = |what: &str| error(format!("{name}: {what}, not {value}"));
        match attr.ty {
            AttrType::Nest => {
                let Json::Object(items) = value else { return wrong("a nest takes a JSON object") };
                let inner = self.set(attr.nested.as_deref().unwrap_or_default())?;
                out.nest_start(ty);
                for (inner_name, inner_value) in items {
                    self.add_attr(inner, inner_name, inner_value, out)?;
                }
                out.nest_end();
            }
            AttrType::Flag => {
                if truthy(value) {
                    out.put_flag(ty);
                }
            }
            AttrType::String => {
                let text = match value {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.put_str(ty, &text);
            }
            AttrType::Binary => {
                let bytes = match (value, &attr.structure) {
                    (Json::String(text), _) => match parse_hex(text) {
                        Some(bytes) => bytes,
                        None => return wrong("a binary takes hex (colons allowed)"),
                    },
                    (Json::Object(fields), Some(structure)) => self.encode_struct(structure, &mut fields.clone())?,
                    _ => return wrong("a binary takes a hex string"),
                };
                out.put_bytes(ty, &bytes);
            }
            AttrType::Bitfield32 => {
                let part = |key: &str| -> Result<u64, CodecError> {
                    match value.get(key) {
                        Some(v) => self.scalar(attr, v).map(|v| v as u64),
                        None => error(format!("{name}: a bitfield32 takes {{\"value\": ..., \"selector\": ...}}")),
                    }
                };
                let mut bytes = (part("value")? as u32).to_ne_bytes().to_vec();
                bytes.extend_from_slice(&(part("selector")? as u32).to_ne_bytes());
                out.put_bytes(ty, &bytes);
            }
            t if t.is_int() => {
                let scalar = self.scalar(attr, value)?;
                let (size, signed) = match t {
                    // Auto-sized: 4 bytes when the value fits 32 bits.
                    AttrType::Uint | AttrType::Sint => {
                        let bits = 128 - scalar.unsigned_abs().leading_zeros();
                        (if bits <= 32 { 4 } else { 8 }, t == AttrType::Sint)
                    }
                    _ => t.fixed_int().expect("an integer"),
                };
                let bytes = int_bytes(scalar, size, signed, attr.byte_order.as_deref())
                    .ok_or_else(|| CodecError(format!("{name}: {scalar} does not fit {}", t.name())))?;
                out.put_bytes(ty, &bytes);
            }
            other => return error(format!("{name}: encoding {} attributes is not supported", other.name())),
        }
        Ok(())
    }

    /// An integer, or an enum entry's name (flags: a name or a list).
    fn scalar(&self, attr: &simdev_ynl::Attr, value: &Json) -> Result<i128, CodecError> {
        if let Some(i) = value.as_i64() {
            return Ok(i.into());
        }
        if let Some(u) = value.as_u64() {
            return Ok(u.into());
        }
        if let Some(i) = value.as_str().and_then(|s| s.parse::<i128>().ok()) {
            return Ok(i);
        }
        let Some(enumeration) = attr.enumeration.as_deref().and_then(|e| self.family.enumeration(e)) else {
            return error(format!("{}: an integer, not {value}", attr.name));
        };
        let entry_value = |name: &str, as_flags: bool| -> Result<i128, CodecError> {
            let entry = enumeration.entry(name).ok_or_else(|| {
                CodecError(format!("{}: `{name}` is not an entry of `{}`", attr.name, enumeration.name))
            })?;
            Ok(if as_flags { 1i128 << entry.value } else { enumeration.user_value(entry).into() })
        };
        if enumeration.flags || attr.enum_as_flags {
            let names: Vec<&str> = match value {
                Json::String(s) => vec![s.as_str()],
                Json::Array(items) => items.iter().filter_map(Json::as_str).collect(),
                _ => return error(format!("{}: flag names, not {value}", attr.name)),
            };
            return names.into_iter().try_fold(0, |acc, name| Ok(acc | entry_value(name, true)?));
        }
        match value {
            Json::String(name) => entry_value(name, false),
            _ => error(format!("{}: an integer or an entry of `{}`, not {value}", attr.name, enumeration.name)),
        }
    }

    /// `YnlFamily._encode_struct`: members in order, absent ones zero.
    fn encode_struct(&self, name: &str, values: &mut serde_json::Map<String, Json>) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        for member in &self.structure(name)?.members {
            let value = values.remove(&member.name);
            match member.ty.as_str() {
                "pad" => out.resize(out.len() + member.len.unwrap_or(0) as usize, 0),
                "binary" => match value {
                    Some(Json::String(text)) => out
                        .extend(parse_hex(&text).ok_or_else(|| CodecError(format!("{}: hex expected", member.name)))?),
                    _ => out.resize(out.len() + member.len.unwrap_or(0) as usize, 0),
                },
                ty => {
                    let ty = AttrType::parse(ty).filter(|t| t.fixed_int().is_some());
                    let (size, signed) = ty.and_then(AttrType::fixed_int).ok_or_else(|| {
                        CodecError(format!("{name}.{}: member type {} is not supported", member.name, member.ty))
                    })?;
                    let scalar = match value {
                        None => 0,
                        Some(v) => v
                            .as_i64()
                            .map(i128::from)
                            .or(v.as_u64().map(i128::from))
                            .ok_or_else(|| CodecError(format!("{}: an integer", member.name)))?,
                    };
                    out.extend(
                        int_bytes(scalar, size, signed, member.byte_order.as_deref())
                            .ok_or_else(|| CodecError(format!("{}: {scalar} does not fit", member.name)))?,
                    );
                }
            }
        }
        Ok(out)
    }

    /// The size of a fixed header.
    pub fn struct_size(&self, name: &str) -> Result<usize, CodecError> {
        let mut size = 0;
        for member in &self.structure(name)?.members {
            size += match member.ty.as_str() {
                "pad" | "binary" => member.len.unwrap_or(0) as usize,
                ty => AttrType::parse(ty).and_then(AttrType::fixed_int).map_or(0, |(size, _)| size),
            };
        }
        Ok(size)
    }

    /// `YnlFamily._decode_struct`.
    pub fn decode_struct(&self, name: &str, data: &[u8]) -> Result<Value, CodecError> {
        let mut entries = Vec::new();
        let mut offset = 0;
        for member in &self.structure(name)?.members {
            let short = || CodecError(format!("{name}: {} bytes are too few", data.len()));
            match member.ty.as_str() {
                "pad" => offset += member.len.unwrap_or(0) as usize,
                "binary" => {
                    let len = member.len.unwrap_or(0) as usize;
                    let bytes = data.get(offset..offset + len).ok_or_else(short)?;
                    offset += len;
                    entries.push((Key::Str(member.name.clone()), Value::Bytes(bytes.to_vec())));
                }
                ty => {
                    let ty = AttrType::parse(ty).ok_or_else(|| CodecError(format!("{name}: type {ty}")))?;
                    let (size, signed) =
                        ty.fixed_int().ok_or_else(|| CodecError(format!("{name}: type {}", ty.name())))?;
                    let bytes = data.get(offset..offset + size).ok_or_else(short)?;
                    offset += size;
                    let raw = read_int(bytes, signed, member.byte_order.as_deref());
                    let value = match (&member.enumeration, &member.display_hint) {
                        (Some(e), _) => self.decode_enum(raw, e, false)?,
                        (None, Some(hint)) => format_int(raw, hint),
                        (None, None) => Value::Int(raw),
                    };
                    entries.push((Key::Str(member.name.clone()), value));
                }
            }
        }
        Ok(Value::Dict(entries))
    }

    fn decode_enum(&self, raw: i128, name: &str, as_flags: bool) -> Result<Value, CodecError> {
        let enumeration =
            self.family.enumeration(name).ok_or_else(|| CodecError(format!("the spec has no enum `{name}`")))?;
        if enumeration.flags || as_flags {
            let mut names = Vec::new();
            for bit in 0..128 {
                if raw & (1 << bit) != 0 {
                    let entry = enumeration
                        .entries
                        .iter()
                        .find(|e| e.value == bit as u64)
                        .ok_or_else(|| CodecError(format!("bit {bit} is not an entry of `{name}`")))?;
                    names.push(entry.name.clone());
                }
            }
            return Ok(Value::Set(names));
        }
        match u64::try_from(raw).ok().and_then(|v| enumeration.entry_by_value(v)) {
            Some(entry) => Ok(Value::Str(entry.name.clone())),
            None => error(format!("{raw} is not an entry of `{name}`")),
        }
    }

    /// `YnlFamily._decode`: the attributes of set `set`.
    pub fn decode(&self, set: &str, attrs: Attrs<'_>) -> Result<Value, CodecError> {
        let set = self.set(set)?;
        let mut entries: Vec<(Key, Value)> = Vec::new();
        for attr in attrs {
            let Some(spec) = set.attr_by_value(attr.kind()) else {
                if !self.process_unknown {
                    return error(format!("space '{}' has no attribute with value '{}'", set.name, attr.kind()));
                }
                let value =
                    if attr.has_nested_flag() { Value::Dict(Vec::new()) } else { Value::Bytes(attr.payload.to_vec()) };
                add(&mut entries, &format!("UnknownAttr({})", attr.kind()), None, value);
                continue;
            };
            let value = self.decode_attr(spec, &attr)?;
            add(&mut entries, &spec.name, Some(spec.multi_attr), value);
        }
        Ok(Value::Dict(entries))
    }

    fn decode_attr(&self, spec: &simdev_ynl::Attr, attr: &Attr<'_>) -> Result<Value, CodecError> {
        let raw = attr.payload;
        let size_error = |want: &str| CodecError(format!("{}: {want}, got {} bytes", spec.name, raw.len()));
        Ok(match spec.ty {
            AttrType::Nest => self.decode(spec.nested.as_deref().unwrap_or_default(), attr.nested())?,
            // YNL drops the last byte, the NUL.
            AttrType::String => Value::Str(String::from_utf8_lossy(&raw[..raw.len().saturating_sub(1)]).into_owned()),
            AttrType::Binary => {
                if let Some(structure) = &spec.structure {
                    self.decode_struct(structure, raw)?
                } else if let Some(sub_type) = spec.sub_type {
                    let (size, signed) = sub_type.fixed_int().ok_or_else(|| size_error("an array of integers"))?;
                    Value::List(raw.chunks_exact(size).map(|c| Value::Int(read_int(c, signed, None))).collect())
                } else {
                    match spec.display_hint.as_deref() {
                        Some(hint) => format_bytes(raw, hint),
                        None => Value::Bytes(raw.to_vec()),
                    }
                }
            }
            AttrType::Flag => Value::Bool(true),
            AttrType::Uint | AttrType::Sint => {
                if raw.len() != 4 && raw.len() != 8 {
                    return Err(size_error("4 or 8 bytes"));
                }
                Value::Int(read_int(raw, spec.ty == AttrType::Sint, spec.byte_order.as_deref()))
            }
            t if t.fixed_int().is_some() => {
                let (size, signed) = t.fixed_int().expect("an integer");
                let leading = self.read_leading && raw.len() > size;
                if raw.len() != size && !leading {
                    return Err(size_error(&format!("{size} bytes")));
                }
                let value = read_int(&raw[..size], signed, spec.byte_order.as_deref());
                match (&spec.enumeration, &spec.display_hint) {
                    (Some(e), _) => self.decode_enum(value, e, spec.enum_as_flags)?,
                    (None, Some(hint)) => format_int(value, hint),
                    (None, None) => Value::Int(value),
                }
            }
            AttrType::IndexedArray => {
                let mut items = Vec::new();
                for item in attr.nested() {
                    items.push(match spec.sub_type {
                        Some(AttrType::Nest) => Value::Dict(vec![(
                            Key::Int(item.kind().into()),
                            self.decode(spec.nested.as_deref().unwrap_or_default(), item.nested())?,
                        )]),
                        Some(AttrType::Binary) => match spec.display_hint.as_deref() {
                            Some(hint) => format_bytes(item.payload, hint),
                            None => Value::Bytes(item.payload.to_vec()),
                        },
                        Some(t) if t.fixed_int().is_some() => {
                            let (_, signed) = t.fixed_int().expect("an integer");
                            let value = read_int(item.payload, signed, spec.byte_order.as_deref());
                            match spec.display_hint.as_deref() {
                                Some(hint) => format_int(value, hint),
                                None => Value::Int(value),
                            }
                        }
                        _ => return error(format!("{}: indexed-array of {:?}", spec.name, spec.sub_type)),
                    });
                }
                Value::List(items)
            }
            AttrType::Bitfield32 => {
                if raw.len() != 8 {
                    return Err(size_error("8 bytes"));
                }
                let value = i128::from(u32::from_ne_bytes(raw[..4].try_into().expect("4 bytes")));
                let selector = i128::from(u32::from_ne_bytes(raw[4..].try_into().expect("4 bytes")));
                let decode = |raw| match &spec.enumeration {
                    Some(e) => self.decode_enum(raw, e, false),
                    None => Ok(Value::Int(raw)),
                };
                Value::Dict(vec![
                    (Key::Str("value".into()), decode(value)?),
                    (Key::Str("selector".into()), decode(selector)?),
                ])
            }
            other if self.process_unknown => {
                let _ = other;
                Value::Bytes(raw.to_vec())
            }
            other => return error(format!("{}: decoding {} attributes is not supported", spec.name, other.name())),
        })
    }

    /// The dotted path (`.dev.mtu`) of the attribute at byte `target` of a
    /// request whose attributes start at `start` (`_decode_extack_path`).
    pub fn attr_path(&self, set: &str, attrs: Attrs<'_>, target: usize) -> Option<String> {
        let set = self.family.attr_set(set)?;
        for attr in attrs {
            let spec = set.attr_by_value(attr.kind())?;
            if attr.offset == target {
                return Some(format!(".{}", spec.name));
            }
            let end = attr.offset + 4 + attr.payload.len();
            if target > attr.offset && target < end && spec.ty == AttrType::Nest {
                let inner = self.attr_path(spec.nested.as_deref()?, attr.nested(), target)?;
                return Some(format!(".{}{inner}", spec.name));
            }
        }
        None
    }
}

/// `YnlFamily._rsp_add`: repeated attributes become lists.
fn add(entries: &mut Vec<(Key, Value)>, name: &str, multi: Option<bool>, value: Value) {
    let key = Key::Str(name.to_string());
    let existing = entries.iter_mut().find(|(k, _)| *k == key);
    let multi = match (multi, &existing) {
        (Some(multi), _) => multi,
        (None, Some((_, Value::List(_)))) => true,
        (None, Some((_, old))) => {
            let old = old.clone();
            let slot = existing.expect("present");
            slot.1 = Value::List(vec![old]);
            true
        }
        (None, None) => false,
    };
    let existing = entries.iter_mut().find(|(k, _)| *k == key);
    match (multi, existing) {
        (false, Some(slot)) => slot.1 = value,
        (false, None) => entries.push((key, value)),
        (true, Some((_, Value::List(items)))) => items.push(value),
        (true, Some(slot)) => slot.1 = Value::List(vec![value]),
        (true, None) => entries.push((key, Value::List(vec![value]))),
    }
}

fn truthy(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() != Some(0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

/// Hex digits, optionally separated by `:` or spaces (a MAC address).
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok()).collect()
}

fn int_bytes(value: i128, size: usize, signed: bool, byte_order: Option<&str>) -> Option<Vec<u8>> {
    let bits = 8 * size as u32;
    let (min, max) =
        if signed { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) } else { (0, (1i128 << bits) - 1) };
    if value < min || value > max {
        return None;
    }
    let le = (value as u128).to_le_bytes()[..size].to_vec();
    Some(match byte_order {
        Some("big-endian") => le.into_iter().rev().collect(),
        Some("little-endian") => le,
        _ if cfg!(target_endian = "big") => le.into_iter().rev().collect(),
        _ => le,
    })
}

fn read_int(bytes: &[u8], signed: bool, byte_order: Option<&str>) -> i128 {
    let big_endian = match byte_order {
        Some("big-endian") => true,
        Some("little-endian") => false,
        _ => cfg!(target_endian = "big"),
    };
    // Little-endian in a 16-byte buffer; an over-long value keeps its low
    // 16 bytes.
    let mut le = [0u8; 16];
    let width = bytes.len().min(16);
    if big_endian {
        for (slot, byte) in le.iter_mut().zip(bytes.iter().rev()) {
            *slot = *byte;
        }
    } else {
        le[..width].copy_from_slice(&bytes[..width]);
    }
    if signed && width > 0 && le[width - 1] & 0x80 != 0 {
        le[width..].fill(0xff);
    }
    i128::from_le_bytes(le)
}

/// `YnlFamily._formatted_string` for integers.
fn format_int(value: i128, hint: &str) -> Value {
    match hint {
        "hex" => Value::Str(if value < 0 { format!("-{:#x}", -value) } else { format!("{value:#x}") }),
        "ipv4" => match u32::try_from(value) {
            Ok(v) => Value::Str(std::net::Ipv4Addr::from(v).to_string()),
            Err(_) => Value::Int(value),
        },
        _ => Value::Int(value),
    }
}

/// `YnlFamily._formatted_string` for bytes.
fn format_bytes(bytes: &[u8], hint: &str) -> Value {
    match hint {
        "mac" => Value::Str(hex_separated(bytes, Some(':'))),
        "hex" => Value::Str(hex_separated(bytes, Some(' '))),
        "ipv4" if bytes.len() == 4 => {
            Value::Str(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).expect("4 bytes")).to_string())
        }
        "ipv6" if bytes.len() == 16 => {
            Value::Str(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).expect("16 bytes")).to_string())
        }
        "uuid" if bytes.len() == 16 => {
            let h = hex_separated(bytes, None);
            Value::Str(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
        }
        _ => Value::Bytes(bytes.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::split_messages;

    fn family() -> Family {
        Family::from_yaml(crate::simdev::SPEC_YAML).unwrap()
    }

    #[test]
    fn requests_encode_and_replies_decode_with_the_specs_names() {
        let family = family();
        let codec = Codec::new(&family);
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, 1, 1);
        let request = serde_json::json!({"dev-name": "d0", "mtu": 1400, "mac": "02:00:00:00:00:01", "up": 1});
        codec.encode("dev", None, &request, &mut b).unwrap();
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        let decoded = codec.decode("dev", message.genl_attrs(0)).unwrap();
        assert_eq!(
            decoded.to_json(),
            serde_json::json!({"dev-name": "d0", "mtu": 1400, "mac": "02:00:00:00:00:01", "up": 1})
        );
        // The request the simulator's policy takes, byte for byte what the
        // typed encoder sends.
        let mut typed = MessageBuilder::genl(0x13, 0, 1, 0, 1, 1);
        typed.put_str(2, "d0").put_u32(5, 1400).put_bytes(6, &[2, 0, 0, 0, 0, 1]).put_u8(7, 1);
        assert_eq!(bytes, typed.finish());
        assert_eq!(codec.attr_path("dev", message.genl_attrs(0), 28).as_deref(), Some(".mtu"));
    }

    #[test]
    fn repeated_nests_enums_and_unknown_attributes() {
        let family = family();
        let mut codec = Codec::new(&family);
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, 1, 1);
        for index in 0..2 {
            b.nest_start(4).put_u32(1, index).put_u8(8, 6).nest_end();
        }
        b.put_u32(99, 7);
        let bytes = b.finish();
        let attrs = || split_messages(&bytes).next().unwrap().genl_attrs(0);
        let err = codec.decode("dev", attrs()).unwrap_err();
        assert_eq!(err.0, "space 'dev' has no attribute with value '99'");
        codec.process_unknown = true;
        let decoded = codec.decode("dev", attrs()).unwrap().to_json();
        assert_eq!(decoded["port"][1], serde_json::json!({"index": 1, "oper-state": "up"}));
        assert_eq!(decoded["UnknownAttr(99)"], "07000000");
    }

    #[test]
    fn bad_requests_are_named() {
        let family = family();
        let codec = Codec::new(&family);
        let mut b = MessageBuilder::genl(0x13, 0, 1, 0, 1, 1);
        let cases = [
            (serde_json::json!({"nope": 1}), "space 'dev' has no attribute 'nope'"),
            (serde_json::json!({"mtu": "x"}), "mtu: an integer, not \"x\""),
            (serde_json::json!({"up": 300}), "up: 300 does not fit u8"),
            (serde_json::json!({"mac": "zz"}), "mac: a binary takes hex (colons allowed), not \"zz\""),
            (serde_json::json!([1]), "the request's attributes must be a JSON object"),
        ];
        for (json, message) in cases {
            assert_eq!(codec.encode("dev", None, &json, &mut b).unwrap_err().0, message);
        }
    }

    #[test]
    fn integers_read_in_their_byte_order_and_sign() {
        assert_eq!(read_int(&[0x12, 0x34], false, Some("big-endian")), 0x1234);
        assert_eq!(read_int(&[0x12, 0x34], false, Some("little-endian")), 0x3412);
        assert_eq!(read_int(&[0xfe], true, None), -2);
        assert_eq!(read_int(&[0xfe], false, None), 0xfe);
        assert_eq!(read_int(&[0xff, 0xfe], true, Some("big-endian")), -2);
        assert_eq!(read_int(&u64::MAX.to_le_bytes(), false, None), i128::from(u64::MAX));
        assert_eq!(read_int(&i64::MIN.to_le_bytes(), true, None), i128::from(i64::MIN));
        assert_eq!(read_int(&[], true, None), 0);
        // Longer than 16 bytes: the low 16 count.
        let mut long = [0u8; 20];
        long[0] = 7;
        assert_eq!(read_int(&long, false, None), 7);
        long.reverse();
        assert_eq!(read_int(&long, false, Some("big-endian")), 7);
    }

    #[test]
    fn byte_hints_format_as_ynl_formats_them() {
        let mac = [0x02, 0x00, 0x5e, 0x10, 0xab, 0xff];
        assert_eq!(format_bytes(&mac, "mac"), Value::Str("02:00:5e:10:ab:ff".into()));
        assert_eq!(format_bytes(&mac[..3], "hex"), Value::Str("02 00 5e".into()));
        assert_eq!(format_bytes(&[0u8; 16], "uuid"), Value::Str("00000000-0000-0000-0000-000000000000".into()));
        assert_eq!(format_bytes(&[1, 2], "other"), Value::Bytes(vec![1, 2]));
        assert_eq!(format_bytes(&[], "mac"), Value::Str(String::new()));
    }
}
