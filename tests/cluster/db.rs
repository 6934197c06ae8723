//! pgsql-db on the Patroni sandbox: the spec's "Clone Database" page. pg-meta defines
//! `meta` and its clone `meta_dev` (`template: meta, strategy: FILE_COPY`) in
//! inventory/sandbox.yml; a clone made while a session holds the template has the same
//! rows and lives on its own; a second run changes nothing; a wrong definition is refused
//! before any host is touched; new connections arriving faster than the clone can start
//! make it give up with the reason, after a bounded number of tries.

use crate::pitr::sql_on;
use crate::support::{ok, pgplay};

const META: &str = "127.0.10.10";

fn sql(db: &str, text: &str) -> String {
    sql_on(META, 5432, db, text)
}

/// The PID of the leader's postmaster: unchanged when nothing was touched.
fn postmaster() -> String {
    ok(META, "head -1 /pg/data/postmaster.pid")
        .trim()
        .to_string()
}

/// A psql session on pg-meta-1, as postgres, named `app` (its application_name), holding
/// `db` for ten minutes unless ended. Returns when the session is connected.
fn session(app: &str, db: &str) {
    let pid = ok(
        META,
        &format!(
            "cd /; setsid su postgres -c 'PGAPPNAME={app} psql -p 5432 -d {db} -Xqc \"select pg_sleep(600)\"' >/dev/null 2>&1 < /dev/null & echo $!"
        ),
    );
    assert!(pid.trim().parse::<u32>().is_ok(), "no pid: {pid}");
    for _ in 0..50 {
        if backend(app).is_some() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("session {app} did not reach {db}");
}

/// The server process of session `app`, if it is connected.
fn backend(app: &str) -> Option<String> {
    let pid = sql(
        "postgres",
        &format!("select pid from pg_stat_activity where application_name = '{app}'"),
    );
    (!pid.is_empty()).then_some(pid)
}

/// End session `app` (its psql then exits).
fn end(app: &str) {
    sql(
        "postgres",
        &format!("select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = '{app}'"),
    );
}

/// Each wrong definition, and a dbname the cluster does not define, is refused before the
/// first task: the leader's postmaster is the same one, nothing was created.
pub fn invalid_definitions_are_refused_before_connecting() {
    let before = postmaster();
    for (extra, needle, code) in [
        (
            r#"{"dbname": "x", "pg_databases": [{"name": "meta"}, {"name": "x", "template": "meta", "strategy": "FILE_CPY"}]}"#,
            "pg_databases[1].strategy: 'FILE_CPY' is not a strategy of CREATE DATABASE",
            4,
        ),
        (
            r#"{"dbname": "x", "pg_databases": [{"name": "x", "template": "mta"}]}"#,
            "template 'mta' is not a database of this cluster",
            4,
        ),
        (
            r#"{"dbname": "x", "pg_databases": [{"name": "x", "template": "postgres", "strategy": "FILE_COPY"}]}"#,
            "would clone postgres",
            4,
        ),
        (
            r#"{"dbname": "x", "pg_databases": [{"name": "x"}, {"name": "x"}]}"#,
            "defined twice",
            4,
        ),
        (
            r#"{"dbname": "meta_prod"}"#,
            "meta_prod is not in pg_databases of pg-meta",
            5,
        ),
        (
            r#"{"pg_role": "primary"}"#,
            "name the database of pg_databases to create on pg-meta: it defines meta, meta_dev",
            5,
        ),
        (
            r#"{"dbname": "x", "pg_databases": [{"name": "x", "state": "absent"}]}"#,
            "pgplay creates databases and never drops one",
            5,
        ),
    ] {
        let run = pgplay(&["pgsql-db", "-l", "pg-meta", "-e", extra]);
        assert_eq!(run.code, code, "{extra}: {}", run.all());
        assert!(
            run.stderr.contains(needle),
            "{extra}: wanted {needle:?}: {}",
            run.all()
        );
        assert!(
            !run.stdout.contains("TASK ["),
            "{extra} started tasks: {}",
            run.all()
        );
    }
    // Without -l, meta_dev is pg-meta's: the hint says which limit.
    let run = pgplay(&["pgsql-db", "-e", "dbname=meta_dev"]);
    assert_eq!(run.code, 5, "{}", run.all());
    assert!(run.stderr.contains("use -l pg-meta"), "{}", run.all());
    assert_eq!(postmaster(), before);
    assert_eq!(
        sql(
            "postgres",
            "select count(*) from pg_database where datname = 'x'"
        ),
        "0"
    );
}

/// The spec's clone: meta_dev from meta with FILE_COPY while a session is connected to meta.
/// Same rows, then independent; the second run changes nothing; --check creates nothing.
pub fn clone_while_connected_has_the_rows_and_lives_on_its_own() {
    sql("postgres", "drop database if exists meta_dev");
    sql(
        "meta",
        "drop table if exists clone_probe; create table clone_probe (id int primary key, v text); \
         insert into clone_probe select g, md5(g::text) from generate_series(1, 5000) g",
    );
    // --check: says what it would make, makes nothing
    let check = pgplay(&[
        "pgsql-db",
        "-l",
        "pg-meta",
        "-e",
        "dbname=meta_dev",
        "--check",
    ]);
    assert_eq!(check.code, 0, "{}", check.all());
    assert!(
        check.stdout.contains("meta_dev: would be created"),
        "{}",
        check.all()
    );
    assert_eq!(
        sql(
            "postgres",
            "select count(*) from pg_database where datname = 'meta_dev'"
        ),
        "0"
    );

    session("holder", "meta");
    let run = pgplay(&["pgsql-db", "-l", "pg-meta", "-e", "dbname=meta_dev"]);
    let held = backend("holder");
    end("holder");
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(held, None, "the clone left the template's session");
    for needle in [
        "changed: [127.0.10.10]",
        "meta_dev: created",
        "database meta_dev (from meta, FILE_COPY)",
        "ended 1 connection to meta just before the clone",
        "comment \"meta clone\"",
        "file_copy_method not set (PostgreSQL 15 has none: FILE_COPY copies the files)",
    ] {
        assert!(
            run.stdout.contains(needle),
            "wanted {needle:?}: {}",
            run.all()
        );
    }
    let count = "select count(*), sum(hashtext(v)) from clone_probe";
    assert_eq!(sql("meta_dev", count), sql("meta", count));
    assert!(sql("meta_dev", count).starts_with("5000|"));
    assert_eq!(
        sql("postgres", "select shobj_description(oid, 'pg_database') from pg_database where datname = 'meta_dev'"),
        "meta clone"
    );
    // Independent: a write to one does not show in the other.
    sql(
        "meta_dev",
        "insert into clone_probe values (5001, 'dev only')",
    );
    sql("meta", "delete from clone_probe where id <= 10");
    assert_eq!(sql("meta_dev", "select count(*) from clone_probe"), "5001");
    assert_eq!(sql("meta", "select count(*) from clone_probe"), "4990");
    assert_eq!(
        sql("meta", "select count(*) from clone_probe where id = 5001"),
        "0"
    );

    // Again: nothing to change, and no connection to meta is ended.
    session("holder", "meta");
    let again = pgplay(&["pgsql-db", "-l", "pg-meta", "-e", "dbname=meta_dev"]);
    let still = backend("holder");
    end("holder");
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(
        again
            .stdout
            .contains("meta_dev exists as defined: nothing to change"),
        "{}",
        again.all()
    );
    assert!(again.stdout.contains("changed=0"), "{}", again.all());
    assert!(still.is_some(), "the second run ended a session of meta");
    sql("meta", "drop table clone_probe");
}

/// A session of the template that does not end when told to (its server process is
/// stopped, as one stuck in the kernel would be): the clone is tried a bounded number of
/// times, then the reason; once the session is gone, the same command succeeds.
pub fn clone_gives_up_when_the_template_stays_busy() {
    sql("postgres", "drop database if exists meta_busy");
    let extra = r#"{"dbname": "meta_busy", "pg_databases": [{"name": "meta"}, {"name": "meta_busy", "template": "meta", "strategy": "FILE_COPY"}]}"#;
    session("stuck", "meta");
    let pid = backend("stuck").unwrap_or_default();
    ok(META, &format!("kill -STOP {pid}"));
    let run = pgplay(&["pgsql-db", "-l", "pg-meta", "-e", extra]);
    ok(META, &format!("kill -CONT {pid}"));
    end("stuck");
    assert_eq!(run.code, 2, "{}", run.all());
    for needle in [
        "could not clone meta into meta_busy: meta still had another session after its connections were ended, 3 times",
        "stop the clients of meta",
        "is being accessed by other users",
    ] {
        assert!(run.stdout.contains(needle), "wanted {needle:?}: {}", run.all());
    }
    assert_eq!(
        sql(
            "postgres",
            "select count(*) from pg_database where datname = 'meta_busy'"
        ),
        "0"
    );
    for _ in 0..50 {
        if backend("stuck").is_none() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let run = pgplay(&["pgsql-db", "-l", "pg-meta", "-e", extra]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("meta_busy: created"), "{}", run.all());
    sql("postgres", "drop database meta_busy");
}

/// A database with schemas, extensions, parameters and a connection limit: made on the first
/// run, found as defined on the second (which reads them inside the database), and only the
/// difference made when the definition changes.
pub fn schemas_extensions_and_settings_are_made_once() {
    sql("postgres", "drop database if exists meta_app");
    let def = |limit: u32| {
        format!(
            r#"{{"dbname": "meta_app", "pg_databases": [{{"name": "meta_app", "schemas": ["app"], "extensions": [{{"name": "pg_trgm", "schema": "app"}}], "parameters": {{"search_path": "app, public", "work_mem": "8MB"}}, "connlimit": {limit}}}]}}"#
        )
    };
    let first = pgplay(&["pgsql-db", "-l", "pg-meta", "-e", &def(10)]);
    assert_eq!(first.code, 0, "{}", first.all());
    for needle in [
        "meta_app: created",
        "schema app",
        "extension pg_trgm",
        "parameter search_path = app, public",
        "connlimit 10",
    ] {
        assert!(
            first.stdout.contains(needle),
            "wanted {needle:?}: {}",
            first.all()
        );
    }
    assert_eq!(
        sql("meta_app", "select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'"),
        "app"
    );
    assert_eq!(sql("meta_app", "show search_path"), "app, public");
    let again = pgplay(&["pgsql-db", "-l", "pg-meta", "-e", &def(10)]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(
        again
            .stdout
            .contains("meta_app exists as defined: nothing to change")
            && again.stdout.contains("changed=0"),
        "{}",
        again.all()
    );
    let changed = pgplay(&["pgsql-db", "-l", "pg-meta", "-e", &def(20)]);
    assert_eq!(changed.code, 0, "{}", changed.all());
    assert!(
        changed
            .stdout
            .contains("meta_app exists: changed\n    connlimit 20\n"),
        "{}",
        changed.all()
    );
    assert_eq!(
        sql(
            "postgres",
            "select datconnlimit from pg_database where datname = 'meta_app'"
        ),
        "20"
    );
    sql("postgres", "drop database meta_app");
}
