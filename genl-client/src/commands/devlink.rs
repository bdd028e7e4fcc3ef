//! `devlink dev show|info|reload`: the devlink instances of the simulator
//! (its devices, when it serves devlink from the kernel's spec) or, with
//! `--kernel`, the kernel's, printed as the `devlink` tool prints them
//! (text and `-j`).

use super::Output;
use crate::cli::{DevlinkCommand, DevlinkDevCommand};
use serde_json::{json, Map, Value};
use simdev_netlink::client::Target;
use simdev_netlink::devlink::{Devlink, Handle, Info};
use simdev_netlink::error::Result;

pub fn run(target: Target, command: &DevlinkCommand, output: Output) -> Result<()> {
    let mut devlink = Devlink::new(simdev_netlink::client::Client::connect(target)?)?;
    let DevlinkCommand::Dev { command } = command;
    match command {
        DevlinkDevCommand::Show { handle } => {
            let handles = match handle {
                Some(text) => {
                    let wanted: Handle = text.parse()?;
                    vec![devlink.get(&wanted)?]
                }
                None => devlink.list()?,
            };
            let dev: Map<String, Value> = handles.iter().map(|h| (h.to_string(), json!({}))).collect();
            output.show(&json!({ "dev": dev }), || handles.iter().for_each(|h| println!("{h}")));
        }
        DevlinkDevCommand::Info { handle } => {
            let infos = match handle {
                Some(text) => vec![devlink.info(&text.parse()?)?],
                None => devlink.info_all()?,
            };
            let info: Map<String, Value> = infos.iter().map(|i| (i.handle.to_string(), info_json(i))).collect();
            output.show(&json!({ "info": info }), || infos.iter().for_each(print_info));
        }
        DevlinkDevCommand::Reload { handle } => devlink.reload(&handle.parse()?)?,
    }
    Ok(())
}

fn versions_json(versions: &[(String, String)]) -> Value {
    Value::Object(versions.iter().map(|(name, value)| (name.clone(), json!(value))).collect())
}

/// The shape of `devlink -j dev info`.
fn info_json(info: &Info) -> Value {
    let mut fields = Map::new();
    fields.insert("driver".into(), json!(info.driver));
    if let Some(serial) = &info.serial_number {
        fields.insert("serial_number".into(), json!(serial));
    }
    let mut versions = Map::new();
    for (kind, list) in [("fixed", &info.fixed), ("running", &info.running), ("stored", &info.stored)] {
        if !list.is_empty() {
            versions.insert(kind.into(), versions_json(list));
        }
    }
    if !versions.is_empty() {
        fields.insert("versions".into(), Value::Object(versions));
    }
    Value::Object(fields)
}

/// The layout of `devlink dev info`.
fn print_info(info: &Info) {
    println!("{}:", info.handle);
    println!("  driver {}", info.driver);
    if let Some(serial) = &info.serial_number {
        println!("  serial_number {serial}");
    }
    if info.fixed.is_empty() && info.running.is_empty() && info.stored.is_empty() {
        return;
    }
    println!("  versions:");
    for (kind, list) in [("fixed", &info.fixed), ("running", &info.running), ("stored", &info.stored)] {
        if !list.is_empty() {
            println!("      {kind}:");
            list.iter().for_each(|(name, value)| println!("        {name} {value}"));
        }
    }
}
