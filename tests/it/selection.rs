//! `-l` and `-t` select exactly the expected hosts and tasks (asserted on JSON events), and
//! the listing flags show the same selection without touching any host.

use std::collections::BTreeSet;

use crate::support::{pgplay, tempdir, write, Fleet};

const PLAYBOOK: &str = "- name: selection
  hosts: all
  tasks:
    - name: first
      tags: [alpha]
      command: /bin/true
    - name: second
      tags: [beta]
      shell: echo second
    - name: third
      tags: [alpha, gamma]
      command: /bin/true
    - name: always there
      tags: [always]
      debug: { msg: hi }
    - name: only on request
      tags: [never, delta]
      command: /bin/true
";

fn inventory(fleet: &Fleet, dir: &std::path::Path) -> std::path::PathBuf {
    let text = format!(
        "all:
  children:
    pg-alpha:
      hosts:
        {a}: {{ pg_seq: 1 }}
        {b}: {{ pg_seq: 2 }}
    pg-beta:
      hosts:
        {c}: {{ pg_seq: 1 }}
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: {key}
    pgplay_known_hosts: {kh}
",
        a = fleet.addr(12),
        b = fleet.addr(13),
        c = fleet.addr(14),
        key = fleet.key().display(),
        kh = fleet.known_hosts().display()
    );
    write(dir, "inventory.yml", &text)
}

fn selected(args: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let run = pgplay(args);
    assert_eq!(run.code, 0, "{}", run.all());
    let results = run.results();
    (
        results.iter().map(|r| r.0.clone()).collect(),
        results.iter().map(|r| r.1.clone()).collect(),
    )
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub fn limit_and_tags(fleet: &Fleet) {
    let dir = tempdir();
    let inv = inventory(fleet, dir.path());
    let pb = write(dir.path(), "select.yml", PLAYBOOK);
    let base = ["-i", inv.to_str().unwrap_or(""), "--output", "json"];
    let with = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![pb.to_string_lossy().into_owned()];
        v.extend(base.iter().map(|s| s.to_string()));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let call = |extra: &[&str]| {
        let args = with(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        selected(&refs)
    };
    let (a, b, c) = (fleet.addr(12), fleet.addr(13), fleet.addr(14));

    let (tasks, hosts) = call(&[]);
    assert_eq!(tasks, set(&["first", "second", "third", "always there"]));
    assert_eq!(hosts, set(&[&a, &b, &c]));

    let (tasks, hosts) = call(&["-l", "pg-alpha", "-t", "alpha"]);
    assert_eq!(tasks, set(&["first", "third", "always there"]));
    assert_eq!(hosts, set(&[&a, &b]));

    let (tasks, hosts) = call(&["-l", "all:!pg-alpha", "-t", "beta,delta"]);
    assert_eq!(tasks, set(&["second", "always there", "only on request"]));
    assert_eq!(hosts, set(&[&c]));

    let (tasks, hosts) = call(&["-l", &format!("pg-*:&{b}"), "--skip-tags", "alpha,always"]);
    assert_eq!(tasks, set(&["second"]));
    assert_eq!(hosts, set(&[&b]));

    // Listing shows the selection and runs nothing.
    let pbs = pb.to_string_lossy().into_owned();
    let list = pgplay(&[
        &pbs,
        "-i",
        inv.to_str().unwrap_or(""),
        "-l",
        "pg-beta",
        "-t",
        "gamma",
        "--list-hosts",
        "--list-tasks",
    ]);
    assert_eq!(list.code, 0, "{}", list.all());
    assert!(
        list.stdout.contains(&format!("hosts (1):\n      {c}\n")),
        "{}",
        list.all()
    );
    assert!(
        list.stdout.contains("third\tTAGS: [alpha, gamma]"),
        "{}",
        list.all()
    );
    assert!(!list.stdout.contains("first"), "{}", list.all());
}
