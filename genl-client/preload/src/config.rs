//! The simulator this process talks to and the families it serves to it,
//! as `genl-client exec` resolved them (read once, from the environment).

use simdev_protocol::preload::{parse_families, ServedFamily, FAMILIES_ENV, PORT_ENV};
use simdev_protocol::simdev;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The simulator's `NETLINK_USERSOCK` port.
    pub port: u32,
    /// The families the program reaches there; simdev's is the first.
    pub families: Vec<ServedFamily>,
}

impl Config {
    /// Parses the two variables; `None` when the port is absent (the
    /// library is then inert), a message when one is malformed.
    pub fn parse(port: Option<&str>, families: Option<&str>) -> Result<Option<Self>, String> {
        let Some(port) = port else { return Ok(None) };
        let port = port.parse().map_err(|_| format!("{PORT_ENV}={port:?} is not a port id"))?;
        let families = parse_families(families.ok_or_else(|| format!("{FAMILIES_ENV} is not set"))?)?;
        if families.first().map(|f| f.name.as_str()) != Some(simdev::FAMILY_NAME) {
            return Err(format!("{FAMILIES_ENV} does not start with simdev's entry"));
        }
        Ok(Some(Config { port, families }))
    }

    /// simdev's entry: the library's own requests (subscriptions, the
    /// receive size) are simdev's.
    pub fn simdev(&self) -> &ServedFamily {
        &self.families[0]
    }

    /// Whether the simulator serves family `id` to this program.
    pub fn serves(&self, id: u16) -> bool {
        self.families.iter().any(|f| f.id == id)
    }

    pub fn by_name(&self, name: &str) -> Option<&ServedFamily> {
        self.families.iter().find(|f| f.name == name)
    }

    /// Whether `group` is one of a served family's.
    pub fn is_group(&self, group: u32) -> bool {
        self.families.iter().any(|f| f.groups.contains(&group))
    }

    /// The group a notification of family `id` with command `cmd` was sent
    /// to: simdev's by its spec; another family's only group (a family with
    /// several: its first, the library cannot tell which).
    pub fn group_of_notification(&self, id: u16, cmd: u8) -> Option<u32> {
        let family = self.families.iter().find(|f| f.id == id)?;
        if family.name != simdev::FAMILY_NAME {
            return family.groups.first().copied();
        }
        let ntf = simdev::FAMILY.notifications.iter().find(|n| n.id == cmd)?;
        let index = simdev::FAMILY.mcast_groups.iter().position(|g| *g == ntf.group)?;
        family.groups.get(index).copied()
    }
}

/// This process's configuration; a malformed one is reported once on
/// stderr and leaves the library inert.
pub fn get() -> Option<&'static Config> {
    static CONFIG: OnceLock<Option<Config>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let var = |name| std::env::var(name).ok();
            match Config::parse(var(PORT_ENV).as_deref(), var(FAMILIES_ENV).as_deref()) {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("simdev-preload: {e}; the simulator is not reachable from this program");
                    None
                }
            }
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_exec_sets() {
        let config = Config::parse(Some("4242"), Some("simdev:32:11,12,13 dpll:33:14")).unwrap().unwrap();
        assert_eq!(config.port, 4242);
        assert_eq!(config.simdev().id, 32);
        assert!(config.serves(33) && !config.serves(34));
        assert!(config.is_group(14) && !config.is_group(15));
        assert_eq!(config.group_of_notification(32, simdev::cmd::DEV_CHANGE_NTF), Some(11), "config");
        assert_eq!(config.group_of_notification(32, simdev::cmd::FW_FLASH_STATUS_NTF), Some(13), "fw");
        assert_eq!(config.group_of_notification(32, simdev::cmd::DEV_GET), None);
        assert_eq!(config.group_of_notification(33, 4), Some(14), "a served family's one group");
    }

    #[test]
    fn without_a_port_it_is_inert_and_bad_values_are_named() {
        assert_eq!(Config::parse(None, Some("simdev:32:")), Ok(None));
        assert!(Config::parse(Some("x"), Some("simdev:32:")).unwrap_err().contains(PORT_ENV));
        assert!(Config::parse(Some("1"), None).unwrap_err().contains(FAMILIES_ENV));
        assert!(Config::parse(Some("1"), Some("simdev:32:3,x")).unwrap_err().contains(FAMILIES_ENV));
        assert!(Config::parse(Some("1"), Some("dpll:33:")).unwrap_err().contains("simdev"));
    }
}
