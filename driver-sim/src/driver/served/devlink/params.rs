//! devlink parameters (`param-get`, `param-set`): netdevsim's `max_macs`
//! and `test1` unless the device declares its own (`[[device.param]]`),
//! answered in the form `devlink_nl_param_fill` writes and set by the
//! rules of `devlink_nl_param_set_doit`. The 6.12 spec does not describe
//! a parameter's value list (its data's type varies with the parameter),
//! so the `param` nest is written here, by the uapi's attribute numbers.

use super::wire::{self, attr};
use crate::kernel::genl::{HandlerError, Request};
use simdev_protocol::policy::errno;

/// devlink's generic parameters (`devlink_param_generic`) with their
/// types: a driver's parameter of one of these names is generic, and must
/// have this type.
const GENERIC: &[(&str, ParamType)] = &[
    ("internal_error_reset", ParamType::Bool),
    ("enable_sriov", ParamType::Bool),
    ("region_snapshot_enable", ParamType::Bool),
    ("ignore_ari", ParamType::Bool),
    ("msix_vec_per_pf_max", ParamType::U32),
    ("msix_vec_per_pf_min", ParamType::U32),
    ("fw_load_policy", ParamType::U8),
    ("reset_dev_on_drv_probe", ParamType::U8),
    ("enable_roce", ParamType::Bool),
    ("enable_remote_dev_reset", ParamType::Bool),
    ("enable_eth", ParamType::Bool),
    ("enable_rdma", ParamType::Bool),
    ("enable_vnet", ParamType::Bool),
    ("enable_iwarp", ParamType::Bool),
    ("io_eq_size", ParamType::U32),
    ("event_eq_size", ParamType::U32),
    ("enable_phc", ParamType::Bool),
    ("max_macs", ParamType::U32),
];

/// `enum devlink_param_type`: the netlink attribute type of its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    U8,
    U16,
    U32,
    String,
    Bool,
}

/// The configuration's names of the types, as iproute2 names them.
const TYPE_NAMES: [(ParamType, &str); 5] = [
    (ParamType::U8, "u8"),
    (ParamType::U16, "u16"),
    (ParamType::U32, "u32"),
    (ParamType::String, "string"),
    (ParamType::Bool, "bool"),
];

impl ParamType {
    pub fn parse(name: &str) -> Option<ParamType> {
        TYPE_NAMES.iter().find(|(_, n)| *n == name).map(|(kind, _)| *kind)
    }

    pub fn name(self) -> &'static str {
        TYPE_NAMES.iter().find(|(kind, _)| *kind == self).map(|(_, n)| *n).expect("every type is named")
    }

    /// Its number on the wire (`DEVLINK_PARAM_TYPE_*`, NLA_U8...).
    fn number(self) -> u8 {
        match self {
            ParamType::U8 => 1,
            ParamType::U16 => 2,
            ParamType::U32 => 3,
            ParamType::String => 5,
            ParamType::Bool => 6,
        }
    }
}

/// `enum devlink_param_cmode`, in its order.
pub const CMODES: [&str; 3] = ["runtime", "driverinit", "permanent"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Int(u32),
    String(String),
    Bool(bool),
}

impl ParamValue {
    /// A TOML value as a value of `kind`.
    pub fn from_toml(kind: ParamType, value: &toml::Value) -> Result<ParamValue, String> {
        let max = match kind {
            ParamType::U8 => u64::from(u8::MAX),
            ParamType::U16 => u64::from(u16::MAX),
            ParamType::U32 => u64::from(u32::MAX),
            ParamType::String => {
                let text = value.as_str().ok_or("a string parameter's value is a string")?;
                if text.len() >= 32 {
                    return Err("a string parameter's value is at most 31 bytes".into());
                }
                return Ok(ParamValue::String(text.to_string()));
            }
            ParamType::Bool => {
                return value.as_bool().map(ParamValue::Bool).ok_or("a bool parameter's value is true or false".into())
            }
        };
        match value.as_integer() {
            Some(n) if (0..=max as i64).contains(&n) => Ok(ParamValue::Int(n as u32)),
            _ => Err(format!("the value is an integer in 0..={max}")),
        }
    }
}

/// One parameter of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub kind: ParamType,
    /// Whether devlink knows it by name (`param-generic`).
    pub generic: bool,
    /// Its value in each configuration mode it supports (by `CMODES` index).
    pub values: [Option<ParamValue>; 3],
}

impl Param {
    /// A parameter of `kind` in `cmodes`, every mode at `value`; a name
    /// devlink knows must have devlink's type.
    pub fn new(name: &str, kind: ParamType, cmodes: &[String], value: ParamValue) -> Result<Param, String> {
        let generic = GENERIC.iter().find(|(known, _)| *known == name);
        if let Some((_, own)) = generic.filter(|(_, own)| *own != kind) {
            return Err(format!("{name} is a generic devlink parameter of type {}", own.name()));
        }
        if cmodes.is_empty() {
            return Err("a parameter has at least one cmode (runtime, driverinit, permanent)".into());
        }
        let mut values: [Option<ParamValue>; 3] = Default::default();
        for cmode in cmodes {
            let index = CMODES
                .iter()
                .position(|c| c == cmode)
                .ok_or(format!("no cmode {cmode} (runtime, driverinit, permanent)"))?;
            values[index] = Some(value.clone());
        }
        Ok(Param { name: name.to_string(), kind, generic: generic.is_some(), values })
    }

    /// netdevsim's (`nsim_devlink_params`).
    pub fn netdevsim_defaults() -> Vec<Param> {
        let driverinit = ["driverinit".to_string()];
        vec![
            Param::new("max_macs", ParamType::U32, &driverinit, ParamValue::Int(32)).expect("valid"),
            Param::new("test1", ParamType::Bool, &driverinit, ParamValue::Bool(true)).expect("valid"),
        ]
    }

    /// The `param` nest, as `devlink_nl_param_fill` writes it.
    pub fn nest(&self) -> Vec<u8> {
        wire::raw(|m| {
            m.nest_start_noflag(attr::PARAM).put_str(attr::PARAM_NAME, &self.name);
            if self.generic {
                m.put_flag(attr::PARAM_GENERIC);
            }
            m.put_u8(attr::PARAM_TYPE, self.kind.number());
            m.nest_start_noflag(attr::PARAM_VALUES_LIST);
            for (cmode, value) in self.values.iter().enumerate() {
                let Some(value) = value else { continue };
                m.nest_start_noflag(attr::PARAM_VALUE).put_u8(attr::PARAM_VALUE_CMODE, cmode as u8);
                match (self.kind, value) {
                    (ParamType::U8, ParamValue::Int(n)) => m.put_u8(attr::PARAM_VALUE_DATA, *n as u8),
                    (ParamType::U16, ParamValue::Int(n)) => m.put_u16(attr::PARAM_VALUE_DATA, *n as u16),
                    (ParamType::U32, ParamValue::Int(n)) => m.put_u32(attr::PARAM_VALUE_DATA, *n),
                    (ParamType::String, ParamValue::String(s)) => m.put_str(attr::PARAM_VALUE_DATA, s),
                    (ParamType::Bool, ParamValue::Bool(true)) => m.put_flag(attr::PARAM_VALUE_DATA),
                    _ => m,
                };
                m.nest_end();
            }
            m.nest_end().nest_end();
        })
    }

    /// `devlink_nl_param_set_doit`'s checks and change: the request's
    /// type, value and cmode. A bare `EINVAL` for what is missing or does
    /// not fit, `EOPNOTSUPP` for a cmode the parameter lacks, as the core
    /// answers; the cmode set.
    pub fn set_from(&mut self, request: &Request<'_>) -> Result<usize, HandlerError> {
        let invalid = || HandlerError { errno: errno::EINVAL, ext: Default::default() };
        let kind = request.all(attr::PARAM_TYPE).next().and_then(|a| a.u8()).ok_or_else(invalid)?;
        if kind != self.kind.number() {
            return Err(invalid());
        }
        let data = request.all(attr::PARAM_VALUE_DATA).next();
        let value = match self.kind {
            ParamType::Bool => ParamValue::Bool(data.is_some()),
            ParamType::String => {
                let data = data.ok_or_else(invalid)?;
                let text = data.string().filter(|t| t.len() < 32).ok_or_else(invalid)?;
                ParamValue::String(text.to_string())
            }
            ParamType::U8 | ParamType::U16 | ParamType::U32 => {
                let data = data.ok_or_else(invalid)?;
                let width = match self.kind {
                    ParamType::U8 => 1,
                    ParamType::U16 => 2,
                    _ => 4,
                };
                if data.payload.len() != width {
                    return Err(invalid());
                }
                ParamValue::Int(data.uint().ok_or_else(invalid)? as u32)
            }
        };
        let cmode = request.all(attr::PARAM_VALUE_CMODE).next().and_then(|a| a.u8()).ok_or_else(invalid)? as usize;
        match self.values.get_mut(cmode) {
            Some(slot @ Some(_)) => {
                *slot = Some(value);
                Ok(cmode)
            }
            _ => Err(HandlerError { errno: errno::EOPNOTSUPP, ext: Default::default() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_names_keep_their_types() {
        let driverinit = ["driverinit".to_string()];
        assert!(Param::new("max_macs", ParamType::U32, &driverinit, ParamValue::Int(1)).unwrap().generic);
        assert!(!Param::new("test1", ParamType::Bool, &driverinit, ParamValue::Bool(true)).unwrap().generic);
        assert!(Param::new("max_macs", ParamType::U8, &driverinit, ParamValue::Int(1)).is_err());
        assert!(Param::new("x", ParamType::U8, &[], ParamValue::Int(1)).is_err());
        assert!(Param::new("x", ParamType::U8, &["sometimes".into()], ParamValue::Int(1)).is_err());
    }

    #[test]
    fn values_are_checked_against_their_type() {
        let int = |n: i64| toml::Value::Integer(n);
        assert_eq!(ParamValue::from_toml(ParamType::U8, &int(255)), Ok(ParamValue::Int(255)));
        assert!(ParamValue::from_toml(ParamType::U8, &int(256)).is_err());
        assert!(ParamValue::from_toml(ParamType::U32, &int(-1)).is_err());
        assert!(ParamValue::from_toml(ParamType::Bool, &int(1)).is_err());
        assert!(ParamValue::from_toml(ParamType::String, &toml::Value::String("x".repeat(32))).is_err());
    }

    /// netdevsim's `max_macs` as the kernel writes it (the bytes
    /// netdevsim's answer has in the VM): name, generic, type u32, one
    /// driverinit value of 32.
    #[test]
    fn the_nest_is_the_kernels() {
        let nest = Param::netdevsim_defaults()[0].nest();
        let expected: Vec<u8> = [
            &[56, 0, 80, 0][..],                                                         // param
            &[13, 0, 81, 0, b'm', b'a', b'x', b'_', b'm', b'a', b'c', b's', 0, 0, 0, 0], // name
            &[4, 0, 82, 0],                                                              // generic
            &[5, 0, 83, 0, 3, 0, 0, 0],                                                  // type u32
            &[24, 0, 84, 0],                                                             // values list
            &[20, 0, 85, 0],                                                             // value
            &[5, 0, 87, 0, 1, 0, 0, 0],                                                  // cmode driverinit
            &[8, 0, 86, 0, 32, 0, 0, 0],                                                 // data
        ]
        .concat();
        assert_eq!(nest, expected);
    }
}
