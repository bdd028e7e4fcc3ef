//! The C library's own functions, which the hooks wrap: found with
//! `dlsym(RTLD_NEXT)` on first use.

use libc::{c_int, c_void, epoll_event, msghdr, nfds_t, pollfd, size_t, sockaddr, socklen_t, ssize_t};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Resolves `name` (NUL-terminated) once into `slot`.
fn resolve(slot: &AtomicUsize, name: &'static str) -> usize {
    let mut address = slot.load(Ordering::Relaxed);
    if address == 0 {
        // SAFETY: dlsym with a NUL-terminated name.
        address = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) } as usize;
        if address == 0 {
            // Nothing sensible can follow: the program would call nowhere.
            eprintln!("simdev-preload: the C library has no {}", name.trim_end_matches('\0'));
            std::process::abort();
        }
        slot.store(address, Ordering::Relaxed);
    }
    address
}

macro_rules! real {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {$(
        /// The C library's function of this name.
        #[allow(clippy::missing_safety_doc)]
        pub unsafe fn $name($($arg: $ty),*) -> $ret {
            static SLOT: AtomicUsize = AtomicUsize::new(0);
            let address = resolve(&SLOT, concat!(stringify!($name), "\0"));
            // SAFETY: the symbol has this C signature in every C library we run on.
            let function: unsafe extern "C" fn($($ty),*) -> $ret = unsafe { std::mem::transmute(address) };
            unsafe { function($($arg),*) }
        }
    )*};
}

real! {
    socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    close(fd: c_int) -> c_int;
    dup(fd: c_int) -> c_int;
    dup2(old: c_int, new: c_int) -> c_int;
    dup3(old: c_int, new: c_int, flags: c_int) -> c_int;
    bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: socklen_t) -> c_int;
    sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
    sendto(fd: c_int, buf: *const c_void, len: size_t, flags: c_int, addr: *const sockaddr, alen: socklen_t) -> ssize_t;
    send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t;
    write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t;
    recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    recvfrom(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int, addr: *mut sockaddr, alen: *mut socklen_t) -> ssize_t;
    recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t;
    read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t;
    poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int;
    ppoll(fds: *mut pollfd, nfds: nfds_t, timeout: *const libc::timespec, mask: *const libc::sigset_t) -> c_int;
    select(nfds: c_int, r: *mut libc::fd_set, w: *mut libc::fd_set, e: *mut libc::fd_set, timeout: *mut libc::timeval) -> c_int;
    pselect(nfds: c_int, r: *mut libc::fd_set, w: *mut libc::fd_set, e: *mut libc::fd_set, timeout: *const libc::timespec, mask: *const libc::sigset_t) -> c_int;
    epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut epoll_event) -> c_int;
    epoll_wait(epfd: c_int, events: *mut epoll_event, max: c_int, timeout: c_int) -> c_int;
    epoll_pwait(epfd: c_int, events: *mut epoll_event, max: c_int, timeout: c_int, mask: *const libc::sigset_t) -> c_int;
}

/// `ioctl`, which is variadic in C.
pub unsafe fn ioctl(fd: c_int, request: libc::c_ulong, arg: usize) -> c_int {
    static SLOT: AtomicUsize = AtomicUsize::new(0);
    let address = resolve(&SLOT, "ioctl\0");
    // SAFETY: ioctl's C signature (glibc's request type).
    let function: unsafe extern "C" fn(c_int, libc::c_ulong, ...) -> c_int = unsafe { std::mem::transmute(address) };
    unsafe { function(fd, request, arg) }
}

/// `fcntl`, which is variadic in C.
pub unsafe fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    static SLOT: AtomicUsize = AtomicUsize::new(0);
    let address = resolve(&SLOT, "fcntl\0");
    // SAFETY: fcntl's C signature.
    let function: unsafe extern "C" fn(c_int, c_int, ...) -> c_int = unsafe { std::mem::transmute(address) };
    unsafe { function(fd, cmd, arg) }
}
