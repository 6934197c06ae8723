//! The Patroni side of a PITR (`patroni_enabled: true`, Pigsty's default), in the order the
//! playbook's lockstep gives it: `pause` (on the primary), `stop_patroni` (replicas, then the
//! primary: paused, Patroni leaves PostgreSQL running and the `stop` step stops it), then in
//! `up`: `etcd` (`etcd.rs`: the cluster's keys cleared so that Patroni takes the restored
//! data as a new start), [`lead`] (the promoted primary handed to
//! Patroni, which must lead and accept writes), [`join`] (each replica emptied or moved aside
//! and re-initialised by Patroni from the new leader, one at a time) and `resume`.
//!
//! Patroni's REST API is read through `super::super::patroni_api`; `patronictl` runs as the
//! dbsu with Pigsty's `/etc/patroni/patroni.yml`.

use serde_json::Value;

use super::{as_dbsu, env, kv, rerun, sh, skip, stderr, stdout, stuck, Ctx, Failure, Job, Outcome};
use crate::modules::patroni_api::API;
use crate::transport::quote;

pub const CONF: &str = "/etc/patroni/patroni.yml";

pub(super) fn not_patroni(job: &Job) -> Option<Outcome> {
    if job.rehearsal {
        return Some(skip(format!(
            "a rehearsal in {}: Patroni and the live instance are left alone",
            job.data
        )));
    }
    if !job.member.patroni {
        return Some(skip(format!(
            "Patroni is not enabled on {} (patroni_enabled: false): PostgreSQL runs under systemd (postgres.service)",
            job.member.cluster
        )));
    }
    None
}

pub(super) fn api_url(job: &Job, path: &str) -> String {
    format!(
        "http://{}:{}/{path}",
        job.member.address, job.member.patroni_port
    )
}

fn patronictl(job: &Job, verb: &str) -> String {
    as_dbsu(
        job,
        &[
            "patronictl".into(),
            "-c".into(),
            CONF.into(),
            verb.into(),
            job.member.cluster.clone(),
        ],
    )
}

/// `pause`/`resume` through patronictl; "already paused" / "is not paused" are fine.
pub async fn pause_or_resume(ctx: &Ctx<'_>, job: &Job, pause: bool) -> Result<Outcome, Failure> {
    if let Some(o) = not_patroni(job) {
        return Ok(o);
    }
    let (verb, fine) = if pause {
        ("pause", "already paused")
    } else {
        ("resume", "is not paused")
    };
    if ctx.check {
        let mut o = Outcome::ok(true);
        o.msg = Some(format!("would {verb} Patroni on {}", job.member.cluster));
        return Ok(o);
    }
    let script = format!("cd /\n{} 2>&1\n", patronictl(job, verb));
    let out = sh(ctx, &script, None).await?;
    let text = stdout(&out);
    let mut o = if out.status == 0 {
        let mut o = Outcome::ok(true);
        o.msg = Some(format!(
            "Patroni {} on {}",
            if pause {
                "paused (no failover while PostgreSQL is stopped and restored)"
            } else {
                "resumed (automatic failover is on again)"
            },
            job.member.cluster
        ));
        o
    } else if text.contains(fine) {
        let mut o = Outcome::ok(false);
        o.msg = Some(format!("Patroni on {} {fine}", job.member.cluster));
        o
    } else if pause {
        return Ok(stuck(
            format!(
                "cannot pause Patroni on {}: {}",
                job.member.cluster,
                text.trim()
            ),
            "nothing was stopped",
            &format!(
                "make Patroni answer (systemctl status patroni; patronictl -c {CONF} list {}), then {}",
                job.member.cluster,
                rerun(ctx, "down")
            ),
        ));
    } else {
        return Ok(stuck(
            format!(
                "cannot resume Patroni on {}: {}",
                job.member.cluster,
                text.trim()
            ),
            "the cluster is in service; Patroni is paused (no automatic failover)",
            &format!(
                "patronictl -c {CONF} resume {} (or {})",
                job.member.cluster,
                rerun(ctx, "resume")
            ),
        ));
    };
    o.data.insert("stdout".into(), Value::String(text));
    Ok(o)
}

/// `stop_patroni`: stop the unit. Paused, Patroni leaves PostgreSQL running (the `stop` step
/// that follows stops it, archiving the primary's newest WAL first).
pub async fn stop(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if let Some(o) = not_patroni(job) {
        return Ok(o);
    }
    let script = format!(
        "if ! systemctl is-active --quiet patroni; then echo state=stopped; exit 0; fi\necho state=running\n[ {check} = 1 ] && exit 0\nsystemctl stop patroni || exit 3\n! systemctl is-active --quiet patroni || exit 4\n",
        check = u8::from(ctx.check)
    );
    let out = sh(ctx, &script, None).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        return Ok(stuck(
            format!(
                "cannot stop Patroni on {}: {}",
                job.member.host,
                stderr(&out)
            ),
            "Patroni may still run (paused); nothing was restored",
            &format!(
                "systemctl stop patroni on {}, then {}",
                job.member.host,
                rerun(ctx, "down,pitr,up")
            ),
        ));
    }
    let was_running = m.get("state").map(String::as_str) == Some("running");
    let mut o = Outcome::ok(was_running);
    o.msg = Some(match (was_running, ctx.check) {
        (false, _) => "Patroni was not running".into(),
        (true, true) => {
            "would stop Patroni (paused: PostgreSQL keeps running until stop_postgres)".into()
        }
        (true, false) => "Patroni stopped (paused: PostgreSQL is stopped next)".into(),
    });
    Ok(o)
}

/// The primary, promoted and out of recovery, handed to Patroni: stopped cleanly, its cached
/// configuration (`patroni.dynamic.json`, which would keep it paused) removed, Patroni started;
/// done when Patroni leads and PostgreSQL accepts writes.
pub async fn lead(ctx: &Ctx<'_>, job: &Job, mut did: Vec<String>) -> Result<Outcome, Failure> {
    let script = format!(
        r#"{env}{api}cd /
if ! systemctl is-active --quiet patroni; then
  if [ -n "$(pg_pid "$DATA")" ]; then dbsu "$BIN/pg_ctl" -D "$DATA" stop -m fast -w -t 300 > /dev/null || {{ echo "pg_ctl stop failed" >&2; exit 3; }}; fi
  [ -f "$DATA/patroni.dynamic.json" ] && rm -f "$DATA/patroni.dynamic.json" && echo "dynamic=1"
  systemctl start patroni || {{ echo "systemctl start patroni failed" >&2; exit 4; }}
  echo "started=1"
fi
i=0; while [ $i -lt 1800 ]; do
  systemctl is-active --quiet patroni || {{ echo "Patroni exited: $(journalctl -u patroni -n 5 --no-pager 2>/dev/null | tail -5)" >&2; exit 5; }}
  r=$(api {me}) || r=
  case "$r" in *'"role": "master"'*|*'"role": "primary"'*|*'"role":"master"'*|*'"role":"primary"'*)
    if [ "$(dbsu "$BIN/psql" -p "$LIVEPORT" -d postgres -AXtwqc 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; then
      echo "tl=$(dbsu "$BIN/psql" -p "$LIVEPORT" -d postgres -AXtwqc 'select timeline_id from pg_control_checkpoint()' 2>/dev/null)"
      exit 0
    fi ;;
  esac
  sleep 0.2; i=$((i+1))
done
echo "Patroni does not lead after 360 s: $(api {me})" >&2; exit 6
"#,
        env = env(job),
        api = API,
        me = quote(&api_url(job, "patroni")),
    );
    let out = sh(ctx, &script, None).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        return Ok(stuck(
            format!(
                "Patroni does not take the restored primary {} into service: {}",
                job.member.host,
                stderr(&out)
            ),
            &format!(
                "{} is restored and promoted; Patroni {}",
                job.data,
                if out.status == 3 {
                    "was not started (PostgreSQL would not stop)"
                } else {
                    "was started but does not lead (journalctl -u patroni)"
                }
            ),
            &rerun(ctx, "up"),
        ));
    }
    if m.contains_key("dynamic") {
        did.push("patroni.dynamic.json removed".into());
    }
    if m.contains_key("started") {
        did.push("Patroni started".into());
    }
    let mut o = Outcome::ok(!did.is_empty());
    o.msg = Some(format!(
        "in service under Patroni: the leader of {}, writable on timeline {}{}{}",
        job.member.cluster,
        m.get("tl").map(String::as_str).unwrap_or("-"),
        if did.is_empty() { "" } else { "; " },
        did.join(", ")
    ));
    Ok(o)
}

/// A replica: its data is the old history, so Patroni re-initialises it from the new leader
/// (basebackup): the data directory is emptied (or moved aside with pg_pitr.backup),
/// `clonefrom` is turned off (so it copies the leader, not another old replica), Patroni
/// starts, and the step waits until the replica streams from the new primary.
pub async fn join(
    ctx: &Ctx<'_>,
    job: &Job,
    primary: &str,
    clear: &str,
) -> Result<Outcome, Failure> {
    let script = format!(
        r#"{env}{api}cd /
me={me}
if systemctl is-active --quiet patroni; then
  s=$(dbsu "$BIN/psql" -p "$LIVEPORT" -d postgres -AXtwq -F '|' -c "select status, sender_host, received_tli from pg_stat_wal_receiver" 2>/dev/null)
  case "$s" in "streaming|"{primary}"|"*) echo "stream=$s"; echo "already=1"; exit 0 ;; esac
  systemctl stop patroni || {{ echo "systemctl stop patroni failed" >&2; exit 3; }}
fi
if [ -n "$(pg_pid "$DATA")" ]; then dbsu "$BIN/pg_ctl" -D "$DATA" stop -m fast -w -t 120 > /dev/null 2>&1 || dbsu "$BIN/pg_ctl" -D "$DATA" stop -m immediate -w > /dev/null 2>&1; fi
if [ -n "$(pg_pid "$DATA")" ]; then echo "PostgreSQL still runs in $DATA" >&2; exit 3; fi
clear_out=$( {clear} ) || {{ echo "cannot clear $DATA: $clear_out" >&2; exit 3; }}
printf '%s\n' "$clear_out" | sed 's/^/clear_/'
if grep -qE '^[[:space:]]*clonefrom:[[:space:]]*true' {conf} 2>/dev/null; then
  sed -i -E 's/^([[:space:]]*clonefrom:)[[:space:]]*true/\1 false/' {conf} && echo "clonefrom=1"
fi
systemctl start patroni || {{ echo "systemctl start patroni failed" >&2; exit 7; }}
i=0; while [ $i -lt 18000 ]; do
  systemctl is-active --quiet patroni || {{ echo "Patroni exited: $(journalctl -u patroni -n 5 --no-pager 2>/dev/null | tail -5)" >&2; exit 7; }}
  s=$(dbsu "$BIN/psql" -p "$LIVEPORT" -d postgres -AXtwq -F '|' -c "select status, sender_host, received_tli from pg_stat_wal_receiver" 2>/dev/null)
  case "$s" in "streaming|"{primary}"|"*) echo "stream=$s"; exit 0 ;; esac
  sleep 0.2; i=$((i+1))
done
echo "the replica does not stream from {primary} after an hour: Patroni says $(api "$me")" >&2; exit 8
"#,
        env = env(job),
        api = API,
        me = quote(&api_url(job, "patroni")),
        primary = quote(primary),
        conf = quote(CONF),
        clear = clear,
    );
    let out = sh(ctx, &script, None).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        let state = match out.status {
            3 => "the data directory was not changed; Patroni is stopped on this replica",
            _ => "the data directory was emptied for Patroni to copy the leader; Patroni does not bring this replica up",
        };
        return Ok(stuck(
            format!(
                "replica {} did not come back: {}. The primary {primary} keeps serving",
                job.member.host,
                stderr(&out)
            ),
            state,
            &format!(
                "fix Patroni on {} (journalctl -u patroni), then rebuild it: patronictl -c {CONF} reinit {} <member name> --force, or {}",
                job.member.host,
                job.member.cluster,
                rerun(ctx, "up")
            ),
        ));
    }
    let stream: Vec<&str> = m
        .get("stream")
        .map(|s| s.split('|').collect())
        .unwrap_or_default();
    let mut o = Outcome::ok(!m.contains_key("already"));
    o.msg = Some(if m.contains_key("already") {
        format!(
            "already streams from the primary {primary} on timeline {}",
            stream.get(2).copied().unwrap_or("-")
        )
    } else {
        format!(
            "re-initialised by Patroni from the leader {primary}{}{}; streaming on timeline {}",
            m.get("clear_to")
                .map(|t| format!(" (old data kept in {t})"))
                .unwrap_or_default(),
            if m.contains_key("clonefrom") {
                " (clonefrom turned off in patroni.yml)"
            } else {
                ""
            },
            stream.get(2).copied().unwrap_or("-")
        )
    });
    Ok(o)
}
