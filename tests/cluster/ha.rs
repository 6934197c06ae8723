//! Patroni and etcd (issue 10): the sandbox as Pigsty runs it — etcd on meta over TLS with an
//! RBAC root user, Patroni on every host — and backups and PITR that are right under it. Runs
//! last: it stops the plain sandbox and starts the Patroni one. Every PITR here replaces all
//! of pg-test and is checked through Patroni (`patronictl list`), PostgreSQL on each member
//! and the repository.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::pitr::sql_on;
use crate::support::{ok, pgplay, ssh, META, TEST1, TEST2, TEST3};

const ETCDCTL: &str = "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.10.10:2379 --cacert=/etc/pki/ca.crt --dial-timeout=3s";
const PATRONICTL: &str = "patronictl -c /etc/patroni/patroni.yml";
const PG_TEST: [&str; 3] = [TEST1, TEST2, TEST3];

fn sql(host: &str, text: &str) -> String {
    sql_on(host, 5432, "test", text)
}

/// `patronictl list -f json pg-test`, read on pg-test-1.
fn members() -> Vec<Value> {
    let (_, out, _) = ssh(TEST1, &format!("{PATRONICTL} list -f json pg-test"));
    serde_json::from_str(&out).unwrap_or_default()
}

fn show(ms: &[Value]) -> String {
    ms.iter()
        .map(|m| {
            format!(
                "{} {} {} TL {}",
                m["Member"].as_str().unwrap_or("?"),
                m["Role"].as_str().unwrap_or("?"),
                m["State"].as_str().unwrap_or("?"),
                m["TL"]
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Wait (up to 90 s) until pg-test-1 leads and both replicas stream from it on its timeline;
/// the timeline.
fn healthy() -> u64 {
    let end = Instant::now() + Duration::from_secs(90);
    loop {
        let ms = members();
        let leader = ms
            .iter()
            .find(|m| m["Role"] == "Leader" && m["State"] == "running");
        let tl = leader.and_then(|m| m["TL"].as_u64()).unwrap_or(0);
        let replicas = ms
            .iter()
            .filter(|m| {
                m["Role"] == "Replica"
                    && (m["State"] == "running" || m["State"] == "streaming")
                    && m["TL"].as_u64() == Some(tl)
            })
            .count();
        let streaming = sql(
            TEST1,
            "select count(*) from pg_stat_replication where state = 'streaming'",
        );
        if leader.is_some_and(|m| m["Host"] == TEST1) && replicas == 2 && streaming == "2" {
            return tl;
        }
        assert!(
            Instant::now() < end,
            "pg-test is not one leader (pg-test-1) and two streaming replicas: {} (streaming: {streaming})",
            show(&ms)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A table of numbered rows with their commit times.
fn reset_table() {
    sql(
        TEST1,
        "drop table if exists ha_rows; create table ha_rows(i int primary key, at timestamptz default clock_timestamp())",
    );
}

fn insert(from: i64, to: i64) {
    sql(
        TEST1,
        &format!("insert into ha_rows(i) select generate_series({from}, {to})"),
    );
}

/// Rows 1..=n committed, a target time noted, rows n+1..=n+more committed, the WAL archived;
/// the target.
fn target_between(n: i64, more: i64) -> String {
    reset_table();
    insert(1, n);
    std::thread::sleep(Duration::from_millis(300));
    let t = sql(
        TEST1,
        "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
    );
    std::thread::sleep(Duration::from_millis(300));
    insert(n + 1, n + more);
    sql(TEST1, "select pg_switch_wal()");
    t
}

/// (count, max) of ha_rows on a member, once it has caught up with the leader's count.
fn rows(host: &str) -> String {
    sql(
        host,
        "select count(*) || ' ' || coalesce(max(i), 0) from ha_rows",
    )
}

fn every_member_has(want: &str) {
    let end = Instant::now() + Duration::from_secs(30);
    for h in PG_TEST {
        loop {
            let got = rows(h);
            if got == want {
                break;
            }
            assert!(Instant::now() < end, "{h}: rows {got}, want {want}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn pitr(pg_pitr: &str, more: &[&str]) -> crate::run::Run {
    crate::pitr::pitr("pg-test", pg_pitr, more)
}

/// The lines a task printed (from its banner to the next one).
fn task<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .split(&format!("TASK [{name}]"))
        .nth(1)
        .and_then(|t| t.split("TASK [").next())
        .unwrap_or_default()
}

/// `pgsql-backup -l pg-test -e type=incr`.
fn incr_backup() -> crate::run::Run {
    pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-test",
        "-e",
        "type=incr",
        "--output",
        "text",
    ])
}

/// After a PITR: a new WAL segment reaches the repository and a backup can be made.
fn archiving_and_backup_work() {
    let check = ok(
        TEST1,
        "su - postgres -c 'pgbackrest --stanza=pg-test --archive-timeout=30 check' 2>&1",
    );
    assert!(check.contains("successfully archived"), "{check}");
    let run = incr_backup();
    assert_eq!(run.code, 0, "{}", run.all());
}

pub fn patroni_sandbox_comes_up() {
    if let Err(e) = crate::support::up_mode(true) {
        panic!("{e}");
    }
    // One leader and two running replicas of pg-test, on one timeline.
    let ms = members();
    let role = |r: &str| ms.iter().filter(|m| m["Role"] == r).count();
    assert_eq!((role("Leader"), role("Replica")), (1, 2), "{}", show(&ms));
    assert!(ms.iter().all(|m| m["TL"] == ms[0]["TL"]), "{}", show(&ms));
    healthy();
    // The REST API answers on the host's own address.
    let api = ok(
        TEST2,
        "curl -s --max-time 5 http://127.0.10.12:8008/patroni",
    );
    let api: Value = serde_json::from_str(&api).unwrap_or_default();
    assert_eq!(api["role"], "replica", "{api}");
    // etcd: TLS and RBAC — anonymous reads are refused, root sees the cluster's keys.
    let (code, _, err) = ssh(META, &format!("{ETCDCTL} get --prefix --keys-only /pg/"));
    assert!(
        code != 0 && err.contains("user name is empty"),
        "anonymous read allowed: {err}"
    );
    let keys = ok(
        META,
        &format!("{ETCDCTL} --user root:Etcd.Root get --prefix --keys-only /pg/pg-test/"),
    );
    assert!(
        keys.contains("/pg/pg-test/leader") && keys.contains("/pg/pg-test/members/pg-test-3"),
        "{keys}"
    );
    // PostgreSQL under Patroni: the unit postgres is not what runs it.
    let units = ok(
        TEST1,
        "systemctl is-active patroni; systemctl is-enabled postgres || true",
    );
    assert!(
        units.starts_with("active") && units.contains("disabled"),
        "{units}"
    );
}

/// pg_backup on both clusters: the stanza and a first full backup, made on the leader.
pub fn pg_backup_under_patroni() {
    let run = pgplay(&["pgsql", "-t", "pg_backup,pg_scripts", "--output", "text"]);
    assert_eq!(run.code, 0, "{}", run.all());
    // archive_command lives in each cluster's Patroni configuration (the DCS), not in
    // postgresql.auto.conf, and every member runs with it
    for (host, cluster) in [(META, "pg-meta"), (TEST1, "pg-test")] {
        let config = ok(host, &format!("{PATRONICTL} show-config {cluster}"));
        assert!(
            config.contains(&format!(
                "archive_command: pgbackrest --stanza={cluster} archive-push %p"
            )),
            "{config}"
        );
    }
    for host in [META, TEST1, TEST2, TEST3] {
        let auto = sql_on(
            host,
            5432,
            "postgres",
            "select count(*) from pg_file_settings where name = 'archive_command' and sourcefile like '%auto.conf'",
        );
        assert_eq!(auto, "0", "{host}: archive_command set with ALTER SYSTEM");
        let cluster = if host == META { "pg-meta" } else { "pg-test" };
        assert_eq!(
            sql_on(host, 5432, "postgres", "show archive_command"),
            format!("pgbackrest --stanza={cluster} archive-push %p"),
            "{host}"
        );
    }
    // a second run changes nothing there
    let again = pgplay(&["pgsql", "-t", "pgbackrest_config", "--output", "text"]);
    assert_eq!(again.code, 0, "{}", again.all());
    let wired = task(
        &again.stdout,
        "wire archive_command to the stanza (Patroni)",
    );
    assert!(
        wired.contains("ok: [127.0.10.11]") && !wired.contains("changed:"),
        "{}",
        again.stdout
    );
    for (host, stanza) in [(META, "pg-meta"), (TEST1, "pg-test")] {
        let sets = crate::support::backups(host, stanza);
        assert!(
            sets.iter().any(|(_, kind, _)| kind == "full"),
            "{stanza}: no full backup: {sets:?}"
        );
    }
    archiving_and_backup_work();
}

/// Issue 10 items 3 and 4: a PITR of pg-test under Patroni, in one run.
pub fn pitr_of_pg_test_full_run() {
    let before = healthy();
    let list = format!("{PATRONICTL} list pg-test");
    println!("patronictl list before:\n{}", ok(TEST1, &list));
    let target = target_between(100, 50);
    // --check walks the whole plan and changes nothing: Patroni and PostgreSQL run on
    let pids = || {
        ok(
            TEST1,
            "systemctl show -p MainPID patroni; head -1 /pg/data/postmaster.pid",
        )
    };
    let (pids_before, rows_before) = (pids(), rows(TEST1));
    let check = pitr(&format!("{{\"time\": \"{target}\"}}"), &["--check"]);
    assert_eq!(check.code, 0, "{}", check.all());
    check.stdout_has(&["would pause Patroni", "would stop Patroni", "would delete"]);
    assert_eq!((pids(), rows(TEST1)), (pids_before, rows_before));
    let run = pitr(&format!("{{\"time\": \"{target}\"}}"), &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    // the plan says who is restored and who is re-initialised, and why (on stderr, with the
    // question), then what each step did
    for needle in [
        "127.0.10.11 (pg-test primary): STOP Patroni (paused) and PostgreSQL and REPLACE /pg/data",
        "127.0.10.12 (pg-test replica): STOP Patroni (paused) and PostgreSQL; in 'up', Patroni REPLACES /pg/data",
        "re-initialised, not restored",
    ] {
        assert!(run.stderr.contains(needle), "wanted {needle:?}: {}", run.all());
    }
    run.stdout_has(&[
        "Patroni paused",
        "deleted",
        "in service under Patroni: the leader of pg-test",
        "re-initialised by Patroni from the leader 127.0.10.11",
    ]);
    // the order, as the plan's lockstep makes it
    let at = |s: &str| run.stdout.find(s).unwrap_or(usize::MAX);
    let order = [
        "TASK [preflight]",
        "TASK [pause]",
        "TASK [stop_patroni on the replicas]",
        "TASK [stop_patroni on the primary]",
        "TASK [restore]",
        "TASK [etcd]",
        "TASK [start the primary]",
        "TASK [start the replicas]",
        "TASK [resume]",
    ];
    for w in order.windows(2) {
        assert!(
            at(w[0]) < at(w[1]),
            "{} before {}: {}",
            w[0],
            w[1],
            run.stdout
        );
    }
    let after = healthy();
    println!("patronictl list after:\n{}", ok(TEST1, &list));
    assert!(
        after > before,
        "timeline {after} is not newer than {before}"
    );
    every_member_has("100 100");
    // Patroni is not paused any more, and its configuration survived the cleared keys
    let config = ok(TEST1, &format!("{PATRONICTL} show-config pg-test"));
    assert!(!config.contains("pause: true"), "{config}");
    assert!(config.contains("track_commit_timestamp"), "{config}");
    archiving_and_backup_work();
}

/// `-t down`, `-t pitr` (action pause: the primary inspectable, read-only), `-t up`.
pub fn pitr_stepwise_with_pause() {
    let before = healthy();
    let target = target_between(40, 20);
    let spec = format!("{{\"time\": \"{target}\", \"action\": \"pause\"}}");
    let down = pitr(&spec, &["-t", "down"]);
    assert_eq!(down.code, 0, "{}", down.all());
    for h in PG_TEST {
        let state = ok(
            h,
            "systemctl is-active patroni || true; [ -f /pg/data/postmaster.pid ] && echo pid || echo nopid",
        );
        assert!(
            state.contains("inactive") && state.contains("nopid"),
            "{h}: {state}"
        );
    }
    let restore = pitr(&spec, &["-t", "pitr"]);
    assert_eq!(restore.code, 0, "{}", restore.all());
    // between pitr and up: the primary is paused at the target, read-only, not under Patroni
    assert_eq!(sql(TEST1, "select pg_is_in_recovery()"), "t");
    assert_eq!(rows(TEST1), "40 40");
    assert!(ok(TEST1, "systemctl is-active patroni || true").contains("inactive"));
    let up = pitr(&spec, &["-t", "up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(healthy() > before);
    every_member_has("40 40");
    archiving_and_backup_work();
}

/// Issue 10 item 5: Patroni already stopped on a replica when `down` starts.
pub fn pitr_with_patroni_already_stopped_on_a_replica() {
    healthy();
    ok(TEST3, "systemctl stop patroni");
    let target = target_between(10, 10);
    let run = pitr(&format!("{{\"time\": \"{target}\"}}"), &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("Patroni was not running"),
        "{}",
        run.stdout
    );
    healthy();
    every_member_has("10 10");
}

/// Issue 10 item 5: etcd unreachable during `up`: a clear error before Patroni starts, the
/// primary left as `pitr` left it, the command to continue; it continues once etcd is back.
pub fn pitr_up_with_etcd_down() {
    healthy();
    let target = target_between(7, 3);
    let spec = format!("{{\"time\": \"{target}\"}}");
    let run = pitr(&spec, &["-t", "down,pitr"]);
    assert_eq!(run.code, 0, "{}", run.all());
    ok(META, "systemctl stop etcd");
    let up = pitr(&spec, &["-t", "up"]);
    ok(META, "systemctl start etcd");
    assert_eq!(up.code, 2, "{}", up.all());
    up.stdout_has(&[
        "does not answer",
        "state: the restored primary 127.0.10.11 is as 'pitr' left it",
        "next:",
        "-t up",
    ]);
    assert!(
        !up.stdout.contains("TASK [start the primary]"),
        "{}",
        up.stdout
    );
    assert_eq!(sql(TEST1, "select pg_is_in_recovery()"), "t");
    assert!(ok(TEST1, "systemctl is-active patroni || true").contains("inactive"));
    let again = pitr(&spec, &["-t", "up"]);
    assert_eq!(again.code, 0, "{}", again.all());
    healthy();
    every_member_has("7 7");
}

/// Issue 10 item 5: a replica that does not come back: the primary keeps serving, the recap
/// names the replica, and the way to rebuild it works.
pub fn pitr_with_a_replica_that_fails_to_start() {
    healthy();
    let target = target_between(5, 5);
    let spec = format!("{{\"time\": \"{target}\"}}");
    // Patroni on pg-test-3 exits at once from now on
    ok(
        TEST3,
        "mkdir -p /etc/systemd/system/patroni.service.d && printf '[Service]\\nExecStart=\\nExecStart=/bin/false\\n' > /etc/systemd/system/patroni.service.d/broken.conf && systemctl daemon-reload",
    );
    let run = pitr(&spec, &[]);
    ok(
        TEST3,
        "rm -f /etc/systemd/system/patroni.service.d/broken.conf && systemctl daemon-reload",
    );
    assert_eq!(run.code, 2, "{}", run.all());
    run.stdout_has(&[
        "replica 127.0.10.13 did not come back",
        "The primary 127.0.10.11 keeps serving",
        "patronictl -c /etc/patroni/patroni.yml reinit pg-test",
    ]);
    let recap = run.stdout.split("PLAY RECAP").nth(1).unwrap_or_default();
    assert!(
        recap
            .lines()
            .any(|l| l.starts_with("127.0.10.13") && l.contains("failed=1")),
        "{recap}"
    );
    // the primary serves writes
    sql(TEST1, "insert into ha_rows(i) values (1000)");
    assert_eq!(rows(TEST1), "6 1000");
    // the rebuild: `up` again
    let again = pitr(&spec, &["-t", "up"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(
        again.stdout.contains("Patroni already leads pg-test"),
        "{}",
        again.stdout
    );
    healthy();
    every_member_has("6 1000");
}

/// Issue 10 items 2 and 5: after a failover (pg-test-2 leads, the inventory still names
/// pg-test-1): backups follow the leader, a limit without it backs up nothing and fails, and
/// pgsql-pitr refuses before anything is stopped, saying which member leads and how to
/// switch back.
pub fn after_a_failover_backups_follow_the_leader_and_pitr_refuses() {
    healthy();
    ok(
        TEST1,
        &format!(
            "{PATRONICTL} switchover --leader pg-test-1 --candidate pg-test-2 --force pg-test"
        ),
    );
    let end = Instant::now() + Duration::from_secs(60);
    while !members()
        .iter()
        .any(|m| m["Member"] == "pg-test-2" && m["Role"] == "Leader" && m["State"] == "running")
    {
        assert!(Instant::now() < end, "no switchover: {}", show(&members()));
        std::thread::sleep(Duration::from_millis(500));
    }
    // pgsql-backup backs up on the leader, pg-test-2
    let run = incr_backup();
    assert_eq!(run.code, 0, "{}", run.all());
    let made = task(&run.stdout, "make a backup");
    assert!(
        made.contains("changed: [127.0.10.12]")
            && made.contains("skipping: [127.0.10.11]")
            && made.contains("skipping: [127.0.10.13]"),
        "the backup did not run on the leader: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Patroni's leader (pg-test-2), writable"),
        "{}",
        run.stdout
    );
    // a limit that leaves the leader out backs up nothing, and says so
    let run = pgplay(&["pgsql-backup", "-l", "127.0.10.11", "--output", "text"]);
    assert_eq!(run.code, 2, "{}", run.all());
    run.stdout_has(&[
        "the leader of pg-test is 127.0.10.12",
        "which this run's limit leaves out: no backup was made; use -l pg-test",
    ]);
    // pg-backup from cron on the old primary: not the leader, nothing done (exit 3)
    let (code, _, err) = ssh(TEST1, "su - postgres -c '/pg/bin/pg-backup incr'");
    assert_eq!(code, 3, "{err}");
    let run = pitr("{}", &[]);
    let back = ssh(
        TEST1,
        &format!(
            "{PATRONICTL} switchover --leader pg-test-2 --candidate pg-test-1 --force pg-test"
        ),
    );
    assert_eq!(run.code, 2, "{}", run.all());
    run.stdout_has(&[
        "Patroni's leader is pg-test-2 (127.0.10.12), but the inventory names 127.0.10.11 the primary",
        "nothing was changed",
        "switchover --leader pg-test-2 --candidate pg-test-1 --force pg-test",
    ]);
    assert!(!run.stdout.contains("TASK [pause]"), "{}", run.stdout);
    assert_eq!(back.0, 0, "switch back: {back:?}");
    healthy();
}
