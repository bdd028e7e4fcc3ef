//! `port`, `reg`, `sensor`, `stats`: printing the device's hardware
//! objects, and the arguments of `port set`.

use super::args::Words;
use super::dev::describe_port;
use crate::simdev::PortSet;
use simdev_protocol::simdev::{parse_mac, PortInfo, RegInfo, SensorInfo, StatsInfo};

pub fn print_port(dev: &str, p: &PortInfo) {
    println!("{dev}/{}: {} {}", p.index, p.ifname, describe_port(p));
}

/// `[carrier on|off] [mtu N] [mac M] [up|down] [rx-ring N] [tx-ring N]`.
pub fn parse_port_set(args: &[String]) -> Result<PortSet, String> {
    let mut set = PortSet::default();
    let mut words = Words::new(args);
    while let Some(word) = words.next_key()? {
        match word {
            "carrier" => set.carrier = Some(words.on_off("carrier")?),
            "mtu" => set.mtu = Some(words.number("mtu")?),
            "mac" | "address" => {
                let text = words.value(word)?;
                set.mac = Some(parse_mac(text).ok_or_else(|| format!("`{text}` is not a MAC address"))?);
            }
            "up" | "down" => set.up = Some(word == "up"),
            "rx-ring" => set.rx_ring = Some(words.number("rx-ring")?),
            "tx-ring" => set.tx_ring = Some(words.number("tx-ring")?),
            other => {
                return Err(format!(
                    "unknown argument `{other}` (expected carrier on|off, mtu N, mac M, up, down, rx-ring N, tx-ring N)"
                ))
            }
        }
    }
    Ok(set)
}

pub fn print_reg(dev: &str, r: &RegInfo) {
    let value = r.value.map_or("(write-only)".to_string(), |v| format!("{v:#x}"));
    println!(
        "{dev} {}: offset {:#x} width {} access {} reset {:#x} value {value}",
        r.name,
        r.offset,
        r.width,
        r.access.name(),
        r.reset
    );
}

pub fn print_sensor(dev: &str, s: &SensorInfo) {
    let mut thresholds = String::new();
    if let Some(low) = s.alarm_low {
        thresholds.push_str(&format!(" alarm-low {low}"));
    }
    if let Some(high) = s.alarm_high {
        thresholds.push_str(&format!(" alarm-high {high}"));
    }
    let alarm = if s.alarm { " ALARM" } else { "" };
    println!("{dev} {}: {} {} {} (range {}..{}){thresholds}{alarm}", s.name, s.kind, s.value, s.unit, s.min, s.max);
}

pub fn print_stats(stats: &StatsInfo) {
    let d = &stats.driver;
    println!(
        "{}: commands {} errors {} faults-fired {} notifications {}",
        stats.dev_name, d.commands, d.errors, d.faults_fired, d.notifications
    );
    let s = &stats.server;
    println!(
        "    simulator: answers-dropped {} answers-queued {} clients-waiting {} subscribers {} capture-frames {} capture-dropped {}",
        s.answers_dropped, s.answers_queued, s.clients_waiting, s.subscribers, s.capture_frames, s.capture_dropped
    );
    for p in &stats.ports {
        println!(
            "    port {} {}: rx packets {} bytes {} errors {} dropped {}  tx packets {} bytes {} errors {} dropped {}",
            p.index,
            p.ifname,
            p.rx_packets,
            p.rx_bytes,
            p.rx_errors,
            p.rx_dropped,
            p.tx_packets,
            p.tx_bytes,
            p.tx_errors,
            p.tx_dropped
        );
    }
}
