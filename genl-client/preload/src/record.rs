//! `exec --pcap FILE`: the program's conversation, appended to the pcap
//! file `exec` made ([`simdev_protocol::preload::PCAP_ENV`]): each datagram
//! the program sends on a Generic Netlink socket and each it receives, as
//! it sent and saw them (kernel families and simulated ones alike, with
//! the family ids it saw). Each frame is one `write` to a file opened
//! `O_APPEND`, so the frames of the program's threads and child processes
//! never interleave. A write that fails is said once, and the program goes
//! on.

use crate::real;
use simdev_protocol::pcap::{frame_bytes, Direction, NETLINK_GENERIC};
use simdev_protocol::preload::PCAP_ENV;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::SystemTime;

/// The capture's file descriptor, when the program is being recorded.
fn capture() -> Option<libc::c_int> {
    static FD: OnceLock<Option<libc::c_int>> = OnceLock::new();
    *FD.get_or_init(|| {
        let path = std::env::var_os(PCAP_ENV)?;
        let path = std::ffi::CString::new(path.as_bytes()).ok()?;
        // SAFETY: a NUL-terminated path.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_APPEND | libc::O_CLOEXEC) };
        if fd < 0 {
            let error = std::io::Error::last_os_error();
            eprintln!("simdev-preload: cannot open the capture {}: {error}; not recording", path.to_string_lossy());
            return None;
        }
        Some(fd)
    })
}

/// Whether the program is being recorded.
pub fn recording() -> bool {
    capture().is_some()
}

/// Appends one datagram the program sent or received.
pub fn record(direction: Direction, datagram: &[u8]) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let Some(fd) = capture() else { return };
    let frame = frame_bytes(SystemTime::now(), direction, NETLINK_GENERIC, datagram);
    // SAFETY: the frame's bytes, on our own descriptor.
    let written = unsafe { real::write(fd, frame.as_ptr().cast(), frame.len()) };
    if written != frame.len() as isize && !WARNED.swap(true, Ordering::Relaxed) {
        let error = std::io::Error::last_os_error();
        eprintln!("simdev-preload: writing the capture: {error}; frames are being left out");
    }
}
