//! Bad input is refused with a message naming the place (file:line:col and key, or host and
//! task), and the hosts' files are byte-identical before and after. Hostile strings in
//! variables are written literally, never executed.

use crate::support::{pgplay, tempdir, write, Fleet};

const HOSTS: [usize; 2] = [19, 20];
const ENTRIES: &str = "    node_crontab: [ '00 01 * * * postgres /pg/bin/pg-backup full' ]\n";

struct Case {
    name: &'static str,
    /// Extra inventory vars (4-space indented YAML) or a whole inventory text (starts with "all:").
    inventory: String,
    /// Playbook file content, or "" to run the built-in `node -t node_crontab`.
    playbook: &'static str,
    args: Vec<String>,
    code: i32,
    needles: Vec<&'static str>,
}

fn case(name: &'static str, code: i32, needles: &[&'static str]) -> Case {
    Case {
        name,
        inventory: ENTRIES.to_string(),
        playbook: "",
        args: Vec::new(),
        code,
        needles: needles.to_vec(),
    }
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let mut c = case(
        "malformed inventory YAML",
        4,
        &["inventory.yml:", "YAML syntax error"],
    );
    c.inventory = "all:\n  children:\n    g: { hosts: [a, b\n".into();
    v.push(c);
    let mut c = case(
        "malformed playbook YAML",
        4,
        &["play.yml:", "YAML syntax error"],
    );
    c.playbook = "- hosts: all\n  tasks:\n    - name: x\n      debug: { msg: [1, }\n";
    v.push(c);
    let mut c = case(
        "unknown task key",
        4,
        &["play.yml:4:7", "whn", "did you mean 'when'"],
    );
    c.playbook = "- hosts: all\n  tasks:\n    - name: x\n      whn: true\n      debug: {}\n";
    v.push(c);
    let mut c = case(
        "wrong type for node_crontab_overwrite",
        4,
        &[
            "inventory.yml:",
            "node_crontab_overwrite",
            "expected true or false",
        ],
    );
    c.inventory = format!("{ENTRIES}    node_crontab_overwrite: maybe\n");
    v.push(c);
    let mut c = case(
        "node_crontab is not a list",
        4,
        &["inventory.yml:", "node_crontab", "expected a list"],
    );
    c.inventory = "    node_crontab: '00 01 * * * postgres /pg/bin/pg-backup full'\n".into();
    v.push(c);
    let mut c = case(
        "unknown tag",
        5,
        &["node_crontb", "did you mean 'node_crontab'"],
    );
    c.args = vec!["-t".into(), "node_crontb".into()];
    v.push(c);
    let mut c = case(
        "limit matching nothing",
        5,
        &["pg-nosuch", "matches no host"],
    );
    c.args = vec!["-l".into(), "pg-nosuch".into()];
    v.push(c);
    let mut c = case(
        "cron line without a user",
        4,
        &["inventory.yml:", "node_crontab[1]", "invalid crontab line"],
    );
    c.inventory = "    node_crontab:\n      - '00 01 * * * postgres /pg/bin/pg-backup full'\n      - '00 01 * * /pg/bin/pg-backup full'\n".into();
    v.push(c);
    let mut c = case(
        "cron line with a bad hour",
        4,
        &["node_crontab[0]", "hour field '25'"],
    );
    c.inventory = "    node_crontab: [ '00 25 * * * postgres /pg/bin/pg-backup' ]\n".into();
    v.push(c);
    let mut c = case(
        "cron user missing on the host",
        2,
        &["127.0.40.19", "check node_crontab users", "nosuchuser"],
    );
    c.inventory = "    node_crontab: [ '00 01 * * * nosuchuser /pg/bin/pg-backup full' ]\n".into();
    v.push(c);
    let mut c = case(
        "undefined template variable",
        2,
        &["nosuch_var", "127.0.40.19", "write a file"],
    );
    c.playbook = "- hosts: all\n  tasks:\n    - name: write a file\n      copy: { dest: /etc/crontab, content: \"x {{ nosuch_var }}\" }\n";
    v.push(c);
    let mut c = case("bad -e JSON", 5, &["-e #1", "not valid JSON/YAML"]);
    c.args = vec!["-e".into(), r#"{"node_crontab": [}"#.into()];
    v.push(c);
    let mut c = case("-e crontab line invalid", 4, &["-e #1", "node_crontab[0]"]);
    c.args = vec![
        "-e".into(),
        r#"{"node_crontab": ["every day postgres x"]}"#.into(),
    ];
    v.push(c);
    let mut c = case(
        "-e key=value with a bad name",
        5,
        &["-e #1", "not a valid variable name"],
    );
    c.args = vec!["-e".into(), "1abc=2".into()];
    v.push(c);
    let mut c = case(
        "unknown module argument",
        4,
        &["play.yml:4:7", "copy.dets", "did you mean 'dest'"],
    );
    c.playbook =
        "- hosts: all\n  tasks:\n    - name: x\n      copy: { dets: /etc/crontab, content: x }\n";
    v.push(c);
    let mut c = case(
        "bad ansible_port",
        4,
        &["inventory.yml:", "ansible_port", "1-65535"],
    );
    c.inventory = format!("{ENTRIES}    ansible_port: twenty-two\n");
    v.push(c);
    let mut c = case(
        "unknown group key",
        4,
        &["inventory.yml:", "did you mean 'vars'"],
    );
    c.inventory = "all:\n  children:\n    fleet:\n      hosts: { 127.0.40.19: {} }\n      var: { node_crontab: [] }\n".into();
    v.push(c);
    let mut c = case(
        "after names an unknown task",
        4,
        &["play.yml:", "unknown task 'frist'", "did you mean 'first'"],
    );
    c.playbook = "- hosts: all\n  tasks:\n    - name: first\n      debug: {}\n    - name: second\n      after: frist\n      debug: {}\n";
    v.push(c);
    let mut c = case(
        "unknown built-in playbook",
        5,
        &["'nod'", "did you mean 'node'"],
    );
    c.args = vec!["--playbook-name=nod".into()];
    v.push(c);
    let mut c = case(
        "decimal file mode",
        2,
        &["mode 644", "octal", "127.0.40.19"],
    );
    c.playbook = "- hosts: all\n  tasks:\n    - name: write\n      copy: { dest: /etc/crontab, content: x, mode: 644 }\n";
    v.push(c);
    v
}

pub fn refused_and_untouched(fleet: &Fleet) {
    let before = fleet.sums(&HOSTS, "/etc/crontab");
    let cases = cases();
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for c in &cases {
        let dir = tempdir();
        let inv = if c.inventory.starts_with("all:") {
            write(dir.path(), "inventory.yml", &c.inventory)
        } else {
            fleet.inventory(dir.path(), &HOSTS, &c.inventory)
        };
        let mut args: Vec<String> = Vec::new();
        match c
            .args
            .first()
            .and_then(|a| a.strip_prefix("--playbook-name="))
        {
            Some(name) => args.push(name.to_string()),
            None if c.playbook.is_empty() => {
                args.extend(["node".to_string(), "-t".into(), "node_crontab".into()]);
            }
            None => args.push(
                write(dir.path(), "play.yml", c.playbook)
                    .to_string_lossy()
                    .into_owned(),
            ),
        }
        args.extend([
            "-i".to_string(),
            inv.to_string_lossy().into_owned(),
            "--output".into(),
            "text".into(),
        ]);
        args.extend(
            c.args
                .iter()
                .filter(|a| !a.starts_with("--playbook-name="))
                .cloned(),
        );
        let run = pgplay(&args);
        let all = format!("{}{}", run.stdout, run.stderr);
        if run.code != c.code {
            failures.push(format!(
                "[{}] exit {} (wanted {})\n{}",
                c.name,
                run.code,
                c.code,
                run.all()
            ));
            continue;
        }
        for n in &c.needles {
            if !all.contains(n) {
                failures.push(format!("[{}] output lacks {n:?}\n{}", c.name, run.all()));
            }
        }
        if run.stderr.contains("panicked") {
            failures.push(format!("[{}] panicked\n{}", c.name, run.all()));
        }
        let after = fleet.sums(&HOSTS, "/etc/crontab");
        if after != before {
            failures.push(format!("[{}] changed /etc/crontab on a host", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

const HOSTILE: &str =
    r#"a'b"c; $(touch /tmp/pwned-1) `touch /tmp/pwned-2` | touch /tmp/pwned-3 & \n $HOME"#;

pub fn hostile_strings_are_literal(fleet: &Fleet) {
    let dir = tempdir();
    let cron = format!("00 01 * * * root /bin/echo {HOSTILE}");
    let vars = format!(
        "    node_crontab:\n      - {}\n    hostile: {}\n",
        serde_json::to_string(&cron).unwrap_or_default(),
        serde_json::to_string(HOSTILE).unwrap_or_default()
    );
    let inv = fleet.inventory(dir.path(), &[18], &vars);
    let run = pgplay(&[
        "node",
        "-i",
        inv.to_str().unwrap_or(""),
        "-t",
        "node_crontab",
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let text = fleet.read(18, "/etc/crontab");
    assert!(
        text.contains(&format!("\n{cron}\n")),
        "crontab line not literal:\n{text}"
    );

    let pb = write(
        dir.path(),
        "hostile.yml",
        "- hosts: all\n  tasks:\n    - name: shell with a quoted value\n      shell: printf '%s' {{ hostile | quote }} > /root/h1\n    - name: command with argv\n      command:\n        argv: [/bin/sh, -c, 'printf \"%s\" \"$1\" > /root/h2', sh, '{{ hostile }}']\n    - name: copy content\n      copy: { dest: /root/h3, content: '{{ hostile }}' }\n    - name: extra var\n      shell: printf '%s' {{ extra_hostile | quote }} > /root/h4\n",
    );
    let run = pgplay(&[
        pb.to_str().unwrap_or(""),
        "-i",
        inv.to_str().unwrap_or(""),
        "--output",
        "json",
        "-e",
        &format!("extra_hostile={}", HOSTILE.replace('\'', "")),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    for f in ["h1", "h2", "h3"] {
        assert_eq!(fleet.read(18, &format!("/root/{f}")), HOSTILE, "/root/{f}");
    }
    let (_, pwned) = fleet.ssh(18, "ls /tmp/pwned-* /root/pwned-* 2>/dev/null | wc -l");
    assert_eq!(pwned.trim(), "0", "a hostile string was executed");
}
