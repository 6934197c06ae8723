//! `discard` (tag `discard`, asked for explicitly): remove a rehearsal — stop its instance and
//! delete its data directory, its config and its recovery log. Only a directory that pgplay
//! made for a rehearsal (it holds `.pgplay-rehearsal`) and that is not the live data
//! directory is ever removed.

use super::{env, kv, sh, skip, stderr, stdout, Ctx, Failure, Job, Outcome};

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if !job.rehearsal {
        return Ok(skip(format!(
            "{} is the live data directory: discard only removes rehearsals (pg_pitr.data elsewhere)",
            job.data
        )));
    }
    let script = format!(
        r#"{env}
[ "$DATA" != "$LIVE" ] || exit 9
if [ ! -e "$DATA" ]; then echo "state=absent"; exit 0; fi
[ -f "$DATA/.pgplay-rehearsal" ] || {{ echo "$DATA holds no .pgplay-rehearsal marker: pgplay did not make it, so it does not remove it" >&2; exit 3; }}
echo "state=present"; pid=$(pg_pid "$DATA"); echo "pid=$pid"
[ {check} = 1 ] && exit 0
if [ -n "$pid" ]; then dbsu "$BIN/pg_ctl" -D "$DATA" stop -m fast -w -t 60 > /dev/null 2>&1 || dbsu "$BIN/pg_ctl" -D "$DATA" stop -m immediate -w > /dev/null 2>&1; fi
[ -n "$(pg_pid "$DATA")" ] && {{ echo "the rehearsal instance does not stop" >&2; exit 4; }}
rm -rf -- "$DATA" "$CONF" "$LOG" "$LOG.prev" "${{LOG%.log}}-startup.log" "${{LOG%.log}}-startup.log.prev"
echo "removed=1"
"#,
        env = env(job),
        check = u8::from(ctx.check)
    );
    let out = sh(ctx, &script, None).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        return Ok(Outcome::failed(format!(
            "cannot remove the rehearsal in {}: {}",
            job.data,
            stderr(&out)
        )));
    }
    if m.get("state").map(String::as_str) == Some("absent") {
        let mut o = Outcome::ok(false);
        o.msg = Some(format!("no rehearsal in {}", job.data));
        return Ok(o);
    }
    let mut o = Outcome::ok(true);
    o.msg = Some(format!(
        "{} the rehearsal in {}{}",
        if ctx.check { "would remove" } else { "removed" },
        job.data,
        m.get("pid")
            .filter(|p| !p.is_empty())
            .map(|p| format!(" (stopped pid {p})"))
            .unwrap_or_default()
    ));
    Ok(o)
}
