//! Any datagram, from any uid, through a whole simulator in this process.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| driver_sim::fuzzing::request_path(data));
