//! Backups on the sandbox: pg_backup, manual backups, listing, retention, encryption,
//! golden configs, secrets, pg-basebackup, cron, and removal.

use crate::support::{backups, info, ok, pgplay, repo, ssh, ALL, META, TEST1, TEST2, TEST3};

/// Start from no pgBackRest state at all (a rerun on a kept sandbox).
fn clean_slate() {
    let _ = pgplay(&[
        "pgsql-rm",
        "-l",
        "pg-meta,pg-test",
        "-t",
        "pg_backup",
        "--yes",
        "--output",
        "json",
    ]);
    for host in ALL {
        ok(host, "rm -rf /etc/pgbackrest /pg/backup/* /etc/profile.d/pg-alias.sh; crontab -u postgres -r 2>/dev/null; true");
    }
}

pub fn pg_backup_configures_both_clusters_once() {
    clean_slate();
    let run = pgplay(&["pgsql", "-t", "pg_backup,pg_scripts", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    // The stanza exists and the initial full backup is listed, on both clusters.
    for (host, stanza) in [(META, "pg-meta"), (TEST1, "pg-test")] {
        let i = info(host, stanza);
        assert_eq!(i["status"]["code"], 0, "{stanza}: {i}");
        let sets = backups(host, stanza);
        assert_eq!(sets.len(), 1, "{stanza}: {sets:?}");
        assert_eq!(sets[0].1, "full");
    }
    // Replicas have the config (the one initial backup above was the primary's).
    for host in [TEST2, TEST3] {
        ok(host, "test -f /etc/pgbackrest/pgbackrest.conf");
    }
    // archive_command is wired to the stanza and WAL reaches the repository.
    let cmd = ok(
        META,
        "su - postgres -c \"psql -AXtwqc 'SHOW archive_command'\"",
    );
    assert_eq!(cmd.trim(), "pgbackrest --stanza=pg-meta archive-push %p");
    ok(META, "su - postgres -c 'pgbackrest --stanza=pg-meta check'");

    // A second run changes nothing and makes no second initial backup.
    let again = pgplay(&["pgsql", "-t", "pg_backup,pg_scripts", "--output", "json"]);
    assert_eq!(again.code, 0, "{}", again.all());
    for (host, stats) in again.recap() {
        assert_eq!(
            stats["changed"],
            0,
            "second run changed {host}: {}",
            again.all()
        );
    }
    assert_eq!(backups(META, "pg-meta").len(), 1);
    assert_eq!(backups(TEST1, "pg-test").len(), 1);

    // The listing from the controller.
    let list = pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-meta",
        "-t",
        "info",
        "--output",
        "text",
    ]);
    assert_eq!(list.code, 0, "{}", list.all());
    assert!(
        list.stdout.contains("stanza pg-meta  status: ok"),
        "{}",
        list.all()
    );
    // the window ends at a time (when the newest WAL was archived), not just a file name
    let window = list
        .stdout
        .lines()
        .find(|l| l.starts_with("recovery window: from "))
        .unwrap_or_default();
    assert!(
        window.contains("+00 (when the newest WAL, ") && window.ends_with(", was archived)"),
        "{}",
        list.all()
    );
    println!("{}", list.stdout);
}

/// Compare with the `process-max` line (it follows the host's CPUs) normalised.
fn normalised(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("process-max=") {
                "process-max=N"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn rendered_configs_match_golden_files() {
    for (host, name) in [
        (META, "pgbackrest-local.conf"),
        (TEST1, "pgbackrest-minio.conf"),
    ] {
        let got = ok(host, "cat /etc/pgbackrest/pgbackrest.conf");
        let want =
            std::fs::read_to_string(repo().join("tests/golden").join(name)).unwrap_or_default();
        assert_eq!(
            normalised(&got),
            normalised(&want),
            "{name} differs (host {host})"
        );
        let attrs = ok(
            host,
            "stat -c '%a %U' /etc/pgbackrest/pgbackrest.conf /etc/pgbackrest",
        );
        assert_eq!(attrs, "640 postgres\n750 postgres\n");
    }
    // pgBackRest 2.45 does not know repo1-block: left out, never a broken config.
    let got = ok(TEST1, "cat /etc/pgbackrest/pgbackrest.conf");
    assert!(!got.contains("repo1-block"), "{got}");
}

pub fn full_diff_incr() {
    let full = pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-meta",
        "-e",
        "type=full",
        "--output",
        "text",
    ]);
    assert_eq!(full.code, 0, "{}", full.all());
    let diff = pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-meta",
        "-e",
        "type=diff",
        "--output",
        "text",
    ]);
    assert_eq!(diff.code, 0, "{}", diff.all());
    ok(META, "su - postgres -c '/pg/bin/pg-backup incr'");
    let sets = backups(META, "pg-meta");
    let n = sets.len();
    assert!(n >= 4, "{sets:?}");
    let (f, d, i) = (&sets[n - 3], &sets[n - 2], &sets[n - 1]);
    assert_eq!(
        (f.1.as_str(), d.1.as_str(), i.1.as_str()),
        ("full", "diff", "incr"),
        "{sets:?}"
    );
    assert_eq!(d.2, vec![f.0.clone()], "diff builds on the full");
    assert_eq!(
        i.2,
        vec![f.0.clone(), d.0.clone()],
        "incr builds on the full and the diff"
    );
    // The same through root's cron-like call (pg-backup drops to postgres), on S3.
    ok(TEST1, "/pg/bin/pg-backup full");
    let listed = pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-test",
        "-t",
        "info",
        "--output",
        "text",
    ]);
    assert_eq!(listed.code, 0, "{}", listed.all());
    assert_eq!(
        listed.stdout.matches(" full ").count(),
        2,
        "{}",
        listed.all()
    );
    let bad = pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-meta",
        "-e",
        "type=weekly",
        "--output",
        "text",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(
        bad.stdout.contains("type must be full, diff or incr"),
        "{}",
        bad.all()
    );
}

pub fn pg_backup_on_a_replica_refuses() {
    let (code, _, err) = ssh(TEST2, "su - postgres -c '/pg/bin/pg-backup full'");
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("replica"), "{err}");
    let (code, _, err) = ssh(TEST2, "su - postgres -c '/pg/bin/pg-backup weekly'");
    assert_eq!(code, 1, "{err}");
}

pub fn retention_expires_the_oldest_full() {
    // pg-meta's local repository keeps 2 full backups (retention_full_type count).
    let fulls = |sets: &[(String, String, Vec<String>)]| -> Vec<String> {
        sets.iter()
            .filter(|s| s.1 == "full")
            .map(|s| s.0.clone())
            .collect()
    };
    let before = fulls(&backups(META, "pg-meta"));
    assert_eq!(before.len(), 2, "{before:?}");
    let run = pgplay(&[
        "pgsql-backup",
        "-l",
        "pg-meta",
        "-e",
        "type=full",
        "--output",
        "text",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let after = fulls(&backups(META, "pg-meta"));
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(
        !after.contains(&before[0]),
        "the oldest full {} was not expired: {after:?}",
        before[0]
    );
    assert!(after.contains(&before[1]));
}

pub fn s3_repository_is_encrypted_and_restores() {
    let i = info(TEST1, "pg-test");
    assert_eq!(i["cipher"], "aes-256-cbc", "{i}");
    // The raw object in the bucket is ciphertext (OpenSSL's salted format), not the plain
    // INI that pgBackRest writes.
    let raw = ok(META, "/opt/pgplay-s3/bin/python3 - <<'PY'\nimport boto3\ns3 = boto3.client('s3', endpoint_url='https://sss.pigsty:9000', aws_access_key_id='pgbackrest', aws_secret_access_key='S3User.Backup', region_name='us-east-1', verify='/etc/pki/ca.crt')\nbody = s3.get_object(Bucket='pgsql', Key='pgbackrest/backup/pg-test/backup.info')['Body'].read()\nprint(body[:8].decode('latin1'), b'[backup:current]' in body)\nPY");
    assert_eq!(raw.trim(), "Salted__ False", "{raw}");
    // A restore with the passphrase works (into a scratch directory).
    ok(
        TEST3,
        "rm -rf /var/tmp/restore && mkdir -p /var/tmp/restore && chown postgres /var/tmp/restore",
    );
    ok(TEST3, "su - postgres -c 'pgbackrest --stanza=pg-test --pg1-path=/var/tmp/restore --type=immediate --target-action=promote restore' && test -s /var/tmp/restore/PG_VERSION");
    // A wrong passphrase is a clear error.
    let (code, out, err) = ssh(
        TEST3,
        "su - postgres -c 'pgbackrest --stanza=pg-test --repo1-cipher-pass=wrong-pass info'",
    );
    let text = format!("{out}{err}");
    assert_ne!(code, 0, "{text}");
    assert!(
        text.to_lowercase().contains("cipher")
            || text.contains("decrypt")
            || text.contains("error"),
        "{text}"
    );
    ok(TEST3, "rm -rf /var/tmp/restore");
}

pub fn no_secret_in_output() {
    let run = pgplay(&[
        "pgsql",
        "-l",
        "pg-test",
        "-t",
        "pgbackrest_config",
        "-v",
        "--diff",
        "--output",
        "text",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let json = pgplay(&[
        "pgsql",
        "-l",
        "pg-test",
        "-t",
        "pgbackrest_config",
        "-v",
        "--output",
        "json",
    ]);
    for text in [&run.stdout, &run.stderr, &json.stdout, &json.stderr] {
        assert!(
            !text.contains("S3User.Backup"),
            "s3_key_secret leaked:\n{text}"
        );
        assert!(
            !text.contains("cipher-pass=pgBackRest"),
            "cipher_pass leaked:\n{text}"
        );
    }
}

pub fn pg_basebackup_tarball_starts_postgres() {
    ok(
        META,
        "su - postgres -c '/pg/bin/pg-basebackup -d /var/tmp/bb -t bbtest -f bb.tar.lz4'",
    );
    ok(
        META,
        "test -s /var/tmp/bb/bb.tar.lz4 && lz4 -t /var/tmp/bb/bb.tar.lz4",
    );
    ok(META, "rm -rf /var/tmp/bbdata && mkdir -p /var/tmp/bbdata && chmod 700 /var/tmp/bbdata && unlz4 -d -c /var/tmp/bb/bb.tar.lz4 | tar -xC /var/tmp/bbdata && chown -R postgres /var/tmp/bbdata");
    // Start the copy on another port with archiving off (it must not push WAL into the real
    // stanza) and no TCP listener.
    ok(META, "su - postgres -c \"/usr/lib/postgresql/15/bin/pg_ctl -D /var/tmp/bbdata -w -o \\\"-p 5499 -c listen_addresses='' -c archive_mode=off -c unix_socket_directories=/var/tmp -c logging_collector=off\\\" -l /var/tmp/bb.log start\"");
    let count = ok(META, "su - postgres -c \"psql -h /var/tmp -p 5499 -d postgres -AXtwqc 'select count(*) from pg_database'\"");
    ok(META, "su - postgres -c '/usr/lib/postgresql/15/bin/pg_ctl -D /var/tmp/bbdata -m fast stop'; rm -rf /var/tmp/bbdata /var/tmp/bb /var/tmp/bb.log");
    assert!(count.trim().parse::<u32>().unwrap_or(0) >= 3, "{count}");
}

pub fn cron_entries_fire() {
    let run = pgplay(&[
        "node",
        "-l",
        TEST3,
        "-t",
        "node_crontab",
        "--output",
        "json",
        "-e",
        r#"{"node_crontab": ["* * * * * root touch /root/cron-fired", "00 01 * * * postgres /pg/bin/pg-backup full"]}"#,
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let pg = pgplay(&[
        "pgsql",
        "-l",
        TEST3,
        "-t",
        "pg_crontab",
        "--output",
        "json",
        "-e",
        r#"{"pg_crontab": ["00 01 * * * /pg/bin/pg-backup full"]}"#,
    ]);
    assert_eq!(pg.code, 0, "{}", pg.all());
    assert!(ok(TEST3, "crontab -u postgres -l").contains("00 01 * * * /pg/bin/pg-backup full"));
    ok(TEST3, "rm -f /root/cron-fired");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(75);
    loop {
        let (code, _, _) = ssh(TEST3, "test -e /root/cron-fired");
        if code == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cron entry did not fire within 75 s"
        );
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    let restore = pgplay(&[
        "node",
        "-l",
        TEST3,
        "-t",
        "node_crontab",
        "--output",
        "json",
    ]);
    assert_eq!(restore.code, 0, "{}", restore.all());
}

pub fn pgsql_rm_pg_backup() {
    let before = backups(META, "pg-meta").len();
    assert!(before > 0, "pg-meta has no backup to protect");
    // Every guard refuses before a host is contacted, and removes nothing.
    for (args, code, needles) in [
        // no -l: never every cluster at once (this once deleted pg-meta's and pg-test's)
        (
            &["pgsql-rm", "-t", "pg_backup", "--yes"][..],
            5,
            &["never runs on every host", "-l"][..],
        ),
        // not a terminal and no --yes
        (
            &["pgsql-rm", "-l", "pg-meta", "-t", "pg_backup"][..],
            5,
            &["delete stanza pg-meta", "--yes"][..],
        ),
        // Pigsty's pg_safeguard
        (
            &[
                "pgsql-rm",
                "-l",
                "pg-meta",
                "-t",
                "pg_backup",
                "--yes",
                "-e",
                "pg_safeguard=true",
            ][..],
            4,
            &[
                "pg_safeguard is true for 127.0.10.10 (pg-meta)",
                "-e pg_safeguard=false",
            ][..],
        ),
    ] {
        let r = pgplay(&[args, &["--output", "text"][..]].concat());
        assert_eq!(r.code, code, "{args:?}: {}", r.all());
        for n in needles {
            assert!(r.stderr.contains(n), "{args:?}: wanted {n:?}: {}", r.all());
        }
        assert!(
            !r.stdout.contains("TASK ["),
            "{args:?} ran tasks: {}",
            r.all()
        );
        assert_eq!(
            backups(META, "pg-meta").len(),
            before,
            "{args:?} removed backups"
        );
    }
    // --check shows what would go and removes nothing (it once failed on an undefined
    // registered variable).
    let check = pgplay(&[
        "pgsql-rm",
        "-l",
        "pg-meta",
        "-t",
        "pg_backup",
        "--check",
        "--output",
        "text",
    ]);
    assert_eq!(check.code, 0, "{}", check.all());
    assert!(
        check.stdout.contains("stanza pg-meta  status: ok") && check.stdout.contains("full"),
        "the listing of what would be removed: {}",
        check.all()
    );
    assert_eq!(
        backups(META, "pg-meta").len(),
        before,
        "--check removed backups"
    );

    let keep = pgplay(&[
        "pgsql-rm",
        "-l",
        "pg-meta",
        "-t",
        "pg_backup",
        "-e",
        "pg_rm_backup=false",
        "--output",
        "text",
    ]);
    assert_eq!(keep.code, 0, "{}", keep.all());
    assert!(
        keep.stdout.contains("backups of pg-meta are kept"),
        "{}",
        keep.all()
    );
    assert_eq!(
        backups(META, "pg-meta").len(),
        before,
        "pg_rm_backup=false removed backups"
    );
    let rm = pgplay(&[
        "pgsql-rm",
        "-l",
        "pg-meta",
        "-t",
        "pg_backup",
        "--yes",
        "--output",
        "text",
    ]);
    assert_eq!(rm.code, 0, "{}", rm.all());
    assert!(rm.stderr.contains("delete stanza pg-meta"), "{}", rm.all());
    let (code, out, err) = ssh(
        META,
        "su - postgres -c 'pgbackrest --stanza=pg-meta --output=json info'",
    );
    assert!(
        code != 0 || out.contains("\"code\":1") || out.contains("missing stanza"),
        "stanza still there: {out}{err}"
    );
    // Nothing else was removed: the config and PostgreSQL are still there.
    ok(
        META,
        "test -f /etc/pgbackrest/pgbackrest.conf && su - postgres -c \"psql -AXtwqc 'select 1'\"",
    );
    // pg-test's backups are untouched.
    assert!(!backups(TEST1, "pg-test").is_empty());
    // Set pg-meta up again: the repository, not a marker left on the host, decides that the
    // first backup is due (a stale marker once left the cluster with no backup at all).
    let again = pgplay(&[
        "pgsql",
        "-l",
        "pg-meta",
        "-t",
        "pg_backup",
        "--output",
        "json",
    ]);
    assert_eq!(again.code, 0, "{}", again.all());
    let sets = backups(META, "pg-meta");
    assert_eq!(
        sets.len(),
        1,
        "no initial backup after the stanza was recreated: {sets:?}"
    );
    assert_eq!(sets[0].1, "full");
}
