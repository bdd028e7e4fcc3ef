//! Work that blocks in the kernel, run off the event loop, by worker
//! threads in the hardware namespace. A devlink flash of a netdevsim device
//! takes seconds inside one request: the worker makes it and relays the
//! driver's status notifications (devlink's `config` group) as simdev
//! flash statuses. A devlink reload tears the driver's netdevs down and
//! makes them again inside one request. Each ends by reading the running
//! firmware version (`devlink dev info`), so the loop never asks devlink
//! itself. The event loop picks what workers report up from a channel; a
//! worker wakes it ([`Waker`]), so statuses go out as they happen.

use crate::kernel::wake::Waker;
use simdev_netlink::client::{Client, Subscription, Target};
use simdev_netlink::devlink::{self, Devlink, FlashEvent, FlashNotification, Handle};
use simdev_netlink::error::Error;
use simdev_netlink::rtnl::KernelError;
use simdev_protocol::simdev::FwStatus;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

/// Something a worker has to say to the event loop.
#[derive(Debug)]
pub enum Event {
    /// A status of the flash running on device `dev` (the last one is `finished`).
    Flash { dev: u32, status: FwStatus },
    /// The running firmware version of device `dev`, read after its flash.
    Version { dev: u32, version: String },
    /// The reload of device `dev` ended: the running version afterwards,
    /// or the kernel's refusal. `token` names the request waiting for it.
    Reload { dev: u32, token: u64, outcome: Result<String, KernelError> },
}

pub struct Background {
    sender: Sender<Event>,
    receiver: Receiver<Event>,
    waker: Option<Waker>,
}

impl Default for Background {
    fn default() -> Self {
        let (sender, receiver) = channel();
        Background { sender, receiver, waker: None }
    }
}

impl Background {
    /// Lets workers wake the loop.
    pub fn set_waker(&mut self, waker: Waker) {
        self.waker = Some(waker);
    }

    /// What workers said since the last call.
    pub fn drain(&self) -> Vec<Event> {
        self.receiver.try_iter().collect()
    }

    /// Runs `work` on a worker thread that entered the network namespace
    /// at `netns_path`; what it returns or reports goes to the loop.
    fn spawn(
        &self,
        name: String,
        netns_path: &str,
        work: impl FnOnce(&dyn Fn(Event)) + Send + 'static,
    ) -> std::io::Result<()> {
        let netns = std::fs::File::open(netns_path)?;
        let sender = self.sender.clone();
        let waker = self.waker.clone();
        std::thread::Builder::new().name(name).spawn(move || {
            let report = |event: Event| {
                let _ = sender.send(event);
                if let Some(waker) = &waker {
                    waker.wake();
                }
            };
            match nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET) {
                Ok(()) => work(&report),
                Err(e) => log::warn!("a worker could not enter the hardware namespace: {e}"),
            }
        })?;
        Ok(())
    }

    /// Starts `devlink dev flash HANDLE file FILE` in the namespace at
    /// `netns_path`, for simdev device `dev`.
    pub fn flash(&self, netns_path: &str, dev: u32, handle: Handle, file: String) -> std::io::Result<()> {
        self.spawn(format!("flash-{dev}"), netns_path, move |report| {
            let statuses = |status: FwStatus| report(Event::Flash { dev, status });
            match run_flash(&handle, &file, &statuses) {
                Ok(()) => match read_running_version(&handle) {
                    Ok(version) => report(Event::Version { dev, version }),
                    Err(e) => log::warn!("reading the firmware version after a flash: {e}"),
                },
                Err(e) => statuses(failed(&file, e.into())),
            }
        })
    }

    /// Starts `devlink dev reload HANDLE` in the namespace at `netns_path`,
    /// for simdev device `dev`; the outcome comes back with `token`.
    pub fn reload(&self, netns_path: &str, dev: u32, handle: Handle, token: u64) -> std::io::Result<()> {
        self.spawn(format!("reload-{dev}"), netns_path, move |report| {
            let outcome = Client::kernel()
                .and_then(Devlink::new)
                .and_then(|mut devlink| {
                    devlink.reload(&handle)?;
                    running_version(&mut devlink, &handle)
                })
                .map_err(KernelError::from);
            report(Event::Reload { dev, token, outcome });
        })
    }
}

/// The running firmware version devlink reports (the first one).
pub fn running_version(devlink: &mut Devlink, handle: &Handle) -> Result<String, Error> {
    let info = devlink.info(handle)?;
    Ok(info.running.first().map(|(_, value)| value.clone()).unwrap_or_default())
}

/// The same, from a worker's own devlink socket.
fn read_running_version(handle: &Handle) -> Result<String, Error> {
    running_version(&mut Devlink::new(Client::kernel()?)?, handle)
}

/// The final status of a flash the kernel refused or that failed.
fn failed(file: &str, e: KernelError) -> FwStatus {
    let message = e.message.unwrap_or_else(|| simdev_protocol::errno::strerror(e.errno));
    FwStatus {
        message: format!("Flashing failed: {message}"),
        version: file.to_string(),
        done: 0,
        total: 0,
        error: e.errno as u32,
        finished: true,
    }
}

/// Flashes and relays statuses through `report`; the last one reported
/// is `finished`. Each status is held back until the next arrives (or the
/// request ends), so the last can be marked as such.
fn run_flash(handle: &Handle, file: &str, report: &dyn Fn(FwStatus)) -> Result<(), Error> {
    let mut devlink = Devlink::new(Client::kernel()?)?;
    let family_id = devlink.family().id;
    let group = devlink
        .group(devlink::GROUP_CONFIG)
        .ok_or_else(|| Error::Protocol("devlink has no config multicast group".into()))?;
    let mut notifications = Subscription::new(Target::Kernel, &[group])?;
    notifications.set_recv_buffer(4 * 1024 * 1024)?;
    let (done_sender, done) = channel();
    let mut held: Option<FwStatus> = None;
    let mut relay = |replies: Vec<(u32, simdev_netlink::client::Reply)>| {
        for (_, reply) in replies {
            let Some(n) = FlashNotification::decode(&reply.message(), family_id) else { continue };
            if n.handle != *handle || n.kind != FlashEvent::Status {
                continue;
            }
            let status = FwStatus {
                message: n.message.unwrap_or_default(),
                version: file.to_string(),
                done: n.done,
                total: n.total,
                error: 0,
                finished: false,
            };
            if let Some(previous) = held.replace(status) {
                report(previous);
            }
        }
    };
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| {
            let _ = done_sender.send(devlink.flash(handle, file));
        });
        notifications.set_timeout(Some(Duration::from_millis(50)))?;
        let outcome = loop {
            match notifications.recv() {
                Ok(replies) => relay(replies),
                Err(Error::Timeout) => {}
                Err(e) => log::warn!("flash notifications: {e}"),
            }
            if let Ok(outcome) = done.try_recv() {
                break outcome;
            }
        };
        // The driver's notifications were all sent before its answer.
        notifications.set_timeout(Some(Duration::from_millis(1)))?;
        loop {
            match notifications.recv() {
                Ok(replies) => relay(replies),
                Err(Error::Timeout) => break,
                Err(e) => {
                    log::warn!("flash notifications: {e}");
                    break;
                }
            }
        }
        Ok::<_, Error>(outcome)
    })?;
    if let Err(e) = outcome {
        if let Some(previous) = held {
            report(previous);
        }
        return Err(e);
    }
    let mut last = held.unwrap_or(FwStatus {
        message: "Flashing done (the driver reported no progress)".into(),
        version: file.to_string(),
        done: 0,
        total: 0,
        error: 0,
        finished: false,
    });
    last.finished = true;
    report(last);
    Ok(())
}
