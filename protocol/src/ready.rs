//! The simulator's ready line: how whoever started `driver-sim` learns
//! that it serves, on which port, with which family id, and where its
//! hardware lives. A contract between processes (the simulator writes
//! it, the test fixture and scripts read it), so it is defined here, once.

/// What the ready line says, and `--exec`'s program gets in its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub family_id: u16,
    pub port: u32,
    pub netns: String,
    pub userns: Option<String>,
    pub netns_name: Option<String>,
}

impl Ready {
    /// `ready family=simdev id=0x20 port=N netns=PATH [userns=PATH] [netns_name=NAME]`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "ready family={} id={:#x} port={} netns={}",
            crate::simdev::FAMILY_NAME,
            self.family_id,
            self.port,
            self.netns
        );
        if let Some(userns) = &self.userns {
            line.push_str(&format!(" userns={userns}"));
        }
        if let Some(name) = &self.netns_name {
            line.push_str(&format!(" netns_name={name}"));
        }
        line
    }

    /// Reads a ready line back (what [`Ready::line`] wrote); `Err` names the
    /// first field missing or malformed.
    pub fn parse(line: &str) -> Result<Ready, &'static str> {
        let field = |key: &str| {
            line.split(' ').find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('='))).map(str::to_string)
        };
        if !line.starts_with("ready ") {
            return Err("ready");
        }
        Ok(Ready {
            port: field("port").and_then(|p| p.parse().ok()).ok_or("port")?,
            family_id: field("id")
                .and_then(|id| u16::from_str_radix(id.trim_start_matches("0x"), 16).ok())
                .ok_or("id")?,
            netns: field("netns").ok_or("netns")?,
            userns: field("userns"),
            netns_name: field("netns_name"),
        })
    }

    /// The environment `driver-sim --exec` gives its program: `SIMDEV_PORT`
    /// ([`crate::PORT_ENV`]), `SIMDEV_FAMILY_ID`, `SIMDEV_NETNS`, and
    /// `SIMDEV_USERNS` / `SIMDEV_NETNS_NAME` when there are such.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            (crate::PORT_ENV, self.port.to_string()),
            ("SIMDEV_FAMILY_ID", format!("{:#x}", self.family_id)),
            ("SIMDEV_NETNS", self.netns.clone()),
        ];
        env.extend(self.userns.iter().map(|userns| ("SIMDEV_USERNS", userns.clone())));
        env.extend(self.netns_name.iter().map(|name| ("SIMDEV_NETNS_NAME", name.clone())));
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ready_line_reads_back() {
        let ready = Ready {
            family_id: 0x20,
            port: 4242,
            netns: "/proc/7/ns/net".into(),
            userns: Some("/proc/7/ns/user".into()),
            netns_name: Some("lab".into()),
        };
        let line = ready.line();
        assert_eq!(
            line,
            "ready family=simdev id=0x20 port=4242 netns=/proc/7/ns/net userns=/proc/7/ns/user netns_name=lab"
        );
        let back = Ready::parse(&line).unwrap();
        assert_eq!(back, ready);
        assert_eq!(Ready::parse("ready family=simdev id=0x20 netns=/x").err(), Some("port"));
    }

    #[test]
    fn the_environment_names_what_there_is() {
        let ready = Ready { family_id: 0x20, port: 9, netns: "/n".into(), userns: None, netns_name: None };
        let names: Vec<&str> = ready.environment().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, [crate::PORT_ENV, "SIMDEV_FAMILY_ID", "SIMDEV_NETNS"]);
    }
}
