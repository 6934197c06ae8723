//! pgplay's backup suite on the cluster sandbox: real PostgreSQL 15, pgBackRest, cron and an
//! S3 repository over TLS, in four systemd containers (sandbox/cluster).
//!
//! The harness brings the sandbox up (building its root filesystem the first time), runs the
//! tests one after another — they share the clusters' state and are ordered like a DBA's day:
//! configure, back up, list, expire, restore, remove — and stops the sandbox at the end. If
//! the sandbox cannot start, every test fails: nothing is skipped.

mod backup;
mod node_scripts;
#[path = "../common/run.rs"]
mod run;
mod support;

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests: Vec<(&str, fn())> = vec![
        (
            "pg_backup_configures_both_clusters_once",
            backup::pg_backup_configures_both_clusters_once,
        ),
        (
            "rendered_configs_match_golden_files",
            backup::rendered_configs_match_golden_files,
        ),
        (
            "full_diff_incr_via_pgplay_and_pg_backup",
            backup::full_diff_incr,
        ),
        (
            "pg_backup_on_a_replica_refuses",
            backup::pg_backup_on_a_replica_refuses,
        ),
        (
            "retention_expires_the_oldest_full",
            backup::retention_expires_the_oldest_full,
        ),
        (
            "s3_repository_is_encrypted_and_restores",
            backup::s3_repository_is_encrypted_and_restores,
        ),
        ("no_secret_in_output", backup::no_secret_in_output),
        (
            "pg_basebackup_tarball_starts_postgres",
            backup::pg_basebackup_tarball_starts_postgres,
        ),
        ("cron_entries_fire", backup::cron_entries_fire),
        (
            "pgsql_rm_pg_backup_keeps_or_removes",
            backup::pgsql_rm_pg_backup,
        ),
        ("pg_fork_then_pg_pitr", node_scripts::pg_fork_then_pg_pitr),
        (
            "pg_fork_and_pg_pitr_refuse",
            node_scripts::pg_fork_and_pg_pitr_refuse,
        ),
        (
            "pg_pitr_check_prints_the_manual",
            node_scripts::pg_pitr_check_prints_the_manual,
        ),
    ];
    let wanted = tests
        .iter()
        .any(|(name, _)| !args.is_filtered_out(&Trial::test(*name, || Ok(()))));
    let up = if wanted && !args.list {
        support::up()
    } else {
        Err("sandbox not started".into())
    };
    let trials = tests
        .into_iter()
        .map(|(name, f)| {
            let up = up.clone();
            Trial::test(name, move || match &up {
                Ok(()) => std::panic::catch_unwind(f).map_err(|e| {
                    Failed::from(
                        e.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "test panicked".into()),
                    )
                }),
                Err(e) => Err(Failed::from(format!(
                    "the cluster sandbox did not start: {e}"
                ))),
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if up.is_ok() && std::env::var_os("PGPLAY_KEEP_CLUSTER").is_none() {
        support::down();
    }
    conclusion.exit();
}
