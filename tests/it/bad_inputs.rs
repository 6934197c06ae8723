//! Bad input is refused with a message naming the place (file:line:col and key, or host and
//! task), and the hosts' files are byte-identical before and after. Hostile strings in
//! variables are written literally, never executed.

use crate::support::{tempdir, write, Fleet};
use crate::test::Test;

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
        "become_method pgplay does not have",
        4,
        &[
            "play.yml:3:",
            "become_method",
            "unsupported become method 'pbrun'",
            "sudo (the default) or su",
        ],
    );
    c.playbook = "- hosts: all\n  become: true\n  become_method: pbrun\n  tasks:\n    - name: x\n      debug: { msg: x }\n";
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

/// A PostgreSQL inventory on the test hosts (a primary and a replica of cluster pg-x), with
/// `extra` (4-space indented) under all.vars.
fn pg_inventory(extra: &str, hosts: [&str; 2], group: &str) -> String {
    format!(
        "all:\n  children:\n    pg-x:\n      hosts:\n        127.0.40.19: {}\n        127.0.40.20: {}\n      vars: {{ {group} }}\n  vars:\n    ansible_user: root\n{extra}",
        hosts[0], hosts[1]
    )
}

const PRIMARY: &str = "{ pg_seq: 1, pg_role: primary }";
const REPLICA: &str = "{ pg_seq: 2, pg_role: replica }";
const GROUP: &str = "pg_cluster: pg-x, patroni_enabled: false";

/// A case on the PostgreSQL inventory: `args` name the built-in playbook first.
fn pg(name: &'static str, code: i32, needles: &[&'static str], extra: &str, args: &[&str]) -> Case {
    pg_with(
        name,
        code,
        needles,
        pg_inventory(extra, [PRIMARY, REPLICA], GROUP),
        args,
    )
}

fn pg_with(
    name: &'static str,
    code: i32,
    needles: &[&'static str],
    inventory: String,
    args: &[&str],
) -> Case {
    let mut c = case(name, code, needles);
    c.inventory = inventory;
    c.args = std::iter::once(format!("--playbook-name={}", args[0]))
        .chain(args[1..].iter().map(|a| a.to_string()))
        .collect();
    c
}

/// `pgsql-pitr -l pg-x --yes -e {"pg_pitr": <pitr>}`.
fn pitr(name: &'static str, needles: &[&'static str], pitr: serde_json::Value) -> Case {
    let e = serde_json::json!({ "pg_pitr": pitr }).to_string();
    pg(
        name,
        4,
        needles,
        "",
        &["pgsql-pitr", "-l", "pg-x", "--yes", "-e", &e],
    )
}

/// Bad input across the PostgreSQL variables, the destructive playbooks, pg_pitr, -e, -l,
/// -t and connection variables (issue 9): refused before any host is contacted.
fn pg_cases() -> Vec<Case> {
    use serde_json::json;
    let backup = ["pgsql", "-t", "pg_backup"];
    let t = "2026-07-13 10:00:00+00";
    let data_nl = json!({"pg_data": "/pg/data\nrepo1-path=/evil"}).to_string();
    let log_nl = json!({"pgbackrest_log_dir": "/pg/log\n[evil]"}).to_string();
    let target = json!({"pg_pitr": {"time": t}}).to_string();
    vec![
        pg("pgbackrest_method typo", 4, &["inventory.yml:10:", "'mino' is not a repository", "did you mean 'minio'"], "    pgbackrest_method: mino\n", &backup),
        pg("repository option typo", 4, &["inventory.yml:11:", "pgbackrest_repo.local.retention_ful", "did you mean 'retention_full'"], "    pgbackrest_repo:\n      local: { path: /pg/backup, retention_ful: 2 }\n", &backup),
        pg("s3 repository without a bucket", 4, &["pgbackrest_repo.s3.type", "needs s3_bucket"], "    pgbackrest_method: s3\n    pgbackrest_repo:\n      s3: { type: s3, s3_endpoint: x, s3_region: r, s3_key: k, s3_key_secret: s }\n", &backup),
        pg("encryption without a passphrase", 4, &["pgbackrest_repo.local.cipher_type", "needs cipher_pass"], "    pgbackrest_repo:\n      local: { path: /x, cipher_type: aes-256-cbc }\n", &backup),
        pg_with("pg_role typo", 4, &["inventory.yml:5:", "'primay' is not a role", "did you mean 'primary'"], pg_inventory("", ["{ pg_seq: 1, pg_role: primay }", REPLICA], GROUP), &backup),
        pg_with("no pg_seq", 4, &["inventory.yml:5:", "has no pg_seq", "pg_seq: 1"], pg_inventory("", ["{ pg_role: primary }", REPLICA], GROUP), &backup),
        pg("pg_port out of range", 4, &["inventory.yml:10:", "pg_port", "0 to 65535"], "    pg_port: 99999\n", &backup),
        pg_with("pg_cluster with a space", 4, &["inventory.yml:7:", "pg_cluster", "only letters, digits"], pg_inventory("", [PRIMARY, REPLICA], "pg_cluster: 'pg x'"), &backup),
        pg("pg_data with a newline from -e", 4, &["-e #1", "pg_data", "line break"], "", &["pgsql", "-t", "pg_backup", "-e", &data_nl]),
        pg("pgbackrest_log_dir with a section from -e", 4, &["-e #1", "pgbackrest_log_dir", "line break"], "", &["pgsql", "-t", "pg_backup", "-e", &log_nl]),
        pg("relative pg_data", 4, &["inventory.yml:10:", "pg_data", "not an absolute path"], "    pg_data: pg/data\n", &backup),
        pg("pg_data with ..", 4, &["pg_data", "'..' component"], "    pg_data: /pg/../etc\n", &backup),
        pg("hostile pg_dbsu", 4, &["pg_dbsu", "not a user name"], "    pg_dbsu: 'postgres; rm -rf /'\n", &backup),
        pg("bad pg_crontab line", 4, &["pg_crontab[0]", "hour field '25'"], "    pg_crontab: [ '00 25 * * * /pg/bin/pg-backup' ]\n", &["pgsql", "-t", "pg_crontab"]),
        pg("pgbackrest_repo not a mapping", 4, &["pgbackrest_repo", "expected a mapping"], "    pgbackrest_repo: [ local ]\n", &backup),
        pg("pgsql-rm without -l", 5, &["never runs on every host", "-l"], "", &["pgsql-rm", "-t", "pg_backup", "--yes"]),
        pg("pgsql-rm without --yes off a terminal", 5, &["delete stanza pg-x", "--yes"], "", &["pgsql-rm", "-l", "pg-x", "-t", "pg_backup"]),
        pg("pgsql-rm on a safeguarded cluster", 4, &["inventory.yml:10:", "pg_safeguard is true for 127.0.40.19 (pg-x)", "-e pg_safeguard=false"], "    pg_safeguard: true\n", &["pgsql-rm", "-l", "pg-x", "-t", "pg_backup", "--yes"]),
        pg("pgsql-pitr without -l", 5, &["never runs on every host"], "", &["pgsql-pitr", "--yes", "-e", &target]),
        pg("pgsql-pitr on a safeguarded cluster", 4, &["pg_safeguard is true", "-e pg_safeguard=false"], "    pg_safeguard: true\n", &["pgsql-pitr", "-l", "pg-x", "--yes", "-e", &target]),
        pg("pgsql-pitr without --yes off a terminal", 5, &["STOP PostgreSQL", "--yes"], "", &["pgsql-pitr", "-l", "pg-x", "-e", &target]),
        pg("pgsql-backup on a replica only", 5, &["not its primary 127.0.40.19", "nothing would be done", "-l pg-x"], "", &["pgsql-backup", "-l", "127.0.40.20"]),
        pg("pgsql-pitr on a replica only", 5, &["not its primary 127.0.40.19", "-l pg-x"], "", &["pgsql-pitr", "-l", "127.0.40.20", "--yes", "-e", &target]),
        pg("pg_pitr not given", 5, &["pg_pitr is not defined", "-e '{\"pg_pitr\""], "", &["pgsql-pitr", "-l", "pg-x", "--yes"]),
        pg_with("pgsql-pitr of part of a Patroni cluster", 5, &["leaves out 127.0.40.20 of pg-x, a Patroni cluster", "-l pg-x"], pg_inventory("", [PRIMARY, REPLICA], "pg_cluster: pg-x, patroni_enabled: true"), &["pgsql-pitr", "-l", "127.0.40.19", "--yes", "-e", &target]),
        pg_with("pgsql-pitr of a Patroni cluster named root", 4, &["pg_cluster 'root'", "outside the cluster"], pg_inventory("", [PRIMARY, REPLICA], "pg_cluster: root, patroni_enabled: true").replace("  children:\n", "  children:\n    etcd: { hosts: { 127.0.40.19: { etcd_seq: 1 } } }\n"), &["pgsql-pitr", "-l", "pg-x", "--yes", "-e", &target]),
        pg_with("pgsql-pitr with a DCS namespace that is no prefix", 4, &["pg_namespace '/pg/*'", "clean absolute key prefix"], pg_inventory("", [PRIMARY, REPLICA], "pg_cluster: pg-x, patroni_enabled: true, pg_namespace: '/pg/*'").replace("  children:\n", "  children:\n    etcd: { hosts: { 127.0.40.19: { etcd_seq: 1 } } }\n"), &["pgsql-pitr", "-l", "pg-x", "--yes", "-e", &target]),
        pitr("two recovery targets", &["-e #1", "pg_pitr.xid", "two recovery targets"], json!({"time": t, "xid": "1234"})),
        pitr("xid 0", &["pg_pitr.xid", "not a transaction id"], json!({"xid": "0"})),
        pitr("xid beyond 2^32-1", &["pg_pitr.xid", "4294967296"], json!({"xid": "4294967296"})),
        pitr("malformed LSN", &["pg_pitr.lsn", "not an LSN"], json!({"lsn": "0/XYZ"})),
        pitr("time without a zone", &["pg_pitr.time", "no time zone"], json!({"time": "2026-07-13 10:00:00"})),
        pitr("time PostgreSQL cannot read", &["pg_pitr.time", "YYYY-MM-DD"], json!({"time": "yesterday at noon"})),
        pitr("empty restore point name", &["pg_pitr.name", "cannot be empty"], json!({"name": ""})),
        pitr("restore point name over 63 bytes", &["pg_pitr.name", "63 bytes"], json!({"name": "x".repeat(64)})),
        pitr("unknown pg_pitr field", &["pg_pitr.tme", "did you mean 'time'"], json!({"tme": t})),
        pitr("pg_pitr field of the wrong type", &["pg_pitr.xid", "expected a string"], json!({"xid": [1, 2]})),
        pitr("relative data directory", &["pg_pitr.data", "not an absolute path"], json!({"data": "pg/data9", "port": 15432})),
        pitr("multi-line data directory", &["pg_pitr.data", "more than one line"], json!({"data": "/pg/data9\n/x", "port": 15432})),
        pitr("not a backup label", &["pg_pitr.set", "not a pgBackRest backup label"], json!({"set": "yesterday"})),
        pitr("not a stanza name", &["pg_pitr.cluster", "not a stanza name"], json!({"cluster": "pg meta!"})),
        pitr("database included and excluded", &["pg_pitr.db_exclude", "both included"], json!({"db_include": ["a"], "db_exclude": ["a"]})),
        pitr("type disagrees with the target", &["pg_pitr.type", "disagrees"], json!({"type": "xid", "time": t})),
        pitr("unknown action", &["pg_pitr.action", "'resume' is not pause, promote or shutdown"], json!({"time": t, "action": "resume"})),
        pitr("port 0", &["pg_pitr.port", "not a port"], json!({"data": "/pg/data9", "port": 0})),
        pg("-e @file that does not exist", 5, &["-e #1", "/nonexistent/vars.yml", "@FILE"], "", &["pgsql-backup", "-l", "pg-x", "-e", "@/nonexistent/vars.yml"]),
        pg("-e JSON cut short", 5, &["-e #1", "not valid JSON/YAML", "quote the whole value"], "", &["pgsql-pitr", "-l", "pg-x", "-e", "{\"pg_pitr\": {\"time\": }"]),
        pg("-l intersection with nothing", 5, &["'&nosuch' matches no host"], "", &["pgsql-backup", "-l", "pg-x:&nosuch"]),
        pg("--skip-tags typo", 5, &["--skip-tags", "'infoo'", "did you mean 'info'"], "", &["pgsql-backup", "-l", "pg-x", "--skip-tags", "infoo"]),
        pg("pgsql-rm tag typo", 5, &["'pg_bakup'", "did you mean 'pg_backup'"], "", &["pgsql-rm", "-l", "pg-x", "-t", "pg_bakup", "--yes"]),
        pg("unsupported ansible_connection", 4, &["inventory.yml:10:", "ansible_connection", "'winrm'"], "    ansible_connection: winrm\n", &["pgsql-backup", "-l", "pg-x"]),
        pg("unsupported become method", 4, &["ansible_become_method", "'runas'"], "    ansible_become_method: runas\n", &["pgsql-backup", "-l", "pg-x"]),
        pg("ansible_port 0", 4, &["ansible_port", "1-65535"], "    ansible_port: 0\n", &["pgsql-backup", "-l", "pg-x"]),
        pg("ansible_host a list", 4, &["ansible_host", "expected a string"], "    ansible_host: [a, b]\n", &["pgsql-backup", "-l", "pg-x"]),
        pg("--forks 0", 5, &["--forks", "0 is not in 1..=10000"], "", &["pgsql-backup", "-l", "pg-x", "-f", "0"]),
    ]
}

pub fn refused_and_untouched(fleet: &Fleet) {
    let before = fleet.sums(&HOSTS, "/etc/crontab");
    let mut cases = cases();
    cases.extend(pg_cases());
    assert!(cases.len() >= 60, "{} cases", cases.len());
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
        let mut test = Test::new().args(&args).code(c.code);
        for n in &c.needles {
            test = test.output_has(n);
        }
        // Refused before the first connection: no play started (a failure on a host is 2).
        if c.code != 2 {
            test = test.stdout_lacks("PLAY [").stdout_lacks("TASK [");
        }
        let (run, unmet) = test.stderr_lacks("panicked").check();
        if !unmet.is_empty() {
            failures.push(format!("[{}] {}\n{}", c.name, unmet.join("; "), run.all()));
        }
        if run.code != c.code {
            continue;
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
    let inv = inv.to_str().unwrap_or("");
    Test::new()
        .args(["node", "-i", inv, "-t", "node_crontab", "--output", "json"])
        .code(0)
        .run();
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
    Test::new()
        .args([pb.to_str().unwrap_or(""), "-i", inv, "--output", "json"])
        .args([
            "-e",
            &format!("extra_hostile={}", HOSTILE.replace('\'', "")),
        ])
        .code(0)
        .run();
    for f in ["h1", "h2", "h3"] {
        assert_eq!(fleet.read(18, &format!("/root/{f}")), HOSTILE, "/root/{f}");
    }
    let (_, pwned) = fleet.ssh(18, "ls /tmp/pwned-* /root/pwned-* 2>/dev/null | wc -l");
    assert_eq!(pwned.trim(), "0", "a hostile string was executed");
}

/// Validation is scoped to the run (issue 9): a wrong `node_crontab` on a host the run does
/// not touch is a warning, printed once; the run that reads it refuses it before connecting;
/// `pgplay inventory` never fails on it; a `-e` that nothing reads is said.
pub fn validation_is_scoped_to_the_run(fleet: &Fleet) {
    const GOOD: usize = 26;
    let dir = tempdir();
    let inv = write(
        dir.path(),
        "inventory.yml",
        &format!(
            "all:\n  children:\n    good:\n      hosts:\n        {}: {{ node_crontab: [ '00 01 * * * root /bin/true good' ] }}\n    bad:\n      hosts:\n        127.0.40.99:\n          node_crontab: [ '00 01 * * * /pg/bin/pg-backup full' ]\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n    pgplay_known_hosts: {}\n",
            fleet.addr(GOOD),
            fleet.key().display(),
            fleet.known_hosts().display()
        ),
    );
    let inv = inv.to_string_lossy().into_owned();
    Test::new()
        .args(["inventory", "--list", "-i", &inv])
        .code(0)
        .stderr_has_all(&["warning: ", "inventory.yml:9:", "node_crontab[0]"])
        .run();
    let node = || Test::new().args(["node", "-i", &inv, "-t", "node_crontab"]);
    node()
        .args(["-l", "good", "--output", "text"])
        .code(0)
        .why("the warning once")
        .stderr_count("node_crontab[0]", 1)
        .stderr_has("127.0.40.99 is not in it")
        .run();
    let crontab = fleet.read(GOOD, "/etc/crontab");
    assert!(crontab.contains("root /bin/true good"), "{crontab}");
    let before = fleet.sums(&[GOOD], "/etc/crontab");
    node()
        .args(["--output", "text"])
        .code(4)
        .stderr_starts_with("error: ")
        .stderr_has_all(&[
            "inventory.yml:9:",
            "node_crontab[0]",
            "minute hour day month weekday user command",
        ])
        .stdout_lacks("PLAY [")
        .run();
    assert_eq!(fleet.sums(&[GOOD], "/etc/crontab"), before);
    node()
        .args([
            "-l",
            "good",
            "--output",
            "text",
            "-e",
            "pgbackrest_method=minio",
        ])
        .code(0)
        .stderr_has("-e pgbackrest_method: no selected task of node reads it")
        .run();
}
