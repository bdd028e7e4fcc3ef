//! Command handlers, one file per object. [`lookup`] maps a family's
//! command to its handlers; the family table in `protocol` says which
//! commands exist, and a test checks the two agree.

pub mod ctrl;
pub mod dev;

use crate::genl::Handlers;
use simdev_protocol::family::FamilySpec;
use simdev_protocol::{ctrl as nlctrl, simdev};

pub fn lookup(family: &FamilySpec, cmd: u8) -> Option<Handlers> {
    if std::ptr::eq(family, &nlctrl::CTRL_FAMILY) {
        return match cmd {
            nlctrl::cmd::GETFAMILY => Some(Handlers {
                do_: Some(ctrl::get_family),
                dump: Some(ctrl::dump_families),
            }),
            _ => None,
        };
    }
    if std::ptr::eq(family, &simdev::FAMILY) {
        return match cmd {
            simdev::cmd::DEV_GET => Some(Handlers {
                do_: Some(dev::get),
                dump: Some(dev::dump),
            }),
            simdev::cmd::DEV_SET => Some(Handlers {
                do_: Some(dev::set),
                dump: None,
            }),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_command_has_exactly_its_declared_handlers() {
        for family in [&nlctrl::CTRL_FAMILY, &simdev::FAMILY] {
            for command in family.commands {
                let handlers = lookup(family, command.id)
                    .unwrap_or_else(|| panic!("{} has no handlers", command.name));
                assert_eq!(
                    handlers.do_.is_some(),
                    command.has_do,
                    "{} do",
                    command.name
                );
                assert_eq!(
                    handlers.dump.is_some(),
                    command.has_dump,
                    "{} dump",
                    command.name
                );
            }
        }
    }
}
