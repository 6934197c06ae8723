//! pgplay's backup suite on the cluster sandbox: real PostgreSQL 15, pgBackRest, cron and an
//! S3 repository over TLS, in four systemd containers (sandbox/cluster).
//!
//! The harness brings the sandbox up (building its root filesystem the first time), runs the
//! tests one after another — they share the clusters' state and are ordered like a DBA's day:
//! configure, back up, list, expire, restore, remove — and stops the sandbox at the end. If
//! the sandbox cannot start, every test fails: nothing is skipped.

mod backup;
mod db;
mod ha;
mod node_scripts;
mod pitr;
#[path = "../common/run.rs"]
mod run;
mod safety;
mod support;
mod workload;

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
        (
            "safety_wrong_cipher_pass_never_replaces_a_working_config",
            safety::wrong_cipher_pass_never_replaces_a_working_config,
        ),
        (
            "safety_repository_down_or_hung_is_said_in_seconds",
            safety::repository_down_or_hung_is_said_in_seconds,
        ),
        (
            "safety_a_limit_without_the_primary_backs_up_nothing",
            safety::a_limit_without_the_primary_backs_up_nothing,
        ),
        (
            "pitr_setup_heartbeat_and_backups",
            pitr::setup_heartbeat_and_backups,
        ),
        (
            "pitr_pg_fork_then_pg_pitr",
            node_scripts::pg_fork_then_pg_pitr,
        ),
        (
            "pitr_pg_fork_and_pg_pitr_refuse",
            node_scripts::pg_fork_and_pg_pitr_refuse,
        ),
        (
            "pitr_pg_pitr_check_prints_the_manual",
            node_scripts::pg_pitr_check_prints_the_manual,
        ),
        (
            "pitr_refused_before_connecting",
            pitr::refused_before_connecting,
        ),
        (
            "pitr_preflight_refusals_leave_the_primary_untouched",
            pitr::preflight_refusals_leave_the_primary_untouched,
        ),
        (
            "pitr_check_mode_shows_the_plan_and_changes_nothing",
            pitr::check_mode_shows_the_plan_and_changes_nothing,
        ),
        ("pitr_xid_target_is_exact", pitr::xid_target_is_exact),
        (
            "pitr_reused_xid_needs_a_timeline",
            pitr::reused_xid_needs_a_timeline,
        ),
        ("pitr_lsn_target_is_exact", pitr::lsn_target_is_exact),
        (
            "pitr_restore_point_with_quotes",
            pitr::restore_point_with_quotes,
        ),
        (
            "pitr_recovery_that_misses_its_target_fails_clearly",
            pitr::recovery_that_misses_its_target_fails_clearly,
        ),
        (
            "pitr_time_target_stepwise_is_exact",
            pitr::time_target_stepwise_is_exact,
        ),
        (
            "pitr_time_target_exclusive_full_run",
            pitr::time_target_exclusive_full_run,
        ),
        (
            "pitr_second_pitr_into_the_abandoned_future",
            pitr::second_pitr_into_the_abandoned_future,
        ),
        (
            "pitr_immediate_from_an_older_set",
            pitr::immediate_from_an_older_set,
        ),
        ("pitr_latest_loses_nothing", pitr::latest_loses_nothing),
        (
            "pitr_shutdown_action_then_up",
            pitr::shutdown_action_then_up,
        ),
        (
            "pitr_backup_true_keeps_the_old_data",
            pitr::backup_true_keeps_the_old_data,
        ),
        (
            "pitr_rehearsal_leaves_the_live_instance_alone",
            pitr::rehearsal_leaves_the_live_instance_alone,
        ),
        ("pitr_cluster_with_replicas", pitr::cluster_with_replicas),
        (
            "pitr_clone_from_another_cluster_and_cleanup",
            pitr::clone_from_another_cluster_and_cleanup,
        ),
        ("pitr_stop_heartbeat", pitr::stop_heartbeat),
        // Last: the Patroni sandbox replaces the plain one (issue 10).
        ("ha_patroni_sandbox_comes_up", ha::patroni_sandbox_comes_up),
        ("ha_pg_backup_under_patroni", ha::pg_backup_under_patroni),
        ("ha_pitr_of_pg_test_full_run", ha::pitr_of_pg_test_full_run),
        ("ha_pitr_stepwise_with_pause", ha::pitr_stepwise_with_pause),
        (
            "ha_pitr_with_patroni_already_stopped_on_a_replica",
            ha::pitr_with_patroni_already_stopped_on_a_replica,
        ),
        ("ha_pitr_up_with_etcd_down", ha::pitr_up_with_etcd_down),
        (
            "ha_pitr_with_a_replica_that_fails_to_start",
            ha::pitr_with_a_replica_that_fails_to_start,
        ),
        (
            "ha_after_a_failover_backups_follow_the_leader_and_pitr_refuses",
            ha::after_a_failover_backups_follow_the_leader_and_pitr_refuses,
        ),
        // pgsql-db on the Patroni sandbox (issue 13).
        (
            "ha_db_invalid_definitions_are_refused_before_connecting",
            db::invalid_definitions_are_refused_before_connecting,
        ),
        (
            "ha_db_clone_while_connected_has_the_rows_and_lives_on_its_own",
            db::clone_while_connected_has_the_rows_and_lives_on_its_own,
        ),
        (
            "ha_db_clone_gives_up_when_the_template_stays_busy",
            db::clone_gives_up_when_the_template_stays_busy,
        ),
        (
            "ha_db_schemas_extensions_and_settings_are_made_once",
            db::schemas_extensions_and_settings_are_made_once,
        ),
        // pg-heartbeat and pg-bench (issue 13).
        (
            "ha_pg_heartbeat_writes_and_stops",
            workload::pg_heartbeat_writes_and_stops,
        ),
    ];
    let wanted: Vec<&str> = tests
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !args.is_filtered_out(&Trial::test(*name, || Ok(()))))
        .collect();
    // The plain sandbox first when a test of it is wanted; the ha_ tests switch to Patroni.
    let up = if !wanted.is_empty() && !args.list {
        support::up_mode(wanted.iter().all(|n| n.starts_with("ha_")))
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
