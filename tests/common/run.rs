//! What the integration suites share: a finished pgplay run and how to read its output
//! (`tests/it` and `tests/cluster` include this file as their `run` module).

#![allow(dead_code)]

use std::process::Command;

use serde_json::Value;

/// A finished pgplay run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// JSON events (with --output json).
    pub fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Per-host recap stats from the JSON output.
    pub fn recap(&self) -> Vec<(String, Value)> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == "recap")
            .flat_map(|e| {
                e["hosts"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
            })
            .collect()
    }

    /// `(task, host, status)` of every result event.
    pub fn results(&self) -> Vec<(String, String, String)> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == "result")
            .map(|e| {
                (
                    e["task"].as_str().unwrap_or("").to_string(),
                    e["host"].as_str().unwrap_or("").to_string(),
                    e["status"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Assert that stdout holds every needle (the whole run is shown when one is missing).
    pub fn stdout_has(&self, needles: &[&str]) {
        for needle in needles {
            assert!(
                self.stdout.contains(needle),
                "wanted {needle:?}: {}",
                self.all()
            );
        }
    }

    pub fn all(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run a prepared command to the end.
pub fn run(mut cmd: Command) -> Run {
    match cmd.output() {
        Ok(o) => Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Err(e) => Run {
            code: -1,
            stdout: String::new(),
            stderr: format!("cannot run pgplay: {e}"),
        },
    }
}

/// Run a sandbox script (`sandbox/fleet`, `sandbox/cluster`) from the repository with
/// `args`; its combined output, or an error that shows it.
pub fn sandbox(script: &str, args: &[&str], env: &[(&str, String)]) -> Result<String, String> {
    let mut cmd = Command::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(script));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {script}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{script} {} failed:\n{text}", args.join(" ")))
    }
}
