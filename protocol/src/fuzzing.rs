//! Entry point of the `wire_policy` fuzz target (`fuzz/`), which the test
//! suite also replays on the checked-in corpus: arbitrary bytes through
//! what both sides run on what they receive — splitting a datagram,
//! attribute iteration, policy validation (strict and liberal) against
//! every policy of both families (each op's do and dump policy), status
//! decoding, the controller's decoders. (The client's spec-driven decoding
//! of answers is fuzzed by the same target through
//! `genl_client::ynl::fuzzing`.) None of it may panic, whatever the bytes.

use crate::ctrl::{FamilyInfo, CTRL_GETFAMILY_POLICY, CTRL_GETPOLICY_POLICY};
use crate::extack::decode_status;
use crate::policy::{parse, AttrSet, Strictness};
use crate::policy_dump::PolicyPart;
use crate::simdev::{DEV_ATTRS, FAMILY};
use crate::wire::{split_messages, Attrs};

/// How deep nests are walked (the kernel's own limit is similar).
const MAX_DEPTH: usize = 8;

pub fn wire_policy(data: &[u8]) {
    let per_op = FAMILY.commands.iter().flat_map(|c| [c.do_policy, c.dump_policy]).flatten();
    let policies: Vec<&AttrSet> =
        [&DEV_ATTRS, &CTRL_GETFAMILY_POLICY, &CTRL_GETPOLICY_POLICY].into_iter().chain(per_op).collect();
    for message in split_messages(data) {
        let _ = decode_status(&message);
        let _ = message.genl_header();
        let attrs = message.genl_attrs(0);
        walk(attrs.clone(), 0);
        for &policy in &policies {
            for strictness in [Strictness::Strict, Strictness::Liberal] {
                if let Ok(parsed) = parse(policy, attrs.clone(), strictness) {
                    let _ = parsed.warning;
                }
            }
        }
        let _ = FamilyInfo::decode(attrs.clone());
        let _ = PolicyPart::decode(attrs);
    }
}

/// Reads every attribute, nested ones as nests, the way a generic decoder does.
fn walk(attrs: Attrs<'_>, depth: usize) {
    for attr in attrs {
        let _ = (attr.kind(), attr.uint(), attr.string(), attr.i64());
        if depth < MAX_DEPTH {
            walk(attr.nested(), depth + 1);
        }
    }
}

/// Runs `run` on every input of fuzz target `target`'s checked-in corpus
/// (`fuzz/corpus/TARGET` in this workspace): the test suites replay them
/// on stable. Panics if the corpus is missing or empty.
pub fn replay_corpus(target: &str, run: fn(&[u8])) {
    let dir = format!("{}/../fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        run(&std::fs::read(entry.unwrap().path()).unwrap());
        count += 1;
    }
    assert!(count > 0, "the {target} corpus is not empty");
}

#[cfg(test)]
mod tests {
    /// The checked-in corpus of the `wire_policy` fuzz target, replayed.
    #[test]
    fn the_fuzz_corpus_replays_without_a_panic() {
        super::replay_corpus("wire_policy", super::wire_policy);
    }
}
