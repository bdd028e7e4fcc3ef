//! The device model: simulated devices with their ports (real netdevs),
//! register file, sensors, firmware and faults, and the operations handlers
//! perform on them. State the kernel owns (MTU, MAC, link state, counters)
//! is never cached here; it is read back through the backend.

use crate::config::{BackendKind, DeviceConfig};
use crate::driver::model::faults::Faults;
use crate::driver::model::firmware::Firmware;
use crate::driver::model::registers::RegisterFile;
use crate::driver::model::sensors::Sensor;
use crate::driver::served::devlink::instance::Instance;
use crate::hardware::model::ModelBackend;
use crate::hardware::netdevs::Netdevs;
use crate::hardware::netdevsim::{knob_for, NetdevsimBackend, NsimDevice};
use crate::hardware::veth::VethBackend;
pub use crate::hardware::Port;
use crate::hardware::{Backend, BackendError, Hardware, Ports, PortsConfig};
use simdev_netlink::rtnl::KernelError;
use simdev_protocol::simdev::{
    dev_attr, led_state, port_mac, DevInfo, DevSelector, DriverStats, FaultInfo, FwInfo, Mac, OperState, PortInfo,
    PortStats, RegInfo, Scoped,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone)]
pub struct Device {
    pub id: u32,
    pub name: String,
    pub backend: BackendKind,
    /// How its ports are made (again, when the kernel lost them).
    pub ports_config: PortsConfig,
    pub ports: Vec<Port>,
    /// The kernel device behind the ports (netdevsim backend).
    pub netdevsim: Option<NsimDevice>,
    /// What a background worker is doing with the device in the kernel
    /// (netdevsim): it holds the devlink instance meanwhile.
    pub kernel_work: Option<KernelWork>,
    /// The running version devlink reported (netdevsim), read when the
    /// device was made and after each flash and reload: what `fw-get` says.
    pub kernel_fw_version: Option<String>,
    pub registers: RegisterFile,
    pub sensors: Vec<Sensor>,
    pub firmware: Firmware,
    pub faults: Faults,
    pub stats: DriverStats,
    /// Per port: bumped whenever the carrier is changed, so a stale
    /// "carrier back up" timer (from an earlier flap) does nothing.
    pub carrier_generation: Vec<u64>,
    /// Bumped when faults change, so timers of replaced link-flap faults stop.
    pub flap_generation: u64,
    /// Per port: its LED (the spec's `led-state`), simulated on every backend.
    pub leds: Vec<u8>,
    /// What its devlink instance holds besides firmware and ports.
    pub devlink: Instance,
}

impl Device {
    pub fn sensor_mut(&mut self, name: &str) -> Option<&mut Sensor> {
        self.sensors.iter_mut().find(|s| s.info.name == name)
    }

    pub fn scoped<T>(&self, items: Vec<T>) -> Scoped<T> {
        Scoped { dev_id: self.id, dev_name: self.name.clone(), items }
    }

    /// A port as `dev-get` shows it: the hardware's view, and its LED.
    fn port_info(&self, backend: &mut dyn Ports, port: &Port) -> Result<PortInfo, KernelError> {
        let led_state = self.leds.get(port.index as usize).copied().unwrap_or_default();
        Ok(match backend.port_state(port)? {
            Some(state) => PortInfo {
                index: port.index,
                ifindex: state.ifindex,
                ifname: state.ifname,
                peer_ifname: state.peer_ifname,
                mac: state.mac,
                mtu: state.mtu,
                up: state.up,
                oper_state: OperState(state.oper_state),
                carrier: state.carrier,
                rings: state.rings,
                missing: false,
                led_state,
            },
            None => {
                PortInfo { led_state, ..PortInfo::missing(port.index, port.ifindex, &port.ifname, &port.peer_ifname) }
            }
        })
    }

    /// What the backend made for this device.
    pub fn hardware(&self) -> Hardware {
        Hardware { ports: self.ports.clone(), netdevsim: self.netdevsim.clone() }
    }
}

/// Longest the simulator waits for the kernel to announce a new device's
/// settled link state (its link watch can take a second) before saying it
/// is ready: at startup, and before answering `dev-new`.
pub const SETTLE_MAX: std::time::Duration = std::time::Duration::from_secs(2);

/// Work a background worker does in the kernel for a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelWork {
    /// `devlink dev flash` of this file.
    Flash(String),
    /// `devlink dev reload`.
    Reload,
}

impl std::fmt::Display for KernelWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KernelWork::Flash(file) => write!(f, "a flash of {file}"),
            KernelWork::Reload => write!(f, "a reload"),
        }
    }
}

/// A change the kernel refused: which attribute, on which port, and why.
#[derive(Debug)]
pub struct ChangeError {
    /// The `dev` attribute whose change failed.
    pub attr: u16,
    pub port: String,
    pub error: KernelError,
}

/// One change to one port (also how a change is undone).
#[derive(Debug, Clone, Copy)]
pub enum PortChange {
    Mtu(u32),
    Mac(Mac),
    Up(bool),
    /// RX and TX ring sizes (absent: unchanged).
    Rings(Option<u32>, Option<u32>),
}

impl PortChange {
    /// The `dev` attribute that asks for this change.
    fn attr(&self) -> u16 {
        match self {
            PortChange::Mtu(_) => dev_attr::MTU,
            PortChange::Mac(_) => dev_attr::MAC,
            PortChange::Up(_) => dev_attr::UP,
            PortChange::Rings(Some(_), _) => dev_attr::RX_RING,
            PortChange::Rings(None, _) => dev_attr::TX_RING,
        }
    }
}

/// What a `dev-set` or `port-set` asks of each port it covers.
#[derive(Debug, Clone, Copy, Default)]
pub struct PortSettings {
    pub mtu: Option<u32>,
    /// For `dev-set`, a base: port N gets base + N.
    pub mac: Option<Mac>,
    pub up: Option<bool>,
    /// Ring sizes (`port-set` only).
    pub rx_ring: Option<u32>,
    pub tx_ring: Option<u32>,
}

/// All devices and the hardware behind them: devices by id (dumps list
/// them in id order), a name index, and one backend per kind.
pub struct Devices {
    /// Where netdev-backed devices live (`/proc/PID/ns/net`).
    pub netns_path: Option<String>,
    devices: BTreeMap<u32, Device>,
    by_name: HashMap<String, u32>,
    /// The device each netdev (port or cable end) belongs to.
    by_ifindex: HashMap<u32, u32>,
    /// Devices whose state changed since [`Devices::take_changed`].
    changed: BTreeSet<u32>,
    backends: Backends,
    seed: u64,
}

/// One backend of each kind (a device uses the one its config names), and
/// the hardware namespace's netdevs the kernel's backends work on (none in
/// a simulator run in process: then it has model devices only).
pub struct Backends {
    pub netdevs: Option<Netdevs>,
    pub veth: VethBackend,
    /// Devices on it also have firmware and reset through devlink.
    pub netdevsim: NetdevsimBackend,
    pub model: ModelBackend,
}

impl Backends {
    /// Backends for model devices only: no hardware namespace.
    pub fn model_only() -> Self {
        Backends {
            netdevs: None,
            veth: VethBackend,
            netdevsim: NetdevsimBackend::new(String::new()),
            model: ModelBackend::default(),
        }
    }

    /// The backend of `kind`, and the netdevs it works on.
    fn backend(&mut self, kind: BackendKind) -> (&mut dyn Backend, Option<&mut Netdevs>) {
        let backend: &mut dyn Backend = match kind {
            BackendKind::Veth => &mut self.veth,
            BackendKind::Model => &mut self.model,
            BackendKind::Netdevsim => &mut self.netdevsim,
        };
        (backend, self.netdevs.as_mut())
    }

    /// What operates on the ports of a device of `kind` (netdevs exist
    /// only when there is a hardware namespace to make them in).
    fn ports(&mut self, kind: BackendKind) -> &mut dyn Ports {
        match (kind, self.netdevs.as_mut()) {
            (BackendKind::Model, _) => &mut self.model,
            (BackendKind::Veth | BackendKind::Netdevsim, Some(netdevs)) => netdevs,
            (_, None) => unreachable!("netdev ports are made only in a hardware namespace"),
        }
    }
}

impl Devices {
    pub fn new(backends: Backends, seed: u64) -> Self {
        Devices {
            netns_path: None,
            devices: BTreeMap::new(),
            by_name: HashMap::new(),
            by_ifindex: HashMap::new(),
            changed: BTreeSet::new(),
            backends,
            seed,
        }
    }

    /// Creates one device; on failure nothing of it is left.
    pub fn create(&mut self, id: u32, config: &DeviceConfig) -> Result<&Device, BackendError> {
        self.create_unarmed(id, config)?;
        if let Some(nsim) = self.device(id).netdevsim.clone() {
            // The running version, read once here; workers read it again
            // after each flash and reload.
            let version = self.backends.netdevsim.devlink().and_then(|devlink| {
                crate::driver::background::running_version(devlink, &nsim.devlink()).map_err(KernelError::from)
            });
            match version {
                Ok(version) => self.devices.get_mut(&id).expect("just made").kernel_fw_version = Some(version),
                Err(e) => log::warn!("reading the firmware version of netdevsim{}: {e}", nsim.id),
            }
        }
        let device = self.device(id);
        let armed: Vec<FaultInfo> = device
            .faults
            .list()
            .iter()
            .filter(|f| device.netdevsim.is_some() && knob_for(f).is_some())
            .cloned()
            .collect();
        for fault in armed {
            if let Err(source) = self.set_fault(id, fault) {
                if let Err(e) = self.remove(id) {
                    log::warn!("{}", e.message());
                }
                return Err(BackendError { action: "arming a kernel fault knob".into(), source });
            }
        }
        Ok(self.device(id))
    }

    /// Sets a fault; on netdevsim, one a kernel knob can enforce
    /// ([`crate::hardware::netdevsim::knob_for`]) is armed in the kernel.
    pub fn set_fault(&mut self, id: u32, mut fault: FaultInfo) -> Result<(), KernelError> {
        let device = self.devices.get_mut(&id).expect("a known device");
        let knob = device.netdevsim.as_ref().and_then(|_| knob_for(&fault));
        if let (Some(nsim), Some(knob)) = (&device.netdevsim, knob) {
            nsim.set_knob(knob, true)?;
            fault.knob = Some(knob.to_string());
        }
        let replaced = device.faults.set(fault);
        if let (Some(nsim), Some(old)) = (&device.netdevsim, replaced.and_then(|f| f.knob)) {
            if knob != Some(old.as_str()) {
                nsim.set_knob(&old, false)?;
            }
        }
        Ok(())
    }

    /// Removes the faults of `command` (all when `None`), disarming the
    /// kernel knobs that enforced any.
    pub fn clear_faults(&mut self, id: u32, command: Option<&str>) -> Result<(), KernelError> {
        let device = self.devices.get_mut(&id).expect("a known device");
        for knob in device.faults.clear(command).into_iter().filter_map(|f| f.knob) {
            if let Some(nsim) = &device.netdevsim {
                nsim.set_knob(&knob, false)?;
            }
        }
        Ok(())
    }

    /// Creates the device's hardware and model, without arming kernel knobs.
    fn create_unarmed(&mut self, id: u32, config: &DeviceConfig) -> Result<(), BackendError> {
        let ports_config = PortsConfig::of(config);
        let (backend, netdevs) = self.backends.backend(config.backend);
        let Hardware { ports, netdevsim } = backend.create(netdevs, &ports_config)?;
        let port_count = ports.len();
        let name = config.name.get_ref().clone();
        self.by_name.insert(name.clone(), id);
        let device = Device {
            id,
            name,
            backend: config.backend,
            ports_config,
            ports,
            netdevsim,
            kernel_work: None,
            kernel_fw_version: None,
            registers: RegisterFile::from_config(&config.registers),
            sensors: config.sensors.iter().map(Sensor::from_config).collect(),
            firmware: Firmware::new(
                config.firmware.version.get_ref().clone(),
                *config.firmware.flash_duration_ms.get_ref(),
                *config.firmware.activation.get_ref(),
            ),
            faults: Faults::from_config(&config.faults, self.seed ^ u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            devlink: Instance::new(config, self.seed ^ u64::from(id).wrapping_mul(0xbf58_476d_1ce4_e5b9)),
            stats: DriverStats::default(),
            carrier_generation: vec![0; port_count],
            leds: vec![led_state::OFF as u8; port_count],
            flap_generation: 0,
        };
        self.devices.insert(id, device);
        self.index_ports(id);
        Ok(())
    }

    /// Notes which device the netdevs of device `id` belong to.
    fn index_ports(&mut self, id: u32) {
        let device = &self.devices[&id];
        if device.backend == BackendKind::Model {
            return; // no netdevs
        }
        for port in &device.ports {
            self.by_ifindex.insert(port.ifindex, id);
            self.by_ifindex.insert(port.peer_ifindex, id);
        }
    }

    fn unindex_ports(&mut self, id: u32) {
        for port in &self.devices[&id].ports {
            for ifindex in [port.ifindex, port.peer_ifindex] {
                if self.by_ifindex.get(&ifindex) == Some(&id) {
                    self.by_ifindex.remove(&ifindex);
                }
            }
        }
    }

    /// Notes that device `id` changed (it will be announced).
    pub fn mark_changed(&mut self, id: u32) {
        self.changed.insert(id);
    }

    /// Waits (at most `within`) until the kernel announced every port's
    /// final state, then forgets what changed before: the state announced
    /// from then on is the settled one.
    pub fn settle(&mut self, within: std::time::Duration) {
        let ports = self.kernel_ports(self.devices.keys().copied());
        let Some(netdevs) = self.backends.netdevs.as_mut() else { return };
        if !netdevs.settle(&ports, within) {
            log::info!("some ports' link state had not settled after {within:?}");
        }
        self.take_changed();
    }

    /// Whether the kernel announced (as far as read) the settled link state
    /// of device `id`'s ports; a device that is gone has nothing to wait for.
    pub fn is_settled(&self, id: u32) -> bool {
        let ports = self.kernel_ports([id]);
        self.backends.netdevs.as_ref().is_none_or(|netdevs| netdevs.settled(&ports))
    }

    /// The ifindexes of these devices' kernel ports (model ports have none).
    fn kernel_ports(&self, ids: impl IntoIterator<Item = u32>) -> Vec<u32> {
        ids.into_iter()
            .filter_map(|id| self.devices.get(&id))
            .filter(|d| d.backend != BackendKind::Model)
            .flat_map(|d| d.ports.iter().map(|p| p.ifindex))
            .collect()
    }

    /// Reads what the kernel announced about the hardware.
    pub fn sync_hardware(&mut self) {
        if let Some(netdevs) = self.backends.netdevs.as_mut() {
            netdevs.sync();
        }
    }

    /// The devices that changed since the last call (what the kernel
    /// announced of their netdevs included).
    pub fn take_changed(&mut self) -> BTreeSet<u32> {
        let netdevs = self.backends.netdevs.as_mut().map(Netdevs::take_changed).unwrap_or_default();
        if !netdevs.is_empty() {
            // A netdevsim driver that made its ports again (a reload by
            // somebody else): name, cable and configure them. During our
            // own reload, the reload's end does it.
            let reloaded: Vec<u32> = self
                .devices
                .values()
                .filter(|d| d.netdevsim.is_some() && d.kernel_work != Some(KernelWork::Reload))
                .map(|d| d.id)
                .collect();
            for id in reloaded {
                if let Err(e) = self.readopt(id) {
                    log::warn!("taking the remade ports of device {id} back: {}", e.message());
                }
            }
        }
        for ifindex in netdevs {
            if let Some(&id) = self.by_ifindex.get(&ifindex) {
                self.changed.insert(id);
            }
        }
        let devices = &self.devices;
        let mut changed = std::mem::take(&mut self.changed);
        changed.retain(|id| devices.contains_key(id));
        changed
    }

    /// Creates the configured devices; on failure removes what was created.
    pub fn create_all(&mut self, configs: Vec<(u32, DeviceConfig)>) -> Result<(), BackendError> {
        for (id, config) in configs {
            if let Err(e) = self.create(id, &config) {
                self.remove_all();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Unplugs a device: removes its netdevs and forgets it.
    pub fn remove(&mut self, id: u32) -> Result<Device, BackendError> {
        let device = self.devices.get(&id).expect("removing a known device");
        let (backend, netdevs) = self.backends.backend(device.backend);
        backend.remove(netdevs, &device.hardware())?;
        self.unindex_ports(id);
        let device = self.devices.remove(&id).expect("known");
        self.by_name.remove(&device.name);
        Ok(device)
    }

    /// Removes every device's netdevs (teardown): each kernel backend's
    /// together (one deletion for all veth pairs), model devices one by one.
    pub fn remove_all(&mut self) {
        self.by_name.clear();
        self.by_ifindex.clear();
        let devices = std::mem::take(&mut self.devices);
        for kind in [BackendKind::Veth, BackendKind::Netdevsim] {
            let hardware: Vec<Hardware> =
                devices.values().filter(|device| device.backend == kind).map(Device::hardware).collect();
            if hardware.is_empty() {
                continue;
            }
            let (backend, netdevs) = self.backends.backend(kind);
            if let Err(e) = backend.remove_many(netdevs, &hardware.iter().collect::<Vec<_>>()) {
                log::warn!("tearing down the {} devices: {}", kind.name(), e.message());
            }
        }
        for device in devices.into_values().filter(|device| device.backend == BackendKind::Model) {
            let (backend, netdevs) = self.backends.backend(device.backend);
            if let Err(e) = backend.remove(netdevs, &device.hardware()) {
                log::warn!("tearing down {}: {}", device.name, e.message());
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        self.devices.values()
    }

    /// The first device id at or after `start`.
    pub fn first_from(&self, start: u64) -> Option<u32> {
        let start = u32::try_from(start).ok()?;
        self.devices.range(start..).next().map(|(id, _)| *id)
    }

    pub fn ids(&self) -> Vec<u32> {
        self.devices.keys().copied().collect()
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// The lowest id no device has.
    pub fn free_id(&self) -> u32 {
        (1..).find(|id| !self.devices.contains_key(id)).unwrap()
    }

    pub fn find(&self, selector: &DevSelector) -> Option<&Device> {
        match selector {
            DevSelector::Id(id) => self.devices.get(id),
            DevSelector::Name(name) => self.by_name.get(name).and_then(|id| self.devices.get(id)),
        }
    }

    pub fn get(&self, id: u32) -> Option<&Device> {
        self.devices.get(&id)
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut Device> {
        self.devices.get_mut(&id)
    }

    fn device(&self, id: u32) -> &Device {
        self.get(id).expect("a known device")
    }

    /// A device and what operates on its ports, borrowed apart.
    fn with_ports(&mut self, id: u32) -> (&Device, &mut dyn Ports) {
        let device = self.devices.get(&id).expect("a known device");
        (device, self.backends.ports(device.backend))
    }

    /// The device as the kernel sees its ports now.
    pub fn info(&mut self, id: u32) -> Result<DevInfo, KernelError> {
        // Only netdev-backed devices live in a namespace.
        let netns = match self.device(id).backend {
            BackendKind::Model => None,
            BackendKind::Veth | BackendKind::Netdevsim => self.netns_path.clone(),
        };
        let (device, backend) = self.with_ports(id);
        let ports = device.ports.iter().map(|port| device.port_info(backend, port)).collect::<Result<_, _>>()?;
        let devlink = device.netdevsim.as_ref().map(|d| d.devlink().to_string());
        Ok(DevInfo { id, name: device.name.clone(), backend: device.backend.name().to_string(), netns, devlink, ports })
    }

    /// The firmware as the device reports it: simulated firmware's state,
    /// or for netdevsim the running version devlink reports. While a flash
    /// runs, the kernel holds the devlink instance (a request would wait
    /// for the flash, stalling the simulator), so the version read last is
    /// reported.
    pub fn fw_info(&mut self, id: u32) -> Result<FwInfo, KernelError> {
        let device = self.device(id);
        if device.netdevsim.is_none() {
            return Ok(device.firmware.info());
        }
        let pending = match &device.kernel_work {
            Some(KernelWork::Flash(file)) => Some(file.clone()),
            _ => None,
        };
        let version = device.kernel_fw_version.clone().unwrap_or_default();
        Ok(FwInfo {
            version,
            flash_duration_ms: None,
            flashing: pending.is_some(),
            pending_version: pending,
            stored_version: None,
        })
    }

    /// Makes again the device's ports whose netdevs somebody else deleted.
    pub fn repair(&mut self, id: u32) -> Result<(), BackendError> {
        let device = &self.devices[&id];
        let (backend, netdevs) = self.backends.backend(device.backend);
        let ports = backend.repair(netdevs, &device.ports_config, &device.hardware())?;
        if ports == device.ports {
            return Ok(());
        }
        self.replace_ports(id, ports);
        Ok(())
    }

    /// Removes the device's netdevs and makes them again in their initial
    /// state (new ifindexes), as a re-initialised driver makes its netdevs
    /// (netdevsim's reload). If making them fails, the device has none
    /// until a reset repairs it (its ports are missing then).
    pub fn remake_ports(&mut self, id: u32) -> Result<(), BackendError> {
        let device = &self.devices[&id];
        let (backend, mut netdevs) = self.backends.backend(device.backend);
        backend.remove(netdevs.as_deref_mut(), &device.hardware())?;
        let Hardware { ports, .. } = backend.create(netdevs, &device.ports_config)?;
        self.replace_ports(id, ports);
        Ok(())
    }

    /// The device's ports are now `ports` (made again): carrier timers of
    /// the old ones no longer apply.
    fn replace_ports(&mut self, id: u32, ports: Vec<Port>) {
        self.unindex_ports(id);
        let device = self.devices.get_mut(&id).expect("a known device");
        let next_generation = device.carrier_generation.iter().max().map_or(0, |g| g + 1);
        device.carrier_generation = vec![next_generation; ports.len()];
        device.ports = ports;
        self.index_ports(id);
        self.changed.insert(id);
    }

    /// Names, cables and configures the netdevs the driver of a netdevsim
    /// device made again (after a devlink reload, anybody's) once they are
    /// all there; returns whether it did.
    pub fn readopt(&mut self, id: u32) -> Result<bool, BackendError> {
        let device = &self.devices[&id];
        let (Some(nsim), Some(netdevs)) = (device.netdevsim.clone(), self.backends.netdevs.as_ref()) else {
            return Ok(false);
        };
        let gone =
            device.ports.iter().any(|p| netdevs.link(p.ifindex).is_none() || netdevs.link(p.peer_ifindex).is_none());
        let count = device.ports_config.names.len();
        let made =
            |id: u32| netdevs.all().filter(|l| l.parent_dev.as_deref() == Some(&format!("netdevsim{id}"))).count();
        if !gone || made(nsim.id) != count || made(nsim.cable_id) != count {
            return Ok(false);
        }
        let Backends { netdevsim, netdevs: Some(netdevs), .. } = &mut self.backends else {
            return Ok(false);
        };
        let ports = netdevsim.adopt(netdevs, &nsim, &device.ports_config)?;
        self.replace_ports(id, ports);
        Ok(true)
    }

    /// The hardware namespace's netdevs (none without one).
    pub fn netdevs(&mut self) -> Option<&mut Netdevs> {
        self.backends.netdevs.as_mut()
    }

    pub fn netdevsim(&mut self) -> &mut NetdevsimBackend {
        &mut self.backends.netdevsim
    }

    /// Bit N set when port N has carrier (the kernel's `LOWER_UP`).
    pub fn carrier_bits(&mut self, id: u32) -> Result<u64, KernelError> {
        let mut bits = 0;
        let (device, backend) = self.with_ports(id);
        for port in &device.ports {
            if backend.port_state(port)?.is_some_and(|state| state.carrier) {
                bits |= 1 << port.index.min(63);
            }
        }
        Ok(bits)
    }

    /// Register `index` of a device, as `reg-get` reports it.
    pub fn register(&mut self, id: u32, index: usize) -> Result<Option<RegInfo>, KernelError> {
        if self.device(id).registers.iter().nth(index).is_none() {
            return Ok(None);
        }
        let carrier = self.carrier_bits(id)?;
        let registers = &self.device(id).registers;
        Ok(registers.iter().nth(index).map(|r| registers.info(r, || carrier)))
    }

    /// Port `index` of a device, as the kernel sees it now.
    pub fn port_info(&mut self, id: u32, index: usize) -> Result<Option<PortInfo>, KernelError> {
        let (device, backend) = self.with_ports(id);
        device.ports.get(index).map(|port| device.port_info(backend, port)).transpose()
    }

    /// The kernel's counters of the device's ports (a port whose netdev
    /// is gone has none).
    pub fn port_stats(&mut self, id: u32) -> Result<Vec<PortStats>, KernelError> {
        let (device, backend) = self.with_ports(id);
        device
            .ports
            .iter()
            .filter_map(|p| match backend.port_counters(p) {
                Err(e) if e.errno == libc::ENODEV => None,
                outcome => Some(outcome.map(|c| PortStats::from_stats64(p.index, c.ifname, c.stats64))),
            })
            .collect()
    }

    /// Plugs or unplugs a port's cable (flaps, reset); bumps its generation.
    pub fn set_carrier(&mut self, id: u32, port: u32, on: bool) -> Result<u64, KernelError> {
        let device = self.devices.get_mut(&id).expect("a known device");
        let index = port as usize;
        if index >= device.ports.len() {
            let message = format!("{} has no port {port}", device.name);
            return Err(KernelError { errno: libc::ENODEV, message: Some(message) });
        }
        device.carrier_generation[index] += 1;
        self.backends.ports(device.backend).set_carrier(&device.ports[index], on)?;
        let generation = device.carrier_generation[index];
        self.changed.insert(id);
        Ok(generation)
    }

    /// Applies `settings` to the given ports (all when `None`): MTU, then
    /// MAC, then admin state, then rings, port by port. All or nothing:
    /// if the kernel refuses a change, the changes already made are undone.
    pub fn apply(&mut self, id: u32, port: Option<u32>, settings: &PortSettings) -> Result<(), ChangeError> {
        let device = self.device(id);
        let kind = device.backend;
        let ports: Vec<Port> =
            device.ports.iter().filter(|p| port.is_none_or(|wanted| p.index == wanted)).cloned().collect();
        let backend = self.backends.ports(kind);
        let mut done: Vec<(Port, PortChange)> = Vec::new();
        let result = apply_each(backend, &ports, port.is_none(), settings, &mut done);
        self.changed.insert(id);
        if result.is_err() {
            for (port, previous) in done.into_iter().rev() {
                if let Err(e) = change(backend, &port, &previous) {
                    log::warn!("undoing a change on {}: {e}", port.ifname);
                }
            }
        }
        result
    }
}

/// Applies the changes, recording in `done` how to undo each one.
fn apply_each(
    backend: &mut dyn Ports,
    ports: &[Port],
    mac_is_base: bool,
    settings: &PortSettings,
    done: &mut Vec<(Port, PortChange)>,
) -> Result<(), ChangeError> {
    for port in ports {
        let fail = |attr, error| ChangeError { attr, port: port.ifname.clone(), error };
        // A port whose netdev is gone has nothing to undo: changing it fails.
        let before = backend.port_state(port).map_err(|e| fail(dev_attr::DEV_ID, e))?.unwrap_or_default();
        let mac = settings.mac.map(|m| if mac_is_base { port_mac(&m, port.index) } else { m });
        let changes = [
            settings.mtu.map(|v| (PortChange::Mtu(v), PortChange::Mtu(before.mtu))),
            mac.map(|v| (PortChange::Mac(v), PortChange::Mac(before.mac))),
            settings.up.map(|v| (PortChange::Up(v), PortChange::Up(before.up))),
            (settings.rx_ring.is_some() || settings.tx_ring.is_some()).then(|| {
                let undo = before.rings.map_or(PortChange::Rings(None, None), |r| {
                    PortChange::Rings(settings.rx_ring.map(|_| r.rx), settings.tx_ring.map(|_| r.tx))
                });
                (PortChange::Rings(settings.rx_ring, settings.tx_ring), undo)
            }),
        ];
        for (what, previous) in changes.into_iter().flatten() {
            change(backend, port, &what).map_err(|e| fail(what.attr(), e))?;
            done.push((port.clone(), previous));
        }
    }
    Ok(())
}

fn change(backend: &mut dyn Ports, port: &Port, change: &PortChange) -> Result<(), KernelError> {
    match change {
        PortChange::Mtu(mtu) => backend.set_mtu(port, *mtu),
        PortChange::Mac(mac) => backend.set_mac(port, mac),
        PortChange::Up(up) => backend.set_up(port, *up),
        PortChange::Rings(None, None) => Ok(()),
        PortChange::Rings(rx, tx) => backend.set_rings(port, *rx, *tx),
    }
}
