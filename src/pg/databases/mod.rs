//! `pg_databases`: the databases a cluster defines, typed and checked before any host is
//! touched.
//!
//! Pigsty's definition objects (`{ name: meta_dev, template: meta, strategy: FILE_COPY }`)
//! are read with their places (`pg_databases[1].strategy` at `pigsty.yml:14:23`), every key
//! Pigsty knows is accepted and typed, and what cannot work is refused with the reason: an
//! unknown strategy, a template that is not another database of the cluster, a clone of
//! `postgres` (the spec: management connections keep it busy, so the clone fails), two
//! entries of one name. What pgplay does with a definition is in `sql.rs` (pure: statements
//! from a definition and what the server has) and the `pg_database` task module.

mod sql;
#[cfg(test)]
mod tests;

use serde::Deserialize;
use serde_json::{Map, Value};

pub use sql::{
    ident, in_db_inspect, inspect, literal, plan, Created, Existing, Found, Inside, Plan, Step,
};

use crate::error::{did_you_mean, Error, Result};
use crate::vars::de;
use crate::yaml::{Kind, Node, Span};

/// The databases every cluster has; a definition may use them as its template.
pub const BUILT_IN: &[&str] = &["template0", "template1", "postgres"];

/// Keys of a definition that pgplay reads but that belong to parts of Pigsty it does not
/// run (the connection pool, Grafana, baseline SQL files on the admin node): said when the
/// database is created, never silently dropped.
pub const NOT_APPLIED: &[&str] = &[
    "baseline",
    "pgbouncer",
    "register_datasource",
    "pool_auth_user",
    "pool_mode",
    "pool_size",
    "pool_size_min",
    "pool_reserve",
    "pool_size_reserve",
    "pool_connlimit",
    "pool_max_db_conn",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: String,
    owner: Option<String>,
    template: Option<String>,
    strategy: Option<String>,
    encoding: Option<String>,
    locale: Option<String>,
    lc_collate: Option<String>,
    lc_ctype: Option<String>,
    locale_provider: Option<String>,
    icu_locale: Option<String>,
    icu_rules: Option<String>,
    builtin_locale: Option<String>,
    tablespace: Option<String>,
    is_template: Option<bool>,
    allowconn: Option<bool>,
    revokeconn: Option<bool>,
    connlimit: Option<i64>,
    comment: Option<String>,
    schemas: Option<Vec<String>>,
    extensions: Option<Vec<Value>>,
    parameters: Option<Map<String, Value>>,
    state: Option<String>,
    // Typed so that a wrong value is refused, but not acted on (`NOT_APPLIED`).
    #[allow(dead_code)]
    baseline: Option<String>,
    #[allow(dead_code)]
    pgbouncer: Option<bool>,
    #[allow(dead_code)]
    register_datasource: Option<bool>,
    #[allow(dead_code)]
    pool_auth_user: Option<String>,
    #[allow(dead_code)]
    pool_mode: Option<String>,
    #[allow(dead_code)]
    pool_size: Option<i64>,
    #[allow(dead_code)]
    pool_size_min: Option<i64>,
    #[allow(dead_code)]
    pool_reserve: Option<i64>,
    #[allow(dead_code)]
    pool_size_reserve: Option<i64>,
    #[allow(dead_code)]
    pool_connlimit: Option<i64>,
    #[allow(dead_code)]
    pool_max_db_conn: Option<i64>,
}

/// How `CREATE DATABASE` copies the template (PostgreSQL 15+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Copy the files (a checkpoint, then the directory; instant with `file_copy_method =
    /// clone` on PostgreSQL 18 where the file system can clone).
    FileCopy,
    /// Copy block by block through the WAL (PostgreSQL 15's default).
    WalLog,
}

impl Strategy {
    pub fn as_sql(self) -> &'static str {
        match self {
            Strategy::FileCopy => "FILE_COPY",
            Strategy::WalLog => "WAL_LOG",
        }
    }
}

/// Pigsty's `state`: what the definition asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Create,
    Absent,
    Recreate,
}

/// An extension to create in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    pub schema: Option<String>,
    pub version: Option<String>,
}

/// One database definition, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Database {
    pub name: String,
    pub owner: Option<String>,
    pub template: Option<String>,
    pub strategy: Option<Strategy>,
    /// `CREATE DATABASE` options written as given: (option, value), e.g. ("ENCODING", "UTF8").
    pub create_options: Vec<(&'static str, String)>,
    pub is_template: Option<bool>,
    pub allowconn: Option<bool>,
    pub revokeconn: bool,
    pub connlimit: Option<i64>,
    /// Pigsty's default when none is given: `business database <name>`.
    pub comment: String,
    pub schemas: Vec<String>,
    pub extensions: Vec<Extension>,
    /// `ALTER DATABASE ... SET key = value`, in the order written.
    pub parameters: Vec<(String, String)>,
    pub state: State,
    /// Keys of `NOT_APPLIED` that the definition sets.
    pub not_applied: Vec<&'static str>,
}

impl Database {
    /// Whether this definition clones another database of the cluster (a template other
    /// than PostgreSQL's own `template0`/`template1`).
    pub fn clones(&self) -> Option<&str> {
        self.template
            .as_deref()
            .filter(|t| *t != "template0" && *t != "template1")
    }
}

/// `pg_databases` from a plain value (a task's variables: the places are gone; the
/// inventory's copy was checked with places at load).
pub fn from_value(value: &Value) -> Result<Vec<Database>> {
    from_node(&Node::from_json(value, "pg_databases"))
}

/// `pg_databases` from its node, every entry and the list as a whole checked.
pub fn from_node(node: &Node) -> Result<Vec<Database>> {
    let items = crate::vars::list(
        node,
        "pg_databases",
        "database definitions",
        "pg_databases: [ { name: meta }, { name: meta_dev, template: meta, strategy: FILE_COPY } ]",
    )?;
    let mut out: Vec<Database> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let db = entry(i, item)?;
        if let Some(first) = out.iter().position(|d| d.name == db.name) {
            return Err(Error::invalid(
                &field_span(item, "name"),
                format!("pg_databases[{i}].name"),
                format!(
                    "'{}' is defined twice (also pg_databases[{first}]): which definition would apply?",
                    db.name
                ),
            ));
        }
        out.push(db);
    }
    for (i, (db, item)) in out.iter().zip(items).enumerate() {
        check_template(i, db, item, &out)?;
    }
    Ok(out)
}

/// Where a key of an entry was written (the entry's own place when it is not there).
fn field_span(item: &Node, key: &str) -> Span {
    item.get(key)
        .map(|n| n.span.clone())
        .unwrap_or_else(|| item.span.clone())
}

fn entry(i: usize, item: &Node) -> Result<Database> {
    let at = |key: &str, message: String| {
        Error::invalid(
            &field_span(item, key),
            format!("pg_databases[{i}].{key}"),
            message,
        )
    };
    if item.as_map().is_none() {
        return Err(Error::invalid(
            &item.span,
            format!("pg_databases[{i}]"),
            format!(
                "expected a database definition (a mapping with a name), found {}",
                item.type_name()
            ),
        )
        .with_hint("- { name: meta_dev, template: meta, strategy: FILE_COPY }"));
    }
    let raw: Raw = de::from_node(item).map_err(|mut e| {
        if e.message.starts_with("missing field `name`") {
            e.message = "a database definition needs a name".into();
        }
        e.into_error(&format!("pg_databases[{i}]"), item)
    })?;
    name_ok(&raw.name).map_err(|m| at("name", m))?;
    for (key, value) in [("owner", &raw.owner), ("template", &raw.template)] {
        if let Some(v) = value {
            name_ok(v).map_err(|m| at(key, m))?;
        }
    }
    let strategy = match raw.strategy.as_deref().map(str::trim) {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("FILE_COPY") => Some(Strategy::FileCopy),
        Some(s) if s.eq_ignore_ascii_case("WAL_LOG") => Some(Strategy::WalLog),
        Some(other) => {
            let err = at(
                "strategy",
                format!("'{other}' is not a strategy of CREATE DATABASE (FILE_COPY or WAL_LOG)"),
            );
            let upper = other.to_ascii_uppercase();
            return Err(match did_you_mean(&upper, ["FILE_COPY", "WAL_LOG"]) {
                Some(h) => err.with_hint(h),
                None => err.with_hint("strategy: FILE_COPY clones the files (instant on PostgreSQL 18 with a file system that can clone); WAL_LOG copies through the WAL"),
            });
        }
    };
    let state = match raw.state.as_deref().map(str::trim) {
        None | Some("create") => State::Create,
        Some("absent") => State::Absent,
        Some("recreate") => State::Recreate,
        Some(other) => {
            let err = at(
                "state",
                format!("'{other}' is not a state (create, absent or recreate)"),
            );
            return Err(
                match did_you_mean(other, ["create", "absent", "recreate"]) {
                    Some(h) => err.with_hint(h),
                    None => err,
                },
            );
        }
    };
    if let Some(n) = raw.connlimit.filter(|n| *n < -1) {
        return Err(at(
            "connlimit",
            format!("{n} is not a connection limit (-1 for none, or 0 and up)"),
        ));
    }
    let mut create_options = Vec::new();
    for (option, value) in [
        ("ENCODING", &raw.encoding),
        ("LOCALE", &raw.locale),
        ("LC_COLLATE", &raw.lc_collate),
        ("LC_CTYPE", &raw.lc_ctype),
        ("LOCALE_PROVIDER", &raw.locale_provider),
        ("ICU_LOCALE", &raw.icu_locale),
        ("ICU_RULES", &raw.icu_rules),
        ("BUILTIN_LOCALE", &raw.builtin_locale),
        ("TABLESPACE", &raw.tablespace),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            if v.contains('\0') {
                return Err(at(
                    &option.to_ascii_lowercase(),
                    "contains a NUL byte".into(),
                ));
            }
            create_options.push((option, v.to_string()));
        }
    }
    let schemas = raw.schemas.unwrap_or_default();
    for (j, s) in schemas.iter().enumerate() {
        name_ok(s).map_err(|m| {
            let span = item
                .get("schemas")
                .and_then(|n| seq_item(n, j))
                .unwrap_or_else(|| item.span.clone());
            Error::invalid(&span, format!("pg_databases[{i}].schemas[{j}]"), m)
        })?;
    }
    let mut extensions = Vec::new();
    for (j, v) in raw.extensions.unwrap_or_default().iter().enumerate() {
        let span = item
            .get("extensions")
            .and_then(|n| seq_item(n, j))
            .unwrap_or_else(|| item.span.clone());
        let key = format!("pg_databases[{i}].extensions[{j}]");
        extensions.push(extension(v).map_err(|m| {
            Error::invalid(&span, key, m)
                .with_hint("extensions: [ postgis, { name: vector, schema: public } ]")
        })?);
    }
    let mut parameters = Vec::new();
    for (k, v) in raw.parameters.unwrap_or_default() {
        if !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            || k.is_empty()
        {
            return Err(at(
                "parameters",
                format!("'{k}' is not a parameter name (letters, digits, '_' and '.')"),
            ));
        }
        let text = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => if b { "on" } else { "off" }.to_string(),
            other => {
                return Err(at(
                    "parameters",
                    format!("{k}: expected a value (text, number or boolean), found {other}"),
                ))
            }
        };
        if text.contains('\0') {
            return Err(at("parameters", format!("{k}: contains a NUL byte")));
        }
        parameters.push((k, text));
    }
    let comment = raw
        .comment
        .unwrap_or_else(|| format!("business database {}", raw.name));
    let not_applied = NOT_APPLIED
        .iter()
        .copied()
        .filter(|k| item.get(k).is_some_and(|n| !n.is_null()))
        .collect();
    Ok(Database {
        name: raw.name,
        owner: raw.owner.filter(|o| !o.is_empty()),
        template: raw.template.filter(|t| !t.is_empty()),
        strategy,
        create_options,
        is_template: raw.is_template,
        allowconn: raw.allowconn,
        revokeconn: raw.revokeconn.unwrap_or(false),
        connlimit: raw.connlimit,
        comment,
        schemas,
        extensions,
        parameters,
        state,
        not_applied,
    })
}

fn seq_item(node: &Node, j: usize) -> Option<Span> {
    match &node.kind {
        Kind::Seq(items) => items.get(j).map(|n| n.span.clone()),
        _ => None,
    }
}

/// A name PostgreSQL can hold: 1 to 63 bytes, no NUL.
fn name_ok(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("a name cannot be empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "'{name}' is {} bytes; PostgreSQL keeps names to 63 bytes and would cut it",
            name.len()
        ));
    }
    if name.contains('\0') {
        return Err(format!("{name:?} contains a NUL byte"));
    }
    Ok(())
}

fn extension(v: &Value) -> std::result::Result<Extension, String> {
    let text = |v: Option<&Value>, what: &str| -> std::result::Result<Option<String>, String> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => name_ok(s).map(|_| Some(s.clone())),
            Some(Value::Number(n)) if what == "version" => Ok(Some(n.to_string())),
            Some(other) => Err(format!("{what}: expected text, found {other}")),
        }
    };
    match v {
        Value::String(s) => {
            name_ok(s)?;
            Ok(Extension {
                name: s.clone(),
                schema: None,
                version: None,
            })
        }
        Value::Object(m) => {
            if let Some(k) = m
                .keys()
                .find(|k| !["name", "schema", "version"].contains(&k.as_str()))
            {
                return Err(format!(
                    "unknown key '{k}' of an extension (expected name, schema, version)"
                ));
            }
            let name = text(m.get("name"), "name")?
                .ok_or("an extension needs a name: { name: postgis }")?;
            Ok(Extension {
                name,
                schema: text(m.get("schema"), "schema")?,
                version: text(m.get("version"), "version")?,
            })
        }
        other => Err(format!(
            "expected an extension name or {{ name, schema, version }}, found {other}"
        )),
    }
}

/// The template must be a database of the cluster: PostgreSQL's own, or another entry.
fn check_template(i: usize, db: &Database, item: &Node, all: &[Database]) -> Result<()> {
    let Some(t) = db.template.as_deref() else {
        return Ok(());
    };
    let err = |message: String| {
        Error::invalid(
            &field_span(item, "template"),
            format!("pg_databases[{i}].template"),
            message,
        )
    };
    if t == db.name {
        return Err(err(format!("'{t}' cannot be its own template")));
    }
    if t == "postgres" {
        return Err(err(format!(
            "'{}' would clone postgres: management connections (Patroni, monitoring, pgplay itself) keep postgres busy, and a clone needs its template without connections",
            db.name
        ))
        .with_hint("clone a business database instead (template: meta), or by hand in one session: SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'postgres'; CREATE DATABASE ... TEMPLATE postgres STRATEGY FILE_COPY;"));
    }
    if BUILT_IN.contains(&t) || all.iter().any(|d| d.name == t) {
        return Ok(());
    }
    let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
    let e = err(format!(
        "template '{t}' is not a database of this cluster (pg_databases: {}; or template0, template1)",
        names.join(", ")
    ));
    Err(match did_you_mean(t, names.iter().copied()) {
        Some(h) => e.with_hint(h),
        None => e.with_hint(format!(
            "define '{t}' in pg_databases first; a clone copies another database of the same cluster"
        )),
    })
}
