//! From a parsed command line to what runs: most commands are one simdev
//! request ([`Call`]); the controller commands, `fw flash` (which follows
//! the flash) and `monitor` run their own way.

use super::dev::{device_toml, parse_set};
use super::fault::parse_fault;
use super::hw::parse_port_set;
use crate::cli::{
    parse_u64, CtrlCommand, DevCommand, DevlinkCommand, EthtoolCommand, FaultCommand, FwCommand, Object, PortCommand,
    RegCommand, SensorCommand, StatsCommand,
};
use crate::error::{Error, Result};
use crate::simdev::{Call, FwImage};
use simdev_protocol::simdev::DevSelector;

pub enum Action<'a> {
    Call(Call),
    Ctrl(&'a CtrlCommand),
    Devlink(&'a DevlinkCommand),
    Ethtool(&'a EthtoolCommand),
    FwFlash(DevSelector, FwImage),
    Monitor(&'a [String]),
}

pub fn plan(object: &Object) -> Result<Action<'_>> {
    let dev = |text: &String| DevSelector::parse(text);
    let usage = Error::Usage;
    Ok(Action::Call(match object {
        Object::Ctrl { command } => return Ok(Action::Ctrl(command)),
        Object::Devlink { command } => return Ok(Action::Devlink(command)),
        Object::Ethtool { command } => return Ok(Action::Ethtool(command)),
        Object::Monitor { groups } => return Ok(Action::Monitor(groups)),
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
        },
        Object::Port { command } => match command {
            PortCommand::List { dev: d } => Call::PortList(d.as_ref().map(dev)),
            PortCommand::Set { dev: d, index, args } => {
                Call::PortSet(dev(d), *index, parse_port_set(args).map_err(usage)?)
            }
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
        Object::Fault { command } => match command {
            FaultCommand::List { dev: d } => Call::FaultList(dev(d)),
            FaultCommand::Set { dev: d, command, args } => {
                Call::FaultSet(dev(d), parse_fault(command, args).map_err(usage)?)
            }
            FaultCommand::Clear { dev: d, command } => Call::FaultClear(dev(d), command.clone()),
        },
    }))
}
