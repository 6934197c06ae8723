//! Events the engine emits, and the reporters that render them.
//!
//! The engine never prints: it sends `Event`s over a channel to one reporter task, which
//! renders each event whole (outputs of parallel hosts never interleave mid-line). Reporters:
//! `text` (Ansible-like `TASK [...]` / `ok: [host]` lines and a PLAY RECAP), `json` (JSON
//! lines, one per (task, host) and a final summary), `progress` (indicatif bars on a TTY,
//! with failures printed in full). Secrets are masked before an event is sent (`crate::mask`).

pub mod color;
pub mod inventory;
pub mod json;
pub mod listing;
mod order;
pub mod progress;
pub mod text;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// How a (task, host) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
    Ignored,
}

/// A selected task, as announced at the start of a play.
#[derive(Clone, Debug, Serialize)]
pub struct TaskInfo {
    pub index: usize,
    pub name: String,
    /// Runs on the first host only (the others report nothing).
    pub run_once: bool,
}

/// Per-host totals for the recap, in the order Ansible prints them. As Ansible counts: a
/// failure that a block's rescue handles is `rescued`, not `failed`; an ignored one is `ok`
/// and `ignored`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub ok: usize,
    pub changed: usize,
    pub unreachable: usize,
    pub failed: usize,
    pub skipped: usize,
    pub rescued: usize,
    pub ignored: usize,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // one event per (task, host): boxing would buy nothing
pub enum Event {
    PlayStart {
        play: String,
        /// Which playbook runs: "built-in pgsql" or "file ./site.yml".
        playbook: String,
        hosts: Vec<String>,
        /// The selected tasks, in order.
        tasks: Vec<TaskInfo>,
        check: bool,
    },
    TaskStart {
        task: String,
        host: String,
    },
    /// A host passes over a step without running it: its host failed earlier, or its block
    /// says so (the rest of a failed block, a rescue when nothing failed). Never printed
    /// (Ansible prints nothing for it); reporters that keep task order count it as done.
    Passed {
        task_index: usize,
        host: String,
    },
    Result {
        play: String,
        task: String,
        task_index: usize,
        host: String,
        status: Status,
        changed: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        msg: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        diff: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        item: Option<Value>,
        result: Value,
        duration_ms: u64,
    },
    Warning {
        message: String,
    },
    /// A long-running step says how far it is (e.g. WAL replay during recovery).
    Progress {
        task: String,
        host: String,
        message: String,
    },
    /// A clock tick (every few seconds while a play runs): reporters say which long steps
    /// are still running. Never printed as such.
    Tick,
    /// The user interrupted the run (Ctrl-C or SIGTERM). Stage 1: no new task starts and the
    /// running ones are awaited; stage 2: the running ones are being stopped on their hosts.
    Interrupt {
        stage: u8,
        signal: String,
        running: Vec<RunningTask>,
    },
    Recap {
        /// In play order; in JSON an object `{host: stats}` (as Ansible's json callback).
        #[serde(serialize_with = "hosts_as_object")]
        hosts: Vec<(String, Stats)>,
        interrupted: bool,
        /// Hosts whose running work was stopped by a second interrupt.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        cut: Vec<String>,
        duration_ms: u64,
    },
}

fn hosts_as_object<S: serde::Serializer>(
    hosts: &[(String, Stats)],
    ser: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = ser.serialize_map(Some(hosts.len()))?;
    for (name, stats) in hosts {
        map.serialize_entry(name, stats)?;
    }
    map.end()
}

/// A step running when the user interrupted.
#[derive(Clone, Debug, Serialize)]
pub struct RunningTask {
    pub host: String,
    pub task: String,
    pub elapsed_ms: u64,
}

/// Something that renders events.
pub trait Reporter: Send {
    fn handle(&mut self, event: &Event);
}

/// How to render, from `--output` and whether stdout is a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Progress,
}

pub fn reporter(
    format: Format,
    verbose: u8,
    diff: bool,
    log: Option<std::fs::File>,
    color: bool,
) -> Box<dyn Reporter> {
    let main: Box<dyn Reporter> = match format {
        Format::Text => Box::new(text::Text::new(verbose, diff, color)),
        Format::Json => Box::new(json::Json),
        Format::Progress => Box::new(progress::Progress::new(verbose, diff, color)),
    };
    match log {
        None => main,
        Some(file) => Box::new(Tee(main, Box::new(text::Text::log(file)))),
    }
}

/// Print what a listing command produced (`inventory --list`, `help`, `config`, …). A reader
/// that went away (`| head`) ends the output quietly: no panic, no message.
pub fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Two reporters fed the same events (the terminal and the log file).
struct Tee(Box<dyn Reporter>, Box<dyn Reporter>);

impl Reporter for Tee {
    fn handle(&mut self, event: &Event) {
        self.0.handle(event);
        self.1.handle(event);
    }
}

/// The log file, appended to, created readable by its owner only (output is masked, but it
/// is still a fleet's record).
pub fn open_log(log: Option<&(PathBuf, String)>) -> Result<Option<std::fs::File>> {
    let Some((path, from)) = log else {
        return Ok(None);
    };
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map(Some)
        .map_err(|e| {
            Error::usage(format!("{from} {}: {e}", path.display()))
                .with_hint("the log file's directory must exist and be writable")
        })
}
