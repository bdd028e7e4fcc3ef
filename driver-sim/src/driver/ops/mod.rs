//! The simdev family's ops, one file per object: the handler of op
//! `a-b-c` is `a_b::c` (`dev-led-set` is [`dev_led::set`]), of a one-word
//! op `w::run`, and an object's dump is its module's `DUMP`. The dispatch
//! is made from the spec ([`simdev_protocol::simdev_calls`]), so an op
//! without its handler does not compile. [`SIMDEV`] is the family's
//! registry entry, with its hooks: requests of a failed batch are skipped
//! (`pre_doit`), and every request is counted against its device
//! (`post_doit`). The helpers here are what every device-scoped handler
//! starts with: find the device the request names, and fire its faults.

pub mod clock;
pub mod dev;
pub mod dev_led;
pub mod family;
pub mod fault;
pub mod fw;
pub mod health;
pub mod object;
pub mod port;
pub mod reg;
pub mod sensor;
pub mod socket;
pub mod stats;
pub mod subscribe;
pub mod unsubscribe;

use crate::kernel::clients::Client;
use crate::kernel::dump::{DumpRequest, DumpStep, DumpTarget, Position};
use crate::kernel::families::FamilyOps;
use crate::kernel::genl::{Context, HandlerError, Handlers, Request};
use crate::simulator::Simulator;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{self, cmd, dev_attr, DevSelector};
use simdev_protocol::wire::{Attr, MessageBuilder};

/// The simdev family, as the simulator serves it.
pub static SIMDEV: FamilyOps =
    FamilyOps { spec: &simdev::FAMILY, handlers, pre_doit: Some(pre_doit), post_doit: Some(post_doit) };

macro_rules! handlers_of {
    (do_and_dump, $module:ident, $function:ident) => {
        Handlers { do_: Some($module::$function), dump: Some($module::DUMP) }
    };
    (do_only, $module:ident, $function:ident) => {
        Handlers { do_: Some($module::$function), dump: None }
    };
    (dump_only, $module:ident, $function:ident) => {
        Handlers { do_: None, dump: Some($module::DUMP) }
    };
}

macro_rules! dispatch {
    ($([$cmd:ident, $module:ident, $function:ident, $kind:ident]),* $(,)?) => {
        /// The handlers of a simdev command.
        fn handlers(command: u8) -> Option<Handlers> {
            match command {
                $(cmd::$cmd => Some(handlers_of!($kind, $module, $function)),)*
                _ => None,
            }
        }
    };
}

simdev_protocol::simdev_calls!(dispatch);

/// A request carrying the `batch` attribute is skipped (`ECANCELED`) once
/// an earlier request of its batch from the same socket failed.
fn pre_doit(request: &Request<'_>, client: &Client) -> Result<(), HandlerError> {
    match batch_of(request) {
        Some(batch) => client.failed_batches.check(batch),
        None => Ok(()),
    }
}

/// Counts the request against its device, and remembers a failed batch.
fn post_doit(sim: &mut Simulator, ctx: &Context, request: &Request<'_>, client: &mut Client, failed: bool) {
    if let Some(dev) = ctx.device {
        sim.count_request(dev, failed);
    }
    if let (true, Some(batch)) = (failed, batch_of(request)) {
        client.failed_batches.record_failure(batch);
    }
}

/// The `batch` attribute of a request, if any.
fn batch_of(request: &Request<'_>) -> Option<u32> {
    request.attrs.get(dev_attr::BATCH).and_then(|a| a.u32())
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

/// What a do handler starts with: the device (the request is counted
/// against it), with its faults for this command fired (an errno fault
/// fails the request here, before anything is done; a latency fault holds
/// back the answer).
pub fn target_device(sim: &mut Simulator, ctx: &mut Context, request: &Request<'_>) -> Result<u32, HandlerError> {
    let id = select(sim, request)?;
    let command = request.family.command(request.genl.cmd).map_or("?", |c| c.name);
    fire_faults(sim, ctx, id, command)?;
    Ok(id)
}

/// Fires device `id`'s faults set on simdev's `command` (a devlink
/// reload fires `dev-reset`'s: it is that reset), the request's device
/// now `id`: an errno fails the request, a latency holds back its answer.
pub fn fire_faults(sim: &mut Simulator, ctx: &mut Context, id: u32, command: &str) -> Result<(), HandlerError> {
    ctx.device = Some(id);
    let device = sim.devices.get_mut(id).expect("a known device");
    let Some(hit) = device.faults.check(command) else {
        return Ok(());
    };
    if !hit.delay.is_zero() {
        ctx.delay = Some(hit.delay);
    }
    sim.fault_fired(id, hit.fault);
    if hit.errno != 0 {
        let errno = hit.errno as i32;
        return Err(HandlerError::new(errno, crate::driver::model::faults::injected_failure(command, errno)));
    }
    Ok(())
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
