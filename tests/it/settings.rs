//! Issue 11: no new habits for an Ansible + Pigsty user. ansible.cfg and the ANSIBLE_* /
//! PGPLAY_* variables (with `pgplay config` saying where each value came from), repeatable
//! `-i` and `-l`, `inventory -l`, help that teaches (`help PLAYBOOK`, `PLAYBOOK --help`,
//! completions, man page), colour on a terminal only, and `--step`.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::run::Run;
use crate::support::{bin, tempdir, write, Fleet};
use crate::test::Test;

/// Hosts of these tests (48: runs, colour, --step; 49: host key checking).
const HOST: usize = 48;
const NEW_KEY_HOST: usize = 49;

const SITE: &str =
    "- name: SITE\n  hosts: all\n  tasks:\n    - name: hello\n      shell: echo hello\n";

pub fn ansible_cfg_and_environment(fleet: &Fleet) {
    let dir = tempdir();
    let d = dir.path();
    fleet.inventory(d, &[HOST], "");
    write(d, "site.yml", SITE);
    let cfg = write(
        d,
        "ansible.cfg",
        "[defaults]\ninventory = inventory.yml\nforks = 7 ; Pigsty has 50\nlog_path = run.log\nbecome_method = doas\ninterpreter_python = auto_silent\n\n[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto -o ControlPersist=60s\n",
    );
    let at = || Test::in_dir(d);
    // no -i: ansible.cfg's inventory, as in a Pigsty directory
    at().args(["./site.yml", "--output", "text"])
        .code(0)
        .stdout_has_all(&["TASK [hello]", &format!("changed: [{}]", fleet.addr(HOST))])
        // a key pgplay cannot honour is said (Ansible's own machinery is let be)
        .stderr_has(":5: [defaults] become_method = doas: not used by pgplay")
        .stderr_lacks("interpreter_python")
        .run();
    // Pigsty's ssh_args (multiplexing, which pgplay does itself) are fine on either transport;
    // one that only OpenSSH can honour is refused under russh, naming the file and line
    let proxy = write(
        d,
        "proxy.cfg",
        "[defaults]\ninventory = inventory.yml\n[ssh_connection]\nssh_args = -o ProxyCommand=none\n",
    );
    let proxied = at()
        .arg("./site.yml")
        .env("ANSIBLE_CONFIG", proxy.to_str().unwrap_or(""));
    if crate::support::connection().is_some() {
        // the suite's openssh round: ssh honours it (ProxyCommand=none: connect directly)
        proxied.code(0).run();
    } else {
        proxied.code(5).stderr_has(&format!(
            "{}:4: [ssh_connection] ssh_args: ssh_args: -o ProxyCommand=none is honoured by the openssh transport only",
            proxy.display()
        )).run();
    }
    // log_path, relative to ansible.cfg's folder
    let log = std::fs::read_to_string(d.join("run.log")).unwrap_or_default();
    assert!(log.contains("TASK [hello]"), "log: {log}");

    // pgplay config: the value and where it came from
    at().arg("config")
        .code(0)
        .stdout_has_all(&[
            &format!("config file: {} (found as ./ansible.cfg)", cfg.display()),
            "forks              = 7",
            &format!("from {}:3: [defaults] forks", cfg.display()),
            "timeout            = (10)",
            "from default",
        ])
        .run();
    // the environment beats the file, PGPLAY_* beats ANSIBLE_*
    at().arg("config")
        .env("ANSIBLE_FORKS", "3")
        .stdout_has_all(&["forks              = 3", "from environment ANSIBLE_FORKS"])
        .run();
    let run = at()
        .args(["config", "--output", "json"])
        .env("ANSIBLE_FORKS", "3")
        .env("PGPLAY_FORKS", "4")
        .run();
    let doc: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap_or_default();
    let forks = doc["settings"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "forks"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(forks["value"], "4", "{}", run.all());
    assert_eq!(forks["source"], "environment PGPLAY_FORKS", "{}", run.all());

    // ANSIBLE_CONFIG names another file; a bad value is refused naming file, line and key
    let other = write(
        d,
        "other.cfg",
        "[defaults]\ninventory = inventory.yml\nforks = many\n",
    );
    at().arg("./site.yml")
        .env("ANSIBLE_CONFIG", other.to_str().unwrap_or(""))
        .code(5)
        .stderr_has(&format!(
            "{}:3: [defaults] forks: forks = 'many' is not a number",
            other.display()
        ))
        .run();
    // the command line beats everything
    at().args(["./site.yml", "-f", "2", "--list-hosts"])
        .env("ANSIBLE_CONFIG", other.to_str().unwrap_or(""))
        .code(0)
        .run();

    // host_key_checking = False: an unknown host's key is accepted and recorded
    let kh = d.join("empty_known_hosts");
    let _ = std::fs::write(&kh, "");
    let inv = write(
        d,
        "newkey.yml",
        &format!(
            "all:\n  hosts:\n    {}:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n    pgplay_known_hosts: {}\n",
            fleet.addr(NEW_KEY_HOST),
            fleet.key().display(),
            kh.display()
        ),
    );
    let inv = inv.to_string_lossy().into_owned();
    let _ = std::fs::remove_file(&cfg);
    at().args(["./site.yml", "-i", &inv])
        .why("an unknown key must be refused by default")
        .code(4)
        .run();
    write(d, "ansible.cfg", "[defaults]\nhost_key_checking = False\n");
    at().args(["./site.yml", "-i", &inv]).code(0).run();
    // recorded for that address: as written (russh) or hashed (OpenSSH with Debian's
    // HashKnownHosts yes), which `ssh-keygen -F` finds either way
    let recorded = std::fs::read_to_string(&kh).unwrap_or_default();
    let found = Command::new("ssh-keygen")
        .args(["-F", &fleet.addr(NEW_KEY_HOST), "-f"])
        .arg(&kh)
        .output()
        .map(|o| o.status.success() && !o.stdout.is_empty());
    assert!(matches!(found, Ok(true)), "known_hosts: {recorded}");
    // and without the setting the host is now known
    let _ = std::fs::remove_file(d.join("ansible.cfg"));
    at().args(["./site.yml", "-i", &inv]).code(0).run();
}

/// Two inventories read as one, repeated -l as a union, `inventory -l`. Nothing connects.
pub fn repeated_inventories_and_limits() {
    let dir = tempdir();
    let d = dir.path();
    write(
        d,
        "a.yml",
        "all:\n  children:\n    ga:\n      hosts:\n        127.0.60.1: { who: a }\n      vars: { level: a }\n    shared:\n      hosts:\n        127.0.60.1: {}\n",
    );
    write(
        d,
        "b.yml",
        "all:\n  children:\n    gb:\n      hosts:\n        127.0.60.2: {}\n    shared:\n      hosts:\n        127.0.60.2: {}\n      vars: { from_b: yes }\n    ga:\n      vars: { level: b }\n",
    );
    write(d, "site.yml", SITE);
    // both inventories, in this order
    let site = || {
        Test::in_dir(d)
            .arg("./site.yml")
            .args(["-i", "a.yml", "-i", "b.yml"])
    };
    let inventory = || {
        Test::in_dir(d)
            .arg("inventory")
            .args(["-i", "a.yml", "-i", "b.yml"])
    };
    site()
        .arg("--list-hosts")
        .code(0)
        .stdout_has_all(&["hosts (2):", "127.0.60.1", "127.0.60.2"])
        .run();
    // -l twice is the union, not the last one (as ansible-playbook would take)
    site()
        .args(["-l", "ga", "-l", "gb", "--list-hosts"])
        .stdout_has("hosts (2):")
        .run();
    site()
        .args(["-l", "gb", "--list-hosts"])
        .stdout_has("hosts (1):")
        .stdout_lacks("127.0.60.1")
        .run();
    // the later file wins a variable set at the same level; groups of both files are one
    let run = inventory().args(["--host", "127.0.60.1"]).run();
    let vars: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    assert_eq!(vars["level"], "b", "{}", run.all());
    assert_eq!(vars["from_b"], true, "{}", run.all());
    assert_eq!(vars["who"], "a", "{}", run.all());
    // inventory -l: only those hosts and the groups that hold them
    let run = inventory().args(["-l", "gb", "--list"]).code(0).run();
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    assert_eq!(
        list["gb"]["hosts"],
        serde_json::json!(["127.0.60.2"]),
        "{}",
        run.stdout
    );
    assert!(list.get("ga").is_none(), "{}", run.stdout);
    assert_eq!(
        list["shared"]["hosts"],
        serde_json::json!(["127.0.60.2"]),
        "{}",
        run.stdout
    );
    inventory()
        .args(["-l", "ga", "--graph"])
        .stdout_has("@ga:")
        .stdout_lacks("@gb:")
        .stdout_lacks("127.0.60.2")
        .run();
    Test::in_dir(d)
        .args([
            "inventory",
            "-i",
            "a.yml",
            "-l",
            "ga",
            "--host",
            "127.0.60.2",
        ])
        .code(5)
        .run();
    // -i that is no file names the flag; the default names its places
    Test::in_dir(d)
        .args(["./site.yml", "-i", "a.yml", "-i", "nope.yml"])
        .code(5)
        .stderr_has("-i nope.yml: no such file")
        .run();
}

/// `help`, `PLAYBOOK --help`, usage lines, completions and the man page, from one definition.
pub fn help_that_teaches() {
    let dir = tempdir();
    let d = dir.path();
    let at = || Test::in_dir(d);
    let help = at()
        .args(["help", "pgsql-pitr"])
        .code(0)
        .stdout_has_all(&[
            "pgsql-pitr: point-in-time recovery",
            "Tags (-t TAG",
            "\n  down\n",
            "    stop_postgres on the primary",
            "Variables it reads",
            "\n    time ",
            "\n    exclusive ",
            "pgplay pgsql-pitr -l pg-meta -e '{\"pg_pitr\": {\"time\": \"2026-07-13 10:00:00+00\"}}'",
        ])
        .run();
    at().args(["pgsql-pitr", "--help"])
        .code(0)
        .stdout_is(&help.stdout)
        .run();
    let playbooks = [
        "node",
        "node-rm",
        "pgsql",
        "pgsql-rm",
        "pgsql-backup",
        "pgsql-db",
        "pgsql-pitr",
    ]
    .map(|name| format!("\n  {name} "));
    at().arg("--help")
        .stdout_has_all(&playbooks.each_ref().map(String::as_str))
        .stdout_has_all(&[
            "Usage: pgplay [OPTIONS] <PLAYBOOK>",
            "pgplay <COMMAND>",
            "--step",
            "--no-color",
        ])
        .run();
    at().args(["inventory", "--help"])
        .stdout_has_all(&["Usage: pgplay inventory [OPTIONS]", "--graph", "--limit"])
        .run();
    at().args(["config", "--help"])
        .stdout_has("Usage: pgplay config [OPTIONS]")
        .run();

    let bash = at()
        .args(["completions", "bash"])
        .code(0)
        .stdout_has_all(&["--limit", "inventory", "completions"])
        .run();
    let script = write(d, "pgplay.bash", &bash.stdout);
    let ok = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "bash -n refuses the completion script");
    at().args(["completions", "zsh"])
        .stdout_has_all(&["#compdef pgplay", "--inventory"])
        .run();
    at().args(["completions", "fish"])
        .stdout_has_all(&["complete -c pgplay", "skip-tags"])
        .run();
    at().arg("man")
        .code(0)
        .stdout_has_all(&[".TH pgplay 1", "pgsql\\-pitr", "\\-\\-limit"])
        .run();
}

/// Colour on a terminal (as Ansible's), never in a pipe, a log, or with NO_COLOR/--no-color.
pub fn colour_only_where_wanted(fleet: &Fleet) {
    let dir = tempdir();
    let d = dir.path();
    let inv = fleet.inventory(d, &[HOST], "");
    let inv = inv.to_string_lossy().into_owned();
    write(d, "site.yml", SITE);
    let yellow_changed = "\x1b[0;33mchanged: [";
    let site = || Test::in_dir(d).args(["./site.yml", "-i", &inv, "--output", "text"]);
    site().why("a pipe got colour").stdout_lacks("\x1b").run();
    site()
        .env("ANSIBLE_FORCE_COLOR", "1")
        .stdout_has(yellow_changed)
        .run();
    site()
        .arg("--no-color")
        .env("ANSIBLE_FORCE_COLOR", "1")
        .stdout_lacks("\x1b")
        .run();
    // on a terminal: colour, unless NO_COLOR
    let cmd = format!("{} ./site.yml -i {inv} --output text", bin().display());
    let tty = on_a_terminal(d, &cmd, "", &[]);
    assert!(tty.stdout.contains(yellow_changed), "{:?}", tty.stdout);
    let tty = on_a_terminal(d, &cmd, "", &[("NO_COLOR", "1")]);
    assert!(
        tty.stdout.contains("changed: [") && !tty.stdout.contains('\x1b'),
        "{:?}",
        tty.stdout
    );
}

/// `--step`: y runs a task, n skips it on every host, c runs the rest without asking; with no
/// terminal it is refused before anything runs.
pub fn step_asks_before_each_task(fleet: &Fleet) {
    let dir = tempdir();
    let d = dir.path();
    let inv = fleet.inventory(d, &[HOST], "");
    let inv = inv.to_string_lossy().into_owned();
    fleet.ssh(HOST, "rm -f /root/step-*");
    let mut pb = String::from("- name: STEPS\n  hosts: all\n  tasks:\n");
    for n in ["one", "two", "three", "four"] {
        pb.push_str(&format!(
            "    - name: {n}\n      shell: touch /root/step-{n}\n"
        ));
    }
    write(d, "steps.yml", &pb);
    let cmd = format!(
        "{} ./steps.yml -i {inv} --step --output text",
        bin().display()
    );
    let run = on_a_terminal(d, &cmd, "y\nn\nc\n", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    run.stdout_has(&[
        "Perform task: TASK: one (N)o/(y)es/(c)ontinue:",
        "Perform task: TASK: three",
    ]);
    assert!(
        !run.stdout.contains("TASK: four (N)o"),
        "asked after continue: {}",
        run.stdout
    );
    let (_, files) = fleet.ssh(HOST, "ls /root | grep step- | tr '\\n' ' '");
    assert_eq!(
        files.trim(),
        "step-four step-one step-three",
        "{}",
        run.all()
    );
    // no terminal: refused, nothing runs
    fleet.ssh(HOST, "rm -f /root/step-*");
    let out = Command::new("setsid")
        .args(["-w"])
        .arg(bin())
        .args(["./steps.yml", "-i", &inv, "--step"])
        .current_dir(d)
        .env("HOME", d)
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => panic!("setsid: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("--step asks before each task on the terminal"),
        "{stderr}"
    );
    let (_, files) = fleet.ssh(HOST, "ls /root | grep -c step- || true");
    assert_eq!(files.trim(), "0");
}

/// Run a shell command on a new pseudo-terminal (util-linux `script`), `input` typed at it.
fn on_a_terminal(cwd: &Path, cmd: &str, input: &str, env: &[(&str, &str)]) -> Run {
    use std::io::Write;
    let child = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .current_dir(cwd)
        .env("HOME", cwd)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => panic!("script (util-linux) is needed: {e}"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        // typed one answer at a time, as a person would, each after its question
        for line in input.split_inclusive('\n') {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            let _ = stdin.write_all(line.as_bytes());
            let _ = stdin.flush();
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => panic!("script: {e}"),
    };
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
