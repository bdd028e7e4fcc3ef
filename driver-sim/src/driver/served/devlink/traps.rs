//! devlink traps, trap groups and policers: netdevsim's set
//! (`nsim_traps_arr`, `nsim_trap_groups_arr`, `nsim_trap_policers_arr`),
//! each trap's action settable, policers' rate and burst settable within
//! netdevsim's limits. Counters: no packet is ever trapped here (netdevsim
//! reports made-up packets on its trap-action traps every second; the
//! simulator sends none), and each read of a drop counter counts one more,
//! as netdevsim's `trap_drop_counter_get` (one counter for all the traps
//! of a device) and `trap_policer_counter_get` (one per policer) do.

use serde_json::json;

/// A trap: name, type, generic, default action, group, metadata.
struct TrapDef {
    name: &'static str,
    kind: &'static str,
    generic: bool,
    action: &'static str,
    group: &'static str,
    fa_cookie: bool,
}

const fn trap(
    name: &'static str,
    kind: &'static str,
    generic: bool,
    action: &'static str,
    group: &'static str,
) -> TrapDef {
    TrapDef { name, kind, generic, action, group, fa_cookie: false }
}

const TRAPS: &[TrapDef] = &[
    trap("source_mac_is_multicast", "drop", true, "drop", "l2_drops"),
    trap("vlan_tag_mismatch", "drop", true, "drop", "l2_drops"),
    trap("ingress_vlan_filter", "drop", true, "drop", "l2_drops"),
    trap("ingress_spanning_tree_filter", "drop", true, "drop", "l2_drops"),
    trap("port_list_is_empty", "drop", true, "drop", "l2_drops"),
    trap("port_loopback_filter", "drop", true, "drop", "l2_drops"),
    trap("fid_miss", "exception", false, "trap", "l2_drops"),
    trap("blackhole_route", "drop", true, "drop", "l3_drops"),
    trap("ttl_value_is_too_small", "exception", true, "trap", "l3_exceptions"),
    trap("tail_drop", "drop", true, "drop", "buffer_drops"),
    TrapDef { fa_cookie: true, ..trap("ingress_flow_action_drop", "drop", true, "drop", "acl_drops") },
    TrapDef { fa_cookie: true, ..trap("egress_flow_action_drop", "drop", true, "drop", "acl_drops") },
    trap("igmp_query", "control", true, "mirror", "mc_snooping"),
    trap("igmp_v1_report", "control", true, "trap", "mc_snooping"),
];

/// Groups: name and policer (0: none).
const GROUPS: &[(&str, u32)] = &[
    ("l2_drops", 0),
    ("l3_drops", 1),
    ("l3_exceptions", 1),
    ("buffer_drops", 2),
    ("acl_drops", 3),
    ("mc_snooping", 3),
];

/// Policers: id, rate, burst (`NSIM_TRAP_POLICER`), and netdevsim's limits.
const POLICERS: &[(u32, u64, u64)] = &[(1, 1000, 128), (2, 2000, 256), (3, 3000, 512)];
/// netdevsim's limits (`NSIM_TRAP_POLICER_{MIN,MAX}_{RATE,BURST}`).
pub const POLICER_RATE: (u64, u64) = (1, 8000);
pub const POLICER_BURST: (u64, u64) = (8, 65536);

#[derive(Debug, Clone)]
pub struct Traps {
    /// Per trap (in `TRAPS` order): its action.
    actions: Vec<&'static str>,
    /// The drop traps' one counter (netdevsim's `trap_pkt_cnt`).
    drops: u64,
    /// Per group: its policer.
    group_policers: Vec<u32>,
    /// Per policer: rate, burst, drop counter.
    policers: Vec<(u64, u64, u64)>,
}

impl Default for Traps {
    fn default() -> Self {
        Traps {
            actions: TRAPS.iter().map(|t| t.action).collect(),
            drops: 0,
            group_policers: GROUPS.iter().map(|g| g.1).collect(),
            policers: POLICERS.iter().map(|p| (p.1, p.2, 0)).collect(),
        }
    }
}

fn stats(dropped: Option<u64>) -> serde_json::Value {
    let mut stats = serde_json::Map::new();
    if let Some(dropped) = dropped {
        stats.insert("stats-rx-dropped".into(), json!(dropped));
    }
    stats.insert("stats-rx-packets".into(), json!(0));
    stats.insert("stats-rx-bytes".into(), json!(0));
    serde_json::Value::Object(stats)
}

impl Traps {
    pub fn trap_count() -> usize {
        TRAPS.len()
    }

    pub fn group_count() -> usize {
        GROUPS.len()
    }

    pub fn policer_count() -> usize {
        POLICERS.len()
    }

    pub fn trap_index(name: &str) -> Option<usize> {
        TRAPS.iter().position(|t| t.name == name)
    }

    pub fn group_index(name: &str) -> Option<usize> {
        GROUPS.iter().position(|g| g.0 == name)
    }

    pub fn policer_index(id: u32) -> Option<usize> {
        POLICERS.iter().position(|p| p.0 == id)
    }

    /// Trap `index`'s attributes after the handle (`devlink_nl_trap_fill`);
    /// each read of the drop counter counts one more.
    pub fn trap(&mut self, index: usize) -> serde_json::Map<String, serde_json::Value> {
        let def = &TRAPS[index];
        let mut attrs = serde_json::Map::new();
        attrs.insert("trap-group-name".into(), json!(def.group));
        attrs.insert("trap-name".into(), json!(def.name));
        attrs.insert("trap-type".into(), json!(def.kind));
        if def.generic {
            attrs.insert("trap-generic".into(), json!(true));
        }
        attrs.insert("trap-action".into(), json!(self.actions[index]));
        let mut metadata = serde_json::Map::new();
        metadata.insert("trap-metadata-type-in-port".into(), json!(true));
        if def.fa_cookie {
            metadata.insert("trap-metadata-type-fa-cookie".into(), json!(true));
        }
        attrs.insert("trap-metadata".into(), serde_json::Value::Object(metadata));
        // `devlink_trap_stats_put` asks the driver of every trap.
        let dropped = self.drops;
        self.drops += 1;
        attrs.insert("stats".into(), stats(Some(dropped)));
        attrs
    }

    /// Group `index`'s attributes after the handle (`devlink_nl_trap_group_fill`).
    pub fn group(&self, index: usize) -> serde_json::Map<String, serde_json::Value> {
        let mut attrs = serde_json::Map::new();
        attrs.insert("trap-group-name".into(), json!(GROUPS[index].0));
        attrs.insert("trap-generic".into(), json!(true));
        if self.group_policers[index] != 0 {
            attrs.insert("trap-policer-id".into(), json!(self.group_policers[index]));
        }
        attrs.insert("stats".into(), stats(None));
        attrs
    }

    /// Policer `index`'s attributes after the handle (`devlink_nl_trap_policer_fill`).
    pub fn policer(&mut self, index: usize) -> serde_json::Map<String, serde_json::Value> {
        let (rate, burst, drops) = self.policers[index];
        self.policers[index].2 += 1;
        let mut attrs = serde_json::Map::new();
        attrs.insert("trap-policer-id".into(), json!(POLICERS[index].0));
        attrs.insert("trap-policer-rate".into(), json!(rate));
        attrs.insert("trap-policer-burst".into(), json!(burst));
        attrs.insert("stats".into(), json!({"stats-rx-dropped": drops}));
        attrs
    }

    /// `__devlink_trap_action_set`: only a drop trap's action changes
    /// (another's change is skipped with the core's warning, and the
    /// request succeeds).
    pub fn set_action(&mut self, index: usize, action: &'static str) -> Result<(), &'static str> {
        if TRAPS[index].kind != "drop" && action != self.actions[index] {
            return Err("Cannot change action of non-drop traps. Skipping");
        }
        self.actions[index] = action;
        Ok(())
    }

    /// The traps of group `index`, in their order.
    pub fn group_members(index: usize) -> Vec<usize> {
        (0..TRAPS.len()).filter(|&i| TRAPS[i].group == GROUPS[index].0).collect()
    }

    pub fn set_group_policer(&mut self, index: usize, policer: u32) {
        self.group_policers[index] = policer;
    }

    pub fn set_policer(&mut self, index: usize, rate: Option<u64>, burst: Option<u64>) {
        let policer = &mut self.policers[index];
        policer.0 = rate.unwrap_or(policer.0);
        policer.1 = burst.unwrap_or(policer.1);
    }
}
