//! devlink health reporters: netdevsim's `empty` (diagnose and dump put
//! nothing) and `dummy` (recover, diagnose, dump: netdevsim's test
//! message), with the core's rules (`net/devlink/health.c`): a recover of
//! a healthy reporter does nothing; a dump is taken on the first dump read
//! (or when an error is reported, with auto-dump) and kept until cleared;
//! an error reported (simdev's `health-report`, as netdevsim's debugfs
//! `break_health`) is counted, puts the reporter in error, and is
//! recovered from at once with auto-recover, within the core's limits.
//! A configuration may declare other reporters (`[[device.health_reporter]]`):
//! which callbacks they have, and the pairs their diagnose and dump put.

use super::wire::{attr, raw, Fmsg, FmsgValue};
use std::time::{SystemTime, UNIX_EPOCH};

/// `DEVLINK_HEALTH_REPORTER_STATE_HEALTHY`.
const HEALTHY: u8 = 0;
/// `DEVLINK_HEALTH_REPORTER_STATE_ERROR`.
const ERROR: u8 = 1;

/// What a reporter's driver callback puts in a diagnose or a dump.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Nothing (netdevsim's `empty`).
    Nothing,
    /// netdevsim's test message (its `dummy`'s `nsim_dev_dummy_fmsg_put`).
    Dummy,
    /// Pairs declared in the configuration (`[device.health_reporter.diagnose]`),
    /// each TOML value as an fmsg value ([`declared_fmsg`]).
    Declared(toml::Table),
}

/// The callbacks a reporter's driver registers (`devlink_health_reporter_ops`):
/// what the core can do with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Callbacks {
    pub recover: bool,
    pub diagnose: Option<Content>,
    pub dump: Option<Content>,
}

impl Callbacks {
    /// netdevsim's reporter `name` (`empty` or `dummy`), if it has one.
    pub fn netdevsim(name: &str) -> Option<Callbacks> {
        match name {
            "empty" => {
                Some(Callbacks { recover: false, diagnose: Some(Content::Nothing), dump: Some(Content::Nothing) })
            }
            "dummy" => Some(Callbacks { recover: true, diagnose: Some(Content::Dummy), dump: Some(Content::Dummy) }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Reporter {
    pub name: String,
    pub callbacks: Callbacks,
    pub state: u8,
    pub errors: u64,
    pub recoveries: u64,
    pub graceful_period: u64,
    pub auto_recover: bool,
    pub auto_dump: bool,
    /// The dump kept (`reporter->dump_fmsg`) and when it was taken (ms
    /// since boot, as `jiffies_to_msecs`; ns of the real clock).
    pub dump: Option<(Fmsg, u64, u64)>,
    /// Bytes of the dummy's `test_binary` (netdevsim's `binary_len`).
    binary_len: usize,
    /// Seed of the dummy's random bytes: each message differs, as
    /// netdevsim's `get_random_bytes` makes it.
    seed: u64,
    /// When it last recovered (ms since boot; the core's
    /// `last_recovery_ts`), for the grace period.
    last_recovery_ms: Option<u64>,
    /// The message of the last error it recovered from by itself (the
    /// dummy's `recovered_break_msg`, which its diagnose shows).
    recovered_message: Option<String>,
}

impl Reporter {
    /// A reporter as its driver creates it, with the core's defaults:
    /// auto-recover when it can recover, auto-dump when it can dump, no
    /// grace period.
    pub fn new(name: &str, callbacks: Callbacks, seed: u64) -> Reporter {
        Reporter {
            name: name.to_string(),
            state: HEALTHY,
            errors: 0,
            recoveries: 0,
            graceful_period: 0,
            auto_recover: callbacks.recover,
            auto_dump: callbacks.dump.is_some(),
            callbacks,
            dump: None,
            binary_len: 16,
            seed,
            last_recovery_ms: None,
            recovered_message: None,
        }
    }

    pub fn netdevsim_defaults(seed: u64) -> Vec<Reporter> {
        ["empty", "dummy"]
            .into_iter()
            .map(|name| Reporter::new(name, Callbacks::netdevsim(name).expect("netdevsim's"), seed))
            .collect()
    }

    /// The same reporter as its driver creates it again (a reload),
    /// its random bytes from `seed`.
    pub fn recreated(&self, seed: u64) -> Reporter {
        Reporter { seed, ..self.clone() }
    }

    pub fn can_recover(&self) -> bool {
        self.callbacks.recover
    }

    /// The `health-reporter` nest (`devlink_nl_health_reporter_fill`:
    /// a nest without `NLA_F_NESTED`, so written here, not by the codec).
    pub fn nest(&self) -> Vec<u8> {
        raw(|m| {
            m.nest_start_noflag(attr::HEALTH_REPORTER)
                .put_str(attr::HEALTH_REPORTER_NAME, &self.name)
                .put_u8(attr::HEALTH_REPORTER_STATE, self.state)
                .put_u64(attr::HEALTH_REPORTER_ERR_COUNT, self.errors)
                .put_u64(attr::HEALTH_REPORTER_RECOVER_COUNT, self.recoveries);
            if self.can_recover() {
                m.put_u64(attr::HEALTH_REPORTER_GRACEFUL_PERIOD, self.graceful_period)
                    .put_u8(attr::HEALTH_REPORTER_AUTO_RECOVER, u8::from(self.auto_recover));
            }
            if let Some((_, ms, ns)) = &self.dump {
                m.put_u64(attr::HEALTH_REPORTER_DUMP_TS, *ms).put_u64(attr::HEALTH_REPORTER_DUMP_TS_NS, *ns);
            }
            if self.callbacks.dump.is_some() {
                m.put_u8(attr::HEALTH_REPORTER_AUTO_DUMP, u8::from(self.auto_dump));
            }
            m.nest_end();
        })
    }

    /// What the driver puts in a diagnose (`None`: it has no diagnose):
    /// netdevsim's dummy puts its test message after the message of the
    /// error it last recovered from by itself.
    pub fn diagnose(&mut self) -> Option<Fmsg> {
        let content = self.callbacks.diagnose.clone()?;
        let first = self.recovered_message.clone().map(|m| ("recovered_break_message", m));
        Some(self.message(&content, first.filter(|_| content == Content::Dummy)))
    }

    /// What the driver puts in a dump (`None`: it has no dump), after the
    /// error's message when the dump is the error's (`priv_ctx`): the
    /// dummy's `break_message`, a declared reporter's `error_message`.
    fn dump_message(&mut self, error: Option<&str>) -> Option<Fmsg> {
        let content = self.callbacks.dump.clone()?;
        let name = if content == Content::Dummy { "break_message" } else { "error_message" };
        Some(self.message(&content, error.map(|m| (name, m.to_string()))))
    }

    fn message(&mut self, content: &Content, first: Option<(&str, String)>) -> Fmsg {
        let mut fmsg = Fmsg::default();
        if *content == Content::Nothing {
            return fmsg.finished();
        }
        if let Some((name, text)) = first {
            fmsg.pair(name, FmsgValue::String(text));
        }
        match content {
            Content::Declared(pairs) => {
                declared_fmsg(&mut fmsg, pairs).expect("checked with the configuration");
            }
            _ => self.dummy_message(&mut fmsg),
        }
        fmsg.finished()
    }

    /// netdevsim's `nsim_dev_dummy_fmsg_put`.
    fn dummy_message(&mut self, fmsg: &mut Fmsg) {
        let binary = (0..self.binary_len).map(|_| self.random_byte()).collect();
        fmsg.pair("test_bool", FmsgValue::Bool(true))
            .pair("test_u8", FmsgValue::U8(1))
            .pair("test_u32", FmsgValue::U32(3))
            .pair("test_u64", FmsgValue::U64(4))
            .pair("test_string", FmsgValue::String("somestring".into()))
            .pair("test_binary", FmsgValue::Binary(binary))
            .pair_start("test_nest")
            .obj_start()
            .pair("nested_test_bool", FmsgValue::Bool(false))
            .pair("nested_test_u8", FmsgValue::U8(0))
            .obj_end()
            .pair_end()
            // netdevsim closes its `test_nest` pair twice more, with an
            // `arr_pair_nest_end` that has no start: two more ends on the
            // wire, which readers see close the message's outer nests.
            .arr_pair_end()
            .arr_pair_start("test_u32_array");
        for i in 0..10 {
            fmsg.value(FmsgValue::U32(i));
        }
        fmsg.arr_pair_end().arr_pair_start("test_array_of_objects");
        for i in 0..10 {
            fmsg.obj_start()
                .pair("in_array_nested_test_bool", FmsgValue::Bool(false))
                .pair("in_array_nested_test_u8", FmsgValue::U8(i))
                .obj_end();
        }
        fmsg.arr_pair_end();
    }

    fn random_byte(&mut self) -> u8 {
        // xorshift64: random-looking bytes, reproducible per device.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed >> 24) as u8
    }

    /// Takes a dump, if none is kept and the driver can dump
    /// (`devlink_health_do_dump`; `error`: the reported error's message).
    /// Without a dump callback there is nothing to take.
    pub fn take_dump(&mut self, uptime_ms: u64, error: Option<&str>) {
        if self.dump.is_none() {
            let Some(fmsg) = self.dump_message(error) else { return };
            let ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
            self.dump = Some((fmsg, uptime_ms, ns));
        }
    }

    /// `devlink_health_reporter_recover`: a healthy reporter has nothing
    /// to recover; true if it recovered. `error`: the message of the error
    /// it recovers from by itself (a user's recover has none).
    pub fn recover(&mut self, uptime_ms: u64, error: Option<&str>) -> Result<bool, &'static str> {
        if self.state == HEALTHY {
            return Ok(false);
        }
        if !self.can_recover() {
            return Err("the reporter cannot recover");
        }
        if let Some(message) = error {
            self.recovered_message = Some(message.to_string());
        }
        self.recoveries += 1;
        self.last_recovery_ms = Some(uptime_ms);
        self.state = HEALTHY;
        Ok(true)
    }

    /// `devlink_health_report`: counts the error and puts the reporter in
    /// error; then, unless the core aborts, a dump (auto-dump) and a
    /// recovery (auto-recover). `announce` is called after each change of
    /// its state (`devlink_recover_notify`). False when the core aborted:
    /// the last error was not recovered, or the last recovery is within
    /// the grace period (its `-ECANCELED`).
    pub fn report(&mut self, message: &str, uptime_ms: u64, mut announce: impl FnMut(&Reporter)) -> bool {
        self.errors += 1;
        let previous = std::mem::replace(&mut self.state, ERROR);
        announce(self);
        let within_grace = self.recoveries > 0
            && self.last_recovery_ms.is_some_and(|last| uptime_ms < last.saturating_add(self.graceful_period));
        if self.auto_recover && (previous != HEALTHY || within_grace) {
            return false;
        }
        if self.auto_dump {
            self.take_dump(uptime_ms, Some(message));
        }
        if self.auto_recover && self.recover(uptime_ms, Some(message)) == Ok(true) {
            announce(self);
        }
        true
    }
}

/// Puts declared pairs as fmsg pairs: a boolean, a non-negative integer
/// (u64), a string; a table as a nested object; an array as an fmsg
/// array of such values or tables. What fmsg cannot carry is refused:
/// negative numbers, floats, dates, arrays in arrays.
pub fn declared_fmsg(fmsg: &mut Fmsg, pairs: &toml::Table) -> Result<(), String> {
    for (name, value) in pairs {
        match value {
            toml::Value::Table(table) => {
                fmsg.pair_start(name).obj_start();
                declared_fmsg(fmsg, table)?;
                fmsg.obj_end().pair_end();
            }
            toml::Value::Array(items) => {
                fmsg.arr_pair_start(name);
                for item in items {
                    match item {
                        toml::Value::Table(table) => {
                            fmsg.obj_start();
                            declared_fmsg(fmsg, table)?;
                            fmsg.obj_end();
                        }
                        toml::Value::Array(_) => {
                            return Err(format!("`{name}`: an array in an array has no fmsg form"))
                        }
                        scalar => {
                            fmsg.value(fmsg_value(name, scalar)?);
                        }
                    }
                }
                fmsg.arr_pair_end();
            }
            scalar => {
                fmsg.pair(name, fmsg_value(name, scalar)?);
            }
        }
    }
    Ok(())
}

fn fmsg_value(name: &str, value: &toml::Value) -> Result<FmsgValue, String> {
    match value {
        toml::Value::Boolean(b) => Ok(FmsgValue::Bool(*b)),
        toml::Value::String(s) => Ok(FmsgValue::String(s.clone())),
        toml::Value::Integer(i) => {
            u64::try_from(*i).map(FmsgValue::U64).map_err(|_| format!("`{name}`: {i}: fmsg numbers are unsigned"))
        }
        other => Err(format!(
            "`{name}`: a {} has no fmsg form (booleans, unsigned integers, strings, tables, arrays)",
            other.type_str()
        )),
    }
}
