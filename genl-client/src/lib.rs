//! Generic Netlink client library for simdev and for the kernel's families.
//!
//! - [`client::Client`]: a socket to the kernel or to a simulator; requests,
//!   dumps, family resolution, decoded errors.
//! - [`simdev::SimdevClient`]: typed `simdev` calls; [`simdev::Call`]: one
//!   request as data.
//! - [`devlink`]: the kernel's devlink family (instances, info, reload, flash).
//! - [`ethtool`]: the kernel's ethtool family (ring sizes).
//! - [`pipeline`]: many requests in flight, answers matched in order.
//! - [`mmsg`]: many datagrams per system call.
//! - [`batch`]: batch files (`-b`), parsed as iproute2 parses them.
//! - [`ynl`]: any family driven from its YNL spec, as the kernel's YNL CLI does.
//! - [`cli`], [`commands`]: the `genl-client` command line.
//!
//! ```no_run
//! use genl_client::client::Target;
//! use genl_client::simdev::SimdevClient;
//! let mut sim = SimdevClient::connect(Target::Simulator { port: simdev_protocol::DEFAULT_PORT })?;
//! for dev in sim.dev_list()? {
//!     println!("{} has {} ports", dev.name, dev.ports.len());
//! }
//! # Ok::<(), genl_client::error::Error>(())
//! ```

pub mod batch;
pub mod cli;
pub mod client;
pub mod commands;
pub mod devlink;
pub mod error;
pub mod ethtool;
pub mod mmsg;
pub mod pipeline;
pub mod simdev;
pub mod ynl;
