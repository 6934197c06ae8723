//! A task: its keywords (loop, register, until/retries, changed_when/failed_when, throttle,
//! timeout, run_once, after, ...), the inherited ones (`apply_common`), and the one module it
//! names with its arguments — a mapping, `key=value` words, or a free-form command — whose
//! names are checked against the module's typed arguments now, before anything runs.

use serde_json::{Map, Value};

use super::block;
use super::values::{boolean, entries, json_map, number, string, strings, unknown_key};
use super::{Inherit, Lowering};
use crate::error::{did_you_mean, Error, Result};
use crate::modules::Module;
use crate::playbook::{Action, Task, TaskId};
use crate::yaml::{Kind, Node};

pub(super) const TASK_KEYS: &[&str] = &[
    "name",
    "when",
    "tags",
    "loop",
    "with_items",
    "with_list",
    "loop_control",
    "register",
    "until",
    "retries",
    "delay",
    "ignore_errors",
    "become",
    "become_user",
    "become_method",
    "throttle",
    "timeout",
    "run_once",
    "delegate_to",
    "any_errors_fatal",
    "no_log",
    "environment",
    "vars",
    "args",
    "changed_when",
    "failed_when",
    "check_mode",
    "after",
];

impl Lowering<'_> {
    pub(super) fn task(
        &self,
        node: &Node,
        map: &[(Node, Node)],
        inherit: &Inherit,
    ) -> Result<Task> {
        let mut inh = inherit.clone();
        let mut name = None;
        let mut module: Option<(Module, &Node, &Node)> = None;
        let mut extra_args: Option<Map<String, Value>> = None;
        let mut task = Task {
            id: TaskId(0),
            name: String::new(),
            span: node.span.clone(),
            action: Action {
                module: Module::Debug,
                args: Map::new(),
            },
            tags: Vec::new(),
            when: Vec::new(),
            loop_items: None,
            loop_var: "item".into(),
            register: None,
            until: None,
            retries: 3,
            delay: 5.0,
            ignore_errors: false,
            changed_when: None,
            failed_when: None,
            r#become: None,
            become_user: None,
            become_method: None,
            throttle: None,
            timeout: None,
            run_once: false,
            delegate_to: None,
            no_log: false,
            check_mode: None,
            environment: Map::new(),
            vars: Map::new(),
            after: Vec::new(),
            after_span: None,
            blocks: Vec::new(),
        };
        let mut retries_set = false;
        for (k, v) in map {
            let key = k.key_text();
            match key.as_str() {
                "name" => name = Some(string(v, "name")?),
                "loop" | "with_items" | "with_list" => {
                    let value = v.to_json();
                    task.loop_items = Some(match (key.as_str(), value) {
                        ("with_items", Value::Array(items)) => {
                            // with_items flattens one level.
                            let mut flat = Vec::new();
                            for i in items {
                                match i {
                                    Value::Array(inner) => flat.extend(inner),
                                    other => flat.push(other),
                                }
                            }
                            Value::Array(flat)
                        }
                        (_, value @ (Value::Array(_) | Value::String(_))) => value,
                        _ => {
                            return Err(Error::invalid(
                                &v.span,
                                key,
                                "expected a list (or a template that yields one)",
                            ))
                        }
                    });
                }
                "loop_control" => {
                    for (lk, lv) in entries(v, "loop_control")? {
                        match lk.key_text().as_str() {
                            "loop_var" => task.loop_var = string(lv, "loop_var")?,
                            "label" | "pause" | "index_var" => {}
                            _ => {
                                return Err(unknown_key(lk, &["loop_var", "label"], "loop_control"))
                            }
                        }
                    }
                }
                "register" => task.register = Some(string(v, "register")?),
                "until" => task.until = Some(string(v, "until")?),
                "retries" => {
                    task.retries = number(v, "retries")? as u32;
                    retries_set = true;
                }
                "delay" => task.delay = number(v, "delay")?,
                "changed_when" => {
                    task.changed_when = Some(strings(v, "changed_when")?.join(" and "))
                }
                "failed_when" => task.failed_when = Some(strings(v, "failed_when")?.join(" and ")),
                "throttle" => {
                    let n = number(v, "throttle")? as usize;
                    if n == 0 {
                        return Err(Error::invalid(
                            &v.span,
                            "throttle",
                            "throttle must be at least 1",
                        ));
                    }
                    task.throttle = Some(n);
                }
                "timeout" => {
                    let n = number(v, "timeout")?.ceil() as u64;
                    if n == 0 {
                        return Err(Error::invalid(
                            &v.span,
                            "timeout",
                            "timeout is in seconds and must be at least 1 (leave it out for none)",
                        ));
                    }
                    task.timeout = Some(n);
                }
                "run_once" => task.run_once = boolean(v, "run_once")?,
                "any_errors_fatal" => {
                    boolean(v, "any_errors_fatal")?;
                }
                "after" => {
                    task.after = strings(v, "after")?;
                    task.after_span = Some(k.span.clone());
                }
                "args" => extra_args = Some(json_map(v, "args")?),
                "rescue" | "always" => return Err(block::only_in_a_block(k, "task")),
                _ if TASK_KEYS.contains(&key.as_str()) => {
                    self.apply_common(k, v, &mut inh, TASK_KEYS, "task")?
                }
                _ => match Module::named(&key) {
                    Some(m) => {
                        if let Some((prev, pk, _)) = &module {
                            return Err(Error::invalid(
                                    &k.span,
                                    key.clone(),
                                    format!(
                                        "a task runs one module, but this one names '{prev}' (line {}) and '{m}'",
                                        pk.span.line
                                    ),
                                ));
                        }
                        module = Some((m, k, v));
                    }
                    None => return Err(unknown_key(k, TASK_KEYS, "task")),
                },
            }
        }
        let Some((module, mkey, margs)) = module else {
            return Err(Error::invalid(
                &node.span,
                name.unwrap_or_default(),
                "this task names no module",
            )
            .with_hint(format!(
                "modules: {}",
                Module::ALL.map(Module::name).join(", ")
            )));
        };
        let mut args = module_args(module, margs)?;
        if let Some(extra) = extra_args {
            for (k, v) in extra {
                args.entry(k).or_insert(v);
            }
        }
        module.check_names(&args).map_err(|unknown| {
            // `_raw_params` is the free-form string, never written as a name.
            let names: Vec<&str> = unknown
                .expected
                .iter()
                .copied()
                .filter(|n| *n != "_raw_params")
                .collect();
            let err = Error::invalid(
                &mkey.span,
                format!("{module}.{}", unknown.name),
                format!(
                    "unknown argument for {module} (expected one of: {})",
                    names.join(", ")
                ),
            );
            match did_you_mean(&unknown.name, names.iter().copied()) {
                Some(h) => err.with_hint(h),
                None => err,
            }
        })?;
        if task.until.is_some() && !retries_set {
            task.retries = 3;
        }
        task.name = name.unwrap_or_else(|| module.name().to_string());
        task.action = Action { module, args };
        task.tags = inh.tags;
        task.when = inh.when;
        task.r#become = inh.r#become;
        task.become_user = inh.become_user;
        task.become_method = inh.become_method;
        task.ignore_errors = inh.ignore_errors.unwrap_or(false);
        task.no_log = inh.no_log.unwrap_or(false);
        task.environment = inh.environment;
        task.vars = inh.vars;
        task.delegate_to = inh.delegate_to;
        task.check_mode = inh.check_mode;
        task.blocks = inh.frames;
        Ok(task)
    }
}

/// A module's arguments: a mapping, or a free-form string (`shell: echo hi`,
/// `file: path=/x state=touch`).
fn module_args(module: Module, node: &Node) -> Result<Map<String, Value>> {
    let name = module.name();
    match &node.kind {
        Kind::Map(_) => json_map(node, name),
        Kind::Null => Ok(Map::new()),
        Kind::Str(s) => {
            let mut args = Map::new();
            if module.takes_free_form() {
                args.insert("_raw_params".into(), Value::String(s.clone()));
                return Ok(args);
            }
            for part in crate::extra::split_kv(s) {
                match part.split_once('=') {
                    Some((k, v)) => {
                        args.insert(k.to_string(), Value::String(v.to_string()));
                    }
                    None => {
                        return Err(Error::invalid(
                            &node.span,
                            name,
                            format!("expected key=value arguments, found '{part}'"),
                        ))
                    }
                }
            }
            Ok(args)
        }
        _ => Err(Error::invalid(
            &node.span,
            name,
            format!(
                "module arguments must be a mapping, not {}",
                node.type_name()
            ),
        )),
    }
}
