//! Connection variables end to end (issue 11): passwords, become passwords, jump hosts, ssh
//! options a transport cannot honour, -k / -K — against real fleet hosts, on the transport the
//! suite runs with (`PGPLAY_IT_CONNECTION`).
//!
//! A user `alice` with a password and a sudoers rule that asks for it is made inside a fleet
//! host's private `/etc`. The password must never show: not in the output (text with -vvv,
//! JSON), not in the `--log` file, and not in any process's argv while the run goes on —
//! fleet hosts share this machine's process table, so that covers the remote sudo and shells
//! too.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{connection, tempdir, write, Fleet, Run};
use crate::test::Test;

const PASSWORDS: usize = 29;
const JUMP: usize = 30;
const BEHIND: usize = 31;
const REFUSED: usize = 32;
const PROMPTED: usize = 26;

const PASSWORD: &str = "Alice.Login-pw7";
const WRONG: &str = "Not.Alices-pw3";
/// Resolvable on the jump host only (its private /etc/hosts).
const BEHIND_NAME: &str = "pgplay-behind-jump";

const PLAYBOOK: &str = "- name: passwords
  hosts: all
  tasks:
    - name: as the login user
      shell: id -un > /tmp/pgplay-login-user
    - name: as root through sudo with a password
      become: true
      shell: id -un > /tmp/pgplay-become-user; sleep 1
";

/// `alice` with `PASSWORD`, whose sudo asks for it every time.
fn password_user(fleet: &Fleet, i: usize) {
    // The password goes on stdin: a test watching argv must not see it here either.
    let (code, out) = fleet.ssh_input(
        i,
        "set -e; id alice >/dev/null 2>&1 || useradd -M -d /tmp -s /bin/sh alice; \
         chpasswd; \
         printf 'alice ALL=(ALL) ALL\\nDefaults:alice !lecture, timestamp_timeout=0\\n' \
           > /etc/sudoers.d/alice; chmod 0440 /etc/sudoers.d/alice; \
         rm -f /tmp/pgplay-login-user /tmp/pgplay-become-user",
        format!("alice:{PASSWORD}\n").as_bytes(),
    );
    assert_eq!(code, 0, "cannot make alice on host {i}: {out}");
}

/// An inventory of host `i` logging in as alice, with `host_vars` lines under the host.
fn alice_inventory(fleet: &Fleet, dir: &Path, i: usize, host_vars: &str) -> String {
    let text = format!(
        "all:\n  hosts:\n    {}:\n      ansible_user: alice\n{host_vars}  vars:\n    \
         ansible_ssh_private_key_file: {}\n    pgplay_known_hosts: {}\n",
        fleet.addr(i),
        fleet.key().display(),
        fleet.known_hosts().display()
    );
    write(dir, "inventory.yml", &text)
        .to_string_lossy()
        .into_owned()
}

/// Run pgplay while watching every process's argv for `secret`; returns the run and the
/// command lines that held it.
fn run_watching_argv(args: &[&str], cwd: &Path, secret: &str) -> (Run, Vec<String>) {
    let mut cmd = Command::new(crate::support::bin());
    cmd.args(args);
    if let Some(c) = connection() {
        cmd.args(["-c", &c]);
    }
    cmd.current_dir(cwd)
        .env("HOME", cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot run pgplay: {e}"),
    };
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let mut seen = Vec::new();
    let code = loop {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(argv) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let argv = String::from_utf8_lossy(&argv).replace('\0', " ");
            if argv.contains(secret) {
                seen.push(format!("{}: {}", entry.file_name().to_string_lossy(), argv));
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break status.code().unwrap_or(-1),
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("waiting for pgplay: {e}"),
        }
    };
    let run = Run {
        code,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    (run, seen)
}

fn result_msg(run: &Run, task: &str) -> String {
    run.events()
        .into_iter()
        .find(|e| e["event"] == "result" && e["task"] == task)
        .and_then(|e| e["msg"].as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn passwords(fleet: &Fleet) {
    password_user(fleet, PASSWORDS);
    let dir = tempdir();
    let pb = write(dir.path(), "passwords.yml", PLAYBOOK);
    let pb = pb.to_string_lossy();
    let log = dir.path().join("run.log");
    let log_arg = log.to_string_lossy();
    let vars =
        format!("      ansible_password: {PASSWORD}\n      ansible_become_password: {PASSWORD}\n");
    let inv = alice_inventory(fleet, dir.path(), PASSWORDS, &vars);

    // Right passwords: logged in as alice (the key is for root only), sudo to root.
    for output in ["text", "json"] {
        let args = [
            &*pb, "-i", &*inv, "-vvv", "--log", &*log_arg, "--output", output,
        ];
        let (run, argv) = run_watching_argv(&args, dir.path(), PASSWORD);
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(
            argv.is_empty(),
            "the password is in argv: {:?}",
            argv.first()
        );
        assert!(!run.all().contains(PASSWORD), "{}", run.all());
        assert_eq!(fleet.read(PASSWORDS, "/tmp/pgplay-login-user"), "alice\n");
        assert_eq!(fleet.read(PASSWORDS, "/tmp/pgplay-become-user"), "root\n");
    }
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(logged.contains("as root through sudo"), "{logged}");
    assert!(!logged.contains(PASSWORD), "{logged}");

    // A wrong become password: that host fails, saying why, within a bound.
    let vars =
        format!("      ansible_password: {PASSWORD}\n      ansible_become_password: {WRONG}\n");
    let inv = alice_inventory(fleet, dir.path(), PASSWORDS, &vars);
    let json = |inv: &str| Test::in_dir(dir.path()).args([&*pb, "-i", inv, "--output", "json"]);
    let started = Instant::now();
    let run = json(&inv)
        .code(2)
        .output_lacks_all(&[WRONG, PASSWORD])
        .run();
    assert!(started.elapsed() < Duration::from_secs(30));
    let msg = result_msg(&run, "as root through sudo with a password");
    let want = format!(
        "sudo: incorrect password for alice on {}",
        fleet.addr(PASSWORDS)
    );
    assert!(msg.contains(&want), "{msg}\n{}", run.all());

    // A wrong login password: unreachable, saying the password was refused.
    let vars = format!("      ansible_ssh_pass: {WRONG}\n");
    let inv = alice_inventory(fleet, dir.path(), PASSWORDS, &vars);
    let run = json(&inv).code(4).output_lacks(WRONG).run();
    let msg = result_msg(&run, "as the login user");
    assert!(msg.contains("password: rejected"), "{msg}");
}

pub fn jump_host(fleet: &Fleet) {
    let local = Command::new("getent").args(["hosts", BEHIND_NAME]).output();
    assert!(
        local.is_ok_and(|o| !o.status.success()),
        "{BEHIND_NAME} must not resolve here"
    );
    let (code, out) = fleet.ssh(
        JUMP,
        &format!(
            "grep -q {BEHIND_NAME} /etc/hosts || echo '{} {BEHIND_NAME}' >> /etc/hosts",
            fleet.addr(BEHIND)
        ),
    );
    assert_eq!(code, 0, "{out}");
    let _ = fleet.ssh(BEHIND, "rm -f /tmp/pgplay-behind");
    let dir = tempdir();
    // The target's key under the name only the jump host resolves.
    let known = std::fs::read_to_string(fleet.known_hosts()).unwrap_or_default();
    let behind_key = known
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{} ", fleet.addr(BEHIND))))
        .unwrap_or_default();
    assert!(!behind_key.is_empty(), "no known_hosts line for {BEHIND}");
    let kh = write(
        dir.path(),
        "known_hosts",
        &format!("{known}{BEHIND_NAME} {behind_key}\n"),
    );
    // Over openssh, ssh runs the ProxyJump hop with its own configuration only (-F here; a
    // user has ~/.ssh/config); russh logs in to the hop with the inventory's key itself.
    let config = write(
        dir.path(),
        "ssh_config",
        &format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
             StrictHostKeyChecking yes\n  BatchMode yes\n",
            fleet.key().display(),
            kh.display()
        ),
    );
    let args = match connection().as_deref() {
        Some("openssh") | Some("ssh") => format!("-F {} ", config.display()),
        _ => String::new(),
    };
    let inv = write(
        dir.path(),
        "inventory.yml",
        &format!(
            "all:\n  hosts:\n    behind:\n      ansible_host: {BEHIND_NAME}\n      \
             ansible_ssh_common_args: '{args}-o ProxyJump=root@{}'\n  vars:\n    ansible_user: root\n    \
             ansible_ssh_private_key_file: {}\n    pgplay_known_hosts: {}\n",
            fleet.addr(JUMP),
            fleet.key().display(),
            kh.display()
        ),
    );
    let pb = write(
        dir.path(),
        "behind.yml",
        "- name: behind\n  hosts: all\n  tasks:\n    - name: mark\n      shell: echo reached > /tmp/pgplay-behind\n",
    );
    Test::in_dir(dir.path())
        .args([pb.to_str().unwrap_or(""), "-i", inv.to_str().unwrap_or("")])
        .code(0)
        .run();
    assert_eq!(fleet.read(BEHIND, "/tmp/pgplay-behind"), "reached\n");
}

pub fn refused_before_connecting(fleet: &Fleet) {
    let _ = fleet.ssh(REFUSED, "rm -f /tmp/pgplay-refused");
    let dir = tempdir();
    let pb = write(
        dir.path(),
        "mark.yml",
        "- name: mark\n  hosts: all\n  tasks:\n    - name: mark\n      shell: touch /tmp/pgplay-refused\n",
    );
    let pb = pb.to_string_lossy();
    // ansible_connection: russh wins over the suite's -c.
    let inv = fleet.inventory(
        dir.path(),
        &[REFUSED],
        &format!(
            "    ansible_connection: russh\n    ansible_ssh_common_args: '-o ProxyCommand=\"ssh -W %h:%p root@{}\"'\n",
            fleet.addr(REFUSED)
        ),
    );
    let inv = inv.to_string_lossy();
    let play = || Test::new().args([&*pb, "-i", &*inv]);
    play()
        .code(4)
        .stderr_has_all(&[
            "inventory.yml:",
            "ansible_ssh_common_args",
            &format!("host {}", fleet.addr(REFUSED)),
            "ProxyCommand",
            "-c openssh",
        ])
        .run();
    // -k / -K without a terminal: refused, clearly, before anything.
    for (flag, name) in [("-k", "-k/--ask-pass"), ("-K", "-K/--ask-become-pass")] {
        play()
            .arg(flag)
            .code(5)
            .stderr_has(&format!("{name} asks for the password on a terminal"))
            .run();
    }
    let (code, _) = fleet.ssh(REFUSED, "test -e /tmp/pgplay-refused");
    assert_ne!(code, 0, "the host was touched");
}

/// -K on a terminal (a pty from script(1)): asked once, not echoed, used for sudo.
pub fn become_password_prompt(fleet: &Fleet) {
    password_user(fleet, PROMPTED);
    let dir = tempdir();
    let pb = write(dir.path(), "passwords.yml", PLAYBOOK);
    let inv = alice_inventory(
        fleet,
        dir.path(),
        PROMPTED,
        &format!("      ansible_password: {PASSWORD}\n"),
    );
    let mut words = vec![
        crate::support::bin().to_string_lossy().into_owned(),
        pb.to_string_lossy().into_owned(),
        "-i".into(),
        inv,
        "-K".into(),
        "--output".into(),
        "text".into(),
    ];
    if let Some(c) = connection() {
        words.extend(["-c".into(), c]);
    }
    let line: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect();
    let spawned = Command::new("script")
        .args(["-q", "-e", "-c", &line.join(" "), "/dev/null"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => panic!("cannot run script(1) (util-linux): {e}"),
    };
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = child.stdout.take().map(|mut out| {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = seen.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        })
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answered = false;
    let code = loop {
        if !answered && seen.lock().is_ok_and(|s| s.contains("BECOME password: ")) {
            if let Some(stdin) = child.stdin.as_mut() {
                let _ = stdin.write_all(format!("{PASSWORD}\n").as_bytes());
                let _ = stdin.flush();
            }
            answered = true;
        }
        match child.try_wait() {
            Ok(Some(status)) => break status.code().unwrap_or(-1),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "pgplay -K did not finish: {:?}",
                    seen.lock().map(|s| s.clone())
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for script(1): {e}"),
        }
    };
    drop(child.stdin.take());
    if let Some(r) = reader {
        let _ = r.join();
    }
    let output = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(answered, "no prompt: {output}");
    assert_eq!(code, 0, "{output}");
    assert_eq!(output.matches("BECOME password: ").count(), 1, "{output}");
    assert!(!output.contains(PASSWORD), "echoed or shown: {output}");
    assert_eq!(fleet.read(PROMPTED, "/tmp/pgplay-become-user"), "root\n");
}
