//! `fw-get`, `fw-flash`. A flash is asynchronous, like devlink's: the
//! request is acknowledged at once, then the `fw` group carries progress
//! and the final result, and other requests are served meanwhile.
//! Simulated firmware (veth, model) flashes a version, driven by the timer
//! queue; a netdevsim device flashes a file through the kernel's devlink,
//! on a background worker that relays the driver's own statuses.

use super::{device_scope, dump_per_device, kernel_error, refuse_during_kernel_work, required, target_device};
use crate::driver::device::KernelWork;
use crate::kernel::dump::{DoneFraming, DumpHandler, DumpRequest, DumpStep, Position};
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::kernel::timers::TimerEvent;
use crate::simulator::Simulator;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{cmd, dev_attr};
use simdev_protocol::wire::MessageBuilder;

fn write_fw(sim: &mut Simulator, dev: u32, message: &mut MessageBuilder) -> Result<(), HandlerError> {
    let info = sim.devices.fw_info(dev).map_err(|e| kernel_error(sim, dev, e))?;
    sim.devices.get(dev).expect("known").scoped(vec![info]).encode(message);
    Ok(())
}

pub fn get(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let mut reply = request.reply(cmd::FW_GET);
    write_fw(sim, id, &mut reply)?;
    Ok(Some(reply.finish()))
}

pub const DUMP: DumpHandler = DumpHandler { start: device_scope, next: dump_next, done: DoneFraming::WithLastPart };

fn dump_next(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    dump_per_device(sim, request, position, cmd::FW_GET, write_fw)
}

pub fn flash(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    if sim.devices.get(id).expect("selected").netdevsim.is_some() {
        return flash_kernel(sim, request, id);
    }
    if let Some(file) = request.attrs.get(dev_attr::FW_FILE) {
        let message = "this device runs simulated firmware: flash a fw-version, not a file";
        return Err(HandlerError::at(errno::EOPNOTSUPP, message, &file));
    }
    let attr = required(request, dev_attr::FW_VERSION)?;
    start_simulated_flash(sim, id, attr.string().unwrap_or_default())?;
    Ok(None)
}

/// Starts a flash of `version` on simulated firmware (device `id`, not a
/// netdevsim one): its faults apply, its progress is timers on the
/// simulator's clock, each status announced ([`Simulator::notify_flash`]).
pub(crate) fn start_simulated_flash(sim: &mut Simulator, id: u32, version: &str) -> Result<(), HandlerError> {
    let device = sim.devices.get_mut(id).expect("selected");
    if device.firmware.info().flashing {
        // Refuse before consulting flash-failure faults, so none is used up.
        let (errno, message) = device.firmware.start(version, None).unwrap_err();
        return Err(HandlerError::new(errno, message));
    }
    let failure = device.faults.flash_failure();
    let (status, generation) = device
        .firmware
        .start(version, failure.as_ref().map(|(f, _)| *f))
        .map_err(|(errno, message)| HandlerError::new(errno, message))?;
    let interval = device.firmware.step_interval();
    if let Some((_, fault)) = failure {
        sim.fault_fired(id, fault);
    }
    sim.notify_flash(id, status);
    sim.timers.schedule(interval, TimerEvent::FlashStep { dev: id, generation });
    Ok(())
}

/// A netdevsim device: `devlink dev flash` with the file, on a worker.
fn flash_kernel(sim: &mut Simulator, request: &Request<'_>, id: u32) -> Result<Option<Vec<u8>>, HandlerError> {
    if let Some(version) = request.attrs.get(dev_attr::FW_VERSION) {
        let message = "netdevsim firmware reports its own version: flash a fw-file (devlink loads it)";
        return Err(HandlerError::at(errno::EOPNOTSUPP, message, &version));
    }
    let file = required(request, dev_attr::FW_FILE)?.string().unwrap_or_default().to_string();
    refuse_during_kernel_work(sim, id)?;
    let device = sim.devices.get_mut(id).expect("selected");
    let handle = device.netdevsim.as_ref().expect("a netdevsim device").devlink();
    device.kernel_work = Some(KernelWork::Flash(file.clone()));
    let netns = sim.devices.netdevsim().netns_path().to_string();
    if let Err(e) = sim.background.flash(&netns, id, handle, file) {
        sim.devices.get_mut(id).expect("selected").kernel_work = None;
        return Err(HandlerError::new(e.raw_os_error().unwrap_or(errno::EIO), format!("starting the flash: {e}")));
    }
    Ok(None)
}
