//! What a simulated device's devlink instance holds beyond the device
//! model (whose firmware, ports and reset devlink shares): parameters,
//! health reporters, the dummy region's snapshots, traps, reload counts.
//! Every device has one, devlink served or not, so serving devlink later
//! (or a simdev op meanwhile) sees one state.

use super::health::Reporter;
use super::params::Param;
use super::regions::Region;
use super::traps::Traps;
use crate::config::DeviceConfig;

#[derive(Debug, Clone)]
pub struct Instance {
    /// Its handle: bus and device names (`simdev/NAME` unless configured).
    pub bus: String,
    pub dev: String,
    /// The serial number `info` reports, if it has one.
    pub serial: Option<String>,
    pub params: Vec<Param>,
    pub reporters: Vec<Reporter>,
    /// Its reporters as its driver creates them (again on a reload): the
    /// configured ones, or `None` for netdevsim's, made again from the
    /// seed (not kept: ten thousand devices kept 6 MB of copies).
    declared_reporters: Option<Vec<Reporter>>,
    pub region: Region,
    pub traps: Traps,
    /// Reloads done, by action (limit unspecified: the only one supported):
    /// `driver_reinit` (netdevsim's one action, and part of every
    /// `fw_activate`), `fw_activate` (a device whose firmware activates by
    /// reset).
    pub reinits: u32,
    pub activations: u32,
    /// Whether the last reload failed to bring the driver up
    /// (`devlink->reload_failed`).
    pub reload_failed: bool,
    /// The eswitch's mode: switchdev, or legacy (netdevsim's first).
    pub switchdev: bool,
    seed: u64,
}

impl Instance {
    /// The instance of a device configured so (checked configuration).
    pub fn new(config: &DeviceConfig, seed: u64) -> Self {
        let params = match config.params.is_empty() {
            true => Param::netdevsim_defaults(),
            false => config.params.iter().map(|p| p.param().expect("a checked configuration")).collect(),
        };
        let seed = seed | 1;
        let declared_reporters = (!config.health_reporters.is_empty()).then(|| {
            config.health_reporters.iter().map(|r| r.reporter(seed).expect("a checked configuration")).collect()
        });
        let (bus, dev) = config.devlink_handle();
        Instance {
            bus,
            dev,
            serial: config.serial.as_ref().map(|s| s.get_ref().clone()),
            params,
            reporters: Self::created_reporters(declared_reporters.as_deref(), seed),
            declared_reporters,
            region: Region::new(seed.rotate_left(17)),
            traps: Traps::default(),
            reinits: 0,
            activations: 0,
            reload_failed: false,
            switchdev: false,
            seed,
        }
    }

    /// The reporters the driver creates: the declared ones, or
    /// netdevsim's, their random bytes from `seed`.
    fn created_reporters(declared: Option<&[Reporter]>, seed: u64) -> Vec<Reporter> {
        match declared {
            Some(declared) => declared.iter().map(|r| r.recreated(seed)).collect(),
            None => Reporter::netdevsim_defaults(seed),
        }
    }

    /// What a reload remakes, as netdevsim's `reload_down`/`reload_up` do:
    /// reporters, regions and traps afresh; parameters and counts stay
    /// (the caller counts the actions done).
    pub fn reloaded(&mut self) {
        self.seed = self.seed.rotate_left(7) ^ 0x9e37_79b9_7f4a_7c15;
        self.reporters = Self::created_reporters(self.declared_reporters.as_deref(), self.seed);
        self.region = Region::new(self.seed.rotate_left(17));
        self.traps = Traps::default();
    }
}
