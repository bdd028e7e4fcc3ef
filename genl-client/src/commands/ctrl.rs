//! `ctrl list|get`: text output byte for byte like iproute2's `genl ctrl`,
//! so the two can be compared directly.

use super::Output;
use crate::cli::CtrlCommand;
use crate::client::{Client, Target};
use crate::error::Result;
use simdev_protocol::ctrl::{FamilyInfo, FamilySelector};
use simdev_protocol::family::{GENL_ADMIN_PERM, GENL_CMD_CAP_DO, GENL_CMD_CAP_DUMP, GENL_CMD_CAP_HASPOL};
use std::fmt::Write;

pub fn run(target: Target, command: &CtrlCommand, output: Output) -> Result<()> {
    let mut client = Client::connect(target)?;
    let families = match command {
        CtrlCommand::List => client.list_families()?,
        CtrlCommand::Get { family } => vec![client.get_family(&FamilySelector::parse(family))?],
    };
    if output.json {
        match command {
            CtrlCommand::List => output.print_json(&families),
            CtrlCommand::Get { .. } => output.print_json(&families[0]),
        }
    } else {
        print!("{}", families.iter().map(format_family).collect::<String>());
    }
    Ok(())
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
