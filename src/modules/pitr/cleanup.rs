//! `cleanup` (tag `cleanup`, asked for explicitly): the spec's post-PITR cleanup of a cluster
//! restored from another cluster's backups. On the primary: the cluster's own stanza is
//! upgraded to the restored system (or created), `archive_command` names that stanza,
//! `archive_mode` is reset (a restart, which it needs), archiving is checked, and a first full
//! backup is made — so the clone has backups of its own. The source stanza is never written.

use super::{
    env, kv, rerun, sh, skip, stderr, stdout, stuck, Ctx, Failure, Job, Outcome, PSQL, WAIT_READY,
};

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if job.rehearsal {
        return Ok(skip(
            "a rehearsal has nothing to clean up: remove it with -t discard",
        ));
    }
    if !job.member.is_primary() {
        return Ok(skip("the cleanup runs on the primary"));
    }
    if ctx.check {
        let mut o = Outcome::ok(true);
        o.msg = Some(format!(
            "would upgrade (or create) stanza {}, point archive_command at it, reset archive_mode and restart, check archiving and take a full backup",
            job.member.cluster
        ));
        return Ok(o);
    }
    let script = format!(
        r#"{env}{psql}{wait}
B() {{ dbsu pgbackrest --stanza="$CLUSTER" --log-level-console=warn "$@"; }}
[ "$(q "$LIVEPORT" -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ] || {{ echo "the primary is not in service (run -t up first)" >&2; exit 3; }}
if B --output=json info 2>/dev/null | grep -q '"status":{{"code":0'; then
  B stanza-upgrade > /tmp/pgplay-cleanup.log 2>&1 || {{ echo "stanza-upgrade failed: $(tail -2 /tmp/pgplay-cleanup.log)" >&2; exit 4; }}
  echo "stanza=upgraded"
else
  B stanza-create > /tmp/pgplay-cleanup.log 2>&1 || {{ echo "stanza-create failed: $(tail -2 /tmp/pgplay-cleanup.log)" >&2; exit 4; }}
  echo "stanza=created"
fi
want="pgbackrest --stanza=$CLUSTER archive-push %p"
q "$LIVEPORT" -v ON_ERROR_STOP=1 -v cmd="$want" > /dev/null <<'SQL' || exit 5
ALTER SYSTEM SET archive_command = :'cmd';
ALTER SYSTEM RESET archive_mode;
SQL
systemctl restart postgres || exit 5
wait_ready "$LIVEPORT" 120 || {{ echo "PostgreSQL did not come back after the restart" >&2; exit 5; }}
echo "archive_mode=$(q "$LIVEPORT" -c 'show archive_mode')"
B check > /tmp/pgplay-cleanup.log 2>&1 || {{ echo "archiving does not work: $(tail -2 /tmp/pgplay-cleanup.log)" >&2; exit 6; }}
B --type=full backup > /tmp/pgplay-cleanup.log 2>&1 || {{ echo "the full backup failed: $(tail -2 /tmp/pgplay-cleanup.log)" >&2; exit 7; }}
echo "backup=$(B --output=json info | grep -o '"label":"[^"]*"' | tail -1 | cut -d'"' -f4)"
"#,
        env = env(job),
        psql = PSQL,
        wait = WAIT_READY
    );
    let out = sh(ctx, &script, None).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        return Ok(stuck(
            format!(
                "the post-PITR cleanup of {} failed: {}",
                job.member.cluster,
                stderr(&out)
            ),
            &format!(
                "the cluster is in service; stanza {}: {}",
                job.member.cluster,
                m.get("stanza")
                    .cloned()
                    .unwrap_or_else(|| "unchanged".into())
            ),
            &rerun(ctx, "cleanup"),
        ));
    }
    let mut o = Outcome::ok(true);
    o.msg = Some(format!(
        "stanza {} {}, archive_mode {}, first full backup {}",
        job.member.cluster,
        m.get("stanza").cloned().unwrap_or_default(),
        m.get("archive_mode").cloned().unwrap_or_default(),
        m.get("backup").cloned().unwrap_or_default()
    ));
    Ok(o)
}
