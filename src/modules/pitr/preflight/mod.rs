//! `preflight`: before anything is stopped, read the source stanza from the real repository
//! and decide (or refuse): the stanza and backup set exist, the target lies in the recovery
//! window, which timeline leads to it. Read-only, so it runs in check mode too; the one write
//! it may make is to the live primary of the cluster's own stanza when the target lies past
//! the archived WAL: an empty transaction and a WAL switch, so the newest WAL reaches the
//! repository (not in check mode).

use serde_json::{json, Value};

use super::{env, kv, rerun, sh, skip, stderr, stdout, stuck, Ctx, Failure, Outcome, PSQL};
use crate::modules::patroni_api;
use crate::pg::pitr::window;
use crate::pg::pitr::{Job, Target, DEFAULT_SEG_SIZE};
use crate::transport::quote;

mod repository;

use repository::read_repository;

/// What the probe found on the host.
struct Probe {
    cpus: u32,
    version: String,
    seg_size: u64,
    unsupported: Vec<String>,
    live_pid: Option<String>,
    live_primary: bool,
    /// Patroni's `GET /cluster` on this member (Null when it does not answer); None without
    /// Patroni or in a rehearsal.
    patroni: Option<Value>,
}

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if !job.restores() {
        return Ok(skip(format!(
            "{} is a replica: it is re-initialised from the restored primary in 'up' (a replica restored from the repository on its own could replay the old history past the target)",
            job.member.host
        )));
    }
    let probe = probe(ctx, job).await?;
    // Under Patroni the inventory's primary must be the leader: the PITR restores the
    // primary and has the others copy it, and a leader elsewhere would be a member the
    // playbook treats as a replica. Refused, before anything is stopped, with the way out.
    let ha = match &probe.patroni {
        None => String::new(),
        Some(cluster) => match patroni_api::running_leader(cluster) {
            Some((name, host)) if host != job.member.address => {
                let me = patroni_api::member_at(cluster, &job.member.address)
                    .unwrap_or_else(|| format!("<{}'s member name>", job.member.host));
                return Ok(stuck(
                    format!(
                        "preflight refused the PITR of {cluster}: Patroni's leader is {name} ({host}), but the inventory names {primary} the primary (pg_role: primary). pgsql-pitr restores the inventory's primary and re-initialises the other members from it, so it does not follow a failover on its own",
                        cluster = job.member.cluster,
                        primary = job.member.host,
                    ),
                    "nothing was changed: Patroni and PostgreSQL run as they were",
                    &format!(
                        "switch the leader back: patronictl -c {conf} switchover --leader {name} --candidate {me} --force {cluster} (or make pg_role match the leader in the inventory), then run again",
                        conf = super::patroni::CONF,
                        cluster = job.member.cluster,
                    ),
                ));
            }
            Some((name, _)) => format!("Patroni's leader is {name}, this member: it is restored; the others are re-initialised from it by Patroni in 'up'"),
            None if cluster.is_null() => format!(
                "Patroni does not answer on {}:{} (stopped?): the leader was not checked (after 'down' that is expected)",
                job.member.address, job.member.patroni_port
            ),
            None => "Patroni names no running leader: the leader was not checked (after 'down' that is expected)".into(),
        },
    };
    if let Some(refusal) = check_target_dir(ctx, job).await? {
        return Ok(refusal);
    }
    // The task runs even in check mode (it only reads); the run's own mode decides the write.
    let run_checks = ctx
        .vars
        .get("ansible_check_mode")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    // The cluster's own primary is running: its newest WAL goes to the repository first, so
    // the decision sees the newest history (a target there, or a transaction id that the new
    // history reuses, would otherwise be judged on an old archive). Not in check mode.
    let flushable = !job.clone && probe.live_primary;
    let flushed = if flushable && !run_checks {
        Some(flush(ctx, job).await?)
    } else {
        None
    };
    let (info, archives, dumps) = read_repository(ctx, job, &probe).await?;
    let info = match info {
        Ok(i) => i,
        Err(e) => return Ok(refuse(ctx, job, e)),
    };
    let decision = match window::decide(&job.pitr, &info, &archives, &dumps) {
        Ok(d) => d,
        Err(e) if flushable && run_checks => {
            return Ok(refuse(
                ctx,
                job,
                format!("{e} (check mode writes nothing, so the primary's newest WAL was not archived first; the real run does that and decides with it)"),
            ))
        }
        Err(e) => return Ok(refuse(ctx, job, e)),
    };

    let set = decision.backup.label.clone();
    let argv = job.restore_argv(&set, decision.timeline);
    let command = crate::transport::join_argv(&argv);
    let then = match (&job.pitr.target, job.action()) {
        (Target::Latest, _) => {
            "promote (recovery to the end of the WAL always ends recovery)".to_string()
        }
        (_, a) => a.as_str().to_string(),
    };
    let repo = job
        .repo_options(&probe.unsupported)
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "repo1-type" | "repo1-path" | "repo1-s3-endpoint" | "repo1-s3-bucket"
            )
        })
        .map(|(k, v)| format!("{}={v}", k.trim_start_matches("repo1-")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut show = format!(
        "PITR plan for {} ({} {}):\n",
        job.member.host, job.member.cluster, job.member.role
    );
    let mut line = |k: &str, v: String| show.push_str(&format!("  {k:<13}{v}\n"));
    line(
        "source",
        format!(
            "stanza {} ({}), repository {} ({}){}",
            job.source,
            info.current_db()
                .map(|d| format!("PostgreSQL {}, system id {}", d.version, d.system_id))
                .unwrap_or_default(),
            job.pitr
                .repo
                .as_ref()
                .map(|_| "pg_pitr.repo".to_string())
                .unwrap_or_else(|| job.member.method.clone()),
            if repo.is_empty() {
                "posix".into()
            } else {
                repo
            },
            if job.clone {
                format!("; a clone into {}", job.member.cluster)
            } else {
                String::new()
            }
        ),
    );
    line(
        "backup set",
        format!(
            "{} ({}, ended {}, LSN {}, timeline {})",
            set,
            decision.backup.kind,
            decision.backup.stop_time().utc(),
            decision
                .backup
                .stop_lsn()
                .map(|l| l.to_string())
                .unwrap_or_default(),
            decision.backup.timeline().unwrap_or(1)
        ),
    );
    line("target", format!("{}; then {then}", decision.expect));
    line(
        "timeline",
        format!(
            "{} — {}",
            crate::pg::pitr::job::timeline_words(decision.timeline, decision.timeline_id),
            decision.why_timeline
        ),
    );
    line("window", decision.window.describe());
    line(
        "data",
        format!(
            "{} on port {}{}",
            job.data,
            job.port,
            if job.rehearsal {
                " (a rehearsal: the live instance is not touched)"
            } else {
                ""
            }
        ),
    );
    line("archive", job.archive_why.clone());
    if !ha.is_empty() {
        line("patroni", ha);
    }
    if !job.rehearsal {
        line(
            "stops",
            match &probe.live_pid {
                Some(pid) => format!(
                    "PostgreSQL on {} (pid {pid}); the replicas first",
                    job.member.host
                ),
                None => "nothing: PostgreSQL is not running here".into(),
            },
        );
        if job.pitr.backup {
            line(
                "moves aside",
                format!("{} to {}-backup-<date>", job.data, job.data),
            );
        }
    }
    if let Some(f) = &flushed {
        line("archived", f.clone());
    } else if flushable {
        line(
            "note",
            "check mode: the primary's newest WAL is not archived yet; the real run archives it first and decides with it".into(),
        );
    }
    if !probe.unsupported.is_empty() {
        line(
            "left out",
            format!(
                "repository option(s) {} (unknown to this pgbackrest, version {})",
                probe.unsupported.join(", "),
                probe.version
            ),
        );
    }
    line("config", job.conf_path.clone());
    line("command", command.clone());
    let mut o = Outcome::ok(false);
    o.data.insert("pgplay_show".into(), Value::String(show));
    o.data.insert("cmd".into(), Value::String(command));
    let fact = json!({
        "set": set,
        "timeline": decision.timeline.setting(),
        "timeline_id": decision.timeline_id,
        "process_max": (probe.cpus).max(1),
        "unsupported": probe.unsupported,
        "seg_size": probe.seg_size,
        "expect": decision.expect,
        "window": decision.window.describe(),
        "flushed": flushed.is_some(),
    });
    o.data.insert("pitr".into(), fact.clone());
    o.facts.insert("pitr_preflight".into(), fact);
    Ok(o)
}

fn refuse(ctx: &Ctx<'_>, job: &Job, why: String) -> Outcome {
    let state = if job.rehearsal {
        "nothing was changed (a rehearsal touches nothing live)".to_string()
    } else {
        format!(
            "nothing was changed: PostgreSQL on {} is as it was",
            job.member.host
        )
    };
    stuck(
        format!(
            "preflight refused the PITR of {} from stanza {}: {why}",
            job.member.cluster, job.source
        ),
        &state,
        &format!(
            "fix pg_pitr and run again: {}",
            rerun(ctx, "down,pitr,up").replace(" -t down,pitr,up", "")
        ),
    )
}

async fn probe(ctx: &Ctx<'_>, job: &Job) -> Result<Probe, Failure> {
    let repo = job
        .pitr
        .repo
        .clone()
        .unwrap_or_else(|| job.member.repo.clone());
    let keys: Vec<String> = repo.keys().map(|k| quote(k)).collect();
    let script = format!(
        r#"{env}{psql}{api}
command -v pgbackrest > /dev/null || {{ echo "pgbackrest is not installed on this host" >&2; exit 90; }}
echo "cpus=$(nproc)"
echo "version=$(pgbackrest version 2>/dev/null | awk '{{print $2}}')"
echo "segsize=$("$BIN/pg_controldata" "$LIVE" 2>/dev/null | awk -F: '/Bytes per WAL segment/ {{gsub(/ /, "", $2); print $2}}')"
pid=$(pg_pid "$LIVE"); echo "live_pid=$pid"
if [ -n "$pid" ]; then echo "live_recovery=$(q "$LIVEPORT" -c 'select pg_is_in_recovery()' 2>/dev/null)"; fi
if [ {patroni} = 1 ]; then echo "patroni=$(api {cluster_url} | tr -d '\n')"; fi
opts=$(dbsu pgbackrest --log-level-console=off help restore 2>/dev/null; dbsu pgbackrest --log-level-console=off help backup 2>/dev/null)
for key in {keys}; do
  opt="repo-$(printf '%s' "$key" | tr _ - )"
  if ! printf '%s\n' "$opts" | grep -qE -- "^[[:space:]]+--$opt([[:space:]]|$)"; then echo "unknown=$key"
  elif dbsu pgbackrest --log-level-console=off help restore "$opt" 2>/dev/null | grep -q 'FOR BETA TESTING ONLY'; then echo "unknown=$key"; fi
done
"#,
        env = env(job),
        psql = PSQL,
        api = patroni_api::API,
        patroni = u8::from(job.member.patroni && !job.rehearsal),
        cluster_url = quote(&format!(
            "http://{}:{}/cluster",
            job.member.address, job.member.patroni_port
        )),
        keys = if keys.is_empty() {
            "''".to_string()
        } else {
            keys.join(" ")
        }
    );
    let out = sh(ctx, &script, None).await?;
    if out.status != 0 {
        return Err(Failure::Args(format!(
            "cannot probe {}: {}",
            job.member.host,
            stderr(&out)
        )));
    }
    let text = stdout(&out);
    let m = kv(&text);
    let unsupported: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("unknown="))
        .filter(|k| !k.is_empty())
        .map(String::from)
        .collect();
    let live_pid = m.get("live_pid").filter(|p| !p.is_empty()).cloned();
    Ok(Probe {
        cpus: m.get("cpus").and_then(|c| c.parse().ok()).unwrap_or(1),
        version: m.get("version").cloned().unwrap_or_default(),
        seg_size: m
            .get("segsize")
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_SEG_SIZE),
        unsupported,
        live_primary: live_pid.is_some() && m.get("live_recovery").map(String::as_str) == Some("f"),
        live_pid,
        patroni: (job.member.patroni && !job.rehearsal).then(|| {
            m.get("patroni")
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or(Value::Null)
        }),
    })
}

/// A rehearsal directory must be new, empty, or an earlier rehearsal of pgplay's that is not
/// running; its port must be free.
async fn check_target_dir(ctx: &Ctx<'_>, job: &Job) -> Result<Option<Outcome>, Failure> {
    if !job.rehearsal {
        return Ok(None);
    }
    let script = format!(
        r#"{env}
[ -n "$(ls -A "$DATA" 2>/dev/null)" ] && echo "nonempty=1"
[ -f "$DATA/.pgplay-rehearsal" ] && echo "marker=1"
echo "running=$(pg_pid "$DATA")"
if command -v ss > /dev/null; then ss -ltnH "( sport = :$PORT )" 2>/dev/null | grep -q . && echo "busy=1"; fi
true
"#,
        env = env(job)
    );
    let out = sh(ctx, &script, None).await?;
    let m = kv(&stdout(&out));
    let next = format!(
        "choose another pg_pitr.data / port, or remove the earlier rehearsal: {}",
        rerun(ctx, "discard")
    );
    if m.contains_key("nonempty") && !m.contains_key("marker") {
        return Ok(Some(stuck(
            format!("{} exists and is not empty, and it is not a rehearsal pgplay made: it is never overwritten", job.data),
            "nothing was changed",
            &next,
        )));
    }
    if m.get("running").is_some_and(|p| !p.is_empty()) {
        return Ok(Some(stuck(
            format!(
                "the earlier rehearsal in {} is running (pid {})",
                job.data, m["running"]
            ),
            "nothing was changed",
            &next,
        )));
    }
    if m.contains_key("busy") {
        return Ok(Some(stuck(
            format!("port {} is already in use on {}", job.port, job.member.host),
            "nothing was changed",
            &next,
        )));
    }
    Ok(None)
}

/// Make the newest WAL of the live primary reach the repository: an empty transaction (so
/// there is a commit to stop at after the target), a WAL switch, and a wait for the archiver.
async fn flush(ctx: &Ctx<'_>, job: &Job) -> Result<String, Failure> {
    let script = format!(
        r#"{env}{psql}
xid=$(q "$LIVEPORT" -c 'select txid_current()') || {{ echo "cannot write to the primary on port $LIVEPORT" >&2; exit 3; }}
seg=$(q "$LIVEPORT" -c 'select pg_walfile_name(pg_switch_wal())') || exit 3
i=0
while [ $i -lt 600 ]; do
  last=$(q "$LIVEPORT" -c 'select coalesce(last_archived_wal, $$$$) from pg_stat_archiver')
  if [ -n "$last" ] && [ "$(printf '%s\n%s\n' "$last" "$seg" | sort | tail -1)" = "$last" ]; then echo "xid=$xid"; echo "seg=$seg"; exit 0; fi
  sleep 0.1; i=$((i+1))
done
echo "the archiver did not archive $seg within 60 s (last archived: $last); check archive_command and the repository" >&2
exit 4
"#,
        env = env(job),
        psql = PSQL
    );
    let out = sh(ctx, &script, None).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        return Err(Failure::Args(format!(
            "the newest WAL of {} could not be archived: {}",
            job.member.host,
            stderr(&out)
        )));
    }
    Ok(format!(
        "the live primary's newest WAL (up to {}, after transaction {}) was archived first",
        m.get("seg").cloned().unwrap_or_default(),
        m.get("xid").cloned().unwrap_or_default()
    ))
}
