//! `pgplay node -t node_crontab` against real sshd hosts: overwrite and append, idempotence,
//! check mode with diff, and reading every file back over OpenSSH.

use std::path::Path;

use crate::support::{tempdir, Fleet, Run};
use crate::test::Test;

const ENTRIES: &str = "    node_crontab:\n      - '00 01 * * * postgres /pg/bin/pg-backup full'\n      - '*/5 * * * * root /usr/bin/true # pgplay-test'\n";

/// `pgplay PLAYBOOK -i INV -t node_crontab` (PLAYBOOK: `node` or `node-rm`).
fn crontab(playbook: &str, inv: &Path) -> Test {
    let inv = inv.to_str().unwrap_or("");
    Test::new().args([playbook, "-i", inv, "-t", "node_crontab"])
}

/// [`crontab`] with JSON output, which must succeed; the run, for its recap.
fn applied(playbook: &str, inv: &Path) -> Run {
    crontab(playbook, inv)
        .args(["--output", "json"])
        .code(0)
        .run()
}

pub fn overwrite_on_five_hosts(fleet: &Fleet) {
    let hosts = [1, 2, 3, 4, 5];
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &hosts, ENTRIES);
    let run = applied("node", &inv);
    for i in hosts {
        let text = fleet.read(i, "/etc/crontab");
        assert!(
            text.contains("\n00 01 * * * postgres /pg/bin/pg-backup full\n"),
            "host {i}:\n{text}"
        );
        assert!(
            text.contains("\n*/5 * * * * root /usr/bin/true # pgplay-test\n"),
            "host {i}:\n{text}"
        );
        // The distribution's own jobs are kept at the head of the file.
        assert!(
            text.contains("run-parts --report /etc/cron.hourly"),
            "host {i}:\n{text}"
        );
        assert!(
            text.starts_with("# /etc/crontab: system-wide crontab"),
            "host {i}:\n{text}"
        );
        let (_, mode) = fleet.ssh(i, "stat -c '%a %U %G' /etc/crontab");
        assert_eq!(mode.trim(), "644 root root", "host {i}");
    }
    let recap = run.recap();
    assert_eq!(recap.len(), 5, "{}", run.all());
    for (host, stats) in &recap {
        assert_eq!(stats["changed"], 1, "{host}: {stats}");
        assert_eq!(stats["failed"], 0, "{host}: {stats}");
    }

    // A second run changes nothing anywhere.
    let again = applied("node", &inv);
    for (host, stats) in again.recap() {
        assert_eq!(
            stats["changed"],
            0,
            "second run changed {host}: {}",
            again.all()
        );
    }

    // --check with a different schedule changes nothing and shows the diff.
    let before = fleet.sums(&hosts, "/etc/crontab");
    crontab("node", &inv)
        .args(["--check", "--diff", "--output", "text", "-e"])
        .arg(r#"{"node_crontab": ["00 03 * * * postgres /pg/bin/pg-backup full"]}"#)
        .code(0)
        .stdout_has_all(&[
            "-00 01 * * * postgres /pg/bin/pg-backup full",
            "+00 03 * * * postgres /pg/bin/pg-backup full",
            &format!("changed: [{}]", fleet.addr(hosts[0])),
            "CHECK MODE",
        ])
        .run();
    assert_eq!(
        fleet.sums(&hosts, "/etc/crontab"),
        before,
        "--check changed a file"
    );
}

pub fn append_keeps_other_lines(fleet: &Fleet) {
    let hosts = [6, 7, 8, 9, 10];
    let dir = tempdir();
    for i in hosts {
        let (code, _) = fleet.ssh(
            i,
            "echo '30 2 * * * root /usr/local/bin/site-job' >> /etc/crontab",
        );
        assert_eq!(code, 0);
    }
    let vars = format!("{ENTRIES}    node_crontab_overwrite: false\n");
    let inv = fleet.inventory(dir.path(), &hosts, &vars);
    applied("node", &inv);
    for i in hosts {
        let text = fleet.read(i, "/etc/crontab");
        assert!(
            text.contains("30 2 * * * root /usr/local/bin/site-job\n"),
            "host {i} lost a line:\n{text}"
        );
        assert_eq!(
            text.matches("/pg/bin/pg-backup full").count(),
            1,
            "host {i}:\n{text}"
        );
        assert!(
            text.ends_with("*/5 * * * * root /usr/bin/true # pgplay-test\n"),
            "host {i}:\n{text}"
        );
    }
    let again = applied("node", &inv);
    for (host, stats) in again.recap() {
        assert_eq!(
            stats["changed"],
            0,
            "append re-run changed {host}: {}",
            again.all()
        );
    }
    for i in hosts {
        let text = fleet.read(i, "/etc/crontab");
        assert_eq!(
            text.matches("/pg/bin/pg-backup full").count(),
            1,
            "host {i}:\n{text}"
        );
    }

    // node-rm -t node_crontab removes exactly the appended lines.
    applied("node-rm", &inv);
    for i in hosts {
        let text = fleet.read(i, "/etc/crontab");
        assert!(!text.contains("pg-backup"), "host {i}:\n{text}");
        assert!(
            text.contains("30 2 * * * root /usr/local/bin/site-job\n"),
            "host {i}:\n{text}"
        );
    }
}

pub fn node_rm_restores_default(fleet: &Fleet) {
    let hosts = [11];
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &hosts, ENTRIES);
    applied("node", &inv);
    assert!(fleet.read(11, "/etc/crontab").contains("pg-backup"));
    applied("node-rm", &inv);
    let text = fleet.read(11, "/etc/crontab");
    assert!(!text.contains("pg-backup"), "{text}");
    assert!(
        text.contains("run-parts --report /etc/cron.daily"),
        "{text}"
    );
}
