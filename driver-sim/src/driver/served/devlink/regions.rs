//! devlink regions: netdevsim's `dummy` (32 KiB, up to 16 snapshots of
//! random bytes, taken on request), with the core's rules
//! (`net/devlink/region.c`): snapshot ids are the lowest free ones unless
//! the request names one, a region read goes out in 256-byte chunks.

/// netdevsim's dummy region (`NSIM_DEV_DUMMY_REGION_*`).
pub const NAME: &str = "dummy";
pub const SIZE: u64 = 32 * 1024;
pub const MAX_SNAPSHOTS: u32 = 16;
/// `DEVLINK_REGION_READ_CHUNK_SIZE`.
pub const CHUNK: u64 = 256;

#[derive(Debug, Clone, Default)]
pub struct Region {
    /// Snapshots in the order they were taken, as the core lists them.
    pub snapshots: Vec<(u32, Vec<u8>)>,
    seed: u64,
}

impl Region {
    pub fn new(seed: u64) -> Self {
        Region { snapshots: Vec::new(), seed: seed | 1 }
    }

    pub fn snapshot(&self, id: u32) -> Option<&[u8]> {
        self.snapshots.iter().find(|(s, _)| *s == id).map(|(_, data)| data.as_slice())
    }

    /// The lowest id no snapshot has (`xa_alloc` from 0).
    pub fn free_id(&self) -> u32 {
        (0..).find(|id| self.snapshot(*id).is_none()).expect("fewer than 2^32 snapshots")
    }

    /// Takes a snapshot: netdevsim's `nsim_dev_take_snapshot`, random bytes.
    pub fn take(&mut self, id: u32) {
        let mut data = Vec::with_capacity(SIZE as usize);
        while data.len() < SIZE as usize {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            data.extend_from_slice(&self.seed.to_ne_bytes());
        }
        self.snapshots.push((id, data));
    }

    pub fn remove(&mut self, id: u32) -> bool {
        let before = self.snapshots.len();
        self.snapshots.retain(|(s, _)| *s != id);
        self.snapshots.len() != before
    }
}
