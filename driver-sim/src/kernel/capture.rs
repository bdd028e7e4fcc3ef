//! Every datagram the simulator receives and sends, as a pcap file that
//! Wireshark and tshark read ([`simdev_protocol::pcap`]'s format). simdev
//! speaks Generic Netlink on `NETLINK_USERSOCK`; its frames say
//! `NETLINK_GENERIC`, the protocol the conversation is, so the genetlink
//! and nlctrl dissectors decode it.
//!
//! Writing never blocks the event loop: the loop gathers a turn's frames
//! and hands them, in one batch, to a writer thread over a bounded queue;
//! when the queue is full (a slow disk) the batch is dropped, counted, and
//! said once in the log, and serving goes on. A write that fails (a full
//! disk) is said once; capturing stops there and every frame after it is
//! counted as dropped. The writer writes and flushes what it was given,
//! then lets the next batches gather for `GATHER` (so that under load
//! the loop seldom has a sleeping writer to wake: a wake-up every turn
//! cost as much as the writing): what was answered is on disk a few
//! milliseconds later, whatever happens to the simulator then.
//!
//! A capture may be size-bounded (`--pcap-max`): like tcpdump's `-C`, a
//! file that would grow past the bound is closed and the next one begun,
//! `FILE`, then `FILE1`, `FILE2`, ..., each a whole pcap with its own
//! header; `--pcap-files N` keeps at most N of them, reusing the names in
//! turn (`FILE` again after `FILE{N-1}`).

use simdev_protocol::pcap::{append_frame, file_header, NETLINK_GENERIC};
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::SystemTime;

pub use simdev_protocol::pcap::Direction;

/// Batches waiting for the writer at most.
const QUEUE: usize = 1024;
/// Bytes of frames waiting for the writer at most (the capture's memory).
const QUEUED_BYTES: u64 = 64 << 20;
/// Bytes the writer hands the file at a time (a system call each).
const WRITE_SIZE: usize = 1 << 20;
/// How long the writer lets batches gather after writing some: what a
/// crash of the simulator can lose of what it answered, at most.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

/// How big a capture may grow (`--pcap-max`, `--pcap-files`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Bytes a file may hold at most (a frame is never split: a frame
    /// larger than this has a file of its own); `None`: one file, unbounded.
    pub max_bytes: Option<u64>,
    /// Files kept at most, the oldest overwritten; `None`: no limit.
    pub files: Option<u32>,
}

impl Rotation {
    /// The name of the `index`th file (0 is `base` itself).
    fn file_name(&self, base: &Path, index: u64) -> PathBuf {
        let index = self.files.map_or(index, |files| index % u64::from(files.max(1)));
        if index == 0 {
            return base.to_path_buf();
        }
        let mut name = base.as_os_str().to_owned();
        name.push(index.to_string());
        PathBuf::from(name)
    }
}

/// A loop turn's frames, as the file's records, one after another.
#[derive(Default)]
struct Batch {
    records: Vec<u8>,
    frames: u64,
}

impl Batch {
    /// Each record (its header says its length).
    fn records(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.records.as_slice();
        std::iter::from_fn(move || {
            let captured = u32::from_ne_bytes(rest.get(8..12)?.try_into().expect("4 bytes")) as usize;
            let (record, after) = rest.split_at(16 + captured);
            rest = after;
            Some(record)
        })
    }
}

/// What the capture did: the simulator's `stats` report it.
#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    /// Bytes handed to the writer and not written yet.
    queued: AtomicU64,
    warned: AtomicBool,
}

impl Counters {
    fn drop_frames(&self, frames: u64, why: &str) {
        self.dropped.fetch_add(frames, Ordering::Relaxed);
        if !self.warned.swap(true, Ordering::Relaxed) {
            log::warn!("{why}: frames are being left out (counted in stats' capture-dropped)");
        }
    }
}

/// A capture being written; dropping it writes what is queued and closes
/// the file.
pub struct Capture {
    frames: Option<SyncSender<Batch>>,
    writer: Option<std::thread::JoinHandle<()>>,
    counters: Arc<Counters>,
    /// This turn's frames, not handed over yet.
    pending: RefCell<Batch>,
}

impl Capture {
    /// Creates (or truncates) `path`, writes the pcap header and starts the
    /// writer.
    pub fn create(path: &Path, rotation: Rotation) -> std::io::Result<Capture> {
        let sink = Sink::open(path.to_path_buf(), rotation, 0)?;
        let (frames, queue) = sync_channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        let writer =
            std::thread::Builder::new().name("capture".into()).spawn(move || write_frames(queue, sink, &shared))?;
        Ok(Capture { frames: Some(frames), writer: Some(writer), counters, pending: RefCell::default() })
    }

    /// Records one datagram (written at the end of the loop's turn:
    /// [`Capture::hand_over`]).
    pub fn record(&self, direction: Direction, datagram: &[u8]) {
        let mut pending = self.pending.borrow_mut();
        append_frame(&mut pending.records, SystemTime::now(), direction, NETLINK_GENERIC, datagram);
        pending.frames += 1;
    }

    /// Hands the turn's frames to the writer, never waiting: the loop calls
    /// it before it waits for more work, so that what was answered is on
    /// its way to the disk.
    pub fn hand_over(&self) {
        let mut pending = self.pending.borrow_mut();
        if pending.frames == 0 {
            return;
        }
        // The next turn's likely size, allocated once.
        let next = Batch { records: Vec::with_capacity(pending.records.len()), frames: 0 };
        let batch = std::mem::replace(&mut *pending, next);
        drop(pending);
        let (frames, bytes) = (batch.frames, batch.records.len() as u64);
        if self.counters.queued.load(Ordering::Relaxed) + bytes > QUEUED_BYTES {
            return self.counters.drop_frames(frames, "the capture cannot keep up");
        }
        self.counters.queued.fetch_add(bytes, Ordering::Relaxed);
        let sent = self.frames.as_ref().map(|queue| queue.try_send(batch));
        let why = match sent {
            Some(Err(TrySendError::Full(_))) => "the capture cannot keep up",
            Some(Err(TrySendError::Disconnected(_))) => "capturing stopped",
            _ => return,
        };
        self.counters.queued.fetch_sub(bytes, Ordering::Relaxed);
        self.counters.drop_frames(frames, why);
    }

    /// Frames written to the file(s) so far.
    pub fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    /// Frames left out so far (the queue full, or writing failed).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.hand_over();
        drop(self.frames.take()); // the writer ends once the queue is written
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        let dropped = self.dropped();
        if dropped > 0 {
            log::warn!("the capture left out {dropped} frames it could not write");
        }
    }
}

/// The file being written, and when to begin the next.
struct Sink {
    base: PathBuf,
    rotation: Rotation,
    index: u64,
    out: BufWriter<File>,
    size: u64,
}

impl Sink {
    fn open(base: PathBuf, rotation: Rotation, index: u64) -> std::io::Result<Sink> {
        let path = rotation.file_name(&base, index);
        let mut out = BufWriter::with_capacity(WRITE_SIZE, File::create(&path)?);
        let header = file_header();
        out.write_all(&header)?;
        out.flush()?;
        Ok(Sink { base, rotation, index, out, size: header.len() as u64 })
    }

    fn path(&self) -> PathBuf {
        self.rotation.file_name(&self.base, self.index)
    }

    /// A batch's records: at once where the file holds them all, else
    /// one by one, a new file begun where one would pass the bound.
    fn write_batch(&mut self, batch: &Batch) -> std::io::Result<()> {
        let len = batch.records.len() as u64;
        if self.rotation.max_bytes.is_none_or(|max| self.size + len <= max) {
            self.out.write_all(&batch.records)?;
            self.size += len;
            return Ok(());
        }
        batch.records().try_for_each(|record| self.write(record))
    }

    fn write(&mut self, record: &[u8]) -> std::io::Result<()> {
        let len = record.len() as u64;
        let holds_frames = self.size > file_header().len() as u64;
        if self.rotation.max_bytes.is_some_and(|max| holds_frames && self.size + len > max) {
            self.out.flush()?;
            *self = Sink::open(self.base.clone(), self.rotation, self.index + 1)?;
        }
        self.out.write_all(record)?;
        self.size += len;
        Ok(())
    }
}

fn write_frames(queue: Receiver<Batch>, mut sink: Sink, counters: &Counters) {
    // Blocks for the next batch; once the queue is empty, what was written
    // goes to the file.
    while let Ok(batch) = queue.recv() {
        let mut batches = vec![batch];
        batches.extend(queue.try_iter());
        let outcome = batches.iter().try_for_each(|batch| sink.write_batch(batch)).and_then(|()| sink.out.flush());
        let bytes: usize = batches.iter().map(|b| b.records.len()).sum();
        counters.queued.fetch_sub(bytes as u64, Ordering::Relaxed);
        let frames: u64 = batches.iter().map(|b| b.frames).sum();
        if let Err(e) = outcome {
            log::warn!("writing the capture {}: {e}; capturing stopped", sink.path().display());
            // The frames not written, those the writer's buffer held when
            // the write failed, and what is queued: lost.
            let queued: u64 = queue.try_iter().map(|b| b.frames).sum();
            counters.drop_frames(frames + queued, "capturing stopped");
            return;
        }
        counters.written.fetch_add(frames, Ordering::Relaxed);
        // Under load, the batches of the next few turns are gathered while
        // the writer waits here: the loop's hand-over then finds nobody to
        // wake (waking the writer every turn cost as much as the writing).
        std::thread::sleep(GATHER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_are_named_as_tcpdump_names_them_and_reused_in_turn() {
        let base = Path::new("/tmp/cap.pcap");
        let unbounded = Rotation { max_bytes: Some(1), files: None };
        let names: Vec<_> = (0..4).map(|i| unbounded.file_name(base, i)).collect();
        assert_eq!(names, ["/tmp/cap.pcap", "/tmp/cap.pcap1", "/tmp/cap.pcap2", "/tmp/cap.pcap3"].map(PathBuf::from));
        let three = Rotation { max_bytes: Some(1), files: Some(3) };
        let names: Vec<_> = (0..5).map(|i| three.file_name(base, i)).collect();
        assert_eq!(
            names,
            ["/tmp/cap.pcap", "/tmp/cap.pcap1", "/tmp/cap.pcap2", "/tmp/cap.pcap", "/tmp/cap.pcap1"].map(PathBuf::from)
        );
    }
}
