//! How typed values look in the spec's JSON (what the spec-driven decoder
//! makes of a message, and what `genl-client -j` prints): `u8` flags as 0
//! or 1, MACs as `aa:bb:cc:dd:ee:ff` (the `mac` display hint), enums by
//! their entry names. Used as `#[serde(with = ...)]` on the typed messages,
//! so they convert to and from that JSON field for field. Written to the
//! wire ([`crate::encode`], not human-readable) they are the wire values:
//! the address's bytes, the entry's number.

use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

/// A `u8` attribute that is 0 or 1.
pub mod bool01 {
    use super::*;

    pub fn serialize<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8((*value).into())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => Ok(b),
            serde_json::Value::Number(n) => Ok(n.as_u64() != Some(0)),
            other => Err(D::Error::custom(format!("0 or 1, not {other}"))),
        }
    }
}

/// A MAC address (`binary`, display hint `mac`).
pub mod mac {
    use super::*;
    use crate::simdev::Mac;

    pub fn serialize<S: Serializer>(value: &Mac, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&crate::simdev::format_mac(value))
        } else {
            s.serialize_bytes(value)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Mac, D::Error> {
        let text = String::deserialize(d)?;
        crate::simdev::parse_mac(&text).ok_or_else(|| D::Error::custom(format!("`{text}` is not a MAC address")))
    }
}

/// An enum of the spec, by entry name (a number is taken too).
fn entry_value<'de, D: Deserializer<'de>>(entries: &[(u64, &str)], d: D) -> Result<u8, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(name) => entries
            .iter()
            .find(|(_, entry)| *entry == name)
            .map(|(value, _)| *value as u8)
            .ok_or_else(|| D::Error::custom(format!("`{name}` is not an entry"))),
        serde_json::Value::Number(n) => n.as_u64().map(|v| v as u8).ok_or_else(|| D::Error::custom("a small number")),
        other => Err(D::Error::custom(format!("an entry name, not {other}"))),
    }
}

fn entry_name<S: Serializer>(entries: &[(u64, &str)], value: u8, s: S) -> Result<S::Ok, S::Error> {
    match entries.iter().find(|(v, _)| *v == u64::from(value)) {
        Some((_, name)) if s.is_human_readable() => s.serialize_str(name),
        _ => s.serialize_u8(value),
    }
}

/// The `oper-state` enum.
pub mod oper_state {
    use super::*;
    use crate::simdev::{oper_state::ENTRIES, OperState};

    pub fn serialize<S: Serializer>(value: &OperState, s: S) -> Result<S::Ok, S::Error> {
        entry_name(ENTRIES, value.0, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OperState, D::Error> {
        entry_value(ENTRIES, d).map(OperState)
    }
}

/// The `led-state` enum.
pub mod led_state {
    use super::*;
    use crate::simdev::led_state::ENTRIES;

    pub fn serialize<S: Serializer>(value: &u8, s: S) -> Result<S::Ok, S::Error> {
        entry_name(ENTRIES, *value, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        entry_value(ENTRIES, d)
    }
}
