//! pgsql-pitr on the sandbox with real data: a heartbeat table written every ~200 ms (one
//! committed row per transaction, recording its xid, its WAL position and — with
//! `track_commit_timestamp` — its exact commit time) while backups are taken and targets
//! chosen. Every recovery is checked row-exact: the restored table ends at the last row
//! committed at (or, with exclusive, before) the target.
//!
//! The tests share the clusters and run in order: pg-meta is rewound again and again (so a
//! second PITR after one that promoted is part of the run), pg-test is restored with its
//! replicas, and at the end pg-test becomes a clone of pg-meta.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::support::{ok, pgplay, ssh, META, TEST1, TEST2, TEST3};

/// One heartbeat row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub n: i64,
    pub xid: u64,
    pub lsn: String,
    /// Exact commit time (pg_xact_commit_timestamp), UTC, microseconds.
    pub commit: String,
}

/// What later tests need from earlier ones.
#[derive(Default)]
struct State {
    /// pg-meta's rows as they were before the first PITR (the abandoned future is in them).
    before_first: Vec<Row>,
    /// The row the first PITR stopped at.
    first_target: Option<Row>,
    /// A full backup taken with the writer paused, and the last row before it.
    quiet_backup: Option<(String, i64)>,
    /// pg-meta's rows before the xid PITR.
    xid_before: Vec<Row>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    let mut guard = STATE.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(State::default))
}

fn db(host: &str) -> &'static str {
    if host == META {
        "meta"
    } else {
        "test"
    }
}

/// Run SQL as postgres on a host (the SQL travels base64-encoded: no quoting at all).
pub fn sql_on(host: &str, port: u16, dbname: &str, sql: &str) -> String {
    let b64 = base64(sql.as_bytes());
    ok(
        host,
        &format!("echo {b64} | base64 -d | su - postgres -c 'psql -p {port} -AXtq -v ON_ERROR_STOP=1 -d {dbname}'"),
    )
    .trim()
    .to_string()
}

fn sql(host: &str, text: &str) -> String {
    sql_on(host, 5432, db(host), text)
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The heartbeat writer: a loop on the host, as postgres, one row per ~200 ms; paused while
/// `/pg/tmp/hb.pause` exists (it acknowledges with `/pg/tmp/hb.paused`); stopped by its PID.
/// `n` goes up on every attempt, so it only grows with time (rows written after a PITR have
/// larger n than any row before it), whether an insert failed (server down) or not.
const WRITER: &str = r#"#!/bin/bash
db=$1; n=$2
while true; do
  if [ -f /pg/tmp/hb.pause ]; then touch /pg/tmp/hb.paused; sleep 0.05; continue; fi
  rm -f /pg/tmp/hb.paused
  psql -qAXt -d "$db" -c "insert into pitr_hb(n) values ($n)" > /dev/null 2>&1
  n=$((n+1))
  sleep 0.2
done
"#;

fn start_writer(host: &str) {
    sql(
        host,
        "create table if not exists pitr_hb(n bigint primary key, xid bigint default txid_current(), lsn pg_lsn default pg_current_wal_insert_lsn(), at timestamptz default clock_timestamp())",
    );
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64 * 10)
        .unwrap_or(1);
    ok(
        host,
        &format!(
            "echo {} | base64 -d > /pg/tmp/hb.sh && chown postgres /pg/tmp/hb.sh && rm -f /pg/tmp/hb.pause /pg/tmp/hb.paused && \
             su - postgres -c 'setsid nohup bash /pg/tmp/hb.sh {} {start} > /dev/null 2>&1 < /dev/null & echo $! > /pg/tmp/hb.pid'",
            base64(WRITER.as_bytes()),
            db(host)
        ),
    );
}

pub fn stop_writer(host: &str) {
    let _ = ssh(
        host,
        "test -s /pg/tmp/hb.pid && kill $(cat /pg/tmp/hb.pid); rm -f /pg/tmp/hb.pid /pg/tmp/hb.pause /pg/tmp/hb.paused",
    );
}

fn pause_writer(host: &str) {
    ok(host, "touch /pg/tmp/hb.pause; for i in $(seq 100); do test -f /pg/tmp/hb.paused && exit 0; sleep 0.1; done; exit 1");
}

fn resume_writer(host: &str) {
    ok(host, "rm -f /pg/tmp/hb.pause");
}

fn rows_on(host: &str, port: u16) -> Vec<Row> {
    sql_on(
        host,
        port,
        db(host),
        "select n, xid, lsn, coalesce(to_char(pg_xact_commit_timestamp(xmin) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '-') from pitr_hb order by n",
    )
    .lines()
    .filter_map(|l| {
        let f: Vec<&str> = l.split('|').collect();
        Some(Row {
            n: f.first()?.parse().ok()?,
            xid: f.get(1)?.parse().ok()?,
            lsn: f.get(2)?.to_string(),
            commit: f.get(3)?.to_string(),
        })
    })
    .collect()
}

fn rows(host: &str) -> Vec<Row> {
    rows_on(host, 5432)
}

/// Wait until the table has at least `more` rows beyond `after`.
fn wait_rows(host: &str, more: usize) -> Vec<Row> {
    let before = rows(host).len();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = rows(host);
        if r.len() >= before + more || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The restored rows among `old` (rows written after the PITR have larger n).
fn restored(host: &str, old: &[Row]) -> Vec<i64> {
    let max = old.last().map(|r| r.n).unwrap_or(0);
    rows(host)
        .into_iter()
        .filter(|r| r.n <= max)
        .map(|r| r.n)
        .collect()
}

fn upto(old: &[Row], last: i64) -> Vec<i64> {
    old.iter().filter(|r| r.n <= last).map(|r| r.n).collect()
}

fn pid(host: &str) -> String {
    ok(host, "head -1 /pg/data/postmaster.pid")
        .trim()
        .to_string()
}

pub fn pitr(cluster: &str, pg_pitr: &str, more: &[&str]) -> crate::run::Run {
    let extra = format!("{{\"pg_pitr\": {pg_pitr}}}");
    let mut args = vec![
        "pgsql-pitr",
        "-l",
        cluster,
        "-e",
        &extra,
        "--yes",
        "--output",
        "text",
    ];
    args.extend_from_slice(more);
    let run = pgplay(&args);
    println!("{}", run.all());
    run
}

/// Switch WAL and wait until the archiver has the switched segment.
fn archive_now(host: &str) {
    let seg = sql(host, "select pg_walfile_name(pg_switch_wal())");
    let deadline = Instant::now() + Duration::from_secs(60);
    while sql(
        host,
        "select coalesce(last_archived_wal, '') from pg_stat_archiver",
    ) < seg
    {
        assert!(Instant::now() < deadline, "{seg} was not archived");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The segment number of a WAL file name (16 MiB segments).
fn segno(name: &str) -> u64 {
    let hex = |a: usize, b: usize| {
        name.get(a..b)
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    hex(8, 16) * 256 + hex(16, 24)
}

fn time_of(r: &Row) -> String {
    format!("{}+00", r.commit)
}

// ---------------------------------------------------------------- the tests

/// Backups configured, a writer on each primary, a full backup taken while it writes, and a
/// quiet one (writer paused) for the immediate/set test.
pub fn setup_heartbeat_and_backups() {
    for host in [META, TEST1] {
        stop_writer(host);
    }
    let run = pgplay(&["pgsql", "-t", "pg_backup,pg_scripts", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    for host in [META, TEST1] {
        let on = sql(host, "show track_commit_timestamp");
        assert_eq!(on, "on", "the sandbox must track commit timestamps");
        // A kept sandbox may hold an earlier run's rows (older than these backups).
        sql(host, "drop table if exists pitr_hb");
        start_writer(host);
    }
    wait_rows(META, 10);
    let full = pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-meta,pg-test",
        "-e",
        "type=full",
        "--output",
        "json",
    ]);
    assert_eq!(full.code, 0, "{}", full.all());
    wait_rows(META, 5);
    pause_writer(META);
    let last = rows(META).last().map(|r| r.n).unwrap_or(0);
    let quiet = pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-meta",
        "-e",
        "type=full",
        "--output",
        "json",
    ]);
    assert_eq!(quiet.code, 0, "{}", quiet.all());
    resume_writer(META);
    let label = crate::support::backups(META, "pg-meta")
        .last()
        .map(|b| b.0.clone())
        .unwrap_or_default();
    state(|s| s.quiet_backup = Some((label, last)));
    wait_rows(META, 15);
    wait_rows(TEST1, 15);
}

/// Wrong input is refused before any host is contacted.
pub fn refused_before_connecting() {
    for (args, needle, code) in [
        (
            vec![
                "-e",
                "{\"pg_pitr\": {\"time\": \"2026-07-13 10:00:00+00\", \"xid\": 5}}",
                "-l",
                "pg-meta",
                "--yes",
            ],
            "two recovery targets",
            4,
        ),
        (
            vec![
                "-e",
                "{\"pg_pitr\": {\"xid\": 4294967296}}",
                "-l",
                "pg-meta",
                "--yes",
            ],
            "pg_pitr.xid",
            4,
        ),
        (
            vec![
                "-e",
                "{\"pg_pitr\": {\"lsn\": \"0/XYZ\"}}",
                "-l",
                "pg-meta",
                "--yes",
            ],
            "not an LSN",
            4,
        ),
        (
            vec![
                "-e",
                "{\"pg_pitr\": {\"tme\": \"x\"}}",
                "-l",
                "pg-meta",
                "--yes",
            ],
            "did you mean 'time'",
            4,
        ),
        (
            vec!["-e", "{\"pg_pitr\": {}}", "--yes"],
            "name the cluster with -l",
            5,
        ),
        (
            vec!["-e", "{\"pg_pitr\": {}}", "-l", "pg-meta"],
            "add --yes",
            5,
        ),
        (
            vec!["-e", "{\"pg_pitr\": {}}", "-l", "127.0.10.12", "--yes"],
            "but not its primary",
            5,
        ),
        (
            vec![
                "-e",
                "{\"pg_pitr\": {}}",
                "-e",
                "patroni_enabled=true",
                "-l",
                "127.0.10.11",
                "--yes",
            ],
            "a Patroni cluster",
            5,
        ),
        (vec!["-l", "pg-meta", "--yes"], "pg_pitr is not defined", 5),
        (
            vec![
                "-e",
                "{\"pg_pitr\": {\"data\": \"/pg/data9\"}}",
                "-l",
                "pg-meta",
                "--yes",
            ],
            "its own port",
            4,
        ),
        (
            vec![
                "-e",
                "{\"pg_pitr\": {\"cluster\": \"pg-meta\"}}",
                "-l",
                "pg-test",
                "--yes",
            ],
            "on its own disk",
            4,
        ),
    ] {
        let pid_before = pid(META);
        let mut all = vec!["pgsql-pitr"];
        all.extend(args.iter().copied());
        let run = pgplay(&all);
        assert_eq!(run.code, code, "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains(needle),
            "{args:?}: wanted {needle:?}: {}",
            run.all()
        );
        assert!(
            !run.stdout.contains("TASK ["),
            "{args:?} started tasks: {}",
            run.all()
        );
        assert_eq!(pid(META), pid_before);
    }
}

/// The repository is read before anything stops: impossible targets are refused with the
/// reason, and the running primary is left exactly as it was.
pub fn preflight_refusals_leave_the_primary_untouched() {
    for (pg_pitr, needle) in [
        (
            "{\"time\": \"2000-01-01 00:00:00+00\"}",
            "before the recovery window",
        ),
        (
            "{\"time\": \"2099-01-01 00:00:00+00\"}",
            "lies after the archived WAL",
        ),
        (
            "{\"set\": \"20200101-000000F\"}",
            "is not in stanza 'pg-meta'",
        ),
        (
            "{\"cluster\": \"pg-nope\"}",
            "stanza 'pg-nope' does not exist",
        ),
        (
            "{\"xid\": 4000000000}",
            "transaction 4000000000 is not in the archived WAL",
        ),
        ("{\"lsn\": \"FF/0\"}", "lies beyond the archived WAL"),
    ] {
        let pid_before = pid(META);
        let rows_before = rows(META);
        let run = pitr("pg-meta", pg_pitr, &[]);
        assert_eq!(run.code, 2, "{pg_pitr}: {}", run.all());
        assert!(
            run.stdout.contains(needle),
            "{pg_pitr}: wanted {needle:?}: {}",
            run.all()
        );
        assert!(run.stdout.contains("nothing was changed"), "{}", run.all());
        assert!(
            !run.stdout.contains("TASK [pause]"),
            "went past preflight: {}",
            run.all()
        );
        assert_eq!(
            pid(META),
            pid_before,
            "{pg_pitr}: the primary was restarted"
        );
        let now = rows(META);
        assert!(
            now.len() >= rows_before.len(),
            "{pg_pitr}: rows disappeared"
        );
        assert_eq!(
            &now[..rows_before.len()],
            &rows_before[..],
            "{pg_pitr}: rows changed"
        );
    }
}

/// --check prints the whole plan (config, command, what stops) and changes nothing.
pub fn check_mode_shows_the_plan_and_changes_nothing() {
    ok(META, "rm -f /pg/conf/pitr.conf");
    let pid_before = pid(META);
    let now = wait_rows(META, 5);
    let target = now[now.len() - 3].clone();
    // Check mode writes nothing, not even a WAL switch: archive the target's WAL first.
    archive_now(META);
    let run = pitr(
        "pg-meta",
        &format!("{{\"time\": \"{}\"}}", time_of(&target)),
        &["--check", "--diff"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    for needle in [
        "PITR plan for 127.0.10.10",
        "backup set",
        "window",
        "command      pgbackrest --config=/pg/conf/pitr.conf --stanza=pg-meta --set=",
        "would stop PostgreSQL",
        "would run: pgbackrest",
        "[pg-meta]",
        "pg1-path=/pg/data",
    ] {
        assert!(
            run.stdout.contains(needle),
            "wanted {needle:?}: {}",
            run.all()
        );
    }
    assert_eq!(pid(META), pid_before);
    assert_eq!(sql(META, "select pg_is_in_recovery()"), "f");
    assert!(
        ssh(META, "test -e /pg/conf/pitr.conf").0 != 0,
        "check mode wrote pitr.conf"
    );
    // archive: false shows in the plan and in the config it would write.
    let off = pitr(
        "pg-meta",
        &format!("{{\"time\": \"{}\", \"archive\": false}}", time_of(&target)),
        &["--check", "--diff"],
    );
    assert_eq!(off.code, 0, "{}", off.all());
    assert!(
        off.stdout
            .contains("archive      off (pg_pitr.archive: false)"),
        "{}",
        off.all()
    );
    assert!(off.stdout.contains("archive-mode=off"), "{}", off.all());
    assert_eq!(pid(META), pid_before);
}

/// Stepwise down / pitr / up to an exact commit time: paused read-only at the target after
/// `pitr`, writable after `up`, and the table ends at that row (inclusive).
pub fn time_target_stepwise_is_exact() {
    let old = wait_rows(META, 5);
    // A row from after the backups, with rows after it (the future the PITR abandons).
    let (_, quiet) = state(|s| s.quiet_backup.clone()).expect("setup took a quiet backup");
    let later: Vec<&Row> = old.iter().filter(|r| r.n > quiet).collect();
    assert!(
        later.len() >= 6,
        "too few rows after the backups: {}",
        later.len()
    );
    let k = later[later.len() / 2].clone();
    state(|s| {
        s.before_first = old.clone();
        s.first_target = Some(k.clone());
    });
    let spec = format!("{{\"time\": \"{}\"}}", time_of(&k));
    let down = pitr("pg-meta", &spec, &["-t", "down"]);
    assert_eq!(down.code, 0, "{}", down.all());
    assert!(ssh(META, "test -n \"$(head -1 /pg/data/postmaster.pid 2>/dev/null)\" && kill -0 $(head -1 /pg/data/postmaster.pid)").0 != 0, "still running after down");
    let p = pitr("pg-meta", &spec, &["-t", "pitr"]);
    assert_eq!(p.code, 0, "{}", p.all());
    assert!(
        p.stdout.contains("paused at the target, read-only"),
        "{}",
        p.all()
    );
    assert_eq!(sql(META, "select pg_is_in_recovery()"), "t");
    assert_eq!(restored(META, &old), upto(&old, k.n), "after pitr (paused)");
    let up = pitr("pg-meta", &spec, &["-t", "up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert_eq!(sql(META, "select pg_is_in_recovery()"), "f");
    assert_eq!(restored(META, &old), upto(&old, k.n), "after up");
    ok(META, "systemctl is-active postgres");
    // The recovery settings are gone from the running primary.
    let auto = ok(META, "cat /pg/data/postgresql.auto.conf");
    assert!(!auto.contains("recovery_target"), "{auto}");
    // The writer goes on, on the new timeline.
    let after = wait_rows(META, 3);
    assert!(after.last().map(|r| r.n) > old.last().map(|r| r.n));
}

/// The same target, excluded, in one full run: the row itself is not there.
pub fn time_target_exclusive_full_run() {
    let old = wait_rows(META, 10);
    let k = old[old.len() - 5].clone();
    let run = pitr(
        "pg-meta",
        &format!("{{\"time\": \"{}\", \"exclusive\": true}}", time_of(&k)),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(restored(META, &old), upto(&old, k.n - 1));
    assert_eq!(sql(META, "select pg_is_in_recovery()"), "f");
}

/// A target in the first PITR's abandoned future: the old timeline holds it, the default
/// (latest) would silently stop on the new one. pgplay follows the old timeline, exactly.
pub fn second_pitr_into_the_abandoned_future() {
    let (before, first) = state(|s| (s.before_first.clone(), s.first_target.clone()));
    let first = first.expect("the stepwise test ran first");
    let later: Vec<&Row> = before.iter().filter(|r| r.n > first.n).collect();
    assert!(later.len() >= 2, "no abandoned rows after the first target");
    let j = later[later.len() / 2].clone();
    let run = pitr(
        "pg-meta",
        &format!("{{\"time\": \"{}\"}}", time_of(&j)),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("the only history whose own transactions span the target"),
        "{}",
        run.all()
    );
    assert_eq!(
        restored(META, &before),
        upto(&before, j.n),
        "not the abandoned history"
    );
}

/// An XID target (the first PITR of pg-meta: one timeline), inclusive.
pub fn xid_target_is_exact() {
    let old = wait_rows(META, 10);
    let k = old[old.len() - 6].clone();
    let run = pitr("pg-meta", &format!("{{\"xid\": \"{}\"}}", k.xid), &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(restored(META, &old), upto(&old, k.n));
    state(|s| s.xid_before = old);
}

/// After that PITR promoted, the new timeline hands out the same transaction ids again: the
/// first row written after it has the xid of a row of the abandoned history. Such a target is
/// refused (naming the timelines) until one is chosen; then it is exact.
pub fn reused_xid_needs_a_timeline() {
    let before = state(|s| s.xid_before.clone());
    let max_before = before.last().map(|r| r.n).unwrap_or(0);
    let now = wait_rows(META, 8);
    let first_new = now
        .iter()
        .find(|r| r.n > max_before)
        .cloned()
        .expect("rows after the PITR");
    assert!(
        before.iter().any(|r| r.xid == first_new.xid),
        "xid {} was not used on the old history: {before:?}",
        first_new.xid
    );
    let pid_before = pid(META);
    let spec = format!("{{\"xid\": {}, \"exclusive\": true}}", first_new.xid);
    let refused = pitr("pg-meta", &spec, &[]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.stdout.contains("ambiguous") && refused.stdout.contains("pg_pitr.timeline"),
        "{}",
        refused.all()
    );
    assert_eq!(pid(META), pid_before);
    let spec = format!(
        "{{\"xid\": {}, \"exclusive\": true, \"timeline\": \"latest\"}}",
        first_new.xid
    );
    let run = pitr("pg-meta", &spec, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(restored(META, &now), upto(&now, first_new.n - 1));
}

/// An LSN target: the insert-time LSN of row k+1 lies after row k's commit. A WAL switch
/// first takes the new timeline past the WAL the old ones archived (LSNs of a branch overlap
/// its parent's otherwise, and pgplay would ask which one).
pub fn lsn_target_is_exact() {
    // The newest segment of any timeline in the (local) repository.
    let archived = ok(
        META,
        "ls /pg/backup/archive/pg-meta/*/*/ | grep -E '^[0-9A-F]{24}-' || true",
    )
    .lines()
    .map(segno)
    .max()
    .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while segno(&sql(META, "select pg_walfile_name(pg_current_wal_lsn())")) <= archived {
        assert!(
            Instant::now() < deadline,
            "cannot get past the archived WAL"
        );
        sql(META, "select pg_switch_wal()");
        std::thread::sleep(Duration::from_millis(300));
    }
    let switched = rows(META).last().map(|r| r.n).unwrap_or(0);
    let old = wait_rows(META, 10);
    let after: Vec<&Row> = old.iter().filter(|r| r.n > switched).collect();
    assert!(after.len() >= 4);
    let (k, next) = (after[1].clone(), after[2].clone());
    // action promote: writable right after `pitr`, before `up`.
    let spec = format!("{{\"lsn\": \"{}\", \"action\": \"promote\"}}", next.lsn);
    let run = pitr("pg-meta", &spec, &["-t", "down,pitr"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("promoted: writable"), "{}", run.all());
    assert_eq!(sql(META, "select pg_is_in_recovery()"), "f");
    assert_eq!(restored(META, &old), upto(&old, k.n));
    let up = pitr("pg-meta", &spec, &["-t", "up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    ok(META, "systemctl is-active postgres");
    assert_eq!(restored(META, &old), upto(&old, k.n));
}

/// A recovery that cannot reach its target fails the step with PostgreSQL's reason, the
/// state the host is in and the command that continues (here: a restore point that does
/// not exist, past the preflight with an explicit timeline). The data moved aside first
/// (backup: true) is kept, and a recovery to the latest point brings everything back.
pub fn recovery_that_misses_its_target_fails_clearly() {
    ok(META, "rm -rf /pg/data-backup-*");
    pause_writer(META);
    let old = rows(META);
    let spec = "{\"name\": \"no such point\", \"timeline\": \"latest\", \"backup\": true}";
    let run = pitr("pg-meta", spec, &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    for needle in [
        "recovery did not reach the target",
        "recovery ended before configured recovery target was reached",
        "state: /pg/data is restored, PostgreSQL is stopped",
        "next:",
        "-t pitr",
    ] {
        assert!(
            run.stdout.contains(needle),
            "wanted {needle:?}: {}",
            run.all()
        );
    }
    assert_eq!(ok(META, "ls -d /pg/data-backup-* | wc -l").trim(), "1");
    let back = pitr("pg-meta", "{}", &[]);
    resume_writer(META);
    assert_eq!(back.code, 0, "{}", back.all());
    assert_eq!(
        restored(META, &old),
        old.iter().map(|r| r.n).collect::<Vec<_>>()
    );
    ok(META, "rm -rf /pg/data-backup-*");
}

/// A restore point named with quotes and spaces (pgBackRest 2.45 alone would break the
/// configuration with it).
pub fn restore_point_with_quotes() {
    let name = "it's \"here\" now";
    wait_rows(META, 5);
    pause_writer(META);
    let k = sql(
        META,
        "insert into pitr_hb(n) values ((select max(n) + 1 from pitr_hb)) returning n",
    );
    sql(
        META,
        &format!(
            "select pg_create_restore_point('{}')",
            name.replace('\'', "''")
        ),
    );
    resume_writer(META);
    let old = wait_rows(META, 10);
    let spec = serde_json::json!({ "name": name }).to_string();
    let run = pitr("pg-meta", &spec, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let k: i64 = k.parse().unwrap_or(-1);
    assert_eq!(restored(META, &old), upto(&old, k));
}

/// type immediate from an older backup set (taken while the writer was paused): exactly the
/// rows that backup holds.
pub fn immediate_from_an_older_set() {
    let (label, last) = state(|s| s.quiet_backup.clone()).expect("setup took a quiet backup");
    let old = rows(META);
    let run = pitr(
        "pg-meta",
        &format!("{{\"type\": \"immediate\", \"set\": \"{label}\"}}"),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains(&format!("backup set   {label}")),
        "{}",
        run.all()
    );
    assert_eq!(restored(META, &old), upto(&old, last));
}

/// latest: everything the primary had committed when it was stopped.
pub fn latest_loses_nothing() {
    wait_rows(META, 5);
    pause_writer(META);
    let old = rows(META);
    let run = pitr("pg-meta", "{}", &[]);
    resume_writer(META);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        restored(META, &old),
        old.iter().map(|r| r.n).collect::<Vec<_>>()
    );
}

/// action shutdown: stopped at the target after pitr; up replays to it again and promotes.
pub fn shutdown_action_then_up() {
    let old = wait_rows(META, 10);
    let k = old[old.len() - 4].clone();
    let spec = format!(
        "{{\"time\": \"{}\", \"action\": \"shutdown\"}}",
        time_of(&k)
    );
    let run = pitr("pg-meta", &spec, &["-t", "down,pitr"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("shut down at the target"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.contains("PostgreSQL is stopped"),
        "{}",
        run.all()
    );
    let up = pitr("pg-meta", &spec, &["-t", "up"]);
    assert_eq!(up.code, 0, "{}", up.all());
    assert!(
        up.stdout
            .contains("replayed to the target again and promoted"),
        "{}",
        up.all()
    );
    assert_eq!(restored(META, &old), upto(&old, k.n));
}

/// backup: true moves the data aside under a dated name, never over an earlier copy.
pub fn backup_true_keeps_the_old_data() {
    ok(META, "rm -rf /pg/data-backup-*");
    let old = wait_rows(META, 5);
    ok(META, "echo before > /pg/data/pgplay-marker");
    let run = pitr("pg-meta", "{\"backup\": true}", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let kept = ok(META, "ls -d /pg/data-backup-*");
    assert_eq!(kept.lines().count(), 1, "{kept}");
    let dir = kept.trim();
    assert_eq!(
        ok(META, &format!("cat {dir}/pgplay-marker")).trim(),
        "before"
    );
    ok(META, &format!("test -f {dir}/PG_VERSION"));
    assert!(
        ssh(META, "test -f /pg/data/pgplay-marker").0 != 0,
        "the marker came back"
    );
    assert!(restored(META, &old).len() >= old.len() - 1);
    std::thread::sleep(Duration::from_secs(1));
    let again = pitr("pg-meta", "{\"backup\": true}", &[]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert_eq!(
        ok(META, "ls -d /pg/data-backup-*").lines().count(),
        2,
        "an earlier copy was overwritten"
    );
    ok(META, "rm -rf /pg/data-backup-*");
}

/// A rehearsal next to the live instance while the heartbeat keeps writing: nothing live is
/// stopped, the rehearsal stands paused at the target on its own port, and discard removes it.
pub fn rehearsal_leaves_the_live_instance_alone() {
    let old = wait_rows(META, 10);
    let k = old[old.len() - 5].clone();
    let live_pid = pid(META);
    let spec = format!(
        "{{\"time\": \"{}\", \"data\": \"/pg/data9\", \"port\": 15432}}",
        time_of(&k)
    );
    let run = pitr("pg-meta", &spec, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(pid(META), live_pid, "the live instance was restarted");
    let during = wait_rows(META, 3);
    assert!(during.len() > old.len(), "the heartbeat stopped");
    assert_eq!(
        sql_on(META, 15432, "meta", "select pg_is_in_recovery()"),
        "t"
    );
    let rehearsed: Vec<i64> = rows_on(META, 15432)
        .iter()
        .filter(|r| r.n <= old.last().map(|l| l.n).unwrap_or(0))
        .map(|r| r.n)
        .collect();
    assert_eq!(rehearsed, upto(&old, k.n));
    assert_eq!(sql_on(META, 15432, "meta", "show archive_mode"), "off");
    let discard = pitr("pg-meta", &spec, &["-t", "discard"]);
    assert_eq!(discard.code, 0, "{}", discard.all());
    assert!(
        ssh(META, "test -e /pg/data9").0 != 0,
        "/pg/data9 is still there"
    );
    assert_eq!(pid(META), live_pid);
}

/// pg-test with its replicas: the primary restored exactly, both replicas re-initialised from
/// it and streaming on its new timeline, holding nothing from after the target.
pub fn cluster_with_replicas() {
    let old = wait_rows(TEST1, 10);
    let k = old[old.len() - 5].clone();
    let run = pitr(
        "pg-test",
        &format!("{{\"time\": \"{}\"}}", time_of(&k)),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(restored(TEST1, &old), upto(&old, k.n));
    let tli = sql(TEST1, "select timeline_id from pg_control_checkpoint()");
    let primary_rows = rows(TEST1);
    for replica in [TEST2, TEST3] {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = sql(
                replica,
                "select status, received_tli from pg_stat_wal_receiver",
            );
            if s == format!("streaming|{tli}") {
                break;
            }
            assert!(Instant::now() < deadline, "{replica}: {s}");
            std::thread::sleep(Duration::from_millis(300));
        }
        let theirs: Vec<i64> = rows(replica)
            .into_iter()
            .filter(|r| r.n <= k.n + 100_000)
            .map(|r| r.n)
            .collect();
        let max_old = old.last().map(|r| r.n).unwrap_or(0);
        assert!(
            !theirs.iter().any(|n| *n > k.n && *n <= max_old),
            "{replica} holds rows from after the target"
        );
        assert!(
            theirs.len() >= upto(&old, k.n).len(),
            "{replica}: {} rows",
            theirs.len()
        );
    }
    assert!(!primary_rows.is_empty());
}

/// pg-test restored from pg-meta's stanza in the shared S3 repository, then the post-PITR
/// cleanup: its own stanza upgraded, archiving on, a first full backup. pg-meta's stanza is
/// not written to by the clone.
pub fn clone_from_another_cluster_and_cleanup() {
    stop_writer(TEST1);
    // pg-meta backs up to S3 too, so that pg-test can reach its backups.
    let s3 = pgplay(&[
        "pgsql",
        "-l",
        "pg-meta",
        "-t",
        "pg_backup",
        "-e",
        "pgbackrest_method=minio",
        "--output",
        "json",
    ]);
    assert_eq!(s3.code, 0, "{}", s3.all());
    let full = pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-meta",
        "-e",
        "type=full",
        "-e",
        "pgbackrest_method=minio",
        "--output",
        "json",
    ]);
    assert_eq!(full.code, 0, "{}", full.all());
    let old = wait_rows(META, 10);
    let source_before = crate::support::info(TEST1, "pg-meta");
    // pg-meta's repository is 'local' in the inventory: pgplay refuses the clone from it.
    let refused = pitr("pg-test", "{\"cluster\": \"pg-meta\"}", &[]);
    assert_eq!(refused.code, 4, "{}", refused.all());
    assert!(
        refused.stderr.contains("a repository on its own disk"),
        "{}",
        refused.all()
    );
    // Say that pg-meta backs up to minio now (as pg-test does).
    let minio = ["-e", "pgbackrest_method=minio"];
    let run = pitr("pg-test", "{\"cluster\": \"pg-meta\"}", &minio);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("a clone into pg-test"), "{}", run.all());
    // pg-test now holds pg-meta's heartbeat up to the end of pg-meta's archive.
    let cloned = sql_on(
        TEST1,
        5432,
        "meta",
        "select count(*) from pitr_hb where n <= (select max(n) from pitr_hb)",
    );
    assert!(
        cloned.parse::<usize>().unwrap_or(0) >= old.len() / 2,
        "{cloned}"
    );
    assert_eq!(sql_on(TEST1, 5432, "postgres", "show archive_mode"), "off");
    // The replicas keep their own archive_mode (on): a replica promoted later must archive.
    for replica in [TEST2, TEST3] {
        assert_eq!(sql_on(replica, 5432, "postgres", "show archive_mode"), "on");
    }
    // (SHOW says "(disabled)" while archive_mode is off: read the setting itself.)
    let auto = ok(TEST1, "cat /pg/data/postgresql.auto.conf");
    assert!(
        auto.contains("archive_command = 'pgbackrest --stanza=pg-test archive-push %p'"),
        "the clone would archive into another stanza: {auto}"
    );
    std::thread::sleep(Duration::from_secs(2));
    let source_after = crate::support::info(TEST1, "pg-meta");
    assert_eq!(
        source_before["backup"], source_after["backup"],
        "the clone wrote a backup into pg-meta's stanza"
    );
    let cleanup = pitr(
        "pg-test",
        "{\"cluster\": \"pg-meta\"}",
        &["-t", "cleanup", "-e", "pgbackrest_method=minio"],
    );
    assert_eq!(cleanup.code, 0, "{}", cleanup.all());
    assert_eq!(sql_on(TEST1, 5432, "postgres", "show archive_mode"), "on");
    let own = crate::support::info(TEST1, "pg-test");
    let meta_db = crate::support::info(META, "pg-meta");
    assert_eq!(own["status"]["code"], 0, "{own}");
    let sys = |v: &serde_json::Value| {
        v["db"]
            .as_array()
            .and_then(|d| d.last())
            .map(|d| d["system-id"].clone())
    };
    assert_eq!(
        sys(&own),
        sys(&meta_db),
        "pg-test's stanza is not upgraded to the clone's system"
    );
    let last = own["backup"]
        .as_array()
        .and_then(|b| b.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["type"], "full", "{own}");
    ok(
        TEST1,
        "su - postgres -c 'pgbackrest --stanza=pg-test check'",
    );
    // The sandbox's own check (sandbox/cluster up) expects pg-test to have its database.
    sql_on(
        TEST1,
        5432,
        "postgres",
        "select 'create database test' where not exists (select from pg_database where datname = 'test') \\gexec",
    );
    // pg-meta back to its local repository.
    let back = pgplay(&[
        "pgsql",
        "-l",
        "pg-meta",
        "-t",
        "pg_backup",
        "--output",
        "json",
    ]);
    assert_eq!(back.code, 0, "{}", back.all());
}

/// Stop the writers (the suite leaves no process of its own behind).
pub fn stop_heartbeat() {
    for host in [META, TEST1] {
        stop_writer(host);
    }
}
