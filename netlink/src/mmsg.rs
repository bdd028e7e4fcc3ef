//! Many netlink datagrams per system call: `recvmmsg` into fixed slots
//! (with each sender's port and `SCM_CREDENTIALS` uid) and `sendmmsg` of
//! several datagrams to one port. Netlink keeps datagram boundaries, and
//! kernel-faithful answers are one datagram each (a reply, then its ACK),
//! so a busy peer moves many small datagrams: batching the system calls
//! keeps that cheap. Used by the simulator's event loop and by the
//! client's pipeline.

use nix::errno::Errno;
use std::os::fd::RawFd;

/// One received datagram.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// Its bytes, at most the slot's size.
    pub bytes: &'a [u8],
    /// The sender's port id.
    pub port: u32,
    /// The multicast groups it was sent to (`nl_groups`), for notifications.
    pub groups: u32,
    /// The sender's uid, when the socket has `SO_PASSCRED`.
    pub uid: Option<u32>,
    /// It was longer than the slot (`MSG_TRUNC`): the rest is lost.
    pub truncated: bool,
}

/// Slots for `recvmmsg`: buffers, sender addresses, credentials.
pub struct RecvBatch {
    buffers: Vec<Vec<u8>>,
    addrs: Vec<libc::sockaddr_nl>,
    controls: Vec<[u64; 8]>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    /// Slots the kernel wrote into last time (the others are still pristine).
    used: usize,
}

// SAFETY: the raw pointers in the headers and iovecs point only into the
// buffers and arrays this struct owns (heap allocations that do not move
// when the struct does), so the whole may move to another thread.
unsafe impl Send for RecvBatch {}

impl RecvBatch {
    /// `slots` datagrams of up to `datagram_max` bytes each. (Pages of a
    /// buffer are only touched, and so only resident, when a datagram that
    /// long arrives.)
    pub fn new(slots: usize, datagram_max: usize) -> Self {
        // SAFETY: plain C structs, all-zero is a valid value.
        let zero_addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut batch = RecvBatch {
            buffers: vec![vec![0u8; datagram_max]; slots],
            addrs: vec![zero_addr; slots],
            controls: vec![[0u64; 8]; slots],
            iovecs: Vec::with_capacity(slots),
            // SAFETY: as above.
            headers: vec![unsafe { std::mem::zeroed() }; slots],
            used: slots,
        };
        for buffer in &mut batch.buffers {
            batch.iovecs.push(libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() });
        }
        batch
    }

    /// Waits for one datagram (up to the socket's receive timeout; not at
    /// all with `MSG_DONTWAIT` in `flags`), then takes every one already
    /// queued, up to the number of slots; returns how many.
    pub fn receive(&mut self, fd: RawFd, flags: libc::c_int) -> Result<usize, Errno> {
        self.receive_up_to(fd, flags, self.headers.len())
    }

    /// [`RecvBatch::receive`], taking at most `most` datagrams.
    pub fn receive_up_to(&mut self, fd: RawFd, flags: libc::c_int, most: usize) -> Result<usize, Errno> {
        self.rearm();
        let slots = most.clamp(1, self.headers.len()) as u32;
        // SAFETY: every header points at live buffers owned by `self`.
        let count = unsafe {
            libc::recvmmsg(fd, self.headers.as_mut_ptr(), slots, libc::MSG_WAITFORONE | flags, std::ptr::null_mut())
        };
        let count = Errno::result(count)? as usize;
        self.used = count;
        Ok(count)
    }

    /// Waits for one datagram as [`RecvBatch::receive`] does, with
    /// `recvmsg`; then, if `drain`, takes those already queued behind it
    /// with a `recvmmsg` that does not wait. For a peer that waits for
    /// each answer nothing is ever queued behind, and this is cheaper than
    /// a `recvmmsg` that waits, which looks for a second datagram every
    /// time and handles its headers at more cost (an echo peer's round
    /// trip: 11.8 µs with `recvmsg`, 12.2 with a one-slot `recvmmsg`,
    /// 12.7 with 32 slots).
    pub fn receive_first(&mut self, fd: RawFd, flags: libc::c_int, drain: bool) -> Result<usize, Errno> {
        self.rearm();
        // SAFETY: the first header points at live buffers owned by `self`.
        let len = unsafe { libc::recvmsg(fd, &mut self.headers[0].msg_hdr, flags) };
        let len = Errno::result(len)?;
        self.headers[0].msg_len = len as u32;
        self.used = 1;
        if drain && self.headers.len() > 1 {
            let rest = &mut self.headers[1..];
            // SAFETY: as above, for the other headers.
            let count = unsafe {
                libc::recvmmsg(fd, rest.as_mut_ptr(), rest.len() as u32, libc::MSG_DONTWAIT, std::ptr::null_mut())
            };
            // Nothing queued (EAGAIN), or an error the next receive will
            // report again: the first datagram is this call's answer.
            self.used += usize::try_from(count).unwrap_or(0);
        }
        Ok(self.used)
    }

    /// Re-arms the headers the kernel changed; the buffers (and the iovecs
    /// pointing at them) never move.
    fn rearm(&mut self) {
        for i in 0..self.used {
            let header = &mut self.headers[i].msg_hdr;
            header.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_nl).cast();
            header.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as u32;
            header.msg_iov = &mut self.iovecs[i];
            header.msg_iovlen = 1;
            header.msg_control = self.controls[i].as_mut_ptr().cast();
            header.msg_controllen = std::mem::size_of::<[u64; 8]>();
            header.msg_flags = 0;
            self.headers[i].msg_len = 0;
        }
    }

    /// Datagram `index` of the last [`RecvBatch::receive`].
    pub fn get(&self, index: usize) -> Received<'_> {
        let header = &self.headers[index];
        let buffer = &self.buffers[index];
        let len = (header.msg_len as usize).min(buffer.len());
        Received {
            bytes: &buffer[..len],
            port: self.addrs[index].nl_pid,
            groups: self.addrs[index].nl_groups,
            uid: credentials_uid(&header.msg_hdr),
            truncated: header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        }
    }
}

/// The uid of an `SCM_CREDENTIALS` control message, if there is one.
fn credentials_uid(header: &libc::msghdr) -> Option<u32> {
    // SAFETY: walks the control buffer the kernel filled, with the libc
    // macros, within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(header);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_CREDENTIALS {
                let creds = libc::CMSG_DATA(cmsg) as *const libc::ucred;
                return Some(std::ptr::read_unaligned(creds).uid);
            }
            cmsg = libc::CMSG_NXTHDR(header, cmsg);
        }
    }
    None
}

/// Sends `datagrams` to `port`, in order, in one `sendmmsg`. Returns how
/// many were sent and, if not all, the error that stopped the first one
/// that was not (`None` when the kernel stopped without saying: it reports
/// an error only when nothing was sent, so the caller learns it by sending
/// that datagram again).
pub fn send_batch(fd: RawFd, port: u32, datagrams: &[&[u8]], flags: libc::c_int) -> (usize, Option<Errno>) {
    // SAFETY: plain C structs, all-zero is a valid value.
    let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    address.nl_pid = port;
    let mut iovecs: Vec<libc::iovec> =
        datagrams.iter().map(|d| libc::iovec { iov_base: d.as_ptr() as *mut libc::c_void, iov_len: d.len() }).collect();
    let mut headers: Vec<libc::mmsghdr> = iovecs
        .iter_mut()
        .map(|iov| {
            // SAFETY: as above.
            let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
            header.msg_hdr.msg_name = (&mut address as *mut libc::sockaddr_nl).cast();
            header.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as u32;
            header.msg_hdr.msg_iov = iov;
            header.msg_hdr.msg_iovlen = 1;
            header
        })
        .collect();
    // SAFETY: every header points at the address, iovecs and datagrams
    // above, which outlive the call.
    let sent = unsafe { libc::sendmmsg(fd, headers.as_mut_ptr(), headers.len() as u32, flags) };
    match sent {
        n if n < 0 => (0, Some(Errno::last())),
        n => (n as usize, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{bind, getsockname, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType};
    use std::os::fd::AsRawFd;

    fn usersock() -> (std::os::fd::OwnedFd, u32) {
        let fd = socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkUserSock)
            .unwrap();
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).unwrap();
        let port = getsockname::<NetlinkAddr>(fd.as_raw_fd()).unwrap().pid();
        (fd, port)
    }

    #[test]
    fn datagrams_sent_together_arrive_whole_and_apart() {
        let (sender, sender_port) = usersock();
        let (receiver, receiver_port) = usersock();
        let (sent, error) = send_batch(sender.as_raw_fd(), receiver_port, &[b"one", b"second", &[7u8; 40]], 0);
        assert_eq!((sent, error), (3, None));
        let mut batch = RecvBatch::new(4, 16);
        assert_eq!(batch.receive(receiver.as_raw_fd(), libc::MSG_DONTWAIT), Ok(3));
        assert_eq!(batch.get(0).bytes, b"one");
        assert_eq!(batch.get(1).bytes, b"second");
        assert_eq!(batch.get(0).port, sender_port);
        assert!(batch.get(2).truncated && batch.get(2).bytes.len() == 16);
        assert_eq!(batch.receive(receiver.as_raw_fd(), libc::MSG_DONTWAIT), Err(Errno::EAGAIN));
    }

    #[test]
    fn long_batches_and_single_receives_keep_datagrams_apart() {
        let (sender, sender_port) = usersock();
        let (receiver, receiver_port) = usersock();
        let many: Vec<Vec<u8>> = (1..=9u8).map(|n| vec![n; usize::from(n)]).collect();
        let slices: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
        assert_eq!(send_batch(sender.as_raw_fd(), receiver_port, &slices, 0), (9, None));
        let mut batch = RecvBatch::new(4, 16);
        // The first alone, then (looking behind it) the next three.
        assert_eq!(batch.receive_first(receiver.as_raw_fd(), libc::MSG_DONTWAIT, false), Ok(1));
        assert_eq!((batch.get(0).bytes, batch.get(0).port), (&many[0][..], sender_port));
        assert_eq!(batch.receive_first(receiver.as_raw_fd(), libc::MSG_DONTWAIT, true), Ok(4));
        assert_eq!((1..4).map(|i| batch.get(i).bytes.to_vec()).collect::<Vec<_>>(), many[2..5].to_vec());
        assert_eq!(batch.get(0).bytes, &many[1][..]);
        assert_eq!(batch.receive(receiver.as_raw_fd(), libc::MSG_DONTWAIT), Ok(4));
        assert_eq!(batch.get(3).bytes, &many[8][..]);
        assert_eq!(batch.receive_first(receiver.as_raw_fd(), libc::MSG_DONTWAIT, true), Err(Errno::EAGAIN));
    }
}
