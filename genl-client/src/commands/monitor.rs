//! `monitor [-t] [GROUP]...`: one line per notification (`-j`: JSON
//! lines), until interrupted, with `-t` a timestamp as `ip monitor -t`
//! prints it. The notifications come by unicast (`subscribe`): any user,
//! only this simulator's. Losses a socket reports are said, and monitoring
//! goes on.

use super::fault::describe;
use super::Output;
use crate::simdev::{Event, SimdevClient};
use simdev_netlink::client::Target;
use simdev_netlink::error::{Error, Result};
use simdev_protocol::simdev::format_mac;
use std::io::Write;

pub fn run(target: Target, groups: &[String], timestamp: bool, output: Output) -> Result<()> {
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
            let now = timestamp.then(std::time::SystemTime::now);
            if output.json {
                // As the YNL grammar lists notifications, with the group.
                let mut line = serde_json::json!({ "group": group, "name": name, "msg": msg.to_json() });
                if let Some(now) = now {
                    line["timestamp"] = short_timestamp(now).into();
                }
                println!("{line}");
            } else {
                if let Some(now) = now {
                    println!("{}", ip_timestamp(now));
                }
                println!("[{group}] {}", describe_event(&event));
            }
        }
        let _ = stdout.flush();
    }
}

/// Local time as `ip monitor -t` prints it (iproute2's `print_timestamp`:
/// `asctime` and microseconds): `Timestamp: Sat Nov 28 14:55:20 2026 123456 usec`.
fn ip_timestamp(now: std::time::SystemTime) -> String {
    let (tm, micros) = local_time(now);
    let mut text = [0 as libc::c_char; 32];
    // SAFETY: asctime_r writes at most 26 bytes into the buffer.
    unsafe { libc::asctime_r(&tm, text.as_mut_ptr()) };
    // SAFETY: asctime_r wrote a NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(text.as_ptr()) }.to_string_lossy();
    format!("Timestamp: {} {micros} usec", text.trim_end())
}

/// Local time as `ip monitor -ts` prints it: `2026-11-28T14:55:20.123456`.
fn short_timestamp(now: std::time::SystemTime) -> String {
    let (tm, micros) = local_time(now);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// Broken-down local time and the microseconds.
fn local_time(now: std::time::SystemTime) -> (libc::tm, u32) {
    let since_epoch = now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs() as libc::time_t;
    // SAFETY: an all-zero tm is a valid value; localtime_r fills it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    unsafe { libc::localtime_r(&seconds, &mut tm) };
    (tm, since_epoch.subsec_micros())
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
