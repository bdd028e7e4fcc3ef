//! `poll`, `select` and `epoll` on the program's sockets also wait on
//! their companions, so an answer from the simulator wakes the program as
//! an answer from the kernel does.

use crate::table;
use libc::{c_int, epoll_event, fd_set, nfds_t, pollfd};

/// Runs a `poll`-like `call` on `fds` plus the companions of the looked-after
/// ones; a ready companion makes its program socket readable.
///
/// # Safety
/// `fds` points to `nfds` entries.
pub unsafe fn poll_with(fds: *mut pollfd, nfds: nfds_t, call: impl FnOnce(*mut pollfd, nfds_t) -> c_int) -> c_int {
    if !table::any() || fds.is_null() || nfds == 0 {
        return call(fds, nfds);
    }
    // SAFETY: the caller's array.
    let originals = unsafe { std::slice::from_raw_parts_mut(fds, nfds as usize) };
    let companions: Vec<(usize, c_int)> = originals
        .iter()
        .enumerate()
        .filter(|(_, p)| p.events & libc::POLLIN != 0)
        .filter_map(|(i, p)| Some((i, table::get(p.fd)?.companion)))
        .collect();
    if companions.is_empty() {
        return call(fds, nfds);
    }
    let mut all = originals.to_vec();
    all.extend(companions.iter().map(|&(_, fd)| pollfd { fd, events: libc::POLLIN, revents: 0 }));
    let ready = call(all.as_mut_ptr(), all.len() as nfds_t);
    if ready < 0 {
        return ready;
    }
    for (original, polled) in originals.iter_mut().zip(&all) {
        original.revents = polled.revents;
    }
    for (k, &(i, _)) in companions.iter().enumerate() {
        if all[originals.len() + k].revents & libc::POLLIN != 0 {
            originals[i].revents |= libc::POLLIN;
        }
    }
    originals.iter().filter(|p| p.revents != 0).count() as c_int
}

/// Runs a `select`-like `call` with the companions of looked-after sockets
/// in the read set; a ready companion makes its socket readable.
///
/// # Safety
/// `readfds` is null or a valid set.
pub unsafe fn select_with(nfds: c_int, readfds: *mut fd_set, call: impl FnOnce(c_int, *mut fd_set) -> c_int) -> c_int {
    if !table::any() || readfds.is_null() {
        return call(nfds, readfds);
    }
    let setsize = libc::FD_SETSIZE as c_int;
    // SAFETY: the caller's set.
    let pairs: Vec<(c_int, c_int)> = (0..nfds.min(setsize))
        .filter(|&fd| unsafe { libc::FD_ISSET(fd, readfds) })
        .filter_map(|fd| Some((fd, table::get(fd)?.companion)))
        .filter(|&(_, companion)| companion < setsize)
        .collect();
    if pairs.is_empty() {
        return call(nfds, readfds);
    }
    let mut set = unsafe { *readfds };
    for &(_, companion) in &pairs {
        unsafe { libc::FD_SET(companion, &mut set) };
    }
    let widest = pairs.iter().map(|&(_, companion)| companion + 1).max().unwrap_or(0).max(nfds);
    let mut ready = call(widest, &mut set);
    if ready < 0 {
        return ready;
    }
    for &(fd, companion) in &pairs {
        if unsafe { libc::FD_ISSET(companion, &set) } {
            unsafe { libc::FD_CLR(companion, &mut set) };
            ready -= 1;
            if !unsafe { libc::FD_ISSET(fd, &set) } {
                unsafe { libc::FD_SET(fd, &mut set) };
                ready += 1;
            }
        }
    }
    unsafe { *readfds = set };
    ready
}

/// After the program's `epoll_ctl` on a looked-after socket succeeded:
/// the companion follows, registered with the same data (reporting only
/// readability: it is always writable, as the socket is).
///
/// # Safety
/// `event` is null or valid.
pub unsafe fn follow_epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut epoll_event) {
    let Some(shim) = table::get(fd) else { return };
    let saved = std::io::Error::last_os_error();
    let mut mirrored = if event.is_null() {
        epoll_event { events: 0, u64: 0 }
    } else {
        // SAFETY: the caller's event.
        let original = unsafe { *event };
        let write_bits = (libc::EPOLLOUT | libc::EPOLLWRNORM | libc::EPOLLWRBAND) as u32;
        epoll_event { events: original.events & !write_bits, u64: original.u64 }
    };
    let mut real = |op| unsafe { crate::real::epoll_ctl(epfd, op, shim.companion, &mut mirrored) };
    match op {
        libc::EPOLL_CTL_ADD => {
            real(libc::EPOLL_CTL_ADD);
        }
        // The companion is not in this set (its ADD failed, say for a dup of
        // a socket already there): add it.
        libc::EPOLL_CTL_MOD if real(libc::EPOLL_CTL_MOD) < 0 => {
            real(libc::EPOLL_CTL_ADD);
        }
        libc::EPOLL_CTL_DEL => {
            real(libc::EPOLL_CTL_DEL);
        }
        _ => {}
    }
    // SAFETY: the calling thread's errno, as the program's call left it.
    unsafe { *libc::__errno_location() = saved.raw_os_error().unwrap_or(0) };
}

/// Merges events `epoll_wait` returned twice for one registration (the
/// socket and its companion carry the same data); returns the new count.
///
/// # Safety
/// `events` holds `count` entries.
pub unsafe fn merge_epoll_events(events: *mut epoll_event, count: c_int) -> c_int {
    if !table::any() || count <= 1 {
        return count;
    }
    // SAFETY: the entries epoll_wait filled.
    let events = unsafe { std::slice::from_raw_parts_mut(events, count as usize) };
    let mut kept = 0;
    for i in 0..events.len() {
        let event = events[i];
        let data = event.u64;
        match events[..kept].iter().position(|e| ({ e.u64 }) == data) {
            Some(j) => events[j].events |= event.events,
            None => {
                events[kept] = event;
                kept += 1;
            }
        }
    }
    kept as c_int
}
