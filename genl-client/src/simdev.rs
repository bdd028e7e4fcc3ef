//! Typed calls of the `simdev` family: resolve it once through the
//! controller, then get, list and set devices.

use crate::client::{Client, Target};
use crate::error::{Error, Result};
use simdev_protocol::ctrl::FamilyInfo;
use simdev_protocol::simdev::{self, cmd, DevInfo, DevSelector, DevSet, DEV_ATTRS, FAMILY_VERSION};

/// A client bound to the resolved `simdev` family.
pub struct SimdevClient {
    client: Client,
    family: FamilyInfo,
}

impl SimdevClient {
    /// Connects and resolves `simdev` by name through the controller.
    pub fn connect(target: Target) -> Result<Self> {
        let mut client = Client::connect(target)?;
        let family = client.resolve_family(simdev::FAMILY_NAME)?;
        Ok(SimdevClient { client, family })
    }

    /// What the controller said about the family (id, ops, groups).
    pub fn family(&self) -> &FamilyInfo {
        &self.family
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    pub fn dev_get(&mut self, dev: &DevSelector) -> Result<DevInfo> {
        let mut request = self.client.new_request(self.family.id, cmd::DEV_GET, FAMILY_VERSION, 0);
        dev.encode(&mut request);
        let replies = self.client.execute(request, Some(&DEV_ATTRS))?;
        let reply = replies.first().ok_or_else(|| Error::Protocol("dev-get without a reply".into()))?;
        Ok(DevInfo::decode(reply.message().genl_attrs(0))?)
    }

    pub fn dev_list(&mut self) -> Result<Vec<DevInfo>> {
        let request = self.client.new_request(self.family.id, cmd::DEV_GET, FAMILY_VERSION, 0);
        let dump = self.client.dump(request, Some(&DEV_ATTRS))?;
        dump.parts.iter().map(|p| DevInfo::decode(p.message().genl_attrs(0)).map_err(Error::from)).collect()
    }

    /// Applies a change; returns once the simulator (and the kernel behind
    /// it) accepted it.
    pub fn dev_set(&mut self, set: &DevSet) -> Result<()> {
        let mut request = self.client.new_request(self.family.id, cmd::DEV_SET, FAMILY_VERSION, 0);
        set.encode(&mut request);
        self.client.execute(request, Some(&DEV_ATTRS)).map(|_| ())
    }
}
