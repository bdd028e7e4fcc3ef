//! Typed values to netlink attributes, by the spec: a serde `Serializer`
//! that writes a value's fields as the attributes of an [`AttrSet`], each
//! found by its spec name (the field's serde name) and written as the
//! spec's type says. A message type is then defined once, as a struct with
//! serde names, and the same definition gives its wire form (here) and its
//! JSON form (serde_json; the client decodes the wire form into that JSON
//! with the spec and back into the struct).
//!
//! The mapping, per attribute type of the spec: `u8`/`u16`/`u32`/`u64`
//! take that Rust integer exactly, and a `u8` takes `bool` (0 or 1);
//! `s64` takes `i64`; strings take `str` (sent NUL-terminated, as
//! `nla_put_string` does) and unit enum variants by name; `binary` takes
//! bytes; a `flag` takes `bool` (present when true); a nest takes a struct
//! or map, whose fields are attributes of the nested set. `None` writes
//! nothing; a sequence writes its elements as repeated attributes
//! (`multi-attr`). Anything else is an [`EncodeError`]: a field the set
//! does not have, or a Rust type that is not the attribute's. Those are
//! properties of the type, not of values, so every message type's tests
//! find them (a value cannot be out of its attribute's range: the widths
//! match).
//!
//! Values that have a readable JSON form different from their wire form
//! (MAC addresses, enum entries) see `is_human_readable() == false` here
//! and serialize as their wire value (`simdev::forms`).

use crate::policy::{AttrSet, AttrSpec, AttrType};
use crate::wire::MessageBuilder;
use serde::ser::{self, Impossible, Serialize};

/// A value whose type does not fit the attribute set it is written to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(String);

impl ser::Error for EncodeError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        EncodeError(message.to_string())
    }
}

/// Writes `value` (a struct or map) as attributes of `set`.
pub fn encode<T: Serialize + ?Sized>(
    set: &'static AttrSet,
    value: &T,
    out: &mut MessageBuilder,
) -> Result<(), EncodeError> {
    value.serialize(Fields::new(set, out))
}

type Result<T = (), E = EncodeError> = std::result::Result<T, E>;

fn mismatch(spec: &AttrSpec, rust: &str) -> EncodeError {
    EncodeError(format!("attribute `{}` is {}, not a Rust {rust}", spec.name, spec.ty.name()))
}

fn not_a_struct(set: &AttrSet, rust: &str) -> EncodeError {
    EncodeError(format!("the `{}` set takes a struct or map, not a {rust}", set.name))
}

/// Serializes a struct or map as the attributes of `set`.
struct Fields<'a> {
    set: &'static AttrSet,
    out: &'a mut MessageBuilder,
    /// Where the next field's attribute is looked for first: fields mostly
    /// come in the spec's order, so a lookup is mostly one comparison.
    cursor: usize,
}

impl<'a> Fields<'a> {
    fn new(set: &'static AttrSet, out: &'a mut MessageBuilder) -> Self {
        Fields { set, out, cursor: 0 }
    }

    fn attr(&mut self, name: &str) -> Result<&'static AttrSpec> {
        lookup(self.set, &mut self.cursor, name)
    }
}

/// `a == b` for short names, compared in place: a `memcmp` call per
/// field costs more than the comparison.
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// The attribute of `set` named `name`, looked for from `cursor` on (and
/// around); the cursor moves past it.
fn lookup(set: &'static AttrSet, cursor: &mut usize, name: &str) -> Result<&'static AttrSpec> {
    let attrs = set.attrs;
    // The common case, first: the attribute after the last one found.
    if let Some(spec) = attrs.get(*cursor).filter(|spec| same_name(spec.name, name)) {
        *cursor += 1;
        return Ok(spec);
    }
    let (before, after) = attrs.split_at((*cursor).min(attrs.len()));
    let found = after.iter().chain(before).position(|spec| same_name(spec.name, name));
    let index = found
        .map(|i| (i + before.len()) % attrs.len())
        .ok_or_else(|| EncodeError(format!("the `{}` set has no attribute `{name}`", set.name)))?;
    *cursor = index + 1;
    Ok(&attrs[index])
}

/// Rejects every serde shape but the ones listed after it.
macro_rules! reject {
    ($what:ident: $($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Self::Ok> {
            Err(self.$what(stringify!($method)))
        })*
    };
}

/// Rejects serde's compound shapes (and enum variants with data) by name,
/// saying which shape it was.
macro_rules! reject_compound {
    ($what:ident: $($method:ident),* $(,)?) => {
        $(reject_compound!(@one $what $method);)*
    };
    (@one $what:ident serialize_newtype_variant) => {
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self, _: &'static str, _: u32, _: &'static str, _: &T,
        ) -> Result<Self::Ok> {
            Err(self.$what("enum with data"))
        }
    };
    (@one $what:ident serialize_seq) => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
            Err(self.$what("sequence"))
        }
    };
    (@one $what:ident serialize_tuple) => {
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
            Err(self.$what("tuple"))
        }
    };
    (@one $what:ident serialize_tuple_struct) => {
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct> {
            Err(self.$what("tuple"))
        }
    };
    (@one $what:ident serialize_tuple_variant) => {
        fn serialize_tuple_variant(
            self, _: &'static str, _: u32, _: &'static str, _: usize,
        ) -> Result<Self::SerializeTupleVariant> {
            Err(self.$what("enum with data"))
        }
    };
    (@one $what:ident serialize_map) => {
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
            Err(self.$what("map"))
        }
    };
    (@one $what:ident serialize_struct) => {
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
            Err(self.$what("struct"))
        }
    };
    (@one $what:ident serialize_struct_variant) => {
        fn serialize_struct_variant(
            self, _: &'static str, _: u32, _: &'static str, _: usize,
        ) -> Result<Self::SerializeStructVariant> {
            Err(self.$what("enum with data"))
        }
    };
}

impl<'a> ser::Serializer for Fields<'a> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Impossible<(), EncodeError>;
    type SerializeTuple = Impossible<(), EncodeError>;
    type SerializeTupleStruct = Impossible<(), EncodeError>;
    type SerializeTupleVariant = Impossible<(), EncodeError>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), EncodeError>;

    fn is_human_readable(&self) -> bool {
        false
    }

    reject!(wrong: serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]), serialize_none(),
        serialize_unit(), serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str));

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }

    reject_compound!(wrong: serialize_newtype_variant, serialize_seq, serialize_tuple, serialize_tuple_struct, serialize_tuple_variant, serialize_struct_variant);
}

impl Fields<'_> {
    fn wrong(&self, rust: &str) -> EncodeError {
        not_a_struct(self.set, rust.trim_start_matches("serialize_"))
    }
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result {
        let spec = self.attr(name)?;
        value.serialize(Value { spec, out: self.out })
    }

    fn end(self) -> Result {
        Ok(())
    }
}

/// Maps come from `#[serde(flatten)]` and hand-written forms: their keys
/// are attribute names.
impl ser::SerializeMap for Fields<'_> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result {
        Err(EncodeError("maps are written by entry".into()))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result {
        Err(EncodeError("maps are written by entry".into()))
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(&mut self, key: &K, value: &V) -> Result {
        let spec = key.serialize(KeyName { set: self.set, cursor: &mut self.cursor })?;
        value.serialize(Value { spec, out: self.out })
    }

    fn end(self) -> Result {
        Ok(())
    }
}

/// A map key: an attribute's name, looked up as it is serialized.
struct KeyName<'c> {
    set: &'static AttrSet,
    cursor: &'c mut usize,
}

impl ser::Serializer for KeyName<'_> {
    type Ok = &'static AttrSpec;
    type Error = EncodeError;
    type SerializeSeq = Impossible<&'static AttrSpec, EncodeError>;
    type SerializeTuple = Impossible<&'static AttrSpec, EncodeError>;
    type SerializeTupleStruct = Impossible<&'static AttrSpec, EncodeError>;
    type SerializeTupleVariant = Impossible<&'static AttrSpec, EncodeError>;
    type SerializeMap = Impossible<&'static AttrSpec, EncodeError>;
    type SerializeStruct = Impossible<&'static AttrSpec, EncodeError>;
    type SerializeStructVariant = Impossible<&'static AttrSpec, EncodeError>;

    fn serialize_str(self, name: &str) -> Result<&'static AttrSpec> {
        lookup(self.set, self.cursor, name)
    }

    reject!(wrong: serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
        serialize_unit_struct(&'static str), serialize_unit_variant(&'static str, u32, &'static str));

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<&'static AttrSpec> {
        Err(self.wrong("option"))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<&'static AttrSpec> {
        value.serialize(self)
    }

    reject_compound!(wrong: serialize_newtype_variant, serialize_seq, serialize_tuple, serialize_tuple_struct, serialize_tuple_variant, serialize_map, serialize_struct, serialize_struct_variant);
}

impl KeyName<'_> {
    fn wrong(&self, rust: &str) -> EncodeError {
        EncodeError(format!("a map key names an attribute, not a {}", rust.trim_start_matches("serialize_")))
    }
}

/// Serializes one value as attribute `spec` (repeated for a sequence).
struct Value<'a> {
    spec: &'static AttrSpec,
    out: &'a mut MessageBuilder,
}

impl Value<'_> {
    fn wrong(&self, rust: &str) -> EncodeError {
        mismatch(self.spec, rust.trim_start_matches("serialize_"))
    }

    fn expect(self, ty: AttrType, rust: &str, write: impl FnOnce(&mut MessageBuilder, u16)) -> Result {
        if std::mem::discriminant(&self.spec.ty) != std::mem::discriminant(&ty) {
            return Err(self.wrong(rust));
        }
        write(self.out, self.spec.id);
        Ok(())
    }

    fn string(self, text: &str) -> Result {
        match self.spec.ty {
            AttrType::String | AttrType::NulString => {
                self.out.put_str(self.spec.id, text);
                Ok(())
            }
            _ => Err(self.wrong("str")),
        }
    }
}

impl<'a> ser::Serializer for Value<'a> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Repeated<'a>;
    type SerializeTuple = Impossible<(), EncodeError>;
    type SerializeTupleStruct = Impossible<(), EncodeError>;
    type SerializeTupleVariant = Impossible<(), EncodeError>;
    type SerializeMap = NestFields<'a>;
    type SerializeStruct = NestFields<'a>;
    type SerializeStructVariant = Impossible<(), EncodeError>;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, value: bool) -> Result {
        match self.spec.ty {
            AttrType::U8 => {
                self.out.put_u8(self.spec.id, value.into());
                Ok(())
            }
            AttrType::Flag => {
                if value {
                    self.out.put_flag(self.spec.id);
                }
                Ok(())
            }
            _ => Err(self.wrong("bool")),
        }
    }

    fn serialize_u8(self, value: u8) -> Result {
        self.expect(AttrType::U8, "u8", |out, id| {
            out.put_u8(id, value);
        })
    }

    fn serialize_u16(self, value: u16) -> Result {
        self.expect(AttrType::U16, "u16", |out, id| {
            out.put_u16(id, value);
        })
    }

    fn serialize_u32(self, value: u32) -> Result {
        self.expect(AttrType::U32, "u32", |out, id| {
            out.put_u32(id, value);
        })
    }

    fn serialize_u64(self, value: u64) -> Result {
        self.expect(AttrType::U64, "u64", |out, id| {
            out.put_u64(id, value);
        })
    }

    fn serialize_i64(self, value: i64) -> Result {
        self.expect(AttrType::S64, "i64", |out, id| {
            out.put_i64(id, value);
        })
    }

    reject!(wrong: serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_f32(f32), serialize_f64(f64),
        serialize_char(char), serialize_unit(), serialize_unit_struct(&'static str));

    fn serialize_str(self, text: &str) -> Result {
        self.string(text)
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, name: &'static str) -> Result {
        self.string(name)
    }

    fn serialize_bytes(self, bytes: &[u8]) -> Result {
        self.expect(AttrType::Binary, "byte string", |out, id| {
            out.put_bytes(id, bytes);
        })
    }

    fn serialize_none(self) -> Result {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Repeated<'a>> {
        Ok(Repeated { spec: self.spec, out: self.out })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<NestFields<'a>> {
        NestFields::open(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<NestFields<'a>> {
        NestFields::open(self)
    }

    reject_compound!(wrong: serialize_newtype_variant, serialize_tuple, serialize_tuple_struct, serialize_tuple_variant, serialize_struct_variant);
}

/// A sequence: one attribute per element.
struct Repeated<'a> {
    spec: &'static AttrSpec,
    out: &'a mut MessageBuilder,
}

impl ser::SerializeSeq for Repeated<'_> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(Value { spec: self.spec, out: self.out })
    }

    fn end(self) -> Result {
        Ok(())
    }
}

/// A nest being written: the fields of its set, closed by `end`.
struct NestFields<'a>(Fields<'a>);

impl<'a> NestFields<'a> {
    fn open(value: Value<'a>) -> Result<Self> {
        let AttrType::Nested(set) = value.spec.ty else { return Err(value.wrong("struct")) };
        value.out.nest_start(value.spec.id);
        Ok(NestFields(Fields::new(set, value.out)))
    }
}

impl ser::SerializeStruct for NestFields<'_> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result {
        ser::SerializeStruct::serialize_field(&mut self.0, name, value)
    }

    fn end(self) -> Result {
        self.0.out.nest_end();
        Ok(())
    }
}

impl ser::SerializeMap for NestFields<'_> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        ser::SerializeMap::serialize_key(&mut self.0, key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeMap::serialize_value(&mut self.0, value)
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(&mut self, key: &K, value: &V) -> Result {
        ser::SerializeMap::serialize_entry(&mut self.0, key, value)
    }

    fn end(self) -> Result {
        self.0.out.nest_end();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Check;
    use crate::wire::split_messages;

    static INNER: AttrSet = AttrSet {
        name: "inner",
        attrs: &[
            AttrSpec { id: 1, name: "name", ty: AttrType::NulString, check: Check::None, doc: "" },
            AttrSpec { id: 2, name: "value", ty: AttrType::S64, check: Check::None, doc: "" },
        ],
    };
    static OUTER: AttrSet = AttrSet {
        name: "outer",
        attrs: &[
            AttrSpec { id: 1, name: "id", ty: AttrType::U32, check: Check::None, doc: "" },
            AttrSpec { id: 2, name: "up", ty: AttrType::U8, check: Check::None, doc: "" },
            AttrSpec { id: 3, name: "mac", ty: AttrType::Binary, check: Check::None, doc: "" },
            AttrSpec { id: 4, name: "item", ty: AttrType::Nested(&INNER), check: Check::None, doc: "" },
            AttrSpec { id: 5, name: "present", ty: AttrType::Flag, check: Check::None, doc: "" },
            AttrSpec { id: 6, name: "group", ty: AttrType::U32, check: Check::None, doc: "" },
        ],
    };

    #[derive(serde::Serialize)]
    struct Item {
        name: &'static str,
        value: i64,
    }

    #[derive(serde::Serialize)]
    struct Outer {
        id: u32,
        up: bool,
        #[serde(with = "serde_bytes_like")]
        mac: [u8; 2],
        #[serde(skip_serializing_if = "Option::is_none")]
        absent: Option<u32>,
        item: Vec<Item>,
        present: bool,
        group: Vec<u32>,
    }

    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(value: &[u8; 2], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(value)
        }
    }

    fn attrs_of(build: impl FnOnce(&mut MessageBuilder)) -> Vec<(u16, Vec<u8>)> {
        let mut b = MessageBuilder::genl(0x20, 0, 1, 0, 1, 1);
        build(&mut b);
        let bytes = b.finish();
        let message = split_messages(&bytes).next().unwrap();
        message.genl_attrs(0).map(|a| (a.raw_type, a.payload.to_vec())).collect()
    }

    #[test]
    fn fields_become_the_sets_attributes_in_field_order() {
        let value = Outer {
            id: 7,
            up: true,
            mac: [0xaa, 0xbb],
            absent: None,
            item: vec![Item { name: "a", value: -1 }, Item { name: "b", value: 2 }],
            present: true,
            group: vec![3, 4],
        };
        let attrs = attrs_of(|b| encode(&OUTER, &value, b).unwrap());
        let kinds: Vec<u16> = attrs.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [1, 2, 3, 4 | 0x8000, 4 | 0x8000, 5, 6, 6]);
        assert_eq!(attrs[0].1, 7u32.to_ne_bytes());
        assert_eq!(attrs[1].1, [1]);
        assert_eq!(attrs[2].1, [0xaa, 0xbb]);
        let mut nested = MessageBuilder::new(0, 0, 0, 0);
        nested.put_str(1, "a").put_i64(2, -1);
        assert_eq!(attrs[3].1, nested.finish()[16..]);
        assert!(attrs[5].1.is_empty(), "a flag has no payload");
        assert_eq!(attrs[7].1, 4u32.to_ne_bytes());
    }

    #[test]
    fn fields_in_any_order_find_their_attributes() {
        let mut map = std::collections::BTreeMap::new();
        map.insert("up", 1u8);
        map.insert("id", 0u8);
        let mut b = MessageBuilder::new(0, 0, 0, 0);
        let err = encode(&OUTER, &map, &mut b).unwrap_err();
        assert_eq!(err.to_string(), "attribute `id` is u32, not a Rust u8", "maps are looked up by key too");
        #[derive(serde::Serialize)]
        struct Reordered {
            group: u32,
            id: u32,
            present: bool,
        }
        let attrs = attrs_of(|b| encode(&OUTER, &Reordered { group: 9, id: 8, present: false }, b).unwrap());
        let kinds: Vec<u16> = attrs.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [6, 1], "a false flag is absent");
    }

    #[test]
    fn a_type_that_is_not_the_specs_is_refused_by_name() {
        #[derive(serde::Serialize)]
        struct WrongWidth {
            id: u64,
        }
        #[derive(serde::Serialize)]
        struct Unknown {
            colour: u32,
        }
        let mut b = MessageBuilder::new(0, 0, 0, 0);
        assert_eq!(
            encode(&OUTER, &WrongWidth { id: 1 }, &mut b).unwrap_err().to_string(),
            "attribute `id` is u32, not a Rust u64"
        );
        assert_eq!(
            encode(&OUTER, &Unknown { colour: 1 }, &mut b).unwrap_err().to_string(),
            "the `outer` set has no attribute `colour`"
        );
        assert_eq!(
            encode(&OUTER, &5u32, &mut b).unwrap_err().to_string(),
            "the `outer` set takes a struct or map, not a u32"
        );
    }
}
