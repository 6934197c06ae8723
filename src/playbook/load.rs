//! Lowering playbook YAML into typed plays and flat task lists.
//!
//! Every key is checked against what pgplay understands; an unknown one is an error with the
//! file:line:col and a "did you mean". Blocks (`block.rs`) and task-file imports are flattened
//! here, with their tags, conditions, become, vars and environment handed down to each task.

mod block;

use std::cell::Cell;

use serde_json::{Map, Value};

use super::{Action, Frame, Play, Playbook, Task, TaskId};
use crate::builtin::{self, Source};
use crate::error::{did_you_mean, Error, Result};
use crate::modules::Module;
use crate::yaml::{self, Kind, Node};

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

const TASK_KEYS: &[&str] = &[
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

const BLOCK_KEYS: &[&str] = &[
    "block",
    "rescue",
    "always",
    "name",
    "when",
    "tags",
    "become",
    "become_user",
    "become_method",
    "ignore_errors",
    "no_log",
    "environment",
    "vars",
    "any_errors_fatal",
    "delegate_to",
    "check_mode",
];

const INCLUDE_KEYS: &[&str] = &[
    "import_tasks",
    "include_tasks",
    "ansible.builtin.import_tasks",
    "ansible.builtin.include_tasks",
];

/// Load a playbook: a bare name (`pgsql`, `pgsql.yml`) is always the built-in one — in a
/// Pigsty directory `./pgsql.yml` is Pigsty's own Ansible playbook, which pgplay must never
/// run by surprise — and only a path (`./x.yml`, `dir/x.yml`, `/abs/x.yml`) is a file.
pub fn load(name_or_path: &str) -> Result<Playbook> {
    if !name_or_path.contains('/') {
        let builtin_name = name_or_path
            .trim_end_matches(".yml")
            .trim_end_matches(".yaml");
        if let Some(text) = builtin::playbook(builtin_name) {
            let display = format!("<builtin>/playbooks/{builtin_name}.yml");
            return load_source(builtin_name, &display, text, Source::Builtin);
        }
        let err = Error::usage(format!(
            "'{name_or_path}' is not a built-in playbook (a bare name always means one)"
        ));
        return Err(if std::path::Path::new(name_or_path).is_file() {
            err.with_hint(format!(
                "to run the file {name_or_path} of this directory, give its path: ./{name_or_path}"
            ))
        } else {
            match did_you_mean(builtin_name, builtin::playbook_names()) {
                Some(h) => err.with_hint(h),
                None => err.with_hint(format!(
                    "built-in playbooks: {}; a playbook file is given by its path (./site.yml)",
                    builtin::playbook_names().collect::<Vec<_>>().join(", ")
                )),
            }
        });
    }
    let as_path = std::path::Path::new(name_or_path);
    if !as_path.is_file() {
        return Err(
            Error::usage(format!("playbook {name_or_path}: no such file")).with_hint(format!(
                "built-in playbooks are named without a path: {}",
                builtin::playbook_names().collect::<Vec<_>>().join(", ")
            )),
        );
    }
    let text = std::fs::read_to_string(as_path).map_err(|source| Error::Io {
        path: as_path.into(),
        source,
    })?;
    let dir = as_path
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    load_source(name_or_path, name_or_path, &text, Source::Dir(dir))
}

/// How a run names its playbook in the play banner: built in, or the file.
pub fn origin(pb: &Playbook) -> String {
    match pb.source {
        Source::Builtin => format!("built-in {}", pb.name),
        Source::Dir(_) => format!("file {}", pb.name),
    }
}

/// Load playbook text; `display` names it in errors.
pub fn load_source(name: &str, display: &str, text: &str, source: Source) -> Result<Playbook> {
    let root = parse(display, text)?;
    let Kind::Seq(items) = &root.kind else {
        return Err(Error::invalid(
            &root.span,
            "",
            format!(
                "a playbook must be a list of plays, not {}",
                root.type_name()
            ),
        )
        .with_hint("start the file with '- name: ...' and 'hosts: ...'"));
    };
    let lowering = Lowering {
        source: &source,
        blocks: Cell::new(0),
    };
    let mut plays = Vec::new();
    for item in items {
        plays.push(lowering.play(item)?);
    }
    Ok(Playbook {
        name: name.to_string(),
        plays,
        source,
    })
}

fn parse(display: &str, text: &str) -> Result<Node> {
    yaml::load(display, text).map_err(|e| Error::Syntax {
        span: e.span,
        message: e.message,
    })
}

/// What a block hands down to the tasks inside it.
#[derive(Clone, Default)]
struct Inherit {
    tags: Vec<String>,
    when: Vec<String>,
    r#become: Option<bool>,
    become_user: Option<String>,
    become_method: Option<String>,
    ignore_errors: Option<bool>,
    no_log: Option<bool>,
    environment: Map<String, Value>,
    vars: Map<String, Value>,
    delegate_to: Option<String>,
    check_mode: Option<bool>,
    depth: usize,
    /// The enclosing blocks and sections, outermost first.
    frames: Vec<Frame>,
}

struct Lowering<'a> {
    source: &'a Source,
    /// Blocks numbered so far (a block's id is its number in the playbook).
    blocks: Cell<usize>,
}

fn entries<'n>(node: &'n Node, what: &str) -> Result<&'n [(Node, Node)]> {
    node.as_map().ok_or_else(|| {
        Error::invalid(
            &node.span,
            what,
            format!("expected a mapping, found {}", node.type_name()),
        )
    })
}

fn unknown_key(key: &Node, valid: &[&str], what: &str) -> Error {
    let name = key.key_text();
    let err = Error::invalid(&key.span, name.clone(), format!("unknown {what} keyword"));
    match did_you_mean(
        &name,
        valid
            .iter()
            .copied()
            .chain(Module::ALL.iter().map(|m| m.name())),
    ) {
        Some(h) => err.with_hint(h),
        None => err.with_hint(format!("valid {what} keywords: {}", valid.join(", "))),
    }
}

fn string(node: &Node, key: &str) -> Result<String> {
    match &node.kind {
        Kind::Str(s) => Ok(s.clone()),
        Kind::Int(i) => Ok(i.to_string()),
        Kind::Float(f) => Ok(f.to_string()),
        Kind::Bool(b) => Ok(b.to_string()),
        _ => Err(Error::invalid(
            &node.span,
            key,
            format!("expected a string, found {}", node.type_name()),
        )),
    }
}

fn boolean(node: &Node, key: &str) -> Result<bool> {
    let value = node.to_json();
    if let Value::String(s) = &value {
        if s.contains("{{") {
            return Err(Error::invalid(
                &node.span,
                key,
                "templated booleans are not supported here; write true or false",
            ));
        }
    }
    crate::inventory::domain_bool(&value).ok_or_else(|| {
        Error::invalid(
            &node.span,
            key,
            format!("expected true or false, found {}", node.type_name()),
        )
    })
}

fn number(node: &Node, key: &str) -> Result<f64> {
    match &node.kind {
        Kind::Int(i) if *i >= 0 => Ok(*i as f64),
        Kind::Float(f) if *f >= 0.0 => Ok(*f),
        Kind::Str(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0)
            .ok_or_else(|| {
                Error::invalid(&node.span, key, format!("expected a number, found {s:?}"))
            }),
        _ => Err(Error::invalid(
            &node.span,
            key,
            format!("expected a non-negative number, found {}", node.type_name()),
        )),
    }
}

/// A string or a list of strings (tags, when, after).
/// `become_method`: sudo or su, the two pgplay has (never silently another one).
fn become_method(node: &Node) -> Result<String> {
    let m = string(node, "become_method")?;
    if m == "sudo" || m == "su" {
        return Ok(m);
    }
    Err(Error::invalid(
        &node.span,
        "become_method",
        format!("unsupported become method '{m}': pgplay becomes another user with sudo or su"),
    )
    .with_hint("use become_method: sudo (the default) or su"))
}

fn strings(node: &Node, key: &str) -> Result<Vec<String>> {
    match &node.kind {
        Kind::Seq(items) => items.iter().map(|i| string(i, key)).collect(),
        Kind::Null => Ok(Vec::new()),
        _ => {
            let s = string(node, key)?;
            if key == "tags" {
                Ok(s.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect())
            } else {
                Ok(vec![s])
            }
        }
    }
}

fn json_map(node: &Node, key: &str) -> Result<Map<String, Value>> {
    match node.to_json() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(Error::invalid(
            &node.span,
            key,
            format!("expected a mapping, found {}", node.type_name()),
        )),
    }
}

impl Lowering<'_> {
    fn play(&self, node: &Node) -> Result<Play> {
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

    /// A list of tasks under `key` (`tasks`, `block`, `rescue`, `always`, a task file).
    fn task_list(
        &self,
        node: &Node,
        key: &str,
        inherit: &Inherit,
        out: &mut Vec<Task>,
    ) -> Result<()> {
        match &node.kind {
            Kind::Null => Ok(()),
            Kind::Seq(items) => {
                for item in items {
                    self.task_or_block(item, inherit, out)?;
                }
                Ok(())
            }
            _ => Err(Error::invalid(
                &node.span,
                key,
                format!("expected a list of tasks, found {}", node.type_name()),
            )),
        }
    }

    fn task_or_block(&self, node: &Node, inherit: &Inherit, out: &mut Vec<Task>) -> Result<()> {
        let map = entries(node, "task")?;
        if map.iter().any(|(k, _)| k.key_text() == "block") {
            return self.block(map, inherit, out);
        }
        if let Some((k, v)) = map
            .iter()
            .find(|(k, _)| INCLUDE_KEYS.contains(&k.key_text().as_str()))
        {
            return self.include(node, k, v, map, inherit, out);
        }
        out.push(self.task(node, map, inherit)?);
        Ok(())
    }

    fn apply_common(
        &self,
        key: &Node,
        v: &Node,
        inherit: &mut Inherit,
        allowed: &[&str],
        what: &str,
    ) -> Result<()> {
        let name = key.key_text();
        match name.as_str() {
            "tags" => inherit.tags.extend(strings(v, "tags")?),
            "when" => inherit.when.extend(strings(v, "when")?),
            "become" => inherit.r#become = Some(boolean(v, "become")?),
            "become_user" => inherit.become_user = Some(string(v, "become_user")?),
            "become_method" => inherit.become_method = Some(become_method(v)?),
            "ignore_errors" => inherit.ignore_errors = Some(boolean(v, "ignore_errors")?),
            "no_log" => inherit.no_log = Some(boolean(v, "no_log")?),
            "environment" => inherit.environment.extend(json_map(v, "environment")?),
            "vars" => inherit.vars.extend(json_map(v, "vars")?),
            "delegate_to" => inherit.delegate_to = Some(string(v, "delegate_to")?),
            "check_mode" => inherit.check_mode = Some(boolean(v, "check_mode")?),
            "name" => {}
            _ => return Err(unknown_key(key, allowed, what)),
        }
        Ok(())
    }

    fn include(
        &self,
        node: &Node,
        key: &Node,
        file: &Node,
        map: &[(Node, Node)],
        inherit: &Inherit,
        out: &mut Vec<Task>,
    ) -> Result<()> {
        let mut inner = inherit.clone();
        if inner.depth > 16 {
            return Err(Error::invalid(
                &node.span,
                key.key_text(),
                "task files include each other more than 16 levels deep (a loop?)",
            ));
        }
        inner.depth += 1;
        for (k, v) in map {
            if k.span == key.span {
                continue;
            }
            if matches!(k.key_text().as_str(), "rescue" | "always") {
                return Err(block::only_in_a_block(k, "include"));
            }
            self.apply_common(
                k,
                v,
                &mut inner,
                &["name", "tags", "when", "vars", "become"],
                "include",
            )?;
        }
        let rel = string(file, &key.key_text())?;
        if rel.contains("{{") {
            return Err(Error::invalid(
                &file.span,
                key.key_text(),
                "task file names are resolved when the playbook loads and cannot be templated",
            ));
        }
        let (display, text) = self
            .source
            .task_file(&rel)
            .map_err(|e| Error::invalid(&file.span, key.key_text(), e))?;
        let root = parse(&display, &text)?;
        self.task_list(&root, "tasks", &inner, out)
    }

    fn task(&self, node: &Node, map: &[(Node, Node)], inherit: &Inherit) -> Result<Task> {
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
