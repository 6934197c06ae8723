//! `start` (the `up` of a PITR): bring the cluster back into service on the restored history.
//!
//! The primary: promoted if it is paused at the target; restarted with `promote` as its
//! action if it shut down at the target (it replays to the same target again, then promotes);
//! its recovery settings removed (a future standby must not stop at an old target); then run
//! under systemd again. The replicas (one at a time, after the primary): their data is the
//! old history, so each is re-initialised from the new primary with `pg_basebackup -R` (moved
//! aside first with pg_pitr.backup) and must stream from it before the next one starts.

use serde_json::Value;

use super::{
    backup, env, kv, rerun, sh, skip, stderr, stdout, stuck, Ctx, Failure, Job, Outcome, PSQL,
    WAIT_READY,
};
use crate::pg::pitr::job::rewrite_auto_conf;
use crate::pg::PgRole;
use crate::transport::{join_argv, quote};

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if job.rehearsal {
        return Ok(skip(format!(
            "a rehearsal is not brought into service: inspect it with psql -p {} on {}; remove it with: {}",
            job.port,
            job.member.host,
            super::rerun(ctx, "discard")
        )));
    }
    if job.member.is_primary() {
        primary(ctx, job).await
    } else {
        replica(ctx, job).await
    }
}

async fn primary(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    let probe = format!(
        r#"{env}{psql}
pid=$(pg_pid "$DATA"); echo "pid=$pid"
[ -f "$DATA/recovery.signal" ] && echo "signal=1"
systemctl is-active --quiet postgres 2>/dev/null && echo "unit=1"
if [ -n "$pid" ]; then q "$PORT" -F '|' -c "select pg_is_in_recovery(), case when pg_is_in_recovery() then pg_get_wal_replay_pause_state() else '-' end, coalesce(pg_last_wal_replay_lsn()::text, '-')" 2>/dev/null | sed 's/^/state=/'; fi
echo "==auto"; cat "$DATA/postgresql.auto.conf" 2>/dev/null
"#,
        env = env(job),
        psql = PSQL
    );
    let out = sh(ctx, &probe, None).await?;
    let text = stdout(&out);
    let (head, auto) = text.split_once("==auto\n").unwrap_or((&text, ""));
    let m = kv(head);
    let running = m.get("pid").is_some_and(|p| !p.is_empty());
    let state: Vec<&str> = m
        .get("state")
        .map(|s| s.split('|').collect())
        .unwrap_or_default();
    let in_recovery = state.first().copied() == Some("t");
    let paused = state.get(1).copied() == Some("paused");
    if running && in_recovery && !paused {
        return Ok(stuck(
            format!(
                "PostgreSQL on {} is still recovering (replayed to {}): it is not at the target yet",
                job.member.host,
                state.get(2).copied().unwrap_or("-")
            ),
            "restored, recovery in progress",
            &format!("wait for the target: {}", rerun(ctx, "recovery,verify,up")),
        ));
    }
    let mut did: Vec<String> = Vec::new();
    if ctx.check {
        let mut o = Outcome::ok(true);
        let under = if job.member.patroni {
            "hand it to Patroni (DCS cleared, patroni.dynamic.json removed) and wait until it leads"
        } else {
            "run it under systemd"
        };
        o.msg = Some(match (running, in_recovery, m.contains_key("signal")) {
            (true, true, _) => {
                format!("would promote the paused server, remove its recovery settings and {under}")
            }
            (false, _, true) => {
                format!("would replay to the target again with action promote, then {under}")
            }
            _ => format!("would {under}"),
        });
        return Ok(o);
    }
    // Shut down at the target (or stopped while recovering): replay to the target again,
    // this time promoting.
    if !running && m.contains_key("signal") {
        let mut settings: Vec<(String, String)> = Vec::new();
        if job.pitr.target != crate::pg::pitr::Target::Latest {
            settings.push(("recovery_target_action".into(), "promote".into()));
        }
        let keep = auto.to_string();
        let mut content = String::new();
        for line in keep.lines() {
            let key = line
                .trim_start()
                .split(|c: char| c == '=' || c.is_whitespace())
                .next()
                .unwrap_or("");
            if key != "recovery_target_action" {
                content.push_str(line);
                content.push('\n');
            }
        }
        for (k, v) in &settings {
            content.push_str(&format!("{k} = {}\n", crate::pg::pitr::job::pg_quote(v)));
        }
        write_auto(ctx, job, &content).await?;
        let launch = format!(
            r#"{env}{psql}
for f in "$LOG" "${{LOG%.log}}-startup.log"; do [ -f "$f" ] && mv -f "$f" "$f.prev"; done
dbsu touch "$LOG"
{start} > /dev/null 2>&1 < /dev/null || {{ echo "pg_ctl start failed" >&2; exit 3; }}
i=0; while [ $i -lt 100 ] && [ -z "$(pg_pid "$DATA")" ]; do sleep 0.1; i=$((i+1)); done
i=0; while [ $i -lt 36000 ]; do
  pid=$(pg_pid "$DATA")
  [ -z "$pid" ] && {{ echo "PostgreSQL exited: $(grep -E 'FATAL|PANIC|shutdown at recovery target' "$LOG" | tail -3)" >&2; exit 4; }}
  [ "$(q "$PORT" -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ] && {{ echo "promoted=1"; exit 0; }}
  sleep 0.1; i=$((i+1))
done
echo "not promoted within an hour" >&2; exit 4
"#,
            env = env(job),
            psql = PSQL,
            start = super::as_dbsu(job, &job.start_argv())
        );
        let out = sh(ctx, &launch, None).await?;
        if out.status != 0 {
            return Ok(stuck(
                format!(
                    "the restored primary did not come up promoted: {}",
                    stderr(&out)
                ),
                &format!(
                    "{} is restored; PostgreSQL state unknown (log {})",
                    job.data, job.log_file
                ),
                &rerun(ctx, "up"),
            ));
        }
        did.push("replayed to the target again and promoted".into());
    } else if running && in_recovery && paused {
        let out = sh(
            ctx,
            &format!(
                "{}{}q \"$PORT\" -c 'select pg_promote(true, 300)'",
                env(job),
                PSQL
            ),
            None,
        )
        .await?;
        if stdout(&out).trim() != "t" {
            return Ok(stuck(
                format!("promotion failed: {} {}", stdout(&out).trim(), stderr(&out)),
                "paused at the target, read-only",
                &rerun(ctx, "up"),
            ));
        }
        did.push("promoted".into());
    }
    // The recovery settings have done their work: a standby made of this server later must
    // not stop at this target.
    let reread = sh(
        ctx,
        &format!("cat {}/postgresql.auto.conf", quote(&job.data)),
        None,
    )
    .await?;
    let current = stdout(&reread);
    let cleaned = rewrite_auto_conf(&current, &[], &[]);
    if cleaned != current {
        write_auto(ctx, job, &cleaned).await?;
        did.push("recovery settings removed".into());
    }
    if job.member.patroni {
        return super::patroni::lead(ctx, job, did).await;
    }
    // Under systemd again.
    let service = format!(
        r#"{env}{psql}{wait}
if ! systemctl is-active --quiet postgres 2>/dev/null; then
  if [ -n "$(pg_pid "$DATA")" ]; then dbsu "$BIN/pg_ctl" -D "$DATA" stop -m fast -w -t 300 > /dev/null || exit 3; fi
  systemctl start postgres || {{ echo "systemctl start postgres failed" >&2; exit 3; }}
  echo "restarted=1"
fi
wait_ready "$LIVEPORT" 120 || {{ echo "PostgreSQL does not accept connections on port $LIVEPORT" >&2; exit 4; }}
q "$LIVEPORT" -F '|' -c "select pg_is_in_recovery(), (select timeline_id from pg_control_checkpoint())" | sed 's/^/state=/'
"#,
        env = env(job),
        psql = PSQL,
        wait = WAIT_READY
    );
    let out = sh(ctx, &service, None).await?;
    let m = kv(&stdout(&out));
    let state: Vec<&str> = m
        .get("state")
        .map(|s| s.split('|').collect())
        .unwrap_or_default();
    if out.status != 0 || state.first().copied() != Some("f") {
        return Ok(stuck(
            format!("the restored primary is not in service: {}", stderr(&out)),
            &format!(
                "{} is restored and promoted; the service is not running",
                job.data
            ),
            &format!(
                "systemctl start postgres on {}, then {}",
                job.member.host,
                rerun(ctx, "up")
            ),
        ));
    }
    if m.contains_key("restarted") {
        did.push("running under systemd (postgres.service)".into());
    }
    let mut o = Outcome::ok(!did.is_empty());
    o.msg = Some(format!(
        "in service: writable on timeline {}{}{}",
        state.get(1).copied().unwrap_or("-"),
        if did.is_empty() { "" } else { "; " },
        did.join(", ")
    ));
    if !job.archive {
        o.msg = Some(format!(
            "{}. archive_mode is off ({}): this cluster has no backups of its new history until the post-PITR cleanup: {}",
            o.msg.unwrap_or_default(),
            job.archive_why,
            rerun(ctx, "cleanup")
        ));
    }
    Ok(o)
}

async fn write_auto(ctx: &Ctx<'_>, job: &Job, content: &str) -> Result<(), Failure> {
    let w = super::put_as_dbsu(
        ctx,
        job,
        &format!("{}/postgresql.auto.conf", job.data),
        content,
        0o600,
    )
    .await?;
    if w.failed {
        return Err(Failure::Args(format!(
            "cannot write {}/postgresql.auto.conf: {}",
            job.data,
            w.msg.unwrap_or_default()
        )));
    }
    Ok(())
}

/// The cluster's primary: address and port, from the inventory.
fn cluster_primary(ctx: &Ctx<'_>, job: &Job) -> Option<(String, u16)> {
    ctx.inv.hosts.iter().find_map(|h| {
        let pg = h.domain.pg.as_ref()?;
        (pg.cluster == job.member.cluster && pg.role == PgRole::Primary)
            .then(|| (h.conn.address.clone(), pg.port))
    })
}

async fn replica(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    let Some((primary, pport)) = cluster_primary(ctx, job) else {
        return Ok(stuck(
            format!(
                "{} has no primary in the inventory to re-initialise from",
                job.member.cluster
            ),
            "PostgreSQL is stopped on this replica",
            "mark the primary with pg_role: primary",
        ));
    };
    let user = ctx
        .vars
        .get("pg_replication_username")
        .and_then(Value::as_str)
        .unwrap_or("replicator")
        .to_string();
    let password = ctx
        .vars
        .get("pg_replication_password")
        .and_then(Value::as_str)
        .map(str::to_string);
    if ctx.check {
        let how = if job.member.patroni {
            format!("start Patroni, which copies the new leader {primary} (basebackup)")
        } else {
            format!("copy it from the primary {primary}:{pport} (pg_basebackup -R)")
        };
        let mut o = Outcome::ok(true);
        o.msg = Some(format!(
            "would {} {} and {how}, then wait until it streams from it",
            if job.pitr.backup {
                "move aside"
            } else {
                "empty"
            },
            job.data
        ));
        return Ok(o);
    }
    let basebackup = join_argv(&[
        format!("{}/pg_basebackup", job.member.bin_dir),
        "-h".into(),
        primary.clone(),
        "-p".into(),
        pport.to_string(),
        "-U".into(),
        user,
        "-D".into(),
        job.data.clone(),
        "-X".into(),
        "stream".into(),
        "-c".into(),
        "fast".into(),
        "-R".into(),
        "-w".into(),
    ]);
    let clear = if job.pitr.backup {
        backup::move_aside(job, false)
    } else {
        format!(
            r#"{env}
if [ -n "$(pg_pid "$DATA")" ]; then echo "PostgreSQL is running in $DATA" >&2; exit 3; fi
case "$DATA" in /*/*) ;; *) echo "refusing to empty $DATA" >&2; exit 3 ;; esac
[ -d "$DATA" ] && find "$DATA" -mindepth 1 -delete
install -d -o "$DBSU" -g "$(id -gn "$DBSU")" -m 0700 "$DATA"
echo "emptied=1"
"#,
            env = env(job)
        )
    };
    if job.member.patroni {
        return super::patroni::join(ctx, job, &primary, &clear).await;
    }
    let script = format!(
        r#"{env}{psql}{wait}
IFS= read -r PGPASSWORD || true; [ -n "$PGPASSWORD" ] && export PGPASSWORD || unset PGPASSWORD
if [ -n "$(pg_pid "$DATA")" ]; then
  systemctl stop postgres 2>/dev/null; dbsu "$BIN/pg_ctl" -D "$DATA" stop -m fast -w > /dev/null 2>&1
fi
dbsu "$BIN/pg_isready" -q -h {primary} -p {pport} || {{ echo "the primary {primary}:{pport} does not accept connections" >&2; exit 5; }}
clear_out=$( {clear} ) || {{ echo "cannot clear $DATA: $clear_out" >&2; exit 3; }}
printf '%s\n' "$clear_out" | sed 's/^/clear_/'
dbsu {basebackup} > "/pg/tmp/pgplay-basebackup.log" 2>&1 || {{ echo "pg_basebackup failed: $(tail -3 /pg/tmp/pgplay-basebackup.log)" >&2; exit 6; }}
[ -f "$DATA/standby.signal" ] || {{ echo "pg_basebackup did not complete" >&2; exit 6; }}
# The restored primary may run with archive_mode off until the post-PITR cleanup; a replica
# keeps postgresql.conf's own setting, so that it archives if it is promoted one day.
sed -i "/^archive_mode = 'off'$/d" "$DATA/postgresql.auto.conf"
systemctl start postgres || {{ echo "systemctl start postgres failed" >&2; exit 7; }}
wait_ready "$LIVEPORT" 120 || {{ echo "the replica does not accept connections" >&2; exit 7; }}
i=0; while [ $i -lt 1200 ]; do
  s=$(q "$LIVEPORT" -F '|' -c "select status, received_tli, sender_host from pg_stat_wal_receiver" 2>/dev/null)
  case "$s" in streaming*) echo "stream=$s"; exit 0 ;; esac
  sleep 0.1; i=$((i+1))
done
echo "the replica does not stream from the primary after 120 s ($s)" >&2; exit 8
"#,
        env = env(job),
        psql = PSQL,
        wait = WAIT_READY,
        primary = quote(&primary),
        clear = clear,
    );
    let stdin = format!("{}\n", password.unwrap_or_default());
    let out = sh(ctx, &script, Some(stdin.as_bytes())).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        let state = match out.status {
            5 | 3 => "PostgreSQL is stopped; the data directory was not changed",
            6 => "the data directory is empty or partly copied; PostgreSQL is stopped",
            _ => "the data directory is a copy of the new primary; PostgreSQL may not be running",
        };
        return Ok(stuck(
            format!(
                "re-initialising {} from {primary}:{pport} failed: {}",
                job.member.host,
                stderr(&out)
            ),
            state,
            &rerun(ctx, "up"),
        ));
    }
    let mut o = Outcome::ok(true);
    let stream: Vec<&str> = m
        .get("stream")
        .map(|s| s.split('|').collect())
        .unwrap_or_default();
    o.msg = Some(format!(
        "re-initialised from the primary {primary}:{pport}{}; streaming on timeline {}",
        m.get("clear_to")
            .map(|t| format!(" (old data kept in {t})"))
            .unwrap_or_default(),
        stream.get(1).copied().unwrap_or("-")
    ));
    Ok(o)
}
