//! A bare name is always a built-in playbook; only a path is a file (in a Pigsty directory,
//! `./pgsql.yml` is Pigsty's own Ansible playbook). The play banner says which one runs.
//! Also `--syntax-check`, `-l @FILE`, `-i host1,host2,`, `-b`/`--become-user` and
//! `--version` (with the commit), `--output json` for listings and the recap, `--log FILE`, as in
//! ansible-playbook, and
//! `inventory --graph` drawn as ansible-inventory draws it.

use crate::support::{tempdir, write, Fleet};
use crate::test::Test;

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
    let at = || Test::in_dir(dir.path());
    // a bare name is the built-in, even with ./pgsql.yml in the directory
    at().args(["pgsql.yml", "-i", &inv, "--list-tasks"])
        .code(0)
        .stdout_has("probe pgBackRest")
        .stdout_lacks("an ansible task")
        .run();
    // a path is the file
    at().args(["./pgsql.yml", "-i", &inv, "--list-tasks"])
        .code(0)
        .stdout_has("an ansible task")
        .run();
    // a bare name that is no built-in is refused, and the path is offered
    at().args(["site.yml", "-i", &inv])
        .code(5)
        .stderr_has("'site.yml' is not a built-in playbook")
        .stderr_has("give its path: ./site.yml")
        .run();
    at().args(["./nope.yml", "-i", &inv])
        .code(5)
        .stderr_has("./nope.yml: no such file")
        .run();
    // --syntax-check: the playbook alone, no inventory, nothing runs
    at().args(["./site.yml", "--syntax-check"])
        .code(0)
        .stdout_has("playbook: ./site.yml (file ./site.yml)")
        .run();
    write(
        dir.path(),
        "broken.yml",
        "- hosts: all\n  tasks:\n    - name: x\n      copy: { dets: /x }\n",
    );
    at().args(["./broken.yml", "--syntax-check"])
        .code(4)
        .stderr_has("did you mean 'dest'")
        .run();
    // -l @FILE: host patterns from a file
    let addr = fleet.addr(HOST);
    write(dir.path(), "retry.txt", &format!("# retry\n\n{addr}\n"));
    at().args(["./site.yml", "-i", &inv, "-l", "@retry.txt", "--list-hosts"])
        .code(0)
        .stdout_has(&addr)
        .run();
    at().args(["./site.yml", "-i", &inv, "-l", "@nope.txt"])
        .code(5)
        .stderr_has("-l @nope.txt")
        .run();
    // -i as a host list (a comma, not a file), and -i that names no file
    let list = format!("{addr},127.0.40.99,");
    at().args(["inventory", "-i", &list, "--graph"])
        .code(0)
        .stdout_is(&format!(
            "@all:\n  |--@ungrouped:\n  |  |--{addr}\n  |  |--127.0.40.99\n"
        ))
        .run();
    at().args(["./site.yml", "-i", &list, "-l", &addr, "--list-hosts"])
        .code(0)
        .stdout_has(&addr)
        .stdout_lacks("127.0.40.99")
        .run();
    at().args(["./site.yml", "-i", "nope.yml"])
        .code(5)
        .stderr_has("-i nope.yml: no such file")
        .run();
    // the banner says which one runs
    at().args(["./site.yml", "-i", &inv, "--output", "text"])
        .code(0)
        .stdout_has("PLAY [SITE] (file ./site.yml)")
        .run();
    let node_check = |output: &str| {
        at().args(["node", "-i", &inv, "-t", "node_crontab", "--check"])
            .args(["--output", output])
    };
    node_check("text").stdout_has("(built-in node)").run();
    let run = node_check("json").run();
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
        let run = at()
            .args(["./who.yml", "-i", &inv, "--output", "json"])
            .args(extra)
            .code(0)
            .run();
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
    let run = at()
        .args([
            "./site.yml",
            "-i",
            &inv,
            "--list-hosts",
            "--list-tasks",
            "--list-tags",
        ])
        .args(["--output", "json"])
        .code(0)
        .run();
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
    let run = at()
        .args(["./site.yml", "-i", &inv, "--output", "json"])
        .run();
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
    at().args([
        "./secret.yml",
        "-i",
        &inv,
        "--log",
        "run.log",
        "--output",
        "text",
    ])
    .code(0)
    .stdout_lacks("full-output-")
    .run();
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
    at().args(["./site.yml", "-i", &inv, "--log", "/nonexistent/dir/x.log"])
        .code(5)
        .stderr_has("--log /nonexistent/dir/x.log")
        .run();
    // --version names the commit the binary was built from
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(crate::support::repo())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert!(!head.is_empty(), "git rev-parse HEAD said nothing");
    at().arg("--version")
        .code(0)
        .stdout_has(&format!("(commit {head}, built 20"))
        .run();
}
