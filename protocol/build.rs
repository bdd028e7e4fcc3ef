//! Generates the simdev family's Rust definitions from `simdev.yaml`, its
//! YNL spec: command and attribute numbers, multicast group names, enums,
//! defines and limits, the attribute sets as kernel policies, the per-op
//! request policies and the family table. The rules that turn spec entries
//! into policies are the kernel's (`tools/net/ynl/ynl-gen-c.py`), so the
//! simulator validates what a kernel driver generated from the same spec
//! would validate; what simdev's validator does not implement is refused
//! here, at build time, rather than half-supported.

use simdev_ynl::{Attr, AttrSet, AttrType, ConstValue, Family, Op, Permission};
use std::fmt::Write as _;

const SPEC: &str = "simdev.yaml";

fn main() {
    println!("cargo::rerun-if-changed={SPEC}");
    let text = std::fs::read_to_string(SPEC).unwrap_or_else(|e| fail(&format!("cannot read {SPEC}: {e}")));
    let family = Family::from_yaml(&text).unwrap_or_else(|e| fail(&format!("{SPEC}: {e}")));
    let code = generate(&family).unwrap_or_else(|e| fail(&format!("{SPEC}: {e}")));
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("simdev_family.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", out.display())));
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}

/// `dev-get` -> `DEV_GET`.
fn upper(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

/// `fw-status` -> `fw_status`.
fn lower(name: &str) -> String {
    name.replace('-', "_")
}

fn one_line(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An op's doc without its `Requires:` line (one line), and the
/// attributes that line names.
fn split_requires(op: &Op) -> Result<(String, Vec<Vec<String>>), String> {
    let (doc, required) = op.requires()?;
    Ok((one_line(&doc), required))
}

fn set_static(name: &str) -> String {
    format!("{}_ATTRS", upper(name))
}

/// The `AttrSpec` literal of one attribute: its kernel policy.
fn attr_spec(family: &Family, set: &AttrSet, attr: &Attr) -> Result<String, String> {
    let here = format!("{}.{}", set.name, attr.name);
    let checks = &attr.checks;
    let unsupported = |what: &str| Err(format!("{here}: {what} is not supported by simdev's validator"));
    if checks.flags_mask.is_some() || attr.enum_as_flags {
        return unsupported("a flags mask");
    }
    let int_check = |signed: bool| -> Result<String, String> {
        let (type_min, type_max) = attr.ty.int_range().expect("an integer type");
        let (mut min, mut max) = (checks.min, checks.max);
        if let Some(name) = &attr.enumeration {
            let enumeration = family.enumeration(name).expect("checked by the loader");
            if enumeration.flags {
                return unsupported("a flags enum");
            }
            // ynl-gen-c: an enum bounds the value unless checks say more.
            let (low, high) = enumeration.value_range();
            if min.is_none() && (low != 0 || signed) {
                min = Some(low.into());
            }
            max = max.or(Some(high.into()));
        }
        if min.is_none() && max.is_none() {
            return Ok("Check::None".into());
        }
        let (min, max) = (min.unwrap_or(type_min), max.unwrap_or(type_max));
        if min < type_min || max > type_max || min > max {
            return Err(format!("{here}: limits {min}..={max} do not fit a {}", attr.ty.name()));
        }
        Ok(if signed {
            format!("Check::SignedRange {{ min: {min}, max: {max} }}")
        } else {
            format!("Check::Range {{ min: {min}, max: {max} }}")
        })
    };
    let (ty, check) = match attr.ty {
        AttrType::Flag => ("AttrType::Flag".to_string(), "Check::None".to_string()),
        AttrType::U8 => ("AttrType::U8".into(), int_check(false)?),
        AttrType::U16 => ("AttrType::U16".into(), int_check(false)?),
        AttrType::U32 => ("AttrType::U32".into(), int_check(false)?),
        AttrType::U64 => ("AttrType::U64".into(), int_check(false)?),
        AttrType::S64 => ("AttrType::S64".into(), int_check(true)?),
        AttrType::String => {
            if checks.exact_len.is_some() || checks.min_len.is_some() {
                return unsupported("a string length other than max-len");
            }
            let ty = if checks.unterminated_ok { "AttrType::String" } else { "AttrType::NulString" };
            let check = checks.max_len.map_or("Check::None".to_string(), |len| format!("Check::MaxLen({len})"));
            (ty.into(), check)
        }
        AttrType::Binary => {
            // ynl-gen-c knows exact-len or no check for binaries.
            let check = match (checks.exact_len, checks.min_len, checks.max_len) {
                (Some(len), None, None) => format!("Check::ExactLen({len})"),
                (None, None, None) => "Check::None".into(),
                _ => return unsupported("a binary length check other than exact-len"),
            };
            ("AttrType::Binary".into(), check)
        }
        AttrType::Nest => {
            let nested = attr.nested.as_deref().expect("checked by the loader");
            (format!("AttrType::Nested(&{})", set_static(nested)), "Check::None".into())
        }
        other => return unsupported(&format!("type {}", other.name())),
    };
    let doc = format!("{:?}", one_line(&attr.doc));
    Ok(format!("AttrSpec {{ id: {}, name: {:?}, ty: {ty}, check: {check}, doc: {doc} }}", attr.value, attr.name))
}

fn generate(family: &Family) -> Result<String, String> {
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "// Generated by protocol/build.rs from protocol/{SPEC}. Do not edit.").unwrap();
    writeln!(w, "pub const FAMILY_NAME: &str = {:?};", family.name).unwrap();
    writeln!(w, "pub const FAMILY_VERSION: u8 = {};", family.version).unwrap();
    writeln!(w, "/// The spec itself, as the kernel's YNL tools read it.").unwrap();
    writeln!(w, "pub const SPEC_YAML: &str = include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{SPEC}\"));")
        .unwrap();

    writeln!(w, "\n/// Command numbers: operations, then notifications.\npub mod cmd {{").unwrap();
    for op in &family.ops {
        let value = op.request_value.or(op.reply_value).ok_or_else(|| format!("{}: no command number", op.name))?;
        writeln!(w, "    /// {}", one_line(split_requires(op)?.0.as_str())).unwrap();
        writeln!(w, "    pub const {}: u8 = {value};", upper(&op.name)).unwrap();
    }
    writeln!(w, "}}").unwrap();

    for group in &family.mcast_groups {
        writeln!(w, "pub const GROUP_{}: &str = {:?};", upper(&group.name), group.name).unwrap();
    }
    writeln!(
        w,
        "pub const GROUPS: &[&str] = &[{}];",
        family.mcast_groups.iter().map(|g| format!("{:?}", g.name)).collect::<Vec<_>>().join(", ")
    )
    .unwrap();

    for constant in &family.consts {
        writeln!(w, "/// {}", one_line(&constant.doc)).unwrap();
        match &constant.value {
            ConstValue::Int(v) if *v >= 0 => writeln!(w, "pub const {}: usize = {v};", upper(&constant.name)),
            ConstValue::Int(v) => writeln!(w, "pub const {}: i64 = {v};", upper(&constant.name)),
            ConstValue::Str(s) => writeln!(w, "pub const {}: &str = {s:?};", upper(&constant.name)),
        }
        .unwrap();
    }

    for enumeration in &family.enums {
        writeln!(w, "\n/// {}\npub mod {} {{", one_line(&enumeration.doc), lower(&enumeration.name)).unwrap();
        for entry in &enumeration.entries {
            writeln!(w, "    pub const {}: u64 = {};", upper(&entry.name), enumeration.user_value(entry)).unwrap();
        }
        let names: Vec<String> =
            enumeration.entries.iter().map(|e| format!("({}, {:?})", enumeration.user_value(e), e.name)).collect();
        writeln!(
            w,
            "    /// Every entry: its value and name.\n    pub const ENTRIES: &[(u64, &str)] = &[{}];",
            names.join(", ")
        )
        .unwrap();
        writeln!(w, "}}").unwrap();
    }

    for set in &family.attr_sets {
        writeln!(w, "\n/// Attribute numbers of the `{}` set.\npub mod {}_attr {{", set.name, lower(&set.name))
            .unwrap();
        for attr in &set.attrs {
            writeln!(w, "    pub const {}: u16 = {};", upper(&attr.name), attr.value).unwrap();
        }
        writeln!(w, "}}").unwrap();
        let limited: Vec<&Attr> =
            set.attrs.iter().filter(|a| a.ty.is_int() && (a.checks.min.is_some() || a.checks.max.is_some())).collect();
        if !limited.is_empty() {
            writeln!(w, "/// The spec's limits on integer attributes of the `{}` set (min, max).", set.name).unwrap();
            writeln!(w, "pub mod {}_limits {{", lower(&set.name)).unwrap();
            for attr in limited {
                let (type_min, type_max) = attr.ty.int_range().expect("an integer");
                let (min, max) = (attr.checks.min.unwrap_or(type_min), attr.checks.max.unwrap_or(type_max));
                let rust = if attr.ty.is_signed() { "i64" } else { "u64" };
                writeln!(w, "    pub const {}: ({rust}, {rust}) = ({min}, {max});", upper(&attr.name)).unwrap();
            }
            writeln!(w, "}}").unwrap();
        }
    }

    for set in &family.attr_sets {
        writeln!(
            w,
            "\npub static {}: AttrSet = AttrSet {{\n    name: {:?},\n    attrs: &[",
            set_static(&set.name),
            set.name
        )
        .unwrap();
        for attr in &set.attrs {
            writeln!(w, "        {},", attr_spec(family, set, attr)?).unwrap();
        }
        writeln!(w, "    ],\n}};").unwrap();
    }

    // Per-op request policies, named and shared as ynl-gen-c shares them:
    // one per mode that has a request, a separate do and dump policy only
    // when both modes have one; a mode without a request gets the kernel's
    // reject-all policy.
    let mut commands = String::new();
    for op in family.ops.iter().filter(|op| op.is_call()) {
        let set = family.op_attr_set(op).ok_or_else(|| format!("{}: an operation needs an attribute-set", op.name))?;
        let dual = [&op.do_, &op.dump].iter().all(|m| m.as_ref().is_some_and(|m| m.request.is_some()));
        let mut policy_of = |mode: &Option<simdev_ynl::Mode>, mode_name: &str| -> Result<String, String> {
            let Some(mode) = mode else { return Ok("None".into()) };
            let Some(request) = &mode.request else { return Ok("Some(&crate::policy::REJECT_ALL)".into()) };
            let name = if dual {
                format!("{}_{}_POLICY", upper(&op.name), upper(mode_name))
            } else {
                format!("{}_POLICY", upper(&op.name))
            };
            if !w.contains(&format!("static {name}:")) {
                let mut attrs: Vec<&Attr> =
                    request.attributes.iter().map(|a| set.attr(a).expect("checked by the loader")).collect();
                attrs.sort_by_key(|a| a.value);
                writeln!(w, "\n/// `{}` {mode_name} requests.\npub static {name}: AttrSet = AttrSet {{", op.name)
                    .unwrap();
                writeln!(w, "    name: \"{} {mode_name}\",\n    attrs: &[", op.name).unwrap();
                for attr in attrs {
                    writeln!(w, "        {},", attr_spec(family, set, attr)?).unwrap();
                }
                writeln!(w, "    ],\n}};").unwrap();
            }
            Ok(format!("Some(&{name})"))
        };
        let do_policy = policy_of(&op.do_, "do")?;
        let dump_policy = policy_of(&op.dump, "dump")?;
        let (doc, required) = split_requires(op)?;
        let request_attrs = op.do_.as_ref().and_then(|m| m.request.as_ref()).map(|r| &r.attributes);
        let mut required_code = Vec::new();
        for alternatives in &required {
            let mut values = Vec::new();
            for name in alternatives {
                if !request_attrs.is_some_and(|list| list.contains(name)) {
                    return Err(format!("{}: requires {name:?}, which its do request does not list", op.name));
                }
                values.push(set.attr(name).expect("listed").value.to_string());
            }
            required_code.push(format!("&[{}]", values.join(", ")));
        }
        writeln!(
            commands,
            "        CommandSpec {{ id: cmd::{}, name: {:?}, has_do: {}, has_dump: {}, admin: {}, do_policy: {do_policy}, \
             dump_policy: {dump_policy}, required: &[{}], doc: {doc:?} }},",
            upper(&op.name),
            op.name,
            op.do_.is_some(),
            op.dump.is_some(),
            op.permission != Permission::Anyone,
            required_code.join(", "),
        )
        .unwrap();
    }
    let mut notifications = String::new();
    for op in family.ops.iter().filter(|op| op.is_notification()) {
        let group = op.mcgrp.as_deref().ok_or_else(|| format!("{}: a notification needs an mcgrp", op.name))?;
        writeln!(
            notifications,
            "        NotificationSpec {{ id: cmd::{}, name: {:?}, group: {group:?}, doc: {:?} }},",
            upper(&op.name),
            op.name,
            one_line(&op.doc)
        )
        .unwrap();
    }
    writeln!(w, "\npub static FAMILY: FamilySpec = FamilySpec {{").unwrap();
    writeln!(w, "    name: FAMILY_NAME,\n    version: FAMILY_VERSION,\n    hdrsize: 0,\n    resv_start_op: 0,")
        .unwrap();
    writeln!(w, "    policy: None,\n    commands: &[\n{commands}    ],").unwrap();
    writeln!(w, "    notifications: &[\n{notifications}    ],\n    mcast_groups: GROUPS,\n}};").unwrap();
    write_calls_macro(w, family);
    Ok(out)
}

/// Where the simulator's handler of an operation lives, by name: `a-b-c`
/// is function `c` of module `a_b` (`dev-led-set` -> `dev_led::set`), a
/// one-word `w` is `w::run`; a dump is the module's `DUMP`.
fn handler_path(op: &Op) -> (String, String) {
    match op.name.rsplit_once('-') {
        Some((object, verb)) => (lower(object), lower(verb)),
        None => (lower(&op.name), "run".to_string()),
    }
}

/// `simdev_calls!(m)` calls `m!` with every operation that has a do or a
/// dump, `[CMD, module, function, kind]` (kind `do_only`, `dump_only` or
/// `do_and_dump`): the simulator builds its dispatch from it, so an
/// operation of the spec without its handler does not compile.
fn write_calls_macro(w: &mut String, family: &Family) {
    writeln!(w, "\n/// Every operation with a do or a dump, for the simulator's dispatch:").unwrap();
    writeln!(w, "/// `[CMD, module, function, do_only | dump_only | do_and_dump]`.").unwrap();
    writeln!(w, "#[macro_export]\nmacro_rules! simdev_calls {{\n    ($m:ident) => {{\n        $m! {{").unwrap();
    for op in family.ops.iter().filter(|op| op.is_call()) {
        let (module, function) = handler_path(op);
        let kind = match (op.do_.is_some(), op.dump.is_some()) {
            (true, true) => "do_and_dump",
            (true, false) => "do_only",
            _ => "dump_only",
        };
        writeln!(w, "            [{}, {module}, {function}, {kind}],", upper(&op.name)).unwrap();
    }
    writeln!(w, "        }}\n    }};\n}}").unwrap();
}
