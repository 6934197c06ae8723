//! A bare name is always a built-in playbook; only a path is a file (in a Pigsty directory,
//! `./pgsql.yml` is Pigsty's own Ansible playbook). The play banner says which one runs.
//! Also `--syntax-check`, `-l @FILE`, `-i host1,host2,`, `-b`/`--become-user` and
//! `--version` (with the commit), `--output json` for listings and the recap, `--log FILE`, as in
//! ansible-playbook, and
//! `inventory --graph` drawn as ansible-inventory draws it.

use crate::support::{pgplay_in, tempdir, write, Fleet};

/// Read-only on the host it uses (a debug task and a --check run).
const HOST: usize = 19;

pub fn bare_names_are_built_in_and_paths_are_files(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[HOST], "    node_crontab: []\n");
    let inv = inv.to_string_lossy().into_owned();
    write(
        dir.path(),
        "pgsql.yml",
        "- name: PIGSTY'S OWN\n  hosts: all\n  tasks:\n    - name: an ansible task\n      debug: { msg: x }\n",
    );
    write(
        dir.path(),
        "site.yml",
        "- name: SITE\n  hosts: all\n  tasks:\n    - name: hello\n      debug: { msg: hi }\n",
    );
    // a bare name is the built-in, even with ./pgsql.yml in the directory
    let run = pgplay_in(dir.path(), &["pgsql.yml", "-i", &inv, "--list-tasks"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("probe pgBackRest") && !run.stdout.contains("an ansible task"),
        "{}",
        run.all()
    );
    // a path is the file
    let run = pgplay_in(dir.path(), &["./pgsql.yml", "-i", &inv, "--list-tasks"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("an ansible task"), "{}", run.all());
    // a bare name that is no built-in is refused, and the path is offered
    let run = pgplay_in(dir.path(), &["site.yml", "-i", &inv]);
    assert_eq!(run.code, 5, "{}", run.all());
    assert!(
        run.stderr.contains("'site.yml' is not a built-in playbook")
            && run.stderr.contains("give its path: ./site.yml"),
        "{}",
        run.all()
    );
    let run = pgplay_in(dir.path(), &["./nope.yml", "-i", &inv]);
    assert_eq!(run.code, 5, "{}", run.all());
    assert!(
        run.stderr.contains("./nope.yml: no such file"),
        "{}",
        run.all()
    );
    // --syntax-check: the playbook alone, no inventory, nothing runs
    let run = pgplay_in(dir.path(), &["./site.yml", "--syntax-check"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("playbook: ./site.yml (file ./site.yml)"),
        "{}",
        run.all()
    );
    write(
        dir.path(),
        "broken.yml",
        "- hosts: all\n  tasks:\n    - name: x\n      copy: { dets: /x }\n",
    );
    let run = pgplay_in(dir.path(), &["./broken.yml", "--syntax-check"]);
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(run.stderr.contains("did you mean 'dest'"), "{}", run.all());
    // -l @FILE: host patterns from a file
    let addr = fleet.addr(HOST);
    write(dir.path(), "retry.txt", &format!("# retry\n\n{addr}\n"));
    let run = pgplay_in(
        dir.path(),
        &["./site.yml", "-i", &inv, "-l", "@retry.txt", "--list-hosts"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains(&addr), "{}", run.all());
    let run = pgplay_in(dir.path(), &["./site.yml", "-i", &inv, "-l", "@nope.txt"]);
    assert_eq!(run.code, 5, "{}", run.all());
    assert!(run.stderr.contains("-l @nope.txt"), "{}", run.all());
    // -i as a host list (a comma, not a file), and -i that names no file
    let list = format!("{addr},127.0.40.99,");
    let run = pgplay_in(dir.path(), &["inventory", "-i", &list, "--graph"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.stdout,
        format!("@all:\n  |--@ungrouped:\n  |  |--{addr}\n  |  |--127.0.40.99\n"),
        "{}",
        run.all()
    );
    let run = pgplay_in(
        dir.path(),
        &["./site.yml", "-i", &list, "-l", &addr, "--list-hosts"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains(&addr) && !run.stdout.contains("127.0.40.99"),
        "{}",
        run.all()
    );
    let run = pgplay_in(dir.path(), &["./site.yml", "-i", "nope.yml"]);
    assert_eq!(run.code, 5, "{}", run.all());
    assert!(
        run.stderr.contains("-i nope.yml: no such file"),
        "{}",
        run.all()
    );
    // the banner says which one runs
    let run = pgplay_in(dir.path(), &["./site.yml", "-i", &inv, "--output", "text"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("PLAY [SITE] (file ./site.yml)"),
        "{}",
        run.all()
    );
    let node_check = |output: &str| {
        pgplay_in(
            dir.path(),
            &[
                "node",
                "-i",
                &inv,
                "-t",
                "node_crontab",
                "--check",
                "--output",
                output,
            ],
        )
    };
    let run = node_check("text");
    assert!(run.stdout.contains("(built-in node)"), "{}", run.all());
    let run = node_check("json");
    assert!(
        run.events()
            .iter()
            .any(|e| e["playbook"] == "built-in node"),
        "{}",
        run.all()
    );
    // -b / --become-user: the default below a task's own become (and the host's variables)
    write(
        dir.path(),
        "who.yml",
        "- hosts: all\n  tasks:\n    - name: who\n      command: id -un\n      changed_when: false\n    - name: who without become\n      become: false\n      command: id -un\n      changed_when: false\n",
    );
    let whoami = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["./who.yml", "-i", &inv, "--output", "json"];
        args.extend_from_slice(extra);
        let run = pgplay_in(dir.path(), &args);
        assert_eq!(run.code, 0, "{}", run.all());
        run.events()
            .iter()
            .filter(|e| e["event"] == "result")
            .map(|e| e["result"]["stdout"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    assert_eq!(whoami(&[]), ["root", "root"]);
    assert_eq!(
        whoami(&["-b", "--become-user", "nobody"]),
        ["nobody", "root"]
    );
    // --output json for the listings, and the recap's hosts as an object
    let run = pgplay_in(
        dir.path(),
        &[
            "./site.yml",
            "-i",
            &inv,
            "--list-hosts",
            "--list-tasks",
            "--list-tags",
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let listing: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap_or_default();
    assert_eq!(listing["origin"], "file ./site.yml", "{}", run.all());
    assert_eq!(
        listing["plays"][0]["hosts"][0],
        addr.as_str(),
        "{}",
        run.all()
    );
    assert_eq!(
        listing["plays"][0]["tasks"][0]["name"],
        "hello",
        "{}",
        run.all()
    );
    assert!(listing["plays"][0]["tags"].is_array(), "{}", run.all());
    let run = pgplay_in(dir.path(), &["./site.yml", "-i", &inv, "--output", "json"]);
    let recap = run
        .events()
        .into_iter()
        .find(|e| e["event"] == "recap")
        .unwrap_or_default();
    assert_eq!(recap["hosts"][addr.as_str()]["ok"], 1, "{}", run.all());
    // --log FILE: every task's full output, stamped, secrets masked, readable by its owner only
    write(
        dir.path(),
        "secret.yml",
        "- hosts: all\n  vars:\n    db_password: Zq8-secret-Pw\n  tasks:\n    - name: echo it\n      command: echo full-output-{{ db_password }}\n      changed_when: false\n",
    );
    let run = pgplay_in(
        dir.path(),
        &[
            "./secret.yml",
            "-i",
            &inv,
            "--log",
            "run.log",
            "--output",
            "text",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stdout.contains("full-output-"), "{}", run.all());
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap_or_default();
    assert!(
        log.contains("| TASK [echo it]")
            && log.contains("full-output-")
            && !log.contains("Zq8-secret-Pw"),
        "{log}"
    );
    assert!(
        log.lines()
            .all(|l| l.starts_with("20") && l.contains("+00 | ")),
        "{log}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode =
        std::fs::metadata(dir.path().join("run.log")).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o600));
    let run = pgplay_in(
        dir.path(),
        &["./site.yml", "-i", &inv, "--log", "/nonexistent/dir/x.log"],
    );
    assert_eq!(run.code, 5, "{}", run.all());
    assert!(
        run.stderr.contains("--log /nonexistent/dir/x.log"),
        "{}",
        run.all()
    );
    // --version names the commit the binary was built from
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(crate::support::repo())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let run = pgplay_in(dir.path(), &["--version"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        !head.is_empty() && run.stdout.contains(&format!("(commit {head}, built 20")),
        "{head}: {}",
        run.all()
    );
}
