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
use crate::inventory::de;
use crate::yaml::{Node, Span};

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
        let raw: Raw = de::from_node(node).map_err(|e| {
            let span = e.span.clone().unwrap_or_else(|| node.span.clone());
            let key = if e.path.is_empty() {
                "pg_pitr".to_string()
            } else {
                format!("pg_pitr.{}", e.key())
            };
            let err = Error::invalid(&span, key, e.message.clone());
            match e.hint.clone() {
                Some(h) => err.with_hint(h),
                None => err,
            }
        })?;

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
            crate::inventory::check_repo_with(repo, "pg_pitr.repo", &repo_span)?;
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

/// A restore point name as `pg_create_restore_point` takes it.
pub fn restore_point(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("a restore point name cannot be empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "'{name}' is {} bytes; PostgreSQL keeps restore point names to 63 bytes, so this name cannot match one",
            name.len()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "{name:?} contains a control character (newline, tab, ...)"
        ));
    }
    Ok(name.to_string())
}

/// A transaction id: 1 .. 2^32-1.
pub fn xid(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=u32::MAX as u64).contains(&n) => Ok(n as u32),
        Ok(n) => Err(format!("{n} is not a transaction id (1 to 4294967295)")),
        Err(_) => Err(format!(
            "'{text}' is not a transaction id: a whole number from 1 to 4294967295"
        )),
    }
}

/// A pgBackRest backup label: `YYYYMMDD-HHMMSSF`, or a differential/incremental one
/// `YYYYMMDD-HHMMSSF_YYYYMMDD-HHMMSS(D|I)`.
pub fn label(text: &str) -> Result<String, String> {
    let stamp = |s: &str| {
        s.len() == 15
            && s.as_bytes()[8] == b'-'
            && s.chars()
                .enumerate()
                .all(|(i, c)| i == 8 || c.is_ascii_digit())
    };
    let ok = match text.split_once('_') {
        None => text.len() == 16 && text.ends_with('F') && stamp(&text[..15]),
        Some((full, rest)) => {
            full.len() == 16
                && full.ends_with('F')
                && stamp(&full[..15])
                && rest.len() == 16
                && (rest.ends_with('D') || rest.ends_with('I'))
                && stamp(&rest[..15])
        }
    };
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not a pgBackRest backup label (like 20261203-080201F or 20261203-080201F_20261203-090000I; see pgplay pgsql-backup -t info)"
        ))
    }
}

/// A stanza (cluster) name.
pub fn stanza(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && !text.starts_with(['-', '.'])
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not a stanza name (letters, digits, '-', '_' and '.'; it is the source cluster's pg_cluster)"
        ))
    }
}

fn databases(names: Vec<String>) -> Result<Vec<String>, String> {
    for n in &names {
        if n.is_empty() || n.len() > 63 || n.chars().any(char::is_control) {
            return Err(format!(
                "{n:?} is not a database name (1-63 bytes, one line)"
            ));
        }
    }
    Ok(names)
}

/// A clean absolute path: one line, starts with '/', no '.' or '..' parts, not '/' itself.
pub fn abs_path(text: &str) -> Result<String, String> {
    if text.contains(['\n', '\r', '\0']) {
        return Err(format!("{text:?} spans more than one line"));
    }
    if !text.starts_with('/') {
        return Err(format!("'{text}' is not an absolute path"));
    }
    let parts: Vec<&str> = text.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Err("'/' cannot be a data directory".into());
    }
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(format!(
            "'{text}' has '.' or '..' in it: write the path plainly"
        ));
    }
    if parts.iter().any(|p| p.chars().any(char::is_control)) {
        return Err(format!("{text:?} contains a control character"));
    }
    Ok(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> std::result::Result<Pitr, String> {
        let node = crate::yaml::load("-e #1", yaml).map_err(|e| e.message)?;
        let pg = node.get("pg_pitr").cloned().ok_or("no pg_pitr")?;
        Pitr::from_node(&pg).map_err(|e| e.to_string())
    }

    #[test]
    fn targets() {
        let t = |y: &str| parse(y).map(|p| (p.target.kind(), p.target.value()));
        assert_eq!(t("pg_pitr: {}"), Ok(("default", None)));
        assert_eq!(t("pg_pitr: {type: latest}"), Ok(("default", None)));
        assert_eq!(t("pg_pitr: {type: immediate}"), Ok(("immediate", None)));
        assert_eq!(
            t("pg_pitr: {time: '2026-07-13 18:00:00+08'}"),
            Ok(("time", Some("2026-07-13 10:00:00+00".into())))
        );
        assert_eq!(
            t("pg_pitr: {xid: 250000, exclusive: true}"),
            Ok(("xid", Some("250000".into())))
        );
        assert_eq!(
            t("pg_pitr: {xid: '4294967295'}"),
            Ok(("xid", Some("4294967295".into())))
        );
        assert_eq!(
            t("pg_pitr: {lsn: 0/4001c80, timeline: '1'}"),
            Ok(("lsn", Some("0/4001C80".into())))
        );
        assert_eq!(
            t("pg_pitr: {name: \"it's \\\"here\\\"\"}"),
            Ok(("name", Some("it's \"here\"".into())))
        );
        assert_eq!(
            t("pg_pitr: {type: time, time: '2026-07-13 10:00:00Z'}").map(|x| x.0),
            Ok("time")
        );
    }

    #[test]
    fn refusals_name_the_field() {
        for (yaml, needles) in [
            (
                "pg_pitr: {time: '2026-07-13 10:00:00+00', xid: 5}",
                &["pg_pitr.xid", "two recovery targets: time and xid"][..],
            ),
            (
                "pg_pitr: {type: xid, time: '2026-07-13 10:00:00+00'}",
                &["pg_pitr.type", "disagrees"],
            ),
            (
                "pg_pitr: {type: lsn}",
                &["pg_pitr.type", "needs pg_pitr.lsn"],
            ),
            (
                "pg_pitr: {type: imediate}",
                &["pg_pitr.type", "did you mean 'immediate'"],
            ),
            ("pg_pitr: {xid: 0}", &["pg_pitr.xid", "1 to 4294967295"]),
            ("pg_pitr: {xid: 4294967296}", &["pg_pitr.xid"]),
            ("pg_pitr: {xid: -3}", &["pg_pitr.xid"]),
            ("pg_pitr: {xid: abc}", &["pg_pitr.xid"]),
            ("pg_pitr: {lsn: 0/XYZ}", &["pg_pitr.lsn", "not an LSN"]),
            (
                "pg_pitr: {time: '2026-07-13 10:00:00'}",
                &["pg_pitr.time", "no time zone"],
            ),
            ("pg_pitr: {time: 'tomorrow'}", &["pg_pitr.time"]),
            ("pg_pitr: {name: ''}", &["pg_pitr.name", "empty"]),
            (
                "pg_pitr: {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}",
                &["pg_pitr.name", "64 bytes"],
            ),
            (
                "pg_pitr: {tme: '2026-07-13 10:00:00+00'}",
                &["pg_pitr", "unknown key 'tme'", "did you mean 'time'"],
            ),
            ("pg_pitr: {exclusive: maybe}", &["pg_pitr.exclusive"]),
            (
                "pg_pitr: {exclusive: true}",
                &["pg_pitr.exclusive", "applies to time, xid and lsn"],
            ),
            (
                "pg_pitr: {name: x, exclusive: true}",
                &["pg_pitr.exclusive"],
            ),
            (
                "pg_pitr: {action: promot, xid: 5}",
                &["pg_pitr.action", "did you mean 'promote'"],
            ),
            (
                "pg_pitr: {action: pause}",
                &["pg_pitr.action", "needs a target"],
            ),
            ("pg_pitr: {timeline: two}", &["pg_pitr.timeline"]),
            ("pg_pitr: {timeline: 0, xid: 5}", &["pg_pitr.timeline"]),
            (
                "pg_pitr: {type: immediate, timeline: latest}",
                &["pg_pitr.timeline", "immediate"],
            ),
            (
                "pg_pitr: {data: pg/data}",
                &["pg_pitr.data", "not an absolute path"],
            ),
            (
                "pg_pitr: {data: \"/pg/data\\nrepo1-path=/evil\"}",
                &["pg_pitr.data", "more than one line"],
            ),
            ("pg_pitr: {data: /pg/../etc}", &["pg_pitr.data", "'..'"]),
            ("pg_pitr: {data: /}", &["pg_pitr.data"]),
            (
                "pg_pitr: {set: latestt}",
                &["pg_pitr.set", "not a pgBackRest backup label"],
            ),
            ("pg_pitr: {set: 20261203-080201I}", &["pg_pitr.set"]),
            (
                "pg_pitr: {cluster: 'pg meta'}",
                &["pg_pitr.cluster", "not a stanza name"],
            ),
            ("pg_pitr: {cluster: '../x'}", &["pg_pitr.cluster"]),
            (
                "pg_pitr: {db_include: [meta], db_exclude: [meta]}",
                &["pg_pitr.db_exclude", "both included"],
            ),
            ("pg_pitr: {process: 0}", &["pg_pitr.process"]),
            ("pg_pitr: {port: 70000}", &["pg_pitr.port"]),
            (
                "pg_pitr: {link_map: {pg_wal: data/wal}}",
                &["pg_pitr.link_map", "absolute"],
            ),
            (
                "pg_pitr: {repo: {type: s3}}",
                &["pg_pitr.repo", "s3_endpoint"],
            ),
            (
                "pg_pitr: {repo: {pth: /x}}",
                &["pg_pitr.repo.pth", "did you mean 'path'"],
            ),
            ("pg_pitr: '2026-07-13'", &["pg_pitr", "expected a mapping"]),
            ("pg_pitr: ", &["pg_pitr", "empty"]),
        ] {
            match parse(yaml) {
                Ok(p) => panic!("{yaml} accepted: {p:?}"),
                Err(e) => {
                    for n in needles {
                        assert!(e.contains(n), "{yaml}: wanted {n:?} in {e}");
                    }
                    assert!(e.contains("-e #1:"), "{yaml}: no place in {e}");
                }
            }
        }
    }

    #[test]
    fn a_time_is_described_in_utc_and_as_written() {
        let d = |s: &str| PgTime::parse(s).map(|t| Target::Time(t).describe());
        assert_eq!(
            d("2026-07-13 18:00:00+08"),
            Ok("time 2026-07-13 10:00:00+00 (written 2026-07-13 18:00:00+08)".into())
        );
        assert_eq!(
            d("2026-07-13 10:00:00.5+00"),
            Ok("time 2026-07-13 10:00:00.5+00".into())
        );
    }

    #[test]
    fn labels_and_paths() {
        assert!(label("20261203-080201F").is_ok());
        assert!(label("20261203-080201F_20261203-090000I").is_ok());
        assert!(label("20261203-080201F_20261203-090000D").is_ok());
        for bad in [
            "20261203-080201",
            "20261203-080201D",
            "2026120-080201F",
            "20261203-080201F_x",
            "latest; rm -rf /",
        ] {
            assert!(label(bad).is_err(), "{bad}");
        }
        assert_eq!(abs_path("/pg/data1/"), Ok("/pg/data1".into()));
        assert_eq!(abs_path("//pg//data"), Ok("/pg/data".into()));
    }

    #[test]
    fn options_are_kept() {
        let p = parse("pg_pitr: {cluster: pg-meta, set: 20261203-080201F, archive: false, backup: true, db_exclude: [test], link_map: {pg_wal: /data/wal}, process: 4, data: /pg/data9, port: 15432, timeline: current, action: promote, time: '2026-07-13 10:00:00+00'}");
        let p = match p {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(p.source.as_deref(), Some("pg-meta"));
        assert_eq!(p.set.as_deref(), Some("20261203-080201F"));
        assert_eq!(p.archive, Some(false));
        assert!(p.backup);
        assert_eq!(
            p.link_map,
            vec![("pg_wal".to_string(), "/data/wal".to_string())]
        );
        assert_eq!(p.timeline, Some(Timeline::Current));
        assert_eq!(p.action(), Action::Promote);
        assert_eq!(p.data.as_deref(), Some("/pg/data9"));
        assert_eq!(p.port, Some(15432));
    }
}
