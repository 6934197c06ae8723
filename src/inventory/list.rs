//! `pgplay inventory --list / --host`: the JSON `ansible-inventory` prints for the same file.
//!
//! Same shape and order: `_meta.hostvars` with each host's merged variables, `all.children`
//! starting with `ungrouped`, groups with their `hosts` and `children` lists (empty lists and
//! empty groups dropped), keys sorted, four-space indentation.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{GroupId, HostId, Inventory};

/// The whole inventory, as `ansible-inventory --list`.
pub fn list_json(inv: &Inventory) -> String {
    let mut out = Map::new();
    let mut hostvars = Map::new();
    for h in inv.host_ids() {
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
        format_group(inv, all, &mut seen, &mut out);
    }
    pretty(&sorted(Value::Object(out)))
}

/// One host's variables, as `ansible-inventory --host H`.
pub fn host_json(inv: &Inventory, h: HostId) -> String {
    pretty(&sorted(Value::Object(inv.host(h).inventory_vars.clone())))
}

fn format_group(
    inv: &Inventory,
    id: GroupId,
    seen: &mut Vec<GroupId>,
    out: &mut Map<String, Value>,
) {
    let group = inv.group(id);
    let mut entry = Map::new();
    if group.name != "all" {
        let hosts: Vec<Value> = group
            .hosts
            .iter()
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
    for child in children {
        names.push(Value::String(inv.group(child).name.clone()));
        if !seen.contains(&child) {
            seen.push(child);
            format_group(inv, child, seen, out);
        }
    }
    if !names.is_empty() {
        entry.insert("children".into(), Value::Array(names));
    }
    if !entry.is_empty() {
        out.insert(group.name.clone(), Value::Object(entry));
    }
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
