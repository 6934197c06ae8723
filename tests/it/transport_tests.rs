//! Unreachable hosts and host-key checking, against real sshd hosts.

use std::path::Path;

use crate::support::{pgplay, tempdir, write, Fleet};
use crate::test::Test;

const PLAYBOOK: &str = "- name: ping
  hosts: all
  tasks:
    - name: touch a marker
      shell: echo ok > /root/pgplay-reached
";

/// ping.yml against `inv`, with text output.
fn ping(pb: &Path, inv: &Path) -> Test {
    let (pb, inv) = (pb.to_str().unwrap_or(""), inv.to_str().unwrap_or(""));
    Test::new().args([pb, "-i", inv, "--output", "text"])
}

pub fn unreachable_host_is_reported(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[15, 16], "");
    let pb = write(dir.path(), "ping.yml", PLAYBOOK);
    if let Err(e) = fleet.stop_host(16) {
        panic!("{e}");
    }
    // Checked only once host 16 is started again, whatever the run showed.
    let run = pgplay(&[
        pb.to_str().unwrap_or(""),
        "-i",
        inv.to_str().unwrap_or(""),
        "--output",
        "json",
        "-T",
        "3",
    ]);
    let restarted = fleet.start_host(16);
    assert_eq!(run.code, 4, "{}", run.all());
    let results = run.results();
    assert!(
        results.contains(&("touch a marker".into(), fleet.addr(15), "changed".into())),
        "{}",
        run.all()
    );
    assert!(
        results.contains(&(
            "touch a marker".into(),
            fleet.addr(16),
            "unreachable".into()
        )),
        "{}",
        run.all()
    );
    // Issue 9: the connection error is said once ("cannot connect to h port 22: why"), not
    // wrapped in itself. Issue 12: with the task and where it is written; the host is the
    // event's own (the result line), so the message names only the address.
    let msg = run
        .events()
        .into_iter()
        .find(|e| e["event"] == "result" && e["host"] == fleet.addr(16).as_str())
        .and_then(|e| e["msg"].as_str().map(str::to_string))
        .unwrap_or_default();
    assert_eq!(msg.matches("cannot connect").count(), 1, "{msg}");
    assert_eq!(msg.matches(&fleet.addr(16)).count(), 1, "{msg}");
    assert!(
        msg.starts_with(&format!(
            "task 'touch a marker' ({}:4): cannot connect to {} port ",
            pb.display(),
            fleet.addr(16)
        )),
        "{msg}"
    );
    assert!(msg.contains("Connection refused"), "{msg}");
    let recap = run.recap();
    let r16 = recap
        .iter()
        .find(|(h, _)| *h == fleet.addr(16))
        .map(|(_, s)| s.clone());
    assert_eq!(
        r16.map(|s| s["unreachable"].clone()),
        Some(serde_json::json!(1)),
        "{}",
        run.all()
    );
    assert_eq!(fleet.read(15, "/root/pgplay-reached").trim(), "ok");
    if let Err(e) = restarted {
        panic!("{e}");
    }
}

pub fn host_keys_are_checked(fleet: &Fleet) {
    let dir = tempdir();
    let pb = write(dir.path(), "ping.yml", PLAYBOOK);
    let addr = fleet.addr(17);
    let inv_text = |kh: &std::path::Path| {
        format!(
            "all:\n  hosts:\n    {addr}:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n    pgplay_known_hosts: {}\n",
            fleet.key().display(),
            kh.display()
        )
    };
    let real = std::fs::read_to_string(fleet.known_hosts()).unwrap_or_default();
    let real_line = real
        .lines()
        .find(|l| l.starts_with(&format!("{addr} ")))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(!real_line.is_empty(), "no known_hosts line for {addr}");

    // A changed key (another host's key under this address) is refused, even with accept-new.
    let other = real
        .lines()
        .find(|l| l.starts_with(&format!("{} ", fleet.addr(18))))
        .map(|l| l.replacen(&fleet.addr(18), &addr, 1))
        .unwrap_or_default();
    let kh_bad = write(dir.path(), "known_hosts_bad", &format!("{other}\n"));
    let inv = write(dir.path(), "inv_bad.yml", &inv_text(&kh_bad));
    for extra in [None, Some("--accept-new-host-keys")] {
        let run = ping(&pb, &inv)
            .args(extra)
            .code(4)
            .stdout_has("UNREACHABLE")
            .run();
        // the key is said to have changed, in whatever case
        assert!(
            run.stdout.to_lowercase().contains("changed"),
            "{}",
            run.all()
        );
    }
    assert_eq!(
        std::fs::read_to_string(&kh_bad).unwrap_or_default(),
        format!("{other}\n"),
        "a changed key was recorded"
    );
    let (_, marker) = fleet.ssh(17, "cat /root/pgplay-reached 2>/dev/null || echo none");
    assert_eq!(
        marker.trim(),
        "none",
        "the task ran despite a changed host key"
    );

    // A revoked key is said to be revoked (not "changed"), and refused.
    let key_part = real_line
        .split_once(' ')
        .map(|(_, k)| k)
        .unwrap_or_default();
    let kh_revoked = write(
        dir.path(),
        "known_hosts_revoked",
        &format!("{real_line}\n@revoked * {key_part}\n"),
    );
    let inv = write(dir.path(), "inv_revoked.yml", &inv_text(&kh_revoked));
    ping(&pb, &inv)
        .code(4)
        .stdout_has("REVOKED")
        .stdout_lacks("CHANGED")
        .run();
    let (_, marker) = fleet.ssh(17, "cat /root/pgplay-reached 2>/dev/null || echo none");
    assert_eq!(
        marker.trim(),
        "none",
        "the task ran despite a revoked host key"
    );

    // An unknown host is refused...
    let kh_new = dir.path().join("known_hosts_new");
    let inv = write(dir.path(), "inv_new.yml", &inv_text(&kh_new));
    ping(&pb, &inv)
        .code(4)
        .why("the error should say how to opt in")
        .stdout_has("accept-new-host-keys")
        .run();
    // ... unless the user opts in, which records the key; then strict checking passes.
    ping(&pb, &inv).arg("--accept-new-host-keys").code(0).run();
    let recorded = std::fs::read_to_string(&kh_new).unwrap_or_default();
    let key_part = real_line.split_whitespace().nth(2).unwrap_or("?");
    assert!(recorded.contains(key_part), "key not recorded: {recorded}");
    ping(&pb, &inv).code(0).run();
}
