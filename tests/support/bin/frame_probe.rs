//! `frame-probe SEND_IF RECV_IF COUNT`: sends COUNT Ethernet frames out of
//! SEND_IF and exits 0 once all arrived on RECV_IF (1 on timeout). The
//! tests run it inside a simulator's namespace to prove real traffic
//! crosses a port and its cable end. Uses raw AF_PACKET sockets (needs
//! CAP_NET_RAW in that namespace, which its owner has).

use std::ffi::CString;
use std::time::{Duration, Instant};

/// IEEE 802 "local experimental" ethertype: nothing else reacts to it.
const ETHERTYPE: u16 = 0x88b5;

fn ifindex(name: &str) -> i32 {
    let c = CString::new(name).unwrap();
    // SAFETY: a valid C string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert!(index != 0, "no interface {name}");
    index as i32
}

fn packet_socket(ifindex: i32) -> i32 {
    // SAFETY: plain socket calls with valid arguments.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, (ETHERTYPE).to_be() as i32);
        assert!(fd >= 0, "socket(AF_PACKET): {}", std::io::Error::last_os_error());
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ETHERTYPE.to_be();
        addr.sll_ifindex = ifindex;
        let rc =
            libc::bind(fd, &addr as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_ll>() as u32);
        assert!(rc == 0, "bind: {}", std::io::Error::last_os_error());
        let tv = libc::timeval { tv_sec: 0, tv_usec: 200_000 };
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv as *const _ as *const libc::c_void, 16);
        fd
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, send_if, recv_if, count] = &args[..] else {
        eprintln!("usage: frame-probe SEND_IF RECV_IF COUNT");
        std::process::exit(2);
    };
    let count: u32 = count.parse().expect("a count");
    let (tx, rx) = (packet_socket(ifindex(send_if)), packet_socket(ifindex(recv_if)));
    let mut frame = vec![0xffu8; 6]; // broadcast destination
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    frame.extend_from_slice(&ETHERTYPE.to_be_bytes());
    frame.extend_from_slice(b"simdev frame probe");
    frame.resize(60, 0);
    let mut received = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 2048];
    for _ in 0..count {
        // SAFETY: sending a buffer we own on our socket.
        let sent = unsafe { libc::send(tx, frame.as_ptr().cast(), frame.len(), 0) };
        assert!(sent == frame.len() as isize, "send: {}", std::io::Error::last_os_error());
    }
    while received < count && Instant::now() < deadline {
        // SAFETY: receiving into a buffer we own.
        let n = unsafe { libc::recv(rx, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n >= 14 && buf[12..14] == ETHERTYPE.to_be_bytes() && buf[14..32] == *b"simdev frame probe" {
            received += 1;
        }
    }
    println!("{received} of {count} frames arrived");
    std::process::exit(if received == count { 0 } else { 1 });
}
