//! Blocks with `rescue:` and `always:` on real hosts (issue 11, item 4): what runs where
//! after a failure, what the rescue sees (`ansible_failed_task`, `ansible_failed_result`),
//! how the recap counts it (Ansible's `rescued`) and the exit code.

use std::path::Path;

use serde_json::Value;

use crate::support::{tempdir, write, Fleet, Run};
use crate::test::Test;

/// One host's recap counters from a JSON run.
fn recap(run: &Run, host: &str) -> Value {
    run.recap()
        .into_iter()
        .find(|(h, _)| h == host)
        .map(|(_, s)| s)
        .unwrap_or(Value::Null)
}

/// `(ok, changed, failed, rescued)` of a recap, for short assertions.
fn counts(stats: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| stats[k].as_i64().unwrap_or(-1);
    (n("ok"), n("changed"), n("failed"), n("rescued"))
}

/// Whether a file exists on host i.
fn exists(fleet: &Fleet, i: usize, path: &str) -> bool {
    fleet.ssh(i, &format!("test -e {path}")).0 == 0
}

/// Playbook `text`, written to `dir/pb`, run against `inv` with `--output OUTPUT`.
fn play(dir: &Path, pb: &str, text: &str, inv: &Path, output: &str) -> Test {
    let pb = write(dir, pb, text);
    Test::new().args([
        pb.to_str().unwrap_or(""),
        "-i",
        inv.to_str().unwrap_or(""),
        "--output",
        output,
    ])
}

const ONE_OF_THREE: &str = r#"- hosts: all
  tasks:
    - name: guarded
      block:
        - name: may fail
          shell: "echo oops >&2; exit {{ 3 if inventory_hostname == failing else 0 }}"
        - name: rest of the body
          shell: touch /root/blk-body-rest
      rescue:
        - name: report the failure
          shell: >-
            echo "{{ ansible_failed_task.name }}|{{ ansible_failed_task.action }}|{{
            ansible_failed_result.rc }}|{{ ansible_failed_result.stderr }}|{{
            ansible_failed_result.failed }}" > /root/blk-rescue
      always:
        - name: clean up
          shell: touch /root/blk-always
    - name: after the block
      shell: touch /root/blk-after
"#;

/// A block fails on one host of three: the rest of its body is passed over there, its
/// rescue runs there (and only there) with the failed task and result, always runs on all
/// three, the play goes on everywhere, and the run succeeds with `rescued=1 failed=0`.
pub fn rescue_on_one_host_of_three(fleet: &Fleet) {
    let hosts = [41, 42, 43];
    let failing = fleet.addr(42);
    for i in hosts {
        fleet.ssh(i, "rm -f /root/blk-*");
    }
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &hosts, &format!("    failing: {failing}\n"));
    let run = play(dir.path(), "rescue.yml", ONE_OF_THREE, &inv, "json")
        .code(0)
        .run();
    // The failed task is still reported as failed, as Ansible prints it.
    assert!(
        run.results()
            .contains(&("may fail".into(), failing.clone(), "failed".into())),
        "{}",
        run.all()
    );
    assert_eq!(
        fleet.read(42, "/root/blk-rescue").trim(),
        "may fail|shell|3|oops|True"
    );
    for i in hosts {
        let here = i == 42;
        assert_eq!(exists(fleet, i, "/root/blk-rescue"), here, "rescue on {i}");
        assert_eq!(
            exists(fleet, i, "/root/blk-body-rest"),
            !here,
            "body on {i}"
        );
        assert!(exists(fleet, i, "/root/blk-always"), "always on {i}");
        assert!(exists(fleet, i, "/root/blk-after"), "after on {i}");
        let stats = recap(&run, &fleet.addr(i));
        // ok: the rescued host's failed task counts in neither ok nor failed (Ansible).
        let want = if here { (3, 3, 0, 1) } else { (4, 4, 0, 0) };
        assert_eq!(counts(&stats), want, "recap of {i}: {stats}");
    }
}

const FAILING_RESCUE: &str = r#"- hosts: all
  tasks:
    - name: guarded
      block:
        - name: fails
          command: /bin/false
      rescue:
        - name: the rescue fails too
          shell: touch /root/blk2-rescue; exit 5
        - name: rest of the rescue
          shell: touch /root/blk2-rescue-rest
      always:
        - name: clean up
          shell: touch /root/blk2-always
    - name: after the block
      shell: touch /root/blk2-after
"#;

/// A rescue that fails leaves the host failed (exit 2): the rest of the rescue is passed
/// over, always still runs, nothing after the block runs. Ansible counts both: the body's
/// failure as rescued, the rescue's as failed.
pub fn failing_rescue_fails_the_host(fleet: &Fleet) {
    fleet.ssh(44, "rm -f /root/blk2-*");
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[44], "");
    let run = play(dir.path(), "rescue.yml", FAILING_RESCUE, &inv, "json")
        .code(2)
        .run();
    assert!(exists(fleet, 44, "/root/blk2-rescue"));
    assert!(!exists(fleet, 44, "/root/blk2-rescue-rest"));
    assert!(exists(fleet, 44, "/root/blk2-always"), "{}", run.all());
    assert!(!exists(fleet, 44, "/root/blk2-after"), "{}", run.all());
    let stats = recap(&run, &fleet.addr(44));
    assert_eq!(counts(&stats), (1, 1, 1, 1), "{stats}");
}

const ALWAYS_ONLY: &str = r#"- hosts: all
  tasks:
    - name: guarded
      block:
        - name: fails
          fail: { msg: boom }
      always:
        - name: clean up
          shell: "echo {{ ansible_failed_task is defined }} > /root/blk3-always"
    - name: after the block
      shell: touch /root/blk3-after
"#;

/// Without a rescue, always runs and the host stays failed (exit 2). As in Ansible,
/// `ansible_failed_task` is given only to a rescue.
pub fn always_without_rescue_keeps_the_failure(fleet: &Fleet) {
    fleet.ssh(45, "rm -f /root/blk3-*");
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[45], "");
    let run = play(dir.path(), "always.yml", ALWAYS_ONLY, &inv, "json")
        .code(2)
        .run();
    assert_eq!(fleet.read(45, "/root/blk3-always").trim(), "False");
    assert!(!exists(fleet, 45, "/root/blk3-after"), "{}", run.all());
    let stats = recap(&run, &fleet.addr(45));
    assert_eq!(counts(&stats), (1, 1, 1, 0), "{stats}");
}

const NESTED: &str = r#"- hosts: all
  tasks:
    - name: outer
      block:
        - name: inner
          block:
            - name: inner fails
              command: /bin/false
            - name: inner rest
              shell: touch /root/nest-inner-rest
          rescue:
            - name: inner rescue
              shell: echo "{{ ansible_failed_task.name }}" > /root/nest-inner-rescue
          always:
            - name: inner always
              shell: touch /root/nest-inner-always
        - name: the outer body goes on
          shell: touch /root/nest-outer-on
        - name: second inner
          block:
            - name: deep fails
              fail: { msg: deep trouble }
          always:
            - name: second inner always
              shell: touch /root/nest-second-always
        - name: outer rest
          shell: touch /root/nest-outer-rest
      rescue:
        - name: outer rescue
          shell: >-
            echo "{{ ansible_failed_task.name }}: {{ ansible_failed_result.msg }}"
            > /root/nest-outer-rescue
      always:
        - name: outer always
          shell: touch /root/nest-outer-always
    - name: after
      shell: touch /root/nest-after
"#;

/// Nested blocks: an inner rescue handles its failure and the outer body goes on; a deeper
/// failure without rescue runs its own always, then reaches the outer rescue. Text output:
/// the failed task's line is printed, the recap line says `rescued=2`.
pub fn nested_blocks(fleet: &Fleet) {
    fleet.ssh(46, "rm -f /root/nest-*");
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[46], "");
    let host = fleet.addr(46);
    let run = play(dir.path(), "nested.yml", NESTED, &inv, "text")
        .code(0)
        .stdout_has_all(&[
            "TASK [inner fails] ****",
            &format!("fatal: [{host}]: FAILED!"),
            "TASK [outer rescue] ****",
            "failed=0    skipped=0    rescued=2    ignored=0",
        ])
        .stdout_lacks("TASK [inner rest]")
        .stdout_lacks("TASK [outer rest]")
        .run();
    assert_eq!(
        fleet.read(46, "/root/nest-inner-rescue").trim(),
        "inner fails"
    );
    assert_eq!(
        fleet.read(46, "/root/nest-outer-rescue").trim(),
        "deep fails: deep trouble"
    );
    for (file, ran) in [
        ("inner-rest", false),
        ("inner-always", true),
        ("outer-on", true),
        ("second-always", true),
        ("outer-rest", false),
        ("outer-always", true),
        ("after", true),
    ] {
        assert_eq!(
            exists(fleet, 46, &format!("/root/nest-{file}")),
            ran,
            "{file}\n{}",
            run.all()
        );
    }
}

const CHECKED: &str = r#"- hosts: all
  tasks:
    - name: guarded
      block:
        - name: fails
          fail: { msg: boom }
      rescue:
        - name: would write
          copy: { content: "rescued\n", dest: /root/blk5-rescue }
"#;

const UNREACHABLE: &str = r#"- hosts: all
  tasks:
    - name: guarded
      block:
        - name: reach
          shell: "true"
      rescue:
        - name: rescue
          shell: touch /root/blk5-never
      always:
        - name: clean up
          shell: touch /root/blk5-always
"#;

/// --check: a failure in check mode is rescued like any other, and the rescue changes
/// nothing. An unreachable host is not rescued and runs no always step (as Ansible).
pub fn check_mode_and_unreachable(fleet: &Fleet) {
    fleet.ssh(47, "rm -f /root/blk5-*");
    let dir = tempdir();
    let host = fleet.addr(47);
    let inv = fleet.inventory(dir.path(), &[47], "");
    let run = play(dir.path(), "check.yml", CHECKED, &inv, "json")
        .arg("--check")
        .code(0)
        .run();
    assert!(
        run.results()
            .contains(&("would write".into(), host.clone(), "changed".into())),
        "{}",
        run.all()
    );
    assert!(!exists(fleet, 47, "/root/blk5-rescue"));
    assert_eq!(counts(&recap(&run, &host)).3, 1, "{}", run.all());

    // A second inventory host on the same address, where nothing listens.
    let text = format!(
        "all:\n  hosts:\n    {host}: {{}}\n    gone: {{ ansible_host: {host}, ansible_port: 1 }}\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n    pgplay_known_hosts: {}\n",
        fleet.key().display(),
        fleet.known_hosts().display()
    );
    let inv = write(dir.path(), "unreachable.yml", &text);
    let run = play(dir.path(), "reach.yml", UNREACHABLE, &inv, "json")
        .args(["-T", "3"])
        .code(4)
        .run();
    let gone: Vec<_> = run
        .results()
        .into_iter()
        .filter(|r| r.1 == "gone")
        .collect();
    assert_eq!(
        gone,
        [("reach".into(), "gone".into(), "unreachable".into())],
        "{}",
        run.all()
    );
    assert_eq!(recap(&run, "gone")["rescued"], 0, "{}", run.all());
    assert!(exists(fleet, 47, "/root/blk5-always"), "{}", run.all());
    assert!(!exists(fleet, 47, "/root/blk5-never"), "{}", run.all());
}
