//! Support for the cluster suite: the sandbox, the real pgplay binary, and OpenSSH to read
//! the hosts back independently of pgplay.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

pub const STATE: &str = "/var/lib/pgplay-cluster";
pub const META: &str = "127.0.10.10";
pub const TEST1: &str = "127.0.10.11";
pub const TEST2: &str = "127.0.10.12";
pub const TEST3: &str = "127.0.10.13";
pub const ALL: [&str; 4] = [META, TEST1, TEST2, TEST3];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cluster(args: &[&str]) -> Result<String, String> {
    crate::run::sandbox("sandbox/cluster", args, &[])
}

/// The inventory of the plain mode, written by `sandbox/cluster up` (inventory/sandbox.yml
/// with patroni_enabled: false).
pub const PLAIN_INVENTORY: &str = "/var/lib/pgplay-cluster/sandbox-plain.yml";

/// Which sandbox runs: the suite starts on the plain one (PostgreSQL under
/// `postgres.service`) and ends on the Patroni one (`ha.rs`).
static PATRONI: AtomicBool = AtomicBool::new(false);

/// Start the sandbox in one mode (`down` first when the other one runs).
pub fn up_mode(patroni: bool) -> Result<(), String> {
    let want = if patroni { "patroni" } else { "plain" };
    let running = std::fs::read_to_string(format!("{STATE}/running-mode")).unwrap_or_default();
    if !running.trim().is_empty() && running.trim() != want {
        down();
    }
    PATRONI.store(patroni, Ordering::SeqCst);
    let env = [(
        "PGPLAY_CLUSTER_PATRONI",
        if patroni { "1" } else { "0" }.to_string(),
    )];
    // The Patroni hosts start fresh: a run stopped in the middle of a PITR leaves a paused
    // cluster behind, which no later test could start from.
    if patroni && running.trim() != want {
        crate::run::sandbox("sandbox/cluster", &["reset"], &env)?;
    }
    crate::run::sandbox("sandbox/cluster", &["up"], &env).map(|_| ())
}

pub fn down() {
    if let Err(e) = cluster(&["down"]) {
        eprintln!("{e}");
    }
}

/// Run a command on a sandbox host as root; (status, stdout, stderr).
pub fn ssh(host: &str, cmd: &str) -> (i32, String, String) {
    let out = Command::new("ssh")
        .args(["-F", "/dev/null", "-i", &format!("{STATE}/id_ed25519")])
        .args(["-o", &format!("UserKnownHostsFile={STATE}/known_hosts")])
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ControlMaster=no",
        ])
        .arg(format!("root@{host}"))
        .arg(cmd)
        .output();
    match out {
        Ok(o) => (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (-1, String::new(), format!("cannot run ssh: {e}")),
    }
}

/// Like `ssh`, but the command must succeed; returns stdout.
pub fn ok(host: &str, cmd: &str) -> String {
    let (code, out, err) = ssh(host, cmd);
    assert_eq!(code, 0, "on {host}: {cmd}\nstdout: {out}\nstderr: {err}");
    out
}

/// `pgbackrest info --output=json` of a stanza, read on a host as postgres.
pub fn info(host: &str, stanza: &str) -> Value {
    let out = ok(
        host,
        &format!("su - postgres -c 'pgbackrest --stanza={stanza} --output=json info'"),
    );
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    v.as_array()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or(Value::Null)
}

/// (label, type, references) of every backup set of a stanza.
pub fn backups(host: &str, stanza: &str) -> Vec<(String, String, Vec<String>)> {
    info(host, stanza)["backup"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|b| {
            (
                b["label"].as_str().unwrap_or("").to_string(),
                b["type"].as_str().unwrap_or("").to_string(),
                b["reference"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

pub use crate::run::Run;

/// Run pgplay against the sandbox inventory.
pub fn pgplay(args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgplay"));
    cmd.args(args).current_dir(repo());
    if !args.contains(&"-i") {
        let inventory = if PATRONI.load(Ordering::SeqCst) {
            "inventory/sandbox.yml"
        } else {
            PLAIN_INVENTORY
        };
        cmd.args(["-i", inventory]);
    }
    crate::run::run(cmd)
}
