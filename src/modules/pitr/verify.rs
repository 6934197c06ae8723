//! `verify`: where the restored instance stands, from PostgreSQL itself: the point recovery
//! stopped at (its log), whether it is paused, promoted or shut down, the last replayed
//! transaction, and the control data summary (checkpoint time, redo LSN, timeline, next XID,
//! WAL file, state, system id).

use serde_json::{json, Value};

use super::recovery::after_level;
use super::{env, kv, sh, skip, stdout, Ctx, Failure, Job, Outcome, PSQL};

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if !job.restores() {
        return Ok(skip(
            "a replica: it is re-initialised from the restored primary in 'up'",
        ));
    }
    if ctx.check {
        let mut o = Outcome::ok(false);
        o.msg = Some(format!(
            "would read where {} stands (recovery log, pg_controldata)",
            job.data
        ));
        return Ok(o);
    }
    let script = format!(
        r#"{env}{psql}
pid=$(pg_pid "$DATA"); echo "alive=${{pid:+1}}"
if [ -n "$pid" ]; then
  q "$PORT" -F '|' -c "select pg_is_in_recovery(), case when pg_is_in_recovery() then pg_get_wal_replay_pause_state() else '-' end, (select timeline_id from pg_control_checkpoint())" 2>/dev/null | sed 's/^/state=/'
  q "$PORT" -c "select coalesce(to_char(pg_last_xact_replay_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '-')" 2>/dev/null | sed 's/^/replay_time=/'
fi
grep -E 'recovery stopping|last completed transaction' "$LOG" 2>/dev/null | tail -1 | sed 's/^/stop=/'
"$BIN/pg_controldata" "$DATA" 2>/dev/null | sed 's/^/ctl=/'
"#,
        env = env(job),
        psql = PSQL
    );
    let out = sh(ctx, &script, None).await?;
    let text = stdout(&out);
    let m = kv(&text);
    let ctl: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("ctl="))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let get = |k: &str| {
        ctl.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "-".into())
    };
    let summary = format!(
        "TIME={} LSN={} TLI={}/{} XID={} FILE={} STATE={} CLS={}",
        get("Time of latest checkpoint"),
        get("Latest checkpoint's REDO location"),
        get("Latest checkpoint's TimeLineID"),
        get("Latest checkpoint's PrevTimeLineID"),
        get("Latest checkpoint's NextXID"),
        get("Latest checkpoint's REDO WAL file"),
        get("Database cluster state"),
        get("Database system identifier"),
    );
    let alive = m.get("alive").is_some_and(|a| a == "1");
    let state: Vec<String> = m
        .get("state")
        .map(|s| s.split('|').map(String::from).collect())
        .unwrap_or_default();
    let standing = if !alive {
        "PostgreSQL is stopped".to_string()
    } else if state.first().map(String::as_str) == Some("t") {
        format!(
            "running in recovery ({}), read-only, on port {}",
            state.get(1).cloned().unwrap_or_default(),
            job.port
        )
    } else {
        format!(
            "promoted: writable on port {}, timeline {}",
            job.port,
            state.get(2).cloned().unwrap_or_default()
        )
    };
    let stop = m
        .get("stop")
        .map(|l| after_level(l))
        .unwrap_or_else(|| "-".into());
    let replay = m.get("replay_time").cloned().unwrap_or_else(|| "-".into());
    let show = format!(
        "verify {} ({}): {standing}\n  stopped at   {stop}\n  last replayed transaction {replay} UTC\n  control data {summary}\n",
        job.member.host, job.data
    );
    let mut o = Outcome::ok(false);
    o.msg = Some(format!("{standing}; {stop}"));
    o.data.insert("pgplay_show".into(), Value::String(show));
    o.data.insert(
        "verify".into(),
        json!({"running": alive, "state": state, "stopped_at": stop, "replay_time": replay, "controldata": summary}),
    );
    Ok(o)
}
