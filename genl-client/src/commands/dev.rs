//! `dev`: printing devices, and the arguments of `dev add` and `dev set`.

use super::args::Words;
use simdev_protocol::simdev::{format_mac, parse_mac, DevInfo, DevSelector, DevSet, PortInfo};

pub fn print_device(dev: &DevInfo) {
    let netns = dev.netns.as_ref().map(|n| format!(" netns {n}")).unwrap_or_default();
    let devlink = dev.devlink.as_ref().map(|d| format!(" devlink {d}")).unwrap_or_default();
    println!("{}: id {} backend {}{netns}{devlink}", dev.name, dev.id, dev.backend);
    for port in &dev.ports {
        println!("    port {} {}: {}", port.index, port.ifname, describe_port(port));
    }
}

/// A port's state in `ip link` words.
pub fn describe_port(port: &PortInfo) -> String {
    if port.missing {
        return format!(
            "missing (its netdev was deleted outside simdev; `dev reset` recreates it) cable {}",
            port.peer_ifname
        );
    }
    let rings =
        port.rings.map(|r| format!(" rings rx {}/{} tx {}/{}", r.rx, r.rx_max, r.tx, r.tx_max)).unwrap_or_default();
    let led = simdev_protocol::simdev::led_state::ENTRIES
        .iter()
        .find(|(value, _)| *value == u64::from(port.led_state))
        .map_or_else(|| port.led_state.to_string(), |(_, name)| name.to_string());
    format!(
        "ifindex {} mac {} mtu {} {} state {} carrier {} led {led} cable {}{rings}",
        port.ifindex,
        format_mac(&port.mac),
        port.mtu,
        if port.up { "up" } else { "down" },
        port.oper_state.name(),
        if port.carrier { "on" } else { "off" },
        port.peer_ifname
    )
}

/// `dev add NAME key value...` as the TOML `[[device]]` table the
/// simulator validates: numbers and booleans as they are, the rest quoted.
pub fn device_toml(name: &str, args: &[String]) -> Result<String, String> {
    if !args.len().is_multiple_of(2) {
        return Err(format!("`{}` needs a value", args[args.len() - 1]));
    }
    let mut toml = format!("name = {}\n", toml_string(name));
    for pair in args.chunks(2) {
        let (key, value) = (&pair[0], &pair[1]);
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{key}` is not a device key"));
        }
        let literal = if value.parse::<i64>().is_ok() || value == "true" || value == "false" {
            value.clone()
        } else {
            toml_string(value)
        };
        toml.push_str(&format!("{key} = {literal}\n"));
    }
    Ok(toml)
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Parses `[mtu N] [mac M] [up|down]` in any order, each at most once.
pub fn parse_set(dev: DevSelector, args: &[String]) -> Result<DevSet, String> {
    let mut set = DevSet::new(dev);
    let mut words = Words::new(args);
    while let Some(word) = words.next_key()? {
        match word {
            "mtu" => set.mtu = Some(words.number("mtu")?),
            "mac" | "address" => {
                let text = words.value(word)?;
                set.mac = Some(parse_mac(text).ok_or_else(|| format!("`{text}` is not a MAC address"))?);
            }
            "up" | "down" => set.up = Some(word == "up"),
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
        assert!(parse_set(DevSelector::Id(1), &words("mtu x")).unwrap_err().contains("not a valid number"));
        assert!(parse_set(DevSelector::Id(1), &words("up down")).unwrap_err().contains("twice"));
        assert!(parse_set(DevSelector::Id(1), &words("speed 10")).unwrap_err().contains("unknown argument"));
    }

    #[test]
    fn dev_add_arguments_become_a_device_table() {
        let toml = device_toml("lab9", &words("ports 2 mac 02:00:00:00:00:01 up false")).unwrap();
        assert_eq!(toml, "name = \"lab9\"\nports = 2\nmac = \"02:00:00:00:00:01\"\nup = false\n");
        assert!(device_toml("x", &words("ports")).is_err());
        assert!(device_toml("x", &words("a=b 1")).is_err());
    }
}
