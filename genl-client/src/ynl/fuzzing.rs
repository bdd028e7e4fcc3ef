//! The client's half of the `wire_policy` fuzz target (`fuzz/`), which the
//! test suite also replays on the checked-in corpus: arbitrary bytes as an
//! answer of the simdev family, decoded by the spec (known attributes only,
//! and with unknown ones kept), printed both ways, and converted to every
//! typed message. None of it may panic, whatever the bytes.

use super::codec::Codec;
use super::value::{pformat, python_json};
use crate::simdev::{simdev_spec, typed};
use simdev_protocol::simdev::{DevInfo, FaultInfo, FwInfo, FwStatus, PortInfo, RegInfo, Scoped, SensorInfo, StatsInfo};
use simdev_protocol::wire::split_messages;

pub fn decode(data: &[u8]) {
    let mut codec = Codec::new(simdev_spec());
    for message in split_messages(data) {
        for process_unknown in [false, true] {
            codec.process_unknown = process_unknown;
            let Ok(value) = codec.decode("dev", message.genl_attrs(0)) else { continue };
            let _ = pformat(&value);
            let _ = python_json(&value.to_json());
            let _ = typed::<DevInfo>(&value);
            let _ = typed::<Scoped<PortInfo>>(&value);
            let _ = typed::<Scoped<RegInfo>>(&value);
            let _ = typed::<Scoped<SensorInfo>>(&value);
            let _ = typed::<Scoped<FwInfo>>(&value);
            let _ = typed::<Scoped<FwStatus>>(&value);
            let _ = typed::<Scoped<FaultInfo>>(&value);
            let _ = typed::<StatsInfo>(&value);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The checked-in corpus of the `wire_policy` fuzz target, replayed.
    #[test]
    fn the_fuzz_corpus_replays_without_a_panic() {
        simdev_protocol::fuzzing::replay_corpus("wire_policy", super::decode);
    }
}
