//! The preload library of `genl-client exec`: loaded into an unmodified
//! program with `LD_PRELOAD`, it makes the program's `NETLINK_GENERIC`
//! sockets see the simulator's `simdev` family next to the kernel's
//! families, as if simdev were one more kernel driver.
//!
//! The program's socket stays its own kernel socket: everything not for
//! simdev goes to the kernel from it, untouched, with the program's
//! credentials, and the kernel's answers are read from it as they are.
//! Each such socket gets a hidden `NETLINK_USERSOCK` companion that talks
//! to the simulator ([`shim`]): requests for simdev's family id (and the
//! controller's questions about simdev) are sent there ([`route`]); the
//! simulator's answers are read from it and delivered through the
//! program's own calls as the kernel would deliver them ([`reframe`]): from
//! port 0, with the program's port in `nlmsg_pid`, with or without extended
//! ACKs and capped errors as the program chose. `poll`, `select` and
//! `epoll` wait on both ([`wait`]). A controller dump gets simdev's entry
//! before the kernel's `NLMSG_DONE`, so it is one dump.
//!
//! With `exec --pcap`, it records the program's conversation ([`record`]).
//!
//! What it needs from `exec` is in [`simdev_protocol::preload`]; without
//! it the library only passes calls through.

// The hooks are not built into the unit tests (they would replace the test
// binary's own socket calls), so some of what they call looks unused there.
#![cfg_attr(test, allow(dead_code))]

mod config;
#[cfg(not(test))]
mod hooks;
mod real;
mod record;
mod reframe;
mod route;
mod shim;
mod table;
mod wait;
