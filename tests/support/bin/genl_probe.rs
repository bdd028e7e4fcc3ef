//! `genl-probe FAMILY SCENARIO`: a plain C-library Generic Netlink client
//! (socket, sendto, recv, poll, epoll, threads, fork), run by the tests
//! under `genl-client exec`. Each scenario asks the controller about
//! FAMILY and prints, as one JSON document, what a program can observe:
//! datagram boundaries, message types and flags, whether ACK/ERROR/DONE
//! carry its own port, lengths. The tests run it for a kernel family
//! (`nlctrl`) and for `simdev` and require the same document: then
//! simdev behaves, through the preload library, as the kernel does.

use serde_json::{json, Value};
use simdev_protocol::ctrl;
use simdev_protocol::wire::{
    split_messages, MessageBuilder, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTI,
    NLM_F_REQUEST,
};
use std::time::Duration;

const BUF: usize = 64 * 1024;

fn check(rc: libc::c_int, what: &str) -> libc::c_int {
    assert!(rc >= 0, "{what}: {}", std::io::Error::last_os_error());
    rc
}

fn open() -> i32 {
    // SAFETY: plain socket calls.
    unsafe { configure(check(libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_GENERIC), "socket")) }
}

/// The options every probe socket gets: extended ACKs, a 5 s receive timeout.
fn configure(fd: i32) -> i32 {
    // SAFETY: plain socket calls.
    unsafe {
        let one: libc::c_int = 1;
        let len = std::mem::size_of::<libc::c_int>() as u32;
        check(libc::setsockopt(fd, 270, 11, (&raw const one).cast(), len), "NETLINK_EXT_ACK");
        let timeout = libc::timeval { tv_sec: 5, tv_usec: 0 };
        let tlen = std::mem::size_of::<libc::timeval>() as u32;
        check(libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, (&raw const timeout).cast(), tlen), "timeout");
        fd
    }
}

/// A `NETLINK_USERSOCK` socket connected to a simulator's port.
fn direct(port: u32) -> i32 {
    // SAFETY: plain socket calls.
    unsafe {
        let fd = check(libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_USERSOCK), "socket");
        let mut address: libc::sockaddr_nl = std::mem::zeroed();
        address.nl_family = libc::AF_NETLINK as u16;
        address.nl_pid = port;
        let len = std::mem::size_of::<libc::sockaddr_nl>() as u32;
        check(libc::connect(fd, (&raw const address).cast(), len), "connect");
        configure(fd)
    }
}

/// Sets a `SOL_NETLINK` option.
fn set_option(fd: i32, name: i32, value: libc::c_int) {
    let len = std::mem::size_of::<libc::c_int>() as u32;
    // SAFETY: an int option.
    check(unsafe { libc::setsockopt(fd, 270, name, (&raw const value).cast(), len) }, "setsockopt");
}

fn own_port(fd: i32) -> u32 {
    // SAFETY: a sockaddr_nl-sized buffer.
    unsafe {
        let mut address: libc::sockaddr_nl = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_nl>() as u32;
        check(libc::getsockname(fd, (&raw mut address).cast(), &mut len), "getsockname");
        address.nl_pid
    }
}

fn send(fd: i32, datagram: &[u8]) {
    // SAFETY: a valid buffer and address.
    unsafe {
        let mut kernel: libc::sockaddr_nl = std::mem::zeroed();
        kernel.nl_family = libc::AF_NETLINK as u16;
        let len = std::mem::size_of::<libc::sockaddr_nl>() as u32;
        let sent = libc::sendto(fd, datagram.as_ptr().cast(), datagram.len(), 0, (&raw const kernel).cast(), len);
        assert_eq!(sent, datagram.len() as isize, "sendto: {}", std::io::Error::last_os_error());
    }
}

/// One datagram; `None` on timeout.
fn recv(fd: i32, flags: i32) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; BUF];
    // SAFETY: buf is writable for its length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) };
    if n < 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

fn getfamily(seq: u32, family: &str) -> Vec<u8> {
    let mut m = MessageBuilder::genl(ctrl::GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq, 0, ctrl::cmd::GETFAMILY, 2);
    m.put_str(ctrl::attr::FAMILY_NAME, family);
    m.finish()
}

/// What a program sees of one datagram.
fn describe(datagram: &[u8], port: u32) -> Value {
    let messages: Vec<Value> = split_messages(datagram)
        .map(|m| {
            let h = m.header;
            let kind = match h.ty {
                NLMSG_ERROR => "error",
                NLMSG_DONE => "done",
                _ => "reply",
            };
            let mut out = json!({ "kind": kind, "flags": h.flags, "seq": h.seq, "pid_is_mine": h.port == port });
            if h.ty == NLMSG_ERROR || h.ty == NLMSG_DONE {
                out["error"] = simdev_protocol::wire::read_i32(&m.bytes[NLMSG_HDRLEN..]).into();
            }
            if h.ty == NLMSG_ERROR {
                // Past the status: the echoed request and TLVs, relative to the request.
                out["echo_and_tlvs_len"] = (m.bytes.len() - NLMSG_HDRLEN - 4).into();
            }
            out
        })
        .collect();
    Value::Array(messages)
}

/// Reads datagrams until one holds an ACK/error/DONE for `last_seq`.
fn read_until_status(fd: i32, last_seq: u32) -> Vec<Vec<u8>> {
    let mut datagrams = Vec::new();
    while let Some(d) = recv(fd, 0) {
        let done = split_messages(&d)
            .any(|m| (m.header.ty == NLMSG_ERROR || m.header.ty == NLMSG_DONE) && m.header.seq == last_seq);
        datagrams.push(d);
        if done {
            break;
        }
    }
    datagrams
}

/// What a program sees of a dump's framing.
fn dump_shape(fd: i32, seq: u32) -> Value {
    let port = own_port(fd);
    let datagrams = read_until_status(fd, seq);
    let messages: Vec<_> =
        datagrams.iter().flat_map(|d| split_messages(d).map(|m| m.header).collect::<Vec<_>>()).collect();
    let last = split_messages(datagrams.last().expect("a datagram")).count();
    json!({
        "every_part_multi": messages.iter().all(|h| h.flags & NLM_F_MULTI != 0),
        "ends_with_done": messages.last().map(|h| h.ty) == Some(NLMSG_DONE),
        "one_done": messages.iter().filter(|h| h.ty == NLMSG_DONE).count() == 1,
        "done_pid_is_mine": messages.last().map(|h| h.port) == Some(port),
        "parts_share_datagrams": messages.len() > datagrams.len(),
        "done_shares_the_last_datagram": last > 1,
    })
}

/// One datagram read with a `size`-byte buffer: its true length
/// (`MSG_TRUNC`) and what fit; `None` on timeout.
fn recv_sized(fd: i32, size: usize) -> Option<(usize, Vec<u8>)> {
    let mut buf = vec![0u8; size];
    // SAFETY: buf is writable for its length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC) };
    if n < 0 {
        return None;
    }
    buf.truncate((n as usize).min(size));
    Some((n as usize, buf))
}

/// A policy dump of `family` read with `size`-byte buffers: the true
/// length of each datagram, and whether each fit.
fn policy_dump_sizes(fd: i32, family: &str, seq: u32, size: usize) -> (Vec<usize>, bool) {
    let mut m = MessageBuilder::genl(ctrl::GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, seq, 0, ctrl::cmd::GETPOLICY, 2);
    m.put_str(ctrl::attr::FAMILY_NAME, family);
    send(fd, &m.finish());
    let (mut lengths, mut whole) = (Vec::new(), true);
    while let Some((length, datagram)) = recv_sized(fd, size) {
        lengths.push(length);
        whole &= length <= size;
        if !whole || split_messages(&datagram).any(|m| m.header.ty == NLMSG_DONE && m.header.seq == seq) {
            break;
        }
    }
    (lengths, whole)
}

fn scenario(family: &str, name: &str) -> Value {
    let fd = open();
    match name {
        // A do request with an ACK; two in one datagram; an error.
        "do" | "multi" | "error" | "error-capped" => {
            if name == "error-capped" {
                // The other way round: errors capped, no extended ACK.
                set_option(fd, 10, 1); // NETLINK_CAP_ACK
                set_option(fd, 11, 0); // NETLINK_EXT_ACK
            }
            let datagram = match name {
                "do" => getfamily(1, family),
                "multi" => [getfamily(1, family), getfamily(2, family)].concat(),
                _ => {
                    // A policy dump of a command the family lacks: refused
                    // at its start, the attribute at fault in the extended ACK.
                    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;
                    let mut m = MessageBuilder::genl(ctrl::GENL_ID_CTRL, flags, 2, 0, ctrl::cmd::GETPOLICY, 2);
                    m.put_str(ctrl::attr::FAMILY_NAME, family);
                    m.put_u32(ctrl::attr::OP, 255);
                    m.finish()
                }
            };
            send(fd, &datagram);
            let port = own_port(fd);
            let datagrams = read_until_status(fd, if name == "do" { 1 } else { 2 });
            json!(datagrams.iter().map(|d| describe(d, port)).collect::<Vec<_>>())
        }
        // A policy dump: parts packed, one DONE with the requester's port.
        "dump" => {
            let mut m =
                MessageBuilder::genl(ctrl::GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, 3, 0, ctrl::cmd::GETPOLICY, 2);
            m.put_str(ctrl::attr::FAMILY_NAME, family);
            send(fd, &m.finish());
            dump_shape(fd, 3)
        }
        // The family's own first command (dev-get in netdev and simdev) as
        // a dump, its id resolved through the controller.
        "family-dump" => {
            send(fd, &getfamily(1, family));
            let reply = recv(fd, 0).expect("GETFAMILY reply");
            recv(fd, 0).expect("its ACK");
            let message = split_messages(&reply).next().expect("a message");
            let id = message.genl_attrs(0).get(ctrl::attr::FAMILY_ID).and_then(|a| a.u16()).expect("FAMILY_ID");
            send(fd, &MessageBuilder::genl(id, NLM_F_REQUEST | NLM_F_DUMP, 4, 0, 1, 1).finish());
            dump_shape(fd, 4)
        }
        // Dump datagrams sized for the reader, as the kernel sizes them: a
        // socket that has not read gets page-sized ones, which a 4 KiB
        // reader (libmnl's buffer) takes whole; after a 64 KiB receive,
        // larger ones.
        "dump-sizes" => {
            let (small, whole) = policy_dump_sizes(fd, family, 5, 4096);
            send(fd, &getfamily(6, "nlctrl"));
            recv_sized(fd, 65536).expect("GETFAMILY reply");
            recv_sized(fd, 65536).expect("its ACK");
            let (large, _) = policy_dump_sizes(fd, family, 7, 65536);
            json!({
                "whole_with_4096": whole,
                "first_fits_a_page": small.first().is_some_and(|&l| l <= 4096 - 320),
                "larger_after_a_large_receive": large.iter().any(|&l| l > 4096),
            })
        }
        // The controller's family list, read (after a 64 KiB receive) with
        // 64 KiB buffers: family ids in order, NLMSG_DONE packed with the
        // last families, as this kernel sends them. (FAMILY is not used.)
        "ctrl-dump" => {
            send(fd, &getfamily(8, "nlctrl"));
            recv_sized(fd, 65536).expect("GETFAMILY reply");
            recv_sized(fd, 65536).expect("its ACK");
            send(
                fd,
                &MessageBuilder::genl(ctrl::GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, 9, 0, ctrl::cmd::GETFAMILY, 2)
                    .finish(),
            );
            let (mut families, mut datagrams_with_done_and_parts, mut done) = (Vec::new(), 0, false);
            while !done {
                let (_, datagram) = recv_sized(fd, 65536).expect("the family list");
                let messages: Vec<_> = split_messages(&datagram).collect();
                for message in &messages {
                    if message.header.ty == NLMSG_DONE {
                        done = true;
                        datagrams_with_done_and_parts += usize::from(messages.len() > 1);
                    } else {
                        let attrs = message.genl_attrs(0);
                        let id = attrs.get(ctrl::attr::FAMILY_ID).and_then(|a| a.u16()).expect("FAMILY_ID");
                        let name = attrs.get(ctrl::attr::FAMILY_NAME).and_then(|a| a.string()).expect("FAMILY_NAME");
                        families.push((id, name.to_string()));
                    }
                }
            }
            json!({
                "ids_ascending": families.windows(2).all(|w| w[0].0 < w[1].0),
                "done_shares_the_last_datagram": datagrams_with_done_and_parts == 1,
                "last_family": families.last().map(|(_, name)| name.clone()),
            })
        }
        // Requests whose answers are left unread until the socket overflows
        // (a common nl_send_sync misuse): a receive then reports ENOBUFS,
        // before the answers queued after the loss.
        "overrun" => {
            for seq in 0..3000 {
                send(fd, &getfamily(100 + seq, family));
            }
            let (mut enobufs, mut idle) = (false, 0);
            while idle < 40 {
                let mut buf = vec![0u8; BUF];
                // SAFETY: buf is writable for its length.
                let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
                if n >= 0 {
                    continue;
                }
                match std::io::Error::last_os_error().raw_os_error() {
                    Some(libc::ENOBUFS) => enobufs = true,
                    Some(libc::EAGAIN) if enobufs => break,
                    Some(libc::EAGAIN) => {
                        idle += 1; // nothing, for 2 s in all: no loss reported
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    other => panic!("recv: {other:?}"),
                }
                if enobufs {
                    continue; // the answers queued after the loss still come
                }
            }
            json!({ "enobufs": enobufs })
        }
        // The kernel handles a request inside its send: its answer is
        // queued when the send returns, and a message it handles without
        // a word (no NLM_F_REQUEST, no ACK asked) leaves nothing behind.
        "answered-in-send" => {
            send(fd, &getfamily(1, family));
            let reply = recv(fd, libc::MSG_DONTWAIT);
            let id = reply
                .as_deref()
                .and_then(|reply| split_messages(reply).next())
                .and_then(|m| m.genl_attrs(0).get(ctrl::attr::FAMILY_ID).and_then(|a| a.u16()));
            let ack = recv(fd, 0).and_then(|d| split_messages(&d).next().map(|m| m.header.ty)) == Some(NLMSG_ERROR);
            send(fd, &MessageBuilder::genl(id.unwrap_or(0), 0, 2, 0, 1, 1).finish());
            let silent_leaves_nothing = recv(fd, libc::MSG_DONTWAIT).is_none();
            send(fd, &getfamily(3, family));
            let next = recv(fd, 0).and_then(|d| split_messages(&d).next().map(|m| (m.header.ty, m.header.seq)));
            json!({
                "reply_queued_when_send_returned": id.is_some(),
                "then_its_ack": ack,
                "silent_leaves_nothing": silent_leaves_nothing,
                "next_answer_is_the_next_requests": next == Some((ctrl::GENL_ID_CTRL, 3)),
            })
        }
        // MSG_PEEK|MSG_TRUNC with no room tells the length; the datagram stays.
        "peek" => {
            send(fd, &getfamily(1, family));
            let mut none = [0u8; 0];
            // SAFETY: a zero-length buffer.
            let peeked = unsafe { libc::recv(fd, none.as_mut_ptr().cast(), 0, libc::MSG_PEEK | libc::MSG_TRUNC) };
            let read = recv(fd, 0).map_or(0, |d| d.len() as isize);
            let mut small = [0u8; 8];
            // SAFETY: an 8-byte buffer.
            let truncated = unsafe { libc::recv(fd, small.as_mut_ptr().cast(), small.len(), libc::MSG_TRUNC) };
            json!({ "peek_len_is_the_datagrams": peeked == read && read > 0, "trunc_tells_the_ack_length": truncated == 36 })
        }
        // Non-blocking: EAGAIN, then poll wakes for the answer.
        "poll" => {
            // SAFETY: plain fcntl and poll calls.
            unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFL);
                check(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK), "O_NONBLOCK");
                let empty =
                    recv(fd, 0).is_none() && std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN);
                send(fd, &getfamily(1, family));
                let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                let ready = libc::poll(&mut pfd, 1, 5000);
                let reply = recv(fd, 0).is_some();
                json!({ "eagain_when_empty": empty, "poll_wakes": ready == 1 && pfd.revents & libc::POLLIN != 0, "then_reads": reply })
            }
        }
        // epoll, as asyncio programs (pyroute2) wait.
        "epoll" => {
            // SAFETY: plain epoll calls.
            unsafe {
                let ep = check(libc::epoll_create1(0), "epoll_create1");
                let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: 77 };
                check(libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut event), "epoll_ctl");
                send(fd, &getfamily(1, family));
                let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
                let n = libc::epoll_wait(ep, events.as_mut_ptr(), 4, 5000);
                let data = events[0].u64;
                let reply = recv(fd, 0).is_some();
                json!({ "one_event": n == 1, "its_data": data == 77, "then_reads": reply })
            }
        }
        // One thread blocks in recv; another sends.
        "thread" => {
            let reader = std::thread::spawn(move || recv(fd, 0).map(|d| split_messages(&d).count()));
            std::thread::sleep(Duration::from_millis(100));
            send(fd, &getfamily(1, family));
            json!({ "blocked_reader_woke": reader.join().unwrap() == Some(1) })
        }
        // A child of fork uses the socket it inherited.
        "fork" => {
            // SAFETY: the child only makes system calls and exits.
            let child = unsafe { libc::fork() };
            if child == 0 {
                send(fd, &getfamily(1, family));
                let ok = recv(fd, 0).is_some() && recv(fd, 0).is_some();
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            let mut status = 0;
            // SAFETY: waiting for our child.
            unsafe { libc::waitpid(child, &mut status, 0) };
            json!({ "child_got_reply_and_ack": libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 })
        }
        // GETFAMILY round trips (reply only), for the benchmark. With
        // GENL_PROBE_DIRECT_PORT the same requests go straight to a
        // simulator's port on NETLINK_USERSOCK instead (no preload needed).
        "rtt" => {
            let rounds: u32 = std::env::var("GENL_PROBE_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(2000);
            let fd = match std::env::var("GENL_PROBE_DIRECT_PORT").ok().and_then(|p| p.parse::<u32>().ok()) {
                Some(port) => direct(port),
                None => fd,
            };
            let mut request = MessageBuilder::genl(ctrl::GENL_ID_CTRL, NLM_F_REQUEST, 1, 0, ctrl::cmd::GETFAMILY, 2);
            request.put_str(ctrl::attr::FAMILY_NAME, family);
            let request = request.finish();
            let mut buf = vec![0u8; BUF];
            let started = std::time::Instant::now();
            for _ in 0..rounds {
                // SAFETY: valid buffers; the socket is connected or sends to port 0.
                unsafe {
                    let sent = libc::send(fd, request.as_ptr().cast(), request.len(), 0);
                    assert_eq!(sent, request.len() as isize, "send: {}", std::io::Error::last_os_error());
                    let got = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
                    assert!(got > 0, "recv: {}", std::io::Error::last_os_error());
                }
            }
            json!({ "rtt_us": started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds) })
        }
        // Forks while another thread keeps using the socket's fds (dup and
        // close): every child can still close its copy and exit.
        "fork-busy" => {
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let busy = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        // SAFETY: a duplicate of our own socket, closed at once.
                        unsafe { libc::close(libc::dup(fd)) };
                    }
                })
            };
            let mut stuck = 0;
            for _ in 0..50 {
                // SAFETY: the child only closes an fd and exits.
                let child = unsafe { libc::fork() };
                if child == 0 {
                    unsafe {
                        libc::close(fd);
                        libc::_exit(0);
                    }
                }
                let deadline = std::time::Instant::now() + Duration::from_secs(2);
                let mut status = 0;
                // SAFETY: waiting for our child, killing it if it hangs.
                while unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) } == 0 {
                    if std::time::Instant::now() > deadline {
                        stuck += 1;
                        unsafe {
                            libc::kill(child, libc::SIGKILL);
                            libc::waitpid(child, &mut status, 0);
                        }
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            busy.join().unwrap();
            json!({ "children_stuck": stuck })
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, family, name] = args.as_slice() else {
        eprintln!(
            "usage: genl-probe FAMILY do|multi|error|error-capped|dump|family-dump|peek|poll|epoll|thread|fork|fork-busy|rtt"
        );
        std::process::exit(2);
    };
    println!("{}", scenario(family, name));
}
