//! Stop-at-first-failure for pipelined batches: a request carrying the
//! `batch` attribute is skipped (`ECANCELED`) once an earlier request of the
//! same batch from the same socket failed. Requests are answered in the
//! order they arrive, so "earlier" is exact even with many in flight.

use crate::genl::{HandlerError, Sender};
use simdev_protocol::policy::errno;
use std::collections::VecDeque;

/// How many failed batches are remembered (oldest forgotten first).
const REMEMBERED: usize = 1024;

#[derive(Debug, Default)]
pub struct FailedBatches {
    failed: VecDeque<(u32, u32)>,
}

impl FailedBatches {
    /// Refuses a request of a batch that already failed.
    pub fn check(&self, sender: Sender, batch: u32) -> Result<(), HandlerError> {
        if self.failed.contains(&(sender.port, batch)) {
            return Err(HandlerError::new(
                errno::ECANCELED,
                format!("skipped: an earlier request of batch {batch} failed"),
            ));
        }
        Ok(())
    }

    pub fn record_failure(&mut self, sender: Sender, batch: u32) {
        if self.failed.contains(&(sender.port, batch)) {
            return;
        }
        if self.failed.len() == REMEMBERED {
            self.failed.pop_front();
        }
        self.failed.push_back((sender.port, batch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_batch_cancels_its_later_requests_only() {
        let mut batches = FailedBatches::default();
        let a = Sender { port: 10, uid: None };
        let b = Sender { port: 11, uid: None };
        assert!(batches.check(a, 7).is_ok());
        batches.record_failure(a, 7);
        assert_eq!(batches.check(a, 7).unwrap_err().errno, errno::ECANCELED);
        assert!(batches.check(a, 8).is_ok(), "another batch");
        assert!(batches.check(b, 7).is_ok(), "another socket");
    }
}
