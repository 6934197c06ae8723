//! `pg_database`: create one database of `pg_databases` on the host (the cluster's leader),
//! or bring an existing one in line with its definition — changing only what differs, so a
//! second run changes nothing.
//!
//! A clone (`template: meta`) needs its template without connections: the connections to it
//! are ended in the same session, just before `CREATE DATABASE` (PostgreSQL itself then waits
//! up to 5 s for them to go), and the user is told how many. If a new connection still beats
//! the clone, it is tried again, a bounded number of times, and then the task says why it
//! gave up. On PostgreSQL 18+ a `FILE_COPY` clone sets `file_copy_method` first
//! (`pg_file_copy_method`, `clone` by default, as Pigsty: instant where the file system can
//! clone); below 18 it is never set. The definition was checked before the run
//! (`pg::databases`, `guard.rs`); the SQL is built in `pg::databases::sql`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::args::required;
use super::{Ctx, Failure, Outcome};
use crate::base::shell::quote;
use crate::pg::databases::{self, Database, Found, Plan};
use crate::pg::pitr::Member;

/// How many times a clone is tried while its template keeps another session.
const CLONE_ATTEMPTS: u32 = 3;

/// The variables the module reads by itself (the run's validation covers them).
pub const READS: &[&str] = &[
    "pg_databases",
    "dbname",
    "pg_cluster",
    "pg_port",
    "pg_dbsu",
    "pg_bin_dir",
    "pg_file_copy_method",
    "pg_replication_username",
    "pg_monitor_username",
    "pg_admin_username",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The database's name in `pg_databases`.
    name: Option<String>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let name = required("name", &a.name)?;
    let m = Member::from_vars(ctx.vars).map_err(Failure::Args)?;
    let all = databases::from_value(ctx.vars.get("pg_databases").unwrap_or(&Value::Null))
        .map_err(|e| Failure::Args(e.to_string()))?;
    let db = all.iter().find(|d| d.name == name).ok_or_else(|| {
        Failure::Args(format!(
            "{name} is not in pg_databases of {}: define it there first",
            m.cluster
        ))
    })?;
    let text = |k: &str, d: &str| {
        ctx.vars
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or(d)
            .to_string()
    };
    let grantees: Vec<String> = [
        ("pg_replication_username", "replicator"),
        ("pg_monitor_username", "dbuser_monitor"),
        ("pg_admin_username", "dbuser_dba"),
    ]
    .iter()
    .map(|(k, d)| text(k, d))
    .collect();
    let method = text("pg_file_copy_method", "clone");
    let psql = Psql { ctx, m: &m };

    let mut roles = grantees.clone();
    roles.extend(db.owner.clone());
    let mut found: Found = psql
        .json("postgres", &databases::inspect(db, &roles))
        .await?;
    if let Some(owner) = db.owner.as_ref().filter(|o| !found.roles.contains(o)) {
        return Ok(Outcome::failed(format!(
            "the owner of {name}, role {owner}, does not exist on {}: create the role first (Pigsty's pg_users), then run again",
            m.cluster
        )));
    }
    if found.db.is_none() && !found.template {
        let t = db.template.as_deref().unwrap_or("template1");
        return Ok(Outcome::failed(format!(
            "{name} is a copy of {t}, which does not exist on {}: create it first: pgplay pgsql-db -l {} -e dbname={t}",
            m.cluster, m.cluster
        )));
    }
    if found.db.is_some() && !(db.schemas.is_empty() && db.extensions.is_empty()) {
        let inside: databases::Inside = psql.json(&name, &databases::in_db_inspect(db)).await?;
        found.schemas = inside.schemas;
        found.extensions = inside.extensions;
    }
    let plan = databases::plan(db, &found, &m.dbsu, &grantees, &method);
    let mut o = Outcome::ok(plan.changes());
    let mut lines = plan.said();
    if !db.not_applied.is_empty() {
        lines.push(format!(
            "not applied by pgplay: {} (the connection pool, Grafana and baseline files are Pigsty's other playbooks)",
            db.not_applied.join(", ")
        ));
    }
    o.data.insert("database".into(), json!(name));
    o.data.insert("changes".into(), json!(plan.said()));
    o.data.insert("not_applied".into(), json!(db.not_applied));
    o.data
        .insert("server_version_num".into(), json!(found.version));
    if ctx.check {
        return Ok(said(o, say(&name, &lines, &plan, true)));
    }
    let ended = match &plan.create {
        Some(_) => match create(&psql, db, &plan).await? {
            Ok(c) => c,
            Err(why) => return Ok(Outcome::failed(why)),
        },
        None => Cloned::default(),
    };
    // What is made stays made: a failure from here on leaves a database that a second run
    // completes, and says so.
    let then = |e: Failure| match e {
        Failure::Args(why) => Failure::Args(format!(
            "{name} exists{}, but: {why}; fix that and run again (what is done is kept)",
            if plan.create.is_some() {
                " (created now)"
            } else {
                ""
            }
        )),
        other => other,
    };
    for (db_name, steps) in [(name.as_str(), &plan.in_db), ("postgres", &plan.after)] {
        if !steps.is_empty() {
            let sql: String = steps.iter().map(|s| s.sql.as_str()).collect();
            psql.run(db_name, &sql).await.map_err(then)?;
        }
    }
    if let Some(c) = &plan.create {
        created_lines(&mut lines, db, c, &ended, found.version);
        o.data
            .insert("file_copy_method".into(), json!(c.file_copy_method.clone()));
        o.data
            .insert("ended_connections".into(), json!(ended.ended));
        o.data.insert("attempts".into(), json!(ended.attempts));
    }
    Ok(said(o, say(&name, &lines, &plan, false)))
}

/// What a creation adds to the words: the connections a clone ended, and the copy method.
fn created_lines(
    lines: &mut Vec<String>,
    db: &Database,
    c: &databases::Created,
    ended: &Cloned,
    version: u32,
) {
    if let Some(t) = &c.terminate {
        let retried = if ended.attempts > 1 {
            format!(
                " ({} attempts: the template had another session)",
                ended.attempts
            )
        } else {
            String::new()
        };
        let s = if ended.ended == 1 { "" } else { "s" };
        lines.insert(
            1,
            format!(
                "ended {} connection{s} to {t} just before the clone{retried}",
                ended.ended
            ),
        );
    }
    if db.strategy == Some(databases::Strategy::FileCopy) {
        lines.push(match &c.file_copy_method {
            Some(m) => format!("file_copy_method = {m}"),
            None => format!(
                "file_copy_method not set (PostgreSQL {} has none: FILE_COPY copies the files)",
                version / 10000
            ),
        });
    }
}

/// The outcome with its words, shown under the result line (what was made is the point).
fn said(mut o: Outcome, text: String) -> Outcome {
    let shown: Vec<String> = text.lines().map(|l| format!("  {l}")).collect();
    o.data
        .insert("pgplay_show".into(), Value::String(shown.join("\n")));
    o.msg = Some(text);
    o
}

fn say(name: &str, lines: &[String], plan: &Plan, check: bool) -> String {
    let head = match (plan.create.is_some(), plan.changes(), check) {
        (_, false, _) => format!("{name} exists as defined: nothing to change"),
        (true, _, false) => format!("{name}: created"),
        (true, _, true) => format!("{name}: would be created"),
        (false, _, false) => format!("{name} exists: changed"),
        (false, _, true) => format!("{name} exists: would change"),
    };
    lines.iter().fold(head, |s, l| format!("{s}\n  {l}"))
}

/// How a clone went: connections ended (over all attempts) and the attempts it took.
#[derive(Default)]
struct Cloned {
    ended: u64,
    attempts: u32,
}

/// Create the database; a clone whose template gets a new connection in the window is tried
/// again, up to `CLONE_ATTEMPTS` times. `Ok(Err(why))`: gave up, with the reason.
async fn create(
    psql: &Psql<'_>,
    db: &Database,
    plan: &Plan,
) -> Result<Result<Cloned, String>, Failure> {
    let Some(c) = &plan.create else {
        return Ok(Ok(Cloned::default()));
    };
    let mut done = Cloned::default();
    loop {
        done.attempts += 1;
        let out = psql.exec("postgres", &c.session()).await?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        done.ended += stdout
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if out.status == 0 {
            return Ok(Ok(done));
        }
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let busy = err.contains("is being accessed by other users");
        if busy && done.attempts < CLONE_ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let why = if busy {
            let t = db.template.as_deref().unwrap_or("template1");
            format!(
                "could not clone {t} into {}: {t} still had another session after its connections were ended, {} times ({} ended in all: a client reconnects at once, or a session does not end); stop the clients of {t} (or point them elsewhere) and run again. PostgreSQL said: {err}",
                db.name, done.attempts, done.ended,
            )
        } else if c.file_copy_method.as_deref() == Some("clone") && err.contains("clone") {
            format!(
                "CREATE DATABASE {} failed: {err}; the file system under the data directory cannot clone files (xfs with reflink, btrfs and zfs can): set pg_file_copy_method: copy, or strategy: WAL_LOG",
                db.name
            )
        } else {
            format!("CREATE DATABASE {} failed: {err}", db.name)
        };
        return Ok(Err(why));
    }
}

/// psql on the host as the task's user (the dbsu), SQL on its stdin, stopping at the first
/// error.
struct Psql<'a> {
    ctx: &'a Ctx<'a>,
    m: &'a Member,
}

impl Psql<'_> {
    async fn exec(&self, db: &str, sql: &str) -> Result<crate::transport::ExecOutput, Failure> {
        let script = format!(
            "cd / && exec {}/psql -X -At -w -q -v ON_ERROR_STOP=1 -p {} -d {}",
            quote(&self.m.bin_dir),
            self.m.port,
            quote(db)
        );
        self.ctx.exec(&script, Some(sql.as_bytes())).await
    }

    /// Run statements; a failure is the task's, with psql's words. What psql printed.
    async fn run(&self, db: &str, sql: &str) -> Result<Vec<u8>, Failure> {
        let out = self.exec(db, sql).await?;
        if out.status != 0 {
            return Err(Failure::Args(format!(
                "psql on {db} failed (exit {}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(out.stdout)
    }

    /// One query answering one JSON row.
    async fn json<T: for<'de> Deserialize<'de>>(&self, db: &str, sql: &str) -> Result<T, Failure> {
        let stdout = self.run(db, sql).await?;
        serde_json::from_slice(&stdout).map_err(|e| {
            Failure::Args(format!(
                "psql on {db} answered what is not the expected JSON ({e}): {}",
                String::from_utf8_lossy(&stdout).trim()
            ))
        })
    }
}
