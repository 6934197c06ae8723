//! The node scripts pg-fork and pg-pitr on pg-meta-1 (section 7 of the spec): a hot fork of
//! the live instance, a PITR of that fork to a restore point with a hostile name, what both
//! scripts refuse, and pg-pitr's manual. The live instance (/pg/data, port 5432) must come out
//! of every test with the same postmaster and the same data; the fork (/pg/data1, port 15432)
//! is stopped and removed whatever happens.

use std::time::{Duration, Instant};

use crate::support::{ok, pgplay, ssh, META};

const PG_CTL: &str = "/usr/lib/postgresql/15/bin/pg_ctl";
const FORK: &str = "/pg/data1";
const FORK_PORT: u16 = 15432;
const LIVE_PORT: u16 = 5432;

/// A word the remote shell reads back as `s`.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Run SQL as postgres on META; trimmed stdout; the command must succeed.
fn psql(port: u16, sql: &str) -> String {
    ok(META, &psql_cmd(port, sql)).trim().to_string()
}

fn psql_cmd(port: u16, sql: &str) -> String {
    format!(
        "cd / && runuser -u postgres -- psql -h /var/run/postgresql -p {port} -d meta -AXtwq -v ON_ERROR_STOP=1 -c {}",
        sh(sql)
    )
}

/// Poll `f` every half second until it holds, at most `secs` seconds.
fn wait_until(what: &str, secs: u64, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Install the node scripts with pgplay, as a user would.
fn install() {
    let run = pgplay(&[
        "pgsql",
        "-l",
        "pg-meta",
        "-t",
        "pg_scripts",
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let owners = ok(
        META,
        "for s in pg-fork pg-pitr; do bash -n /pg/bin/$s && test -x /pg/bin/$s && stat -c %U /pg/bin/$s; done",
    );
    assert_eq!(owners, "postgres\npostgres\n");
}

/// Stops and removes the fork when dropped: a failed assertion leaves no instance behind.
struct Fork;

impl Fork {
    fn clean() {
        let _ = ssh(
            META,
            &format!(
                "cd / && if [ -f {FORK}/postmaster.pid ]; then runuser -u postgres -- {PG_CTL} -D {FORK} -w -m immediate stop; fi; rm -rf {FORK}"
            ),
        );
    }

    fn start() {
        ok(
            META,
            &format!("cd / && runuser -u postgres -- {PG_CTL} -D {FORK} -w -t 60 -l {FORK}/pg_ctl.log start"),
        );
    }

    fn stop() {
        ok(
            META,
            &format!("cd / && runuser -u postgres -- {PG_CTL} -D {FORK} -w -m fast stop"),
        );
    }
}

impl Drop for Fork {
    fn drop(&mut self) {
        Fork::clean();
    }
}

/// The probe table on the live instance, dropped when this is dropped.
struct Probe;

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = ssh(
            META,
            &psql_cmd(LIVE_PORT, "DROP TABLE IF EXISTS pgfork_probe"),
        );
    }
}

/// What nothing here may change: the live postmaster, the live data directory's files and
/// settings, and which /pg/data* directories exist.
fn live_state() -> String {
    ok(
        META,
        "head -n1 /pg/data/postmaster.pid; ls /pg/data; md5sum /pg/data/postgresql.auto.conf /pg/data/postgresql.conf; ls -d /pg/data*",
    )
}

fn live_pid() -> String {
    ok(META, "head -n1 /pg/data/postmaster.pid")
        .trim()
        .to_string()
}

pub fn pg_fork_then_pg_pitr() {
    install();
    Fork::clean();
    let _fork = Fork;
    let pid = live_pid();
    let _probe = Probe;

    // Rows 1-3, a restore point with a hostile name (unique: a rerun must not stop at an
    // older one), rows 4-5, each its own transaction; the WAL reaches the repository.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let point = format!("it's \"here\" \\ {stamp}");
    for sql in [
        "DROP TABLE IF EXISTS pgfork_probe".to_string(),
        "CREATE TABLE pgfork_probe (id int)".to_string(),
        "INSERT INTO pgfork_probe VALUES (1), (2), (3)".to_string(),
        format!("SELECT pg_create_restore_point({})", lit(&point)),
        "INSERT INTO pgfork_probe VALUES (4), (5)".to_string(),
        "CHECKPOINT".to_string(),
    ] {
        psql(LIVE_PORT, &sql);
    }
    let segment = psql(LIVE_PORT, "SELECT pg_walfile_name(pg_switch_wal())");
    wait_until(&format!("WAL {segment} archived"), 60, || {
        psql(
            LIVE_PORT,
            &format!(
                "SELECT coalesce(last_archived_wal >= {}, false) FROM pg_stat_archiver",
                lit(&segment)
            ),
        ) == "t"
    });

    // A hot fork: labelled, on its own port, not archiving, left stopped.
    let fork = ssh(META, "/pg/bin/pg-fork 1 -y");
    assert_eq!(fork.0, 0, "pg-fork 1 -y\n{}\n{}", fork.1, fork.2);
    for hint in [
        "pg_ctl -D /pg/data1 start",
        "psql -p 15432",
        "rm -rf /pg/data1",
    ] {
        assert!(fork.1.contains(hint), "no '{hint}' in\n{}", fork.1);
    }
    let label = ok(META, &format!("cat {FORK}/backup_label"));
    assert!(
        label.contains("LABEL: pgfork_1_") && label.contains("START WAL LOCATION: "),
        "{label}"
    );
    let auto = ok(META, &format!("cat {FORK}/postgresql.auto.conf"));
    assert!(
        auto.contains("port = '15432'") && auto.contains("archive_mode = 'off'"),
        "{auto}"
    );
    ok(META, &format!("test ! -e {FORK}/postmaster.pid"));

    // The fork opens consistent (it replayed to the end of the backup) with every row.
    Fork::start();
    wait_until("the fork accepts connections", 60, || {
        ssh(META, &psql_cmd(FORK_PORT, "SELECT pg_is_in_recovery()"))
            .1
            .trim()
            == "f"
    });
    assert_eq!(
        psql(
            FORK_PORT,
            "SELECT array_agg(id ORDER BY id) FROM pgfork_probe"
        ),
        "{1,2,3,4,5}"
    );
    assert_eq!(psql(FORK_PORT, "SHOW archive_mode"), "off");
    let log = ok(META, &format!("cat {FORK}/log/*"));
    assert!(log.contains("completed backup recovery"), "{log}");
    Fork::stop();

    // PITR of the stopped fork to the restore point.
    let pitr = ssh(
        META,
        &format!("/pg/bin/pg-pitr -D {FORK} -n {} -T current -y", sh(&point)),
    );
    assert_eq!(pitr.0, 0, "pg-pitr\n{}\n{}", pitr.1, pitr.2);
    assert!(pitr.1.contains("pg_ctl -D /pg/data1 start"), "{}", pitr.1);
    let auto = ok(META, &format!("cat {FORK}/postgresql.auto.conf"));
    let quoted = format!(
        "recovery_target_name = '{}'",
        point.replace('\\', "\\\\").replace('\'', "''")
    );
    assert!(
        auto.lines().any(|l| l == quoted),
        "no line {quoted} in\n{auto}"
    );
    assert!(
        auto.contains("port = '15432'"),
        "the fork lost its port:\n{auto}"
    );

    // It replays to the restore point and pauses there: rows 1-3 only.
    Fork::start();
    wait_until("the fork pauses at the restore point", 90, || {
        ssh(
            META,
            &psql_cmd(FORK_PORT, "SELECT pg_get_wal_replay_pause_state()"),
        )
        .1
        .trim()
            == "paused"
    });
    assert_eq!(psql(FORK_PORT, "SELECT pg_is_in_recovery()"), "t");
    assert_eq!(
        psql(
            FORK_PORT,
            "SELECT array_agg(id ORDER BY id) FROM pgfork_probe"
        ),
        "{1,2,3}"
    );
    Fork::stop();
    Fork::clean();
    ok(META, &format!("test ! -e {FORK}"));

    // The live instance never noticed.
    assert_eq!(live_pid(), pid);
    assert_eq!(psql(LIVE_PORT, "SELECT count(*) FROM pgfork_probe"), "5");
}

pub fn pg_fork_and_pg_pitr_refuse() {
    install();
    Fork::clean();
    let _fork = Fork;
    let before = live_state();
    let pid = live_pid();
    // Only cases that are harmless if the refusal regressed carry -y: the others would then
    // stop at "no terminal to confirm on" instead of touching /pg or the live cluster.
    let cases: &[(&str, i32, &str)] = &[
        (
            "pg-fork 0",
            1,
            "FORK_ID must be a number from 1 to 9, got '0'",
        ),
        (
            "pg-fork 1 -D /pg/data",
            2,
            "the destination /pg/data is the source",
        ),
        (
            "pg-fork 1 -D /pg",
            2,
            "the destination /pg holds the source",
        ),
        (
            "pg-fork 1 -P 5432 -y",
            2,
            "the destination port 5432 is the source's port",
        ),
        ("pg-fork 1 -P 22 -y", 2, "port 22 is in use"),
        ("pg-fork 1", 1, "add -y"),
        ("pg-fork 7", 1, "default port 75432 is beyond 65535"),
        ("pg-pitr -t x", 1, "invalid recovery time 'x'"),
        (
            "pg-pitr -t '2025-01-01 00:00:00+00' -n a",
            1,
            "two recovery targets: -t and -n",
        ),
        ("pg-pitr -x 0", 1, "invalid XID '0'"),
        ("pg-pitr -l zz", 1, "invalid LSN 'zz'"),
        ("pg-pitr -n ''", 1, "the restore point name is empty"),
        ("pg-pitr -i -T 2", 1, "-T does not combine with -i"),
        ("pg-pitr -d -D relative", 1, "must be an absolute path"),
        ("pg-pitr -d", 2, "PostgreSQL is running in /pg/data (PID "),
    ];
    for (cmd, code, message) in cases {
        let (got, out, err) = ssh(META, &format!("/pg/bin/{cmd} </dev/null"));
        assert_eq!(got, *code, "{cmd}\nstdout: {out}\nstderr: {err}");
        assert!(
            err.contains(message),
            "{cmd}: no '{message}' in\nstderr: {err}"
        );
        assert_eq!(live_state(), before, "{cmd} changed something");
    }
    let (_, _, err) = ssh(META, "/pg/bin/pg-pitr -d </dev/null");
    assert!(err.contains(&format!("(PID {pid})")), "{err}");

    // A restorable (empty) directory, but no terminal to confirm on and no -y.
    let empty = "/pg/tmp/pgpitr-empty";
    ok(META, &format!("install -d -o postgres -m 700 {empty}"));
    let (code, out, err) = ssh(META, &format!("/pg/bin/pg-pitr -D {empty} -d </dev/null"));
    let left = ssh(META, &format!("ls -A {empty}; rmdir {empty}"));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("add -y"), "{err}");
    assert_eq!(left.1, "", "pg-pitr wrote into {empty}");
    assert_eq!(live_state(), before);
}

pub fn pg_pitr_check_prints_the_manual() {
    install();
    let before = live_state();
    let restores = "cat /pg/log/pgbackrest/pg-meta-restore.log 2>/dev/null | grep -c 'restore command begin'; true";
    let restored = ok(META, restores);

    let (code, out, err) = ssh(META, "/pg/bin/pg-pitr -c -t '2025-01-01 10:00:00+00'");
    assert_eq!(code, 0, "{out}\n{err}");
    for line in [
        "[1. Stop PostgreSQL]",
        "$ pg_ctl -D /pg/data stop -m fast",
        "$ pgbackrest --stanza=pg-meta --delta --force --type=time --target='2025-01-01 10:00:00+00' --archive-mode=off restore",
        "$ pg_ctl -D /pg/data start",
        "$ pg_ctl -D /pg/data promote",
        "ALTER SYSTEM SET archive_mode = on;",
        "$ pg-backup full",
    ] {
        assert!(out.contains(line), "no '{line}' in\n{out}");
    }

    // The printed command, pasted into a shell, is exactly the argv pg-pitr would run.
    let name = "it's \"here\" \\ x";
    let (code, out, err) = ssh(
        META,
        &format!("/pg/bin/pg-pitr -c -D /pg/data9 -n {} -P", sh(name)),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let line = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("$ pgbackrest "))
        .unwrap_or_else(|| panic!("no pgbackrest command in\n{out}"));
    let argv = ok(META, &format!("printf '%s\\n' {line}"));
    let expected = [
        "--stanza=pg-meta",
        "--pg1-path=/pg/data9",
        "--delta",
        "--force",
        "--type=name",
        &format!("--target={name}"),
        "--target-action=promote",
        "--archive-mode=off",
        "restore",
    ]
    .join("\n");
    assert_eq!(argv.trim_end(), expected);
    assert!(
        out.contains(r#"recovery_target_name = 'it''s "here" \\ x'"#),
        "{out}"
    );

    assert_eq!(live_state(), before);
    assert_eq!(ok(META, restores), restored, "-c ran a restore");
    ok(META, "test ! -e /pg/data9");
}
