//! Loading playbooks: what a task becomes, and what is refused with its place and a hint.
//!
//! Table tests: each case is a playbook text and what it lowers to (one line per task:
//! name, module, arguments as JSON, then the keywords that differ from their defaults), or
//! the pieces the error must hold (its file:line:col, key, message and hint).

use crate::builtin::Source;
use crate::playbook::{load_source, Task};

/// One line per task of every play, or the rendered error.
fn lower(text: &str) -> Result<Vec<String>, String> {
    let pb = load_source("t", "t.yml", text, Source::Builtin).map_err(|e| e.render())?;
    Ok(pb
        .plays
        .iter()
        .flat_map(|p| p.tasks.iter().map(line))
        .collect())
}

fn line(t: &Task) -> String {
    let mut out = format!(
        "{}: {} {}",
        t.name,
        t.action.module,
        serde_json::Value::Object(t.action.args.clone())
    );
    let mut add = |k: &str, v: String| out.push_str(&format!(" {k}={v}"));
    if !t.tags.is_empty() {
        add("tags", t.tags.join(","));
    }
    if !t.when.is_empty() {
        add("when", t.when.join(" & "));
    }
    if let Some(items) = &t.loop_items {
        add("loop", items.to_string());
    }
    if t.loop_var != "item" {
        add("loop_var", t.loop_var.clone());
    }
    if let Some(u) = &t.until {
        add(
            "until",
            format!("{u} retries={} delay={}", t.retries, t.delay),
        );
    }
    if let Some(b) = t.r#become {
        add("become", b.to_string());
    }
    if let Some(u) = &t.become_user {
        add("become_user", u.clone());
    }
    if let Some(n) = t.throttle {
        add("throttle", n.to_string());
    }
    if let Some(n) = t.timeout {
        add("timeout", n.to_string());
    }
    if !t.environment.is_empty() {
        add(
            "env",
            serde_json::Value::Object(t.environment.clone()).to_string(),
        );
    }
    if !t.after.is_empty() {
        add("after", t.after.join(","));
    }
    out
}

fn play(tasks: &str) -> String {
    format!("- hosts: all\n  tasks:\n{tasks}")
}

#[test]
fn tasks_lower_to_one_module_and_its_arguments() {
    for (tasks, want) in [
        (
            "    - ansible.builtin.systemd: { name: cron, state: started }\n",
            r#"service: service {"name":"cron","state":"started"}"#,
        ),
        (
            "    - name: hi\n      shell: echo hi; echo 'a b'\n",
            r#"hi: shell {"_raw_params":"echo hi; echo 'a b'"}"#,
        ),
        (
            "    - file: path=/x state=touch mode=0644\n",
            r#"file: file {"path":"/x","state":"touch","mode":"0644"}"#,
        ),
        (
            "    - command: /bin/true\n      args: { chdir: /tmp, _raw_params: ignored }\n",
            r#"command: command {"_raw_params":"/bin/true","chdir":"/tmp"}"#,
        ),
        ("    - debug:\n", "debug: debug {}"),
        (
            "    - set_fact: { anything: 1, goes: '{{ x }}' }\n",
            r#"set_fact: set_fact {"anything":1,"goes":"{{ x }}"}"#,
        ),
        (
            "    - copy: { dest: /x, content: y, mode: '{{ m }}', backup: maybe }\n",
            r#"copy: copy {"dest":"/x","content":"y","mode":"{{ m }}","backup":"maybe"}"#,
        ),
    ] {
        assert_eq!(lower(&play(tasks)), Ok(vec![want.to_string()]), "{tasks}");
    }
}

#[test]
fn task_keywords_and_their_defaults() {
    for (tasks, want) in [
        (
            "    - debug: {}\n      tags: 'a, b,'\n      when: [x, y]\n",
            "debug: debug {} tags=a,b when=x & y",
        ),
        (
            "    - debug: {}\n      with_items: [1, [2, 3], [[4]]]\n",
            "debug: debug {} loop=[1,2,3,[4]]",
        ),
        (
            "    - debug: {}\n      loop: '{{ xs }}'\n      loop_control: { loop_var: x, label: '{{ x }}' }\n",
            r#"debug: debug {} loop="{{ xs }}" loop_var=x"#,
        ),
        (
            "    - debug: {}\n      until: r is success\n",
            "debug: debug {} until=r is success retries=3 delay=5",
        ),
        (
            "    - debug: {}\n      until: ok\n      retries: '10'\n      delay: 0.5\n",
            "debug: debug {} until=ok retries=10 delay=0.5",
        ),
        (
            "    - debug: {}\n      timeout: 1.2\n      throttle: 2\n      become: yes\n      become_user: postgres\n",
            "debug: debug {} become=true become_user=postgres throttle=2 timeout=2",
        ),
    ] {
        assert_eq!(lower(&play(tasks)), Ok(vec![want.to_string()]), "{tasks}");
    }
}

#[test]
fn play_keywords_reach_every_task() {
    let text = "- hosts: all
  tags: p
  become: true
  environment: { A: '1' }
  tasks:
    - { name: one, debug: {}, tags: t, environment: { B: '2' } }
    - { name: two, debug: {}, become: false }
";
    assert_eq!(
        lower(text),
        Ok(vec![
            r#"one: debug {} tags=p,t become=true env={"A":"1","B":"2"}"#.to_string(),
            r#"two: debug {} tags=p become=false env={"A":"1"}"#.to_string(),
        ])
    );
}

#[test]
fn mistakes_are_refused_with_their_place_and_a_hint() {
    for (text, needles) in [
        (
            play("    - debg: {}\n"),
            &["t.yml:3:7: debg: unknown task keyword", "did you mean 'debug'?"][..],
        ),
        (
            play("    - copy: { dets: /x, content: y }\n"),
            &[
                "t.yml:3:7: copy.dets: unknown argument for copy (expected one of: src, content, dest, owner, group, mode, backup, force, validate)",
                "did you mean 'dest'?",
            ],
        ),
        (
            play("    - shell: echo\n      args: { chdri: /tmp }\n"),
            &["shell.chdri: unknown argument for shell (expected one of: cmd, chdir,", "did you mean 'chdir'?"],
        ),
        (
            play("    - pg_leader: { x: 1 }\n"),
            &["pg_leader.x: unknown argument for pg_leader (expected one of: )"],
        ),
        (
            play("    - debug: {}\n      shell: x\n"),
            &["t.yml:4:7: shell: a task runs one module, but this one names 'debug' (line 3) and 'shell'"],
        ),
        (
            play("    - name: nothing\n      tags: x\n"),
            &["t.yml:3:11: nothing: this task names no module", "modules: shell, command, copy, template, file, lineinfile, service, wait_for, debug, set_fact, assert, fail, backup_info, pg_leader, pg_database, pitr"],
        ),
        (
            play("    - file: path=/x oops\n"),
            &["t.yml:3:13: file: expected key=value arguments, found 'oops'"],
        ),
        (
            play("    - file: [/x]\n"),
            &["t.yml:3:13: file: module arguments must be a mapping, not a list"],
        ),
        (
            play("    - debug: {}\n      throttle: 0\n"),
            &["t.yml:4:17: throttle: throttle must be at least 1"],
        ),
        (
            play("    - debug: {}\n      timeout: 0\n"),
            &["timeout: timeout is in seconds and must be at least 1"],
        ),
        (
            play("    - debug: {}\n      run_once: '{{ x }}'\n"),
            &["run_once: templated booleans are not supported here"],
        ),
        (
            play("    - debug: {}\n      loop: { a: 1 }\n"),
            &["loop: expected a list (or a template that yields one)"],
        ),
        (
            play("    - debug: {}\n      loop_control: { loop_vr: x }\n"),
            &["loop_vr: unknown loop_control keyword", "did you mean 'loop_var'?"],
        ),
        (
            play("    - debug: {}\n      become_method: pbrun\n"),
            &["become_method: unsupported become method 'pbrun'", "sudo (the default) or su"],
        ),
        (
            play("    - import_tasks: '{{ f }}.yml'\n"),
            &["import_tasks: task file names are resolved when the playbook loads"],
        ),
        (
            play("    - include_tasks: more.yml\n"),
            &["t.yml:3:22: include_tasks: no built-in task file 'more.yml'"],
        ),
        (
            "- tasks: []\n".to_string(),
            &["t.yml:1:8: hosts: a play needs 'hosts:' (a host pattern)", "e.g. hosts: all"],
        ),
        (
            "- hosts: all\n  task: []\n".to_string(),
            &["t.yml:2:3: task: unknown play keyword", "did you mean 'tasks'?"],
        ),
        (
            "hosts: all\n".to_string(),
            &["a playbook must be a list of plays, not a mapping"],
        ),
        (
            "- hosts: all\n  tasks: [\n".to_string(),
            &["t.yml:", "YAML syntax error"],
        ),
    ] {
        match lower(&text) {
            Ok(tasks) => panic!("accepted:\n{text}\n{tasks:?}"),
            Err(e) => {
                for n in needles {
                    assert!(e.contains(n), "wanted {n:?} in:\n{e}\nfor:\n{text}");
                }
            }
        }
    }
}

#[test]
fn after_names_an_earlier_task_of_the_same_play() {
    let ok = play("    - { name: a, debug: {} }\n    - { name: b, debug: {}, after: a }\n");
    assert_eq!(
        lower(&ok).map(|t| t[1].clone()),
        Ok("b: debug {} after=a".to_string())
    );
    for (tasks, want) in [
        (
            "    - { name: a, debug: {}, after: b }\n    - { name: b, debug: {} }\n",
            "task 'a' waits for 'b', which comes after it (a cycle)",
        ),
        (
            "    - { name: a, debug: {} }\n    - { name: b, debug: {}, after: [aa] }\n",
            "task 'b' waits for an unknown task 'aa'",
        ),
    ] {
        match lower(&play(tasks)) {
            Ok(t) => panic!("accepted {tasks}: {t:?}"),
            Err(e) => assert!(e.contains(want), "wanted {want:?} in {e}"),
        }
    }
}

#[test]
fn task_files_are_imported_from_the_playbook_folder_with_their_place() {
    let Ok(dir) = tempfile::tempdir() else {
        panic!("no temporary directory")
    };
    let write = |name: &str, text: &str| {
        if let Err(e) = std::fs::write(dir.path().join(name), text) {
            panic!("{name}: {e}");
        }
    };
    write(
        "inner.yml",
        "- { name: inside, debug: {} }\n- { name: bad, debug: {}, whn: x }\n",
    );
    let text = "- hosts: all\n  tasks:\n    - import_tasks: inner.yml\n      tags: imported\n";
    let source = Source::Dir(dir.path().to_path_buf());
    let got = load_source("t", "t.yml", text, source).map_err(|e| e.to_string());
    let inner = dir.path().join("inner.yml");
    match got {
        Ok(_) => panic!("the bad task of inner.yml was accepted"),
        Err(e) => assert!(
            e.contains(&format!(
                "{}:2:27: whn: unknown task keyword",
                inner.display()
            )),
            "{e}"
        ),
    }
    write("inner.yml", "- { name: inside, debug: {} }\n");
    let source = Source::Dir(dir.path().to_path_buf());
    match load_source("t", "t.yml", text, source) {
        Ok(pb) => assert_eq!(
            line(&pb.plays[0].tasks[0]),
            "inside: debug {} tags=imported"
        ),
        Err(e) => panic!("{e}"),
    }
}

/// Every built-in playbook loads (the binary ships nothing it would refuse).
#[test]
fn every_builtin_playbook_loads() {
    for name in crate::builtin::playbook_names() {
        if let Err(e) = crate::playbook::load(name) {
            panic!("{name}: {e}");
        }
    }
}
