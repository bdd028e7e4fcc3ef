//! The kernel's `devlink` family: the commands simdev drives a netdevsim
//! device with, and `genl-client --kernel devlink` shows. Instances are
//! named by a handle `BUS/DEVICE` (`netdevsim/netdevsim3`), as in the
//! `devlink` tool. Numbers are those of `include/uapi/linux/devlink.h`
//! (ABI: they never change); the simulator's devlink personality writes
//! what devlink's spec does not describe with them too.

use crate::client::{Client, Reply, Target};
use crate::error::{Error, Result};
use simdev_protocol::ctrl::FamilyInfo;
use simdev_protocol::wire::{Attrs, Message, MessageBuilder, NLM_F_DUMP};
use std::fmt;

pub const FAMILY_NAME: &str = "devlink";
pub const VERSION: u8 = 1;
/// The multicast group flash status notifications go to.
pub const GROUP_CONFIG: &str = "config";

/// `enum devlink_command`.
pub mod cmd {
    pub const GET: u8 = 1;
    pub const NEW: u8 = 3;
    pub const DEL: u8 = 4;
    pub const PORT_NEW: u8 = 7;
    pub const PORT_DEL: u8 = 8;
    pub const RELOAD: u8 = 37;
    pub const PARAM_NEW: u8 = 40;
    pub const PARAM_DEL: u8 = 41;
    pub const REGION_NEW: u8 = 44;
    pub const REGION_DEL: u8 = 45;
    pub const INFO_GET: u8 = 51;
    pub const HEALTH_REPORTER_RECOVER: u8 = 54;
    pub const HEALTH_REPORTER_DIAGNOSE: u8 = 55;
    /// Also the "flash begins" notification.
    pub const FLASH_UPDATE: u8 = 58;
    pub const FLASH_UPDATE_END: u8 = 59;
    pub const FLASH_UPDATE_STATUS: u8 = 60;
    pub const TRAP_NEW: u8 = 63;
    pub const TRAP_DEL: u8 = 64;
    pub const TRAP_GROUP_NEW: u8 = 67;
    pub const TRAP_GROUP_DEL: u8 = 68;
    pub const TRAP_POLICER_NEW: u8 = 71;
    pub const TRAP_POLICER_DEL: u8 = 72;
}

/// `enum devlink_attr`.
pub mod attr {
    pub const BUS_NAME: u16 = 1;
    pub const DEV_NAME: u16 = 2;
    pub const PORT_INDEX: u16 = 3;
    pub const PARAM: u16 = 80;
    pub const PARAM_NAME: u16 = 81;
    pub const PARAM_GENERIC: u16 = 82;
    pub const PARAM_TYPE: u16 = 83;
    pub const PARAM_VALUES_LIST: u16 = 84;
    pub const PARAM_VALUE: u16 = 85;
    pub const PARAM_VALUE_DATA: u16 = 86;
    pub const PARAM_VALUE_CMODE: u16 = 87;
    pub const REGION_NAME: u16 = 88;
    pub const REGION_SNAPSHOTS: u16 = 90;
    pub const REGION_SNAPSHOT: u16 = 91;
    pub const REGION_SNAPSHOT_ID: u16 = 92;
    pub const REGION_CHUNKS: u16 = 93;
    pub const REGION_CHUNK: u16 = 94;
    pub const REGION_CHUNK_DATA: u16 = 95;
    pub const REGION_CHUNK_ADDR: u16 = 96;
    pub const REGION_CHUNK_LEN: u16 = 97;
    pub const INFO_DRIVER_NAME: u16 = 98;
    pub const INFO_SERIAL_NUMBER: u16 = 99;
    pub const INFO_VERSION_FIXED: u16 = 100;
    pub const INFO_VERSION_RUNNING: u16 = 101;
    pub const INFO_VERSION_STORED: u16 = 102;
    pub const INFO_VERSION_NAME: u16 = 103;
    pub const INFO_VERSION_VALUE: u16 = 104;
    pub const FMSG: u16 = 106;
    pub const FMSG_OBJ_NEST_START: u16 = 107;
    pub const FMSG_PAIR_NEST_START: u16 = 108;
    pub const FMSG_ARR_NEST_START: u16 = 109;
    pub const FMSG_NEST_END: u16 = 110;
    pub const FMSG_OBJ_NAME: u16 = 111;
    pub const FMSG_OBJ_VALUE_TYPE: u16 = 112;
    pub const FMSG_OBJ_VALUE_DATA: u16 = 113;
    pub const HEALTH_REPORTER: u16 = 114;
    pub const HEALTH_REPORTER_NAME: u16 = 115;
    pub const HEALTH_REPORTER_STATE: u16 = 116;
    pub const HEALTH_REPORTER_ERR_COUNT: u16 = 117;
    pub const HEALTH_REPORTER_RECOVER_COUNT: u16 = 118;
    pub const HEALTH_REPORTER_DUMP_TS: u16 = 119;
    pub const HEALTH_REPORTER_GRACEFUL_PERIOD: u16 = 120;
    pub const HEALTH_REPORTER_AUTO_RECOVER: u16 = 121;
    pub const FLASH_UPDATE_FILE_NAME: u16 = 122;
    pub const FLASH_UPDATE_COMPONENT: u16 = 123;
    pub const FLASH_UPDATE_STATUS_MSG: u16 = 124;
    pub const FLASH_UPDATE_STATUS_DONE: u16 = 125;
    pub const FLASH_UPDATE_STATUS_TOTAL: u16 = 126;
    pub const TRAP_NAME: u16 = 130;
    pub const TRAP_GROUP_NAME: u16 = 135;
    pub const HEALTH_REPORTER_DUMP_TS_NS: u16 = 137;
    pub const HEALTH_REPORTER_AUTO_DUMP: u16 = 141;
    pub const TRAP_POLICER_ID: u16 = 142;
    pub const FLASH_UPDATE_STATUS_TIMEOUT: u16 = 151;
    pub const RELOAD_ACTION: u16 = 153;
    pub const RELOAD_LIMITS: u16 = 155;
    pub const REGION_DIRECT: u16 = 179;
}

/// `DEVLINK_RELOAD_ACTION_DRIVER_REINIT`: what `devlink dev reload` does by default.
pub const RELOAD_ACTION_DRIVER_REINIT: u8 = 1;
/// `DEVLINK_RELOAD_ACTION_FW_ACTIVATE`: run the firmware flashed last.
pub const RELOAD_ACTION_FW_ACTIVATE: u8 = 2;

/// A devlink instance: bus name and device name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle {
    pub bus: String,
    pub dev: String,
}

impl Handle {
    pub fn new(bus: &str, dev: &str) -> Self {
        Handle { bus: bus.to_string(), dev: dev.to_string() }
    }

    fn encode(&self, out: &mut MessageBuilder) {
        out.put_str(attr::BUS_NAME, &self.bus).put_str(attr::DEV_NAME, &self.dev);
    }

    fn decode(attrs: &Attrs<'_>) -> Option<Self> {
        Some(Handle::new(attrs.get(attr::BUS_NAME)?.string()?, attrs.get(attr::DEV_NAME)?.string()?))
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.bus, self.dev)
    }
}

impl std::str::FromStr for Handle {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.split_once('/') {
            Some((bus, dev)) if !bus.is_empty() && !dev.is_empty() && !dev.contains('/') => Ok(Handle::new(bus, dev)),
            _ => Err(Error::Usage(format!("`{text}` is not a devlink handle (BUS/DEVICE, e.g. netdevsim/netdevsim1)"))),
        }
    }
}

/// `devlink dev info`: driver and versions, each `(name, value)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Info {
    #[serde(skip)]
    pub handle: Handle,
    pub driver: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    pub fixed: Vec<(String, String)>,
    pub running: Vec<(String, String)>,
    pub stored: Vec<(String, String)>,
}

impl Info {
    fn decode(reply: &Reply) -> Result<Self> {
        let message = reply.message();
        let attrs = message.genl_attrs(0);
        let handle = Handle::decode(&attrs).ok_or_else(|| Error::Protocol("devlink info without a handle".into()))?;
        let versions = |kind: u16| -> Vec<(String, String)> {
            attrs
                .clone()
                .filter(|a| a.kind() == kind)
                .filter_map(|a| {
                    let nested = a.nested();
                    let name = nested.get(attr::INFO_VERSION_NAME)?.string()?.to_string();
                    let value = nested.get(attr::INFO_VERSION_VALUE)?.string()?.to_string();
                    Some((name, value))
                })
                .collect()
        };
        let string = |kind: u16| attrs.get(kind).and_then(|a| a.string()).map(str::to_string);
        Ok(Info {
            driver: string(attr::INFO_DRIVER_NAME).unwrap_or_default(),
            serial_number: string(attr::INFO_SERIAL_NUMBER),
            fixed: versions(attr::INFO_VERSION_FIXED),
            running: versions(attr::INFO_VERSION_RUNNING),
            stored: versions(attr::INFO_VERSION_STORED),
            handle,
        })
    }
}

/// One flash notification: begin, a status, or end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashNotification {
    pub handle: Handle,
    pub kind: FlashEvent,
    pub message: Option<String>,
    pub component: Option<String>,
    pub done: u64,
    pub total: u64,
    /// Seconds the driver may stay silent in this step.
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashEvent {
    Begin,
    Status,
    End,
}

impl FlashNotification {
    /// Decodes a devlink flash notification; `None` for other messages.
    pub fn decode(message: &Message<'_>, devlink_id: u16) -> Option<Self> {
        if message.header.ty != devlink_id {
            return None;
        }
        let kind = match message.genl_header()?.cmd {
            cmd::FLASH_UPDATE => FlashEvent::Begin,
            cmd::FLASH_UPDATE_STATUS => FlashEvent::Status,
            cmd::FLASH_UPDATE_END => FlashEvent::End,
            _ => return None,
        };
        let attrs = message.genl_attrs(0);
        let string = |kind: u16| attrs.get(kind).and_then(|a| a.string()).map(str::to_string);
        let number = |kind: u16| attrs.get(kind).and_then(|a| a.uint());
        Some(FlashNotification {
            handle: Handle::decode(&attrs)?,
            kind,
            message: string(attr::FLASH_UPDATE_STATUS_MSG),
            component: string(attr::FLASH_UPDATE_COMPONENT),
            done: number(attr::FLASH_UPDATE_STATUS_DONE).unwrap_or(0),
            total: number(attr::FLASH_UPDATE_STATUS_TOTAL).unwrap_or(0),
            timeout: number(attr::FLASH_UPDATE_STATUS_TIMEOUT),
        })
    }
}

/// A client of the kernel's devlink family (in the network namespace its
/// socket was opened in: devlink instances belong to one).
pub struct Devlink {
    client: Client,
    family: FamilyInfo,
}

impl Devlink {
    /// Resolves the family on `client`: the kernel's, or the one a
    /// simulator serves from the kernel's spec.
    pub fn new(mut client: Client) -> Result<Self> {
        let target = client.target();
        let family = client.resolve_family(FAMILY_NAME).map_err(|e| match (e, target) {
            (Error::FamilyNotFound(_), Target::Kernel) => Error::FamilyNotFound(format!(
                "{FAMILY_NAME} (this kernel has no devlink: CONFIG_NET_DEVLINK is off or no driver uses it)"
            )),
            (Error::FamilyNotFound(_), Target::Simulator { .. }) => Error::FamilyNotFound(format!(
                "{FAMILY_NAME} (the simulator does not serve it: add [[family]] spec = \"devlink\" to its configuration)"
            )),
            (e, _) => e,
        })?;
        Ok(Devlink { client, family })
    }

    pub fn family(&self) -> &FamilyInfo {
        &self.family
    }

    /// The number of a multicast group, for [`crate::client::Subscription`].
    pub fn group(&self, name: &str) -> Option<u32> {
        self.family.mcast_groups.iter().find(|g| g.name == name).map(|g| g.id)
    }

    fn request(&mut self, command: u8, flags: u16) -> MessageBuilder {
        self.client.new_request(self.family.id, command, VERSION, flags)
    }

    /// Every instance (`devlink dev show`).
    pub fn list(&mut self) -> Result<Vec<Handle>> {
        let request = self.request(cmd::GET, NLM_F_DUMP);
        let dump = self.client.dump(request, None)?;
        Ok(dump.parts.iter().filter_map(|p| Handle::decode(&p.message().genl_attrs(0))).collect())
    }

    /// One instance (`devlink dev show HANDLE`): fails if there is none.
    pub fn get(&mut self, handle: &Handle) -> Result<Handle> {
        let mut request = self.request(cmd::GET, 0);
        handle.encode(&mut request);
        let replies = self.client.execute(request, None)?;
        let reply = replies.first().ok_or_else(|| Error::Protocol("GET without a reply".into()))?;
        Handle::decode(&reply.message().genl_attrs(0)).ok_or_else(|| Error::Protocol("GET without a handle".into()))
    }

    /// `devlink dev info` of one instance.
    pub fn info(&mut self, handle: &Handle) -> Result<Info> {
        let mut request = self.request(cmd::INFO_GET, 0);
        handle.encode(&mut request);
        let replies = self.client.execute(request, None)?;
        Info::decode(replies.first().ok_or_else(|| Error::Protocol("INFO_GET without a reply".into()))?)
    }

    /// `devlink dev info` of every instance.
    pub fn info_all(&mut self) -> Result<Vec<Info>> {
        let request = self.request(cmd::INFO_GET, NLM_F_DUMP);
        self.client.dump(request, None)?.parts.iter().map(Info::decode).collect()
    }

    /// `devlink dev reload` (driver re-initialisation).
    pub fn reload(&mut self, handle: &Handle) -> Result<()> {
        let mut request = self.request(cmd::RELOAD, 0);
        handle.encode(&mut request);
        request.put_u8(attr::RELOAD_ACTION, RELOAD_ACTION_DRIVER_REINIT);
        self.client.execute(request, None).map(drop)
    }

    /// `devlink dev flash HANDLE file FILE`: returns when the driver is done
    /// (status notifications go to the `config` group meanwhile).
    pub fn flash(&mut self, handle: &Handle, file: &str) -> Result<()> {
        let mut request = self.request(cmd::FLASH_UPDATE, 0);
        handle.encode(&mut request);
        request.put_str(attr::FLASH_UPDATE_FILE_NAME, file);
        self.client.execute(request, None).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simdev_protocol::wire::split_messages;

    #[test]
    fn handles_parse_and_print_like_the_devlink_tool() {
        let handle: Handle = "netdevsim/netdevsim3".parse().unwrap();
        assert_eq!(handle, Handle::new("netdevsim", "netdevsim3"));
        assert_eq!(handle.to_string(), "netdevsim/netdevsim3");
        for bad in ["netdevsim", "/netdevsim1", "netdevsim/", "a/b/c"] {
            assert!(bad.parse::<Handle>().is_err(), "{bad}");
        }
    }

    /// A status notification as `devlink_nl_flash_update_fill` builds it.
    fn status_notification(family: u16, cmd: u8, dev: &str, done: u64, total: u64) -> Vec<u8> {
        let mut m = MessageBuilder::genl(family, 0, 0, 0, cmd, VERSION);
        Handle::new("netdevsim", dev).encode(&mut m);
        m.put_str(attr::FLASH_UPDATE_STATUS_MSG, "Flashing")
            .put_str(attr::FLASH_UPDATE_COMPONENT, "fw.mgmt")
            .put_u64(attr::FLASH_UPDATE_STATUS_DONE, done)
            .put_u64(attr::FLASH_UPDATE_STATUS_TOTAL, total);
        m.finish()
    }

    #[test]
    fn flash_notifications_decode_and_others_are_ignored() {
        let bytes = status_notification(0x15, cmd::FLASH_UPDATE_STATUS, "netdevsim1", 1000, 500000);
        let message = split_messages(&bytes).next().unwrap();
        let n = FlashNotification::decode(&message, 0x15).unwrap();
        assert_eq!(n.handle.to_string(), "netdevsim/netdevsim1");
        assert_eq!((n.kind, n.done, n.total), (FlashEvent::Status, 1000, 500000));
        assert_eq!((n.message.as_deref(), n.component.as_deref()), (Some("Flashing"), Some("fw.mgmt")));
        assert!(FlashNotification::decode(&message, 0x16).is_none(), "another family's message");
        let other = status_notification(0x15, cmd::INFO_GET, "netdevsim1", 0, 0);
        assert!(FlashNotification::decode(&split_messages(&other).next().unwrap(), 0x15).is_none());
    }
}
