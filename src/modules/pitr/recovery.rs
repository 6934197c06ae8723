//! `recovery`: start PostgreSQL on the restored data (as the dbsu, `pg_ctl` with the recovery
//! log of Pigsty's layout) and wait until the target is reached — not just until the server
//! is consistent, which is all Pigsty waits for. Replay progress (the replayed LSN and the
//! time of the last replayed transaction) is reported while it runs. Done when the server is
//! paused at the target (pause), promoted (promote, or a recovery to the end of the WAL), or
//! shut down at the target (shutdown); a server that ends otherwise fails the step with the
//! lines of its log that say why. `pg_ctl start` may return 0 for a server that dies right
//! after, so the server is polled, never trusted.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{
    as_dbsu, env, kv, rerun, sh, skip, stderr, stdout, stuck, Ctx, Failure, Job, Outcome, PSQL,
};
use crate::pg::pitr::{Action, Target};

/// The log lines that tell how recovery went.
const WATCH: &str = "recovery stopping|pausing at the end of recovery|shutdown at recovery target|archive recovery complete|selected new timeline ID|FATAL|PANIC|database system is ready to accept|consistent recovery state reached|redo done|last completed transaction";

/// No replay progress for this long (while not at the target) fails the step.
const STALL: Duration = Duration::from_secs(1800);

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if !job.restores() {
        return Ok(skip(
            "a replica: it is re-initialised from the restored primary in 'up'",
        ));
    }
    let start = as_dbsu(job, &job.start_argv());
    if ctx.check {
        let mut o = Outcome::ok(true);
        o.msg = Some(format!("would run {start} and wait for the target"));
        return Ok(o);
    }
    let launch = format!(
        r#"{env}
if [ -n "$(pg_pid "$DATA")" ]; then echo "already=$(pg_pid "$DATA")"; exit 0; fi
[ -f "$DATA/recovery.signal" ] || [ -f "$DATA/standby.signal" ] || {{ echo "no recovery.signal in $DATA: it was not restored (run the restore step)" >&2; exit 3; }}
for f in "$LOG" "${{LOG%.log}}-startup.log"; do [ -f "$f" ] && mv -f "$f" "$f.prev"; done
dbsu touch "$LOG"
{start} > /dev/null 2>&1 < /dev/null || {{ echo "pg_ctl start failed: $(tail -5 "${{LOG%.log}}-startup.log" 2>/dev/null)" >&2; exit 3; }}
echo "started=1"
"#,
        env = env(job)
    );
    let out = sh(ctx, &launch, None).await?;
    if out.status != 0 {
        return Ok(stuck(
            format!(
                "PostgreSQL did not start on the restored data: {}",
                stderr(&out)
            ),
            &format!("{} is restored; PostgreSQL is not running", job.data),
            &format!(
                "look at {} and {}, then {}",
                job.log_file,
                job.log_file.replace(".log", "-startup.log"),
                rerun(ctx, "recovery,verify")
            ),
        ));
    }
    let probe = format!(
        r#"{env}{psql}
pid=$(pg_pid "$DATA"); echo "alive=${{pid:+1}}"
if [ -n "$pid" ]; then
  q "$PORT" -F '|' -c "select pg_is_in_recovery(), case when pg_is_in_recovery() then pg_get_wal_replay_pause_state() else '-' end, coalesce(pg_last_wal_replay_lsn()::text, '-'), coalesce(to_char(pg_last_xact_replay_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '-')" 2>/dev/null | sed 's/^/state=/'
fi
grep -E '{watch}' "$LOG" 2>/dev/null | tail -30 | sed 's/^/log=/'
"#,
        env = env(job),
        psql = PSQL,
        watch = WATCH
    );
    let expect = if job.pitr.target == Target::Latest {
        Action::Promote
    } else {
        job.action()
    };
    let began = Instant::now();
    let mut last_progress = Instant::now();
    let mut last_lsn = String::new();
    let mut last_report = Instant::now() - Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let out = sh(ctx, &probe, None).await?;
        let text = stdout(&out);
        let m = kv(&text);
        let log: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("log="))
            .collect();
        let alive = m.get("alive").is_some_and(|a| a == "1");
        let state: Vec<&str> = m
            .get("state")
            .map(|s| s.split('|').collect())
            .unwrap_or_default();
        let in_recovery = state.first().copied();
        let paused = state.get(1).copied() == Some("paused");
        let lsn = state.get(2).copied().unwrap_or("-").to_string();
        let ts = state.get(3).copied().unwrap_or("-").to_string();
        let stopped_at = log
            .iter()
            .rev()
            .find(|l| l.contains("recovery stopping"))
            .map(|l| after_level(l));
        let ended = log.iter().any(|l| {
            l.contains("archive recovery complete") || l.contains("selected new timeline ID")
        });
        let fatal: Vec<String> = log
            .iter()
            .filter(|l| l.contains("FATAL") || l.contains("PANIC"))
            .map(|l| after_level(l))
            .collect();
        let reached = match expect {
            Action::Pause => alive && in_recovery == Some("t") && paused && stopped_at.is_some(),
            Action::Promote => {
                alive
                    && in_recovery == Some("f")
                    && (stopped_at.is_some() || (job.pitr.target == Target::Latest && ended))
            }
            Action::Shutdown => {
                !alive
                    && log
                        .iter()
                        .any(|l| l.contains("shutdown at recovery target"))
            }
        };
        if reached {
            let mut o = Outcome::ok(true);
            let how = match expect {
                Action::Pause => format!("paused at the target, read-only, on port {}", job.port),
                Action::Promote => format!("promoted: writable on port {}", job.port),
                Action::Shutdown => "shut down at the target".to_string(),
            };
            let at = stopped_at
                .clone()
                .unwrap_or_else(|| "the end of the archived WAL".into());
            o.msg = Some(format!(
                "{how}; {at} (in {:.1} s)",
                began.elapsed().as_secs_f64()
            ));
            o.data.insert("stopped_at".into(), Value::String(at));
            o.data.insert("replay_lsn".into(), Value::String(lsn));
            o.data.insert("replay_time".into(), Value::String(ts));
            return Ok(o);
        }
        if !alive && began.elapsed() < Duration::from_secs(10) && log.is_empty() {
            continue; // not up yet: pg_ctl -W returns before the postmaster writes its pid
        }
        if !alive {
            let why = if fatal.is_empty() {
                "it exited without saying why in the log".to_string()
            } else {
                fatal.join(" | ")
            };
            let hint = if why.contains("before configured recovery target was reached") {
                "the archived WAL ends before the target: pick an earlier target (the plan shows the window)"
            } else {
                "read the log, fix the cause"
            };
            return Ok(stuck(
                format!("recovery did not reach the target: {why}"),
                &format!(
                    "{} is restored, PostgreSQL is stopped (log: {})",
                    job.data, job.log_file
                ),
                &format!("{hint}, then restore again: {}", rerun(ctx, "pitr")),
            ));
        }
        if lsn != last_lsn {
            last_lsn = lsn.clone();
            last_progress = Instant::now();
        }
        if last_report.elapsed() >= Duration::from_secs(2) && lsn != "-" {
            last_report = Instant::now();
            // Before the first replayed commit there is no transaction time to show.
            (ctx.progress)(if ts == "-" || ts.is_empty() {
                format!("replayed to {lsn}, no transaction replayed yet")
            } else {
                format!("replayed to {lsn}, last transaction {ts} UTC")
            });
        }
        if last_progress.elapsed() > STALL {
            return Ok(stuck(
                format!("recovery made no progress for {} minutes (replayed to {lsn})", STALL.as_secs() / 60),
                &format!("PostgreSQL is running in recovery on port {} ({})", job.port, job.data),
                &format!("check restore_command and the repository in {}; stop it with pg_ctl -D {} stop, then {}", job.log_file, job.data, rerun(ctx, "pitr")),
            ));
        }
    }
}

/// A log line from its message on (`LOG:  recovery stopping ...` → `recovery stopping ...`).
pub(super) fn after_level(line: &str) -> String {
    for level in ["FATAL:  ", "PANIC:  ", "LOG:  ", "ERROR:  "] {
        if let Some(i) = line.find(level) {
            let prefix = if level.starts_with("LOG") {
                ""
            } else {
                &level[..level.len() - 3]
            };
            let sep = if prefix.is_empty() { "" } else { ": " };
            return format!("{prefix}{sep}{}", &line[i + level.len()..]);
        }
    }
    line.to_string()
}
