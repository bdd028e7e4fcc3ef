//! A device's register file: named registers at offsets, with widths,
//! reset values and access rules (`ro`, `rw`, `wo`, `w1c`).

use crate::config::{Reflects, RegisterConfig};
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::{Access, RegInfo};

#[derive(Debug, Clone)]
pub struct Register {
    pub name: String,
    pub offset: u32,
    pub width: u8,
    pub access: Access,
    pub reset: u64,
    /// Stored value; ignored when the register reflects hardware state.
    pub value: u64,
    pub reflects: Option<Reflects>,
}

/// Why a register access was refused: errno and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessError {
    pub errno: i32,
    pub message: String,
}

impl Register {
    fn mask(&self) -> u64 {
        if self.width == 64 {
            u64::MAX
        } else {
            (1u64 << self.width) - 1
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RegisterFile {
    registers: Vec<Register>,
}

impl RegisterFile {
    pub fn from_config(configs: &[RegisterConfig]) -> Self {
        RegisterFile {
            registers: configs
                .iter()
                .map(|c| Register {
                    name: c.name.get_ref().clone(),
                    offset: *c.offset.get_ref(),
                    width: *c.width.get_ref(),
                    access: c.access,
                    reset: *c.reset.get_ref(),
                    value: *c.reset.get_ref(),
                    reflects: c.reflects,
                })
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Register> {
        self.registers.iter().find(|r| r.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Register> {
        self.registers.iter()
    }

    /// The value a read returns; `carrier_bits` supplies hardware state for
    /// registers that reflect it.
    pub fn read(&self, name: &str, carrier_bits: impl Fn() -> u64) -> Result<u64, AccessError> {
        let reg = self.lookup(name)?;
        if !reg.access.readable() {
            return Err(AccessError { errno: errno::EACCES, message: format!("register {name} is write-only") });
        }
        Ok(match reg.reflects {
            Some(Reflects::Carrier) => carrier_bits() & reg.mask(),
            None => reg.value,
        })
    }

    /// Writes `value` following the access rules; returns the new value.
    pub fn write(&mut self, name: &str, value: u64) -> Result<u64, AccessError> {
        let reg = self.registers.iter_mut().find(|r| r.name == name).ok_or_else(|| unknown(name))?;
        if value & !reg.mask() != 0 {
            return Err(AccessError {
                errno: errno::ERANGE,
                message: format!("value {value:#x} does not fit register {name} ({} bits)", reg.width),
            });
        }
        reg.value = match reg.access {
            Access::Ro => {
                return Err(AccessError { errno: errno::EACCES, message: format!("register {name} is read-only") })
            }
            Access::Rw | Access::Wo => value,
            // Write-1-to-clear: bits written as 1 clear, the rest stay.
            Access::W1c => reg.value & !value,
        };
        Ok(reg.value)
    }

    /// Sets a register as the hardware would (no access rules): status
    /// bits the device raises itself.
    pub fn set_by_hardware(&mut self, name: &str, value: u64) {
        if let Some(reg) = self.registers.iter_mut().find(|r| r.name == name) {
            reg.value = value & reg.mask();
        }
    }

    /// Every register back to its reset value.
    pub fn reset(&mut self) {
        for reg in &mut self.registers {
            reg.value = reg.reset;
        }
    }

    /// The register as `reg-get` reports it (no value for write-only ones).
    pub fn info(&self, reg: &Register, carrier_bits: impl Fn() -> u64) -> RegInfo {
        RegInfo {
            name: reg.name.clone(),
            offset: reg.offset,
            width: reg.width,
            access: reg.access,
            reset: reg.reset,
            value: self.read(&reg.name, carrier_bits).ok(),
        }
    }

    fn lookup(&self, name: &str) -> Result<&Register, AccessError> {
        self.get(name).ok_or_else(|| unknown(name))
    }
}

fn unknown(name: &str) -> AccessError {
    AccessError { errno: errno::ENOENT, message: format!("no register {name}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DeviceConfig;

    fn file() -> RegisterFile {
        let device = DeviceConfig::parse(
            r#"
name = "r"
[[register]]
name = "ctrl"
offset = 0
reset = 0x10
[[register]]
name = "id"
offset = 4
access = "ro"
reset = 0xabcd
[[register]]
name = "doorbell"
offset = 8
width = 16
access = "wo"
[[register]]
name = "irq"
offset = 12
width = 8
access = "w1c"
reset = 0xff
[[register]]
name = "link"
offset = 16
access = "ro"
reflects = "carrier"
"#,
            "t",
        )
        .unwrap();
        RegisterFile::from_config(&device.registers)
    }

    #[test]
    fn access_rules_are_enforced() {
        let mut regs = file();
        assert_eq!(regs.read("ctrl", || 0), Ok(0x10));
        assert_eq!(regs.write("ctrl", 0x55), Ok(0x55));
        assert_eq!(regs.write("id", 1).unwrap_err().errno, errno::EACCES);
        assert_eq!(regs.read("id", || 0), Ok(0xabcd));
        assert_eq!(regs.write("doorbell", 7), Ok(7));
        assert_eq!(regs.read("doorbell", || 0).unwrap_err().message, "register doorbell is write-only");
        assert_eq!(regs.write("irq", 0x0f), Ok(0xf0), "w1c clears the bits written");
        assert_eq!(regs.write("doorbell", 0x1_0000).unwrap_err().errno, errno::ERANGE);
        assert_eq!(regs.read("nosuch", || 0).unwrap_err().errno, errno::ENOENT);
    }

    #[test]
    fn reset_restores_reset_values_and_reflecting_registers_follow_hardware() {
        let mut regs = file();
        regs.write("ctrl", 1).unwrap();
        regs.write("irq", 0xff).unwrap();
        regs.reset();
        assert_eq!(regs.read("ctrl", || 0), Ok(0x10));
        assert_eq!(regs.read("irq", || 0), Ok(0xff));
        assert_eq!(regs.read("link", || 0b10), Ok(0b10));
        assert_eq!(regs.write("link", 1).unwrap_err().errno, errno::EACCES);
    }
}
