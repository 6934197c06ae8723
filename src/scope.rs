//! What a run reads, and validation scoped to it.
//!
//! A real inventory has corners a given run never touches, so a wrong typed variable
//! (`vars::Problem`) is refused only when a selected task reads it on a host in play —
//! before the first connection — and is a warning, printed once, everywhere else. A wrong
//! connection variable of a host in play is always refused: the run connects to it.
//!
//! What a task reads is found statically, over-approximating (every branch of a template
//! counts): the names in its arguments, conditions, loop and vars; the templates it renders
//! (`template: src=`); what its module reads by itself (`pitr`: `pg_pitr`, the cluster's
//! identity); and, through variables whose values are templates (play defaults, the
//! inventory, -e), what those read in turn. A task that reads `hostvars` or `vars` reads
//! everything. The same set tells which `-e` variables no selected task reads.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use crate::base::text::contains_template;
use crate::builtin::{self, Source};
use crate::error::Result;
use crate::inventory::{HostId, Inventory};
use crate::modules::Module;
use crate::playbook::{Play, Playbook, Task, TaskId};
use crate::template::Renderer;
use crate::vars::Problem;

/// The variable names a play's selected tasks read.
#[derive(Debug, Default)]
pub struct Reads {
    names: BTreeSet<String>,
    everything: bool,
}

impl Reads {
    pub fn contains(&self, name: &str) -> bool {
        self.everything || self.names.contains(name)
    }

    /// The names read, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// What the selected tasks of one play read, on the given hosts (their variables'
    /// templates count), with `-e`.
    pub fn of_play(
        inv: &Inventory,
        pb: &Playbook,
        play: &Play,
        tasks: &[TaskId],
        hosts: &[HostId],
        extra: &Map<String, Value>,
        renderer: &Renderer,
    ) -> Reads {
        let mut names = HashSet::new();
        for id in tasks {
            task_names(&play.tasks[id.0], &pb.source, renderer, &mut names);
        }
        if !tasks.is_empty() {
            if let Some(c) = &play.confirm {
                names.extend(renderer.names_in_template(c));
            }
            names.extend(play.safeguard.iter().cloned());
        }
        // Variables whose values are templates read what they name, transitively.
        let mut sources: Vec<&Map<String, Value>> = vec![&play.defaults, &play.vars, extra];
        sources.extend(hosts.iter().map(|h| &inv.host(*h).inventory_vars));
        sources.extend(tasks.iter().map(|t| &play.tasks[t.0].vars));
        let mut todo: Vec<String> = names.iter().cloned().collect();
        while let Some(name) = todo.pop() {
            for src in &sources {
                if let Some(v) = src.get(&name) {
                    let mut found = HashSet::new();
                    value_names(v, renderer, &mut found);
                    for n in found {
                        if names.insert(n.clone()) {
                            todo.push(n);
                        }
                    }
                }
            }
        }
        let everything = names.contains("hostvars") || names.contains("vars");
        Reads {
            names: names.into_iter().collect(),
            everything,
        }
    }
}

/// Names read by one task.
fn task_names(task: &Task, source: &Source, r: &Renderer, out: &mut HashSet<String>) {
    for expr in task
        .when
        .iter()
        .chain(task.until.iter())
        .chain(task.changed_when.iter())
        .chain(task.failed_when.iter())
    {
        out.extend(r.names_in_expr(expr));
    }
    for s in [&task.become_user, &task.delegate_to].into_iter().flatten() {
        out.extend(r.names_in_template(s));
    }
    out.extend(r.names_in_template(&task.name));
    let args = Value::Object(task.action.args.clone());
    value_names(&args, r, out);
    if let Some(items) = &task.loop_items {
        value_names(items, r, out);
    }
    for v in task.environment.values().chain(task.vars.values()) {
        value_names(v, r, out);
    }
    out.extend(
        task.action
            .module
            .implicit_reads()
            .iter()
            .map(|s| s.to_string()),
    );
    if task.action.module == Module::Template {
        for src in template_sources(task, r) {
            let text = source
                .read("templates", &src)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if let Some(text) = text {
                out.extend(r.names_in_template(&text));
            }
        }
    }
}

/// The templates a `template` task renders: its `src`, once per literal loop item when it is
/// a template of the item; every built-in template when that cannot be known before running.
fn template_sources(task: &Task, r: &Renderer) -> Vec<String> {
    let Some(src) = task.action.args.get("src").and_then(Value::as_str) else {
        return Vec::new();
    };
    if !contains_template(src) {
        return vec![src.to_string()];
    }
    let items = match &task.loop_items {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for item in &items {
        let mut vars = Map::new();
        vars.insert(task.loop_var.clone(), item.clone());
        match r.render("template src", src, &Value::Object(vars)) {
            Ok(name) => out.push(name),
            Err(_) => return builtin::template_names().map(str::to_string).collect(),
        }
    }
    if out.is_empty() {
        return builtin::template_names().map(str::to_string).collect();
    }
    out
}

/// Names read by the templates inside a value (strings, recursively).
fn value_names(v: &Value, r: &Renderer, out: &mut HashSet<String>) {
    match v {
        Value::String(s) => out.extend(r.names_in_template(s)),
        Value::Array(items) => items.iter().for_each(|i| value_names(i, r, out)),
        Value::Object(m) => m.values().for_each(|i| value_names(i, r, out)),
        _ => {}
    }
}

/// Refuse the problems this run meets (hosts in play, variables read, any connection
/// variable of a host in play); return the others as warnings, each once.
pub fn check(
    inv: &Inventory,
    pb: &Playbook,
    hosts: &[Vec<HostId>],
    tasks: &[Vec<TaskId>],
    extra: &Map<String, Value>,
) -> Result<Vec<String>> {
    let renderer = Renderer::new();
    let mut played: HashSet<HostId> = HashSet::new();
    for (i, play) in pb.plays.iter().enumerate() {
        if hosts[i].is_empty() || tasks[i].is_empty() {
            continue;
        }
        let reads = Reads::of_play(inv, pb, play, &tasks[i], &hosts[i], extra, &renderer);
        for &h in &hosts[i] {
            for p in &inv.host(h).problems {
                if p.is_connection() || p.vars.iter().any(|v| reads.contains(v)) {
                    return Err(p.error());
                }
            }
        }
        played.extend(hosts[i].iter().copied());
    }
    let mut shown: Vec<&Problem> = Vec::new();
    let mut out = Vec::new();
    for h in inv.host_ids() {
        for p in &inv.host(h).problems {
            if shown.iter().any(|s| s.same_as(p)) {
                continue;
            }
            shown.push(p);
            let why = if played.contains(&h) {
                format!(
                    "not used by this run ({} does not read it); a run that reads it is refused",
                    pb.name
                )
            } else {
                format!(
                    "not used by this run ({} is not in it); a run that reads it is refused",
                    inv.host(h).name
                )
            };
            out.push(p.warning(&why));
        }
    }
    Ok(out)
}

/// Every problem of the inventory as a warning, each once (`pgplay inventory`).
pub fn warnings(inv: &Inventory) -> Vec<String> {
    let mut shown: Vec<&Problem> = Vec::new();
    let mut out = Vec::new();
    for h in &inv.hosts {
        for p in &h.problems {
            if !shown.iter().any(|s| s.same_as(p)) {
                shown.push(p);
                out.push(p.warning("a run that reads it is refused"));
            }
        }
    }
    out
}

/// `-e` variables that no selected task reads (said once, as a warning: the run goes on).
pub fn unread_extra(
    inv: &Inventory,
    pb: &Playbook,
    hosts: &[Vec<HostId>],
    tasks: &[Vec<TaskId>],
    extra: &Map<String, Value>,
) -> Vec<String> {
    let renderer = Renderer::new();
    let reads: Vec<Reads> = pb
        .plays
        .iter()
        .enumerate()
        .filter(|(i, _)| !hosts[*i].is_empty() && !tasks[*i].is_empty())
        .map(|(i, play)| Reads::of_play(inv, pb, play, &tasks[i], &hosts[i], extra, &renderer))
        .collect();
    // Connection variables are read by the engine itself.
    extra
        .keys()
        .filter(|k| !k.starts_with("ansible_") && !k.starts_with("pgplay_"))
        .filter(|k| !reads.iter().any(|r| r.contains(k)))
        .cloned()
        .collect()
}
