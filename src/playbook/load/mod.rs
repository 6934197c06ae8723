//! Lowering playbook YAML into typed plays and flat task lists.
//!
//! Every key is checked against what pgplay understands; an unknown one is an error with the
//! file:line:col and a "did you mean". A play (`play.rs`) holds tasks (`task.rs`); blocks
//! (`block.rs`) and task-file imports (here) are flattened, with their tags, conditions,
//! become, vars and environment (`Inherit`) handed down to each task. Keyword values are read
//! by `values.rs`.

mod block;
mod play;
mod task;
#[cfg(test)]
mod tests;
mod values;

use std::cell::Cell;

use serde_json::{Map, Value};

use self::values::{become_method, boolean, entries, json_map, string, strings, unknown_key};
use super::{Frame, Playbook, Task};
use crate::builtin::{self, Source};
use crate::error::{did_you_mean, Error, Result};
use crate::yaml::{self, Kind, Node};

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
            let display = crate::builtin::display("playbooks", &format!("{builtin_name}.yml"));
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

impl Lowering<'_> {
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
        if crate::base::text::contains_template(&rel) {
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
}
