//! Injected faults of one device: per command, an errno returned `count`
//! times or with a probability (from a seeded generator, so runs repeat),
//! an added latency, a flash failure point, or a periodic link flap.
//! Every firing is counted in the fault itself.

use crate::config::{BackendKind, FaultConfig};
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{FaultInfo, LINK_FLAP, PROBABILITY_ONE};
use std::time::Duration;

/// Why a fault cannot be set: invalid (`EINVAL`), or beyond what the
/// device's hardware can do (`EOPNOTSUPP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRefusal {
    pub errno: i32,
    pub message: String,
}

impl FaultRefusal {
    fn invalid(message: impl Into<String>) -> Self {
        FaultRefusal { errno: errno::EINVAL, message: message.into() }
    }

    fn unsupported(message: impl Into<String>) -> Self {
        FaultRefusal { errno: errno::EOPNOTSUPP, message: message.into() }
    }
}

/// Checks a fault's fields against each other and the device (`ports`,
/// `backend`, its health `reporters`); the one set of rules for faults
/// from TOML and from `fault-set`.
pub fn check_fault(f: &FaultInfo, ports: u32, backend: BackendKind, reporters: &[&str]) -> Result<(), FaultRefusal> {
    let is_flap = f.command == LINK_FLAP;
    if !is_flap && simdev_protocol::simdev::FAMILY.command_by_name(&f.command).is_none() {
        return Err(FaultRefusal::invalid(format!("`{}` is not a simdev command nor `{LINK_FLAP}`", f.command)));
    }
    check_firing(f)?;
    if let Some(fail_at) = f.fail_at {
        if f.command != "fw-flash" || fail_at > 100 {
            return Err(FaultRefusal::invalid("fail-at is a percent (0..=100) for fw-flash"));
        }
        if backend == BackendKind::Netdevsim {
            return Err(FaultRefusal::unsupported(
                "netdevsim flashes in the kernel and has no knob to fail a flash part way",
            ));
        }
    }
    if is_flap {
        let (Some(interval), Some(down), Some(port)) = (f.interval_ms, f.down_ms, f.port_index) else {
            return Err(FaultRefusal::invalid("link-flap needs an interval, a down time and a port"));
        };
        if interval < 10 {
            return Err(FaultRefusal::invalid("the flap interval is at least 10 ms"));
        }
        if down == 0 || down >= interval {
            return Err(FaultRefusal::invalid("the down time must be above 0 and below the interval"));
        }
        if port >= ports {
            return Err(FaultRefusal::invalid(format!("port {port} does not exist (the device has {ports})")));
        }
    } else if f.interval_ms.is_some() || f.down_ms.is_some() || f.port_index.is_some() {
        return Err(FaultRefusal::invalid("interval, down time and port are for link-flap"));
    } else if f.errno == 0 && f.delay_ms == 0 && f.fail_at.is_none() {
        return Err(FaultRefusal::invalid("give an errno, a delay or (fw-flash) a fail-at"));
    }
    if let Some(reporter) = &f.reporter {
        if backend == BackendKind::Netdevsim {
            return Err(FaultRefusal::unsupported(
                "netdevsim's health reporters are the kernel's: its debugfs health/break_health breaks them",
            ));
        }
        if !reporters.contains(&reporter.as_str()) {
            let known = reporters.join(", ");
            return Err(FaultRefusal::invalid(format!("the device has no health reporter `{reporter}` ({known})")));
        }
        if f.errno == 0 && f.fail_at.is_none() && !is_flap {
            return Err(FaultRefusal::invalid("a reporter reports failures: give an errno (a delay fails nothing)"));
        }
    }
    Ok(())
}

/// What a command a fault fails is told (and a fault's health reporter reports).
pub fn injected_failure(command: &str, errno: i32) -> String {
    format!("injected fault: {command} fails with {}", simdev_protocol::errno::errno_name(errno))
}

/// When and how a fault fires: a count or a probability, and a bounded delay.
fn check_firing(f: &FaultInfo) -> Result<(), FaultRefusal> {
    if f.count.is_some() && f.probability.is_some() {
        return Err(FaultRefusal::invalid("give a count or a probability, not both"));
    }
    if f.count == Some(0) {
        return Err(FaultRefusal::invalid("count must be at least 1"));
    }
    if f.probability.is_some_and(|p| p == 0 || p > PROBABILITY_ONE) {
        return Err(FaultRefusal::invalid("probability must be above 0 and at most 1"));
    }
    if f.delay_ms > simdev_protocol::simdev::DELAY_MAX_MS {
        return Err(FaultRefusal::invalid(format!("delay is at most {} ms", simdev_protocol::simdev::DELAY_MAX_MS)));
    }
    Ok(())
}

/// Checks a fault on an op of a family served from its spec: an op of
/// the family, an errno or a delay, none of simdev's device-only fields.
pub fn check_served_fault(f: &FaultInfo, family: &simdev_protocol::family::FamilySpec) -> Result<(), FaultRefusal> {
    if family.command_by_name(&f.command).is_none() {
        return Err(FaultRefusal::invalid(format!("`{}` is not an op of {}", f.command, family.name)));
    }
    check_firing(f)?;
    if f.fail_at.is_some() || f.interval_ms.is_some() || f.down_ms.is_some() || f.port_index.is_some() {
        return Err(FaultRefusal::invalid("fail-at, interval, down time and port are for simdev's devices"));
    }
    if f.reporter.is_some() {
        return Err(FaultRefusal::invalid("a health reporter is for simdev's devices"));
    }
    if f.errno == 0 && f.delay_ms == 0 {
        return Err(FaultRefusal::invalid("give an errno or a delay"));
    }
    Ok(())
}

/// xorshift64*: small, fast, and the same sequence for the same seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// Uniform in 0..PROBABILITY_ONE.
    fn next_ppm(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((value >> 32) % u64::from(PROBABILITY_ONE)) as u32
    }
}

/// A fault that fired on a command.
#[derive(Debug, Clone)]
pub struct Hit {
    /// 0: latency only, the command runs.
    pub errno: u32,
    pub delay: Duration,
    /// The fault after firing (for the notification).
    pub fault: FaultInfo,
}

#[derive(Debug, Clone)]
pub struct Faults {
    list: Vec<FaultInfo>,
    rng: Rng,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Faults { list: Vec::new(), rng: Rng::new(seed) }
    }

    pub fn from_config(configs: &[FaultConfig], seed: u64) -> Self {
        let mut faults = Faults::new(seed);
        for c in configs {
            faults.set(c.to_info());
        }
        faults
    }

    pub fn list(&self) -> &[FaultInfo] {
        &self.list
    }

    /// Adds a fault, replacing any other for the same command (and port);
    /// returns the one replaced.
    pub fn set(&mut self, fault: FaultInfo) -> Option<FaultInfo> {
        let same = |f: &FaultInfo| f.command == fault.command && f.port_index == fault.port_index;
        let replaced = self.list.iter().position(same).map(|i| self.list.remove(i));
        self.list.push(fault);
        replaced
    }

    /// Removes the faults of `command` (all when `None`); returns them.
    pub fn clear(&mut self, command: Option<&str>) -> Vec<FaultInfo> {
        let (removed, kept) =
            std::mem::take(&mut self.list).into_iter().partition(|f| command.is_none_or(|c| c == f.command));
        self.list = kept;
        removed
    }

    /// The fault a kernel knob enforces for `command`, if any.
    pub fn knob_fault(&mut self, command: &str) -> Option<&mut FaultInfo> {
        self.list.iter_mut().find(|f| f.command == command && f.knob.is_some())
    }

    /// Whether `fault` fires now, consuming a count or a random draw.
    fn fires(rng: &mut Rng, fault: &mut FaultInfo) -> bool {
        let fire = match (fault.count, fault.probability) {
            (Some(0), _) => false,
            (Some(n), _) => {
                fault.count = Some(n - 1);
                true
            }
            (None, Some(p)) => rng.next_ppm() < p,
            (None, None) => true,
        };
        if fire {
            fault.fired += 1;
        }
        fire
    }

    /// Checks the faults on `command` as it arrives (flash-failure faults
    /// are consulted by [`Faults::flash_failure`] instead, and faults a
    /// kernel knob enforces are the kernel's to fire).
    pub fn check(&mut self, command: &str) -> Option<Hit> {
        let rng = &mut self.rng;
        let fault = self.list.iter_mut().find(|f| f.command == command && f.fail_at.is_none() && f.knob.is_none())?;
        Self::fires(rng, fault).then(|| Hit {
            errno: fault.errno,
            delay: Duration::from_millis(fault.delay_ms.into()),
            fault: fault.clone(),
        })
    }

    /// For a flash that starts now: the percent and errno it fails at.
    pub fn flash_failure(&mut self) -> Option<((u8, u32), FaultInfo)> {
        let rng = &mut self.rng;
        let fault = self.list.iter_mut().find(|f| f.command == "fw-flash" && f.fail_at.is_some())?;
        let errno = if fault.errno == 0 { errno::EIO as u32 } else { fault.errno };
        Self::fires(rng, fault).then(|| ((fault.fail_at.unwrap_or(0), errno), fault.clone()))
    }

    /// The link-flap faults: (port, interval, down time).
    pub fn flaps(&self) -> impl Iterator<Item = (u32, Duration, Duration)> + '_ {
        self.list.iter().filter(|f| f.command == LINK_FLAP).filter_map(|f| {
            Some((
                f.port_index?,
                Duration::from_millis(f.interval_ms?.into()),
                Duration::from_millis(f.down_ms?.into()),
            ))
        })
    }

    /// A flap of `port` is due: whether it happens (count left), and the fault.
    pub fn fire_flap(&mut self, port: u32) -> Option<FaultInfo> {
        let rng = &mut self.rng;
        let fault = self.list.iter_mut().find(|f| f.command == LINK_FLAP && f.port_index == Some(port))?;
        Self::fires(rng, fault).then(|| fault.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(command: &str) -> FaultInfo {
        FaultInfo { command: command.into(), errno: errno::EIO as u32, ..Default::default() }
    }

    #[test]
    fn a_counted_fault_fires_exactly_count_times() {
        let mut faults = Faults::new(1);
        faults.set(FaultInfo { count: Some(2), ..fault("dev-set") });
        assert!(faults.check("dev-get").is_none(), "other commands are unaffected");
        assert_eq!(faults.check("dev-set").unwrap().errno, errno::EIO as u32);
        assert_eq!(faults.check("dev-set").unwrap().fault.fired, 2);
        assert!(faults.check("dev-set").is_none());
        assert_eq!(faults.list()[0].count, Some(0));
    }

    #[test]
    fn probabilistic_faults_repeat_for_the_same_seed() {
        let run = |seed| {
            let mut faults = Faults::new(seed);
            faults.set(FaultInfo { probability: Some(PROBABILITY_ONE / 4), ..fault("reg-set") });
            (0..1000).map(|_| faults.check("reg-set").is_some()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        let fired = run(7).iter().filter(|f| **f).count();
        assert!((150..350).contains(&fired), "about a quarter: {fired}");
    }

    #[test]
    fn clear_removes_by_command_or_all() {
        let mut faults = Faults::new(1);
        faults.set(fault("dev-set"));
        faults.set(fault("reg-set"));
        faults.set(fault("dev-set"));
        assert_eq!(faults.list().len(), 2, "set replaces the same command's fault");
        assert_eq!(faults.clear(Some("dev-set")).len(), 1);
        assert_eq!(faults.clear(None).len(), 1);
        assert!(faults.list().is_empty());
    }
}
