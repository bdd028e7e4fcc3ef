//! Which kernel objects are this simulator's. Every netdev the simulator
//! creates carries a mark in its alias (`ip link` shows it as `alias
//! simdev driver-sim pid 4242 start 123456 device sim0`): the pid and start
//! time of the simulator process that made it, so a leftover of a simulator
//! that is no longer running can be told from a live one's, and from
//! anybody else's netdev. The simulator deletes or changes only what it
//! created in this run; a name that is taken is an error that says whose
//! netdev holds it.

use simdev_netlink::rtnl::{KernelError, LinkState, Rtnl};
use std::sync::OnceLock;

/// How every mark starts.
const PREFIX: &str = "simdev driver-sim pid ";

/// A simulator process, as marks name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub pid: u32,
    /// The process's start time (`/proc/PID/stat` field 22, clock ticks
    /// after boot): with the pid, it names one process even after the pid
    /// is reused.
    pub start: u64,
}

impl Mark {
    /// This process's mark.
    pub fn own() -> Mark {
        static OWN: OnceLock<Mark> = OnceLock::new();
        *OWN.get_or_init(|| {
            let pid = std::process::id();
            Mark { pid, start: process_start(pid).unwrap_or(0) }
        })
    }

    /// The mark of process `pid`, if it runs.
    pub fn of_process(pid: u32) -> Option<Mark> {
        process_start(pid).map(|start| Mark { pid, start })
    }

    /// The alias of a netdev of device `device` made by this process.
    pub fn alias(&self, device: &str) -> String {
        format!("{PREFIX}{} start {} device {device}", self.pid, self.start)
    }

    /// The mark in an alias, if it is one.
    pub fn parse(alias: &str) -> Option<Mark> {
        let mut words = alias.strip_prefix(PREFIX)?.split(' ');
        let pid = words.next()?.parse().ok()?;
        let start = words.nth(1)?.parse().ok()?;
        Some(Mark { pid, start })
    }

    /// Whether the simulator that made this mark still runs.
    pub fn is_running(&self) -> bool {
        process_start(self.pid) == Some(self.start)
    }

    /// Whether this is the mark of a simulator that is no longer running.
    pub fn is_stale(&self) -> bool {
        !self.is_running()
    }
}

/// Whose a netdev is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// This simulator's.
    Us,
    /// A simulator that is still running.
    Running(Mark),
    /// A simulator that is no longer running: a leftover.
    Stale(Mark),
    /// Not a simulator's.
    Other,
}

impl Owner {
    pub fn of(link: &LinkState) -> Owner {
        match link.alias.as_deref().and_then(Mark::parse) {
            None => Owner::Other,
            Some(mark) if mark == Mark::own() => Owner::Us,
            Some(mark) if mark.is_running() => Owner::Running(mark),
            Some(mark) => Owner::Stale(mark),
        }
    }
}

/// Why a name cannot be used: it is taken, and by whom.
pub fn name_taken(link: &LinkState) -> String {
    let name = &link.ifname;
    match Owner::of(link) {
        Owner::Us => format!("{name} exists: it is one of this simulator's own netdevs"),
        Owner::Running(mark) => format!("{name} exists: it belongs to the running simulator pid {}", mark.pid),
        Owner::Stale(mark) => format!(
            "{name} exists: it was left behind by simulator pid {}, which is no longer running \
             (remove such leftovers with `driver-sim --reclaim`, or this one with `ip link del {name}`)",
            mark.pid
        ),
        Owner::Other => {
            format!("{name} exists and is not simdev's (ifindex {}): choose another device name", link.ifindex)
        }
    }
}

/// Removes the netdevs of the namespace `rtnl` is in that carry the mark of
/// a simulator that is no longer running (a netdevsim port: its whole
/// netdevsim device); returns what was removed, described.
pub fn reclaim(rtnl: &mut Rtnl) -> Result<Vec<String>, KernelError> {
    let mut removed = Vec::new();
    let mut netdevsim_done = Vec::new();
    let links = rtnl.links()?;
    for link in &links {
        let Owner::Stale(mark) = Owner::of(link) else { continue };
        let peer = link.link.and_then(|peer| links.iter().find(|l| l.ifindex == peer && l.ifindex != link.ifindex));
        let names = match peer {
            Some(peer) => format!("{} and its peer {}", link.ifname, peer.ifname),
            None => link.ifname.clone(),
        };
        let what = format!("{names} (left behind by simulator pid {})", mark.pid);
        match link.parent_dev.as_deref().and_then(|p| p.strip_prefix("netdevsim")) {
            Some(id) => {
                if !netdevsim_done.contains(&id.to_string()) {
                    std::fs::write(format!("{}/del_device", crate::hardware::netdevsim::BUS), id)?;
                    netdevsim_done.push(id.to_string());
                    removed.push(format!("netdevsim{id} with {what}"));
                }
            }
            None => match rtnl.delete_link(link.ifindex) {
                Ok(()) => removed.push(what),
                // The other end of a veth pair removed just before.
                Err(e) if e.errno == libc::ENODEV => {}
                Err(e) => return Err(e),
            },
        }
    }
    Ok(removed)
}

/// The start time of process `pid`, if it exists.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields 3.. follow; the start time is field 22.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_round_trips_through_its_alias() {
        let mark = Mark { pid: 4242, start: 98765 };
        let alias = mark.alias("sim0");
        assert_eq!(alias, "simdev driver-sim pid 4242 start 98765 device sim0");
        assert_eq!(Mark::parse(&alias), Some(mark));
        assert_eq!(Mark::parse("uplink to the lab"), None);
        assert_eq!(Mark::parse("simdev driver-sim pid x start 1 device a"), None);
    }

    #[test]
    fn this_process_is_running_and_a_made_up_start_is_not() {
        let own = Mark::own();
        assert!(own.start > 0);
        assert!(own.is_running());
        assert!(Mark { start: own.start + 1, ..own }.is_stale(), "same pid, another process");
    }
}
