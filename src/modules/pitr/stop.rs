//! `stop`: stop PostgreSQL on a member before its data is replaced (the playbook orders the
//! replicas before the primary). For a recovery to the latest point, the cluster's own primary
//! first archives its newest WAL (an empty transaction and a WAL switch), so it loses nothing
//! the repository could have had. systemd's unit first, then `pg_ctl stop` (fast, then immediate)
//! for a server still running outside it.

use serde_json::Value;

use super::{env, kv, rerun, sh, skip, stderr, stdout, stuck, Ctx, Failure, Job, Outcome};

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if job.rehearsal {
        return Ok(skip(format!(
            "a rehearsal in {}: the live instance keeps running",
            job.data
        )));
    }
    // Only a recovery to the latest point needs what was written after the preflight (which
    // archived the primary's WAL already); a target in the past is in the archive by now.
    let flush =
        !job.clone && job.member.is_primary() && job.pitr.target == crate::pg::pitr::Target::Latest;
    let script = format!(
        r#"{env}
pid=$(pg_pid "$DATA")
if [ -z "$pid" ]; then echo "state=stopped"; exit 0; fi
echo "state=running"; echo "pid=$pid"
# (check mode: stop_patroni only said it would stop Patroni, so it may still run)
if [ {check} = 1 ]; then exit 0; fi
if [ {patroni} = 1 ] && systemctl is-active --quiet patroni 2>/dev/null; then
  echo "Patroni runs on this host: it would start PostgreSQL again or fail over (stop it first: -t stop_patroni)" >&2; exit 3
fi
if [ {flush} = 1 ] && [ "$(dbsu "$BIN/psql" -p "$LIVEPORT" -d postgres -AXtwqc 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; then
  dbsu "$BIN/psql" -p "$LIVEPORT" -d postgres -AXtwq -c 'select txid_current()' -c 'select pg_switch_wal()' > /dev/null 2>&1 && echo "switched=1"
  i=0; while [ $i -lt 300 ]; do
    # archived up to the segment before the current one: done
    done_=$(dbsu "$BIN/psql" -p "$LIVEPORT" -d postgres -AXtwqc "select (select last_archived_wal from pg_stat_archiver) >= pg_walfile_name(pg_current_wal_lsn() - 1)" 2>/dev/null)
    if [ "$done_" = t ]; then echo "archived=$(dbsu "$BIN/psql" -p "$LIVEPORT" -d postgres -AXtwqc 'select last_archived_wal from pg_stat_archiver')"; break; fi
    sleep 0.1; i=$((i+1))
  done
fi
if systemctl is-active --quiet postgres 2>/dev/null; then systemctl stop postgres; fi
i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if kill -0 "$pid" 2>/dev/null; then
  dbsu "$BIN/pg_ctl" -D "$DATA" stop -m fast -w -t 60 > /dev/null 2>&1 || dbsu "$BIN/pg_ctl" -D "$DATA" stop -m immediate -w -t 30 > /dev/null 2>&1
fi
if kill -0 "$pid" 2>/dev/null; then echo "PostgreSQL (pid $pid) is still running in $DATA" >&2; exit 3; fi
echo "stopped=1"
"#,
        env = env(job),
        check = u8::from(ctx.check),
        flush = u8::from(flush),
        patroni = u8::from(job.member.patroni),
    );
    let out = sh(ctx, &script, None).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        return Ok(stuck(
            format!(
                "cannot stop PostgreSQL on {}: {}",
                job.member.host,
                stderr(&out)
            ),
            "PostgreSQL may still be running; nothing was restored",
            &format!(
                "stop it by hand (systemctl stop postgres; pg_ctl -D {} stop), then {}",
                job.data,
                rerun(ctx, "down,pitr,up")
            ),
        ));
    }
    let pid = m.get("pid").cloned().unwrap_or_default();
    let mut o = if m.get("state").map(String::as_str) == Some("stopped") {
        let mut o = Outcome::ok(false);
        o.msg = Some("PostgreSQL is not running".into());
        o
    } else if ctx.check {
        let mut o = Outcome::ok(true);
        o.msg = Some(format!("would stop PostgreSQL (pid {pid})"));
        o
    } else {
        let mut o = Outcome::ok(true);
        o.msg = Some(match m.get("archived") {
            Some(seg) => {
                format!("stopped PostgreSQL (was pid {pid}) after archiving its WAL up to {seg}")
            }
            None => format!("stopped PostgreSQL (was pid {pid})"),
        });
        o
    };
    o.data.insert("pid".into(), Value::String(pid));
    Ok(o)
}
