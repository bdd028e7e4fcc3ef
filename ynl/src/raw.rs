//! The spec as written: serde structures mirroring the kernel's schemas
//! (`Documentation/netlink/genetlink*.yaml`), before any value is worked
//! out. Keys the model does not use are ignored here; whether a spec obeys
//! its schema is the kernel's JSON schema's business (the test suite runs
//! it), not this reader's.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Spec {
    pub name: String,
    #[serde(default)]
    pub doc: String,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    pub kernel_policy: Option<String>,
    #[serde(default)]
    pub definitions: Vec<Definition>,
    #[serde(default)]
    pub attribute_sets: Vec<AttributeSet>,
    #[serde(default)]
    pub sub_messages: Vec<SubMessage>,
    pub operations: Operations,
    #[serde(default)]
    pub mcast_groups: Option<McastGroups>,
}

/// A number, or a name standing for one (a define, a limit such as
/// `u32-max`, or `name - 1`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NumberOrName {
    Number(i64),
    Name(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Definition {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub doc: String,
    #[serde(default)]
    pub value: Option<NumberOrName>,
    #[serde(default)]
    pub value_start: Option<NumberOrName>,
    #[serde(default)]
    pub entries: Vec<EnumEntry>,
    #[serde(default)]
    pub members: Vec<StructMember>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum EnumEntry {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        value: Option<i64>,
        #[serde(default)]
        doc: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StructMember {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub len: Option<NumberOrName>,
    #[serde(default)]
    pub byte_order: Option<String>,
    #[serde(default)]
    pub doc: String,
    #[serde(default, rename = "enum")]
    pub enumeration: Option<String>,
    #[serde(default)]
    pub display_hint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AttributeSet {
    pub name: String,
    #[serde(default)]
    pub doc: String,
    #[serde(default)]
    pub subset_of: Option<String>,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Attribute {
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub doc: String,
    #[serde(default)]
    pub value: Option<i64>,
    #[serde(default)]
    pub multi_attr: bool,
    #[serde(default)]
    pub nested_attributes: Option<String>,
    #[serde(default, rename = "enum")]
    pub enumeration: Option<String>,
    #[serde(default)]
    pub enum_as_flags: bool,
    #[serde(default)]
    pub checks: Checks,
    #[serde(default)]
    pub byte_order: Option<String>,
    #[serde(default)]
    pub display_hint: Option<String>,
    #[serde(default)]
    pub sub_type: Option<String>,
    #[serde(default, rename = "struct")]
    pub structure: Option<String>,
    #[serde(default)]
    pub sub_message: Option<String>,
    #[serde(default)]
    pub selector: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Checks {
    #[serde(default)]
    pub min: Option<NumberOrName>,
    #[serde(default)]
    pub max: Option<NumberOrName>,
    #[serde(default)]
    pub min_len: Option<NumberOrName>,
    #[serde(default)]
    pub max_len: Option<NumberOrName>,
    #[serde(default)]
    pub exact_len: Option<NumberOrName>,
    #[serde(default)]
    pub flags_mask: Option<String>,
    #[serde(default)]
    pub unterminated_ok: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SubMessage {
    pub name: String,
    #[serde(default)]
    pub formats: Vec<SubMessageFormat>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SubMessageFormat {
    pub value: String,
    #[serde(default)]
    pub fixed_header: Option<String>,
    #[serde(default)]
    pub attribute_set: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Operations {
    #[serde(default)]
    pub enum_model: Option<String>,
    #[serde(default)]
    pub fixed_header: Option<String>,
    pub list: Vec<Operation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Operation {
    pub name: String,
    #[serde(default)]
    pub doc: String,
    #[serde(default)]
    pub value: Option<i64>,
    #[serde(default)]
    pub attribute_set: Option<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub dont_validate: Vec<String>,
    #[serde(default)]
    pub fixed_header: Option<String>,
    #[serde(default, rename = "do")]
    pub do_: Option<Mode>,
    #[serde(default)]
    pub dump: Option<Mode>,
    #[serde(default)]
    pub notify: Option<String>,
    #[serde(default)]
    pub event: Option<Message>,
    #[serde(default)]
    pub mcgrp: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Mode {
    #[serde(default)]
    pub request: Option<Message>,
    #[serde(default)]
    pub reply: Option<Message>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub value: Option<i64>,
    #[serde(default)]
    pub attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct McastGroups {
    pub list: Vec<McastGroup>,
}

#[derive(Debug, Deserialize)]
pub struct McastGroup {
    pub name: String,
    #[serde(default)]
    pub value: Option<i64>,
}
