//! Messages of any Generic Netlink family by its YNL spec, with the rules
//! of the kernel's YNL library: the client builds requests and reads
//! replies with it, and the simulator reads requests and builds replies of
//! the families it serves from a spec.
//!
//! - [`codec`]: attributes from JSON, and attributes to values, by the spec.
//! - [`value`]: decoded values, printed as YNL prints them (JSON or pprint).
//! - [`de`]: decoded values read as typed messages (their JSON's serde form).

pub mod codec;
pub mod de;
pub mod value;
