//! What a driver does: its families' ops, one file per object
//! ([`ops`]), the simulated devices ([`device`]) and their state
//! ([`model`]: registers, sensors, firmware, faults), work that blocks in
//! the kernel run on workers ([`background`]), and simdev's
//! stop-at-first-failure batches ([`batch`]); and families served from
//! their YNL specs by generic rules ([`served`]).
//!
//! It never touches sockets: handlers get a validated request and say what
//! to answer; the kernel layer ([`crate::kernel`]) sends it. Hardware is
//! reached through [`crate::hardware`].

pub mod background;
pub mod batch;
pub mod device;
pub mod model;
pub mod ops;
pub mod served;
