//! The simulator this process talks to, as `genl-client exec` resolved it
//! (read once, from the environment).

use simdev_protocol::preload::{FAMILY_ID_ENV, GROUPS_ENV, PORT_ENV};
use simdev_protocol::simdev;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The simulator's `NETLINK_USERSOCK` port.
    pub port: u32,
    /// simdev's family id at that simulator.
    pub family_id: u16,
    /// simdev's multicast group ids, in the spec's order.
    pub groups: Vec<u32>,
}

impl Config {
    /// Parses the three variables; `None` when the port is absent (the
    /// library is then inert), a message when one is malformed.
    pub fn parse(port: Option<&str>, family_id: Option<&str>, groups: Option<&str>) -> Result<Option<Self>, String> {
        let Some(port) = port else { return Ok(None) };
        let port = port.parse().map_err(|_| format!("{PORT_ENV}={port:?} is not a port id"))?;
        let family_id = family_id.ok_or_else(|| format!("{FAMILY_ID_ENV} is not set"))?;
        let family_id = family_id.parse().map_err(|_| format!("{FAMILY_ID_ENV}={family_id:?} is not a family id"))?;
        let groups = groups.unwrap_or_default();
        let groups = groups
            .split(',')
            .filter(|g| !g.is_empty())
            .map(|g| g.parse().map_err(|_| format!("{GROUPS_ENV}={groups:?} is not a list of group ids")))
            .collect::<Result<Vec<u32>, String>>()?;
        Ok(Some(Config { port, family_id, groups }))
    }

    /// The group a notification command is sent to (its spec's group).
    pub fn group_of_notification(&self, cmd: u8) -> Option<u32> {
        let ntf = simdev::FAMILY.notifications.iter().find(|n| n.id == cmd)?;
        let index = simdev::FAMILY.mcast_groups.iter().position(|g| *g == ntf.group)?;
        self.groups.get(index).copied()
    }
}

/// This process's configuration; a malformed one is reported once on
/// stderr and leaves the library inert.
pub fn get() -> Option<&'static Config> {
    static CONFIG: OnceLock<Option<Config>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let var = |name| std::env::var(name).ok();
            match Config::parse(var(PORT_ENV).as_deref(), var(FAMILY_ID_ENV).as_deref(), var(GROUPS_ENV).as_deref()) {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("simdev-preload: {e}; simdev is not reachable from this program");
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
        let config = Config::parse(Some("4242"), Some("32"), Some("11,12,13")).unwrap().unwrap();
        assert_eq!(config, Config { port: 4242, family_id: 32, groups: vec![11, 12, 13] });
        assert_eq!(config.group_of_notification(simdev::cmd::DEV_CHANGE_NTF), Some(11), "config");
        assert_eq!(config.group_of_notification(simdev::cmd::FW_FLASH_STATUS_NTF), Some(13), "fw");
        assert_eq!(config.group_of_notification(simdev::cmd::DEV_GET), None);
    }

    #[test]
    fn without_a_port_it_is_inert_and_bad_values_are_named() {
        assert_eq!(Config::parse(None, Some("32"), None), Ok(None));
        assert!(Config::parse(Some("x"), Some("32"), None).unwrap_err().contains(PORT_ENV));
        assert!(Config::parse(Some("1"), None, None).unwrap_err().contains(FAMILY_ID_ENV));
        assert!(Config::parse(Some("1"), Some("2"), Some("3,x")).unwrap_err().contains(GROUPS_ENV));
    }
}
