//! Printing a simdev request's answer: with `-j` the answer as the spec
//! decodes it (the op's reply with the spec's attribute names, the same
//! for every command; nothing for commands that only acknowledge), else
//! text like the iproute2 tool of the object (or, for the YNL grammar, as
//! YNL prints it).

use super::dev::print_device;
use super::fault::describe;
use super::hw::{print_port, print_reg, print_sensor, print_stats};
use super::Output;
use crate::simdev::{decode_answer, typed, Call};
use crate::ynl::value::{pformat, Value};
use simdev_netlink::client::Reply;
use simdev_netlink::error::Result;
use simdev_protocol::simdev::{DevInfo, FaultInfo, FwInfo, PortInfo, RegInfo, Scoped, SensorInfo, StatsInfo};

/// The answer's data as JSON (`null` for commands that only acknowledge).
pub fn reply_json(call: &Call, replies: &[Reply]) -> Result<serde_json::Value> {
    Ok(decode_answer(call, replies)?.to_json())
}

/// A do's reply, or each reply of a dump, as `T`.
fn each<T: serde::de::DeserializeOwned>(call: &Call, answer: &Value) -> Result<Vec<T>> {
    match answer {
        Value::None => Ok(Vec::new()),
        Value::List(_) if call.is_dump() => typed(answer),
        one => Ok(vec![typed(one)?]),
    }
}

/// Prints the answer of `call` as the CLI does.
pub fn render(call: &Call, replies: &[Reply], output: Output) -> Result<()> {
    let answer = decode_answer(call, replies)?;
    if output.json {
        if answer != Value::None {
            output.print_json(&answer.to_json());
        }
        return Ok(());
    }
    match call {
        Call::DevList | Call::DevGet(_) | Call::DevNew(_) => {
            each::<DevInfo>(call, &answer)?.iter().for_each(print_device);
        }
        Call::PortList(_) | Call::PortGet(..) => {
            for scoped in each::<Scoped<PortInfo>>(call, &answer)? {
                scoped.items.iter().for_each(|p| print_port(&scoped.dev_name, p));
            }
        }
        Call::RegList(_) | Call::RegRead(..) => {
            for scoped in each::<Scoped<RegInfo>>(call, &answer)? {
                scoped.items.iter().for_each(|r| print_reg(&scoped.dev_name, r));
            }
        }
        Call::SensorList(_) | Call::SensorGet(..) => {
            for scoped in each::<Scoped<SensorInfo>>(call, &answer)? {
                scoped.items.iter().for_each(|s| print_sensor(&scoped.dev_name, s));
            }
        }
        Call::FwShow(_) => {
            for scoped in each::<Scoped<FwInfo>>(call, &answer)? {
                for info in &scoped.items {
                    let mut state = info.pending_version.as_ref().map(|p| format!(" flashing {p}")).unwrap_or_default();
                    if let Some(stored) = &info.stored_version {
                        state.push_str(&format!(" stored {stored} (runs after a reset)"));
                    }
                    let duration =
                        info.flash_duration_ms.map(|ms| format!(" flash-duration {ms} ms")).unwrap_or_default();
                    println!("{}: fw {}{duration}{state}", scoped.dev_name, info.version);
                }
            }
        }
        Call::FaultList(_) => {
            for scoped in each::<Scoped<FaultInfo>>(call, &answer)? {
                scoped.items.iter().for_each(|f| println!("{}: {}", scoped.dev_name, describe(f)));
            }
        }
        Call::Stats(_) => each::<StatsInfo>(call, &answer)?.iter().for_each(print_stats),
        Call::ClockShow => {
            let clock = answer.to_json();
            let kind = if clock["clock-virtual"] == 1 { "virtual" } else { "real" };
            let ms = clock["clock-ms"].as_u64().unwrap_or_default();
            println!("clock {kind} time {}.{:03}s", ms / 1000, ms % 1000);
        }
        // As the YNL grammar prints it (and the kernel's YNL CLI).
        Call::Spec { .. } => println!("{}", pformat(&answer)),
        _ => {}
    }
    Ok(())
}
