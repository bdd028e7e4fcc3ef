//! What `genl-client exec` tells the preload library it loads into a
//! program (`genl-client/preload`): the simulator to reach and the
//! families it serves to the program, resolved once by `exec`, in
//! environment variables.

/// The simulator's netlink port (decimal). Without it the library does nothing.
pub const PORT_ENV: &str = "SIMDEV_PRELOAD_PORT";
/// The families the program reaches at the simulator, simdev first:
/// space-separated `NAME:ID:GROUP,GROUP...` ([`ServedFamily`]).
pub const FAMILIES_ENV: &str = "SIMDEV_PRELOAD_FAMILIES";
/// A pcap file (its header written by `exec`) that the library appends
/// the program's conversation to: each datagram it sends and each it
/// receives, as it sends and receives them (`exec --pcap`).
pub const PCAP_ENV: &str = "SIMDEV_PRELOAD_PCAP";
/// Where `exec` finds the library, when not next to its own binary.
pub const LIBRARY_ENV: &str = "SIMDEV_PRELOAD";
/// The library's file name (the cdylib the workspace builds).
pub const LIBRARY_FILE: &str = "libsimdev_preload.so";

/// A family the simulator serves, as the program sees it there: its name,
/// its id and its multicast groups' ids (in the order the controller
/// lists them, which is the spec's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedFamily {
    pub name: String,
    pub id: u16,
    pub groups: Vec<u32>,
}

/// [`FAMILIES_ENV`]'s value for `families`.
pub fn families_value(families: &[ServedFamily]) -> String {
    let one = |f: &ServedFamily| {
        let groups: Vec<String> = f.groups.iter().map(u32::to_string).collect();
        format!("{}:{}:{}", f.name, f.id, groups.join(","))
    };
    families.iter().map(one).collect::<Vec<_>>().join(" ")
}

/// Reads [`FAMILIES_ENV`]'s value; a message naming what is malformed.
pub fn parse_families(value: &str) -> Result<Vec<ServedFamily>, String> {
    value
        .split_whitespace()
        .map(|entry| {
            let bad = || format!("{FAMILIES_ENV}: {entry:?} is not NAME:ID:GROUPS");
            let mut parts = entry.split(':');
            let (Some(name), Some(id), Some(groups), None) = (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let id = id.parse().map_err(|_| bad())?;
            let groups = groups
                .split(',')
                .filter(|g| !g.is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| bad())?;
            if name.is_empty() {
                return Err(bad());
            }
            Ok(ServedFamily { name: name.to_string(), id, groups })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_go_through_the_environment_unchanged() {
        let families = vec![
            ServedFamily { name: "simdev".into(), id: 32, groups: vec![11, 12, 13] },
            ServedFamily { name: "dpll".into(), id: 33, groups: vec![14] },
            ServedFamily { name: "quiet".into(), id: 34, groups: vec![] },
        ];
        let value = families_value(&families);
        assert_eq!(value, "simdev:32:11,12,13 dpll:33:14 quiet:34:");
        assert_eq!(parse_families(&value).unwrap(), families);
        assert!(parse_families("simdev:x:1").unwrap_err().contains("\"simdev:x:1\""));
        assert!(parse_families("simdev:32").is_err());
        assert!(parse_families(":32:1").is_err());
    }
}
