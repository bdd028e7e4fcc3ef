//! `fw show|flash`. A flash is followed through the simulator's `fw`
//! notifications (subscribed before the flash starts, so none is missed):
//! a progress bar on a terminal, plain lines otherwise, and a failing exit
//! status when the flash fails. Users who may not join multicast groups
//! (not root) get progress by polling `fw-get` instead.

use super::Output;
use crate::client::PROBE_EVERY;
use crate::error::{Error, Result};
use crate::simdev::{Event, FwImage, SimdevClient};
use simdev_protocol::errno::errno_name;
use simdev_protocol::simdev::{DevSelector, FwStatus, GROUP_FW};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often `fw flash` polls when it cannot subscribe.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Shows progress on a terminal as a bar, otherwise as lines.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    output: Output,
    device: String,
}

impl Progress {
    fn new(device: &str, output: Output) -> Self {
        let bar = (!output.json && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(100);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos:>3}% {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(format!("fw flash {device}"));
            bar
        });
        Progress { bar, output, device: device.to_string() }
    }

    fn report(&self, status: &FwStatus) {
        match &self.bar {
            Some(bar) => {
                if let Some(percent) = (status.done * 100).checked_div(status.total) {
                    bar.set_position(percent);
                }
                bar.set_message(status.message.clone());
            }
            None if self.output.json => self.output.print_json(status),
            None => println!("fw flash {}: {} {}/{}", self.device, status.message, status.done, status.total),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

pub fn flash(sim: &mut SimdevClient, dev: &DevSelector, image: &FwImage, output: Output) -> Result<()> {
    let device = sim.dev_get(dev)?;
    let progress = Progress::new(&device.name, output);
    let mut subscription = match sim.subscribe(&[GROUP_FW]) {
        Ok(subscription) => Some(subscription),
        Err(Error::SubscribePermission) => None,
        Err(e) => return Err(e),
    };
    sim.fw_flash(dev, image)?;
    let Some(subscription) = subscription.as_mut() else {
        return poll_flash(sim, dev, image, &progress);
    };
    // A simulated flash reports at least every duration / 10; a kernel
    // driver's (netdevsim) has no stated duration. Allow generous slack,
    // and check every half second that the simulator is still there.
    let duration = sim.fw_show(dev)?.items[0].flash_duration_ms.unwrap_or(60_000);
    let deadline = Instant::now() + Duration::from_millis(u64::from(duration) + 10_000);
    subscription.set_timeout(Some(PROBE_EVERY))?;
    loop {
        let replies = match subscription.recv() {
            Err(Error::Timeout) if Instant::now() < deadline => {
                sim.client().probe()?;
                continue;
            }
            outcome => outcome?,
        };
        for (_, reply) in replies {
            let Some(Event::FwStatus { status }) = Event::decode(&reply)? else { continue };
            if status.dev_id != device.id {
                continue;
            }
            let status = &status.items[0];
            progress.report(status);
            if status.finished {
                progress.finish();
                if status.error != 0 {
                    let errno = status.error as i32;
                    return Err(Error::Netlink {
                        errno: nix::errno::Errno::from_raw(errno),
                        message: Some(format!("flash of {image} failed: {} ({})", status.message, errno_name(errno))),
                        attribute: None,
                        missing: None,
                        details: Default::default(),
                    });
                }
                return Ok(());
            }
        }
    }
}

/// Follows a flash by polling `fw-get` (for users who cannot subscribe).
fn poll_flash(sim: &mut SimdevClient, dev: &DevSelector, image: &FwImage, progress: &Progress) -> Result<()> {
    loop {
        let fw = sim.fw_show(dev)?.items.remove(0);
        if !fw.flashing {
            progress.finish();
            return match image {
                FwImage::Version(version) if fw.version != *version => Err(Error::Protocol(format!(
                    "flash of {version} failed: the running version is still {}",
                    fw.version
                ))),
                // A file's outcome is only in the notifications: say so rather than guess.
                FwImage::File(file) => Err(Error::Usage(format!(
                    "the flash of {file} ended; its outcome is reported only on the fw group, \
                     which needs CAP_NET_ADMIN to join (run genl-client monitor fw as root)"
                ))),
                FwImage::Version(_) => Ok(()),
            };
        }
        let status = FwStatus {
            message: "Flashing".into(),
            version: image.to_string(),
            done: 0,
            total: 0,
            error: 0,
            finished: false,
        };
        progress.report(&status);
        std::thread::sleep(POLL_INTERVAL);
    }
}
