//! Netlink conversations as pcap files, the format Wireshark, tshark and
//! tcpdump read: link type `LINKTYPE_NETLINK` (253), each frame a netlink
//! datagram behind the 16-byte header libpcap writes for an `nlmon`
//! capture (packet type, `ARPHRD_NETLINK`, the netlink protocol, big
//! endian). The simulator writes them (`driver-sim --pcap`); `genl-client
//! decode` reads them, and captures other tools wrote (nlmon's, in either
//! byte order, micro- or nanosecond timestamps).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `LINKTYPE_NETLINK`.
pub const LINKTYPE_NETLINK: u32 = 253;
/// `ARPHRD_NETLINK`.
pub const ARPHRD_NETLINK: u16 = 824;
/// `NETLINK_GENERIC`: what the simulator's frames name as their protocol
/// (simdev speaks Generic Netlink, over `NETLINK_USERSOCK`), so that the
/// genetlink and nlctrl dissectors decode them.
pub const NETLINK_GENERIC: u16 = 16;
/// The largest frame written: a 64 KiB datagram and its link header.
pub const SNAPLEN: u32 = 65536 + 16;
/// The link header before each datagram.
pub const LINK_HEADER_LEN: usize = 16;

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Which way a datagram went between a program and the side that answers
/// it (the kernel, the simulator), as the link header's packet type says
/// it, whoever recorded it (the simulator, or `exec`'s program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A program's request, to the driver side (written `PACKET_HOST`, as
    /// it arrives there; nlmon's `PACKET_USER` reads as this too).
    ToDriver,
    /// An answer or notification from the driver side (written
    /// `PACKET_OUTGOING`; nlmon's `PACKET_KERNEL` reads as this too).
    FromDriver,
}

impl Direction {
    fn packet_type(self) -> u16 {
        match self {
            Direction::ToDriver => 0,   // PACKET_HOST
            Direction::FromDriver => 4, // PACKET_OUTGOING
        }
    }

    fn of_packet_type(packet_type: u16) -> Option<Direction> {
        match packet_type {
            0 | 6 => Some(Direction::ToDriver),   // PACKET_HOST, PACKET_USER
            4 | 7 => Some(Direction::FromDriver), // PACKET_OUTGOING, PACKET_KERNEL
            _ => None,
        }
    }
}

/// The file header: microsecond timestamps, native byte order.
pub fn file_header() -> Vec<u8> {
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&MAGIC_MICROS.to_ne_bytes());
    header.extend_from_slice(&2u16.to_ne_bytes());
    header.extend_from_slice(&4u16.to_ne_bytes());
    header.extend_from_slice(&0i32.to_ne_bytes()); // thiszone
    header.extend_from_slice(&0u32.to_ne_bytes()); // sigfigs
    header.extend_from_slice(&SNAPLEN.to_ne_bytes());
    header.extend_from_slice(&LINKTYPE_NETLINK.to_ne_bytes());
    header
}

/// One record: its header, the link header, the datagram (cut at
/// [`SNAPLEN`], its length kept as the original's).
pub fn frame_bytes(at: SystemTime, direction: Direction, protocol: u16, datagram: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(32 + datagram.len());
    append_frame(&mut bytes, at, direction, protocol, datagram);
    bytes
}

/// [`frame_bytes`], appended to `out` (no allocation of its own).
pub fn append_frame(out: &mut Vec<u8>, at: SystemTime, direction: Direction, protocol: u16, datagram: &[u8]) {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let original = (datagram.len() + LINK_HEADER_LEN) as u32;
    let captured = original.min(SNAPLEN);
    out.extend_from_slice(&(since.as_secs() as u32).to_ne_bytes());
    out.extend_from_slice(&since.subsec_micros().to_ne_bytes());
    out.extend_from_slice(&captured.to_ne_bytes());
    out.extend_from_slice(&original.to_ne_bytes());
    out.extend_from_slice(&direction.packet_type().to_be_bytes());
    out.extend_from_slice(&ARPHRD_NETLINK.to_be_bytes());
    out.extend_from_slice(&[0; 10]);
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(&datagram[..captured as usize - LINK_HEADER_LEN]);
}

/// One frame read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// When it was recorded.
    pub at: SystemTime,
    /// `None`: a packet type other than the two a netlink tap writes.
    pub direction: Option<Direction>,
    /// The netlink protocol (`NETLINK_GENERIC`, `NETLINK_ROUTE`...).
    pub protocol: u16,
    /// The datagram as captured.
    pub datagram: Vec<u8>,
    /// Whether the capture cut it (its original was longer).
    pub cut: bool,
}

/// A capture read back: its frames, and why reading stopped early if it
/// did (a last record cut short: the file was still being written).
#[derive(Debug, Clone, Default)]
pub struct Capture {
    pub frames: Vec<Frame>,
    pub cut_short: Option<String>,
}

/// Reads a netlink pcap: every whole frame; an error for what is not one.
pub fn read(bytes: &[u8]) -> Result<Capture, String> {
    if bytes.len() < 24 {
        return Err(format!("{} bytes: too short for a pcap file header (24)", bytes.len()));
    }
    let magic = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
    let (little, nanos) = match magic {
        MAGIC_MICROS => (true, false),
        MAGIC_NANOS => (true, true),
        m if m.swap_bytes() == MAGIC_MICROS => (false, false),
        m if m.swap_bytes() == MAGIC_NANOS => (false, true),
        _ => return Err("not a pcap file (no pcap magic number; pcapng is not read)".into()),
    };
    let u32_at = |at: usize| {
        let raw: [u8; 4] = bytes[at..at + 4].try_into().expect("4 bytes");
        if little {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        }
    };
    let linktype = u32_at(20) & 0x0fff_ffff;
    if linktype != LINKTYPE_NETLINK {
        return Err(format!("link type {linktype}, not netlink ({LINKTYPE_NETLINK})"));
    }
    let mut capture = Capture::default();
    let mut at = 24;
    while at < bytes.len() {
        let number = capture.frames.len() + 1;
        if bytes.len() - at < 16 {
            capture.cut_short = Some(format!("frame {number}: its record header is cut short"));
            break;
        }
        let (seconds, fraction, captured, original) = (u32_at(at), u32_at(at + 4), u32_at(at + 8), u32_at(at + 12));
        let start = at + 16;
        let Some(end) = start.checked_add(captured as usize).filter(|end| *end <= bytes.len()) else {
            capture.cut_short = Some(format!("frame {number}: {captured} bytes announced, fewer in the file"));
            break;
        };
        let record = &bytes[start..end];
        if record.len() < LINK_HEADER_LEN {
            return Err(format!("frame {number}: {} bytes, shorter than the netlink link header", record.len()));
        }
        let be = |offset: usize| u16::from_be_bytes([record[offset], record[offset + 1]]);
        let fraction =
            if nanos { Duration::from_nanos(fraction.into()) } else { Duration::from_micros(fraction.into()) };
        capture.frames.push(Frame {
            at: UNIX_EPOCH + Duration::from_secs(seconds.into()) + fraction,
            direction: Direction::of_packet_type(be(0)),
            protocol: be(14),
            datagram: record[LINK_HEADER_LEN..].to_vec(),
            cut: original > captured,
        });
        at = end;
    }
    Ok(capture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_the_netlink_link_header() {
        let bytes = frame_bytes(UNIX_EPOCH, Direction::FromDriver, NETLINK_GENERIC, &[0xaa; 20]);
        assert_eq!(bytes.len(), 16 + 16 + 20);
        assert_eq!(&bytes[8..12], &36u32.to_ne_bytes(), "captured length: header and datagram");
        assert_eq!(&bytes[16..20], &[0, 4, 0x03, 0x38], "PACKET_OUTGOING, ARPHRD_NETLINK (824)");
        assert_eq!(&bytes[30..32], &[0, 16], "NETLINK_GENERIC");
        assert_eq!(&bytes[32..], &[0xaa; 20]);
        assert_eq!(file_header()[20..24], 253u32.to_ne_bytes());
    }

    #[test]
    fn what_is_written_reads_back_and_a_cut_end_is_said() {
        let at = UNIX_EPOCH + Duration::from_micros(1_500_000);
        let mut file = file_header();
        file.extend(frame_bytes(at, Direction::ToDriver, NETLINK_GENERIC, &[1; 20]));
        file.extend(frame_bytes(at, Direction::FromDriver, NETLINK_GENERIC, &[2; 24]));
        let capture = read(&file).unwrap();
        assert_eq!(capture.frames.len(), 2);
        assert_eq!(capture.frames[0].direction, Some(Direction::ToDriver));
        assert_eq!((capture.frames[1].datagram.as_slice(), capture.frames[1].at), (&[2u8; 24][..], at));
        assert!(capture.cut_short.is_none());
        let cut = read(&file[..file.len() - 3]).unwrap();
        assert_eq!(cut.frames.len(), 1);
        assert!(cut.cut_short.unwrap().starts_with("frame 2:"));
    }

    #[test]
    fn other_files_are_refused_and_other_writers_read() {
        assert!(read(b"hello").unwrap_err().contains("too short"));
        assert!(read(&[0u8; 24]).unwrap_err().contains("not a pcap file"));
        let mut ethernet = file_header();
        ethernet[20..24].copy_from_slice(&1u32.to_ne_bytes());
        assert!(read(&ethernet).unwrap_err().contains("link type 1, not netlink"));
        // Big endian, nanoseconds: as another machine's libpcap may write.
        let mut other = Vec::new();
        other.extend_from_slice(&MAGIC_NANOS.to_be_bytes());
        other.extend_from_slice(&[0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
        other.extend_from_slice(&SNAPLEN.to_be_bytes());
        other.extend_from_slice(&LINKTYPE_NETLINK.to_be_bytes());
        for value in [7u32, 250, 20, 20] {
            other.extend_from_slice(&value.to_be_bytes());
        }
        other.extend_from_slice(&[0, 0, 0x03, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        other.extend_from_slice(&[9; 4]);
        let frame = &read(&other).unwrap().frames[0];
        assert_eq!(frame.at, UNIX_EPOCH + Duration::from_secs(7) + Duration::from_nanos(250));
        assert_eq!((frame.protocol, frame.datagram.as_slice()), (0, &[9u8; 4][..]));
    }
}
