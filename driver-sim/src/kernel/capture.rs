//! Every datagram the simulator receives and sends, as a pcap file that
//! Wireshark and tshark read ([`simdev_protocol::pcap`]'s format). simdev
//! speaks Generic Netlink on `NETLINK_USERSOCK`; its frames say
//! `NETLINK_GENERIC`, the protocol the conversation is, so the genetlink
//! and nlctrl dissectors decode it.
//!
//! Writing never blocks the event loop: frames go to a writer thread over
//! a bounded queue; when the queue is full (a slow disk) a frame is
//! dropped, counted, and said once in the log, and serving goes on. The
//! writer flushes whenever the queue is empty, so what was answered is on
//! disk soon after, whatever happens to the simulator later.

use simdev_protocol::pcap::{file_header, frame_bytes, NETLINK_GENERIC};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::SystemTime;

pub use simdev_protocol::pcap::Direction;

/// Frames waiting for the writer at most.
const QUEUE: usize = 4096;

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

/// One record of the file.
fn record_bytes(frame: &Frame) -> Vec<u8> {
    frame_bytes(frame.at, frame.direction, NETLINK_GENERIC, &frame.datagram)
}

fn write_frames(queue: Receiver<Frame>, mut out: BufWriter<File>, path: &str) {
    // Blocks for the next frame; once the queue is empty, what was written
    // goes to the file.
    while let Ok(frame) = queue.recv() {
        let mut written = out.write_all(&record_bytes(&frame));
        while let (Ok(()), Ok(frame)) = (&written, queue.try_recv()) {
            written = out.write_all(&record_bytes(&frame));
        }
        if let Err(e) = written.and_then(|()| out.flush()) {
            log::warn!("writing the capture {path}: {e}; capturing stopped");
            return;
        }
    }
}
