//! `object-new`, `object-set`, `object-del`: the objects of a family served
//! from its spec ([`crate::driver::served`]) changed as its hardware would
//! change them, whatever the family's own ops allow; each change is
//! announced with the family's own notification.

use super::required;
use crate::driver::served::ops::{announce, describe, key_of, Change};
use crate::driver::served::store::{canonical, Attrs};
use crate::kernel::genl::{Context, HandlerError, Request};
use crate::simulator::Simulator;
use simdev_protocol::policy::errno;
use simdev_protocol::simdev::dev_attr;
use simdev_protocol::wire::Attr;
use simdev_ynl::Family;

/// The served family and attribute set a request names.
fn target(sim: &Simulator, request: &Request<'_>) -> Result<(u16, &'static Family, String), HandlerError> {
    let name_attr = required(request, dev_attr::FAMILY_NAME)?;
    let name = name_attr.string().unwrap_or_default();
    let registered = sim.families.by_name(name).and_then(|f| sim.served.get(f.id).map(|s| (f.id, s.ynl)));
    let Some((id, family)) = registered else {
        let served: Vec<&str> = sim.served.iter().map(|(_, f)| f.ynl.name.as_str()).collect();
        let list = if served.is_empty() { "none".to_string() } else { served.join(", ") };
        return Err(HandlerError::at(
            errno::ENOENT,
            format!("no family {name} is served from a spec (served: {list})"),
            &name_attr,
        ));
    };
    let set_attr = required(request, dev_attr::OBJECT_SET)?;
    let set = set_attr.string().unwrap_or_default();
    if family.attr_set(set).is_none() {
        return Err(HandlerError::at(errno::EINVAL, format!("{name} has no attribute set {set}"), &set_attr));
    }
    Ok((id, family, set.to_string()))
}

/// A JSON attribute's object, in the store's form.
fn json_attrs<'a>(
    request: &Request<'a>,
    kind: u16,
    family: &Family,
    set: &str,
) -> Result<(Attrs, Attr<'a>), HandlerError> {
    let attr = required(request, kind)?;
    let text = attr.string().unwrap_or_default();
    let what = if kind == dev_attr::OBJECT_KEY { "object-key" } else { "object-attrs" };
    let attrs: Attrs = serde_json::from_str(text)
        .map_err(|e| HandlerError::at(errno::EINVAL, format!("{what}: not a JSON object ({e})"), &attr))?;
    let attrs =
        canonical(family, set, &attrs).map_err(|e| HandlerError::at(errno::EINVAL, format!("{what}: {e}"), &attr))?;
    Ok((attrs, attr))
}

pub fn new(sim: &mut Simulator, _ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let (id, family, set) = target(sim, request)?;
    let (attrs, attr) = json_attrs(request, dev_attr::OBJECT_ATTRS, family, &set)?;
    let key =
        key_of(family, &set, &attrs).map_err(|missing| HandlerError::at(errno::EINVAL, missing.message, &attr))?;
    let store = &mut sim.served.get_mut(id).expect("served").store;
    if store.find(&set, &key).is_some() {
        return Err(HandlerError::at(errno::EEXIST, format!("a {set} object with {} exists", describe(&key)), &attr));
    }
    let object = store.insert(&set, attrs).clone();
    announce(sim, id, &set, Change::Created, &object);
    Ok(None)
}

pub fn set(sim: &mut Simulator, _ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let (id, family, set) = target(sim, request)?;
    let (key, key_attr) = json_attrs(request, dev_attr::OBJECT_KEY, family, &set)?;
    let (attrs, _) = json_attrs(request, dev_attr::OBJECT_ATTRS, family, &set)?;
    let store = &mut sim.served.get_mut(id).expect("served").store;
    let not_found = || HandlerError::at(errno::ENOENT, format!("no {set} object with {}", describe(&key)), &key_attr);
    let object = store.find_mut(&set, &key).ok_or_else(not_found)?;
    object.attrs.extend(attrs);
    let object = object.clone();
    announce(sim, id, &set, Change::Changed, &object);
    Ok(None)
}

pub fn del(sim: &mut Simulator, _ctx: &mut Context, request: &Request<'_>) -> Result<Option<Vec<u8>>, HandlerError> {
    let (id, family, set) = target(sim, request)?;
    let (key, key_attr) = json_attrs(request, dev_attr::OBJECT_KEY, family, &set)?;
    let store = &mut sim.served.get_mut(id).expect("served").store;
    let not_found = || HandlerError::at(errno::ENOENT, format!("no {set} object with {}", describe(&key)), &key_attr);
    let object = store.remove(&set, &key).ok_or_else(not_found)?;
    announce(sim, id, &set, Change::Deleted, &object);
    Ok(None)
}
