//! Typed views of the variables pgplay acts on, checked once at load time.
//!
//! Pigsty's domain variables (`node_crontab`, `node_crontab_overwrite`, pg identity,
//! `pgbackrest_*`, `pg_pitr`) are read from a host's merged variables into Rust types here
//! (connection variables: `conn.rs`). A wrong type or value is
//! refused before any host is touched, with the file, line and key where it was set.
//! Values that still contain a template (`{{ ... }}`) are checked when rendered instead.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::Problem;
use crate::crontab::{self, CronEntry};
use crate::error::{Error, Result};
use crate::yaml::{Node, Span};

/// Pigsty domain variables, typed.
#[derive(Clone, Debug, Default)]
pub struct Domain {
    /// `node_crontab`: `/etc/crontab` lines (schedule, user, command).
    pub node_crontab: Vec<CronEntry>,
    /// `node_crontab_overwrite`: replace /etc/crontab (true, Pigsty's default) or append.
    pub node_crontab_overwrite: bool,
    /// PostgreSQL identity, pgBackRest and pg_crontab, for hosts with `pg_cluster`.
    pub pg: Option<super::PgVars>,
}

/// Where a variable was set, falling back to the host's own line.
pub(super) fn span_of<'a>(
    nodes: &'a HashMap<String, Arc<Node>>,
    key: &str,
    host: &'a Span,
) -> &'a Span {
    nodes.get(key).map(|n| &n.span).unwrap_or(host)
}

/// Ansible's boolean conversion for a typed variable.
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "on" | "1" | "t" => Some(true),
            "no" | "n" | "false" | "off" | "0" | "f" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn is_template(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.contains("{{") || s.contains("{%"))
}

pub(super) fn get_bool(
    vars: &Map<String, Value>,
    nodes: &HashMap<String, Arc<Node>>,
    host: &Span,
    key: &str,
    default: bool,
) -> Result<bool> {
    match vars.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) if is_template(v) => Ok(default),
        Some(v) => as_bool(v).ok_or_else(|| {
            Error::invalid(
                span_of(nodes, key, host),
                key,
                format!("expected true or false, found {v}"),
            )
        }),
    }
}

pub(super) fn get_string(
    vars: &Map<String, Value>,
    nodes: &HashMap<String, Arc<Node>>,
    host: &Span,
    key: &str,
) -> Result<Option<String>> {
    match vars.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(v) => Err(Error::invalid(
            span_of(nodes, key, host),
            key,
            format!("expected a string, found {v}"),
        )),
    }
}

/// `~/x` → `$HOME/x`.
pub fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().unwrap_or_default().join(rest),
        None => PathBuf::from(path),
    }
}

impl Domain {
    /// The typed view, and the problems found (each part read on its own: a wrong
    /// `node_crontab` leaves the PostgreSQL view usable, and the other way round).
    pub fn from_vars(
        host: &Span,
        vars: &Map<String, Value>,
        nodes: &HashMap<String, Arc<Node>>,
    ) -> (Domain, Vec<Problem>) {
        let (pg, mut problems) = super::PgVars::from_vars(host, vars, nodes);
        let node_crontab = node_crontab(nodes).unwrap_or_else(|e| {
            problems.push(Problem::new(e, host, &[]));
            Vec::new()
        });
        let node_crontab_overwrite = get_bool(vars, nodes, host, "node_crontab_overwrite", true)
            .unwrap_or_else(|e| {
                problems.push(Problem::new(e, host, &[]));
                true
            });
        (
            Domain {
                pg,
                node_crontab,
                node_crontab_overwrite,
            },
            problems,
        )
    }
}

/// `node_crontab`: a list of `/etc/crontab` lines (with a user field).
fn node_crontab(nodes: &HashMap<String, Arc<Node>>) -> Result<Vec<CronEntry>> {
    {
        let node_crontab = match nodes.get("node_crontab") {
            None => Vec::new(),
            Some(node) if node.is_null() || is_template(&node.to_json()) => Vec::new(),
            Some(node) => {
                let lines: Vec<Node> = match &node.kind {
                    crate::yaml::Kind::Seq(items) => items.clone(),
                    _ => {
                        return Err(Error::invalid(
                            &node.span,
                            "node_crontab",
                            format!(
                                "expected a list of crontab lines, found {}",
                                node.type_name()
                            ),
                        )
                        .with_hint(
                            "node_crontab: [ '00 01 * * * postgres /pg/bin/pg-backup full' ]",
                        ))
                    }
                };
                let mut out = Vec::new();
                for (i, item) in lines.iter().enumerate() {
                    let key = format!("node_crontab[{i}]");
                    let line: String = match &item.kind {
                        crate::yaml::Kind::Str(s) => s.clone(),
                        _ => return Err(Error::invalid(
                            &item.span,
                            key,
                            format!(
                                "a crontab entry must be a string, found {}",
                                item.type_name()
                            ),
                        )
                        .with_hint(
                            "quote the whole line: '00 01 * * * postgres /pg/bin/pg-backup full'",
                        )),
                    };
                    if is_template(&Value::String(line.clone())) {
                        continue;
                    }
                    let entry = crontab::parse_line(&line, true).map_err(|e| {
                        Error::invalid(
                            &item.span,
                            key,
                            format!("invalid crontab line {line:?}: {e}"),
                        )
                        .with_hint(
                            "an /etc/crontab line is: minute hour day month weekday user command, \
                                 e.g. '00 01 * * * postgres /pg/bin/pg-backup full'",
                        )
                    })?;
                    out.push(entry);
                }
                out
            }
        };
        Ok(node_crontab)
    }
}
