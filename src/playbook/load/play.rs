//! A play: its keywords (`hosts`, `vars`, `defaults`, the inherited ones, pgplay's
//! `confirm`/`require_limit`/`safeguard`/`needs_primary`), its flat task list numbered in
//! order, and the check that every `after:` names an earlier task of the same play.

use serde_json::Map;

use super::values::{become_method, boolean, entries, json_map, string, strings, unknown_key};
use super::{Inherit, Lowering};
use crate::error::{did_you_mean, Error, Result};
use crate::playbook::{Play, Task, TaskId};
use crate::yaml::Node;

const PLAY_KEYS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "defaults",
    "tasks",
    "tags",
    "become",
    "become_user",
    "become_method",
    "gather_facts",
    "any_errors_fatal",
    "environment",
    "ignore_errors",
    "no_log",
    "confirm",
    "require_limit",
    "safeguard",
    "needs_primary",
];

impl Lowering<'_> {
    pub(super) fn play(&self, node: &Node) -> Result<Play> {
        let mut name = String::new();
        let mut hosts = None;
        let mut vars = Map::new();
        let mut defaults = Map::new();
        let mut tasks_node = None;
        let mut inherit = Inherit::default();
        let mut any_errors_fatal = false;
        let mut confirm = None;
        let mut require_limit = false;
        let mut safeguard = None;
        let mut needs_primary = false;
        for (k, v) in entries(node, "play")? {
            let key = k.key_text();
            match key.as_str() {
                "name" => name = string(v, "name")?,
                "hosts" => hosts = Some(strings(v, "hosts")?.join(",")),
                "vars" => vars = json_map(v, "vars")?,
                "defaults" => defaults = json_map(v, "defaults")?,
                "tasks" => tasks_node = Some(v),
                "tags" => inherit.tags = strings(v, "tags")?,
                "become" => inherit.r#become = Some(boolean(v, "become")?),
                "become_user" => inherit.become_user = Some(string(v, "become_user")?),
                "become_method" => inherit.become_method = Some(become_method(v)?),
                "gather_facts" => {
                    boolean(v, "gather_facts")?;
                }
                "any_errors_fatal" => any_errors_fatal = boolean(v, "any_errors_fatal")?,
                "environment" => inherit.environment = json_map(v, "environment")?,
                "ignore_errors" => inherit.ignore_errors = Some(boolean(v, "ignore_errors")?),
                "no_log" => inherit.no_log = Some(boolean(v, "no_log")?),
                "confirm" => confirm = Some(string(v, "confirm")?),
                "require_limit" => require_limit = boolean(v, "require_limit")?,
                "safeguard" => safeguard = Some(string(v, "safeguard")?),
                "needs_primary" => needs_primary = boolean(v, "needs_primary")?,
                _ => return Err(unknown_key(k, PLAY_KEYS, "play")),
            }
        }
        let hosts = hosts.ok_or_else(|| {
            Error::invalid(
                &node.span,
                "hosts",
                "a play needs 'hosts:' (a host pattern)",
            )
            .with_hint("e.g. hosts: all")
        })?;
        let mut tasks = Vec::new();
        if let Some(t) = tasks_node {
            self.task_list(t, "tasks", &inherit, &mut tasks)?;
        }
        for (i, t) in tasks.iter_mut().enumerate() {
            t.id = TaskId(i);
        }
        check_after(&tasks)?;
        Ok(Play {
            name: if name.is_empty() { hosts.clone() } else { name },
            span: node.span.clone(),
            hosts,
            vars,
            defaults,
            tasks,
            any_errors_fatal,
            confirm,
            require_limit,
            safeguard,
            needs_primary,
        })
    }
}

/// Every `after:` names a task of the same play that comes before it.
fn check_after(tasks: &[Task]) -> Result<()> {
    for (i, t) in tasks.iter().enumerate() {
        for name in &t.after {
            match tasks.iter().position(|o| &o.name == name) {
                Some(j) if j < i => {}
                Some(_) => {
                    return Err(Error::invalid(
                        t.after_span.as_ref().unwrap_or(&t.span),
                        "after",
                        format!(
                            "task '{}' waits for '{name}', which comes after it (a cycle)",
                            t.name
                        ),
                    )
                    .with_hint("'after:' may only name an earlier task of the same play"))
                }
                None => {
                    let err = Error::invalid(
                        t.after_span.as_ref().unwrap_or(&t.span),
                        "after",
                        format!("task '{}' waits for an unknown task '{name}'", t.name),
                    );
                    return Err(
                        match did_you_mean(name, tasks.iter().map(|t| t.name.as_str())) {
                            Some(h) => err.with_hint(h),
                            None => err,
                        },
                    );
                }
            }
        }
    }
    Ok(())
}
