//! `restore`: `pgbackrest restore` into the data directory with the backup set and timeline
//! the preflight chose, then the recovery settings rewritten by pgplay in PostgreSQL's own
//! quoting (pgBackRest 2.45 writes them unescaped). A rehearsal also loses the replication
//! settings and gets its own port and a marker file (`.pgplay-rehearsal`), so only pgplay's
//! `discard` ever removes it.

use serde_json::Value;

use super::{
    as_dbsu, env, no_preflight, put_as_dbsu, rerun, sections, settled, sh, skip, stderr, stdout,
    stuck, Ctx, Failure, Job, Outcome,
};
use crate::pg::pitr::job::rewrite_auto_conf;
use crate::transport::join_argv;

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if !job.restores() {
        return Ok(skip(
            "a replica: it is re-initialised from the restored primary in 'up'",
        ));
    }
    let s = settled(ctx).ok_or_else(no_preflight)?;
    let argv = job.restore_argv(&s.set, s.timeline);
    let command = join_argv(&argv);
    if ctx.check {
        let mut o = Outcome::ok(true);
        o.msg = Some(format!("would run: {command}"));
        o.data.insert("cmd".into(), Value::String(command));
        return Ok(o);
    }
    let script = format!(
        r#"{env}
pid=$(pg_pid "$DATA")
if [ -n "$pid" ]; then echo "==running $pid"; exit 0; fi
if [ "$DATA" != "$LIVE" ] && [ -n "$(ls -A "$DATA" 2>/dev/null)" ] && [ ! -f "$DATA/.pgplay-rehearsal" ]; then echo "==foreign"; exit 0; fi
[ -d "$DATA" ] || install -d -o "$DBSU" -g "$(id -gn "$DBSU")" -m 0700 "$DATA" || exit 3
echo "==restore"
{restore} 2>&1
rc=$?
echo "==rc $rc"
if [ $rc = 0 ]; then
  if [ "$DATA" != "$LIVE" ]; then rm -f "$DATA/standby.signal"; dbsu touch "$DATA/.pgplay-rehearsal"; fi
  echo "==auto"; cat "$DATA/postgresql.auto.conf" 2>/dev/null
fi
"#,
        env = env(job),
        restore = as_dbsu(job, &argv),
    );
    let out = sh(ctx, &script, None).await?;
    let text = stdout(&out);
    let parts = sections(&text);
    let get = |name: &str| {
        parts
            .iter()
            .find(|(h, _)| h.starts_with(name))
            .map(|(h, b)| (h.clone(), b.clone()))
    };
    if let Some((head, _)) = get("running") {
        return Ok(stuck(
            format!(
                "PostgreSQL is running in {} ({head}): a restore needs it stopped",
                job.data
            ),
            "nothing was restored",
            &format!("stop it first: {}", rerun(ctx, "down")),
        ));
    }
    if get("foreign").is_some() {
        return Ok(stuck(
            format!(
                "{} is not empty and not a rehearsal pgplay made: it is never overwritten",
                job.data
            ),
            "nothing was restored",
            "choose another pg_pitr.data",
        ));
    }
    let log = get("restore").map(|(_, b)| b).unwrap_or_default();
    let rc = get("rc")
        .map(|(h, _)| h.trim_start_matches("rc ").to_string())
        .unwrap_or_default();
    if out.status != 0 || rc != "0" {
        let tail: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("WARN"))
            .collect();
        return Ok(stuck(
            format!(
                "pgbackrest restore failed on {} (exit {rc}): {}{}",
                job.member.host,
                if tail.is_empty() {
                    log.lines().last().unwrap_or("")
                } else {
                    tail[tail.len() - 1]
                },
                if stderr(&out).is_empty() {
                    String::new()
                } else {
                    format!(" ({})", stderr(&out))
                }
            ),
            &format!("PostgreSQL is stopped; {} may be partly restored", job.data),
            &format!(
                "fix the cause and restore again (a delta restore picks up where it stopped): {}",
                rerun(ctx, "pitr")
            ),
        ));
    }
    let old = get("auto").map(|(_, b)| b).unwrap_or_default();
    let also: &[&str] = if job.rehearsal {
        &["primary_conninfo", "primary_slot_name"]
    } else {
        &[]
    };
    let new = rewrite_auto_conf(&old, &job.recovery_settings(s.timeline), also);
    let written = put_as_dbsu(
        ctx,
        job,
        &format!("{}/postgresql.auto.conf", job.data),
        &new,
        0o600,
    )
    .await?;
    if written.failed {
        return Ok(stuck(
            format!(
                "cannot write the recovery settings: {}",
                written.msg.unwrap_or_default()
            ),
            &format!(
                "{} is restored but its recovery settings are the ones pgbackrest wrote",
                job.data
            ),
            &rerun(ctx, "pitr"),
        ));
    }
    let summary: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("restore backup set") || l.contains("restore size"))
        .map(|l| l.split("INFO: ").nth(1).unwrap_or(l))
        .collect();
    let mut o = Outcome::ok(true);
    o.msg = Some(format!("restored: {}", summary.join("; ")));
    o.data.insert("cmd".into(), Value::String(command));
    o.data.insert("stdout".into(), Value::String(log));
    Ok(o)
}
