//! Entry points of the simulator's fuzz targets (`fuzz/`), which the test
//! suite also replays on the checked-in corpora:
//! - [`request_path`]: any datagram, from any uid, through a whole
//!   simulator in this process (model devices, no sockets): the request
//!   path, every handler, dumps read to their end, the timers that follow;
//!   every answer must be a datagram a kernel client can read;
//! - [`config`]: any text as a configuration file and as a `dev-new` table.
//!
//! None of it may panic, whatever the bytes.

use crate::config::{Config, DeviceConfig, ResolvedDevices};
use crate::driver::device::{Backends, Devices};
use crate::kernel::clients::{Clients, Sent, MESSAGES_PER_TURN};
use crate::kernel::dump::DUMP_DATAGRAM_MAX;
use crate::kernel::families::Families;
use crate::kernel::genl::{handle_datagram, Sender};
use crate::simulator::Simulator;
use simdev_protocol::extack::decode_status;
use simdev_protocol::wire::{align4, split_messages, NLMSG_DONE, NLMSG_ERROR};
use std::time::Duration;

/// The devices the in-process simulator starts with: something for every
/// handler to work on.
const DEVICES: &str = r#"
[simulator]
admin_uids = [0, 1000]

[[device]]
name = "fz0"
backend = "model"
ports = 2
mac = "02:00:00:00:00:10"
[device.firmware]
flash_duration_ms = 100
[[device.register]]
name = "ctrl"
offset = 0
[[device.register]]
name = "link"
offset = 8
width = 8
access = "ro"
reflects = "carrier"
[[device.register]]
name = "irq"
offset = 12
access = "w1c"
reset = 0xff
[[device.register]]
name = "doorbell"
offset = 16
access = "wo"
[[device.sensor]]
name = "temp"
kind = "temperature"
unit = "mC"
value = 40000
min = -40000
max = 125000
alarm_high = 90000
[[device.fault]]
command = "reg-set"
errno = "EIO"
count = 1
[[device.fault]]
command = "link-flap"
interval_ms = 10
down_ms = 5
port = 1

[[device]]
name = "fz1"
id = 7
backend = "model"
count = 3
"#;

/// A simulator in this process, without sockets or a hardware namespace:
/// the families and the model devices of `config`.
pub fn in_process_simulator(config: &str) -> Simulator {
    let config = Config::parse(config, "in-process").expect("a valid configuration");
    let (admin_uids, seed) = (config.simulator.admin_uids.clone().unwrap_or_else(|| vec![0]), config.simulator.seed);
    model_simulator(config.into_devices(), admin_uids, seed)
}

fn model_simulator(configs: ResolvedDevices, admin_uids: Vec<u32>, seed: u64) -> Simulator {
    let mut devices = Devices::new(Backends::model_only(), seed);
    devices.create_all(configs).expect("model devices");
    // Virtual time: the fuzzer runs an hour of timers in no time.
    let timers = crate::kernel::timers::Timers::new(true);
    Simulator::new(
        Families::new(&[(&crate::driver::ops::SIMDEV, simdev_protocol::ctrl::GENL_START_ALLOC)], &[]),
        devices,
        admin_uids,
        timers,
    )
}

/// A fresh simulator with [`DEVICES`] (parsed once: each run starts anew
/// from the same state).
fn fuzz_simulator() -> Simulator {
    static PARSED: std::sync::OnceLock<(ResolvedDevices, Vec<u32>, u64)> = std::sync::OnceLock::new();
    let (configs, admin_uids, seed) = PARSED.get_or_init(|| {
        let config = Config::parse(DEVICES, "fuzz devices").expect("a valid configuration");
        let admin_uids = config.simulator.admin_uids.clone().unwrap_or_default();
        let seed = config.simulator.seed;
        (config.into_devices(), admin_uids, seed)
    });
    model_simulator(configs.clone(), admin_uids.clone(), *seed)
}

/// The client the datagram comes from.
const PORT: u32 = 4242;

/// One datagram (after a first byte choosing the sender's uid: root, an
/// admin, nobody, or none known) through a fresh in-process simulator;
/// then everything the client would read, the timers that follow, and
/// what the simulator announces.
pub fn request_path(data: &[u8]) {
    let Some((&who, datagram)) = data.split_first() else { return };
    let uid = [Some(0), Some(1000), Some(65534), None][usize::from(who % 4)];
    let mut sim = fuzz_simulator();
    let mut clients = Clients::default();
    let sender = Sender { port: PORT, uid };
    // Every message, a turn at a time, as the event loop answers them.
    let mut rest = Some(0);
    while let Some(offset) = rest {
        let client = clients.entry(PORT, uid);
        rest = handle_datagram(&mut sim, &datagram[offset..], sender, client, MESSAGES_PER_TURN).map(|r| offset + r);
        clients.settle(PORT);
        read_everything(&mut sim, &mut clients);
    }
    // Timers (flash steps, flaps, held-back answers), in order, bounded:
    // link flaps go on forever.
    // A clock-advance it asked for, a few turns of it.
    for _ in 0..5 {
        sim.continue_advance();
    }
    let later = sim.timers.now() + Duration::from_secs(3600);
    for _ in 0..50 {
        let Some((deadline, event)) = sim.timers.advance_step(later) else { break };
        if let Some((port, uid, datagrams)) = sim.run_timer(deadline, event) {
            for datagram in datagrams {
                clients.push(port, uid, datagram);
            }
        }
    }
    read_everything(&mut sim, &mut clients);
    sim.announce_changes();
    for notification in sim.take_notifications().into_iter().map(|n| n.message) {
        check_answer(&notification, false);
    }
}

/// Flushes the client until nothing is left (dumps read to their end).
fn read_everything(sim: &mut Simulator, clients: &mut Clients) {
    let mut send = |_: u32, datagrams: &[&[u8]]| {
        for datagram in datagrams {
            check_answer(datagram, true);
        }
        (datagrams.len(), Sent::Delivered)
    };
    for _ in 0..100_000 {
        if !clients.waiting(PORT) {
            return;
        }
        clients.flush(PORT, sim, &mut send);
    }
    panic!("a client that reads everything still has answers waiting");
}

/// What a kernel client relies on: whole, aligned messages filling the
/// datagram, at most 32 KiB of them, readable statuses.
fn check_answer(datagram: &[u8], unicast: bool) {
    let mut length = 0;
    let mut count = 0;
    for message in split_messages(datagram) {
        length += align4(message.header.len as usize);
        count += 1;
        if matches!(message.header.ty, NLMSG_ERROR | NLMSG_DONE) {
            assert!(decode_status(&message).is_some(), "an unreadable status");
        }
    }
    assert_eq!(length.min(datagram.len()), datagram.len(), "bytes after the last message");
    assert!(count > 0, "an empty answer");
    if unicast && count > 1 {
        assert!(datagram.len() <= DUMP_DATAGRAM_MAX, "a dump buffer of {} bytes", datagram.len());
    }
}

/// Any text as a configuration file (at most 1000 devices: the limit a
/// real file has is for memory, not for the parser) and as a `dev-new` table.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Config::parse_limited(text, "fuzz.toml", 1000);
    let _ = DeviceConfig::parse(text, "fuzz dev-new");
}

#[cfg(test)]
mod tests {
    use simdev_protocol::fuzzing::replay_corpus as replay;

    /// The checked-in corpora of the simulator's fuzz targets, replayed.
    #[test]
    fn the_request_path_corpus_replays_without_a_panic() {
        replay("request_path", super::request_path);
    }

    #[test]
    fn the_config_corpus_replays_without_a_panic() {
        replay("config", super::config);
    }

    #[test]
    fn the_in_process_simulator_answers_a_dump() {
        use simdev_protocol::wire::{MessageBuilder, NLM_F_DUMP, NLM_F_REQUEST};
        let mut request = vec![0u8];
        request.extend(MessageBuilder::genl(0x13, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, 1, 1).finish());
        super::request_path(&request);
    }
}
