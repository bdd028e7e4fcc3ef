//! Printing a simdev request's answer: text like the iproute2 tool of the
//! object, or JSON. Commands that change something print nothing.

use super::dev::print_device;
use super::fault::describe;
use super::hw::{print_port, print_reg, print_sensor, print_stats};
use super::Output;
use crate::client::Reply;
use crate::error::Result;
use crate::simdev::{decode_dev, decode_scoped, Call};
use simdev_protocol::simdev::{DevInfo, FaultInfo, FwInfo, PortInfo, RegInfo, Scoped, SensorInfo, StatsInfo};

/// The answer's data as JSON (`null` for commands that only acknowledge).
pub fn reply_json(call: &Call, replies: &[Reply]) -> Result<serde_json::Value> {
    let json = |value: serde_json::Result<serde_json::Value>| value.expect("serializable");
    let items = |scoped: Vec<Scoped<serde_json::Value>>| scoped.into_iter().flat_map(|s| s.items).collect::<Vec<_>>();
    Ok(match call {
        Call::DevList => json(serde_json::to_value(replies.iter().map(decode_dev).collect::<Result<Vec<DevInfo>>>()?)),
        Call::DevGet(_) | Call::DevNew(_) => json(serde_json::to_value(decode_dev(&replies[0])?)),
        Call::PortList(_) | Call::PortGet(..) => json(serde_json::to_value(scoped_json::<PortInfo>(replies)?)),
        Call::RegList(_) => serde_json::Value::Array(items(scoped_json::<RegInfo>(replies)?)),
        Call::RegRead(..) => first(items(scoped_json::<RegInfo>(replies)?)),
        Call::SensorList(_) => serde_json::Value::Array(items(scoped_json::<SensorInfo>(replies)?)),
        Call::SensorGet(..) => first(items(scoped_json::<SensorInfo>(replies)?)),
        Call::FwShow(_) => first(items(scoped_json::<FwInfo>(replies)?)),
        Call::FaultList(_) => serde_json::Value::Array(items(scoped_json::<FaultInfo>(replies)?)),
        Call::Stats(_) => json(serde_json::to_value(StatsInfo::decode(replies[0].message().genl_attrs(0))?)),
        _ => serde_json::Value::Null,
    })
}

fn first(items: Vec<serde_json::Value>) -> serde_json::Value {
    items.into_iter().next().unwrap_or(serde_json::Value::Null)
}

/// Decodes scoped replies, their items as JSON values.
fn scoped_json<T: simdev_protocol::simdev::Nested + serde::Serialize>(
    replies: &[Reply],
) -> Result<Vec<Scoped<serde_json::Value>>> {
    replies
        .iter()
        .map(|r| {
            let scoped: Scoped<T> = decode_scoped(r)?;
            let items = scoped.items.iter().map(|i| serde_json::to_value(i).expect("serializable")).collect();
            Ok(Scoped { dev_id: scoped.dev_id, dev_name: scoped.dev_name, items })
        })
        .collect()
}

/// Prints the answer of `call` as the CLI does.
pub fn render(call: &Call, replies: &[Reply], output: Output) -> Result<()> {
    if output.json {
        let value = reply_json(call, replies)?;
        if !value.is_null() {
            output.print_json(&value);
        }
        return Ok(());
    }
    match call {
        Call::DevList | Call::DevGet(_) | Call::DevNew(_) => {
            for reply in replies {
                print_device(&decode_dev(reply)?);
            }
        }
        Call::PortList(_) | Call::PortGet(..) => {
            for reply in replies {
                let scoped: Scoped<PortInfo> = decode_scoped(reply)?;
                scoped.items.iter().for_each(|p| print_port(&scoped.dev_name, p));
            }
        }
        Call::RegList(_) | Call::RegRead(..) => {
            for reply in replies {
                let scoped: Scoped<RegInfo> = decode_scoped(reply)?;
                scoped.items.iter().for_each(|r| print_reg(&scoped.dev_name, r));
            }
        }
        Call::SensorList(_) | Call::SensorGet(..) => {
            for reply in replies {
                let scoped: Scoped<SensorInfo> = decode_scoped(reply)?;
                scoped.items.iter().for_each(|s| print_sensor(&scoped.dev_name, s));
            }
        }
        Call::FwShow(_) => {
            let scoped: Scoped<FwInfo> = decode_scoped(&replies[0])?;
            let info = &scoped.items[0];
            let state = info.pending_version.as_ref().map(|p| format!(" flashing {p}")).unwrap_or_default();
            let duration = info.flash_duration_ms.map(|ms| format!(" flash-duration {ms} ms")).unwrap_or_default();
            println!("{}: fw {}{duration}{state}", scoped.dev_name, info.version);
        }
        Call::FaultList(_) => {
            let scoped: Scoped<FaultInfo> = decode_scoped(&replies[0])?;
            scoped.items.iter().for_each(|f| println!("{}: {}", scoped.dev_name, describe(f)));
        }
        Call::Stats(_) => print_stats(&StatsInfo::decode(replies[0].message().genl_attrs(0))?),
        _ => {}
    }
    Ok(())
}
