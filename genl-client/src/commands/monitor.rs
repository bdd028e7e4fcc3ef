//! `monitor [GROUP]...`: one line per notification (`-j`: JSON lines),
//! until interrupted. Lost notifications are reported, and monitoring goes on.

use super::fault::describe;
use super::Output;
use crate::client::Target;
use crate::error::{Error, Result};
use crate::simdev::{Event, SimdevClient};
use simdev_protocol::simdev::format_mac;
use std::io::Write;

pub fn run(target: Target, groups: &[String], output: Output) -> Result<()> {
    let sim = SimdevClient::connect(target)?;
    let names: Vec<&str> = groups.iter().map(String::as_str).collect();
    let mut subscription = sim.subscribe(&names)?;
    let mut stdout = std::io::stdout();
    loop {
        let batch = match subscription.recv() {
            Ok(batch) => batch,
            Err(Error::EventsLost) => {
                eprintln!("genl-client: monitor: notifications were lost (ENOBUFS: the receive buffer overflowed)");
                if output.json {
                    println!("{{\"lost\":true}}");
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        for (group, reply) in batch {
            let group = sim.group_name(group).unwrap_or("?");
            let Some((name, msg, event)) = Event::decode_named(&reply)? else { continue };
            if output.json {
                // As the YNL grammar lists notifications, with the group.
                let line = serde_json::json!({ "group": group, "name": name, "msg": msg.to_json() });
                println!("{line}");
            } else {
                println!("[{group}] {}", describe_event(&event));
            }
        }
        let _ = stdout.flush();
    }
}

/// A one-line summary of a notification.
pub fn describe_event(event: &Event) -> String {
    match event {
        Event::DevChange { dev } | Event::DevAdd { dev } | Event::DevDel { dev } => {
            let what = match event {
                Event::DevAdd { .. } => "added",
                Event::DevDel { .. } => "removed",
                _ => "changed",
            };
            let ports: Vec<String> = dev
                .ports
                .iter()
                .map(|p| {
                    if p.missing {
                        return format!("{} missing", p.ifname);
                    }
                    format!(
                        "{} {} mtu {} mac {} carrier {}",
                        p.ifname,
                        p.oper_state.name(),
                        p.mtu,
                        format_mac(&p.mac),
                        if p.carrier { "on" } else { "off" }
                    )
                })
                .collect();
            format!("dev {} {what}: {}", dev.name, ports.join(", "))
        }
        Event::RegChange { regs } => {
            let r = &regs.items[0];
            format!(
                "reg {} {}: {}",
                regs.dev_name,
                r.name,
                r.value.map_or("(write-only)".into(), |v| format!("{v:#x}"))
            )
        }
        Event::SensorChange { sensors } | Event::SensorAlarm { sensors } => {
            let s = &sensors.items[0];
            let kind = if matches!(event, Event::SensorAlarm { .. }) {
                if s.alarm {
                    "ALARM raised"
                } else {
                    "alarm cleared"
                }
            } else {
                "reading"
            };
            format!("sensor {} {} {kind}: {} {}", sensors.dev_name, s.name, s.value, s.unit)
        }
        Event::FwStatus { status } => {
            let s = &status.items[0];
            format!("fw {} {}: {} {}/{}", status.dev_name, s.version, s.message, s.done, s.total)
        }
        Event::FaultFired { faults } => format!("fault fired on {}: {}", faults.dev_name, describe(&faults.items[0])),
        Event::FaultChange { faults } => {
            let list: Vec<String> = faults.items.iter().map(describe).collect();
            format!("faults of {}: [{}]", faults.dev_name, list.join("; "))
        }
    }
}
