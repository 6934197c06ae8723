//! Test support: the fleet sandbox (real sshd hosts), running the real pgplay binary, and
//! reading hosts back over plain OpenSSH (independent of pgplay's own transport).

use std::path::{Path, PathBuf};
use std::process::Command;

pub use crate::run::Run;

/// Where the test fleet keeps its state (separate from a user's own fleet);
/// `PGPLAY_IT_FLEET_DIR` moves it, so that two checkouts can run the suite side by side.
fn fleet_dir() -> String {
    std::env::var("PGPLAY_IT_FLEET_DIR").unwrap_or_else(|_| "/var/tmp/pgplay-it-fleet".into())
}

/// The test fleet's hosts are 127.0.40.x, away from the 127.0.20.x of a user's own fleet;
/// `PGPLAY_IT_FLEET_BASE` (a number, 30..=49) picks another third octet.
fn fleet_base() -> u8 {
    std::env::var("PGPLAY_IT_FLEET_BASE")
        .ok()
        .and_then(|v| v.parse::<u8>().ok())
        .filter(|b| (30..=49).contains(b))
        .unwrap_or(40)
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Fleet {
    pub dir: PathBuf,
}

fn fleet_cmd(args: &[&str]) -> Result<String, String> {
    crate::run::sandbox(
        "sandbox/fleet",
        args,
        &[
            ("PGPLAY_FLEET_DIR", fleet_dir()),
            ("PGPLAY_FLEET_BASE", fleet_base().to_string()),
        ],
    )
}

impl Fleet {
    /// Fresh hosts 1..=n (earlier changes to their /etc are wiped).
    pub fn up(n: usize) -> Result<Fleet, String> {
        fleet_cmd(&["reset"])?;
        fleet_cmd(&["up", &n.to_string()])?;
        Ok(Fleet {
            dir: PathBuf::from(fleet_dir()),
        })
    }

    pub fn down(&self) {
        if let Err(e) = fleet_cmd(&["down"]) {
            eprintln!("{e}");
        }
    }

    pub fn stop_host(&self, i: usize) -> Result<String, String> {
        fleet_cmd(&["stop-host", &i.to_string()])
    }

    pub fn start_host(&self, i: usize) -> Result<String, String> {
        fleet_cmd(&["start-host", &i.to_string()])
    }

    pub fn addr(&self, i: usize) -> String {
        format!("127.0.{}.{i}", fleet_base())
    }

    pub fn key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// Run a command on host i with OpenSSH; returns (exit status, stdout).
    pub fn ssh(&self, i: usize, cmd: &str) -> (i32, String) {
        self.ssh_input(i, cmd, b"")
    }

    /// [`Fleet::ssh`] with `input` on the command's stdin (e.g. a password for chpasswd,
    /// which then never is in any argv).
    pub fn ssh_input(&self, i: usize, cmd: &str, input: &[u8]) -> (i32, String) {
        use std::io::Write;
        let child = Command::new("ssh")
            .args(["-F", "/dev/null", "-i"])
            .arg(self.key())
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.known_hosts().display()
            ))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ControlMaster=no",
                "-o",
                "ConnectTimeout=5",
            ])
            .arg(format!("root@{}", self.addr(i)))
            .arg(cmd)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let out = child.and_then(|mut c| {
            if let Some(mut stdin) = c.stdin.take() {
                stdin.write_all(input)?;
            }
            c.wait_with_output()
        });
        match out {
            Ok(o) => (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
            ),
            Err(e) => (-1, format!("cannot run ssh: {e}")),
        }
    }

    /// The content of a file on host i (panics with a clear message if unreadable).
    pub fn read(&self, i: usize, path: &str) -> String {
        let (code, out) = self.ssh(i, &format!("cat {path}"));
        assert_eq!(code, 0, "cannot read {path} on host {i}: {out}");
        out
    }

    /// sha256 of a file on each host (or "missing").
    pub fn sums(&self, hosts: &[usize], path: &str) -> Vec<String> {
        hosts
            .iter()
            .map(|i| {
                let (_, out) =
                    self.ssh(*i, &format!("sha256sum {path} 2>/dev/null || echo missing"));
                out.trim().to_string()
            })
            .collect()
    }

    /// A Pigsty-style inventory of hosts `hosts` (group `fleet`, plus `vars` YAML lines under
    /// all.vars, indented by the caller with 4 spaces) written into `dir`.
    pub fn inventory(&self, dir: &Path, hosts: &[usize], vars: &str) -> PathBuf {
        let mut text = String::from("all:\n  children:\n    fleet:\n      hosts:\n");
        for i in hosts {
            text.push_str(&format!(
                "        {}: {{ fleet_seq: {i} }}\n",
                self.addr(*i)
            ));
        }
        text.push_str(&format!(
            "  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n    pgplay_known_hosts: {}\n",
            self.key().display(),
            self.known_hosts().display()
        ));
        text.push_str(vars);
        let path = dir.join("inventory.yml");
        if let Err(e) = std::fs::write(&path, text) {
            panic!("cannot write {}: {e}", path.display());
        }
        path
    }
}

pub fn pgplay<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    pgplay_in(&repo(), args)
}

/// The transport the suite runs with: `PGPLAY_IT_CONNECTION=openssh` runs every playbook
/// test over the system's OpenSSH client instead of russh.
pub fn connection() -> Option<String> {
    std::env::var("PGPLAY_IT_CONNECTION")
        .ok()
        .filter(|c| !c.is_empty())
}

/// The pgplay binary under test: cargo's build of this checkout, or `PGPLAY_BIN` (CI runs the
/// suite again with the static release binary). A `PGPLAY_BIN` that is not a file fails the
/// test rather than quietly testing another binary.
pub fn bin() -> PathBuf {
    match std::env::var_os("PGPLAY_BIN").filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "PGPLAY_BIN={} is not a file", p.display());
            p
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_pgplay")),
    }
}

pub fn pgplay_in<S: AsRef<std::ffi::OsStr>>(cwd: &Path, args: &[S]) -> Run {
    pgplay_env(cwd, args, &[])
}

/// pgplay's subcommands: they connect to no host and refuse `-c`.
const SUBCOMMANDS: [&str; 5] = ["inventory", "config", "help", "completions", "man"];

/// pgplay in `cwd` (also its HOME) with these environment variables added; a playbook run
/// gets the suite's `-c` (see [`connection`]).
pub fn pgplay_env<S: AsRef<std::ffi::OsStr>>(cwd: &Path, args: &[S], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(bin());
    cmd.envs(env.iter().copied());
    cmd.args(args);
    let subcommand = args
        .first()
        .is_some_and(|a| SUBCOMMANDS.iter().any(|s| a.as_ref() == *s));
    if let (Some(c), false) = (connection(), subcommand) {
        cmd.args(["-c", &c]);
    }
    cmd.current_dir(cwd).env("HOME", cwd);
    crate::run::run(cmd)
}

pub fn tempdir() -> tempfile::TempDir {
    match tempfile::Builder::new()
        .prefix("pgplay-it-")
        .tempdir_in("/var/tmp")
    {
        Ok(d) => d,
        Err(e) => panic!("cannot create a temp dir: {e}"),
    }
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Err(e) = std::fs::write(&p, text) {
        panic!("cannot write {}: {e}", p.display());
    }
    p
}
