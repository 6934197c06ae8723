//! `config`: write the PITR's pgBackRest configuration (`/pg/conf/pitr.conf`, 0600, the
//! dbsu's) and `/pg/bin/pg-restore`, which prints this run's steps with its exact commands
//! for a DBA who wants to go on by hand. Changed only when the content differs; check mode
//! shows the diff.

use super::{no_preflight, put_as_dbsu, settled, skip, Ctx, Failure, Job, Outcome};
use crate::pg::pitr::Target;
use crate::transport::{join_argv, quote};

pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if !job.restores() {
        return Ok(skip("a replica: nothing is restored here"));
    }
    let s = settled(ctx).ok_or_else(no_preflight)?;
    let conf = job
        .conf(s.process_max, &s.unsupported)
        .map_err(Failure::Args)?;
    let mut o = put_as_dbsu(ctx, job, &job.conf_path, &conf, 0o600).await?;
    if o.failed || job.rehearsal {
        return Ok(o);
    }
    let manual = manual(job, &join_argv(&job.restore_argv(&s.set, s.timeline)));
    let script = put_as_dbsu(ctx, job, "/pg/bin/pg-restore", &manual, 0o755).await?;
    o.changed |= script.changed;
    if script.failed {
        return Ok(script);
    }
    if let (Some(a), Some(b)) = (&mut o.diff, &script.diff) {
        a.after
            .push_str(&format!("\n--- /pg/bin/pg-restore\n{}", b.after));
    }
    Ok(o)
}

/// `/pg/bin/pg-restore`: prints the steps of this PITR by hand, with this run's commands.
fn manual(job: &Job, restore: &str) -> String {
    let m = &job.member;
    let start = join_argv(&job.start_argv());
    let promote = format!("{}/pg_ctl -D {} promote", m.bin_dir, quote(&job.data));
    let then = match job.pitr.target {
        Target::Latest => {
            "recovery replays all archived WAL, then the server is promoted".to_string()
        }
        _ => format!(
            "recovery stops at {} and then: {}",
            job.pitr.target.describe(),
            job.action().as_str()
        ),
    };
    format!(
        r#"#!/bin/sh
# /pg/bin/pg-restore: the steps of the last pgplay PITR of {cluster} on this host, by hand.
# Written by pgplay pgsql-pitr; it only prints. Run each command yourself, as {dbsu}
# (or root where it says so).
cat <<'MANUAL'
PITR of {cluster} from stanza {source}: {then}

1. Stop PostgreSQL (replicas first, then the primary)
     sudo systemctl stop postgres            # as root
     {bin}/pg_ctl -D {data} stop -m fast     # if it still runs
2. Restore (config: {conf})
     {restore}
   pgbackrest 2.45 writes recovery_target_* into postgresql.auto.conf unquoted: a name or
   value with a quote breaks it. Check the file; pgplay rewrites it with PostgreSQL quoting.
3. Replay WAL to the target (log: {log})
     {start}
     psql -p {port} -c 'select pg_is_in_recovery(), pg_last_xact_replay_timestamp()'
   Not the point you want? Stop it and go back to 2 with another target.
4. Promote, then run under systemd again
     {promote}
     {bin}/pg_ctl -D {data} stop -m fast && sudo systemctl start postgres
5. Replicas: re-initialise each from the new primary (their data is the old history)
     pg_basebackup -h <primary> -p {port} -U replicator -D {data} -X stream -c fast -R
6. Back up the new history
     pg-backup full
MANUAL
"#,
        cluster = m.cluster,
        source = job.source,
        dbsu = m.dbsu,
        bin = m.bin_dir,
        data = quote(&job.data),
        conf = job.conf_path,
        log = job.log_file,
        port = job.port,
    )
}
