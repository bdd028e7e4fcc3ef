//! Work that blocks in the kernel, run off the event loop. A devlink flash
//! of a netdevsim device takes seconds inside one request; a worker thread
//! in the hardware namespace makes the request and relays the driver's
//! status notifications (devlink's `config` group) as simdev flash
//! statuses. The event loop picks them up from a channel; the worker wakes
//! it with a `NLMSG_NOOP` to the simulator's own port (which, like the
//! kernel, ignores it), so statuses go out as they happen.

use crate::rtnl::KernelError;
use genl_client::client::{Client, Subscription, Target};
use genl_client::devlink::{self, Devlink, FlashEvent, FlashNotification, Handle};
use genl_client::error::Error;
use simdev_protocol::simdev::FwStatus;
use simdev_protocol::wire::{MessageBuilder, NLMSG_NOOP};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

/// Something a worker has to say to the event loop.
#[derive(Debug)]
pub enum Event {
    /// A status of the flash running on device `dev` (the last one is `finished`).
    Flash { dev: u32, status: FwStatus },
}

/// Sends a no-op message to the simulator's port: the receive returns.
#[derive(Clone)]
struct Waker {
    socket: std::sync::Arc<neli::socket::NlSocket>,
    port: u32,
}

impl Waker {
    fn wake(&self) {
        let noop = MessageBuilder::new(NLMSG_NOOP, 0, 0, 0).finish();
        let to = nix::sys::socket::NetlinkAddr::new(self.port, 0);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&*self.socket);
        if let Err(e) = nix::sys::socket::sendto(fd, &noop, &to, nix::sys::socket::MsgFlags::empty()) {
            log::debug!("waking the event loop: {e}");
        }
    }
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
    /// Lets workers wake the loop serving at `port` (in this namespace).
    pub fn set_waker(&mut self, port: u32) -> std::io::Result<()> {
        let socket = neli::socket::NlSocket::connect(
            neli::consts::socket::NlFamily::Usersock,
            None,
            neli::utils::Groups::empty(),
        )?;
        self.waker = Some(Waker { socket: std::sync::Arc::new(socket), port });
        Ok(())
    }

    /// What workers said since the last call.
    pub fn drain(&self) -> Vec<Event> {
        self.receiver.try_iter().collect()
    }

    /// Starts `devlink dev flash HANDLE file FILE` in the namespace at
    /// `netns_path`, for simdev device `dev`.
    pub fn flash(&self, netns_path: &str, dev: u32, handle: Handle, file: String) -> std::io::Result<()> {
        let netns = std::fs::File::open(netns_path)?;
        let sender = self.sender.clone();
        let waker = self.waker.clone();
        std::thread::Builder::new().name(format!("flash-{dev}")).spawn(move || {
            let report = |status: FwStatus| {
                let _ = sender.send(Event::Flash { dev, status });
                if let Some(waker) = &waker {
                    waker.wake();
                }
            };
            let outcome = nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::io("entering the hardware namespace", e))
                .and_then(|()| run_flash(&handle, &file, &report));
            if let Err(e) = outcome {
                report(failed(&file, e.into()));
            }
        })?;
        Ok(())
    }
}

/// The final status of a flash the kernel refused or that failed.
fn failed(file: &str, e: KernelError) -> FwStatus {
    let message = e.message.unwrap_or_else(|| nix::errno::Errno::from_raw(e.errno).desc().to_string());
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
    let mut relay = |replies: Vec<(u32, genl_client::client::Reply)>| {
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
