//! Clients that do not read, ask for too much, or dump while others
//! change things: nobody else is delayed, memory stays bounded, dumps come
//! a buffer at a time within the stated size, and a dump that saw a change
//! says so.

use simdev_protocol::ctrl::{self, GENL_ID_CTRL};
use simdev_protocol::extack::decode_status;
use simdev_protocol::simdev::{cmd, DevSelector, DevSet};
use simdev_protocol::wire::{
    split_messages, MessageBuilder, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use simdev_tests::{peak_rss_kib, RawSocket, Simulator};
use std::time::{Duration, Instant};

/// A generous bound on an answer to a well-behaved client: far above any
/// normal round trip (milliseconds), far below the stalls a blocking
/// simulator caused (5 s per unread answer).
const PROMPTLY: Duration = Duration::from_secs(1);

fn getfamily_dump(seq: u32) -> Vec<u8> {
    MessageBuilder::genl(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, seq, 0, ctrl::cmd::GETFAMILY, 2).finish()
}

fn policy_dump(seq: u32) -> Vec<u8> {
    let mut m = MessageBuilder::genl(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, seq, 0, ctrl::cmd::GETPOLICY, 2);
    m.put_str(ctrl::attr::FAMILY_NAME, "simdev");
    m.finish()
}

fn getfamily(seq: u32) -> Vec<u8> {
    let mut m = MessageBuilder::genl(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq, 0, ctrl::cmd::GETFAMILY, 2);
    m.put_str(ctrl::attr::FAMILY_NAME, "simdev");
    m.finish()
}

/// A socket that never reads, with the smallest receive buffer the kernel allows.
fn stalled_socket() -> RawSocket {
    RawSocket::usersock(1)
}

/// How long a well-behaved client's `ctrl list` (the CLI) and `dev list`
/// (the library) take.
fn well_behaved_round_trips(sim: &Simulator) -> Duration {
    let started = Instant::now();
    let out = sim.cli(&["ctrl", "list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("simdev"));
    assert!(!sim.simdev().dev_list().unwrap().is_empty());
    started.elapsed()
}

#[test]
fn clients_that_do_not_read_delay_nobody_else() {
    let sim = Simulator::start("[[device]]\nname = \"st0\"\n");
    // 200 controller dumps, never read.
    let dumps = stalled_socket();
    for seq in 1..=200 {
        dumps.send_to(sim.port, &getfamily_dump(seq));
    }
    // 24 policy dumps in one 768-byte datagram, never read.
    let policies = stalled_socket();
    let datagram: Vec<u8> = (1..=24).flat_map(policy_dump).collect();
    assert_eq!(datagram.len(), 768);
    policies.send_to(sim.port, &datagram);
    // Six plain requests, never read.
    let plain = stalled_socket();
    for seq in 1..=6 {
        plain.send_to(sim.port, &getfamily(seq));
    }
    let took = well_behaved_round_trips(&sim);
    assert!(took < PROMPTLY, "a well-behaved client waited {took:?}");
    // The stalled clients still get their answers once they read.
    let (datagrams, _) = plain.receive_all(Duration::from_millis(200));
    assert_eq!(datagrams.len(), 12, "six replies and six ACKs, each its own datagram");
}

#[test]
fn the_amplification_pattern_keeps_memory_bounded_and_drops_are_counted() {
    let sim = Simulator::start("[[device]]\nname = \"am0\"\nbackend = \"model\"\n");
    let before = peak_rss_kib(sim.pid());
    let one = policy_dump(1);
    let datagram: Vec<u8> = one.iter().copied().cycle().take(one.len() * (64 * 1024 / one.len() - 1)).collect();
    let socket = stalled_socket();
    for _ in 0..32 {
        socket.send_to(sim.port, &datagram);
    }
    let took = well_behaved_round_trips(&sim);
    assert!(took < PROMPTLY, "a well-behaved client waited {took:?} behind 32 x 64 KiB of requests");
    let peak = peak_rss_kib(sim.pid());
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB (at start: {before} KiB)");
    let stats = sim.simdev().stats(&DevSelector::Name("am0".into())).unwrap().server;
    assert!(stats.answers_dropped > 0, "{stats:?}");
    assert!(stats.answers_queued <= 128 * 1024, "one client's queue is bounded: {stats:?}");
    assert_eq!(stats.clients_waiting, 1, "{stats:?}");
}

/// Every datagram of a 3000-device dump read with a 32 KiB buffer: whole
/// (the kernel reports the true length with MSG_TRUNC), the dump complete,
/// `NLMSG_DONE` among them; a second dump asked for meanwhile is `EBUSY`.
#[test]
fn dumps_come_a_buffer_at_a_time_within_32_kib_and_one_at_a_time() {
    let sim = Simulator::start("[[device]]\nname = \"bulk\"\nbackend = \"model\"\ncount = 3000\n");
    let socket = RawSocket::usersock(1);
    let dump = |seq| MessageBuilder::genl(sim.family_id, NLM_F_REQUEST | NLM_F_DUMP, seq, 0, cmd::DEV_GET, 1).finish();
    let mut both = dump(1);
    both.extend(dump(2));
    socket.send_to(sim.port, &both);
    let (datagrams, truncated) = socket.receive_all(Duration::from_millis(500));
    assert_eq!(truncated, 0, "no datagram is longer than 32 KiB");
    let mut devices = 0;
    let mut done = 0;
    let mut busy = 0;
    for datagram in &datagrams {
        assert!(datagram.len() <= 32 * 1024);
        for message in split_messages(datagram) {
            match (message.header.seq, message.header.ty) {
                (1, NLMSG_DONE) => done += 1,
                (1, ty) if ty == sim.family_id => devices += 1,
                (2, NLMSG_ERROR) => {
                    assert_eq!(decode_status(&message).unwrap().error, -libc::EBUSY);
                    busy += 1;
                }
                other => panic!("unexpected message {other:?}"),
            }
        }
    }
    assert_eq!((devices, done, busy), (3000, 1, 1));
    assert!(datagrams.len() > 10, "{} datagrams", datagrams.len());
}

#[test]
fn a_dump_during_which_the_devices_change_is_flagged_interrupted() {
    let sim = Simulator::start("[[device]]\nname = \"chg\"\nbackend = \"model\"\ncount = 3000\n");
    let socket = RawSocket::usersock(1);
    let request = MessageBuilder::genl(sim.family_id, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, cmd::DEV_GET, 1).finish();
    socket.send_to(sim.port, &request);
    let first = socket.receive_one(Duration::from_secs(5)).expect("the first buffer");
    assert!(split_messages(&first).all(|m| m.header.flags & NLM_F_DUMP_INTR == 0), "nothing changed yet");
    sim.simdev().dev_set(&DevSet { mtu: Some(9000), ..DevSet::new(DevSelector::Name("chg17".into())) }).unwrap();
    let (rest, _) = socket.receive_all(Duration::from_millis(500));
    let messages: Vec<(u16, u16)> = rest
        .iter()
        .flat_map(|d| split_messages(d).map(|m| (m.header.ty, m.header.flags)).collect::<Vec<_>>())
        .collect();
    assert!(messages.len() > 100);
    assert!(messages.iter().rev().skip(1).take(50).all(|(_, flags)| flags & NLM_F_DUMP_INTR != 0));
    let (ty, flags) = *messages.last().unwrap();
    assert_eq!(ty, NLMSG_DONE);
    assert!(flags & NLM_F_DUMP_INTR != 0, "NLMSG_DONE is flagged too");
}
