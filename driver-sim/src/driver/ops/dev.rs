//! `dev-get`, `dev-set`, `dev-new`, `dev-del`, `dev-reset`: the device.
//!
//! `dev-get` reports what the kernel announced about each port (see
//! [`crate::hardware::netdevs`]). Changes go through the kernel and are
//! answered only after the kernel accepted all of them; a refusal carries
//! the kernel's errno and message, points at the attribute it concerns, and
//! undoes what was done.

use super::{device_scope, dump_per_device, kernel_error, refuse_during_kernel_work, required, target_device};
use crate::config::{ClockChoice, DeviceConfig};
use crate::driver::device::{ChangeError, KernelWork, PortSettings};
use crate::kernel::dump::{DoneFraming, DumpHandler, DumpRequest, DumpStep, Position};
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::kernel::timers::TimerEvent;
use crate::simulator::{Simulator, RESET_FLAP};
use simdev_netlink::rtnl::KernelError;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{cmd, dev_attr, Mac, GROUP_CONFIG, GROUP_FW};

pub fn get(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let info = sim.devices.info(id).map_err(|e| kernel_error(sim, id, e))?;
    let mut reply = request.reply(cmd::DEV_GET);
    info.encode(&mut reply);
    Ok(Some(reply.finish()))
}

pub const DUMP: DumpHandler = DumpHandler { start: device_scope, next: dump_next, done: DoneFraming::WithLastPart };

fn dump_next(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    dump_per_device(sim, request, position, cmd::DEV_GET, |sim, id, part| {
        sim.devices.info(id).map_err(|e| kernel_error(sim, id, e))?.encode(part);
        Ok(())
    })
}

/// Maps a refused change to an error pointing at the attribute that asked for it.
pub fn change_error(request: &Request<'_>, e: ChangeError) -> HandlerError {
    let attr_name = simdev_protocol::simdev::DEV_ATTRS.get(e.attr).map_or("?", |s| s.name);
    let why = e.error.message.clone().unwrap_or_else(|| simdev_protocol::errno::strerror(e.error.errno));
    let message = format!("kernel refused {attr_name} on {}: {why}", e.port);
    match request.attrs.get(e.attr) {
        Some(attr) => HandlerError::at(e.error.errno, message, &attr),
        None => HandlerError::new(e.error.errno, message),
    }
}

pub fn set(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let attrs = &request.attrs;
    let settings = PortSettings {
        mtu: attrs.get(dev_attr::MTU).and_then(|a| a.u32()),
        mac: attrs.get(dev_attr::MAC).and_then(|a| Mac::try_from(a.payload).ok()),
        up: attrs.get(dev_attr::UP).and_then(|a| a.u8()).map(|v| v != 0),
        ..Default::default()
    };
    if settings.mtu.is_none() && settings.mac.is_none() && settings.up.is_none() {
        return Ok(None);
    }
    sim.devices.apply(id, None, &settings).map_err(|e| change_error(request, e))?;
    sim.notify_dev_change(id);
    Ok(None)
}

/// The end of a netdevsim device's reload: the driver's remade ports are
/// taken back (named, cabled, configured) and the `dev-reset` request that
/// asked for it is answered. A failed reload answers with the kernel's
/// error; a fault armed in the kernel that made it fail is counted and
/// announced. Ports the driver tore down show as missing until a reload
/// succeeds, as the kernel has them.
pub fn reload_finished(sim: &mut Simulator, id: u32, token: u64, outcome: Result<String, KernelError>) {
    let Some(device) = sim.devices.get_mut(id) else {
        return sim.answer(token, Err(HandlerError::new(errno::ENODEV, "the device was removed during its reload")));
    };
    device.kernel_work = None;
    sim.devices.sync_hardware();
    let answer = match outcome {
        Ok(version) => {
            let device = sim.devices.get_mut(id).expect("known");
            device.kernel_fw_version = Some(version);
            device.registers.reset();
            match sim.devices.readopt(id) {
                Ok(_) => Ok(()),
                Err(e) => Err(HandlerError::new(e.source.errno, e.message())),
            }
        }
        Err(e) => {
            let device = sim.devices.get_mut(id).expect("known");
            if let Some(fault) = device.faults.knob_fault("dev-reset").filter(|f| f.errno as i32 == e.errno) {
                fault.fired += 1;
                let fault = fault.clone();
                sim.fault_fired(id, fault);
            }
            Err(kernel_error(sim, id, e))
        }
    };
    sim.notify_dev_change(id);
    sim.answer(token, answer);
}

/// Hot-plug: the `config` attribute is a TOML `[[device]]` table, checked
/// exactly like one in a configuration file.
pub fn new(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let attr = required(request, dev_attr::CONFIG)?;
    let text = attr.string().unwrap_or_default();
    let config = DeviceConfig::parse(text, "dev-new config")
        .map_err(|e| HandlerError::at(errno::EINVAL, e.to_string(), &attr))?;
    let clock = if sim.timers.is_virtual() { ClockChoice::Virtual } else { ClockChoice::Real };
    config.check_clock(clock).map_err(|why| HandlerError::at(errno::EINVAL, why, &attr))?;
    let name = config.name.get_ref().clone();
    if sim.devices.iter().any(|d| d.name == name) {
        return Err(HandlerError::at(errno::EEXIST, format!("device {name} exists"), &attr));
    }
    let (bus, dev) = config.devlink_handle();
    if sim.devices.iter().any(|d| d.devlink.bus == bus && d.devlink.dev == dev) {
        return Err(HandlerError::at(errno::EEXIST, format!("devlink instance {bus}/{dev} exists"), &attr));
    }
    let id = match &config.id {
        Some(id) if sim.devices.get(*id.get_ref()).is_some() => {
            return Err(HandlerError::at(errno::EEXIST, format!("device id {} is taken", id.get_ref()), &attr));
        }
        Some(id) => *id.get_ref(),
        None => sim.devices.free_id(),
    };
    sim.devices.create(id, &config).map_err(|e| HandlerError::new(e.source.errno, e.message()))?;
    ctx.device = Some(id);
    sim.start_flaps(id);
    // What the kernel announced of the new ports so far (they were just
    // brought up), for the notification and the answer.
    sim.devices.sync_hardware();
    let info = sim.devices.info(id).map_err(|e| kernel_error(sim, id, e))?;
    sim.notify_dev(id, cmd::DEV_ADD_NTF);
    crate::driver::served::devlink::instance_notices(sim, id, true).send(sim);
    // Answered once its ports' link state settled, as the simulator's
    // startup waits for it: a client that asked for a port up sees it up.
    if !sim.devices.is_settled(id) {
        let token = sim.new_token();
        sim.answer_when_settled(id, token);
        ctx.answer_later = Some(token);
        return Ok(None);
    }
    let mut reply = request.reply(cmd::DEV_NEW);
    info.encode(&mut reply);
    Ok(Some(reply.finish()))
}

pub fn del(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    refuse_during_kernel_work(sim, id)?;
    // Describe it while its netdevs still exist: the notification says what
    // went. Nothing is announced (or aborted) unless the removal succeeds.
    let info = sim.devices.info(id).map_err(|e| kernel_error(sim, id, e))?;
    let devlink_gone = crate::driver::served::devlink::instance_notices(sim, id, false);
    let mut removed = sim.devices.remove(id).map_err(|e| HandlerError::new(e.source.errno, e.message()))?;
    devlink_gone.send(sim);
    if let Some(status) = removed.firmware.abort("device removed") {
        let mut ntf = sim.notification(cmd::FW_FLASH_STATUS_NTF);
        removed.scoped(vec![status]).encode(&mut ntf);
        sim.notify(id, GROUP_FW, ntf.finish());
    }
    let mut ntf = sim.notification(cmd::DEV_DEL_NTF);
    info.encode(&mut ntf);
    sim.notify(id, GROUP_CONFIG, ntf.finish());
    Ok(None)
}

/// Ports whose netdevs somebody else deleted made again, registers back to
/// their reset values, a running flash aborted, a flashed version awaiting
/// activation run, every port's carrier dropped and restored after
/// [`RESET_FLAP`]. A netdevsim device is reloaded through devlink instead:
/// the driver re-creates its ports (new netdevs, in their initial state).
pub fn reset(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    reset_device(sim, ctx, id, Reset::Device)
}

/// Who resets a device, and so what the reset does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// simdev's `dev-reset`: its netdevs kept (their carrier flapped), a
    /// flashed version awaiting activation run.
    Device,
    /// devlink's `driver_reinit`: its netdevs made again in their initial
    /// state (new ifindexes), as netdevsim's reload makes them; the
    /// firmware as it runs.
    DriverReinit,
    /// devlink's `fw_activate`: the flashed version run, then as
    /// `DriverReinit`.
    FwActivate,
}

/// A reset of device `id`, whoever asked: [`reset`], or a devlink reload.
pub fn reset_device(
    sim: &mut Simulator,
    ctx: &mut Context,
    id: u32,
    how: Reset,
) -> Result<Option<Vec<u8>>, HandlerError> {
    if let Some(nsim) = sim.devices.get(id).expect("selected").netdevsim.clone() {
        // A reload takes the kernel a while: a worker runs it, and the
        // request is answered when it ends (`reload_finished`).
        refuse_during_kernel_work(sim, id)?;
        let token = sim.new_token();
        let netns = sim.devices.netdevsim().netns_path().to_string();
        sim.background.reload(&netns, id, nsim.devlink(), token).map_err(|e| {
            HandlerError::new(e.raw_os_error().unwrap_or(errno::EIO), format!("starting the reload: {e}"))
        })?;
        sim.devices.get_mut(id).expect("selected").kernel_work = Some(KernelWork::Reload);
        ctx.answer_later = Some(token);
        return Ok(None);
    }
    let backend_error = |e: crate::hardware::BackendError| HandlerError::new(e.source.errno, e.message());
    match how {
        Reset::Device => sim.devices.repair(id).map_err(backend_error)?,
        Reset::DriverReinit | Reset::FwActivate => {
            if let Err(e) = sim.devices.remake_ports(id) {
                sim.notify_dev_change(id); // its netdevs are gone
                return Err(backend_error(e));
            }
        }
    }
    let device = sim.devices.get_mut(id).expect("selected");
    device.registers.reset();
    let ports = device.ports.len() as u32;
    let aborted = device.firmware.abort("device reset");
    if how != Reset::DriverReinit {
        device.firmware.activate();
    }
    if let Some(status) = aborted {
        sim.notify_flash(id, status);
    }
    if how == Reset::Device {
        for port in 0..ports {
            let generation = sim.devices.set_carrier(id, port, false).map_err(|e| kernel_error(sim, id, e))?;
            sim.timers.schedule(RESET_FLAP, TimerEvent::CarrierUp { dev: id, port, generation });
        }
    }
    sim.notify_dev_change(id);
    Ok(None)
}
