//! `dev-led-set`: a port's LED off, on or blinking. The LED is simulated
//! on every backend (no kernel netdev has one to drive); `dev-get` shows it
//! in each port, and the change is announced like any device change.

use super::port::port_index;
use super::target_device;
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::simdev::dev_attr;

pub fn set(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let id = target_device(sim, ctx, request)?;
    let port = port_index(sim, request, id)?;
    // Present (the spec requires it) and in the enum's range (its policy).
    let state = request.attrs.get(dev_attr::LED_STATE).and_then(|a| a.u8()).unwrap_or_default();
    sim.devices.get_mut(id).expect("selected").leds[port as usize] = state;
    sim.notify_dev_change(id);
    Ok(None)
}
