//! Any text as a TOML configuration and as a dev-new table.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| driver_sim::fuzzing::config(data));
