//! The spec-driven client: any Generic Netlink family driven from its YNL
//! spec, as the kernel's YNL CLI drives it (`--do`, `--dump`, `--json`,
//! `--subscribe`, `--list-ops`), with the same results. The codec and the
//! values are the protocol crate's ([`simdev_protocol::ynl`]), shared with
//! the simulator's spec-served families.
//!
//! - [`fuzzing`]: the client's half of the `wire_policy` fuzz target.

pub use simdev_protocol::ynl::{codec, de, value};
pub mod fuzzing;
