//! Secrets in output (issue 9, item 9): every secret-named value, from any source, is masked in
//! text, diffs, JSON and load-time errors, however short; a secret that is also an ordinary
//! word ("pgBackRest", Pigsty's default cipher_pass) is masked only where it stands as the value.

use crate::support::{pgplay, tempdir, write, Fleet};

const HOST: usize = 27;

const PLAYBOOK: &str = r#"- name: secrets
  hosts: all
  defaults:
    cipher_pass: pgBackRest
  vars:
    api_token: Tok3n.From.Vars
  tasks:
    - name: an old configuration
      tags: old
      copy:
        dest: /root/secret.conf
        content: "[global]\nrepo1-cipher-pass=Old.Secret.9\nrepo1-path=/pgbackrest\n"
    - name: the new configuration
      copy:
        dest: /root/secret.conf
        content: "[global]\nrepo1-cipher-pass={{ cipher_pass }}\nrepo1-s3-key-secret={{ db_pass }}\nrepo1-path=/pgbackrest\n"
    - name: the tool's name stays readable
      debug:
        msg: "pgBackRest is the tool; token {{ api_token }}"
    - name: a short secret as a value
      shell: echo "PGPASSWORD={{ db_pass }}"
"#;

const LEAKS: &[&str] = &[
    "Old.Secret.9",
    "Tok3n.From.Vars",
    "=pgBackRest",
    "=ab1",
    "Hidden.Value.1",
];

fn assert_no_leak(what: &str, text: &str) {
    for leak in LEAKS {
        assert!(!text.contains(leak), "{what}: '{leak}' leaked:\n{text}");
    }
}

pub fn masked_everywhere(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[HOST], "    db_pass: ab1\n");
    let pb = write(dir.path(), "secrets.yml", PLAYBOOK);
    let (pb, inv) = (pb.to_string_lossy(), inv.to_string_lossy());
    let old = pgplay(&[&*pb, "-i", &*inv, "-t", "old"]);
    assert_eq!(old.code, 0, "{}", old.all());

    // The diff's before side holds a secret no variable knows any more.
    let check = pgplay(&[&*pb, "-i", &*inv, "--check", "--diff", "-v"]);
    assert_eq!(check.code, 0, "{}", check.all());
    assert_no_leak("--check --diff", &check.all());
    assert!(
        check.stdout.contains("-repo1-cipher-pass=********")
            && check.stdout.contains("+repo1-cipher-pass=********"),
        "the diff should show that the secret changed, masked:\n{}",
        check.all()
    );
    assert!(
        check.stdout.contains("pgBackRest is the tool"),
        "an ordinary word was masked:\n{}",
        check.all()
    );
    assert!(
        check.stdout.contains("repo1-path=/pgbackrest"),
        "{}",
        check.all()
    );

    let run = pgplay(&[&*pb, "-i", &*inv, "--diff", "-v", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_leak("json", &run.all());
    assert!(run.stdout.contains("PGPASSWORD=********"), "{}", run.all());
    assert!(
        run.stdout.contains("pgBackRest is the tool"),
        "{}",
        run.all()
    );
    // The host's file does hold them: masking is in the output only.
    let conf = fleet.read(HOST, "/root/secret.conf");
    assert!(
        conf.contains("repo1-cipher-pass=pgBackRest") && conf.contains("=ab1"),
        "{conf}"
    );

    // A load-time error shows the line it points at, without the secret on it.
    let bad = write(
        dir.path(),
        "bad.yml",
        "all:\n  hosts:\n    h1: { ansible_host: 127.0.0.1 }\n  vars:\n    db: { password: Hidden.Value.1, x: [ }\n",
    );
    let err = pgplay(&["inventory", "-i", &*bad.to_string_lossy(), "--list"]);
    assert_ne!(err.code, 0, "{}", err.all());
    assert!(err.stderr.contains("bad.yml:5:"), "{}", err.all());
    assert!(err.stderr.contains("password: ********"), "{}", err.all());
    assert_no_leak("load error", &err.all());
}
