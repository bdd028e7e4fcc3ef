//! Families served from their YNL specs (`[[family]]` in the
//! configuration): a simulated driver for a family that has no driver
//! here, with the kernel's validation (the spec's policies, by the
//! generator's rules) and generic semantics over a store of objects
//! ([`store`], [`ops`]).
//!
//! [`load`] reads each family's spec, checks its objects against it and
//! makes its registry entry; [`ServedFamilies`] holds the stores while the
//! simulator runs, by family id.

pub mod devlink;
pub mod ops;
pub mod personality;
pub mod store;

use crate::config::{FamilyConfig, Source};
use crate::driver::model::faults::{check_served_fault, Faults};
use crate::kernel::families::FamilyOps;
use crate::kernel::genl::Handlers;
use simdev_protocol::family::FamilySpec;
use simdev_ynl::Family;
use std::path::PathBuf;
use store::Store;

/// A served family: its spec, its kernel definition and its objects.
#[derive(Debug)]
pub struct ServedFamily {
    pub ynl: &'static Family,
    pub spec: &'static FamilySpec,
    pub ops: &'static FamilyOps,
    pub store: Store,
    pub not_found: NotFound,
    /// Its dumps' messages carry `NLM_F_MULTI`.
    pub dump_multi: bool,
    /// Programs under `genl-client exec` see it in place of the kernel's
    /// family of its name (`shadow = true`).
    pub shadow: bool,
    /// Faults injected on its ops.
    pub faults: Faults,
    /// Its driver code, for the objects it computes (devlink's).
    pub personality: Option<&'static dyn personality::Personality>,
    /// Requests answered when a device's work ends: (device, token).
    pub waiting: Vec<(u32, u64)>,
}

impl std::fmt::Debug for dyn personality::Personality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Personality")
    }
}

/// How a request for an object that does not exist is answered.
#[derive(Debug, Clone, Copy)]
pub struct NotFound {
    /// Positive errno.
    pub errno: i32,
    /// With a message and the key attribute's offset.
    pub extack: bool,
}

/// The served families, by the id each was registered with.
#[derive(Debug, Default)]
pub struct ServedFamilies {
    families: Vec<(u16, ServedFamily)>,
}

impl ServedFamilies {
    pub fn new(families: Vec<(u16, ServedFamily)>) -> Self {
        ServedFamilies { families }
    }

    pub fn get(&self, id: u16) -> Option<&ServedFamily> {
        self.families.iter().find(|(i, _)| *i == id).map(|(_, f)| f)
    }

    pub fn get_mut(&mut self, id: u16) -> Option<&mut ServedFamily> {
        self.families.iter_mut().find(|(i, _)| *i == id).map(|(_, f)| f)
    }

    pub fn iter(&self) -> impl Iterator<Item = &(u16, ServedFamily)> {
        self.families.iter()
    }
}

/// The file a `spec` value names: a path (it has a `/` or ends in
/// `.yaml`; relative to the configuration's directory), or a kernel spec
/// by name.
fn spec_path(spec: &str, source: &Source) -> Result<PathBuf, String> {
    if spec.contains('/') || spec.ends_with(".yaml") {
        let path = source.directory().join(spec);
        return if path.is_file() { Ok(path) } else { Err(format!("{}: no such file", path.display())) };
    }
    simdev_ynl::specs::find(spec)
}

/// The registry entry of every served family: any command, generic handlers.
fn handlers(_command: u8) -> Option<Handlers> {
    Some(Handlers { do_: Some(ops::do_), dump: Some(ops::DUMP) })
}

/// Families the simulator has whatever the configuration says.
const OWN_FAMILIES: [&str; 2] = [simdev_protocol::simdev::FAMILY_NAME, simdev_protocol::ctrl::CTRL_FAMILY.name];

/// Reads the specs of the configured families and checks their objects;
/// errors name the configuration's line.
pub fn load(
    configs: &[FamilyConfig],
    source: &Source,
    seed: u64,
) -> Result<Vec<ServedFamily>, crate::config::ConfigError> {
    let mut families: Vec<ServedFamily> = Vec::new();
    for config in configs {
        let at = |message: String| source.error(config.spec.span(), format!("family.spec: {message}"));
        let name = config.spec.get_ref();
        let path = spec_path(name, source).map_err(at)?;
        let text = std::fs::read_to_string(&path).map_err(|e| at(format!("{}: {e}", path.display())))?;
        let ynl = Family::from_yaml(&text).map_err(|e| at(format!("{}: {e}", path.display())))?;
        if OWN_FAMILIES.contains(&ynl.name.as_str()) {
            return Err(at(format!("family {} is the simulator's own", ynl.name)));
        }
        if families.iter().any(|f| f.ynl.name == ynl.name) {
            return Err(at(format!("family {} is served twice", ynl.name)));
        }
        let personality = personality::of(&ynl.name);
        let mut ynl = ynl;
        let configured = config.groups.iter().map(String::as_str);
        for group in personality.map_or(&[][..], |p| p.groups()).iter().copied().chain(configured) {
            if !ynl.mcast_groups.iter().any(|g| g.name == group) {
                ynl.mcast_groups.push(simdev_ynl::McastGroup { name: group.to_string(), value: None });
            }
        }
        let ynl: &'static Family = Box::leak(Box::new(ynl));
        let spec = simdev_protocol::served::family_spec(ynl)
            .map_err(|e| at(format!("family {} cannot be served: {e}", ynl.name)))?;
        let spec: &'static FamilySpec = match config.resv_start_op {
            Some(resv_start_op) => Box::leak(Box::new(FamilySpec { resv_start_op, ..*spec })),
            None => spec,
        };
        let ops: &'static FamilyOps =
            Box::leak(Box::new(FamilyOps { spec, handlers, pre_doit: None, post_doit: None }));
        let not_found = match &config.not_found {
            None => personality.map_or(NotFound { errno: libc::ENOENT, extack: true }, |p| p.not_found()),
            Some(how) => NotFound {
                errno: how.errno.get_ref().value().ok_or_else(|| {
                    let message = format!("family.not-found.errno: {} is not an errno", how.errno.get_ref());
                    source.error(how.errno.span(), message)
                })?,
                extack: how.extack,
            },
        };
        let mut store = Store::default();
        for object in &config.objects {
            let located = |message: String| source.error(object.span(), format!("family.object: {message}"));
            store.insert_config(ynl, object.get_ref()).map_err(located)?;
        }
        for fault in &config.faults {
            fault.validate_values("family.fault").map_err(|(span, message)| source.error(span, message))?;
            check_served_fault(&fault.to_info(), spec).map_err(|why| {
                source
                    .error(fault.command.span(), format!("family.fault `{}`: {}", fault.command.get_ref(), why.message))
            })?;
        }
        let faults = Faults::from_config(&config.faults, seed);
        families.push(ServedFamily {
            ynl,
            spec,
            ops,
            store,
            not_found,
            dump_multi: config.dump_multi,
            shadow: config.shadow,
            faults,
            personality,
            waiting: Vec::new(),
        });
    }
    Ok(families)
}
