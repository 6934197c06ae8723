//! The engine end to end over the local transport (`ansible_connection: local`): small plays
//! through [`Engine::run`] in a temporary directory, checking what the run reports (statuses,
//! messages, the order of events), what it registers, and how it handles failures — without
//! an sshd, so they run with `cargo test --lib`. The SSH transports are covered against real
//! sshd by the `transport*` and `it` suites.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Engine, Options, Transport};
use crate::builtin::Source;
use crate::error::exit;
use crate::inventory::HostId;
use crate::plan::Plan;
use crate::playbook::load_source;
use crate::report::{Event, Status};

/// What a run left: its exit code, every event in order, and the engine (its hosts' state).
struct Ran {
    code: i32,
    events: Vec<Event>,
    engine: Arc<Engine>,
}

impl Ran {
    /// `(task, host, status)` of each result, in the order reported.
    fn results(&self) -> Vec<(String, String, Status)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Result {
                    task, host, status, ..
                } => Some((task.clone(), host.clone(), *status)),
                _ => None,
            })
            .collect()
    }

    /// The reported message of `task` on `host`.
    fn msg(&self, task: &str, host: &str) -> Option<String> {
        self.events.iter().find_map(|e| match e {
            Event::Result {
                task: t,
                host: h,
                msg,
                ..
            } if t == task && h == host => msg.clone(),
            _ => None,
        })
    }

    /// A variable the run left on a host (registered or set_fact).
    fn fact(&self, host: usize, name: &str) -> Value {
        let st = self.engine.state(HostId(host));
        st.facts.get(name).cloned().unwrap_or(Value::Null)
    }
}

/// Hosts `names`, all on this machine.
fn inventory(names: &[&str]) -> String {
    let mut text = String::from("all:\n  hosts:\n");
    for name in names {
        text.push_str(&format!("    {name}: {{ ansible_connection: local }}\n"));
    }
    text
}

/// Run `playbook` (named `play.yml` in messages) on `hosts`, with `-e dir=<dir>`.
async fn run(hosts: &[&str], playbook: &str, dir: &Path, forks: usize) -> Ran {
    run_with_inventory(&inventory(hosts), playbook, dir, forks).await
}

/// [`run`] with an inventory of its own.
async fn run_with_inventory(inventory: &str, playbook: &str, dir: &Path, forks: usize) -> Ran {
    let inv = match crate::inventory::load_str("inv.yml", inventory, &[]) {
        Ok(inv) => Arc::new(inv),
        Err(e) => panic!("{e}"),
    };
    let source = Source::Dir(dir.to_path_buf());
    let pb = match load_source("play", "play.yml", playbook, source) {
        Ok(pb) => Arc::new(pb),
        Err(e) => panic!("{e}"),
    };
    let mut plans = Vec::new();
    for play in &pb.plays {
        let hosts = match crate::select::play_hosts(&inv, play, None) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        };
        let tasks: Vec<_> = play.tasks.iter().map(|t| t.id).collect();
        match Plan::build(play, &hosts, &tasks) {
            Ok(plan) => plans.push(Some(plan)),
            Err(e) => panic!("{e}"),
        }
    }
    let mut extra_vars = Map::new();
    extra_vars.insert("dir".into(), json!(dir.display().to_string()));
    let opts = Options {
        check: false,
        diff: false,
        forks,
        transport: Transport::Russh,
        accept_new_host_keys: false,
        known_hosts: None,
        private_key: None,
        user: None,
        r#become: false,
        become_user: None,
        timeout: Duration::from_secs(5),
        conn_password: None,
        become_password: None,
        extra_vars,
        rerun: String::new(),
        step: false,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let engine = Engine::new(inv, pb, opts, tx, CancellationToken::new());
    let summary = engine.run(plans).await;
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    Ran {
        code: summary.exit_code,
        events,
        engine,
    }
}

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

const WORKS: &str = r#"- hosts: all
  tasks:
    - name: write
      shell: printf hello > {{ dir }}/{{ inventory_hostname }}.txt; echo done
      register: w
    - name: read back
      command: cat {{ dir }}/{{ inventory_hostname }}.txt
      register: r
    - name: remember
      set_fact:
        said: "{{ r.stdout }} from {{ inventory_hostname }}"
    - name: each
      shell: echo {{ item }}
      loop: [a, b]
      register: items
    - name: count to three
      shell: >-
        n=$(cat {{ dir }}/{{ inventory_hostname }}.n 2>/dev/null || echo 0);
        n=$((n+1)); echo $n > {{ dir }}/{{ inventory_hostname }}.n; echo $n
      register: counter
      until: counter.stdout == "3"
      retries: 5
      delay: 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_play_runs_and_registers_over_the_local_transport() {
    let dir = tempdir();
    let ran = run(&["db1"], WORKS, dir.path(), 5).await;
    assert_eq!(ran.code, exit::OK, "{:?}", ran.results());
    let statuses: Vec<Status> = ran.results().into_iter().map(|(.., s)| s).collect();
    assert_eq!(
        statuses,
        [
            Status::Changed,
            Status::Changed,
            Status::Ok,
            Status::Changed,
            Status::Changed
        ]
    );
    let written = std::fs::read_to_string(dir.path().join("db1.txt")).unwrap_or_default();
    assert_eq!(written, "hello");
    assert_eq!(ran.fact(0, "w")["stdout"], "done");
    assert_eq!(ran.fact(0, "w")["rc"], 0);
    assert_eq!(ran.fact(0, "r")["stdout"], "hello");
    assert_eq!(ran.fact(0, "said"), "hello from db1");
    let items = ran.fact(0, "items");
    let outs: Vec<&Value> = items["results"]
        .as_array()
        .map(|r| r.iter().map(|i| &i["stdout"]).collect())
        .unwrap_or_default();
    assert_eq!(outs, [&json!("a"), &json!("b")]);
    assert_eq!(items["results"][1]["item"], "b");
    // until: three attempts, the third one registered.
    assert_eq!(ran.fact(0, "counter")["stdout"], "3");
}

const FAILS: &str = r#"- hosts: all
  tasks:
    - name: ignored
      command: /bin/false
      ignore_errors: true
      register: ig
    - name: breaks
      shell: echo oops >&2; exit 3
    - name: never
      shell: touch {{ dir }}/never
"#;

/// A failure stops its host's chain (an ignored one does not); the reported message names the
/// task and where it is written, while the registered `msg` stays the module's own words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_stops_the_host_and_says_which_task_where() {
    let dir = tempdir();
    let ran = run(&["db1"], FAILS, dir.path(), 5).await;
    assert_eq!(ran.code, exit::HOST_FAILED);
    assert_eq!(
        ran.results(),
        [
            ("ignored".into(), "db1".into(), Status::Ignored),
            ("breaks".into(), "db1".into(), Status::Failed),
        ]
    );
    assert_eq!(
        ran.msg("ignored", "db1").as_deref(),
        Some("task 'ignored' (play.yml:3): non-zero return code 1")
    );
    assert_eq!(
        ran.msg("breaks", "db1").as_deref(),
        Some("task 'breaks' (play.yml:7): non-zero return code 3")
    );
    assert_eq!(ran.fact(0, "ig")["msg"], "non-zero return code 1");
    assert_eq!(ran.fact(0, "ig")["rc"], 1);
    assert!(!dir.path().join("never").exists());
    let passed = ran
        .events
        .iter()
        .any(|e| matches!(e, Event::Passed { task_index: 2, host } if host == "db1"));
    assert!(passed, "the failed host passes over 'never'");
    let recap = ran.events.iter().find_map(|e| match e {
        Event::Recap { hosts, .. } => hosts.first().map(|(_, s)| s.clone()),
        _ => None,
    });
    let stats = recap.unwrap_or_default();
    assert_eq!(
        (stats.ok, stats.failed, stats.ignored, stats.unreachable),
        (1, 1, 1, 0)
    );
}

const CANNOT_START: &str = r#"- hosts: all
  tasks:
    - name: bad environment
      shell: echo hi
      environment:
        BAD-NAME: x
      ignore_errors: true
    - name: goes on
      shell: echo on
"#;

/// A command the (always reachable) local host could not start is the task's failure, not an
/// unreachable host: ignore_errors applies and the host goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_cannot_start_fails_the_task_not_the_host() {
    let dir = tempdir();
    let ran = run(&["db1"], CANNOT_START, dir.path(), 5).await;
    assert_eq!(ran.code, exit::OK, "{:?}", ran.results());
    assert_eq!(
        ran.results(),
        [
            ("bad environment".into(), "db1".into(), Status::Ignored),
            ("goes on".into(), "db1".into(), Status::Changed),
        ]
    );
    // The transport's host ("localhost", where it ran) is not the step's: it is said.
    assert_eq!(
        ran.msg("bad environment", "db1").as_deref(),
        Some(
            "task 'bad environment' (play.yml:3): localhost: invalid environment variable \
             name: \"BAD-NAME\""
        )
    );
}

const TIMEOUT: &str = r#"- hosts: all
  tasks:
    - name: too slow
      shell: sleep 30
      timeout: 1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_over_its_timeout_is_stopped_and_fails() {
    let dir = tempdir();
    let started = std::time::Instant::now();
    let ran = run(&["db1"], TIMEOUT, dir.path(), 5).await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(ran.code, exit::HOST_FAILED);
    assert_eq!(
        ran.msg("too slow", "db1").as_deref(),
        Some(
            "task 'too slow' (play.yml:3): took longer than its timeout of 1 s: pgplay \
             stopped it (SIGTERM to its processes on the host)"
        )
    );
}

const DELEGATED: &str = r#"- hosts: db1
  tasks:
    - name: on a host that is not there
      shell: echo hi
      delegate_to: gone
"#;

/// A step whose (delegated) host cannot be reached marks its host unreachable, naming the host
/// that could not be reached since it is not the step's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_delegate_is_named() {
    let dir = tempdir();
    let text = "all:\n  hosts:\n    db1: { ansible_connection: local }\n    \
                gone: { ansible_host: 127.0.0.1, ansible_port: 1 }\n";
    let ran = run_with_inventory(text, DELEGATED, dir.path(), 5).await;
    assert_eq!(ran.code, exit::UNREACHABLE);
    let msg = ran
        .msg("on a host that is not there", "db1")
        .unwrap_or_default();
    assert!(
        msg.starts_with(
            "task 'on a host that is not there' (play.yml:3): gone: cannot connect to \
             127.0.0.1 port 1: "
        ),
        "{msg}"
    );
}

const ORDER: &str = r#"- hosts: all
  tasks:
    - name: one
      # The first host is the slowest: hosts finish in another order than they start.
      shell: sleep 0.{{ 4 - inventory_hostname[1] | int }}
    - name: two
      shell: echo two
    - name: three
      debug:
        msg: three
"#;

/// What the engine emits for the reporters: the play first, the recap last (hosts in inventory
/// order), and per host its task start before its result, tasks in playbook order — whatever
/// the order in which parallel hosts finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_come_in_task_order_per_host() {
    let dir = tempdir();
    let hosts = ["h1", "h2", "h3"];
    let ran = run(&hosts, ORDER, dir.path(), 2).await;
    assert_eq!(ran.code, exit::OK, "{:?}", ran.results());
    assert!(matches!(ran.events.first(), Some(Event::PlayStart { .. })));
    match ran.events.last() {
        Some(Event::Recap { hosts: recap, .. }) => {
            let names: Vec<&str> = recap.iter().map(|(h, _)| h.as_str()).collect();
            assert_eq!(names, hosts);
        }
        other => panic!("the last event is not the recap: {other:?}"),
    }
    for host in hosts {
        let mut seen = Vec::new();
        let mut started: Option<String> = None;
        for e in &ran.events {
            match e {
                Event::TaskStart { task, host: h } if h == host => {
                    assert!(started.is_none(), "{host}: two tasks at once");
                    started = Some(task.clone());
                }
                Event::Result {
                    task,
                    host: h,
                    task_index,
                    ..
                } if h == host => {
                    assert_eq!(started.take().as_ref(), Some(task), "{host}");
                    seen.push(*task_index);
                }
                _ => {}
            }
        }
        assert_eq!(seen, [0, 1, 2], "{host}");
    }
}
