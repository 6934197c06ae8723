//! The workload of the spec's manual-recovery page (issue 13), deployed with the node scripts:
//! `pg-heartbeat` writes the cluster's row of `monitor.heartbeat` every beat, follows on a
//! replica without writing, and stops cleanly on SIGTERM and Ctrl-C (exit 0, no psql left, no
//! beat after it); `pg-bench` initialises and runs pgbench against a throwaway database.
//! Runs on the Patroni sandbox, on pg-meta's `postgres` database (another test may use `meta`)
//! and on pg-test's members without changing who leads.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

use crate::pitr::sql_on;
use crate::support::{ok, pgplay, ssh, META, TEST1, TEST2};

const HB: &str = "/pg/bin/pg-heartbeat";
const BENCH: &str = "/pg/bin/pg-bench";
/// Files of the background run on META: its PID, output, errors and exit status.
const BG: &str = "/tmp/pgplay-workload-hb";
const BENCH_DB: &str = "pgplay_workload";

/// One line pg-heartbeat printed.
#[derive(Debug)]
struct Beat {
    cls: String,
    ts: DateTime<FixedOffset>,
    lsn: String,
    lsn_int: u64,
    txid: u64,
    status: String,
}

/// The beats in pg-heartbeat's output (the header and its rule are skipped); a beat line that
/// does not parse fails the test.
fn beats(out: &str) -> Vec<Beat> {
    out.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('|').map(str::trim).collect();
            if f.len() != 8 || !matches!(f[5], "leading" | "following") {
                return None;
            }
            let ts = DateTime::parse_from_str(f[1], "%Y-%m-%d %H:%M:%S%.f%#z")
                .unwrap_or_else(|e| panic!("ts {:?} of {line:?}: {e}", f[1]));
            let num = |s: &str| {
                s.parse::<u64>()
                    .unwrap_or_else(|e| panic!("{s:?} in {line:?}: {e}"))
            };
            Some(Beat {
                cls: f[0].to_string(),
                ts,
                lsn: f[2].to_string(),
                lsn_int: num(f[3]),
                txid: num(f[4]),
                status: f[5].to_string(),
            })
        })
        .collect()
}

/// The LSN as PostgreSQL writes it (`0/1BFC4D0`).
fn lsn_text(n: u64) -> String {
    format!("{:X}/{:X}", n >> 32, n & 0xffff_ffff)
}

fn sql(host: &str, text: &str) -> String {
    sql_on(host, 5432, "postgres", text)
}

/// `id|ts as epoch microseconds|lsn|txid` of the cluster's heartbeat row on a host.
fn row(host: &str, cluster: &str) -> String {
    sql(
        host,
        &format!(
            "select id || '|' || (extract(epoch from ts) * 1000000)::bigint || '|' || lsn || '|' || txid \
             from monitor.heartbeat where id = '{cluster}'"
        ),
    )
}

fn micros(ts: &DateTime<FixedOffset>) -> i64 {
    ts.timestamp_micros()
}

/// Poll `f` every 200 ms until it holds, at most `secs` seconds.
fn wait_until(what: &str, secs: u64, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Stops what the test started when dropped, passed or not: the background pg-heartbeat (by
/// the PID it recorded) and the bench database.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = ssh(
            META,
            &format!(
                "if test -s {BG}.pid && kill $(cat {BG}.pid) 2>/dev/null; then \
                   for i in $(seq 50); do test -s {BG}.rc && break; sleep 0.1; done; fi; \
                 rm -f {BG}.pid {BG}.out {BG}.err {BG}.rc; \
                 cd / && runuser -u postgres -- dropdb --if-exists {BENCH_DB}"
            ),
        );
    }
}

/// The node scripts deployed with pgplay on pg-meta and pg-test, as a user would.
fn install() {
    let run = pgplay(&[
        "pgsql",
        "-l",
        "pg-meta,pg-test",
        "-t",
        "pg_scripts",
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    for host in [META, TEST1, TEST2] {
        let owners = ok(
            host,
            "for s in pg-heartbeat pg-bench; do bash -n /pg/bin/$s && test -x /pg/bin/$s && stat -c %U:%a /pg/bin/$s; done",
        );
        assert_eq!(owners, "postgres:755\npostgres:755\n", "on {host}");
    }
}

/// `pg-heartbeat -n 3` as the spec runs it (`sudo -iu postgres`): three beats, each later than
/// the last, all in the one row of the cluster.
fn three_beats_on_the_primary() {
    let (code, out, err) = ssh(META, &format!("sudo -iu postgres {HB} -n 3"));
    assert_eq!(code, 0, "pg-heartbeat -n 3\n{out}\n{err}");
    assert_eq!(err, "", "pg-heartbeat -n 3 wrote errors\n{out}");
    let b = beats(&out);
    assert_eq!(b.len(), 3, "three beats wanted:\n{out}");
    for beat in &b {
        assert_eq!(
            (beat.cls.as_str(), beat.status.as_str()),
            ("pg-meta", "leading"),
            "{out}"
        );
        assert_eq!(
            beat.lsn,
            lsn_text(beat.lsn_int),
            "lsn and lsn_int disagree:\n{out}"
        );
    }
    for w in b.windows(2) {
        assert!(w[1].ts > w[0].ts, "ts does not advance:\n{out}");
        assert!(w[1].lsn_int > w[0].lsn_int, "lsn does not advance:\n{out}");
        assert!(w[1].txid > w[0].txid, "txid does not advance:\n{out}");
    }
    let gap = micros(&b[2].ts) - micros(&b[0].ts);
    assert!(
        (1_500_000..10_000_000).contains(&gap),
        "three beats a second apart span {gap} µs:\n{out}"
    );
    // The table as the spec shows it, one row for the cluster: the last beat.
    assert_eq!(
        sql(
            META,
            "select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position) \
             from information_schema.columns where table_schema = 'monitor' and table_name = 'heartbeat'"
        ),
        "id text, ts timestamp with time zone, lsn bigint, txid bigint"
    );
    assert_eq!(
        sql(
            META,
            "select count(*) from monitor.heartbeat where id = 'pg-meta'"
        ),
        "1"
    );
    let last = &b[2];
    assert_eq!(
        row(META, "pg-meta"),
        format!(
            "pg-meta|{}|{}|{}",
            micros(&last.ts),
            last.lsn_int,
            last.txid
        )
    );
}

/// Started in the background (as root: it becomes postgres in the same process, so the PID
/// recorded is the one to signal), stopped with SIGTERM after ~2 s: exit 0, nothing on
/// stderr, no pg-heartbeat or psql process and no session left, and the beat it was waiting
/// on (a lock) cancelled: no beat after it.
fn sigterm_stops_cleanly() {
    ok(
        META,
        &format!(
            "rm -f {BG}.pid {BG}.out {BG}.err {BG}.rc; cd / && \
             (nohup bash -c '{HB} >{BG}.out 2>{BG}.err </dev/null & echo $! >{BG}.pid; wait $!; echo $? >{BG}.rc' &) \
             >/dev/null 2>&1 </dev/null"
        ),
    );
    wait_until("the background pg-heartbeat beats twice", 15, || {
        let (_, out, _) = ssh(META, &format!("cat {BG}.out"));
        beats(&out).len() >= 2
    });
    let pid = ok(META, &format!("cat {BG}.pid")).trim().to_string();
    assert!(
        !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()),
        "pid {pid:?}"
    );
    let user = ok(META, &format!("ps -o user= -p {pid}"));
    assert_eq!(
        user.trim(),
        "postgres",
        "PID {pid} is not pg-heartbeat run as postgres"
    );
    // A session holds the table for 3 s, so the next beat waits on its lock when SIGTERM
    // comes: that beat must be cancelled, never committed once the script is gone.
    ok(
        META,
        "cd / && (PGAPPNAME=pgplay-workload-lock runuser -u postgres -- psql -d postgres -qX \
           -c 'begin; lock table monitor.heartbeat in exclusive mode; select pg_sleep(3); commit' &) \
           >/dev/null 2>&1 </dev/null",
    );
    wait_until("a beat waits on the lock", 10, || {
        sql(
            META,
            "select count(*) from pg_stat_activity where application_name = 'pg-heartbeat' and wait_event_type = 'Lock'",
        ) == "1"
    });
    ok(META, &format!("kill -TERM {pid}"));
    let stopped = Instant::now();
    wait_until("pg-heartbeat exits after SIGTERM", 10, || {
        ssh(META, &format!("test -s {BG}.rc")).0 == 0
    });
    let took = stopped.elapsed();
    let rc = ok(META, &format!("cat {BG}.rc"));
    let (_, out, _) = ssh(META, &format!("cat {BG}.out"));
    let (_, err, _) = ssh(META, &format!("cat {BG}.err"));
    assert_eq!(rc.trim(), "0", "exit status after SIGTERM\n{out}\n{err}");
    assert_eq!(err, "", "pg-heartbeat wrote errors when stopped\n{out}");
    assert!(took < Duration::from_secs(3), "stopping took {took:?}");
    let b = beats(&out);
    assert!(b.len() >= 2, "{out}");
    // Nothing of it runs (its psql reads /tmp/pg-heartbeat.*/beat.sql, so the pattern finds
    // that psql too; others' psql sessions are not ours to count), its temporary
    // directory is gone, and no session of it is left on the server.
    let left = ok(
        META,
        "ps -eo pid,user,args | grep -e '[p]g-heartbeat' || true",
    );
    assert_eq!(left, "", "left running after SIGTERM");
    let left = ok(META, "ls -d /tmp/pg-he[a]rtbeat.* 2>/dev/null || true");
    assert_eq!(left, "", "left in /tmp after SIGTERM");
    wait_until("pg-heartbeat's session ends", 5, || {
        sql(
            META,
            "select count(*) from pg_stat_activity where application_name = 'pg-heartbeat'",
        ) == "0"
    });
    // Once the lock is gone, the row is the last beat printed, and stays so.
    wait_until("the lock holder ends", 10, || {
        sql(
            META,
            "select count(*) from pg_stat_activity where application_name = 'pgplay-workload-lock'",
        ) == "0"
    });
    let last = b.last().unwrap();
    let want = format!(
        "pg-meta|{}|{}|{}",
        micros(&last.ts),
        last.lsn_int,
        last.txid
    );
    assert_eq!(row(META, "pg-meta"), want, "{out}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        row(META, "pg-meta"),
        want,
        "a beat was written after pg-heartbeat stopped"
    );
    ok(META, &format!("rm -f {BG}.pid {BG}.out {BG}.err {BG}.rc"));
}

/// Ctrl-C as a terminal sends it (SIGINT to the whole process group): exit 0, no error text.
fn ctrl_c_stops_cleanly() {
    let (code, out, err) = ssh(
        META,
        &format!("cd / && timeout --preserve-status -s INT 2.5 sudo -iu postgres {HB} -i 0.5"),
    );
    assert_eq!(code, 0, "exit status after SIGINT\n{out}\n{err}");
    assert_eq!(err, "", "pg-heartbeat wrote errors on Ctrl-C\n{out}");
    assert!(beats(&out).len() >= 3, "{out}");
    let left = ok(
        META,
        "ps -eo pid,user,args | grep -e '[p]g-heartbeat' || true",
    );
    assert_eq!(left, "", "left behind after SIGINT");
}

/// A beat that fails prints one line and the next beat tries again; with -n the last one
/// decides the exit status.
fn a_failing_beat_says_so_and_goes_on() {
    let (code, out, err) = ssh(META, &format!("sudo -iu postgres {HB} -n 2 -i 0.2 -p 5999"));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(beats(&out).is_empty(), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "one line per failed beat:\n{err}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("no beat (port 5999, database postgres)")
                && l.contains(".s.PGSQL.5999")),
        "{err}"
    );
    let (code, _, err) = ssh(META, &format!("{HB} -i 0"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("invalid interval '0'"), "{err}");
}

/// On a replica: the replicated row, status following, nothing written.
fn follows_on_a_replica() {
    assert_eq!(
        sql(TEST1, "select pg_is_in_recovery()"),
        "f",
        "pg-test-1 is not pg-test's primary"
    );
    assert_eq!(
        sql(TEST2, "select pg_is_in_recovery()"),
        "t",
        "pg-test-2 is not a replica"
    );
    let (code, out, err) = ssh(TEST1, &format!("sudo -iu postgres {HB} -n 1"));
    assert_eq!(code, 0, "{out}\n{err}");
    let written = row(TEST1, "pg-test");
    wait_until("pg-test-2 replays the beat", 30, || {
        row(TEST2, "pg-test") == written
    });
    let (code, out, err) = ssh(TEST2, &format!("sudo -iu postgres {HB} -n 2 -i 0.5"));
    assert_eq!(code, 0, "pg-heartbeat on a replica\n{out}\n{err}");
    assert_eq!(err, "", "{out}");
    let b = beats(&out);
    assert_eq!(b.len(), 2, "{out}");
    for beat in &b {
        assert_eq!(beat.cls, "pg-test", "{out}");
        assert_eq!(beat.status, "following", "{out}");
        assert_eq!(
            format!(
                "pg-test|{}|{}|{}",
                micros(&beat.ts),
                beat.lsn_int,
                beat.txid
            ),
            written,
            "the replica shows another row\n{out}"
        );
    }
    assert_eq!(
        row(TEST1, "pg-test"),
        written,
        "the primary's row changed while pg-heartbeat ran on the replica"
    );
}

/// pgbench at scale 1 into a throwaway database, then a 2 s run: progress every second and
/// the tps line.
fn pg_bench_init_and_run() {
    ok(
        META,
        &format!(
            "cd / && runuser -u postgres -- dropdb --if-exists {BENCH_DB} && runuser -u postgres -- createdb -T template0 {BENCH_DB}"
        ),
    );
    let (code, out, err) = ssh(META, &format!("{BENCH} init -s 1 {BENCH_DB}"));
    assert_eq!(code, 0, "pg-bench init\n{out}\n{err}");
    assert_eq!(
        sql_on(
            META,
            5432,
            BENCH_DB,
            "select count(*) from pgbench_accounts"
        ),
        "100000"
    );
    let (code, out, err) = ssh(
        META,
        &format!("sudo -iu postgres {BENCH} run -T 2 -R 50 {BENCH_DB}"),
    );
    assert_eq!(code, 0, "pg-bench run\n{out}\n{err}");
    assert!(err.contains("progress: 1.0 s, "), "no progress line\n{err}");
    let tps: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tps line\n{out}"));
    assert!(tps > 10.0, "tps {tps}\n{out}");
    assert!(out.contains("number of failed transactions: 0 "), "{out}");
    let (code, _, err) = ssh(META, &format!("{BENCH} run -s 2 {BENCH_DB}"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("-s is an option of pg-bench init, not run"),
        "{err}"
    );
}

pub fn pg_heartbeat_writes_and_stops() {
    let _cleanup = Cleanup;
    install();
    three_beats_on_the_primary();
    sigterm_stops_cleanly();
    ctrl_c_stops_cleanly();
    a_failing_beat_says_so_and_goes_on();
    follows_on_a_replica();
    pg_bench_init_and_run();
}
