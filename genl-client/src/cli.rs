//! `genl-client`'s command line (iproute2/devlink conventions): every flag
//! and command defined and documented once.

use clap::{Parser, Subcommand};
use simdev_protocol::{DEFAULT_PORT, PORT_ENV};

/// Generic Netlink client: resolve families, show and drive simdev devices,
/// against the simdev simulator (default) or the kernel (--kernel).
///
/// Exit status: 0 on success, 1 on any failure (printed on stderr with the
/// errno, the extended-ACK message and the attribute at fault).
#[derive(Debug, Parser)]
#[command(name = "genl-client", version)]
pub struct Cli {
    /// Print JSON (one document per command).
    #[arg(short = 'j', long = "json", global = true)]
    pub json: bool,

    /// Pretty-print JSON.
    #[arg(short = 'p', long = "pretty", global = true)]
    pub pretty: bool,

    /// Talk to the kernel's Generic Netlink (NETLINK_GENERIC, port 0).
    #[arg(long, conflicts_with = "port", global = true)]
    pub kernel: bool,

    /// The simulator's netlink port (decimal or 0x-hex).
    #[arg(long, env = PORT_ENV, value_parser = parse_port, global = true)]
    pub port: Option<u32>,

    #[command(subcommand)]
    pub object: Object,
}

impl Cli {
    pub fn target(&self) -> crate::client::Target {
        if self.kernel {
            crate::client::Target::Kernel
        } else {
            crate::client::Target::Simulator { port: self.port.unwrap_or(DEFAULT_PORT) }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Object {
    /// The controller: families, their ids, ops and groups.
    Ctrl {
        #[command(subcommand)]
        command: CtrlCommand,
    },
    /// simdev devices.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CtrlCommand {
    /// List every family (like `genl ctrl list`).
    #[command(alias = "ls", alias = "show")]
    List,
    /// Show one family by name or id.
    Get {
        /// Family name, or id (decimal or 0x-hex).
        family: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// List devices with their ports, as the kernel sees them.
    #[command(alias = "ls")]
    List,
    /// Show one device.
    Show {
        /// Device name or id.
        dev: String,
    },
    /// Change a device: `dev set DEV [mtu N] [mac M] [up|down]`.
    Set {
        /// Device name or id.
        dev: String,
        /// `mtu N`, `mac aa:bb:cc:dd:ee:ff` (base MAC: port N gets base + N), `up`, `down`.
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

pub fn parse_port(text: &str) -> Result<u32, String> {
    let value = match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .map_err(|e| format!("`{text}` is not a port id: {e}"))?;
    if value == 0 {
        return Err("port 0 is the kernel's; use --kernel".into());
    }
    Ok(value)
}
