//! The simulator's state: registered families, devices, timers, who may
//! administer, and notifications waiting to be sent. One instance, owned by
//! the event loop; handlers and timers get it by `&mut`.

use crate::driver::device::Devices;
use crate::driver::device::SETTLE_MAX;
use crate::kernel::families::Families;
use crate::kernel::genl::HandlerError;
use crate::kernel::timers::{TimerEvent, Timers};
use simdev_protocol::extack::build_error;
use simdev_protocol::simdev::{self, cmd, FaultInfo, FwStatus, Nested, GROUP_CONFIG, GROUP_EVENTS, GROUP_FW};
use simdev_protocol::wire::MessageBuilder;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A notification waiting to be sent to its group and its subscribers.
#[derive(Debug, Clone)]
pub struct Notification {
    pub group: u32,
    pub message: Vec<u8>,
    /// Subscribers that have it already: the socket whose request made it
    /// gets it before that request's answer (see
    /// [`crate::kernel::genl`]), and the fan-out skips them.
    pub delivered: Vec<u32>,
}

/// Answers a latency fault held back: `(port, uid, datagrams)`.
pub type HeldAnswers = (u32, Option<u32>, Vec<Vec<u8>>);

/// How long the carrier stays off when a reset flaps the ports.
pub const RESET_FLAP: Duration = Duration::from_millis(100);

pub struct Simulator {
    pub families: Families,
    /// The stores of the families served from their specs.
    pub served: crate::driver::served::ServedFamilies,
    /// Workers for what blocks in the kernel (netdevsim flashes).
    pub background: crate::driver::background::Background,
    pub devices: Devices,
    pub timers: Timers,
    admin_uids: Vec<u32>,
    notifications: Vec<Notification>,
    /// Bumped by every announced change: a dump that sees it move marks
    /// its later messages `NLM_F_DUMP_INTR`.
    generation: u64,
    /// The serving side's counters, as the event loop last reported them.
    pub server_stats: simdev_protocol::simdev::ServerStats,
    /// Watches the kernel's notifications about the hardware.
    pub watcher: Option<crate::kernel::wake::Watcher>,
    /// The recorded conversation answering requests (`--replay`).
    pub replay: Option<crate::kernel::replay::Replay>,
    /// The `clock-advance` in progress.
    advancing: Option<Advance>,
    next_token: u64,
    /// Requests waiting for their work to end, by token.
    pending: HashMap<u64, PendingRequest>,
    /// Answers to such requests, ready to go to their clients.
    completed: Vec<HeldAnswers>,
    /// New devices whose `dev-new` is answered once their ports settled.
    settling: Vec<Settling>,
}

/// Timer events one turn of the event loop runs while the virtual clock is
/// being advanced: however long the span, other clients are served between
/// turns.
pub const ADVANCE_BUDGET: usize = 1000;

/// A `clock-advance` in progress: where it goes, and its waiting request.
#[derive(Debug)]
struct Advance {
    until: Duration,
    token: u64,
}

/// A request whose answer waits for work a worker does.
#[derive(Debug)]
pub struct PendingRequest {
    pub port: u32,
    pub uid: Option<u32>,
    pub header: simdev_protocol::wire::NlHeader,
}

/// A `dev-new` whose answer waits until its ports' link state settled, as
/// the simulator's own startup waits (at most [`SETTLE_MAX`]).
#[derive(Debug)]
struct Settling {
    dev: u32,
    token: u64,
    deadline: Instant,
}

impl Simulator {
    /// A simulator on `timers`' clock (real or virtual).
    pub fn new(families: Families, devices: Devices, admin_uids: Vec<u32>, timers: Timers) -> Self {
        let mut sim = Simulator {
            families,
            served: Default::default(),
            background: Default::default(),
            devices,
            timers,
            admin_uids,
            notifications: Vec::new(),
            generation: 0,
            server_stats: Default::default(),
            watcher: None,
            replay: None,
            advancing: None,
            next_token: 0,
            pending: HashMap::new(),
            completed: Vec::new(),
            settling: Vec::new(),
        };
        for id in sim.devices.ids() {
            sim.start_flaps(id);
        }
        sim
    }

    /// Whether a sender may run admin commands (the simulator's stand-in
    /// for `CAP_NET_ADMIN`).
    pub fn may_administer(&self, uid: Option<u32>) -> bool {
        uid.is_some_and(|uid| self.admin_uids.contains(&uid))
    }

    /// Starts a notification message of the simdev family (seq 0, port 0).
    pub fn notification(&self, command: u8) -> MessageBuilder {
        MessageBuilder::genl(self.families.expect(simdev::FAMILY_NAME).id, 0, 0, 0, command, simdev::FAMILY_VERSION)
    }

    /// How many changes were announced so far.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Queues a notification about device `dev` on one of simdev's groups.
    /// Every state change is announced, so this also counts changes.
    pub fn notify(&mut self, dev: u32, group: &str, message: Vec<u8>) {
        self.bump_generation();
        if let Some(device) = self.devices.get_mut(dev) {
            device.stats.notifications += 1;
        }
        let group = self.families.expect(simdev::FAMILY_NAME).group(group).expect("a declared group");
        self.multicast(group, message);
    }

    /// Notes a change: dumps running now get `NLM_F_DUMP_INTR`.
    pub fn bump_generation(&mut self) {
        self.generation += 1;
    }

    /// Queues a notification for multicast group `group` (any family's)
    /// and its unicast subscribers.
    pub fn multicast(&mut self, group: u32, message: Vec<u8>) {
        self.notifications.push(Notification { group, message, delivered: Vec::new() });
    }

    /// Notes that a device changed: it is announced as it is then (one
    /// `dev-change-ntf` on `config`, however many changes) by
    /// [`Simulator::announce_changes`].
    pub fn notify_dev_change(&mut self, dev: u32) {
        self.devices.mark_changed(dev);
    }

    /// Reads what the kernel announced about the hardware (if anything
    /// arrived), and announces every device that changed, whoever changed
    /// it: a handler, a timer, or somebody else through the kernel.
    pub fn announce_changes(&mut self) {
        if let Some(watcher) = &self.watcher {
            let devices = &mut self.devices;
            watcher.when_ready(|| devices.sync_hardware());
        }
        for dev in self.devices.take_changed() {
            self.notify_dev(dev, cmd::DEV_CHANGE_NTF);
        }
        self.answer_settled();
    }

    /// Answers `dev-new` request `token` (its reply, the device as it is
    /// then, and its ACK) once device `dev`'s ports settled.
    /// (Checked each turn of the event loop, after the kernel's news.)
    pub fn answer_when_settled(&mut self, dev: u32, token: u64) {
        self.settling.push(Settling { dev, token, deadline: Instant::now() + SETTLE_MAX });
    }

    fn answer_settled(&mut self) {
        if self.settling.is_empty() {
            return; // every turn of the loop comes here
        }
        let now = Instant::now();
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.settling)
            .into_iter()
            .partition(|s| now >= s.deadline || self.devices.is_settled(s.dev));
        self.settling = waiting;
        let family_id = self.families.expect(simdev::FAMILY_NAME).id;
        for Settling { dev, token, .. } in ready {
            let Some(&PendingRequest { port, uid, header }) = self.pending.get(&token) else { continue };
            let mut reply = MessageBuilder::genl(family_id, 0, header.seq, port, cmd::DEV_NEW, simdev::FAMILY_VERSION);
            match self.devices.info(dev) {
                Ok(info) => {
                    info.encode(&mut reply);
                    self.completed.push((port, uid, vec![reply.finish()]));
                }
                Err(e) => log::warn!("device {dev}: cannot read it to answer dev-new: {e}"),
            }
            self.answer(token, Ok(()));
        }
    }

    /// Sends the whole device with `command` on the `config` group.
    pub fn notify_dev(&mut self, dev: u32, command: u8) {
        match self.devices.info(dev) {
            Ok(info) => {
                let mut message = self.notification(command);
                info.encode(&mut message);
                self.notify(dev, GROUP_CONFIG, message.finish());
            }
            Err(e) => log::warn!("device {dev}: cannot read it for a notification: {e}"),
        }
    }

    /// Sends one object of device `dev` (`dev-id`, `dev-name`, the nest).
    pub fn notify_object<T: Nested>(&mut self, dev: u32, command: u8, group: &str, object: T) {
        let Some(device) = self.devices.get(dev) else {
            return;
        };
        let mut message = self.notification(command);
        device.scoped(vec![object]).encode(&mut message);
        self.notify(dev, group, message.finish());
    }

    pub fn take_notifications(&mut self) -> Vec<Notification> {
        std::mem::take(&mut self.notifications)
    }

    /// The notifications not sent yet, to hand some out early.
    pub fn waiting_notifications(&mut self) -> &mut [Notification] {
        &mut self.notifications
    }

    /// A token for a request answered later ([`crate::kernel::genl::Context::answer_later`]),
    /// to give [`Simulator::answer`] when its work ends.
    pub fn new_token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// Keeps a request whose answer comes later.
    pub fn wait_for(&mut self, token: u64, request: PendingRequest) {
        self.pending.insert(token, request);
    }

    /// Answers the request waiting under `token`: its ACK (if it asked for
    /// one), or its error.
    pub fn answer(&mut self, token: u64, outcome: Result<(), HandlerError>) {
        let Some(request) = self.pending.remove(&token) else { return };
        let answer = match outcome {
            Ok(()) if request.header.flags & simdev_protocol::wire::NLM_F_ACK == 0 => return,
            Ok(()) => build_error(&request.header, request.port, 0, &Default::default()),
            Err(e) => build_error(&request.header, request.port, -e.errno, &e.ext),
        };
        self.completed.push((request.port, request.uid, vec![answer]));
    }

    /// Answers that became ready since the last call.
    pub fn take_completed(&mut self) -> Vec<HeldAnswers> {
        std::mem::take(&mut self.completed)
    }

    /// Counts a request against the device it was about.
    pub fn count_request(&mut self, dev: u32, failed: bool) {
        if let Some(device) = self.devices.get_mut(dev) {
            device.stats.commands += 1;
            if failed {
                device.stats.errors += 1;
            }
        }
    }

    /// An injected fault fired on device `dev`: counted, and announced
    /// (`fault-fired-ntf` on `events`).
    pub fn fault_fired(&mut self, dev: u32, fault: FaultInfo) {
        if let Some(device) = self.devices.get_mut(dev) {
            device.stats.faults_fired += 1;
        }
        // What it fails now (a flash fails later, as it reaches its
        // percent), its reporter reports.
        let failure = match fault.command.as_str() {
            simdev::LINK_FLAP => fault.port_index.map(|port| format!("injected fault: port {port} lost carrier")),
            _ if fault.fail_at.is_none() && fault.errno != 0 => {
                Some(crate::driver::model::faults::injected_failure(&fault.command, fault.errno as i32))
            }
            _ => None,
        };
        let reporter = fault.reporter.clone();
        self.notify_object(dev, cmd::FAULT_FIRED_NTF, GROUP_EVENTS, fault);
        if let (Some(reporter), Some(message)) = (reporter, failure) {
            self.fault_reports(dev, &reporter, &message);
        }
    }

    /// A fault's health reporter reports what the fault failed (checked
    /// when the fault was set; gone only if a reload remade reporters
    /// without it, which a configuration's cannot).
    fn fault_reports(&mut self, dev: u32, reporter: &str, message: &str) {
        if crate::driver::served::devlink::report_error(self, dev, reporter, message).is_none() {
            log::warn!("device {dev}: a fault's health reporter {reporter} is gone");
        }
    }

    /// (Re)starts the link-flap faults of `dev`: earlier flap timers
    /// become stale, each current link-flap fault gets its first flap.
    pub fn start_flaps(&mut self, dev: u32) {
        let Some(device) = self.devices.get_mut(dev) else {
            return;
        };
        device.flap_generation += 1;
        let generation = device.flap_generation;
        let flaps: Vec<_> = device.faults.flaps().collect();
        for (port, interval, _) in flaps {
            self.timers.schedule(interval, TimerEvent::FlapDown { dev, port, generation });
        }
    }

    /// Announces a flash status (`fw-flash-status-ntf` on `fw`, and
    /// devlink's flash notifications where devlink is served).
    pub fn notify_flash(&mut self, dev: u32, status: FwStatus) {
        crate::driver::served::devlink::flash::relay_flash(self, dev, &status);
        self.notify_object(dev, cmd::FW_FLASH_STATUS_NTF, GROUP_FW, status);
    }

    /// Ends every flash as the simulator stops: each gets its final
    /// status ("Flashing aborted", `ECANCELED`), so nobody waits for it.
    pub fn abort_flashes(&mut self, why: &str) {
        for id in self.devices.ids() {
            let device = self.devices.get_mut(id).expect("listed");
            let status = match &device.kernel_work {
                Some(crate::driver::device::KernelWork::Flash(file)) => Some(FwStatus {
                    message: format!("Flashing aborted: {why}"),
                    version: file.clone(),
                    done: 0,
                    total: 0,
                    error: libc::ECANCELED as u32,
                    finished: true,
                }),
                _ => device.firmware.abort(why),
            };
            if let Some(status) = status {
                self.notify_flash(id, status);
            }
        }
    }

    /// Turns what background workers reported into notifications.
    pub fn poll_background(&mut self) {
        for event in self.background.drain() {
            match event {
                crate::driver::background::Event::Flash { dev, status } => {
                    let finished = status.finished;
                    self.notify_flash(dev, status);
                    if finished {
                        if let Some(device) = self.devices.get_mut(dev) {
                            device.kernel_work = None;
                        }
                        self.notify_dev_change(dev);
                    }
                }
                crate::driver::background::Event::Version { dev, version } => {
                    if let Some(device) = self.devices.get_mut(dev) {
                        device.kernel_fw_version = Some(version);
                    }
                }
                crate::driver::background::Event::Reload { dev, token, outcome } => {
                    crate::driver::ops::dev::reload_finished(self, dev, token, outcome)
                }
            }
        }
    }

    /// Starts moving the virtual clock forward by `span` (`clock-advance`);
    /// the request waiting under `token` is answered once every timer due
    /// in the span has run ([`Simulator::continue_advance`]). `false` if
    /// an advance is already running.
    pub fn start_advance(&mut self, span: Duration, token: u64) -> bool {
        if self.advancing.is_some() {
            return false;
        }
        self.advancing = Some(Advance { until: self.timers.now() + span, token });
        true
    }

    pub fn is_advancing(&self) -> bool {
        self.advancing.is_some()
    }

    /// Runs the next [`ADVANCE_BUDGET`] timer events of the advance in
    /// progress, in order, each at its own time, announcing what each
    /// changed as it happens (answers they release go to their clients
    /// with the completed ones); answers the advance once none is left.
    pub fn continue_advance(&mut self) {
        let Some(until) = self.advancing.as_ref().map(|a| a.until) else { return };
        for _ in 0..ADVANCE_BUDGET {
            let Some((deadline, event)) = self.timers.advance_step(until) else {
                let token = self.advancing.take().expect("running").token;
                self.answer(token, Ok(()));
                return;
            };
            if let Some(held) = self.run_timer(deadline, event) {
                self.completed.push(held);
            }
            self.announce_changes();
        }
    }

    /// Runs one due timer event; returns answers held back for a client
    /// `(port, uid, datagrams)`.
    pub fn run_timer(&mut self, deadline: Duration, event: TimerEvent) -> Option<HeldAnswers> {
        match event {
            TimerEvent::Send { port, uid, datagrams } => return Some((port, uid, datagrams)),
            TimerEvent::FlashStep { dev, generation } => {
                let device = self.devices.get_mut(dev)?;
                let interval = device.firmware.step_interval();
                if let Some(status) = device.firmware.advance(generation) {
                    let finished = status.finished;
                    // A flash a fault fails: its reporter reports it.
                    let failed = (device.faults.list().iter().find(|f| f.fail_at.is_some()))
                        .and_then(|fault| fault.reporter.clone())
                        .filter(|_| status.finished && status.error != 0)
                        .map(|reporter| {
                            let errno = simdev_protocol::errno::errno_name(status.error as i32);
                            let message = format!(
                                "injected fault: the flash of {} failed at {}% with {errno}",
                                status.version, status.done
                            );
                            (reporter, message)
                        });
                    self.notify_flash(dev, status);
                    if let Some((reporter, message)) = failed {
                        self.fault_reports(dev, &reporter, &message);
                    }
                    if finished {
                        self.notify_dev_change(dev);
                    } else {
                        self.timers.schedule_at(deadline + interval, TimerEvent::FlashStep { dev, generation });
                    }
                }
            }
            TimerEvent::FlapDown { dev, port, generation: flap_generation } => {
                let device = self.devices.get_mut(dev)?;
                if device.flap_generation != flap_generation {
                    return None; // faults changed since this flap was scheduled
                }
                let (_, interval, down) = device.faults.flaps().find(|(p, _, _)| *p == port)?;
                if let Some(fault) = device.faults.fire_flap(port) {
                    self.fault_fired(dev, fault);
                    match self.devices.set_carrier(dev, port, false) {
                        Ok(generation) => {
                            self.notify_dev_change(dev);
                            self.timers.schedule_at(deadline + down, TimerEvent::CarrierUp { dev, port, generation });
                        }
                        Err(e) => log::warn!("device {dev} port {port}: link flap: {e}"),
                    }
                    self.timers.schedule_at(
                        deadline + interval,
                        TimerEvent::FlapDown { dev, port, generation: flap_generation },
                    );
                }
            }
            TimerEvent::CarrierUp { dev, port, generation } => {
                let current = self.devices.get(dev).and_then(|d| d.carrier_generation.get(port as usize).copied());
                if current != Some(generation) {
                    return None; // someone changed the carrier since
                }
                match self.devices.set_carrier(dev, port, true) {
                    Ok(_) => self.notify_dev_change(dev),
                    Err(e) => log::warn!("device {dev} port {port}: carrier up: {e}"),
                }
            }
        }
        None
    }
}
