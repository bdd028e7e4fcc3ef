//! The simulated hardware's own state, one file per part: the register
//! file, sensors, firmware (with its flash state machine), and injected
//! faults. Pure state and rules, no I/O and no clocks: the device ties them
//! to the kernel and the event loop drives time.

pub mod faults;
pub mod firmware;
pub mod registers;
pub mod sensors;
