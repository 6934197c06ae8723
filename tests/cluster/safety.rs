//! Safe by default, on the sandbox (issue 9): wrong repository settings never replace a
//! working configuration; a repository that is down or hangs is said in seconds with its
//! cause, before stanza-create or a backup waits on it; a limit without the cluster's primary
//! backs nothing up and says so.

use crate::support::{backups, ok, pgplay, ssh, META, TEST1, TEST2, TEST3};

const CONF: &str = "/etc/pgbackrest/pgbackrest.conf";

fn conf_sums() -> Vec<String> {
    [TEST1, TEST2, TEST3]
        .iter()
        .map(|h| ok(h, &format!("sha256sum {CONF}")))
        .collect()
}

/// pg-test's repositories as the sandbox inventory has them, with another cipher_pass.
fn wrong_cipher_pass() -> String {
    serde_json::json!({"pgbackrest_repo": {
        "local": {"path": "/pg/backup", "retention_full_type": "count", "retention_full": 2},
        "minio": {
            "type": "s3", "s3_endpoint": "sss.pigsty", "s3_region": "us-east-1",
            "s3_bucket": "pgsql", "s3_key": "pgbackrest", "s3_key_secret": "S3User.Backup",
            "s3_uri_style": "path", "path": "/pgbackrest", "storage_port": 9000,
            "storage_ca_file": "/etc/pki/ca.crt", "bundle": "y", "bundle_limit": "20MiB",
            "bundle_size": "128MiB", "cipher_type": "aes-256-cbc",
            "cipher_pass": "Not.The.Pass", "retention_full_type": "time", "retention_full": 14
        }
    }})
    .to_string()
}

pub fn wrong_cipher_pass_never_replaces_a_working_config() {
    let before = conf_sums();
    let failed_before = ok(
        TEST1,
        "su - postgres -c \"psql -AXtwqc 'SELECT failed_count FROM pg_stat_archiver'\"",
    );
    let run = pgplay(&[
        "pgsql",
        "-l",
        "pg-test",
        "-t",
        "pgbackrest_config",
        "-e",
        &wrong_cipher_pass(),
        "--output",
        "text",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stdout
            .contains("cannot be decrypted with this cipher_pass"),
        "the reason in a DBA's words: {}",
        run.all()
    );
    assert!(
        !run.stdout.contains("key/value found outside of section"),
        "pgBackRest's garbage is not the message: {}",
        run.all()
    );
    assert!(
        !run.all().contains("Not.The.Pass"),
        "secret shown: {}",
        run.all()
    );
    assert_eq!(
        conf_sums(),
        before,
        "a member's working config was replaced"
    );
    // Archiving and the repository still work with the kept configuration.
    ok(
        TEST1,
        "su - postgres -c 'pgbackrest --stanza=pg-test check'",
    );
    let failed_after = ok(
        TEST1,
        "su - postgres -c \"psql -AXtwqc 'SELECT failed_count FROM pg_stat_archiver'\"",
    );
    assert_eq!(failed_before, failed_after, "WAL archiving broke");
}

/// Run `f` with meta's S3 service in a given state, then bring it back and wait until the
/// repository answers again.
fn with_s3(stop: &str, start: &str, f: impl FnOnce()) {
    ok(META, stop);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    ok(META, start);
    let mut back = false;
    for _ in 0..60 {
        let (code, out, _) = ssh(
            TEST1,
            "su - postgres -c 'pgbackrest --stanza=pg-test --io-timeout=5 --output=json info'",
        );
        if code == 0 && out.contains("\"status\":{\"code\":0") {
            back = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    assert!(back, "the S3 repository did not come back");
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// The text output's lines for one task (from its header to the next blank line).
fn section(stdout: &str, task: &str) -> String {
    let header = format!("TASK [{task}]");
    stdout
        .split("\n\n")
        .filter(|block| block.starts_with(&header))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn repository_down_or_hung_is_said_in_seconds() {
    let sets = backups(TEST1, "pg-test").len();
    // Down: the endpoint refuses connections.
    with_s3("systemctl stop sss-s3", "systemctl start sss-s3", || {
        let run = pgplay(&["pgsql-backup", "-l", "pg-test", "--output", "text"]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            run.stdout
                .contains("cannot reach sss.pigsty:9000: connection refused"),
            "{}",
            run.all()
        );
        assert!(
            !section(&run.stdout, "make a backup").contains(TEST1),
            "a backup was attempted on a repository known to be down: {}",
            run.all()
        );
        // pg_backup stops at the repository read: no stanza-create waits on it.
        let setup = pgplay(&[
            "pgsql",
            "-l",
            "pg-test",
            "-t",
            "pgbackrest_init",
            "--output",
            "text",
        ]);
        assert_eq!(setup.code, 2, "{}", setup.all());
        assert!(
            setup.stdout.contains("cannot reach sss.pigsty:9000"),
            "{}",
            setup.all()
        );
        assert!(
            !section(&setup.stdout, "create the stanza").contains(TEST1),
            "stanza-create ran after the repository read failed: {}",
            setup.all()
        );
    });
    // Hung: the endpoint accepts connections and never answers.
    with_s3(
        "systemctl kill -s SIGSTOP sss-s3",
        "systemctl kill -s SIGCONT sss-s3",
        || {
            let run = pgplay(&[
                "pgsql-backup",
                "-l",
                "pg-test",
                "-t",
                "info",
                "--output",
                "text",
            ]);
            assert_eq!(run.code, 2, "{}", run.all());
            assert!(
                run.stdout
                    .contains("sss.pigsty:9000 accepts connections but does not answer"),
                "{}",
                run.all()
            );
        },
    );
    assert_eq!(backups(TEST1, "pg-test").len(), sets, "a backup was made");
}

pub fn a_limit_without_the_primary_backs_up_nothing() {
    let sets = backups(TEST1, "pg-test").len();
    for limit in [TEST2, "127.0.10.12,127.0.10.13"] {
        let run = pgplay(&["pgsql-backup", "-l", limit, "--output", "text"]);
        assert_eq!(run.code, 5, "{limit}: {}", run.all());
        for n in [
            "not its primary 127.0.10.11",
            "nothing would be done",
            "-l pg-test",
        ] {
            assert!(
                run.stderr.contains(n),
                "{limit}: wanted {n:?}: {}",
                run.all()
            );
        }
        assert!(!run.stdout.contains("TASK ["), "{limit}: {}", run.all());
    }
    assert_eq!(backups(TEST1, "pg-test").len(), sets);
}
