//! The reference of the simdev family in `docs/family.md` is generated
//! from its spec, `protocol/simdev.yaml`: this test renders it and fails
//! when the document holds anything else between its markers.
//! `SIMDEV_UPDATE_DOCS=1` writes the rendered text into it instead.

use simdev_protocol::simdev::SPEC_YAML;
use simdev_ynl::{AttrSet, AttrType, Family, Permission};
use std::fmt::Write;

const BEGIN: &str = "<!-- generated from protocol/simdev.yaml by tests/family_reference.rs: begin -->\n";
const END: &str = "<!-- generated: end -->\n";

fn code_list(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// `u32 68..=65535`, `string ≤ 15`, `nest port`, `u8 enum oper-state`.
fn type_text(family: &Family, set: &AttrSet, name: &str) -> String {
    let attr = set.attr(name).expect("a listed attribute");
    let checks = &attr.checks;
    let mut text = attr.ty.name().to_string();
    if attr.ty == AttrType::Nest {
        text = format!("nest `{}`", attr.nested.as_deref().unwrap_or("?"));
    }
    if let Some(name) = &attr.enumeration {
        let entries: Vec<&str> =
            family.enumeration(name).map(|e| e.entries.iter().map(|x| x.name.as_str()).collect()).unwrap_or_default();
        text.push_str(&format!(" enum `{name}` ({})", entries.join(", ")));
    }
    match (checks.min, checks.max) {
        (Some(min), Some(max)) => text.push_str(&format!(" {min}..={max}")),
        (Some(min), None) => text.push_str(&format!(" ≥ {min}")),
        (None, Some(max)) => text.push_str(&format!(" ≤ {max}")),
        (None, None) => {}
    }
    if let Some(len) = checks.max_len {
        text.push_str(&format!(" ≤ {len} bytes"));
    }
    if let Some(len) = checks.exact_len {
        text.push_str(&format!(" of {len} bytes"));
    }
    if attr.multi_attr {
        text.push_str(", repeated");
    }
    text
}

fn render(family: &Family) -> String {
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "| command | id | do | dump | admin | request | reply | what it does |").unwrap();
    writeln!(w, "|---|---|---|---|---|---|---|---|").unwrap();
    for op in family.ops.iter().filter(|op| op.is_call()) {
        let mode_list = |request: bool| -> String {
            let lists: Vec<String> = [&op.do_, &op.dump]
                .into_iter()
                .flatten()
                .map(|mode| {
                    let message = if request { &mode.request } else { &mode.reply };
                    message.as_ref().map_or("ACK".to_string(), |m| code_list(&m.attributes))
                })
                .collect();
            let mut unique = lists.clone();
            unique.dedup();
            match unique.as_slice() {
                [one] => one.clone(),
                _ => format!("do: {}; dump: {}", lists[0], lists[1]),
            }
        };
        let (doc, requires) = op.requires().expect("the spec's Requires lines parse");
        let mut request = mode_list(true);
        if !requires.is_empty() {
            // `a|b` would end the table cell.
            let list: Vec<String> = requires.iter().map(|alternatives| alternatives.join(" or ")).collect();
            request.push_str(&format!(" (required: {})", list.join(", ")));
        }
        let yes = |b: bool| if b { "yes" } else { "" };
        writeln!(
            w,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            op.name,
            op.request_value.unwrap_or_default(),
            yes(op.do_.is_some()),
            yes(op.dump.is_some()),
            yes(op.permission != Permission::Anyone),
            request,
            mode_list(false),
            doc.split_whitespace().collect::<Vec<_>>().join(" "),
        )
        .unwrap();
    }
    writeln!(w, "\n| notification | id | group | carries | when |").unwrap();
    writeln!(w, "|---|---|---|---|---|").unwrap();
    for op in family.ops.iter().filter(|op| op.is_notification()) {
        let carries = family.notification_attrs(op).map(|m| code_list(&m.attributes)).unwrap_or_default();
        let carries = match &op.notify {
            Some(notified) => format!("what `{notified}` answers: {carries}"),
            None => carries,
        };
        writeln!(
            w,
            "| `{}` | {} | `{}` | {} | {} |",
            op.name,
            op.reply_value.unwrap_or_default(),
            op.mcgrp.as_deref().unwrap_or(""),
            carries,
            op.doc
        )
        .unwrap();
    }
    writeln!(w, "\nAttribute sets (number, name, type and checks):\n").unwrap();
    for set in &family.attr_sets {
        let attrs: Vec<String> =
            set.attrs.iter().map(|a| format!("{} `{}` {}", a.value, a.name, type_text(family, set, &a.name))).collect();
        writeln!(w, "- `{}`: {}.", set.name, attrs.join("; ")).unwrap();
    }
    out
}

#[test]
fn the_family_reference_is_the_specs() {
    let family = Family::from_yaml(SPEC_YAML).unwrap();
    let rendered = render(&family);
    simdev_tests::check_generated_section("docs/family.md", BEGIN, END, &rendered, "family_reference");
}
