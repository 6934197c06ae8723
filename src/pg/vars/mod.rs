//! Pigsty's variables, typed: the domain pgplay acts on, as the inventory says it.
//!
//! Pigsty's domain variables (`node_crontab`, `node_crontab_overwrite`, the PostgreSQL
//! identity `pg.rs`, the pgBackRest repository `repo.rs`, the paths and user names that
//! reach files and commands `paths.rs`) are read from a host's merged variables into Rust
//! types here, once, at load time (connection variables: `inventory/conn/`; `pg_pitr`: `pg::pitr`,
//! which reads it per run). A wrong type or value is kept as a `Problem`, refused before any
//! host is touched when the run reads it, with the file, line and key where it was set.
//! Values that still contain a template (`{{ ... }}`) are checked when rendered instead.

mod paths;
mod pg;
mod repo;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

pub use pg::{PgRole, PgVars};
pub use repo::{check_repo_with, DEFAULT_REPOS, REPO_KEYS};

use crate::error::{Error, Result};
use crate::pg::crontab::{self, CronEntry};
use crate::vars::Problem;
use crate::vars::{is_template, HostVars};
use crate::yaml::{Node, Span};

/// Pigsty domain variables, typed.
#[derive(Clone, Debug, Default)]
pub struct Domain {
    /// `node_crontab`: `/etc/crontab` lines (schedule, user, command).
    pub node_crontab: Vec<CronEntry>,
    /// `node_crontab_overwrite`: replace /etc/crontab (true, Pigsty's default) or append.
    pub node_crontab_overwrite: bool,
    /// PostgreSQL identity, pgBackRest and pg_crontab, for hosts with `pg_cluster`.
    pub pg: Option<PgVars>,
}

impl Domain {
    /// The typed view, and the problems found (each part read on its own: a wrong
    /// `node_crontab` leaves the PostgreSQL view usable, and the other way round).
    pub fn from_vars(
        host: &Span,
        vars: &Map<String, Value>,
        nodes: &HashMap<String, Arc<Node>>,
    ) -> (Domain, Vec<Problem>) {
        let (pg, mut problems) = PgVars::from_vars(host, vars, nodes);
        let node_crontab = node_crontab(nodes).unwrap_or_else(|e| {
            problems.push(Problem::new(e, host, &[]));
            Vec::new()
        });
        let node_crontab_overwrite = HostVars { vars, nodes, host }
            .bool("node_crontab_overwrite", true)
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
                let lines = crate::vars::list(
                    node,
                    "node_crontab",
                    "crontab lines",
                    "node_crontab: [ '00 01 * * * postgres /pg/bin/pg-backup full' ]",
                )?;
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
