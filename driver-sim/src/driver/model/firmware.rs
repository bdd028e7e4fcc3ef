//! Firmware: the running version and the flash state machine. A flash is
//! a sequence of status reports, like devlink's flash notifications:
//! "Preparing to flash", then "Flashing" with done/total, then "Flashing
//! done" (the version changes) or "Flashing failed" (it does not). The event
//! loop calls [`Firmware::advance`] every [`Firmware::step_interval`].
//! With activation by reset, a flash that is done stores its version, and
//! the old one runs until a reset activates it ([`Firmware::activate`]).

use crate::config::Activation;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{FwInfo, FwStatus};
use std::time::Duration;

/// Progress reports between the start and the end of a flash.
pub const FLASH_STEPS: u64 = 10;
/// A flash's first status, before any progress.
pub const PREPARING: &str = "Preparing to flash";

#[derive(Debug, Clone)]
struct Flash {
    version: String,
    step: u64,
    /// Fail when progress reaches this percent, with this errno.
    failure: Option<(u8, u32)>,
    generation: u64,
}

#[derive(Debug, Clone)]
pub struct Firmware {
    pub version: String,
    pub flash_duration_ms: u32,
    pub activation: Activation,
    /// A flashed version awaiting activation.
    stored: Option<String>,
    flash: Option<Flash>,
    generation: u64,
}

impl Firmware {
    pub fn new(version: String, flash_duration_ms: u32, activation: Activation) -> Self {
        Firmware { version, flash_duration_ms, activation, stored: None, flash: None, generation: 0 }
    }

    /// Runs the stored version, if one awaits activation; true if so.
    pub fn activate(&mut self) -> bool {
        match self.stored.take() {
            Some(version) => {
                self.version = version;
                true
            }
            None => false,
        }
    }

    pub fn info(&self) -> FwInfo {
        FwInfo {
            version: self.version.clone(),
            flash_duration_ms: Some(self.flash_duration_ms),
            flashing: self.flash.is_some(),
            pending_version: self.flash.as_ref().map(|f| f.version.clone()),
            stored_version: self.stored.clone(),
        }
    }

    /// Time between two progress reports.
    pub fn step_interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.flash_duration_ms) / FLASH_STEPS)
    }

    /// Starts flashing `version`; `failure` makes it fail at a percent with
    /// an errno. Returns the first status and the flash's generation (to
    /// recognise its timer).
    pub fn start(&mut self, version: &str, failure: Option<(u8, u32)>) -> Result<(FwStatus, u64), (i32, String)> {
        if let Some(flash) = &self.flash {
            return Err((errno::EBUSY, format!("a flash of {} is in progress", flash.version)));
        }
        self.generation += 1;
        self.flash = Some(Flash { version: version.to_string(), step: 0, failure, generation: self.generation });
        let status = FwStatus {
            message: PREPARING.into(),
            version: version.to_string(),
            done: 0,
            total: 0,
            error: 0,
            finished: false,
        };
        Ok((status, self.generation))
    }

    /// The next status of flash `generation`, or `None` if that flash is
    /// no longer running (the device was reset or removed).
    pub fn advance(&mut self, generation: u64) -> Option<FwStatus> {
        let flash = self.flash.as_mut().filter(|f| f.generation == generation)?;
        flash.step += 1;
        let percent = flash.step * 100 / FLASH_STEPS;
        let mut status = FwStatus {
            message: "Flashing".into(),
            version: flash.version.clone(),
            done: percent,
            total: 100,
            error: 0,
            finished: false,
        };
        if let Some((_, error)) = flash.failure.filter(|(at, _)| percent >= u64::from(*at)) {
            status.message = "Flashing failed".into();
            status.error = error;
            status.finished = true;
            self.flash = None;
        } else if flash.step >= FLASH_STEPS {
            status.message = "Flashing done".into();
            status.finished = true;
            match self.activation {
                Activation::Immediate => self.version = flash.version.clone(),
                Activation::Reset => self.stored = Some(flash.version.clone()),
            }
            self.flash = None;
        }
        Some(status)
    }

    /// Abandons a running flash (reset, removal); returns its final status.
    pub fn abort(&mut self, why: &str) -> Option<FwStatus> {
        let flash = self.flash.take()?;
        Some(FwStatus {
            message: format!("Flashing aborted: {why}"),
            version: flash.version,
            done: flash.step * 100 / FLASH_STEPS,
            total: 100,
            error: errno::ECANCELED as u32,
            finished: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_reports_progress_then_changes_the_version() {
        let mut fw = Firmware::new("1.0".into(), 1000, Activation::Immediate);
        let (first, generation) = fw.start("2.0", None).unwrap();
        assert_eq!(first.message, "Preparing to flash");
        assert_eq!(fw.start("3.0", None).unwrap_err().0, errno::EBUSY);
        let statuses: Vec<FwStatus> = std::iter::from_fn(|| fw.advance(generation)).collect();
        assert_eq!(statuses.len() as u64, FLASH_STEPS);
        assert!(statuses.windows(2).all(|w| w[0].done < w[1].done), "progress grows");
        let last = statuses.last().unwrap();
        assert!(last.finished && last.error == 0 && last.message == "Flashing done");
        assert_eq!(fw.version, "2.0");
        assert!(!fw.info().flashing);
    }

    #[test]
    fn an_injected_failure_keeps_the_old_version() {
        let mut fw = Firmware::new("1.0".into(), 1000, Activation::Immediate);
        let (_, generation) = fw.start("2.0", Some((50, errno::EIO as u32))).unwrap();
        let statuses: Vec<FwStatus> = std::iter::from_fn(|| fw.advance(generation)).collect();
        let last = statuses.last().unwrap();
        assert_eq!((last.done, last.error, last.finished), (50, errno::EIO as u32, true));
        assert_eq!(fw.version, "1.0");
        assert!(fw.advance(generation).is_none(), "the flash is over");
    }

    #[test]
    fn with_activation_by_reset_a_flashed_version_waits_for_one() {
        let mut fw = Firmware::new("1.0".into(), 1000, Activation::Reset);
        assert!(!fw.activate(), "nothing to activate");
        let (_, generation) = fw.start("2.0", None).unwrap();
        let last = std::iter::from_fn(|| fw.advance(generation)).last().unwrap();
        assert_eq!(last.message, "Flashing done");
        assert_eq!((fw.version.as_str(), fw.info().stored_version.as_deref()), ("1.0", Some("2.0")));
        assert!(fw.activate());
        assert_eq!((fw.version.as_str(), fw.info().stored_version), ("2.0", None));
    }
}
