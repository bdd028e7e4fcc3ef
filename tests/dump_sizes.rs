//! Dump datagrams sized for the reader, as the kernel's `netlink_dump`
//! sizes them: `NLMSG_GOODSIZE` (3776 bytes) for a socket that has not
//! read yet, then the socket's largest receive (at most 32448). The
//! simulator cannot see receives: a socket that said nothing gets
//! page-sized datagrams, which a 4 KiB reader (libmnl's buffer here) takes
//! whole; one that said its size with `socket-set` gets datagrams of that
//! size.

use simdev_netlink::client::Client;
use simdev_protocol::ctrl::{self, GENL_ID_CTRL};
use simdev_protocol::extack::decode_status;
use simdev_protocol::simdev::{cmd, dev_attr, FAMILY_VERSION};
use simdev_protocol::wire::{
    split_messages, MessageBuilder, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use simdev_tests::{RawSocket, Simulator};
use std::time::Duration;

/// `NLMSG_GOODSIZE` on x86-64 with 4 KiB pages.
const GOODSIZE: usize = 4096 - 320;

/// Twenty devices of sixteen ports: a `dev-get` dump of about 34 KB.
const BOARD: &str = "[[device]]\nname = \"big\"\nbackend = \"model\"\nports = 16\ncount = 20\n";
const PORTS: usize = 320;

/// Every datagram of a `dev-get` dump to `socket`, until `NLMSG_DONE`.
fn dump_datagrams(sim: &Simulator, socket: &RawSocket, seq: u32) -> Vec<Vec<u8>> {
    let request = MessageBuilder::genl(sim.family_id, NLM_F_REQUEST | NLM_F_DUMP, seq, 0, cmd::DEV_GET, 1).finish();
    socket.send_to(sim.port, &request);
    let mut datagrams = Vec::new();
    loop {
        let datagram = socket.receive_one(Duration::from_secs(10)).expect("the dump in time");
        let done = split_messages(&datagram).any(|m| m.header.ty == NLMSG_DONE);
        datagrams.push(datagram);
        if done {
            return datagrams;
        }
    }
}

fn ports_in(datagrams: &[Vec<u8>]) -> usize {
    datagrams
        .iter()
        .flat_map(|d| split_messages(d).collect::<Vec<_>>())
        .map(|m| m.genl_attrs(0).filter(|a| a.kind() == dev_attr::PORT).count())
        .sum()
}

#[test]
fn a_socket_that_said_nothing_gets_page_sized_datagrams() {
    let sim = Simulator::start(BOARD);
    let socket = RawSocket::usersock(1 << 20);
    let datagrams = dump_datagrams(&sim, &socket, 1);
    let sizes: Vec<usize> = datagrams.iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|&size| size <= GOODSIZE), "{sizes:?}");
    assert!(sizes.len() >= 8, "the dump spans many datagrams: {sizes:?}");
    assert_eq!(ports_in(&datagrams), PORTS, "every port, whole");
}

#[test]
fn a_declared_receive_size_sizes_the_datagrams() {
    let sim = Simulator::start(BOARD);
    let socket = RawSocket::usersock(1 << 20);
    let declare = |seq: u32, bytes: u32| {
        let mut m =
            MessageBuilder::genl(sim.family_id, NLM_F_REQUEST | NLM_F_ACK, seq, 0, cmd::SOCKET_SET, FAMILY_VERSION);
        m.put_u32(dev_attr::RECV_SIZE, bytes);
        socket.send_to(sim.port, &m.finish());
        let ack = socket.receive_one(Duration::from_secs(10)).expect("the ACK");
        let message = split_messages(&ack).next().unwrap();
        assert_eq!((message.header.ty, decode_status(&message).unwrap().error), (NLMSG_ERROR, 0));
    };
    declare(1, 8192);
    let sizes: Vec<usize> = dump_datagrams(&sim, &socket, 2).iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|&size| size <= 8192), "{sizes:?}");
    assert!(sizes.iter().any(|&size| size > GOODSIZE), "the room is used: {sizes:?}");
    // It only grows, as the kernel's largest receive does; and no datagram
    // is larger than the kernel's cap.
    declare(3, 100);
    assert!(dump_datagrams(&sim, &socket, 4).iter().any(|d| d.len() > GOODSIZE));
    declare(5, 1 << 20);
    let datagrams = dump_datagrams(&sim, &socket, 6);
    let sizes: Vec<usize> = datagrams.iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|&size| size <= 32768 - 320), "{sizes:?}");
    assert!(sizes.iter().any(|&size| size > 16384), "{sizes:?}");
    assert_eq!(ports_in(&datagrams), PORTS);
}

/// The kernel's own sizing on this machine, which the simulator's follows:
/// a fresh socket's first dump datagram is at most `NLMSG_GOODSIZE`, the
/// next ones as large as the socket reads (the client library's 64 KiB).
#[test]
fn the_kernels_first_dump_datagram_is_page_sized() {
    let mut kernel = Client::kernel().expect("the kernel's genetlink");
    let mut request = kernel.new_request(GENL_ID_CTRL, ctrl::cmd::GETPOLICY, ctrl::CTRL_VERSION, NLM_F_DUMP);
    request.put_str(ctrl::attr::FAMILY_NAME, "ethtool");
    kernel.send_raw(&request.finish()).unwrap();
    let mut sizes = Vec::new();
    loop {
        let replies = kernel.recv_raw().unwrap();
        sizes.push(replies.iter().map(|r| r.bytes.len().next_multiple_of(4)).sum::<usize>());
        if replies.iter().any(|r| r.message().header.ty == NLMSG_DONE) {
            break;
        }
    }
    assert!(sizes[0] <= GOODSIZE && sizes[0] > GOODSIZE - 512, "{sizes:?}");
    assert!(sizes[1] > GOODSIZE, "after a 64 KiB receive, larger: {sizes:?}");
}
