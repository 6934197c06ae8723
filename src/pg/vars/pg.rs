//! The PostgreSQL identity of a host (`pg_cluster`, `pg_seq`, `pg_role`, `pg_dbsu`,
//! `pg_port`, ...), its pgBackRest repository (`repo.rs`) and `pg_crontab`, checked.
//!
//! A host is a PostgreSQL host when it has `pg_cluster`. Without a right identity it cannot
//! be placed in its cluster at all; a wrong repository, path or `pg_crontab` is a problem of
//! its own and leaves the rest of the view usable.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::paths::{check_path_var, is_user_name, PATH_VARS};
use super::repo::repo_of;
use crate::error::{did_you_mean, Error, Result};
use crate::pg::crontab;
use crate::vars::HostVars;
use crate::vars::Problem;
use crate::yaml::{Node, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgRole {
    Primary,
    Replica,
    Offline,
}

impl PgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PgRole::Primary => "primary",
            PgRole::Replica => "replica",
            PgRole::Offline => "offline",
        }
    }
}

/// The typed PostgreSQL view of a host: what the run asks of the inventory as a whole — which
/// hosts form a cluster, which is its primary and on what port, which repository it backs up
/// to (`guard.rs`, `pg_leader`, the PITR's `start`). The other identity variables (`pg_seq`,
/// `pg_dbsu`, `pg_data`, `pgbackrest_enabled`, `pgbackrest_init_backup`, `pg_crontab`,
/// `pg_databases`) are
/// checked here but not kept: what a task uses of them is read, rendered, from its own
/// variables when it runs (`pitr::Member`), since a template, `set_fact` or `-e` may change
/// them after the inventory is loaded.
#[derive(Clone, Debug)]
pub struct PgVars {
    pub cluster: String,
    pub role: PgRole,
    pub port: u16,
    /// The chosen repository's name (`pgbackrest_method`).
    pub method: String,
    /// Its definition as written in the inventory (empty: Pigsty's preset of that name).
    pub repo: Map<String, Value>,
}

impl PgVars {
    /// `None` for hosts that are not PostgreSQL hosts (no `pg_cluster`), and for hosts whose
    /// identity is wrong (the problem says why). A wrong repository or `pg_crontab` is a
    /// problem of its own: the rest of the host's PostgreSQL view stays usable.
    pub fn from_vars(
        host: &Span,
        vars: &Map<String, Value>,
        nodes: &HashMap<String, Arc<Node>>,
    ) -> (Option<PgVars>, Vec<Problem>) {
        let mut problems = Vec::new();
        match Self::read(host, vars, nodes, &mut problems) {
            Ok(pg) => (pg, problems),
            Err(e) => {
                // Without its identity the host cannot be placed in its cluster at all.
                problems.push(Problem::new(e, host, &["pg_cluster", "pg_role"]));
                (None, problems)
            }
        }
    }

    fn read(
        host: &Span,
        vars: &Map<String, Value>,
        nodes: &HashMap<String, Arc<Node>>,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<PgVars>> {
        let c = HostVars { vars, nodes, host };
        let cluster = match vars.get("pg_cluster") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(v) => {
                return Err(Error::invalid(
                    c.span("pg_cluster"),
                    "pg_cluster",
                    format!("expected a cluster name, found {v}"),
                ))
            }
        };
        if !cluster
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return Err(Error::invalid(
                c.span("pg_cluster"),
                "pg_cluster",
                format!("'{cluster}' may hold only letters, digits, '-' and '_' (it names the backup stanza)"),
            ));
        }
        let role = match c.string("pg_role", "replica")?.as_str() {
            "primary" => PgRole::Primary,
            "replica" => PgRole::Replica,
            "offline" => PgRole::Offline,
            other => {
                let err = Error::invalid(
                    c.span("pg_role"),
                    "pg_role",
                    format!("'{other}' is not a role (primary, replica or offline)"),
                );
                return Err(
                    match did_you_mean(other, ["primary", "replica", "offline"]) {
                        Some(h) => err.with_hint(h),
                        None => err,
                    },
                );
            }
        };
        if !vars.contains_key("pg_seq") {
            return Err(Error::invalid(
                host,
                "pg_seq",
                format!("host of cluster '{cluster}' has no pg_seq"),
            )
            .with_hint("give every instance a number: { pg_seq: 1, pg_role: primary }"));
        }
        c.uint("pg_seq", 0, u32::MAX as u64)?;
        let port = c.uint("pg_port", 5432, 65535)? as u16;
        c.bool("pgbackrest_enabled", true)?;
        let method = c.string("pgbackrest_method", "local")?;
        let repo = match repo_of(&c, &method) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem::new(
                    e,
                    host,
                    &["pgbackrest_repo", "pgbackrest_method"],
                ));
                Map::new()
            }
        };
        if let Err(e) = pg_crontab(&c) {
            problems.push(Problem::new(e, host, &[]));
        }
        if let Some(node) = nodes
            .get("pg_databases")
            .filter(|_| !c.templated("pg_databases"))
        {
            if let Err(e) = crate::pg::databases::from_node(node) {
                problems.push(Problem::new(e, host, &[]));
            }
        }
        for key in PATH_VARS {
            if let Err(e) = check_path_var(&c, key) {
                problems.push(Problem::new(e, host, &[]));
            }
        }
        let dbsu = c.string("pg_dbsu", "postgres")?;
        if !is_user_name(&dbsu) && !c.templated("pg_dbsu") {
            return Err(Error::invalid(
                c.span("pg_dbsu"),
                "pg_dbsu",
                format!("{dbsu:?} is not a user name (letters, digits, '_', '-', '.'; not starting with '-')"),
            ));
        }
        c.string("pg_data", "/pg/data")?;
        c.bool("pgbackrest_init_backup", true)?;
        Ok(Some(PgVars {
            cluster,
            role,
            port,
            method,
            repo,
        }))
    }
}

/// `pg_crontab`: the dbsu's own crontab lines (no user field).
fn pg_crontab(c: &HostVars<'_>) -> Result<Vec<String>> {
    let Some(node) = c.nodes.get("pg_crontab") else {
        return Ok(Vec::new());
    };
    let items = crate::vars::list(
        node,
        "pg_crontab",
        "crontab lines",
        "pg_crontab: [ '00 01 * * * /pg/bin/pg-backup full' ]",
    )?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let key = format!("pg_crontab[{i}]");
        let Some(line) = item.as_str() else {
            return Err(Error::invalid(
                &item.span,
                key,
                format!(
                    "a crontab entry must be a string, found {}",
                    item.type_name()
                ),
            ));
        };
        if crate::base::text::contains_template(line) {
            out.push(line.to_string());
            continue;
        }
        crontab::parse_line(line, false).map_err(|e| {
            Error::invalid(&item.span, key, format!("invalid crontab line {line:?}: {e}"))
                .with_hint("a pg_crontab line is: minute hour day month weekday command (no user: it is the dbsu's own crontab)")
        })?;
        out.push(line.to_string());
    }
    Ok(out)
}
