//! The variables a task sees on a host, with Ansible's precedence:
//! play defaults < inventory (group < host) < play vars < block/task vars < registered results and set_fact
//! < extra vars (-e), plus the magic variables (`inventory_hostname`, `group_names`, `groups`,
//! `ansible_check_mode`, `ansible_play_hosts`, ...). Strings that hold templates are
//! rendered lazily, as Ansible does, when the context is built.

use serde_json::{Map, Value};

use super::Engine;
use crate::inventory::HostId;
use crate::playbook::Task;
use crate::template::TemplateError;

pub fn context(
    engine: &Engine,
    play_index: usize,
    task: &Task,
    host: HostId,
    play_hosts: &[HostId],
) -> (Value, Vec<(String, TemplateError)>) {
    let inv = &engine.inv;
    let h = inv.host(host);
    let play = &engine.pb.plays[play_index];
    let mut vars: Map<String, Value> = play.defaults.clone();
    vars.extend(h.inventory_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(play.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(task.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(
        engine
            .state(host)
            .facts
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    vars.extend(
        engine
            .opts
            .extra_vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    vars.insert("inventory_hostname".into(), Value::String(h.name.clone()));
    vars.insert(
        "inventory_hostname_short".into(),
        Value::String(h.name.split('.').next().unwrap_or("").to_string()),
    );
    vars.entry("ansible_host")
        .or_insert(Value::String(h.conn.address.clone()));
    vars.insert(
        "group_names".into(),
        Value::Array(
            inv.group_names(host)
                .into_iter()
                .map(Value::String)
                .collect(),
        ),
    );
    let mut groups = Map::new();
    for (i, g) in inv.groups.iter().enumerate() {
        let names = inv
            .group_hosts(crate::inventory::GroupId(i))
            .into_iter()
            .map(|x| Value::String(inv.host(x).name.clone()))
            .collect();
        groups.insert(g.name.clone(), Value::Array(names));
    }
    vars.insert("groups".into(), Value::Object(groups));
    let play_names: Vec<Value> = play_hosts
        .iter()
        .map(|x| Value::String(inv.host(*x).name.clone()))
        .collect();
    vars.insert(
        "ansible_play_hosts".into(),
        Value::Array(play_names.clone()),
    );
    vars.insert(
        "ansible_play_hosts_all".into(),
        Value::Array(play_names.clone()),
    );
    vars.insert("play_hosts".into(), Value::Array(play_names));
    vars.insert("ansible_check_mode".into(), Value::Bool(engine.opts.check));
    vars.insert("ansible_diff_mode".into(), Value::Bool(engine.opts.diff));
    vars.insert(
        "playbook_name".into(),
        Value::String(engine.pb.name.clone()),
    );
    engine.renderer.resolve_vars_lenient(&Value::Object(vars))
}

/// Word a template error, explaining an undefined variable that was left out because its own
/// template failed.
pub fn explain(err: &TemplateError, dropped: &[(String, TemplateError)]) -> String {
    if let Some(name) = &err.undefined {
        if let Some((_, cause)) = dropped.iter().find(|(n, _)| n == name) {
            return format!(
                "{err} (variable '{name}' is defined, but its own template failed: {cause})"
            );
        }
    }
    err.to_string()
}
