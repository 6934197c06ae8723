//! Secrets in output (issue 9, item 9): every secret-named value, from any source, is masked in
//! text, diffs, JSON and load-time errors, however short; a secret that is also an ordinary
//! word ("pgBackRest", Pigsty's default cipher_pass) is masked only where it stands as the value.

use crate::support::{tempdir, write, Fleet};
use crate::test::Test;

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

pub fn masked_everywhere(fleet: &Fleet) {
    let dir = tempdir();
    let inv = fleet.inventory(dir.path(), &[HOST], "    db_pass: ab1\n");
    let pb = write(dir.path(), "secrets.yml", PLAYBOOK);
    let (pb, inv) = (pb.to_string_lossy(), inv.to_string_lossy());
    let play = || Test::new().args([&*pb, "-i", &*inv]);
    play().args(["-t", "old"]).code(0).run();

    // The diff's before side holds a secret no variable knows any more.
    play()
        .args(["--check", "--diff", "-v"])
        .code(0)
        .output_lacks_all(LEAKS)
        // the secret changed, masked
        .stdout_has_all(&["-repo1-cipher-pass=********", "+repo1-cipher-pass=********"])
        // an ordinary word is not masked
        .stdout_has("pgBackRest is the tool")
        .stdout_has("repo1-path=/pgbackrest")
        .run();

    play()
        .args(["--diff", "-v", "--output", "json"])
        .code(0)
        .output_lacks_all(LEAKS)
        .stdout_has("PGPASSWORD=********")
        .stdout_has("pgBackRest is the tool")
        .run();
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
    Test::new()
        .args(["inventory", "-i", &*bad.to_string_lossy(), "--list"])
        .fails()
        .output_lacks_all(LEAKS)
        .stderr_has_all(&["bad.yml:5:", "password: ********"])
        .run();
}
