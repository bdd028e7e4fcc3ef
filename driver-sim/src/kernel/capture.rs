//! Every datagram the simulator receives and sends, as a pcap file that
//! Wireshark and tshark read: link type `LINKTYPE_NETLINK` (253), each
//! frame the netlink datagram behind the 16-byte header libpcap writes for
//! an `nlmon` capture (packet type, `ARPHRD_NETLINK`, the netlink protocol).
//! simdev speaks Generic Netlink on `NETLINK_USERSOCK`; its frames say
//! `NETLINK_GENERIC`, the protocol the conversation is, so the genetlink
//! and nlctrl dissectors decode it.
//!
//! Writing never blocks the event loop: frames go to a writer thread over
//! a bounded queue; when the queue is full (a slow disk) a frame is
//! dropped, counted, and said once in the log, and serving goes on. The
//! writer flushes whenever the queue is empty, so what was answered is on
//! disk soon after, whatever happens to the simulator later.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::{SystemTime, UNIX_EPOCH};

/// `LINKTYPE_NETLINK`.
const LINKTYPE_NETLINK: u32 = 253;
/// `ARPHRD_NETLINK`.
const ARPHRD_NETLINK: u16 = 824;
/// What each frame's header names: the conversation is Generic Netlink.
const NETLINK_GENERIC: u16 = 16;
/// The largest frame: a datagram the simulator takes (64 KiB) and the header.
const SNAPLEN: u32 = 65536 + 16;
/// Frames waiting for the writer at most.
const QUEUE: usize = 4096;

/// Which way a datagram went, as the header's packet type says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A client's request, to the simulator (`PACKET_HOST`).
    Received,
    /// An answer or notification from the simulator (`PACKET_OUTGOING`).
    Sent,
}

struct Frame {
    at: SystemTime,
    direction: Direction,
    datagram: Vec<u8>,
}

/// A capture being written; dropping it writes what is queued and closes
/// the file.
pub struct Capture {
    frames: Option<SyncSender<Frame>>,
    writer: Option<std::thread::JoinHandle<()>>,
    dropped: AtomicU64,
    warned: AtomicBool,
}

impl Capture {
    /// Creates (or truncates) `path`, writes the pcap header and starts the
    /// writer.
    pub fn create(path: &Path) -> std::io::Result<Capture> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(&file_header())?;
        out.flush()?;
        let (frames, queue) = sync_channel(QUEUE);
        let path = path.display().to_string();
        let writer =
            std::thread::Builder::new().name("capture".into()).spawn(move || write_frames(queue, out, &path))?;
        Ok(Capture {
            frames: Some(frames),
            writer: Some(writer),
            dropped: AtomicU64::new(0),
            warned: AtomicBool::new(false),
        })
    }

    /// Records one datagram, never waiting.
    pub fn record(&self, direction: Direction, datagram: &[u8]) {
        let frame = Frame { at: SystemTime::now(), direction, datagram: datagram.to_vec() };
        let sent = self.frames.as_ref().map(|frames| frames.try_send(frame));
        if let Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) = sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if !self.warned.swap(true, Ordering::Relaxed) {
                log::warn!("the capture cannot keep up (or stopped): frames are being left out");
            }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        drop(self.frames.take()); // the writer ends once the queue is written
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            log::warn!("the capture left out {dropped} frames it could not write in time");
        }
    }
}

/// The pcap file header: microsecond timestamps, native byte order.
fn file_header() -> Vec<u8> {
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&0xa1b2_c3d4u32.to_ne_bytes());
    header.extend_from_slice(&2u16.to_ne_bytes());
    header.extend_from_slice(&4u16.to_ne_bytes());
    header.extend_from_slice(&0i32.to_ne_bytes()); // thiszone
    header.extend_from_slice(&0u32.to_ne_bytes()); // sigfigs
    header.extend_from_slice(&SNAPLEN.to_ne_bytes());
    header.extend_from_slice(&LINKTYPE_NETLINK.to_ne_bytes());
    header
}

/// One frame: the record header, the 16-byte netlink link header (big
/// endian, as `LINKTYPE_NETLINK` defines it), the datagram.
fn frame_bytes(frame: &Frame) -> Vec<u8> {
    let since = frame.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let length = (frame.datagram.len() + 16).min(SNAPLEN as usize) as u32;
    let mut bytes = Vec::with_capacity(16 + length as usize);
    bytes.extend_from_slice(&(since.as_secs() as u32).to_ne_bytes());
    bytes.extend_from_slice(&since.subsec_micros().to_ne_bytes());
    bytes.extend_from_slice(&length.to_ne_bytes());
    bytes.extend_from_slice(&length.to_ne_bytes());
    let packet_type: u16 = match frame.direction {
        Direction::Received => 0, // PACKET_HOST
        Direction::Sent => 4,     // PACKET_OUTGOING
    };
    bytes.extend_from_slice(&packet_type.to_be_bytes());
    bytes.extend_from_slice(&ARPHRD_NETLINK.to_be_bytes());
    bytes.extend_from_slice(&[0; 10]);
    bytes.extend_from_slice(&NETLINK_GENERIC.to_be_bytes());
    bytes.extend_from_slice(&frame.datagram[..length as usize - 16]);
    bytes
}

fn write_frames(queue: Receiver<Frame>, mut out: BufWriter<File>, path: &str) {
    // Blocks for the next frame; once the queue is empty, what was written
    // goes to the file.
    while let Ok(frame) = queue.recv() {
        let mut written = out.write_all(&frame_bytes(&frame));
        while let (Ok(()), Ok(frame)) = (&written, queue.try_recv()) {
            written = out.write_all(&frame_bytes(&frame));
        }
        if let Err(e) = written.and_then(|()| out.flush()) {
            log::warn!("writing the capture {path}: {e}; capturing stopped");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_the_netlink_link_header() {
        let frame = Frame { at: UNIX_EPOCH, direction: Direction::Sent, datagram: vec![0xaa; 20] };
        let bytes = frame_bytes(&frame);
        assert_eq!(bytes.len(), 16 + 16 + 20);
        assert_eq!(&bytes[8..12], &36u32.to_ne_bytes(), "captured length: header and datagram");
        assert_eq!(&bytes[16..20], &[0, 4, 0x03, 0x38], "PACKET_OUTGOING, ARPHRD_NETLINK (824)");
        assert_eq!(&bytes[30..32], &[0, 16], "NETLINK_GENERIC");
        assert_eq!(&bytes[32..], &[0xaa; 20]);
        assert_eq!(file_header()[20..24], 253u32.to_ne_bytes());
    }
}
