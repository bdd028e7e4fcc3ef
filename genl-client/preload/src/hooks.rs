//! The C library functions the library replaces in the program. Each asks
//! [`table`] whether the fd is a looked-after socket (one atomic load when
//! it is not) and otherwise calls the C library's own function.

use crate::real;
use crate::shim::Shim;
use crate::{config, table, wait};
use libc::{
    c_int, c_void, epoll_event, fd_set, iovec, msghdr, nfds_t, pollfd, size_t, sockaddr, sockaddr_nl, socklen_t,
    ssize_t,
};
use simdev_protocol::wire::{
    NETLINK_ADD_MEMBERSHIP, NETLINK_CAP_ACK, NETLINK_DROP_MEMBERSHIP, NETLINK_EXT_ACK, SOL_NETLINK,
};
use std::sync::Arc;

fn fail(error: std::io::Error) -> c_int {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() = error.raw_os_error().unwrap_or(libc::EIO) };
    -1
}

/// A netlink address the program passed, if it is one.
///
/// # Safety
/// `addr` is null or valid for `len` bytes.
unsafe fn netlink_address(addr: *const sockaddr, len: socklen_t) -> Option<sockaddr_nl> {
    if addr.is_null() || (len as usize) < std::mem::size_of::<sockaddr_nl>() {
        return None;
    }
    // SAFETY: checked length; the struct is plain data.
    let address = unsafe { std::ptr::read_unaligned(addr as *const sockaddr_nl) };
    (address.nl_family == libc::AF_NETLINK as u16).then_some(address)
}

#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let fd = unsafe { real::socket(domain, ty, protocol) };
    if fd >= 0 && domain == libc::AF_NETLINK && protocol == libc::NETLINK_GENERIC {
        if let Some(config) = config::get() {
            match Shim::open(config, ty & libc::SOCK_NONBLOCK != 0) {
                Ok(shim) => table::insert(fd, Arc::new(shim)),
                Err(e) => eprintln!("simdev-preload: no companion socket ({e}); this socket talks to the kernel only"),
            }
        }
    }
    fd
}

#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    let shim = table::remove(fd);
    let result = unsafe { real::close(fd) };
    drop(shim); // the companion closes with the socket's last fd
    result
}

fn follow_dup(old: c_int, new: c_int) {
    if new >= 0 {
        if let Some(shim) = table::get(old) {
            table::insert(new, shim);
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    let new = unsafe { real::dup(fd) };
    follow_dup(fd, new);
    new
}

#[no_mangle]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    let result = unsafe { real::dup2(old, new) };
    if result >= 0 && old != new {
        table::remove(new);
        follow_dup(old, result);
    }
    result
}

#[no_mangle]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    let result = unsafe { real::dup3(old, new, flags) };
    if result >= 0 {
        table::remove(new);
        follow_dup(old, result);
    }
    result
}

/// `fcntl` is variadic in C; its optional argument is one int or pointer,
/// passed in the same register either way on the ABIs Linux uses.
#[no_mangle]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    let result = unsafe { real::fcntl(fd, cmd, arg) };
    if cmd == libc::F_DUPFD || cmd == libc::F_DUPFD_CLOEXEC {
        follow_dup(fd, result);
    }
    if cmd == libc::F_SETFL && result == 0 {
        if let Some(shim) = table::get(fd) {
            shim.set_nonblocking(arg as c_int & libc::O_NONBLOCK != 0);
        }
    }
    result
}

/// `ioctl` is variadic in C too; `FIONBIO` (how Python makes a socket
/// non-blocking) points at an int.
#[no_mangle]
pub unsafe extern "C" fn ioctl(fd: c_int, request: libc::c_ulong, arg: usize) -> c_int {
    let result = unsafe { real::ioctl(fd, request, arg) };
    if request == libc::FIONBIO && result == 0 && arg != 0 {
        if let Some(shim) = table::get(fd) {
            // SAFETY: FIONBIO's argument is a pointer to int.
            shim.set_nonblocking(unsafe { *(arg as *const c_int) } != 0);
        }
    }
    result
}

/// What `fcntl` is called as by programs built with 64-bit file offsets
/// (Python among them).
#[no_mangle]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    unsafe { fcntl(fd, cmd, arg) }
}

#[no_mangle]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let (Some(shim), Some(mut address)) = (table::get(fd), unsafe { netlink_address(addr, len) }) else {
        return unsafe { real::bind(fd, addr, len) };
    };
    let groups = shim.served_groups_in(address.nl_groups);
    for group in &groups {
        address.nl_groups &= !(1 << (group - 1));
    }
    let result = unsafe { real::bind(fd, (&raw const address).cast(), len) };
    if result == 0 && address.nl_groups != 0 {
        shim.kernel_active();
    }
    if result == 0 {
        for group in groups {
            if let Err(e) = shim.membership(group, true) {
                return fail(e);
            }
        }
    }
    result
}

#[no_mangle]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let result = unsafe { real::connect(fd, addr, len) };
    if result == 0 {
        if let (Some(shim), Some(address)) = (table::get(fd), unsafe { netlink_address(addr, len) }) {
            shim.set_connected_elsewhere(address.nl_pid != 0);
            if address.nl_pid != 0 {
                shim.kernel_active();
            }
        }
    }
    result
}

#[no_mangle]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: socklen_t,
) -> c_int {
    let Some(shim) = table::get(fd) else { return unsafe { real::setsockopt(fd, level, name, value, len) } };
    let int_value =
        (!value.is_null() && len as usize >= 4).then(|| unsafe { std::ptr::read_unaligned(value as *const u32) });
    if level == SOL_NETLINK && (name == NETLINK_ADD_MEMBERSHIP || name == NETLINK_DROP_MEMBERSHIP) {
        if let Some(group) = int_value.filter(|&g| shim.is_served_group(g)) {
            return match shim.membership(group, name == NETLINK_ADD_MEMBERSHIP) {
                Ok(()) => 0,
                Err(e) => fail(e),
            };
        }
    }
    let result = unsafe { real::setsockopt(fd, level, name, value, len) };
    if result == 0 {
        match (level, name, int_value) {
            (SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, _) => shim.kernel_active(),
            (SOL_NETLINK, NETLINK_EXT_ACK | NETLINK_CAP_ACK, Some(on)) => shim.set_option(name, on != 0),
            (libc::SOL_SOCKET, libc::SO_RCVBUF | libc::SO_RCVBUFFORCE, _) => {
                shim.mirror_socket_option(name, value, len)
            }
            (libc::SOL_SOCKET, libc::SO_RCVTIMEO, _) if len as usize >= std::mem::size_of::<libc::timeval>() => {
                // SAFETY: checked length.
                let tv = unsafe { std::ptr::read_unaligned(value as *const libc::timeval) };
                let timeout =
                    std::time::Duration::new(tv.tv_sec.max(0) as u64, (tv.tv_usec.clamp(0, 999_999) * 1000) as u32);
                shim.set_receive_timeout(timeout);
                // A wait on the simulator alone keeps it too.
                shim.mirror_socket_option(name, value, len);
            }
            _ => {}
        }
    }
    result
}

#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    match table::get(fd) {
        Some(shim) if !msg.is_null() => unsafe { shim.sendmsg(fd, msg, flags) },
        _ => unsafe { real::sendmsg(fd, msg, flags) },
    }
}

/// A one-buffer send as `sendmsg`.
unsafe fn send_buffer(
    shim: &Shim,
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    let mut iov = iovec { iov_base: buf as *mut c_void, iov_len: len };
    // SAFETY: zeroed msghdr, then pointed at the caller's buffers.
    let mut msg: msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = addr as *mut c_void;
    msg.msg_namelen = if addr.is_null() { 0 } else { alen };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    unsafe { shim.sendmsg(fd, &msg, flags) }
}

#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    match table::get(fd) {
        Some(shim) => unsafe { send_buffer(&shim, fd, buf, len, flags, addr, alen) },
        None => unsafe { real::sendto(fd, buf, len, flags, addr, alen) },
    }
}

#[no_mangle]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    match table::get(fd) {
        Some(shim) => unsafe { send_buffer(&shim, fd, buf, len, flags, std::ptr::null(), 0) },
        None => unsafe { real::send(fd, buf, len, flags) },
    }
}

#[no_mangle]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    match table::get(fd) {
        Some(shim) => unsafe { send_buffer(&shim, fd, buf, len, 0, std::ptr::null(), 0) },
        None => unsafe { real::write(fd, buf, len) },
    }
}

#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    match table::get(fd) {
        Some(shim) if !msg.is_null() => unsafe { shim.recvmsg(fd, msg, flags) },
        _ => unsafe { real::recvmsg(fd, msg, flags) },
    }
}

/// A one-buffer receive as `recvmsg`.
unsafe fn receive_buffer(
    shim: &Shim,
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    let mut iov = iovec { iov_base: buf, iov_len: len };
    // SAFETY: zeroed msghdr, then pointed at the caller's buffers.
    let mut msg: msghdr = unsafe { std::mem::zeroed() };
    if !addr.is_null() && !alen.is_null() {
        msg.msg_name = addr.cast();
        msg.msg_namelen = unsafe { *alen };
    }
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    let result = unsafe { shim.recvmsg(fd, &mut msg, flags) };
    if result >= 0 && !msg.msg_name.is_null() {
        unsafe { *alen = msg.msg_namelen };
    }
    result
}

#[no_mangle]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    match table::get(fd) {
        Some(shim) => unsafe { receive_buffer(&shim, fd, buf, len, flags, addr, alen) },
        None => unsafe { real::recvfrom(fd, buf, len, flags, addr, alen) },
    }
}

#[no_mangle]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    match table::get(fd) {
        Some(shim) => unsafe { receive_buffer(&shim, fd, buf, len, flags, std::ptr::null_mut(), std::ptr::null_mut()) },
        None => unsafe { real::recv(fd, buf, len, flags) },
    }
}

#[no_mangle]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    match table::get(fd) {
        Some(shim) => unsafe { receive_buffer(&shim, fd, buf, len, 0, std::ptr::null_mut(), std::ptr::null_mut()) },
        None => unsafe { real::read(fd, buf, len) },
    }
}

/// What `_FORTIFY_SOURCE` does when a buffer is smaller than claimed.
fn buffer_overflow() -> ! {
    eprintln!("*** buffer overflow detected ***: terminated");
    std::process::abort()
}

// The _FORTIFY_SOURCE entry points programs built by distributions call
// instead of recv, recvfrom, read and poll.
#[no_mangle]
pub unsafe extern "C" fn __recv_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int) -> ssize_t {
    if len > buflen {
        buffer_overflow();
    }
    unsafe { recv(fd, buf, len, flags) }
}

#[no_mangle]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    buflen: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    if len > buflen {
        buffer_overflow();
    }
    unsafe { recvfrom(fd, buf, len, flags, addr, alen) }
}

#[no_mangle]
pub unsafe extern "C" fn __read_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t) -> ssize_t {
    if len > buflen {
        buffer_overflow();
    }
    unsafe { read(fd, buf, len) }
}

#[no_mangle]
pub unsafe extern "C" fn poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int {
    unsafe { wait::poll_with(fds, nfds, |fds, nfds| real::poll(fds, nfds, timeout)) }
}

#[no_mangle]
pub unsafe extern "C" fn __poll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: c_int, fdslen: size_t) -> c_int {
    if fdslen / std::mem::size_of::<pollfd>() < nfds as usize {
        buffer_overflow();
    }
    unsafe { poll(fds, nfds, timeout) }
}

#[no_mangle]
pub unsafe extern "C" fn ppoll(
    fds: *mut pollfd,
    nfds: nfds_t,
    timeout: *const libc::timespec,
    mask: *const libc::sigset_t,
) -> c_int {
    unsafe { wait::poll_with(fds, nfds, |fds, nfds| real::ppoll(fds, nfds, timeout, mask)) }
}

#[no_mangle]
pub unsafe extern "C" fn __ppoll_chk(
    fds: *mut pollfd,
    nfds: nfds_t,
    timeout: *const libc::timespec,
    mask: *const libc::sigset_t,
    fdslen: size_t,
) -> c_int {
    if fdslen / std::mem::size_of::<pollfd>() < nfds as usize {
        buffer_overflow();
    }
    unsafe { ppoll(fds, nfds, timeout, mask) }
}

#[no_mangle]
pub unsafe extern "C" fn select(
    nfds: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    timeout: *mut libc::timeval,
) -> c_int {
    unsafe { wait::select_with(nfds, r, |nfds, r| real::select(nfds, r, w, e, timeout)) }
}

#[no_mangle]
pub unsafe extern "C" fn pselect(
    nfds: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    timeout: *const libc::timespec,
    mask: *const libc::sigset_t,
) -> c_int {
    unsafe { wait::select_with(nfds, r, |nfds, r| real::pselect(nfds, r, w, e, timeout, mask)) }
}

#[no_mangle]
pub unsafe extern "C" fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut epoll_event) -> c_int {
    let result = unsafe { real::epoll_ctl(epfd, op, fd, event) };
    if result == 0 {
        unsafe { wait::follow_epoll_ctl(epfd, op, fd, event) };
    }
    result
}

#[no_mangle]
pub unsafe extern "C" fn epoll_wait(epfd: c_int, events: *mut epoll_event, max: c_int, timeout: c_int) -> c_int {
    let count = unsafe { real::epoll_wait(epfd, events, max, timeout) };
    unsafe { wait::merge_epoll_events(events, count) }
}

#[no_mangle]
pub unsafe extern "C" fn epoll_pwait(
    epfd: c_int,
    events: *mut epoll_event,
    max: c_int,
    timeout: c_int,
    mask: *const libc::sigset_t,
) -> c_int {
    let count = unsafe { real::epoll_pwait(epfd, events, max, timeout, mask) };
    unsafe { wait::merge_epoll_events(events, count) }
}
