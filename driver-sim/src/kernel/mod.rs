//! What the kernel's Generic Netlink core does, for any family: the socket
//! and event loop ([`server`]), what is kept per client socket
//! ([`clients`]), the request path from datagram to answer ([`genl`]),
//! dumps a buffer at a time ([`dump`]), the emulated controller `nlctrl`
//! ([`controller`]), the registered families with their ids and groups
//! ([`families`]), the timer queue ([`timers`]), waking the loop from
//! other threads ([`wake`]), recording conversations ([`capture`]) and
//! answering as a recorded one answered ([`replay`]).
//!
//! It knows a family only through its registry entry (spec, policies, op
//! table, hooks); what an op does is the driver's ([`crate::driver`]).

pub mod capture;
pub mod clients;
pub mod controller;
pub mod dump;
pub mod families;
pub mod genl;
pub mod replay;
pub mod server;
pub mod timers;
pub mod wake;
