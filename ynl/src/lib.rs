//! YNL specs, read: the kernel's YAML definitions of Generic Netlink
//! families (`Documentation/netlink/specs/*.yaml`) turned into a
//! [`Family`] in which every attribute and operation has its number and
//! every reference is checked.
//!
//! simdev's own family is written as such a spec (`protocol/simdev.yaml`);
//! its build script reads it with this crate to generate the family's
//! constants and policies, and genl-client reads any family's spec with it
//! at run time. Nothing here does I/O beyond what the caller hands in,
//! but for finding the kernel's specs by name ([`specs`]).

pub mod kernel_policy;
mod model;
mod raw;
pub mod specs;
mod yaml;

pub use model::*;

/// Why a spec cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("YAML error at line {line}, column {column}: {message}")]
    Yaml { line: usize, column: usize, message: String },
    #[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
    Invalid { path: String, message: String },
}
