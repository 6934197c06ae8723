//! A login password for the system's `ssh`, without argv: pgplay is its own `SSH_ASKPASS`.
//!
//! OpenSSH reads passwords only from a terminal or from an askpass program, never from an
//! option; `sshpass -p` would put the password in argv, where every user sees it. So the
//! openssh transport writes the password into a 0600 file inside its private 0700 control
//! directory, starts the master with `SSH_ASKPASS` naming the pgplay binary,
//! `SSH_ASKPASS_REQUIRE=force` and the file's path in the environment, and removes the file as
//! soon as the master is connected (or failed). ssh runs the askpass program with the prompt
//! as its only argument; pgplay then answers only a password prompt for the expected
//! `user@host` — never a host key question, and never a jump host's password prompt (that
//! would hand the target's password to another machine) — and exits non-zero otherwise, which
//! ssh takes as "no".

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::secret::Secret;

/// The password file's path (set on the master, read by the askpass run).
const FILE_VAR: &str = "PGPLAY_ASKPASS_FILE";
/// The `user@host` names whose password prompt is answered, one per line.
const FOR_VAR: &str = "PGPLAY_ASKPASS_FOR";

/// When ssh runs pgplay as its askpass program: answer (or refuse) and return the exit code.
/// `None` in a normal run. Called first thing by `main`.
pub fn answer_if_asked() -> Option<i32> {
    let file = std::env::var_os(FILE_VAR)?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let [prompt] = &args[..] else {
        return None;
    };
    let accepted = std::env::var(FOR_VAR).unwrap_or_default();
    let accepted: Vec<&str> = accepted.lines().filter(|l| !l.is_empty()).collect();
    if !is_password_prompt(&prompt.to_string_lossy(), &accepted) {
        return Some(1);
    }
    let Ok(password) = std::fs::read(PathBuf::from(file)) else {
        return Some(1);
    };
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(&password)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    Some(if written.is_ok() { 0 } else { 1 })
}

/// `alice@db1's password: ` (password authentication) or `(alice@db1) Password: `
/// (keyboard-interactive, OpenSSH 8.4+) for one of `accepted` (`alice@db1`).
fn is_password_prompt(prompt: &str, accepted: &[&str]) -> bool {
    let p = prompt.trim();
    accepted.iter().any(|who| {
        p.strip_prefix(&format!("{who}'s "))
            .or_else(|| p.strip_prefix(&format!("({who}) ")))
            .is_some_and(|rest| rest.eq_ignore_ascii_case("password:"))
    })
}

/// The password file of one master; removed when dropped.
pub(crate) struct Askpass {
    path: PathBuf,
    program: PathBuf,
    accepted: Vec<String>,
}

impl Askpass {
    /// Write `password` to a new 0600 file in `dir` (the master's private directory).
    /// `program` is what ssh runs (the pgplay binary); `accepted` the `user@host` names.
    pub(crate) fn new(
        dir: &Path,
        password: &Secret,
        program: PathBuf,
        accepted: Vec<String>,
    ) -> std::io::Result<Askpass> {
        let path = dir.join("askpass");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(password.expose().as_bytes())?;
        Ok(Askpass {
            path,
            program,
            accepted,
        })
    }

    /// The environment of the ssh master.
    pub(crate) fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("SSH_ASKPASS", self.program.clone().into_os_string()),
            ("SSH_ASKPASS_REQUIRE", "force".into()),
            (FILE_VAR, self.path.clone().into_os_string()),
            (FOR_VAR, self.accepted.join("\n").into()),
        ]
    }
}

impl Drop for Askpass {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_only_its_own_password_prompt() {
        let ok = ["alice@db1", "alice@127.0.0.25"];
        assert!(is_password_prompt("alice@db1's password: ", &ok));
        assert!(is_password_prompt("(alice@127.0.0.25) Password: ", &ok));
        assert!(!is_password_prompt("root@bastion's password: ", &ok));
        assert!(!is_password_prompt("alice@db1's password for sudo: ", &ok));
        assert!(!is_password_prompt(
            "Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
            &ok
        ));
        assert!(!is_password_prompt("Enter passphrase for key '/k': ", &ok));
        assert!(!is_password_prompt("(alice@db1) Verification code: ", &ok));
        assert!(!is_password_prompt("alice@db1's password: ", &[]));
    }

    #[test]
    fn the_file_is_private_and_removed() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let pw = Secret::new("pw-in-file");
        let a = Askpass::new(dir.path(), &pw, PathBuf::from("/bin/false"), vec![]);
        let Ok(a) = a else { panic!("askpass file") };
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&a.path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        assert_eq!(std::fs::read(&a.path).ok(), Some(b"pw-in-file".to_vec()));
        let env = a.env();
        assert!(env
            .iter()
            .all(|(_, v)| !v.to_string_lossy().contains("pw-in")));
        let path = a.path.clone();
        drop(a);
        assert!(!path.exists());
    }
}
