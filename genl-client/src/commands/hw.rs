//! `port`, `reg`, `sensor`, `stats`: the device's hardware objects.

use super::args::Words;
use super::dev::describe_port;
use super::Output;
use crate::cli::{parse_u64, PortCommand, RegCommand, SensorCommand, StatsCommand};
use crate::client::Target;
use crate::error::{Error, Result};
use crate::simdev::{PortSet, SimdevClient};
use simdev_protocol::simdev::{parse_mac, DevSelector, RegInfo, SensorInfo};

pub fn port(target: Target, command: &PortCommand, output: Output) -> Result<()> {
    let mut sim = SimdevClient::connect(target)?;
    match command {
        PortCommand::List { dev } => {
            let selector = dev.as_deref().map(DevSelector::parse);
            let ports = sim.port_list(selector.as_ref())?;
            output.show(&ports, || {
                for scoped in &ports {
                    for p in &scoped.items {
                        println!("{}/{}: {} {}", scoped.dev_name, p.index, p.ifname, describe_port(p));
                    }
                }
            });
        }
        PortCommand::Set { dev, index, args } => {
            let set = parse_port_set(args).map_err(Error::Usage)?;
            sim.port_set(&DevSelector::parse(dev), *index, &set)?;
        }
    }
    Ok(())
}

/// `[carrier on|off] [mtu N] [mac M] [up|down]`.
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
            other => {
                return Err(format!("unknown argument `{other}` (expected carrier on|off, mtu N, mac M, up, down)"))
            }
        }
    }
    Ok(set)
}

fn print_reg(dev: &str, r: &RegInfo) {
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

pub fn reg(target: Target, command: &RegCommand, output: Output) -> Result<()> {
    let mut sim = SimdevClient::connect(target)?;
    match command {
        RegCommand::List { dev } => {
            let regs = sim.reg_list(Some(&DevSelector::parse(dev)))?;
            let items: Vec<&RegInfo> = regs.iter().flat_map(|s| &s.items).collect();
            output.show(&items, || regs.iter().for_each(|s| s.items.iter().for_each(|r| print_reg(&s.dev_name, r))));
        }
        RegCommand::Read { dev, reg } => {
            let info = sim.reg_read(&DevSelector::parse(dev), reg)?;
            output.show(&info, || print_reg(dev, &info));
        }
        RegCommand::Write { dev, reg, value } => {
            let value = parse_u64(value).map_err(|_| Error::Usage(format!("`{value}` is not a number")))?;
            sim.reg_write(&DevSelector::parse(dev), reg, value)?;
        }
    }
    Ok(())
}

fn print_sensor(dev: &str, s: &SensorInfo) {
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

pub fn sensor(target: Target, command: &SensorCommand, output: Output) -> Result<()> {
    let mut sim = SimdevClient::connect(target)?;
    match command {
        SensorCommand::List { dev } => {
            let sensors = sim.sensor_list(Some(&DevSelector::parse(dev)))?;
            let items: Vec<&SensorInfo> = sensors.iter().flat_map(|s| &s.items).collect();
            output.show(&items, || {
                sensors.iter().for_each(|s| s.items.iter().for_each(|x| print_sensor(&s.dev_name, x)))
            });
        }
        SensorCommand::Set { dev, sensor, value } => sim.sensor_set(&DevSelector::parse(dev), sensor, *value)?,
    }
    Ok(())
}

pub fn stats(target: Target, command: &StatsCommand, output: Output) -> Result<()> {
    let mut sim = SimdevClient::connect(target)?;
    let StatsCommand::Show { dev } = command;
    let stats = sim.stats(&DevSelector::parse(dev))?;
    output.show(&stats, || {
        let d = &stats.driver;
        println!(
            "{}: commands {} errors {} faults-fired {} notifications {}",
            stats.dev_name, d.commands, d.errors, d.faults_fired, d.notifications
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
    });
    Ok(())
}
