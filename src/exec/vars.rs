//! The variables a task sees on a host, with Ansible's precedence:
//! play defaults < inventory (group < host) < play vars < block/task vars < registered results and set_fact
//! < extra vars (-e), plus the magic variables (`inventory_hostname`, `group_names`, `groups`,
//! `ansible_check_mode`, `ansible_play_hosts`, ...). Strings that hold templates are
//! rendered lazily, as Ansible does, when the context is built. `ansible_failed_task` and
//! `ansible_failed_result` are facts of the host, set when a block's rescue is about to
//! handle a failure (`failed_task` builds the first), and stay for the rest of the run.

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
    // The fleet-wide magic variables are as big as the inventory: building them for every
    // (task, host) would make a run quadratic in the number of hosts, so they are given only
    // to tasks that mention them (see `Mentions`).
    let wants = engine.mentions(play_index, task);
    if wants.groups {
        vars.insert("groups".into(), engine.groups_value());
    }
    if wants.play_hosts {
        let play_names = Value::Array(
            play_hosts
                .iter()
                .map(|x| Value::String(inv.host(*x).name.clone()))
                .collect(),
        );
        vars.insert("ansible_play_hosts".into(), play_names.clone());
        vars.insert("ansible_play_hosts_all".into(), play_names.clone());
        vars.insert("play_hosts".into(), play_names);
    }
    vars.insert("ansible_check_mode".into(), Value::Bool(engine.opts.check));
    vars.insert("ansible_diff_mode".into(), Value::Bool(engine.opts.diff));
    vars.insert(
        "playbook_name".into(),
        Value::String(engine.pb.name.clone()),
    );
    vars.insert(
        "pgplay_rerun".into(),
        Value::String(engine.opts.rerun.clone()),
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

/// Which fleet-wide magic variables a task's templates can reach.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mentions {
    pub groups: bool,
    pub play_hosts: bool,
}

impl Mentions {
    pub fn of(text: &str) -> Mentions {
        Mentions {
            groups: text.contains("groups"),
            play_hosts: text.contains("play_hosts"),
        }
    }

    pub fn or(self, other: Mentions) -> Mentions {
        Mentions {
            groups: self.groups || other.groups,
            play_hosts: self.play_hosts || other.play_hosts,
        }
    }
}

/// Everything a task renders, as one text to search: its arguments, conditions, loop,
/// vars, the play's vars and defaults, the extra vars, and its template file's source.
pub fn task_text(engine: &Engine, play_index: usize, task: &Task) -> String {
    let play = &engine.pb.plays[play_index];
    let mut text = serde_json::to_string(&task.action.args).unwrap_or_default();
    for part in [
        serde_json::to_string(&task.when).unwrap_or_default(),
        serde_json::to_string(&task.loop_items).unwrap_or_default(),
        serde_json::to_string(&task.vars).unwrap_or_default(),
        serde_json::to_string(&task.environment).unwrap_or_default(),
        serde_json::to_string(&play.vars).unwrap_or_default(),
        serde_json::to_string(&play.defaults).unwrap_or_default(),
        serde_json::to_string(&engine.opts.extra_vars).unwrap_or_default(),
        format!(
            "{:?} {:?} {:?} {:?}",
            task.until, task.changed_when, task.failed_when, task.delegate_to
        ),
    ] {
        text.push_str(&part);
    }
    if let Some(t) = task
        .action
        .module
        .rendered_text(&task.action.args, &engine.pb.source)
    {
        text.push_str(&t);
    }
    text
}

/// `ansible_failed_task`: the failed task as written (Ansible gives its serialized task;
/// these are the keywords pgplay has, untemplated, with its `name` and `action`).
pub fn failed_task(task: &Task) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(task.name.clone()));
    m.insert(
        "action".into(),
        Value::String(task.action.module.name().into()),
    );
    m.insert("args".into(), Value::Object(task.action.args.clone()));
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    m.insert("tags".into(), strings(&task.tags));
    m.insert("when".into(), strings(&task.when));
    let optional = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
    m.insert("register".into(), optional(&task.register));
    m.insert("delegate_to".into(), optional(&task.delegate_to));
    m.insert("become_user".into(), optional(&task.become_user));
    m.insert(
        "become".into(),
        task.r#become.map(Value::Bool).unwrap_or(Value::Null),
    );
    m.insert(
        "loop".into(),
        task.loop_items.clone().unwrap_or(Value::Null),
    );
    m.insert("ignore_errors".into(), Value::Bool(task.ignore_errors));
    m.insert("run_once".into(), Value::Bool(task.run_once));
    m.insert("no_log".into(), Value::Bool(task.no_log));
    Value::Object(m)
}
