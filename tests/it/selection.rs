//! `-l` and `-t` select exactly the expected hosts and tasks (asserted on JSON events), and
//! the listing flags show the same selection without touching any host.

use std::collections::BTreeSet;

use crate::support::{tempdir, write, Fleet};
use crate::test::Test;

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

/// The tasks and the hosts a JSON run reported results for (it must succeed).
fn selected(test: Test) -> (BTreeSet<String>, BTreeSet<String>) {
    let results = test.code(0).run().results();
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
    let (pb, inv) = (pb.to_string_lossy(), inv.to_string_lossy());
    let play = || Test::new().args([&*pb, "-i", &*inv]);
    let call = |extra: &[&str]| selected(play().args(["--output", "json"]).args(extra));
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
    play()
        .args([
            "-l",
            "pg-beta",
            "-t",
            "gamma",
            "--list-hosts",
            "--list-tasks",
        ])
        .code(0)
        .stdout_has(&format!("hosts (1):\n      {c}\n"))
        .stdout_has("third\tTAGS: [alpha, gamma]")
        .stdout_lacks("first")
        .run();
}
