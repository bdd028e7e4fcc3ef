//! `ctrl list|get`: text output byte for byte like iproute2's `genl ctrl`,
//! so the two can be compared directly.

use super::Output;
use crate::cli::CtrlCommand;
use simdev_netlink::client::{Client, Target};
use simdev_netlink::error::{Error, Result};
use simdev_protocol::ctrl::{FamilyInfo, FamilySelector};
use simdev_protocol::family::{FamilySpec, GENL_ADMIN_PERM, GENL_CMD_CAP_DO, GENL_CMD_CAP_DUMP, GENL_CMD_CAP_HASPOL};
use simdev_protocol::policy::{policy_attr, AttrSet, AttrType};
use simdev_protocol::policy_dump::PolicyPart;
use std::fmt::Write;

pub fn run(target: Target, command: &CtrlCommand, output: Output) -> Result<()> {
    let mut client = Client::connect(target)?;
    let families = match command {
        CtrlCommand::List => client.list_families()?,
        CtrlCommand::Get { family } => vec![client.get_family(&FamilySelector::parse(family))?],
        CtrlCommand::Policy { family, args } => {
            let selector = FamilySelector::parse(family);
            let spec = known_spec(&mut client, &selector);
            let op = match args.as_slice() {
                [] => None,
                [word, value] if word == "op" => Some(op_number(spec, value)?),
                _ => return Err(Error::Usage("expected `op NAME|NUMBER`".into())),
            };
            let parts = client.get_policy(&selector, op)?;
            let names = spec.map(|spec| policy_names(spec, &parts)).unwrap_or_default();
            let json: Vec<_> = parts
                .iter()
                .zip(names.into_iter().map(Some).chain(std::iter::repeat(None)))
                .map(|((id, part), name)| {
                    let mut json = serde_json::json!({"family-id": id, "part": part});
                    if let Some(name) = name.flatten() {
                        json["name"] = name.into();
                    }
                    json
                })
                .collect();
            output.show(&json, || {
                print!("{}", parts.iter().map(|(id, p)| format_policy_part(*id, p)).collect::<String>())
            });
            return Ok(());
        }
    };
    if output.json {
        match command {
            CtrlCommand::List => output.print_json(&families),
            _ => output.print_json(&families[0]),
        }
    } else {
        print!("{}", families.iter().map(format_family).collect::<String>());
    }
    Ok(())
}

/// The families whose spec genl-client carries: what names their ops and
/// attributes.
const KNOWN_SPECS: [&FamilySpec; 2] = [&simdev_protocol::ctrl::CTRL_FAMILY, &simdev_protocol::simdev::FAMILY];

/// The spec of the family `selector` names, if genl-client knows it (a
/// family given by id is asked for its name).
fn known_spec(client: &mut Client, selector: &FamilySelector) -> Option<&'static FamilySpec> {
    let name = match selector {
        FamilySelector::Name(name) => name.clone(),
        FamilySelector::Id(_) => client.get_family(selector).ok()?.name,
    };
    KNOWN_SPECS.into_iter().find(|spec| spec.name == name)
}

/// `op NAME|NUMBER`: a number, or an op name of a known family's spec.
fn op_number(spec: Option<&FamilySpec>, value: &str) -> Result<u32> {
    if let Ok(number) = value.parse() {
        return Ok(number);
    }
    match spec {
        Some(spec) => spec.command_by_name(value).map(|c| c.id.into()).ok_or_else(|| {
            let names: Vec<&str> = spec.commands.iter().map(|c| c.name).collect();
            Error::Usage(format!("{} has no op `{value}`; its ops: {}", spec.name, names.join(", ")))
        }),
        None => Err(Error::Usage(format!(
            "op `{value}` is not a command number, and this family's op names are unknown here"
        ))),
    }
}

/// The name of each part of a policy dump, from the family's spec: the op
/// of an op part, the attribute of an attribute part. Policy indexes are
/// matched to attribute sets through the op parts (which policy each op
/// uses) and nested attributes (which index their set got).
fn policy_names(spec: &FamilySpec, parts: &[(u16, PolicyPart)]) -> Vec<Option<String>> {
    // Dump-only ops are keyed 0 (the kernel's quirk): known only when the
    // family has one of them.
    let op_of = |cmd: u32| {
        spec.commands.iter().find(|c| u32::from(c.id) == cmd && c.has_do).or_else(|| {
            let dump_only: Vec<_> = spec.commands.iter().filter(|c| !c.has_do).collect();
            (cmd == 0 && dump_only.len() == 1).then(|| dump_only[0])
        })
    };
    let mut sets: std::collections::HashMap<u32, &'static AttrSet> = std::collections::HashMap::new();
    for (_, part) in parts {
        if let PolicyPart::Op { cmd, do_policy, dump_policy } = part {
            let Some(command) = op_of(*cmd) else { continue };
            for (index, policy) in [(do_policy, command.do_policy), (dump_policy, command.dump_policy)] {
                if let (Some(index), Some(policy)) = (index, policy) {
                    sets.insert(*index, policy);
                }
            }
        }
    }
    parts
        .iter()
        .map(|(_, part)| match part {
            PolicyPart::Op { cmd, .. } => op_of(*cmd).map(|c| c.name.to_string()),
            PolicyPart::Attr { policy, attr, properties } => {
                let attr_spec = sets.get(policy)?.get(*attr as u16)?;
                let nested_index =
                    properties.iter().find(|(k, _)| *k == policy_attr::POLICY_IDX).map(|(_, v)| *v as u32);
                if let (AttrType::Nested(inner), Some(index)) = (attr_spec.ty, nested_index) {
                    sets.entry(index).or_insert(inner);
                }
                Some(attr_spec.name.to_string())
            }
        })
        .collect()
}

/// One family as `genl ctrl list` prints it (iproute2 `print_ctrl`),
/// including its trailing spaces. Capabilities are printed only for
/// families of version 2 or later, as iproute2 does.
pub fn format_family(family: &FamilyInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nName: {}", family.name);
    let _ = writeln!(
        out,
        "\tID: {:#x}  Version: {:#x}  header size: {}  max attribs: {} ",
        family.id, family.version, family.hdrsize, family.maxattr
    );
    if !family.ops.is_empty() {
        out.push_str("\tcommands supported: \n");
        for (i, op) in family.ops.iter().enumerate() {
            let _ = write!(out, "\t\t#{}:  ID-{:#x} ", i + 1, op.id);
            if family.version >= 2 {
                out.push_str(&format_op_flags(op.flags));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    if !family.mcast_groups.is_empty() {
        out.push_str("\tmulticast groups:\n");
        for (i, group) in family.mcast_groups.iter().enumerate() {
            let _ = writeln!(out, "\t\t#{}:  ID-{:#x}  name: {} ", i + 1, group.id, group.name);
        }
        out.push('\n');
    }
    out
}

fn format_op_flags(flags: u32) -> String {
    let mut out = format!("\n\t\tCapabilities ({flags:#x}):\n ");
    if flags == 0 {
        out.push('\n');
        return out;
    }
    out.push_str("\t\t ");
    for (bit, text) in [
        (GENL_ADMIN_PERM, " requires admin permission;"),
        (GENL_CMD_CAP_DO, " can doit;"),
        (GENL_CMD_CAP_DUMP, " can dumpit;"),
        (GENL_CMD_CAP_HASPOL, " has policy"),
    ] {
        if flags & bit != 0 {
            out.push_str(text);
        }
    }
    out.push('\n');
    out
}

/// One policy dump message as `genl ctrl policy` prints it.
pub fn format_policy_part(family_id: u16, part: &PolicyPart) -> String {
    match part {
        PolicyPart::Op { cmd, do_policy, dump_policy } => {
            let mut line = format!("\tID: {family_id:#x}  op {cmd} policies:");
            if let Some(index) = do_policy {
                line.push_str(&format!(" do={index}"));
            }
            if let Some(index) = dump_policy {
                line.push_str(&format!(" dump={index}"));
            }
            line + "\n"
        }
        PolicyPart::Attr { policy, attr, properties } => {
            let get = |kind| properties.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v);
            let type_name = match get(policy_attr::TYPE) {
                Some(1) => "FLAG",
                Some(2) => "U8",
                Some(3) => "U16",
                Some(4) => "U32",
                Some(5) => "U64",
                Some(6) => "S8",
                Some(7) => "S16",
                Some(8) => "S32",
                Some(9) => "S64",
                Some(10) => "BINARY",
                Some(11) => "STRING",
                Some(12) => "NUL_STRING",
                Some(13) => "NESTED",
                Some(14) => "NESTED_ARRAY",
                Some(15) => "BITFIELD32",
                _ => "unknown",
            };
            let mut line = format!("\tID: {family_id:#x}  policy[{policy}]:attr[{attr}]: type={type_name}");
            if let (Some(min), Some(max)) = (get(policy_attr::MIN_VALUE_U), get(policy_attr::MAX_VALUE_U)) {
                line.push_str(&format!(" range:[{min},{max}]"));
            }
            if let (Some(min), Some(max)) = (get(policy_attr::MIN_VALUE_S), get(policy_attr::MAX_VALUE_S)) {
                line.push_str(&format!(" range:[{},{}]", min as i64, max as i64));
            }
            if let Some(min) = get(policy_attr::MIN_LENGTH) {
                line.push_str(&format!(" min len:{min}"));
            }
            if let Some(max) = get(policy_attr::MAX_LENGTH) {
                line.push_str(&format!(" max len:{max}"));
            }
            if let (Some(index), Some(max)) = (get(policy_attr::POLICY_IDX), get(policy_attr::POLICY_MAXTYPE)) {
                line.push_str(&format!(" policy:{index} maxattr:{max}"));
            }
            if let Some(mask) = get(policy_attr::BITFIELD32_MASK) {
                line.push_str(&format!(" mask:{mask:#x}"));
            }
            // Like iproute2, the text leaves out NL_POLICY_TYPE_ATTR_MASK (JSON has it).
            line + "\n"
        }
    }
}
