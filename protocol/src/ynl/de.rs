//! A decoded [`Value`] read as a typed message: exactly the serde form its
//! JSON has ([`Value::to_json`]: bytes as hex, sets as lists, dict keys as
//! strings), without building the JSON first. A dump of 100 000 devices
//! is read this way into `DevInfo`s.

use super::value::{hex, Key, Value};
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use std::borrow::Cow;

/// Why a value is not of the shape the type wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Error(message.to_string())
    }
}

impl<'de> IntoDeserializer<'de, Error> for &'de Value {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

fn key(key: &Key) -> Cow<'_, str> {
    match key {
        Key::Int(i) => Cow::Owned(i.to_string()),
        Key::Str(s) => Cow::Borrowed(s),
    }
}

impl<'de> de::Deserializer<'de> for &'de Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::None => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => match (u64::try_from(*i), i64::try_from(*i)) {
                (Ok(u), _) => visitor.visit_u64(u),
                (_, Ok(s)) => visitor.visit_i64(s),
                _ => visitor.visit_string(i.to_string()),
            },
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Bytes(bytes) => visitor.visit_string(hex(bytes)),
            Value::List(items) => visitor.visit_seq(SeqDeserializer::new(items.iter())),
            Value::Set(items) => visitor.visit_seq(SeqDeserializer::new(items.iter().map(String::as_str))),
            Value::Dict(entries) => visitor.visit_map(MapDeserializer::new(entries.iter().map(|(k, v)| (key(k), v)))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::None => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// An enum is its variant's name (the spec's enum entries are strings).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(Error(format!("an enum variant name, not {}", other.to_json()))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    enum State {
        Up,
        Down,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Sample {
        dev_id: u32,
        name: String,
        mac: String,
        missing: Option<u32>,
        flags: Vec<String>,
        state: State,
        ports: Vec<std::collections::BTreeMap<String, i64>>,
    }

    #[test]
    fn reads_what_the_json_form_says() {
        let s = |t: &str| Key::Str(t.into());
        let value = Value::Dict(vec![
            (s("dev-id"), Value::Int(7)),
            (s("name"), Value::Str("d0".into())),
            (s("mac"), Value::Bytes(vec![2, 0, 0xff])),
            (s("flags"), Value::Set(vec!["a".into(), "b".into()])),
            (s("state"), Value::Str("down".into())),
            (s("ports"), Value::List(vec![Value::Dict(vec![(Key::Int(1), Value::Int(-3))])])),
        ]);
        let direct = Sample::deserialize(&value).unwrap();
        let via_json: Sample = serde_json::from_value(value.to_json()).unwrap();
        assert_eq!(direct, via_json);
        assert_eq!(direct.mac, "0200ff");
        assert_eq!(direct.state, State::Down);
        assert_eq!(direct.ports[0]["1"], -3);
        let wrong = Value::Dict(vec![(s("dev-id"), Value::Str("x".into()))]);
        assert!(Sample::deserialize(&wrong).is_err());
    }
}
