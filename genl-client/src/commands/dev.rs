//! `dev list|show|set`.

use super::Output;
use crate::cli::DevCommand;
use crate::client::Target;
use crate::error::{Error, Result};
use crate::simdev::SimdevClient;
use simdev_protocol::simdev::{format_mac, parse_mac, DevInfo, DevSelector, DevSet};

pub fn run(target: Target, command: &DevCommand, output: Output) -> Result<()> {
    let mut sim = SimdevClient::connect(target)?;
    match command {
        DevCommand::List => {
            let devices = sim.dev_list()?;
            if output.json {
                output.print_json(&devices);
            } else {
                devices.iter().for_each(print_device);
            }
        }
        DevCommand::Show { dev } => {
            let device = sim.dev_get(&DevSelector::parse(dev))?;
            if output.json {
                output.print_json(&device);
            } else {
                print_device(&device);
            }
        }
        DevCommand::Set { dev, args } => {
            let set = parse_set(DevSelector::parse(dev), args).map_err(Error::Usage)?;
            sim.dev_set(&set)?;
        }
    }
    Ok(())
}

fn print_device(dev: &DevInfo) {
    println!("{}: id {} backend {}", dev.name, dev.id, dev.backend);
    for port in &dev.ports {
        println!(
            "    port {} {}: ifindex {} mac {} mtu {} {} state {} carrier {} cable {}",
            port.index,
            port.ifname,
            port.ifindex,
            format_mac(&port.mac),
            port.mtu,
            if port.up { "up" } else { "down" },
            port.oper_state.name(),
            if port.carrier { "on" } else { "off" },
            port.peer_ifname
        );
    }
}

/// Parses `[mtu N] [mac M] [up|down]` in any order, each at most once.
pub fn parse_set(dev: DevSelector, args: &[String]) -> Result<DevSet, String> {
    let mut set = DevSet::new(dev);
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let mut value = |what: &str| words.next().ok_or_else(|| format!("`{what}` needs a value"));
        match word.as_str() {
            "mtu" if set.mtu.is_none() => {
                let text = value("mtu")?;
                set.mtu = Some(text.parse().map_err(|_| format!("mtu `{text}` is not a number"))?);
            }
            "mac" | "address" if set.mac.is_none() => {
                let text = value("mac")?;
                set.mac = Some(parse_mac(text).ok_or_else(|| format!("`{text}` is not a MAC address"))?);
            }
            "up" | "down" if set.up.is_none() => set.up = Some(word == "up"),
            "mtu" | "mac" | "address" | "up" | "down" => return Err(format!("`{word}` given twice")),
            other => return Err(format!("unknown argument `{other}` (expected mtu N, mac M, up, down)")),
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn set_arguments_parse_in_any_order() {
        let set = parse_set(DevSelector::parse("sim0"), &words("up mtu 9000 mac 02:00:00:00:00:01")).unwrap();
        assert_eq!(set.mtu, Some(9000));
        assert_eq!(set.up, Some(true));
        assert_eq!(set.mac, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(set.dev, DevSelector::Name("sim0".into()));
    }

    #[test]
    fn bad_set_arguments_are_named() {
        assert!(parse_set(DevSelector::Id(1), &words("mtu")).unwrap_err().contains("needs a value"));
        assert!(parse_set(DevSelector::Id(1), &words("mtu x")).unwrap_err().contains("not a number"));
        assert!(parse_set(DevSelector::Id(1), &words("up down")).unwrap_err().contains("twice"));
        assert!(parse_set(DevSelector::Id(1), &words("speed 10")).unwrap_err().contains("unknown argument"));
    }
}
