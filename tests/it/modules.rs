//! Modules on a real host: each one's effect, its `changed` honesty on a second run, and
//! check mode changing nothing.

use std::path::Path;

use crate::support::{tempdir, write, Fleet};
use crate::test::Test;

const HOST: usize = 25;

const PLAYBOOK: &str = r#"- hosts: all
  tasks:
    - name: copy with attributes
      copy: { dest: /root/m/copied, content: "line one\n", owner: postgres, group: postgres, mode: '0640' }
    - name: template with a loop
      template: { src: list.j2, dest: /root/m/templated, mode: '0600' }
    - name: directory
      file: { path: /root/m/dir/sub, state: directory, mode: '0750' }
    - name: link
      file: { path: /root/m/link, state: link, src: /root/m/copied }
    - name: remove
      file: { path: /root/m/gone, state: absent }
    - name: line present
      lineinfile: { path: /root/m/conf, line: "port = 5432", regexp: '^port', create: true }
    - name: command with argv
      command:
        argv: [/bin/sh, -c, 'test "$1" = "a b"', sh, 'a b']
      changed_when: false
    - name: wait for the ssh port
      wait_for: { host: "{{ ansible_host }}", port: 22, timeout: 5 }
    - name: wait for a path with text
      wait_for: { path: /root/m/conf, search_regex: 'port = 5432', timeout: 5 }
"#;

const TEMPLATE: &str =
    "# {{ inventory_hostname }}\n{% for x in items %}\nitem {{ x }}\n{% endfor %}\n";

/// Playbook `pb` run against `inv` with `--output OUTPUT`.
fn play(pb: &Path, inv: &Path, output: &str) -> Test {
    let (pb, inv) = (pb.to_str().unwrap_or(""), inv.to_str().unwrap_or(""));
    Test::new().args([pb, "-i", inv, "--output", output])
}

fn state(fleet: &Fleet) -> String {
    let (_, out) = fleet.ssh(
        HOST,
        "cd /root/m && stat -c '%n %a %U %G %F' copied templated dir/sub conf && readlink link && cat copied templated conf && ls gone 2>&1 | head -c 0",
    );
    out
}

pub fn modules_change_once(fleet: &Fleet) {
    let dir = tempdir();
    let (code, _) = fleet.ssh(HOST, "rm -rf /root/m && mkdir -p /root/m && echo x > /root/m/gone && printf 'port = 1\\nother = 2\\n' > /root/m/conf");
    assert_eq!(code, 0);
    let inv = fleet.inventory(dir.path(), &[HOST], "    items: [1, 2]\n");
    let pb = write(dir.path(), "modules.yml", PLAYBOOK);
    std::fs::create_dir_all(dir.path().join("templates")).unwrap_or_default();
    write(&dir.path().join("templates"), "list.j2", TEMPLATE);

    // Check mode first: nothing changes on the host.
    let before = state(fleet);
    let check = play(&pb, &inv, "json").arg("--check").code(0).run();
    assert_eq!(state(fleet), before, "check mode changed the host");
    let would: Vec<_> = check
        .results()
        .into_iter()
        .filter(|r| r.2 == "changed")
        .map(|r| r.0)
        .collect();
    assert!(
        would.contains(&"copy with attributes".to_string()),
        "{would:?}"
    );

    let run = play(&pb, &inv, "json").code(0).run();
    let changed: Vec<_> = run
        .results()
        .into_iter()
        .filter(|r| r.2 == "changed")
        .map(|r| r.0)
        .collect();
    for t in [
        "copy with attributes",
        "template with a loop",
        "directory",
        "link",
        "remove",
        "line present",
    ] {
        assert!(
            changed.contains(&t.to_string()),
            "{t} did not report changed: {}",
            run.all()
        );
    }
    let after = state(fleet);
    let host = fleet.addr(HOST);
    for want in [
        "copied 640 postgres postgres regular file",
        "templated 600 root root regular file",
        "dir/sub 750 root root directory",
        "/root/m/copied\n",
        "line one\n",
        &format!("# {host}\nitem 1\nitem 2\n"),
        "port = 5432\nother = 2\n",
    ] {
        assert!(after.contains(want), "missing {want:?} in:\n{after}");
    }
    let (_, gone) = fleet.ssh(HOST, "ls /root/m/gone 2>/dev/null || echo gone");
    assert_eq!(gone.trim(), "gone");

    // Second run: nothing changes, and every module says so.
    let again = play(&pb, &inv, "json").code(0).run();
    let changed: Vec<_> = again
        .results()
        .into_iter()
        .filter(|r| r.2 == "changed")
        .collect();
    assert!(changed.is_empty(), "changed on the second run: {changed:?}");
    assert_eq!(state(fleet), after);
}

pub fn failing_modules_say_why(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[HOST], "");
    for (task, needle) in [
        (
            "service: { name: cron, state: started }",
            "systemd is not running on this host",
        ),
        (
            "wait_for: { path: /root/never, timeout: 1 }",
            "timeout after 1s waiting for path /root/never",
        ),
        (
            "copy: { dest: /nonexistent-dir/x, content: x }",
            "parent directory /nonexistent-dir does not exist",
        ),
        (
            "lineinfile: { path: /root/absent-file, line: x }",
            "does not exist (set create: true",
        ),
        ("command: /bin/false", "non-zero return code 1"),
        ("file: { path: /, state: absent }", "refusing to remove '/'"),
        // Ansible's `timeout:` task keyword (issue 9: long work is bounded).
        (
            "shell: echo $$ > /root/timeout.pid; sleep 30\n      timeout: 2",
            "took longer than its timeout of 2 s",
        ),
    ] {
        let pb = write(
            dir.path(),
            "fail.yml",
            &format!("- hosts: all\n  tasks:\n    - name: failing\n      {task}\n"),
        );
        play(&pb, &inv, "text")
            .code(2)
            .why(task)
            .stdout_has(needle)
            .stdout_has(&format!("fatal: [{}]", fleet.addr(HOST)))
            .run();
    }
    // The timed-out command was stopped on the host, not left running.
    let pid = fleet.read(HOST, "/root/timeout.pid");
    let probe = format!(
        "test -d /proc/{p} && ! grep -q '^State:.*Z' /proc/{p}/status",
        p = pid.trim()
    );
    let mut alive = true;
    for _ in 0..50 {
        alive = fleet.ssh(HOST, &probe).0 == 0;
        if !alive {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!alive, "the timed-out command (pid {pid}) still runs");
}

/// A long step says it is alive in text output (issue 9: a hung repository once printed
/// nothing for five minutes): a "still running" line with the host, the task and the time.
pub fn long_steps_say_they_are_alive(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[HOST], "");
    let pb = write(
        dir.path(),
        "long.yml",
        "- hosts: all\n  tasks:\n    - name: a long wait\n      shell: sleep 40\n",
    );
    play(&pb, &inv, "text")
        .code(0)
        .stdout_has(&format!(
            "... [{}] a long wait: still running (3",
            fleet.addr(HOST)
        ))
        .run();
}
