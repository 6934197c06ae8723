//! `pgplay inventory --list / --host / --graph`: what `ansible-inventory` prints for the same
//! file (the inventory rendered, like every other output, in `report`).
//!
//! Same shape and order: `_meta.hostvars` with each host's merged variables, `all.children`
//! starting with `ungrouped`, groups with their `hosts` and `children` lists (empty lists and
//! empty groups dropped), keys sorted, four-space indentation.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::inventory::{GroupId, HostId, Inventory};

/// The whole inventory, as `ansible-inventory --list`; with `only` (`--limit`), just those
/// hosts and the groups that hold one of them.
pub fn list_json(inv: &Inventory, only: Option<&[HostId]>) -> String {
    let view = View::new(inv, only);
    let mut out = Map::new();
    let mut hostvars = Map::new();
    for h in inv.host_ids().filter(|h| view.host(*h)) {
        let host = inv.host(h);
        if !host.inventory_vars.is_empty() {
            hostvars.insert(
                host.name.clone(),
                Value::Object(host.inventory_vars.clone()),
            );
        }
    }
    let mut meta = Map::new();
    meta.insert("hostvars".into(), Value::Object(hostvars));
    // ansible-core 2.19+ names the variable-handling profile of its output.
    meta.insert("profile".into(), Value::String("inventory_legacy".into()));
    out.insert("_meta".into(), Value::Object(meta));
    if let Some(all) = inv.find_group("all") {
        let mut seen = Vec::new();
        format_group(&view, all, &mut seen, &mut out);
    }
    pretty(&sorted(Value::Object(out)))
}

/// The part of an inventory a `--limit` leaves: its hosts, and the groups holding one of
/// them (`all` always).
pub struct View<'a> {
    pub inv: &'a Inventory,
    hosts: Option<Vec<bool>>,
    groups: Vec<bool>,
}

impl<'a> View<'a> {
    pub fn new(inv: &'a Inventory, only: Option<&[HostId]>) -> View<'a> {
        let hosts = only.map(|ids| {
            let mut keep = vec![false; inv.hosts.len()];
            for h in ids {
                keep[h.0] = true;
            }
            keep
        });
        let groups = (0..inv.groups.len())
            .map(|g| match &hosts {
                None => true,
                Some(keep) => {
                    inv.groups[g].name == "all"
                        || inv.group_hosts(GroupId(g)).iter().any(|h| keep[h.0])
                }
            })
            .collect();
        View { inv, hosts, groups }
    }

    pub fn host(&self, h: HostId) -> bool {
        self.hosts.as_ref().is_none_or(|keep| keep[h.0])
    }

    pub fn group(&self, g: GroupId) -> bool {
        self.groups[g.0]
    }
}

/// One host's variables, as `ansible-inventory --host H`.
pub fn host_json(inv: &Inventory, h: HostId) -> String {
    pretty(&sorted(Value::Object(inv.host(h).inventory_vars.clone())))
}

fn format_group(view: &View, id: GroupId, seen: &mut Vec<GroupId>, out: &mut Map<String, Value>) {
    let inv = view.inv;
    let group = inv.group(id);
    let mut entry = Map::new();
    if group.name != "all" {
        let hosts: Vec<Value> = group
            .hosts
            .iter()
            .filter(|h| view.host(**h))
            .map(|h| Value::String(inv.host(*h).name.clone()))
            .collect();
        if !hosts.is_empty() {
            entry.insert("hosts".into(), Value::Array(hosts));
        }
    }
    let mut children = group.children.clone();
    if group.name == "all" {
        // Ansible creates `ungrouped` first, so it leads the list.
        children.sort_by_key(|c| inv.group(*c).name != "ungrouped");
    }
    let mut names = Vec::new();
    for child in children.into_iter().filter(|c| view.group(*c)) {
        names.push(Value::String(inv.group(child).name.clone()));
        if !seen.contains(&child) {
            seen.push(child);
            format_group(view, child, seen, out);
        }
    }
    if !names.is_empty() {
        entry.insert("children".into(), Value::Array(names));
    }
    if !entry.is_empty() {
        out.insert(group.name.clone(), Value::Object(entry));
    }
}

/// The group tree, as `ansible-inventory --graph` draws it.
pub fn graph(view: &View) -> String {
    fn walk(view: &View, g: GroupId, depth: usize, out: &mut String) {
        let inv = view.inv;
        let group = inv.group(g);
        // as ansible-inventory --graph: "  |" per level, "--" before every name below all
        let lead = if depth == 0 {
            String::new()
        } else {
            format!("{}--", "  |".repeat(depth))
        };
        out.push_str(&format!("{lead}@{}:\n", group.name));
        let mut children = group.children.clone();
        if group.name == "all" {
            children.sort_by_key(|c| inv.group(*c).name != "ungrouped");
        }
        for c in children.into_iter().filter(|c| view.group(*c)) {
            walk(view, c, depth + 1, out);
        }
        // all's own hosts are shown under ungrouped, as Ansible does
        for h in group
            .hosts
            .iter()
            .filter(|h| group.name != "all" && view.host(**h))
        {
            out.push_str(&format!(
                "{}--{}\n",
                "  |".repeat(depth + 1),
                inv.host(*h).name
            ));
        }
    }
    let mut out = String::new();
    if let Some(all) = view.inv.find_group("all") {
        walk(view, all, 0, &mut out);
    }
    out
}

/// Sort every object's keys, as Python's `json.dumps(sort_keys=True)`.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn pretty(value: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if value.serialize(&mut ser).is_err() {
        return String::from("{}");
    }
    String::from_utf8_lossy(&buf).into_owned()
}
