//! `pg_pitr`: the recovery a user asks for, typed and checked before any host is contacted.
//!
//! Pigsty's playbook checks the target in a Jinja template at run time (and only some of it);
//! here every field is read into a Rust type when the run is planned, so a mistyped field,
//! two targets at once, an XID out of range, a malformed LSN or time, a restore-point name
//! PostgreSQL would truncate, or a data path that is not a clean absolute path is refused with
//! the file, line and key where it was written — before anything is stopped.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Lsn, PgTime};
use crate::error::{did_you_mean, Error, Result};
use crate::vars::de;
use crate::yaml::{Node, Span};

mod values;
use values::databases;
pub use values::*;

/// Every key `pg_pitr` accepts (Pigsty's, in its order).
pub const KEYS: &[&str] = &[
    "cluster",
    "type",
    "time",
    "name",
    "xid",
    "lsn",
    "set",
    "timeline",
    "exclusive",
    "action",
    "archive",
    "db_include",
    "db_exclude",
    "link_map",
    "process",
    "repo",
    "backup",
    "data",
    "port",
];

/// What each key of `pg_pitr` means (`pgplay help pgsql-pitr`), in the order of `KEYS`.
pub const FIELDS: &[(&str, &str)] = &[
    (
        "cluster",
        "restore from this cluster's stanza (a clone) [this cluster]",
    ),
    (
        "type",
        "immediate (end of the backup), time, xid, name, lsn, or default (latest WAL)",
    ),
    (
        "time",
        "recover to this time, with a zone: 2026-07-13 10:00:00+00",
    ),
    (
        "name",
        "recover to this restore point (pg_create_restore_point)",
    ),
    ("xid", "recover to this transaction id (1..2^32-1)"),
    ("lsn", "recover to this WAL position: 0/7C82CB8"),
    (
        "set",
        "the backup set to restore (a pgBackRest label) [newest before the target]",
    ),
    ("timeline", "latest, current or a number [current]"),
    (
        "exclusive",
        "true: stop just before the target (time, xid, lsn)",
    ),
    (
        "action",
        "at the target: pause (read-only, inspect), promote or shutdown [pause]",
    ),
    (
        "archive",
        "keep archiving during recovery [preserve for its own stanza]",
    ),
    ("db_include", "restore only these databases"),
    ("db_exclude", "leave these databases out"),
    ("link_map", "tablespace links: {name: path}"),
    ("process", "pgBackRest processes for the restore"),
    (
        "repo",
        "a repository definition instead of pgbackrest_repo[pgbackrest_method]",
    ),
    (
        "backup",
        "true: move the data directory aside first (a dated name)",
    ),
    ("data", "restore into this directory instead (a rehearsal)"),
    ("port", "the rehearsal's port"),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    cluster: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    time: Option<String>,
    name: Option<String>,
    xid: Option<String>,
    lsn: Option<String>,
    set: Option<String>,
    timeline: Option<String>,
    exclusive: Option<bool>,
    action: Option<String>,
    archive: Option<bool>,
    db_include: Option<Vec<String>>,
    db_exclude: Option<Vec<String>>,
    link_map: Option<IndexMap<String, String>>,
    process: Option<u32>,
    repo: Option<Map<String, Value>>,
    backup: Option<bool>,
    data: Option<String>,
    port: Option<u16>,
}

/// Where recovery stops.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The end of the archived WAL (`type: default` / `latest`, or nothing given).
    Latest,
    /// The first consistent point of the backup set.
    Immediate,
    Time(PgTime),
    /// A restore point made with `pg_create_restore_point`.
    Name(String),
    Xid(u32),
    Lsn(Lsn),
}

impl Target {
    /// pgBackRest's `--type` value.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Latest => "default",
            Target::Immediate => "immediate",
            Target::Time(_) => "time",
            Target::Name(_) => "name",
            Target::Xid(_) => "xid",
            Target::Lsn(_) => "lsn",
        }
    }

    /// The `--target` value, if this type has one.
    pub fn value(&self) -> Option<String> {
        match self {
            Target::Latest | Target::Immediate => None,
            Target::Time(t) => Some(t.utc()),
            Target::Name(n) => Some(n.clone()),
            Target::Xid(x) => Some(x.to_string()),
            Target::Lsn(l) => Some(l.to_string()),
        }
    }

    /// A phrase for plans and messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Latest => "the end of the archived WAL (latest)".into(),
            Target::Immediate => "the first consistent point of the backup (immediate)".into(),
            Target::Time(t) => {
                let text = t.text.trim().to_ascii_uppercase();
                let utc = ["+00", "+00:00", "+0000", "Z", "UTC", "GMT", "-00"]
                    .iter()
                    .any(|z| text.ends_with(z));
                if utc {
                    format!("time {}", t.utc())
                } else {
                    format!("time {} (written {})", t.utc(), t.text.trim())
                }
            }
            Target::Name(n) => format!("restore point {n:?}"),
            Target::Xid(x) => format!("transaction {x}"),
            Target::Lsn(l) => format!("LSN {l}"),
        }
    }
}

/// `timeline`: which history recovery follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeline {
    Latest,
    /// The backup's own timeline.
    Current,
    Id(u32),
}

impl Timeline {
    pub fn setting(self) -> String {
        match self {
            Timeline::Latest => "latest".into(),
            Timeline::Current => "current".into(),
            Timeline::Id(n) => n.to_string(),
        }
    }
}

/// What happens when the target is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Stay in recovery, read-only, for inspection.
    Pause,
    Promote,
    Shutdown,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Promote => "promote",
            Action::Shutdown => "shutdown",
        }
    }
}

/// A validated `pg_pitr`.
#[derive(Clone, Debug)]
pub struct Pitr {
    /// The stanza to restore from (`cluster`); `None`: the host's own cluster.
    pub source: Option<String>,
    pub target: Target,
    /// A backup set label; `None`: pgplay picks the newest one the target can use.
    pub set: Option<String>,
    /// `None`: pgplay decides from the repository's timelines (see `window.rs`).
    pub timeline: Option<Timeline>,
    pub exclusive: bool,
    /// `None`: pause (Pigsty's default).
    pub action: Option<Action>,
    /// `None`: preserve for the cluster's own stanza, off for another cluster's.
    pub archive: Option<bool>,
    pub db_include: Vec<String>,
    pub db_exclude: Vec<String>,
    pub link_map: Vec<(String, String)>,
    pub process: Option<u32>,
    /// A repository definition overriding the host's `pgbackrest_repo[pgbackrest_method]`.
    pub repo: Option<Map<String, Value>>,
    /// Move the data directory aside (under a dated name) before restoring.
    pub backup: bool,
    pub data: Option<String>,
    pub port: Option<u16>,
    /// Where `pg_pitr` was written.
    pub span: Span,
}

impl Pitr {
    pub fn action(&self) -> Action {
        self.action.unwrap_or(Action::Pause)
    }

    /// Read and check `pg_pitr` from a plain value (a task's variables: already merged, the
    /// places are gone; the inventory's copy was checked with places before the run).
    pub fn from_value(value: &Value) -> Result<Pitr> {
        let node = crate::yaml::Node::from_json(value, "pg_pitr");
        Pitr::from_node(&node)
    }

    /// Read and check `pg_pitr` from its node.
    pub fn from_node(node: &Node) -> Result<Pitr> {
        let key_span = |k: &str| -> Span {
            node.as_map()
                .and_then(|m| m.iter().rev().find(|(key, _)| key.key_text() == k))
                .map(|(_, v)| v.span.clone())
                .unwrap_or_else(|| node.span.clone())
        };
        let bad = |k: &str, msg: String| Error::invalid(&key_span(k), format!("pg_pitr.{k}"), msg);
        if node.as_map().is_none() {
            if node.is_null() {
                return Err(Error::invalid(&node.span, "pg_pitr", "pg_pitr is empty (null)")
                    .with_hint("write pg_pitr: {} to recover to the end of the archived WAL, or give a target: pg_pitr: { time: '2026-07-13 10:00:00+00' }"));
            }
            return Err(Error::invalid(
                &node.span,
                "pg_pitr",
                format!(
                    "expected a mapping of recovery options, found {}",
                    node.type_name()
                ),
            )
            .with_hint("e.g. -e '{\"pg_pitr\": {\"time\": \"2026-07-13 10:00:00+00\"}}'"));
        }
        let raw: Raw = de::from_node(node).map_err(|e| e.into_error("pg_pitr", node))?;

        // The target: at most one of time/name/xid/lsn, agreeing with `type`.
        let given: Vec<&str> = [
            ("time", raw.time.is_some()),
            ("name", raw.name.is_some()),
            ("xid", raw.xid.is_some()),
            ("lsn", raw.lsn.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        if given.len() > 1 {
            return Err(bad(
                given[1],
                format!(
                    "two recovery targets: {} and {} (a recovery stops at one target)",
                    given[0], given[1]
                ),
            )
            .with_hint("keep one of time, name, xid and lsn"));
        }
        let kind = raw.kind.as_deref().map(str::trim);
        const KINDS: [&str; 7] = [
            "default",
            "latest",
            "immediate",
            "time",
            "name",
            "xid",
            "lsn",
        ];
        if let Some(k) = kind {
            if !KINDS.contains(&k) {
                let err = bad(
                    "type",
                    format!("'{k}' is not a recovery type ({})", KINDS.join(", ")),
                );
                return Err(match did_you_mean(k, KINDS) {
                    Some(h) => err.with_hint(h),
                    None => err,
                });
            }
        }
        let target = match (given.first().copied(), kind) {
            (None, None | Some("default") | Some("latest")) => Target::Latest,
            (None, Some("immediate")) => Target::Immediate,
            (None, Some(k)) => {
                return Err(bad(
                    "type",
                    format!("type '{k}' needs pg_pitr.{k}, which is not given"),
                )
                .with_hint(format!(
                    "e.g. pg_pitr: {{ type: {k}, {k}: ... }} (or just pg_pitr: {{ {k}: ... }})"
                )))
            }
            (Some(t), Some(k)) if k != t => {
                return Err(bad(
                    "type",
                    format!("type '{k}' disagrees with the target pg_pitr.{t} that is given"),
                )
                .with_hint(format!(
                    "drop type (it follows from the target) or write type: {t}"
                )))
            }
            (Some("time"), _) => {
                let text = raw.time.clone().unwrap_or_default();
                Target::Time(PgTime::parse(&text).map_err(|m| bad("time", m))?)
            }
            (Some("name"), _) => Target::Name(
                restore_point(&raw.name.clone().unwrap_or_default()).map_err(|m| bad("name", m))?,
            ),
            (Some("xid"), _) => {
                Target::Xid(xid(&raw.xid.clone().unwrap_or_default()).map_err(|m| bad("xid", m))?)
            }
            (Some(_), _) => Target::Lsn(
                Lsn::parse(&raw.lsn.clone().unwrap_or_default()).map_err(|m| bad("lsn", m))?,
            ),
        };

        let exclusive = raw.exclusive.unwrap_or(false);
        if exclusive && !matches!(target, Target::Time(_) | Target::Xid(_) | Target::Lsn(_)) {
            return Err(bad(
                "exclusive",
                format!(
                    "exclusive applies to time, xid and lsn targets, not to {}",
                    target.kind()
                ),
            ));
        }
        let action = match raw.action.as_deref().map(str::trim) {
            None => None,
            Some("pause") => Some(Action::Pause),
            Some("promote") => Some(Action::Promote),
            Some("shutdown") => Some(Action::Shutdown),
            Some(other) => {
                let err = bad(
                    "action",
                    format!("'{other}' is not pause, promote or shutdown"),
                );
                return Err(
                    match did_you_mean(other, ["pause", "promote", "shutdown"]) {
                        Some(h) => err.with_hint(h),
                        None => err,
                    },
                );
            }
        };
        if target == Target::Latest && matches!(action, Some(Action::Pause | Action::Shutdown)) {
            return Err(bad(
                "action",
                format!(
                    "action {} needs a target: recovering to the end of the WAL always ends recovery (the server is promoted)",
                    action.map(Action::as_str).unwrap_or_default()
                ),
            )
            .with_hint("give a target (time, name, xid, lsn or type: immediate), or drop action"));
        }
        let timeline = match raw.timeline.as_deref().map(str::trim) {
            None => None,
            Some("latest") => Some(Timeline::Latest),
            Some("current") => Some(Timeline::Current),
            Some(n) => match n.parse::<u32>() {
                Ok(id) if id >= 1 => Some(Timeline::Id(id)),
                _ => {
                    return Err(bad(
                        "timeline",
                        format!("'{n}' is not a timeline: write latest, current or a timeline number (1, 2, ...)"),
                    ))
                }
            },
        };
        if target == Target::Immediate
            && matches!(timeline, Some(Timeline::Latest | Timeline::Id(_)))
        {
            return Err(bad(
                "timeline",
                "type immediate stops where the backup becomes consistent, on the backup's own timeline: a timeline cannot be chosen".into(),
            ));
        }
        let source = match raw.cluster {
            None => None,
            Some(c) => Some(stanza(&c).map_err(|m| bad("cluster", m))?),
        };
        let set = match raw.set.as_deref().map(str::trim) {
            None | Some("latest") => None,
            Some(l) => Some(label(l).map_err(|m| bad("set", m))?),
        };
        let db_include =
            databases(raw.db_include.unwrap_or_default()).map_err(|m| bad("db_include", m))?;
        let db_exclude =
            databases(raw.db_exclude.unwrap_or_default()).map_err(|m| bad("db_exclude", m))?;
        if let Some(both) = db_include.iter().find(|d| db_exclude.contains(d)) {
            return Err(bad(
                "db_exclude",
                format!(
                    "database '{both}' is both included (db_include) and excluded (db_exclude)"
                ),
            ));
        }
        let mut link_map = Vec::new();
        for (link, path) in raw.link_map.unwrap_or_default() {
            if link.is_empty() || link.contains(['=', '\n', '\r']) || link.starts_with('/') {
                return Err(bad(
                    "link_map",
                    format!("'{link}' is not a link of the data directory (e.g. pg_wal or pg_tblspc/16384)"),
                ));
            }
            let clean = abs_path(&path).map_err(|m| bad("link_map", format!("{link}: {m}")))?;
            link_map.push((link, clean));
        }
        if let Some(p) = raw.process {
            if !(1..=999).contains(&p) {
                return Err(bad(
                    "process",
                    format!("{p} is not a process count from 1 to 999"),
                ));
            }
        }
        let data = match raw.data {
            None => None,
            Some(d) => Some(abs_path(&d).map_err(|m| bad("data", m))?),
        };
        if raw.port == Some(0) {
            return Err(bad("port", "port 0 is not a port".into()));
        }
        if let Some(repo) = &raw.repo {
            if repo.is_empty() {
                return Err(bad("repo", "an empty repository definition".into())
                    .with_hint("drop repo to use pgbackrest_repo[pgbackrest_method], or define one: { type: s3, s3_endpoint: ..., ... }"));
            }
            let repo_span = |k: &str| -> Span {
                node.get("repo")
                    .and_then(|r| r.as_map())
                    .and_then(|m| m.iter().find(|(key, _)| key.key_text() == k))
                    .map(|(key, _)| key.span.clone())
                    .unwrap_or_else(|| key_span("repo"))
            };
            crate::pg::check_repo_with(repo, "pg_pitr.repo", &repo_span)?;
        }
        Ok(Pitr {
            source,
            target,
            set,
            timeline,
            exclusive,
            action,
            archive: raw.archive,
            db_include,
            db_exclude,
            link_map,
            process: raw.process,
            repo: raw.repo,
            backup: raw.backup.unwrap_or(false),
            data,
            port: raw.port,
            span: node.span.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
