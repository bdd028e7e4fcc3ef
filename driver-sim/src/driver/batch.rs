//! Stop-at-first-failure for pipelined batches: a request carrying the
//! `batch` attribute is skipped (`ECANCELED`) once an earlier request of the
//! same batch from the same socket failed. Requests are answered in the
//! order they arrive, so "earlier" is exact even with many in flight.
//!
//! The record belongs to the client's socket (see [`crate::kernel::clients`]):
//! nobody else can add to it or flush it.

use crate::kernel::genl::HandlerError;
use simdev_protocol::policy::errno;
use std::collections::VecDeque;

/// How many failed batches one socket's record keeps (oldest forgotten
/// first). A client stops a batch at its first failure, so only the
/// batches it still has requests in flight for matter.
const REMEMBERED: usize = 16;

#[derive(Debug, Default)]
pub struct FailedBatches {
    failed: VecDeque<u32>,
}

impl FailedBatches {
    /// Refuses a request of a batch that already failed.
    pub fn check(&self, batch: u32) -> Result<(), HandlerError> {
        if self.failed.contains(&batch) {
            return Err(HandlerError::new(
                errno::ECANCELED,
                format!("skipped: an earlier request of batch {batch} failed"),
            ));
        }
        Ok(())
    }

    pub fn record_failure(&mut self, batch: u32) {
        if self.failed.contains(&batch) {
            return;
        }
        if self.failed.len() == REMEMBERED {
            self.failed.pop_front();
        }
        self.failed.push_back(batch);
    }

    pub fn is_empty(&self) -> bool {
        self.failed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_batch_cancels_its_later_requests_only() {
        let mut batches = FailedBatches::default();
        assert!(batches.check(7).is_ok());
        batches.record_failure(7);
        assert_eq!(batches.check(7).unwrap_err().errno, errno::ECANCELED);
        assert!(batches.check(8).is_ok(), "another batch");
    }

    #[test]
    fn the_record_is_bounded_and_forgets_the_oldest() {
        let mut batches = FailedBatches::default();
        for batch in 1..=(REMEMBERED as u32 + 1) {
            batches.record_failure(batch);
        }
        assert!(batches.check(1).is_ok(), "the oldest was forgotten");
        assert!(batches.check(2).is_err());
        assert_eq!(batches.failed.len(), REMEMBERED);
    }
}
