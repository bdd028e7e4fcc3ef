//! Command handlers, one file per object. [`lookup`] maps a family's
//! command to its handlers; the family table in `protocol` says which
//! commands exist, and a test checks the two agree. The helpers here are
//! what every device-scoped handler starts with: find the device the
//! request names, count the request against it, and fire its faults.

pub mod clock;
pub mod ctrl;
pub mod dev;
pub mod fault;
pub mod fw;
pub mod led;
pub mod port;
pub mod reg;
pub mod sensor;
pub mod stats;
pub mod subscribe;

use crate::dump::{DumpRequest, DumpStep, DumpTarget, Position};
use crate::genl::{HandlerError, Handlers, Request};
use crate::simulator::Simulator;
use simdev_protocol::errno::errno_name;
use simdev_protocol::family::FamilySpec;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{cmd, dev_attr, DevSelector, GROUP_EVENTS};
use simdev_protocol::wire::{Attr, MessageBuilder};
use simdev_protocol::{ctrl as nlctrl, simdev};

pub fn lookup(family: &FamilySpec, command: u8) -> Option<Handlers> {
    let both = |do_, dump| Some(Handlers { do_: Some(do_), dump: Some(dump) });
    let do_only = |do_| Some(Handlers { do_: Some(do_), dump: None });
    if std::ptr::eq(family, &nlctrl::CTRL_FAMILY) {
        return match command {
            nlctrl::cmd::GETFAMILY => both(ctrl::get_family, ctrl::DUMP_FAMILIES),
            nlctrl::cmd::GETPOLICY => Some(Handlers { do_: None, dump: Some(ctrl::DUMP_POLICY) }),
            _ => None,
        };
    }
    if !std::ptr::eq(family, &simdev::FAMILY) {
        return None;
    }
    match command {
        cmd::DEV_GET => both(dev::get, dev::DUMP),
        cmd::DEV_SET => do_only(dev::set),
        cmd::DEV_NEW => do_only(dev::new),
        cmd::DEV_DEL => do_only(dev::del),
        cmd::DEV_RESET => do_only(dev::reset),
        cmd::PORT_GET => both(port::get, port::DUMP),
        cmd::PORT_SET => do_only(port::set),
        cmd::REG_GET => both(reg::get, reg::DUMP),
        cmd::REG_SET => do_only(reg::set),
        cmd::SENSOR_GET => both(sensor::get, sensor::DUMP),
        cmd::SENSOR_SET => do_only(sensor::set),
        cmd::FW_GET => both(fw::get, fw::DUMP),
        cmd::FW_FLASH => do_only(fw::flash),
        cmd::STATS_GET => both(stats::get, stats::DUMP),
        cmd::FAULT_GET => both(fault::get, fault::DUMP),
        cmd::FAULT_SET => do_only(fault::set),
        cmd::FAULT_CLEAR => do_only(fault::clear),
        cmd::DEV_LED_SET => do_only(led::set),
        cmd::SUBSCRIBE => do_only(subscribe::subscribe),
        cmd::UNSUBSCRIBE => do_only(subscribe::unsubscribe),
        cmd::CLOCK_GET => do_only(clock::get),
        cmd::CLOCK_ADVANCE => do_only(clock::advance),
        _ => None,
    }
}

/// The device a request names by `dev-id` or `dev-name` (both: they must
/// agree), without side effects.
fn select(sim: &Simulator, request: &Request<'_>) -> Result<u32, HandlerError> {
    let id_attr = request.attrs.get(dev_attr::DEV_ID);
    let name_attr = request.attrs.get(dev_attr::DEV_NAME);
    let (selector, attr) = match (id_attr, name_attr) {
        (Some(id), _) => (DevSelector::Id(id.u32().unwrap_or_default()), id),
        (None, Some(name)) => (DevSelector::Name(name.string().unwrap_or_default().to_string()), name),
        // Do requests were checked against the spec's `Requires: dev-id|dev-name`;
        // dumps select only when one is there.
        (None, None) => return Err(HandlerError::missing(dev_attr::DEV_ID, "missing attribute: dev-id or dev-name")),
    };
    let device = sim
        .devices
        .find(&selector)
        .ok_or_else(|| HandlerError::at(errno::ENODEV, format!("no device {selector}"), &attr))?;
    if let (Some(_), Some(name)) = (id_attr, name_attr) {
        if Some(device.name.as_str()) != name.string() {
            return Err(HandlerError::at(errno::EINVAL, "dev-id and dev-name name different devices", &name));
        }
    }
    Ok(device.id)
}

/// What a do handler starts with: the device, counted, with its faults
/// for this command fired (an errno fault fails the request here, before
/// anything is done; a latency fault holds back the answer).
pub fn target_device(sim: &mut Simulator, request: &Request<'_>) -> Result<u32, HandlerError> {
    let id = select(sim, request)?;
    sim.set_current_device(id);
    let command = request.family.command(request.genl.cmd).map_or("?", |c| c.name);
    let device = sim.devices.get_mut(id).expect("selected");
    let Some(hit) = device.faults.check(command) else {
        return Ok(id);
    };
    device.stats.faults_fired += 1;
    if !hit.delay.is_zero() {
        sim.delay_answer(hit.delay);
    }
    sim.notify_object(id, cmd::FAULT_FIRED_NTF, GROUP_EVENTS, hit.fault);
    if hit.errno != 0 {
        let errno = hit.errno as i32;
        return Err(HandlerError::new(errno, format!("injected fault: {command} fails with {}", errno_name(errno))));
    }
    Ok(id)
}

/// The `start` of every device-scoped dump: the device the request names
/// (`ENODEV` if none has that id or name), or every device.
pub fn device_scope(sim: &mut Simulator, request: &Request<'_>) -> Result<DumpTarget, HandlerError> {
    if request.attrs.get(dev_attr::DEV_ID).is_some() || request.attrs.get(dev_attr::DEV_NAME).is_some() {
        return Ok(DumpTarget::Devices(Some(select(sim, request)?)));
    }
    Ok(DumpTarget::Devices(None))
}

/// The device a device-scoped dump is at: the first one at or after
/// `position.outer` (devices come in id order; one added or removed
/// meanwhile shows up or not, as in the kernel's dumps).
fn dumped_device(sim: &Simulator, request: &DumpRequest, position: Position) -> Option<u32> {
    match request.target {
        DumpTarget::Devices(Some(id)) => {
            (position.outer <= u64::from(id) && sim.devices.get(id).is_some()).then_some(id)
        }
        DumpTarget::Devices(None) => sim.devices.first_from(position.outer),
        _ => None,
    }
}

/// The next message of a dump with one message per device: `fill` writes
/// the device into the part started with `command`.
pub fn dump_per_device(
    sim: &mut Simulator,
    request: &DumpRequest,
    position: Position,
    command: u8,
    fill: impl FnOnce(&mut Simulator, u32, &mut MessageBuilder) -> Result<(), HandlerError>,
) -> DumpStep {
    let Some(id) = dumped_device(sim, request, position) else {
        return Ok(None);
    };
    let mut part = request.part(command);
    fill(sim, id, &mut part)?;
    Ok(Some((part.finish(), Position { outer: u64::from(id) + 1, inner: 0 })))
}

/// The next message of a dump with one message per object, each scoped to
/// its device (as devlink dumps ports and regions): `object` gives a
/// device's object at an index, `None` past the last.
pub fn dump_per_object<T: simdev_protocol::simdev::Nested>(
    sim: &mut Simulator,
    request: &DumpRequest,
    mut position: Position,
    command: u8,
    object: impl Fn(&mut Simulator, u32, usize) -> Result<Option<T>, HandlerError>,
) -> DumpStep {
    loop {
        let Some(id) = dumped_device(sim, request, position) else {
            return Ok(None);
        };
        if u64::from(id) != position.outer {
            position = Position { outer: id.into(), inner: 0 };
        }
        let Some(item) = object(sim, id, position.inner as usize)? else {
            position = Position { outer: u64::from(id) + 1, inner: 0 };
            continue;
        };
        let mut part = request.part(command);
        sim.devices.get(id).expect("a dumped device").scoped(vec![item]).encode(&mut part);
        return Ok(Some((part.finish(), Position { outer: id.into(), inner: position.inner + 1 })));
    }
}

/// An attribute the command requires: the spec's `Requires:` line makes
/// the request path check it before the handler runs, so it is there
/// (unless the spec and the handler disagree, a bug the debug assertion
/// catches in tests; the request then still fails as a missing attribute).
pub fn required<'a>(request: &Request<'a>, attr_type: u16) -> Result<Attr<'a>, HandlerError> {
    debug_assert!(
        request
            .family
            .command(request.genl.cmd)
            .is_some_and(|c| c.required.iter().any(|alts| alts.contains(&attr_type))),
        "the spec does not require attribute {attr_type} of command {}",
        request.genl.cmd
    );
    request.attrs.get(attr_type).ok_or_else(|| {
        let name = simdev::DEV_ATTRS.get(attr_type).map_or("?", |s| s.name);
        HandlerError::missing(attr_type, format!("missing attribute: {name}"))
    })
}

/// A worker's flash or reload holds the device's devlink instance:
/// removing, reloading or flashing it meanwhile is refused (`EBUSY`).
pub fn refuse_during_kernel_work(sim: &Simulator, id: u32) -> Result<(), HandlerError> {
    match &sim.devices.get(id).expect("selected").kernel_work {
        Some(work) => Err(HandlerError::new(errno::EBUSY, format!("{work} is in progress"))),
        None => Ok(()),
    }
}

/// A kernel failure while reading or changing a device's netdevs.
pub fn kernel_error(sim: &Simulator, dev: u32, error: simdev_netlink::rtnl::KernelError) -> HandlerError {
    let name = sim.devices.get(dev).map_or("?", |d| d.name.as_str());
    HandlerError::new(error.errno, format!("{name}: the kernel said: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_command_has_exactly_its_declared_handlers() {
        for family in [&nlctrl::CTRL_FAMILY, &simdev::FAMILY] {
            for command in family.commands {
                let handlers = lookup(family, command.id).unwrap_or_else(|| panic!("{} has no handlers", command.name));
                assert_eq!(handlers.do_.is_some(), command.has_do, "{} do", command.name);
                assert_eq!(handlers.dump.is_some(), command.has_dump, "{} dump", command.name);
            }
        }
    }
}
