//! The spec-driven client: any Generic Netlink family driven from its YNL
//! spec, as the kernel's YNL CLI drives it (`--do`, `--dump`, `--json`,
//! `--subscribe`, `--list-ops`), with the same results.
//!
//! - [`codec`]: requests from JSON, replies to values, by the spec.
//! - [`value`]: decoded values, printed as YNL prints them (JSON or pprint).
//! - [`fuzzing`]: the client's half of the `wire_policy` fuzz target.

pub mod codec;
pub mod fuzzing;
pub mod value;
