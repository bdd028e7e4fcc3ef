//! Generic Netlink client library for simdev and for the kernel's families.
//!
//! The sockets underneath (client, errors, pipelines, the kernel's devlink
//! and ethtool) are [`simdev_netlink`]'s, re-exported here.
//!
//! - [`simdev::SimdevClient`]: typed `simdev` calls; [`simdev::Call`]: one
//!   request as data.
//! - [`batch`]: batch files (`-b`), parsed as iproute2 parses them.
//! - [`ynl`]: any family driven from its YNL spec, as the kernel's YNL CLI does.
//! - [`cli`], [`commands`]: the `genl-client` command line.
//!
//! ```no_run
//! use simdev_netlink::client::Target;
//! use genl_client::simdev::SimdevClient;
//! let mut sim = SimdevClient::connect(Target::Simulator { port: simdev_protocol::DEFAULT_PORT })?;
//! for dev in sim.dev_list()? {
//!     println!("{} has {} ports", dev.name, dev.ports.len());
//! }
//! # Ok::<(), simdev_netlink::error::Error>(())
//! ```

pub mod batch;
pub mod cli;
pub mod commands;
pub mod simdev;
pub mod ynl;

pub use simdev_netlink;
