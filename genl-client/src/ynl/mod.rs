//! The spec-driven client: any Generic Netlink family driven from its YNL
//! spec, as the kernel's YNL CLI drives it (`--do`, `--dump`, `--json`,
//! `--subscribe`, `--list-ops`), with the same results.
//!
//! - [`codec`]: requests from JSON, replies to values, by the spec.
//! - [`value`]: decoded values, printed as YNL prints them (JSON or pprint).
//! - [`de`]: decoded values read as typed messages (their JSON's serde form).
//! - [`fuzzing`]: the client's half of the `wire_policy` fuzz target.

pub mod codec;
pub mod de;
pub mod fuzzing;
pub mod value;
