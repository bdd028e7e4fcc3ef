//! Waking the event loop from other threads. The loop blocks in a receive
//! on its own socket (see [`crate::kernel::server`]), so a thread wakes it by
//! sending a `NLMSG_NOOP` to the simulator's port, which the loop, like the
//! kernel, ignores. Background workers wake it when they have news
//! ([`Waker`]); the [`Watcher`] wakes it when the kernel announced changes
//! of the hardware (its notification sockets are readable), and then waits
//! until the loop read them, so that it wakes the loop once per batch.

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use simdev_protocol::wire::{MessageBuilder, NLMSG_NOOP};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Sends a no-op message to the simulator's port: the loop's receive returns.
#[derive(Clone)]
pub struct Waker {
    socket: Arc<neli::socket::NlSocket>,
    port: u32,
}

impl Waker {
    /// A waker of the loop serving at `port` (in this network namespace).
    pub fn new(port: u32) -> std::io::Result<Self> {
        let socket = neli::socket::NlSocket::connect(
            neli::consts::socket::NlFamily::Usersock,
            None,
            neli::utils::Groups::empty(),
        )?;
        Ok(Waker { socket: Arc::new(socket), port })
    }

    /// The port its wake-ups come from (the loop's own, not a client's).
    pub fn own_port(&self) -> Option<u32> {
        self.socket.pid().ok()
    }

    pub fn wake(&self) {
        let noop = MessageBuilder::new(NLMSG_NOOP, 0, 0, 0).finish();
        let to = nix::sys::socket::NetlinkAddr::new(self.port, 0);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&*self.socket);
        if let Err(e) = nix::sys::socket::sendto(fd, &noop, &to, nix::sys::socket::MsgFlags::MSG_DONTWAIT) {
            log::debug!("waking the event loop: {e}");
        }
    }
}

/// Watches sockets for the loop: when one is readable, wakes the loop and
/// waits until it calls [`Watcher::take_ready`].
pub struct Watcher {
    ready: Arc<AtomicBool>,
    rearm: Arc<(Mutex<bool>, Condvar)>,
}

impl Watcher {
    /// Starts the watching thread on (duplicates of) `sockets`.
    pub fn start(sockets: Vec<OwnedFd>, waker: Waker) -> std::io::Result<Self> {
        let ready = Arc::new(AtomicBool::new(false));
        let rearm = Arc::new((Mutex::new(false), Condvar::new()));
        let (thread_ready, thread_rearm) = (ready.clone(), rearm.clone());
        std::thread::Builder::new().name("watcher".into()).spawn(move || loop {
            let mut fds: Vec<PollFd> = sockets.iter().map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN)).collect();
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    log::warn!("watching the hardware's notifications: {e}");
                    return;
                }
            }
            let (lock, condvar) = &*thread_rearm;
            let mut waiting = lock.lock().expect("watcher lock");
            *waiting = true;
            thread_ready.store(true, Ordering::Release);
            waker.wake();
            while *waiting {
                waiting = condvar.wait(waiting).expect("watcher lock");
            }
        })?;
        Ok(Watcher { ready, rearm })
    }

    /// If the sockets had something to read, runs `read` (which must read
    /// them all) and watches again; returns whether it did.
    pub fn when_ready(&self, read: impl FnOnce()) -> bool {
        if !self.ready.load(Ordering::Acquire) {
            return false;
        }
        read();
        self.ready.store(false, Ordering::Release);
        let (lock, condvar) = &*self.rearm;
        *lock.lock().expect("watcher lock") = false;
        condvar.notify_one();
        true
    }
}
