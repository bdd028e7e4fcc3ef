//! From a parsed command line to what runs: most commands are one simdev
//! request ([`Call`]); the controller commands, `fw flash` (which follows
//! the flash), `monitor` and the YNL grammar beyond one simdev request run
//! their own way.

use super::dev::{device_toml, parse_set};
use super::fault::parse_fault;
use super::hw::parse_port_set;
use crate::cli::{
    parse_u64, BatchCommand, ClockCommand, CtrlCommand, DevCommand, DevlinkCommand, EthtoolCommand, FamilyCommand,
    FaultCommand, FwCommand, Object, PortCommand, RegCommand, SensorCommand, StatsCommand, YnlArgs,
};
use crate::simdev::{Call, FwImage, ObjectTarget};
use simdev_netlink::error::{Error, Result};
use simdev_protocol::simdev::DevSelector;

pub enum Action<'a> {
    Call(Call),
    Ctrl(&'a CtrlCommand),
    Devlink(&'a DevlinkCommand),
    Ethtool(&'a EthtoolCommand),
    FwFlash(DevSelector, FwImage),
    /// The groups, and whether to print timestamps.
    Monitor(&'a [String], bool),
    /// The YNL grammar, run as `genl-client` runs it alone.
    Ynl(&'a YnlArgs, simdev_ynl::Family),
    /// A capture to print, and the specs given for it.
    Decode(&'a [std::path::PathBuf], &'a [std::path::PathBuf]),
    /// A program to run in genl-client's place.
    Exec {
        shadow: &'a [String],
        pcap: Option<&'a std::path::Path>,
        command: &'a [std::ffi::OsString],
    },
}

/// A batch line: OBJECT COMMAND, or the YNL grammar. A do or dump of the
/// built-in simdev spec is one request (pipelined like the friendly
/// commands); the rest of the YNL grammar (another family or spec file,
/// `--subscribe`, `--list-ops`) runs on its own.
pub fn plan_line(line: &BatchCommand) -> Result<Action<'_>> {
    let usage = |text: &str| Err(Error::Usage(text.into()));
    let ynl = &line.ynl;
    match (&line.object, ynl.used()) {
        (Some(_), true) => usage("give either OBJECT COMMAND or the YNL grammar (--family/--spec ...), not both"),
        (Some(object), false) => plan(object),
        (None, false) => usage("give a command: OBJECT COMMAND, or the YNL grammar (--family/--spec ...)"),
        (None, true) => {
            let built_in = ynl.family.as_deref() == Some(simdev_protocol::simdev::FAMILY_NAME) && ynl.spec.is_none();
            let one_request = ynl.subscribe.is_none() && !ynl.list_ops && !ynl.process_unknown;
            let op = ynl.do_op.as_ref().map(|op| (op, false)).or(ynl.dump_op.as_ref().map(|op| (op, true)));
            match op {
                Some((op, dump)) if built_in && one_request => {
                    Ok(Action::Call(Call::by_spec(op, dump, super::ynl::request_json(ynl)?)?))
                }
                _ => Ok(Action::Ynl(ynl, super::ynl::check(ynl)?)),
            }
        }
    }
}

pub fn plan(object: &Object) -> Result<Action<'_>> {
    let dev = |text: &String| DevSelector::parse(text);
    let usage = Error::Usage;
    Ok(Action::Call(match object {
        Object::Ctrl { command } => return Ok(Action::Ctrl(command)),
        Object::Devlink { command } => return Ok(Action::Devlink(command)),
        Object::Ethtool { command } => return Ok(Action::Ethtool(command)),
        Object::Monitor { groups, timestamp } => return Ok(Action::Monitor(groups, *timestamp)),
        Object::Exec { shadow, pcap, command } => return Ok(Action::Exec { shadow, pcap: pcap.as_deref(), command }),
        Object::Decode { files, specs } => return Ok(Action::Decode(files, specs)),
        Object::Fw { command: FwCommand::Flash { dev: d, image } } => {
            let image = match image.as_slice() {
                [version] => FwImage::Version(version.clone()),
                [keyword, file] if keyword == "file" => FwImage::File(file.clone()),
                _ => return Err(usage("fw flash DEV VERSION, or fw flash DEV file NAME".into())),
            };
            return Ok(Action::FwFlash(dev(d), image));
        }
        Object::Fw { command: FwCommand::Show { dev: d } } => Call::FwShow(dev(d)),
        Object::Dev { command } => match command {
            DevCommand::List => Call::DevList,
            DevCommand::Show { dev: d } => Call::DevGet(dev(d)),
            DevCommand::Add { name, args } => Call::DevNew(device_toml(name, args).map_err(usage)?),
            DevCommand::Del { dev: d } => Call::DevDel(dev(d)),
            DevCommand::Set { dev: d, args } => Call::DevSet(parse_set(dev(d), args).map_err(usage)?),
            DevCommand::Reset { dev: d } => Call::DevReset(dev(d)),
            DevCommand::HealthReport { dev: d, reporter, message } => {
                Call::HealthReport(dev(d), reporter.clone(), message.clone())
            }
        },
        Object::Port { command } => match command {
            PortCommand::List { dev: d } => Call::PortList(d.as_ref().map(dev)),
            PortCommand::Set { dev: d, index, args } => {
                Call::PortSet(dev(d), *index, parse_port_set(args).map_err(usage)?)
            }
            PortCommand::Led { dev: d, index, state } => Call::PortLed(dev(d), *index, state.clone()),
            PortCommand::Flap { dev: d, index, duration_ms } => Call::PortFlap(dev(d), *index, *duration_ms),
        },
        Object::Reg { command } => match command {
            RegCommand::List { dev: d } => Call::RegList(Some(dev(d))),
            RegCommand::Read { dev: d, reg } => Call::RegRead(dev(d), reg.clone()),
            RegCommand::Write { dev: d, reg, value } => {
                let number = parse_u64(value).map_err(|_| Error::Usage(format!("`{value}` is not a number")))?;
                Call::RegWrite(dev(d), reg.clone(), number)
            }
        },
        Object::Sensor { command } => match command {
            SensorCommand::List { dev: d } => Call::SensorList(Some(dev(d))),
            SensorCommand::Set { dev: d, sensor, value } => Call::SensorSet(dev(d), sensor.clone(), *value),
        },
        Object::Stats { command: StatsCommand::Show { dev: d } } => Call::Stats(dev(d)),
        Object::Clock { command: ClockCommand::Show } => Call::ClockShow,
        Object::Clock { command: ClockCommand::Advance { duration_ms } } => Call::ClockAdvance(*duration_ms),
        Object::Family { name, command } => {
            let json = |what: &str, text: &str| {
                serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .filter(serde_json::Value::is_object)
                    .map(|_| text.to_string())
                    .ok_or_else(|| usage(format!("{what} `{text}` is not a JSON object")))
            };
            let target = |set: &String| ObjectTarget { family: name.clone(), set: set.clone() };
            match command {
                FamilyCommand::New { set, attrs } => Call::ObjectNew(target(set), json("attributes", attrs)?),
                FamilyCommand::Set { set, key, attrs } => {
                    Call::ObjectSet(target(set), json("key", key)?, json("attributes", attrs)?)
                }
                FamilyCommand::Del { set, key } => Call::ObjectDel(target(set), json("key", key)?),
            }
        }
        Object::Fault { command } => match command {
            FaultCommand::List { dev: d } => Call::FaultList(dev(d)),
            FaultCommand::Set { dev: d, command, args } => {
                Call::FaultSet(dev(d), parse_fault(command, args).map_err(usage)?)
            }
            FaultCommand::Clear { dev: d, command } => Call::FaultClear(dev(d), command.clone()),
        },
    }))
}
