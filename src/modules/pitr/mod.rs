//! `pitr`: the steps of a point-in-time recovery on one member, each a thin layer over the
//! domain in `crate::pg::pitr` (which decides; these run the commands and read back).
//!
//! `step:` is one of `preflight`, `pause`, `stop_patroni`, `stop`, `config`, `backup`,
//! `restore`, `recovery`, `verify`, `etcd`, `start`, `resume`, `cleanup`, `discard`
//! (the Patroni ones in `patroni.rs`). The member's part comes from its variables
//! (`pg_pitr`, `pg_role`, `pg_data`, ...), read into a `Job`: the primary is restored from
//! the repository, the replicas are re-initialised from it in `start`, and a rehearsal
//! (`pg_pitr.data` elsewhere) touches nothing live. Every step runs as root and switches to
//! the dbsu (`runuser`) for PostgreSQL and pgBackRest. A step that fails says what state the
//! member is in and the command that continues.

mod backup;
mod cleanup;
mod config;
mod discard;
mod etcd;
mod patroni;
mod preflight;
mod recovery;
mod restore;
mod start;
mod stop;
mod verify;

use std::collections::BTreeMap;

use serde_json::Value;

use super::args::required;
use super::{Ctx, Failure, Outcome};
use crate::pg::pitr::{Job, Member, Pitr, Timeline};
use crate::transport::{quote, ExecOutput};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    step: Option<String>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let step = required("step", &a.step)?;
    let job = job(ctx)?;
    let mut o = match step.as_str() {
        "preflight" => preflight::run(ctx, &job).await,
        "stop" => stop::run(ctx, &job).await,
        "pause" => patroni::pause_or_resume(ctx, &job, true).await,
        "resume" => patroni::pause_or_resume(ctx, &job, false).await,
        "stop_patroni" => patroni::stop(ctx, &job).await,
        "etcd" => etcd::run(ctx, &job).await,
        "config" => config::run(ctx, &job).await,
        "backup" => backup::run(ctx, &job).await,
        "restore" => restore::run(ctx, &job).await,
        "recovery" => recovery::run(ctx, &job).await,
        "verify" => verify::run(ctx, &job).await,
        "start" => start::run(ctx, &job).await,
        "cleanup" => cleanup::run(ctx, &job).await,
        "discard" => discard::run(ctx, &job).await,
        other => Err(Failure::Args(format!(
            "unknown pitr step '{other}' (preflight, pause, stop_patroni, stop, config, backup, restore, recovery, verify, etcd, start, resume, cleanup, discard)"
        ))),
    }?;
    // Say what happened (or would) on the result line: at 3 a.m. nobody reruns with -v.
    if !o.failed && !o.skipped && !o.data.contains_key("pgplay_show") {
        if let Some(msg) = &o.msg {
            o.data
                .insert("pgplay_show".into(), Value::String(format!("  {msg}")));
        }
    }
    Ok(o)
}

/// The member's job, from the task's variables.
fn job(ctx: &Ctx<'_>) -> Result<Job, Failure> {
    let member = Member::from_vars(ctx.vars).map_err(Failure::Args)?;
    let spec = ctx
        .vars
        .get("pg_pitr")
        .ok_or_else(|| Failure::Args("pg_pitr is not defined".into()))?;
    let pitr = Pitr::from_value(spec).map_err(|e| Failure::Args(e.to_string()))?;
    Job::new(member, pitr).map_err(Failure::Args)
}

/// A step that does not apply to this member, and why.
fn skip(why: impl Into<String>) -> Outcome {
    let mut o = Outcome::ok(false);
    o.skipped = true;
    o.msg = Some(why.into());
    o
}

/// A refusal or failure that says where the member stands and what to run next.
fn stuck(what: impl Into<String>, state: &str, next: &str) -> Outcome {
    let mut o = Outcome::failed(format!(
        "{}\n  state: {state}\n  next:  {next}",
        what.into()
    ));
    o.data
        .insert("pitr_state".into(), Value::String(state.to_string()));
    o
}

/// `<this run's command> -t <tags>` (from the engine), for "next:" lines.
fn rerun(ctx: &Ctx<'_>, tags: &str) -> String {
    let base = ctx
        .vars
        .get("pgplay_rerun")
        .and_then(Value::as_str)
        .unwrap_or("pgplay pgsql-pitr -l <cluster> -e '<pg_pitr>'");
    format!("{base} -t {tags}")
}

/// Run a root script; the dbsu parts go through `as_dbsu`.
async fn sh(ctx: &Ctx<'_>, script: &str, stdin: Option<&[u8]>) -> Result<ExecOutput, Failure> {
    ctx.exec(script, stdin).await
}

/// Shell text that runs `argv` as the dbsu.
fn as_dbsu(job: &Job, argv: &[String]) -> String {
    format!(
        "runuser -u {} -- {}",
        quote(&job.member.dbsu),
        crate::transport::join_argv(argv)
    )
}

/// Shell assignments of the member's paths and names (each value quoted).
fn env(job: &Job) -> String {
    let pairs = [
        ("DBSU", job.member.dbsu.clone()),
        ("DATA", job.data.clone()),
        ("LIVE", job.member.data.clone()),
        ("PORT", job.port.to_string()),
        ("LIVEPORT", job.member.port.to_string()),
        ("BIN", job.member.bin_dir.clone()),
        ("STANZA", job.source.clone()),
        ("CLUSTER", job.member.cluster.clone()),
        ("LOG", job.log_file.clone()),
        ("CONF", job.conf_path.clone()),
    ];
    let mut out = String::from("set -u\n");
    for (k, v) in pairs {
        out.push_str(&format!("{k}={}\n", quote(&v)));
    }
    out.push_str(
        r#"dbsu() { runuser -u "$DBSU" -- "$@"; }
pg_pid() { p=$(head -1 "$1/postmaster.pid" 2>/dev/null); if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo "$p"; fi; }
"#,
    );
    out
}

/// `key=value` lines of a probe.
fn kv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Sections of a script's output: `==name args` headers, each with its lines.
fn sections(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(head) = line.strip_prefix("==") {
            out.push((head.trim().to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// Write a file the dbsu owns (compare, temp file, rename: `remote::put_file`).
async fn put_as_dbsu(
    ctx: &Ctx<'_>,
    job: &Job,
    dest: &str,
    content: &str,
    mode: u32,
) -> Result<Outcome, Failure> {
    super::remote::put_file(
        ctx,
        &super::remote::Want {
            dest,
            content: content.as_bytes(),
            mode: Some(mode),
            owner: Some(&job.member.dbsu),
            group: None,
            validate: None,
        },
    )
    .await
}

fn stdout(o: &ExecOutput) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &ExecOutput) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

/// The preflight's decision, as registered for the later steps of the same run.
struct Settled {
    set: String,
    timeline: Timeline,
    process_max: u32,
    unsupported: Vec<String>,
}

fn settled(ctx: &Ctx<'_>) -> Option<Settled> {
    let p = ctx.vars.get("pitr_preflight")?;
    let timeline = match p.get("timeline")?.as_str()? {
        "latest" => Timeline::Latest,
        "current" => Timeline::Current,
        n => Timeline::Id(n.parse().ok()?),
    };
    Some(Settled {
        set: p.get("set")?.as_str()?.to_string(),
        timeline,
        process_max: p.get("process_max").and_then(Value::as_u64).unwrap_or(1) as u32,
        unsupported: p
            .get("unsupported")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn no_preflight() -> Failure {
    Failure::Args(
        "this step needs the preflight of the same run (its tag is on the pitr and down steps): run with -t pitr, not a single sub-step".into(),
    )
}

/// Shell: wait until PostgreSQL on `$1` (port) answers, up to `$2` seconds.
const WAIT_READY: &str = r#"wait_ready() { i=0; while [ $i -lt $(( $2 * 10 )) ]; do if dbsu "$BIN/pg_isready" -q -p "$1" 2>/dev/null; then return 0; fi; sleep 0.1; i=$((i+1)); done; return 1; }
"#;

/// Shell: `psql` as the dbsu on a port, unaligned, quiet.
const PSQL: &str = r#"q() { port=$1; shift; dbsu "$BIN/psql" -p "$port" -d postgres -AXtwq "$@"; }
"#;
