//! `port-get`, `port-set`, `port-flap`: one port of a device. Carrier
//! off/on unplugs and plugs the port's cable; the kernel then shows
//! `NO-CARRIER` or `LOWER_UP` on the port. A flap unplugs it now and plugs
//! it in on a timer (simulated time: `clock-advance` moves it). Ring sizes go to the kernel's ethtool (a driver
//! without rings, such as veth, refuses with `EOPNOTSUPP`).

use super::dev::change_error;
use super::{device_scope, dump_per_object, kernel_error, required, target_device};
use crate::driver::device::PortSettings;
use crate::kernel::dump::{DoneFraming, DumpHandler, DumpRequest, DumpStep, Position};
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::kernel::timers::TimerEvent;
use crate::simulator::Simulator;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{cmd, dev_attr, Mac};

/// The port the request names by `port-index`.
pub(super) fn port_index(sim: &Simulator, request: &Request<'_>, dev: u32) -> Result<u32, HandlerError> {
    let attr = required(request, dev_attr::PORT_INDEX)?;
    let index = attr.u32().unwrap_or(u32::MAX);
    let device = sim.devices.get(dev).expect("selected");
    if index as usize >= device.ports.len() {
        let message = format!("{} has no port {index} (it has {})", device.name, device.ports.len());
        return Err(HandlerError::at(errno::ENODEV, message, &attr));
    }
    Ok(index)
}

pub fn get(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let index = port_index(sim, request, id)?;
    let info = sim.devices.info(id).map_err(|e| kernel_error(sim, id, e))?;
    let port = info.ports.into_iter().find(|p| p.index == index).expect("a known port");
    let mut reply = request.reply(cmd::PORT_GET);
    sim.devices.get(id).expect("selected").scoped(vec![port]).encode(&mut reply);
    Ok(Some(reply.finish()))
}

pub const DUMP: DumpHandler = DumpHandler { start: device_scope, next: dump_next, done: DoneFraming::WithLastPart };

fn dump_next(sim: &mut Simulator, request: &DumpRequest, position: Position) -> DumpStep {
    dump_per_object(sim, request, position, cmd::PORT_GET, |sim, id, index| {
        sim.devices.port_info(id, index).map_err(|e| kernel_error(sim, id, e))
    })
}

pub fn set(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let index = port_index(sim, request, id)?;
    let attrs = &request.attrs;
    let settings = PortSettings {
        mtu: attrs.get(dev_attr::MTU).and_then(|a| a.u32()),
        mac: attrs.get(dev_attr::MAC).and_then(|a| Mac::try_from(a.payload).ok()),
        up: attrs.get(dev_attr::UP).and_then(|a| a.u8()).map(|v| v != 0),
        rx_ring: attrs.get(dev_attr::RX_RING).and_then(|a| a.u32()),
        tx_ring: attrs.get(dev_attr::TX_RING).and_then(|a| a.u32()),
    };
    sim.devices.apply(id, Some(index), &settings).map_err(|e| change_error(request, e))?;
    if let Some(carrier) = attrs.get(dev_attr::CARRIER).and_then(|a| a.u8()) {
        sim.devices.set_carrier(id, index, carrier != 0).map_err(|e| kernel_error(sim, id, e))?;
    }
    sim.notify_dev_change(id);
    Ok(None)
}

pub fn flap(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let index = port_index(sim, request, id)?;
    let down = required(request, dev_attr::FLAP_MS)?.u32().expect("a u32, by the policy");
    let generation = sim.devices.set_carrier(id, index, false).map_err(|e| kernel_error(sim, id, e))?;
    // The plug-in is dropped if the carrier changes meanwhile (its
    // generation moves on), as a reset's is.
    let event = TimerEvent::CarrierUp { dev: id, port: index, generation };
    sim.timers.schedule(std::time::Duration::from_millis(down.into()), event);
    sim.notify_dev_change(id);
    Ok(None)
}
