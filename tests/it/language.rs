//! The playbook language on real hosts: loop/register/when, until/retries, ignore_errors,
//! become_user, environment, blocks and imports, throttle and `after:` ordering, run_once,
//! delegate_to, secret masking and no_log, any_errors_fatal, and Ctrl-C.

use std::path::Path;

use crate::support::{repo, tempdir, write, Fleet};
use crate::test::Test;

const HOSTS: [usize; 3] = [21, 22, 23];

const PLAYBOOK: &str = r#"- name: language
  hosts: all
  vars:
    greeting: hello
  tasks:
    - name: loop and register
      shell: echo "{{ item }}-{{ inventory_hostname }}"
      loop: [a, b]
      register: looped
    - name: loop results are registered
      assert:
        that:
          - looped.results | length == 2
          - looped.results[0].stdout == 'a-' ~ inventory_hostname
    - name: set a fact
      set_fact: { counted: "{{ looped.results | length }}" }
    - name: false condition is skipped
      when: counted | int > 5
      fail: { msg: should not run }
    - name: retry until
      shell: echo x >> /root/attempts; wc -l < /root/attempts
      register: attempts
      until: attempts.stdout | int >= 3
      retries: 5
      delay: 0
    - name: a failure that is ignored
      command: /bin/false
      ignore_errors: true
      register: failing
    - name: become another user
      command: id -un
      become: true
      become_user: postgres
      register: who
    - name: environment
      shell: echo "$PGPLAY_GREETING"
      environment: { PGPLAY_GREETING: "{{ greeting }} world" }
      register: envout
    - name: a block
      tags: blocktag
      when: counted == 2
      block:
        - name: inside the block
          shell: echo block > /root/block
    - import_tasks: extra.yml
    - name: one host at a time
      throttle: 1
      shell: date +%s.%N > /root/t_start; sleep 0.3; date +%s.%N > /root/t_end
    - name: after every host
      after: one host at a time
      shell: date +%s.%N > /root/after
    - name: only once
      run_once: true
      shell: echo once > /root/once; echo once
      register: once
    - name: delegated to the first host
      delegate_to: "{{ ansible_play_hosts[0] }}"
      shell: echo "{{ inventory_hostname }}" >> /root/delegated
    - name: print a secret
      shell: echo "the password is {{ db_password }}"
    - name: hidden
      no_log: true
      shell: echo "{{ db_password }} {{ greeting }}"
    - name: everything held
      assert:
        that:
          - failing is failed
          - looped is changed
          - who.stdout == 'postgres'
          - envout.stdout == 'hello world'
          - attempts.stdout | int == 3
          - once.stdout == 'once'
"#;

const EXTRA: &str = "- name: imported task\n  shell: echo imported > /root/imported\n";

/// Playbook `pb` run against `inv`.
fn play(pb: &Path, inv: &Path) -> Test {
    Test::new().args([pb.to_str().unwrap_or(""), "-i", inv.to_str().unwrap_or("")])
}

fn floats(fleet: &Fleet, i: usize, path: &str) -> f64 {
    fleet.read(i, path).trim().parse().unwrap_or(f64::NAN)
}

pub fn features(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &HOSTS, "    db_password: Sup3r.Secret-pw\n");
    let pb = write(dir.path(), "language.yml", PLAYBOOK);
    write(dir.path(), "extra.yml", EXTRA);
    let run = play(&pb, &inv)
        .args(["--output", "json", "-v"])
        .code(0)
        .output_lacks("Sup3r.Secret-pw")
        .stdout_has("the password is ********")
        .stdout_has("censored")
        .run();
    let results = run.results();
    let count = |task: &str| results.iter().filter(|r| r.0 == task).count();
    assert_eq!(count("only once"), 1, "{}", run.all());
    assert_eq!(count("imported task"), 3);
    assert!(results
        .iter()
        .filter(|r| r.0 == "false condition is skipped")
        .all(|r| r.2 == "skipped"));
    assert!(results
        .iter()
        .filter(|r| r.0 == "a failure that is ignored")
        .all(|r| r.2 == "ignored"));

    let first = HOSTS[0];
    let mut spans = Vec::new();
    for i in HOSTS {
        assert_eq!(fleet.read(i, "/root/block").trim(), "block");
        assert_eq!(fleet.read(i, "/root/imported").trim(), "imported");
        spans.push((
            floats(fleet, i, "/root/t_start"),
            floats(fleet, i, "/root/t_end"),
        ));
        let (_, once) = fleet.ssh(i, "cat /root/once 2>/dev/null || echo none");
        assert_eq!(
            once.trim(),
            if i == first { "once" } else { "none" },
            "host {i}"
        );
        let (_, delegated) = fleet.ssh(i, "sort /root/delegated 2>/dev/null || echo none");
        if i == first {
            let want: Vec<String> = HOSTS.iter().map(|h| fleet.addr(*h)).collect();
            assert_eq!(
                delegated.lines().collect::<Vec<_>>(),
                want,
                "delegated lines"
            );
        } else {
            assert_eq!(delegated.trim(), "none", "host {i}");
        }
    }
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in spans.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "throttle 1 let two hosts overlap: {spans:?}"
        );
    }
    let last_end = spans.iter().map(|s| s.1).fold(f64::MIN, f64::max);
    for i in HOSTS {
        assert!(
            floats(fleet, i, "/root/after") >= last_end,
            "'after' ran before every host finished"
        );
    }
}

pub fn any_errors_fatal_stops_everyone(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &HOSTS, "");
    let pb = write(
        dir.path(),
        "fatal.yml",
        &format!(
            "- hosts: all\n  any_errors_fatal: true\n  tasks:\n    - name: slow on others\n      shell: sleep 0.5\n      when: inventory_hostname != '{0}'\n    - name: fail on one\n      fail: {{ msg: boom }}\n      when: inventory_hostname == '{0}'\n    - name: never reached\n      shell: touch /root/fatal-after\n",
            fleet.addr(HOSTS[1])
        ),
    );
    play(&pb, &inv).args(["--output", "json"]).code(2).run();
    for i in HOSTS {
        let (_, out) = fleet.ssh(i, "ls /root/fatal-after 2>/dev/null || echo none");
        assert_eq!(out.trim(), "none", "host {i} went on after a fatal error");
    }
}

pub fn graph_and_cycles(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &HOSTS, "");
    let pb = write(dir.path(), "language.yml", PLAYBOOK);
    write(dir.path(), "extra.yml", EXTRA);
    play(&pb, &inv)
        .arg("--graph")
        .code(0)
        .stdout_starts_with("digraph pgplay {")
        .stdout_has(&format!(
            "label=\"after every host\\n{}\"",
            fleet.addr(HOSTS[0])
        ))
        // the after: barrier
        .stdout_has("label=\"all hosts\"")
        .run();
    let cyc = write(
        dir.path(),
        "cycle.yml",
        "- hosts: all\n  tasks:\n    - name: a\n      after: b\n      debug: {}\n    - name: b\n      debug: {}\n",
    );
    play(&cyc, &inv)
        .arg("--graph")
        .code(4)
        .stderr_has_all(&["cycle.yml:4:7", "a cycle"])
        .run();
}

pub fn ctrl_c_stops_new_work(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[24], "");
    let pb = write(
        dir.path(),
        "slow.yml",
        "- hosts: all\n  tasks:\n    - name: slow\n      shell: touch /root/slow-started; sleep 2; touch /root/slow-done\n    - name: next\n      shell: touch /root/next-done\n",
    );
    let child = std::process::Command::new(crate::support::bin())
        .args([
            pb.to_str().unwrap_or(""),
            "-i",
            inv.to_str().unwrap_or(""),
            "--output",
            "text",
        ])
        .current_dir(repo())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => panic!("cannot start pgplay: {e}"),
    };
    // Interrupt once the first task is running on the host (not after a fixed delay).
    let mut waited = 0;
    while fleet.ssh(24, "test -e /root/slow-started").0 != 0 {
        waited += 1;
        assert!(waited < 200, "the first task never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(
        killed.map(|s| s.success()).unwrap_or(false),
        "could not send SIGINT"
    );
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => panic!("{e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(99),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
    assert!(stdout.contains("interrupted"), "{stdout}");
    assert_eq!(
        fleet.read(24, "/root/slow-done"),
        "",
        "the running task should finish"
    );
    let (_, next) = fleet.ssh(24, "ls /root/next-done 2>/dev/null || echo none");
    assert_eq!(next.trim(), "none", "a new task started after Ctrl-C");
}

/// Issue 9, item 10: SIGTERM is Ctrl-C (the first says which tasks it waits for); a second
/// interrupt stops the remote work — its whole process group, through sudo — and the recap
/// still comes, naming the host whose work was cut.
pub fn second_interrupt_stops_remote_work(fleet: &Fleet) {
    const HOST: usize = 28;
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[HOST], "");
    fleet.ssh(HOST, "rm -f /tmp/long.pid /tmp/sleep.pid /tmp/long-done");
    let pb = write(
        dir.path(),
        "long.yml",
        "- hosts: all\n  tasks:\n    - name: a long job as postgres\n      become: true\n      become_user: postgres\n      shell: echo $$ > /tmp/long.pid; sleep 60 & echo $! > /tmp/sleep.pid; wait $!; touch /tmp/long-done\n    - name: next\n      shell: touch /tmp/next-done\n",
    );
    let mut cmd = std::process::Command::new(crate::support::bin());
    cmd.args([
        pb.to_str().unwrap_or(""),
        "-i",
        inv.to_str().unwrap_or(""),
        "--output",
        "text",
    ]);
    if let Some(c) = crate::support::connection() {
        cmd.args(["-c", &c]);
    }
    let mut child = match cmd
        .current_dir(repo())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot start pgplay: {e}"),
    };
    let stderr = child.stderr.take();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        if let Some(err) = stderr {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        }
    });
    let mut waited = 0;
    while fleet.ssh(HOST, "test -s /tmp/sleep.pid").0 != 0 {
        waited += 1;
        assert!(waited < 200, "the long task never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pids = fleet.ssh(HOST, "cat /tmp/long.pid /tmp/sleep.pid").1;
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    let signal = |sig: &str| {
        let sent = std::process::Command::new("kill")
            .args(["-s", sig, &child.id().to_string()])
            .status();
        assert!(
            sent.map(|s| s.success()).unwrap_or(false),
            "could not send {sig}"
        );
    };
    signal("TERM");
    let mut said = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !said
        .iter()
        .any(|l: &String| l.contains("a long job as postgres"))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => said.push(line),
            Err(_) => panic!("the first interrupt did not say what it waits for: {said:?}"),
        }
    }
    assert!(
        said.iter()
            .any(|l| l.contains("SIGTERM: starting no new task; waiting for 1 running task")),
        "{said:?}"
    );
    // The work goes on after the first interrupt.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        fleet.ssh(HOST, &format!("kill -0 {}", pids[1])).0,
        0,
        "stopped too early"
    );
    signal("INT");
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => panic!("{e}"),
    };
    let _ = reader.join();
    let said: Vec<String> = said.into_iter().chain(rx.try_iter()).collect();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}\n{said:?}");
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
    assert!(
        stdout.contains(&format!("work was stopped midway on: {}", fleet.addr(HOST))),
        "{stdout}"
    );
    // Issue 12: the task and where it is written are said once, around the cause.
    assert!(
        stdout.contains(&format!(
            "task 'a long job as postgres' ({}:3): interrupted: pgplay stopped it",
            pb.display()
        )),
        "{stdout}"
    );
    assert!(
        said.iter()
            .any(|l| l.contains("Ctrl-C again: stopping 1 running task")),
        "{said:?}"
    );
    // Nothing runs on: the shell (as postgres, under sudo) and its child are gone.
    let mut gone = false;
    for _ in 0..50 {
        // A zombie (killed, not reaped yet) does not count as running.
        let alive = pids.iter().any(|p| {
            let probe = format!("test -d /proc/{p} && ! grep -q '^State:.*Z' /proc/{p}/status");
            fleet.ssh(HOST, &probe).0 == 0
        });
        if !alive {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        gone,
        "the remote job runs on after pgplay stopped: {pids:?}"
    );
    let (_, left) = fleet.ssh(
        HOST,
        "ls /tmp/long-done /tmp/next-done 2>/dev/null || echo none",
    );
    assert_eq!(left.trim(), "none");
}
