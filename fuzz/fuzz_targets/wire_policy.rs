//! Any bytes as received netlink: splitting, validation, decoding.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    simdev_protocol::fuzzing::wire_policy(data);
    genl_client::ynl::fuzzing::decode(data);
});
