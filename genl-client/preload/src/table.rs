//! Which of the process's file descriptors are Generic Netlink sockets
//! the library looks after. Every hooked call asks; most fds are not, so
//! the answer "no" costs one atomic load.

use crate::shim::Shim;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// fds below this have a bit in [`MARKED`]; a socket on a higher fd is
/// left to the kernel alone (with a warning).
const TRACKED_FDS: usize = 65536;
static MARKED: [AtomicU64; TRACKED_FDS / 64] = [const { AtomicU64::new(0) }; TRACKED_FDS / 64];
static SHIMS: Mutex<Table> = Mutex::new(None);
/// Set once the first socket is looked after (`poll` and friends skip
/// their work before that).
static ANY: AtomicBool = AtomicBool::new(false);

fn bit(fd: i32) -> Option<(&'static AtomicU64, u64)> {
    let fd = usize::try_from(fd).ok().filter(|&fd| fd < TRACKED_FDS)?;
    Some((&MARKED[fd / 64], 1 << (fd % 64)))
}

/// Whether any socket was ever looked after.
pub fn any() -> bool {
    ANY.load(Ordering::Relaxed)
}

/// The library's state for `fd`, if it looks after it.
pub fn get(fd: i32) -> Option<Arc<Shim>> {
    let (word, mask) = bit(fd)?;
    if word.load(Ordering::Acquire) & mask == 0 {
        return None;
    }
    SHIMS.lock().ok()?.as_ref()?.get(&fd).cloned()
}

type Table = Option<HashMap<i32, Arc<Shim>>>;

thread_local! {
    /// The table's lock, held across a `fork` by the thread that forks
    /// (taken just before, released just after, in both processes: the
    /// child's one thread is a copy of it), so that a child forked while
    /// another thread used the table does not find it locked forever.
    static HELD_FOR_FORK: std::cell::RefCell<Option<std::sync::MutexGuard<'static, Table>>> =
        const { std::cell::RefCell::new(None) };
}

extern "C" fn before_fork() {
    let guard = SHIMS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    HELD_FOR_FORK.with_borrow_mut(|held| *held = Some(guard));
}

extern "C" fn after_fork() {
    HELD_FOR_FORK.with_borrow_mut(|held| drop(held.take()));
}

/// Registers the fork handlers, once (when the first socket is looked after).
fn guard_forks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the handlers only take and release locks of this module.
    ONCE.call_once(|| unsafe {
        libc::pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork));
    });
}

/// Looks after `fd` (a new socket, or a duplicate of one).
pub fn insert(fd: i32, shim: Arc<Shim>) {
    let Some((word, mask)) = bit(fd) else {
        eprintln!("simdev-preload: socket fd {fd} is too high to follow; it talks to the kernel only");
        return;
    };
    guard_forks();
    if let Ok(mut shims) = SHIMS.lock() {
        shims.get_or_insert_with(HashMap::new).insert(fd, shim);
        word.fetch_or(mask, Ordering::Release);
        ANY.store(true, Ordering::Relaxed);
    }
}

/// Stops looking after `fd` (closed, or replaced by `dup2`). The state
/// goes when its last fd does.
pub fn remove(fd: i32) -> Option<Arc<Shim>> {
    let (word, mask) = bit(fd)?;
    if word.load(Ordering::Acquire) & mask == 0 {
        return None;
    }
    let mut shims = SHIMS.lock().ok()?;
    word.fetch_and(!mask, Ordering::Release);
    shims.as_mut()?.remove(&fd)
}
