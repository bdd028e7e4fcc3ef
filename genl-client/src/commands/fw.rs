//! `fw show|flash`. A flash is followed through the simulator's `fw`
//! notifications (subscribed before the flash starts, so none is missed):
//! a progress bar on a terminal, plain lines otherwise, and a failing exit
//! status when the flash fails. The notifications come by unicast
//! (`subscribe`), so any user sees the progress.

use super::Output;
use crate::simdev::{Event, FwImage, SimdevClient};
use simdev_netlink::client::PROBE_EVERY;
use simdev_netlink::error::{Error, Result};
use simdev_protocol::errno::errno_name;
use simdev_protocol::simdev::{DevSelector, FwStatus, GROUP_FW};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

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
            None => match (status.done * 100).checked_div(status.total) {
                Some(percent) => println!(
                    "fw flash {}: {} {percent}% ({}/{})",
                    self.device, status.message, status.done, status.total
                ),
                None => println!("fw flash {}: {}", self.device, status.message),
            },
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
    let mut subscription = sim.subscribe(&[GROUP_FW])?;
    sim.fw_flash(dev, image)?;
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
