//! A served family's objects: each belongs to one attribute set and holds
//! attribute values in the form YNL's JSON gives them (names, enums by
//! name, nests as objects, multi-attrs as lists). Every value entering the
//! store, from the configuration or from a request, goes through the
//! family's codec and back, so two spellings of one value (an enum by name
//! or number) are one value, and what the spec refuses never gets in.

use simdev_protocol::wire::{MessageBuilder, NLMSG_HDRLEN};
use simdev_protocol::ynl::codec::Codec;
use simdev_ynl::Family;

pub type Attrs = serde_json::Map<String, serde_json::Value>;

/// One object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Its place in the store's order, never reused: a dump resumes after
    /// the last serial it sent, whatever was removed meanwhile.
    pub serial: u64,
    pub set: String,
    pub attrs: Attrs,
    /// Attributes a request names it by that its messages carry elsewhere
    /// (devlink's `param-name`, inside its `param` nest): matched, never
    /// sent. A driver's objects only ([`super::personality`]).
    pub keys: Attrs,
    /// Attributes its messages carry that the family's spec does not
    /// describe (devlink 6.12's parameter values, health messages), in
    /// wire form: sent after `attrs`. A driver's objects only.
    pub raw: Vec<u8>,
}

impl Object {
    /// Whether every attribute of `wanted` has the same value here.
    pub fn matches(&self, wanted: &Attrs) -> bool {
        wanted.iter().all(|(name, value)| self.attrs.get(name).or_else(|| self.keys.get(name)) == Some(value))
    }

    /// Its attributes among `names`, in its own order: the order they
    /// were written in (the configuration's, a request's), which is the
    /// order a driver fills them in (netdev's kernel driver does not
    /// follow its spec's reply list).
    pub fn select(&self, names: &[String]) -> Attrs {
        self.attrs.iter().filter(|(name, _)| names.contains(name)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

#[derive(Debug, Default)]
pub struct Store {
    objects: Vec<Object>,
    next_serial: u64,
}

/// `attrs` of set `set` as the codec reads them back once written: the
/// store's one form of each value. The members of the family's fixed
/// header are among them (after the attributes, as YNL's JSON has them;
/// zero where `attrs` lacks them).
pub fn canonical(family: &Family, set: &str, attrs: &Attrs) -> Result<Attrs, String> {
    let codec = Codec::new(family);
    let header = family.fixed_header.as_deref();
    let mut message = MessageBuilder::new(0, 0, 0, 0);
    codec.encode(set, header, &serde_json::Value::Object(attrs.clone()), &mut message).map_err(|e| e.to_string())?;
    let bytes = message.finish();
    let header_len = header.map_or(Ok(0), |h| codec.struct_size(h)).map_err(|e| e.to_string())?;
    let start = NLMSG_HDRLEN + header_len;
    let decoded =
        codec.decode(set, simdev_protocol::wire::Attrs::new(&bytes[start..], start)).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(mut map) = decoded.to_json() else { unreachable!("a set decodes to a dict") };
    if let Some(header) = header {
        let members = codec.decode_struct(header, &bytes[NLMSG_HDRLEN..start]).map_err(|e| e.to_string())?;
        if let serde_json::Value::Object(members) = members.to_json() {
            map.extend(members);
        }
    }
    Ok(map)
}

/// The names of the family's fixed-header members (`ovs_header`'s
/// `dp-ifindex`): an object holds them with its attributes, and its
/// messages carry them in the header.
pub fn header_members(family: &Family) -> Vec<&str> {
    let header = family.fixed_header.as_deref().and_then(|h| family.structure(h));
    header.map(|h| h.members.iter().filter(|m| m.ty != "pad").map(|m| m.name.as_str()).collect()).unwrap_or_default()
}

impl Store {
    /// Adds an object from a `[[family.object]]` table.
    pub fn insert_config(&mut self, family: &Family, table: &toml::Table) -> Result<(), String> {
        let Some(set) = table.get("set") else {
            return Err("an object needs `set`, the attribute set it belongs to".into());
        };
        let set = set.as_str().ok_or("`set` is the name of an attribute set")?;
        if family.attr_set(set).is_none() {
            let sets: Vec<&str> = family.attr_sets.iter().map(|s| s.name.as_str()).collect();
            return Err(format!("family {} has no attribute set `{set}` (its sets: {})", family.name, sets.join(", ")));
        }
        let mut attrs = Attrs::new();
        for (name, value) in table.iter().filter(|(name, _)| *name != "set") {
            attrs.insert(name.clone(), serde_json::to_value(value).map_err(|e| format!("{name}: {e}"))?);
        }
        let attrs = canonical(family, set, &attrs).map_err(|e| format!("set {set}: {e}"))?;
        self.insert(set, attrs);
        Ok(())
    }

    pub fn insert(&mut self, set: &str, attrs: Attrs) -> &Object {
        let object =
            Object { serial: self.next_serial, set: set.to_string(), attrs, keys: Attrs::new(), raw: Vec::new() };
        self.objects.push(object);
        self.next_serial += 1;
        self.objects.last().expect("just pushed")
    }

    /// The first object of `set` that matches `wanted`.
    pub fn find(&self, set: &str, wanted: &Attrs) -> Option<&Object> {
        self.objects.iter().find(|o| o.set == set && o.matches(wanted))
    }

    pub fn find_mut(&mut self, set: &str, wanted: &Attrs) -> Option<&mut Object> {
        self.objects.iter_mut().find(|o| o.set == set && o.matches(wanted))
    }

    /// Removes the first object of `set` that matches `wanted`.
    pub fn remove(&mut self, set: &str, wanted: &Attrs) -> Option<Object> {
        let index = self.objects.iter().position(|o| o.set == set && o.matches(wanted))?;
        Some(self.objects.remove(index))
    }

    /// The first object of `set` matching `wanted` from serial `from` on.
    pub fn next_from(&self, set: &str, wanted: &Attrs, from: u64) -> Option<&Object> {
        self.objects.iter().find(|o| o.serial >= from && o.set == set && o.matches(wanted))
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
name: t
protocol: genetlink
definitions:
  - { name: mode, type: enum, entries: [ manual, automatic ] }
attribute-sets:
  - name: s
    attributes:
      - { name: id, type: u32 }
      - { name: mode, type: u32, enum: mode }
      - { name: label, type: string }
operations:
  list:
    - { name: get, attribute-set: s, do: { request: { attributes: [ id ] }, reply: { attributes: [ id, mode ] } } }
"#;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn one_value_has_one_form_and_its_order_is_kept() {
        let family = Family::from_yaml(SPEC).unwrap();
        let mut store = Store::default();
        store.insert_config(&family, &table("set = 's'\nmode = 1\nid = 3")).unwrap();
        let object = store.find("s", &Attrs::new()).unwrap();
        assert_eq!(serde_json::Value::Object(object.attrs.clone()), serde_json::json!({"mode": "automatic", "id": 3}));
        assert_eq!(object.attrs.keys().collect::<Vec<_>>(), ["mode", "id"], "as written");
        let wanted = canonical(&family, "s", &serde_json::from_str(r#"{"mode": "automatic"}"#).unwrap()).unwrap();
        assert!(object.matches(&wanted), "a name and a number of one entry match");
    }

    #[test]
    fn what_the_spec_refuses_is_named() {
        let family = Family::from_yaml(SPEC).unwrap();
        let mut store = Store::default();
        let error = |text: &str| Store::default().insert_config(&family, &table(text)).unwrap_err();
        assert_eq!(error("id = 1"), "an object needs `set`, the attribute set it belongs to");
        assert_eq!(error("set = 'x'"), "family t has no attribute set `x` (its sets: s)");
        assert!(
            error("set = 's'\ncolour = 1").contains("has no attribute 'colour'"),
            "{}",
            error("set = 's'\ncolour = 1")
        );
        assert!(
            error("set = 's'\nmode = 'sideways'").contains("sideways"),
            "{}",
            error("set = 's'\nmode = 'sideways'")
        );
        assert!(store.insert_config(&family, &table("set = 's'\nid = 1")).is_ok());
        assert_eq!(store.len(), 1);
    }
}
