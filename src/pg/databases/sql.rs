//! The SQL for one database definition: what to ask the server, and what to change given its
//! answer. Pure, so that every statement (and its quoting of hostile names) is unit-tested.
//!
//! A run asks first (`inspect`, `in_db_inspect`: one JSON row each) and then changes only
//! what differs (`plan`), so that a second run changes nothing. Names are quoted as SQL
//! identifiers and values as escaped string literals everywhere: a definition is data, never
//! SQL text.

use serde::Deserialize;

use super::{Database, Strategy};

/// `"name"`: an SQL identifier, whatever it holds.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `E'text'`: a string literal that means the same with any `standard_conforming_strings`.
pub fn literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn literal_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(literal).collect();
    if items.is_empty() {
        "NULL".into()
    } else {
        items.join(", ")
    }
}

/// One query, run on `postgres`, answering with one JSON row: the server's version, whether
/// the template exists, which of `roles` exist, and the database's state if it exists.
pub fn inspect(db: &Database, roles: &[String]) -> String {
    format!(
        "SELECT json_build_object(\
'version', current_setting('server_version_num')::int, \
'template', (SELECT count(*) > 0 FROM pg_database WHERE datname = {template}), \
'roles', coalesce((SELECT json_agg(rolname) FROM pg_roles WHERE rolname IN ({roles})), '[]'), \
'db', (SELECT json_build_object(\
'owner', pg_get_userbyid(d.datdba), \
'comment', shobj_description(d.oid, 'pg_database'), \
'is_template', d.datistemplate, \
'allowconn', d.datallowconn, \
'connlimit', d.datconnlimit, \
'settings', coalesce((SELECT to_json(s.setconfig) FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0), '[]'), \
'public_connect', EXISTS (SELECT 1 FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT')) \
FROM pg_database d WHERE d.datname = {name}));\n",
        template = literal(db.template.as_deref().unwrap_or("template1")),
        roles = literal_list(roles.iter().map(String::as_str)),
        name = literal(&db.name),
    )
}

/// One query, run in the database itself: which of its schemas and extensions exist.
pub fn in_db_inspect(db: &Database) -> String {
    format!(
        "SELECT json_build_object(\
'schemas', coalesce((SELECT json_agg(nspname) FROM pg_namespace WHERE nspname IN ({schemas})), '[]'), \
'extensions', coalesce((SELECT json_agg(extname) FROM pg_extension WHERE extname IN ({extensions})), '[]'));\n",
        schemas = literal_list(db.schemas.iter().map(String::as_str)),
        extensions = literal_list(db.extensions.iter().map(|e| e.name.as_str())),
    )
}

/// What the server answered to `inspect` (and `in_db_inspect`, when the database exists).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Found {
    /// `server_version_num`: 150010 for 15.10.
    pub version: u32,
    /// The template exists (`template1` when the definition names none).
    pub template: bool,
    /// Which of the roles asked about exist.
    pub roles: Vec<String>,
    pub db: Option<Existing>,
    /// In the database: the schemas and extensions of the definition that exist.
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default)]
    pub extensions: Vec<String>,
}

/// What `in_db_inspect` answers: the definition's schemas and extensions that exist.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Inside {
    pub schemas: Vec<String>,
    pub extensions: Vec<String>,
}

/// A database as the server has it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Existing {
    pub owner: String,
    pub comment: Option<String>,
    pub is_template: bool,
    pub allowconn: bool,
    pub connlimit: i64,
    /// `key=value` as `pg_db_role_setting` keeps them.
    pub settings: Vec<String>,
    pub public_connect: bool,
}

/// A statement and what it does, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub what: String,
    pub sql: String,
}

/// What a run does to one database.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// `CREATE DATABASE ...` when the database does not exist.
    pub create: Option<Created>,
    /// Statements run in the database itself (schemas, extensions).
    pub in_db: Vec<Step>,
    /// Statements run on `postgres` after it (owner, comment, limits, parameters, grants).
    pub after: Vec<Step>,
}

impl Plan {
    pub fn changes(&self) -> bool {
        self.create.is_some() || !self.in_db.is_empty() || !self.after.is_empty()
    }

    /// Every change in words, in the order they run.
    pub fn said(&self) -> Vec<String> {
        self.create
            .iter()
            .map(|c| c.what.clone())
            .chain(self.in_db.iter().chain(&self.after).map(|s| s.what.clone()))
            .collect()
    }
}

/// The `CREATE DATABASE` of a plan, with what must happen in its session.
#[derive(Clone, Debug, PartialEq)]
pub struct Created {
    pub what: String,
    /// End the template's connections just before (a clone needs its template idle).
    pub terminate: Option<String>,
    /// `SET file_copy_method = clone` first (PostgreSQL 18+, `FILE_COPY`).
    pub file_copy_method: Option<String>,
    pub sql: String,
}

impl Created {
    /// The session's SQL: set the copy method, end the template's connections (printing how
    /// many), create — one statement after the other, so the window between the last two is
    /// as short as a round trip inside the server.
    pub fn session(&self) -> String {
        let mut s = String::new();
        if let Some(m) = &self.file_copy_method {
            s.push_str(&format!("SET file_copy_method = {};\n", literal(m)));
        }
        match &self.terminate {
            Some(t) => s.push_str(&format!(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid();\n",
                literal(t)
            )),
            None => s.push_str("SELECT 0;\n"),
        }
        s.push_str(&self.sql);
        s
    }
}

/// PostgreSQL 15 introduced `STRATEGY`; 18 introduced `file_copy_method`.
const PG15: u32 = 150000;
const PG18: u32 = 180000;

/// What to do, given the definition and what the server has. `dbsu` owns a database created
/// without an owner; `grantees` get `CONNECT` when `revokeconn` takes it from PUBLIC (those
/// of them that exist); `file_copy_method` is `pg_file_copy_method` (used from 18 on).
pub fn plan(
    db: &Database,
    found: &Found,
    dbsu: &str,
    grantees: &[String],
    file_copy_method: &str,
) -> Plan {
    let name = ident(&db.name);
    let mut plan = Plan::default();
    let fresh;
    let existing = match &found.db {
        Some(e) => e,
        None => {
            plan.create = Some(create(db, found.version, file_copy_method));
            fresh = Existing {
                owner: db.owner.clone().unwrap_or_else(|| dbsu.to_string()),
                comment: None,
                is_template: false,
                allowconn: true,
                connlimit: -1,
                settings: Vec::new(),
                public_connect: true,
            };
            &fresh
        }
    };
    let created = found.db.is_none();
    for s in &db.schemas {
        if created || !found.schemas.contains(s) {
            plan.in_db.push(Step {
                what: format!("schema {s}"),
                sql: format!("CREATE SCHEMA IF NOT EXISTS {};\n", ident(s)),
            });
        }
    }
    for e in &db.extensions {
        if created || !found.extensions.contains(&e.name) {
            let mut sql = format!("CREATE EXTENSION IF NOT EXISTS {}", ident(&e.name));
            if let Some(s) = &e.schema {
                sql.push_str(&format!(" WITH SCHEMA {}", ident(s)));
            }
            if let Some(v) = &e.version {
                sql.push_str(&format!(" VERSION {}", literal(v)));
            }
            sql.push_str(" CASCADE;\n");
            plan.in_db.push(Step {
                what: format!("extension {}", e.name),
                sql,
            });
        }
    }
    let mut after = |what: String, sql: String| plan.after.push(Step { what, sql });
    if let Some(o) = db.owner.as_ref().filter(|o| **o != existing.owner) {
        after(
            format!("owner {o}"),
            format!("ALTER DATABASE {name} OWNER TO {};\n", ident(o)),
        );
    }
    if existing.comment.as_deref() != Some(db.comment.as_str()) {
        after(
            format!("comment {:?}", db.comment),
            format!("COMMENT ON DATABASE {name} IS {};\n", literal(&db.comment)),
        );
    }
    if let Some(t) = db.is_template.filter(|t| *t != existing.is_template) {
        after(
            format!("is_template {t}"),
            format!("ALTER DATABASE {name} IS_TEMPLATE {t};\n"),
        );
    }
    if let Some(n) = db.connlimit.filter(|n| *n != existing.connlimit) {
        after(
            format!("connlimit {n}"),
            format!("ALTER DATABASE {name} CONNECTION LIMIT {n};\n"),
        );
    }
    for (k, v) in &db.parameters {
        let want = setting_text(k, v);
        if !existing.settings.iter().any(|s| same_setting(s, &want)) {
            after(
                format!("parameter {k} = {v}"),
                format!("ALTER DATABASE {name} SET {k} = {};\n", setting_value(v)),
            );
        }
    }
    if db.revokeconn && existing.public_connect {
        let mut sql = format!("REVOKE CONNECT ON DATABASE {name} FROM PUBLIC;\n");
        let owner = db.owner.as_deref().unwrap_or(dbsu);
        let mut granted: Vec<&str> = Vec::new();
        for g in grantees.iter().map(String::as_str).chain([owner]) {
            if (found.roles.iter().any(|r| r == g) || g == owner) && !granted.contains(&g) {
                granted.push(g);
                sql.push_str(&format!(
                    "GRANT CONNECT ON DATABASE {name} TO {} WITH GRANT OPTION;\n",
                    ident(g)
                ));
            }
        }
        after("revokeconn: CONNECT taken from PUBLIC".into(), sql);
    }
    // Last: a database closed to connections cannot have its schemas made above.
    if let Some(a) = db.allowconn.filter(|a| *a != existing.allowconn) {
        after(
            format!("allowconn {a}"),
            format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {a};\n"),
        );
    }
    plan
}

fn create(db: &Database, version: u32, file_copy_method: &str) -> Created {
    let mut sql = format!("CREATE DATABASE {}", ident(&db.name));
    let mut how = Vec::new();
    if let Some(o) = &db.owner {
        sql.push_str(&format!(" OWNER {}", ident(o)));
    }
    if let Some(t) = &db.template {
        sql.push_str(&format!(" TEMPLATE {}", ident(t)));
        how.push(format!("from {t}"));
    }
    // Below 15 there is no STRATEGY (Pigsty: "specifying strategy will have no effect").
    let strategy = db.strategy.filter(|_| version >= PG15);
    if let Some(s) = strategy {
        sql.push_str(&format!(" STRATEGY {}", s.as_sql()));
        how.push(s.as_sql().to_string());
    }
    for (option, value) in &db.create_options {
        let value = if *option == "TABLESPACE" {
            ident(value)
        } else {
            literal(value)
        };
        sql.push_str(&format!(" {option} {value}"));
    }
    sql.push_str(";\n");
    let file_copy_method = (strategy == Some(Strategy::FileCopy) && version >= PG18)
        .then(|| file_copy_method.to_string());
    if let Some(m) = &file_copy_method {
        how.push(format!("file_copy_method {m}"));
    }
    let what = if how.is_empty() {
        format!("database {}", db.name)
    } else {
        format!("database {} ({})", db.name, how.join(", "))
    };
    Created {
        what,
        terminate: db.clones().map(str::to_string),
        file_copy_method,
        sql,
    }
}

/// `ALTER DATABASE ... SET k = <value>`: a list of plain words (`"$user", public`) is written
/// as a list, as PostgreSQL reads `search_path`; anything else is one quoted value.
fn setting_value(v: &str) -> String {
    let plain = |w: &str| {
        !w.is_empty()
            && (w
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.')
                || (w.len() > 2
                    && w.starts_with('"')
                    && w.ends_with('"')
                    && !w[1..w.len() - 1].contains('"')))
    };
    let words: Vec<&str> = v.split(',').map(str::trim).collect();
    if words.len() > 1 && words.iter().all(|w| plain(w)) {
        words
            .iter()
            .map(|w| literal(w.trim_matches('"')))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        literal(v)
    }
}

/// `k=v` as the server keeps a setting.
fn setting_text(k: &str, v: &str) -> String {
    format!("{k}={v}")
}

/// The same setting, ignoring the spaces and quotes PostgreSQL adds or drops in lists.
fn same_setting(kept: &str, want: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '"')
            .collect::<String>()
            .to_ascii_lowercase()
    };
    norm(kept) == norm(want)
}
