//! `backup` (pg_pitr.backup: true): move the data directory aside before the restore, under a
//! dated name (`/pg/data-backup-20261203T081500`). An earlier moved-aside copy is never
//! overwritten: a name that exists already makes the step fail instead.

use serde_json::Value;

use super::{env, kv, rerun, sh, skip, stderr, stdout, stuck, Ctx, Failure, Job, Outcome};

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if !job.pitr.backup {
        return Ok(skip("pg_pitr.backup is not set: the data directory is restored in place (pgbackrest --delta)"));
    }
    if !job.restores() {
        return Ok(skip(
            "a replica: its data directory is moved aside in 'up', before it is re-initialised",
        ));
    }
    let out = sh(ctx, &move_aside(job, ctx.check), None).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        return Ok(stuck(
            format!("cannot move {} aside: {}", job.data, stderr(&out)),
            "PostgreSQL is stopped; the data directory is where it was",
            &rerun(ctx, "pitr"),
        ));
    }
    Ok(outcome(&m, &job.data, ctx.check))
}

/// The script that moves `job.data` aside (shared with `start` for replicas).
pub(super) fn move_aside(job: &Job, check: bool) -> String {
    format!(
        r#"{env}
if [ -n "$(pg_pid "$DATA")" ]; then echo "PostgreSQL is running in $DATA" >&2; exit 3; fi
if [ ! -d "$DATA" ] || [ -z "$(ls -A "$DATA" 2>/dev/null)" ]; then echo "state=empty"; exit 0; fi
to="$DATA-backup-$(date -u +%Y%m%dT%H%M%SZ)"
if [ -e "$to" ]; then echo "$to exists already: it is never overwritten" >&2; exit 3; fi
echo "to=$to"
if [ {check} = 1 ]; then exit 0; fi
mv -T -- "$DATA" "$to" || exit 3
install -d -o "$DBSU" -g "$(id -gn "$DBSU")" -m 0700 "$DATA" || exit 3
echo "moved=1"
"#,
        env = env(job),
        check = u8::from(check)
    )
}

pub(super) fn outcome(
    m: &std::collections::BTreeMap<String, String>,
    data: &str,
    check: bool,
) -> Outcome {
    if m.get("state").map(String::as_str) == Some("empty") {
        let mut o = Outcome::ok(false);
        o.msg = Some(format!("{data} is empty: nothing to move aside"));
        return o;
    }
    let to = m.get("to").cloned().unwrap_or_default();
    let mut o = Outcome::ok(true);
    o.msg = Some(if check {
        format!("would move {data} to {to}")
    } else {
        format!("moved {data} to {to} (kept; remove it yourself when you no longer need it)")
    });
    o.data.insert("moved_to".into(), Value::String(to));
    o
}
