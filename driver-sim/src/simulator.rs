//! The simulator's state: registered families, devices, timers, who may
//! administer, and notifications waiting to be sent. One instance, owned by
//! the event loop; handlers and timers get it by `&mut`.

use crate::device::Devices;
use crate::timers::{TimerEvent, Timers};
use simdev_protocol::ctrl::{FamilyInfo, CTRL_FAMILY, GENL_ID_CTRL};
use simdev_protocol::extack::build_error;
use simdev_protocol::family::FamilySpec;
use simdev_protocol::policy_dump::{policy_dump, PolicyDumpError, PolicyPart};
use simdev_protocol::simdev::{self, cmd, FwStatus, Nested, GROUP_CONFIG, GROUP_EVENTS, GROUP_FW};
use simdev_protocol::wire::MessageBuilder;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

/// Answers a latency fault held back: `(port, uid, datagrams)`.
pub type HeldAnswers = (u32, Option<u32>, Vec<Vec<u8>>);

/// How long the carrier stays off when a reset flaps the ports.
pub const RESET_FLAP: Duration = Duration::from_millis(100);

/// The families this simulator serves and the ids they were given.
#[derive(Debug, Clone)]
pub struct Families {
    pub simdev_id: u16,
    /// Multicast group numbers of simdev's groups, in spec order.
    pub simdev_groups: Vec<u32>,
    /// The emulated controller's `notify` group number.
    pub ctrl_groups: Vec<u32>,
    /// Each family's `GETFAMILY` answer attributes, encoded once: they do
    /// not change while the simulator runs.
    encoded: Vec<(FamilyInfo, Vec<u8>)>,
    /// Policy dumps made so far, by family and command (they do not change either).
    policy_dumps: HashMap<(&'static str, Option<u32>), Rc<[PolicyPart]>>,
}

impl Families {
    /// Registers nlctrl and simdev. The controller's `notify` group is the
    /// kernel's (0x10); simdev's groups are numbered as the kernel would
    /// number them if simdev were one more kernel family, so programs that
    /// see both (`genl-client exec`) never confuse them: the first run of
    /// free ids, given the groups the kernel's families hold (`kernel_groups`).
    pub fn new(simdev_id: u16, kernel_groups: &[u32]) -> Self {
        let ctrl_groups = vec![u32::from(GENL_ID_CTRL)];
        let simdev_groups = allocate_groups(simdev::FAMILY.mcast_groups.len() as u32, kernel_groups);
        let mut families =
            Families { simdev_id, simdev_groups, ctrl_groups, encoded: Vec::new(), policy_dumps: HashMap::new() };
        families.encoded = families
            .infos()
            .into_iter()
            .map(|info| {
                let mut attrs = MessageBuilder::new(0, 0, 0, 0);
                info.encode(&mut attrs);
                let bytes = attrs.finish()[simdev_protocol::wire::NLMSG_HDRLEN..].to_vec();
                (info, bytes)
            })
            .collect();
        families
    }

    /// Every family with its encoded `GETFAMILY` attributes, in id order.
    pub fn encoded(&self) -> &[(FamilyInfo, Vec<u8>)] {
        &self.encoded
    }

    /// The parts of `family`'s policy dump (of command `op`).
    pub fn policy_dump(
        &mut self,
        family: &'static FamilySpec,
        op: Option<u32>,
    ) -> Result<Rc<[PolicyPart]>, PolicyDumpError> {
        if let Some(parts) = self.policy_dumps.get(&(family.name, op)) {
            return Ok(parts.clone());
        }
        let parts: Rc<[PolicyPart]> = policy_dump(family, op)?.into();
        self.policy_dumps.insert((family.name, op), parts.clone());
        Ok(parts)
    }

    pub fn spec_by_id(&self, id: u16) -> Option<&'static FamilySpec> {
        match id {
            GENL_ID_CTRL => Some(&CTRL_FAMILY),
            id if id == self.simdev_id => Some(&simdev::FAMILY),
            _ => None,
        }
    }

    /// Every family with its id, in id order.
    pub fn specs(&self) -> [(&'static FamilySpec, u16); 2] {
        [(&CTRL_FAMILY, GENL_ID_CTRL), (&simdev::FAMILY, self.simdev_id)]
    }

    /// Every family as `GETFAMILY` describes it, in id order.
    pub fn infos(&self) -> Vec<FamilyInfo> {
        vec![
            FamilyInfo::from_spec(&CTRL_FAMILY, GENL_ID_CTRL, &self.ctrl_groups),
            FamilyInfo::from_spec(&simdev::FAMILY, self.simdev_id, &self.simdev_groups),
        ]
    }

    /// The multicast group number of one of simdev's groups.
    pub fn simdev_group(&self, name: &str) -> u32 {
        let index = simdev::FAMILY.mcast_groups.iter().position(|g| *g == name).expect("a declared group");
        self.simdev_groups[index]
    }
}

/// `NETLINK_USERSOCK` has groups 1..=32: the simulator multicasts on them.
const USERSOCK_GROUPS: u32 = 32;

/// Group ids the kernel never hands out: 0 and 1, and those of the
/// controller and of the two families with fixed ids (`mc_group_start` in
/// `net/netlink/genetlink.c`).
const RESERVED_GROUPS: [u32; 5] = [0, 1, GENL_ID_CTRL as u32, GENL_ID_CTRL as u32 + 1, GENL_ID_CTRL as u32 + 2];

/// The first `count` consecutive group ids free of `taken` and of the
/// reserved ones, as the kernel's `genl_allocate_reserve_groups` finds
/// them, within `NETLINK_USERSOCK`'s 32. If the kernel holds too many, the
/// highest ids (a program that also sees the kernel's families may then
/// mistake one of them for simdev's; a warning says so).
fn allocate_groups(count: u32, taken: &[u32]) -> Vec<u32> {
    let free = |id: &u32| !RESERVED_GROUPS.contains(id) && !taken.contains(id);
    let first = (2..=USERSOCK_GROUPS + 1 - count).find(|&first| (first..first + count).all(|id| free(&id)));
    let first = first.unwrap_or_else(|| {
        log::warn!("no {count} consecutive multicast group ids are free of the kernel's: simdev's may be taken");
        USERSOCK_GROUPS + 1 - count
    });
    (first..first + count).collect()
}

pub struct Simulator {
    pub families: Families,
    /// Workers for what blocks in the kernel (netdevsim flashes).
    pub background: crate::background::Background,
    pub devices: Devices,
    pub timers: Timers,
    admin_uids: Vec<u32>,
    notifications: Vec<(u32, Vec<u8>)>,
    /// Latency an injected fault added to the request being handled.
    pending_delay: Option<Duration>,
    /// The device the request being handled is about (for its counters).
    current_device: Option<u32>,
    /// Bumped by every announced change: a dump that sees it move marks
    /// its later messages `NLM_F_DUMP_INTR`.
    generation: u64,
    /// The serving side's counters, as the event loop last reported them.
    pub server_stats: simdev_protocol::simdev::ServerStats,
    /// Watches the kernel's notifications about the hardware.
    pub watcher: Option<crate::wake::Watcher>,
    /// Set by a handler whose request is answered later (its work runs on
    /// a worker): the token [`Simulator::answer`] is called with.
    answer_later: Option<u64>,
    /// What the request being handled changes in its socket's subscription.
    subscription_change: Option<SubscriptionChange>,
    /// The `clock-advance` in progress.
    advancing: Option<Advance>,
    next_token: u64,
    /// Requests waiting for their work to end, by token.
    pending: HashMap<u64, PendingRequest>,
    /// Answers to such requests, ready to go to their clients.
    completed: Vec<HeldAnswers>,
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

/// A change to a socket's unicast subscription, as masks of group numbers
/// (bit N-1 for group N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionChange {
    Join(u32),
    Leave(u32),
}

/// A request whose answer waits for work a worker does.
#[derive(Debug)]
pub struct PendingRequest {
    pub port: u32,
    pub uid: Option<u32>,
    pub header: simdev_protocol::wire::NlHeader,
}

impl Simulator {
    /// A simulator on `timers`' clock (real or virtual).
    pub fn new(families: Families, devices: Devices, admin_uids: Vec<u32>, timers: Timers) -> Self {
        let mut sim = Simulator {
            families,
            background: Default::default(),
            devices,
            timers,
            admin_uids,
            notifications: Vec::new(),
            pending_delay: None,
            current_device: None,
            generation: 0,
            server_stats: Default::default(),
            watcher: None,
            answer_later: None,
            subscription_change: None,
            advancing: None,
            next_token: 0,
            pending: HashMap::new(),
            completed: Vec::new(),
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
        MessageBuilder::genl(self.families.simdev_id, 0, 0, 0, command, simdev::FAMILY_VERSION)
    }

    /// How many changes were announced so far.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Queues a notification about device `dev` on one of simdev's groups.
    /// Every state change is announced, so this also counts changes.
    pub fn notify(&mut self, dev: u32, group: &str, message: Vec<u8>) {
        self.generation += 1;
        if let Some(device) = self.devices.get_mut(dev) {
            device.stats.notifications += 1;
        }
        let group = self.families.simdev_group(group);
        self.notifications.push((group, message));
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

    pub fn take_notifications(&mut self) -> Vec<(u32, Vec<u8>)> {
        std::mem::take(&mut self.notifications)
    }

    /// Says that the request being handled is answered later, by
    /// [`Simulator::answer`] with the token returned (its work runs on a
    /// worker; the client's other requests are answered meanwhile).
    pub fn answer_later(&mut self) -> u64 {
        self.next_token += 1;
        self.answer_later = Some(self.next_token);
        self.next_token
    }

    pub fn take_answer_later(&mut self) -> Option<u64> {
        self.answer_later.take()
    }

    /// Asks for the requesting socket's subscription to change (once the
    /// request succeeded; see `handlers::subscribe`).
    pub fn change_subscription(&mut self, change: SubscriptionChange) {
        self.subscription_change = Some(change);
    }

    pub fn take_subscription_change(&mut self) -> Option<SubscriptionChange> {
        self.subscription_change.take()
    }

    /// Keeps a request whose answer comes later.
    pub fn wait_for(&mut self, token: u64, request: PendingRequest) {
        self.pending.insert(token, request);
    }

    /// Answers the request waiting under `token`: its ACK (if it asked for
    /// one), or its error.
    pub fn answer(&mut self, token: u64, outcome: Result<(), crate::genl::HandlerError>) {
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

    /// Holds back the answer to the current request (latency fault).
    pub fn delay_answer(&mut self, delay: Duration) {
        self.pending_delay = Some(delay);
    }

    pub fn take_delay(&mut self) -> Option<Duration> {
        self.pending_delay.take()
    }

    pub fn set_current_device(&mut self, dev: u32) {
        self.current_device = Some(dev);
    }

    /// Counts the request just answered against its device.
    pub fn count_request(&mut self, failed: bool) {
        if let Some(device) = self.current_device.take().and_then(|id| self.devices.get_mut(id)) {
            device.stats.commands += 1;
            if failed {
                device.stats.errors += 1;
            }
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

    /// Announces a flash status (`fw-flash-status-ntf` on `fw`).
    pub fn notify_flash(&mut self, dev: u32, status: FwStatus) {
        self.notify_object(dev, cmd::FW_FLASH_STATUS_NTF, GROUP_FW, status);
    }

    /// Ends every flash as the simulator stops: each gets its final
    /// status ("Flashing aborted", `ECANCELED`), so nobody waits for it.
    pub fn abort_flashes(&mut self, why: &str) {
        for id in self.devices.ids() {
            let device = self.devices.get_mut(id).expect("listed");
            let status = match &device.kernel_work {
                Some(crate::device::KernelWork::Flash(file)) => Some(FwStatus {
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
                crate::background::Event::Flash { dev, status } => {
                    let finished = status.finished;
                    self.notify_flash(dev, status);
                    if finished {
                        if let Some(device) = self.devices.get_mut(dev) {
                            device.kernel_work = None;
                        }
                        self.notify_dev_change(dev);
                    }
                }
                crate::background::Event::Version { dev, version } => {
                    if let Some(device) = self.devices.get_mut(dev) {
                        device.kernel_fw_version = Some(version);
                    }
                }
                crate::background::Event::Reload { dev, token, outcome } => {
                    crate::handlers::dev::reload_finished(self, dev, token, outcome)
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
                    self.notify_flash(dev, status);
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
                    device.stats.faults_fired += 1;
                    self.notify_object(dev, cmd::FAULT_FIRED_NTF, GROUP_EVENTS, fault);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_allocated_as_the_kernel_would() {
        // This machine's kernel holds 2..=10, 0x10 and 0x11.
        let kernel: Vec<u32> = (2..=10).chain([0x10, 0x11]).collect();
        assert_eq!(allocate_groups(3, &kernel), [11, 12, 13]);
        assert_eq!(allocate_groups(3, &[]), [2, 3, 4]);
        assert_eq!(allocate_groups(3, &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]), [19, 20, 21], "never 16..=18");
        assert_eq!(allocate_groups(3, &(2..=32).collect::<Vec<_>>()), [30, 31, 32], "within usersock's 32");
    }

    #[test]
    fn the_controllers_notify_group_is_the_kernels() {
        let families = Families::new(simdev_protocol::ctrl::GENL_START_ALLOC, &[]);
        assert_eq!(families.ctrl_groups, [0x10]);
    }
}
