//! Ansible-like plain text: `PLAY [..]`, `TASK [..]`, one line per host result, `PLAY RECAP`.
//!
//! Results are printed grouped under their task, in task order (`order.rs`), as Ansible's
//! linear output reads.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::order::Order;
use super::{Event, Reporter, Status};

pub struct Text {
    verbose: u8,
    diff: bool,
    /// Where the lines go: stdout, or a log file (`--log`), each line stamped with the time.
    log: Option<std::fs::File>,
    /// Colour the lines (a terminal; never the log file).
    color: bool,
    last_task: Option<(String, usize)>,
    order: Order,
    /// Steps started and not finished: (task, host) → (started, last said still running).
    running: HashMap<(String, String), (Instant, Instant)>,
}

/// A step running this long is said to be alive, and again every `ALIVE_EVERY`.
const ALIVE_AFTER: Duration = Duration::from_secs(30);
const ALIVE_EVERY: Duration = Duration::from_secs(60);

impl Text {
    pub fn new(verbose: u8, diff: bool, color: bool) -> Text {
        Text {
            verbose,
            diff,
            log: None,
            color,
            last_task: None,
            order: Order::default(),
            running: HashMap::new(),
        }
    }

    /// The log file's reporter: every result with its full output (as -v), diffs, each
    /// line stamped with the time (UTC). Events are masked before they are sent, so the
    /// file holds no secret either.
    pub fn log(file: std::fs::File) -> Text {
        let mut t = Text::new(1, true, false);
        t.log = Some(file);
        t
    }

    fn write(&mut self, text: &str) {
        match &mut self.log {
            None => {
                let mut out = std::io::stdout().lock();
                let painted;
                let text = if self.color {
                    painted = super::color::paint(text);
                    &painted
                } else {
                    text
                };
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            Some(file) => {
                let stamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S+00");
                let mut lines = String::new();
                for line in text.lines().filter(|l| !l.is_empty()) {
                    lines.push_str(&format!("{stamp} | {line}\n"));
                }
                let _ = file.write_all(lines.as_bytes());
            }
        }
    }

    /// "still running" lines for the steps that have run long (a log or CI without a terminal
    /// shows that pgplay is alive and what it waits for).
    fn alive(&mut self) -> String {
        let now = Instant::now();
        let mut lines: Vec<(Duration, String)> = Vec::new();
        for ((task, host), (started, said)) in self.running.iter_mut() {
            let ran = now.duration_since(*started);
            if ran >= ALIVE_AFTER && now.duration_since(*said) >= ALIVE_EVERY {
                *said = now;
                lines.push((
                    ran,
                    format!("  ... [{host}] {task}: still running ({})\n", elapsed(ran)),
                ));
            }
        }
        lines.sort();
        lines.into_iter().map(|(_, l)| l).collect()
    }
}

/// 95 s → "1m35s".
/// What an interrupt means, for stderr: what pgplay waits for, or what it is stopping.
pub fn interrupt(stage: u8, signal: &str, running: &[super::RunningTask]) -> String {
    let list: Vec<String> = running
        .iter()
        .map(|r| {
            format!(
                "  - [{}] {} (running for {})",
                r.host,
                r.task,
                elapsed(Duration::from_millis(r.elapsed_ms))
            )
        })
        .collect();
    match stage {
        1 if list.is_empty() => format!(
            "\n[pgplay] {signal}: starting no new task; nothing is running, finishing.\n"
        ),
        1 => format!(
            "\n[pgplay] {signal}: starting no new task; waiting for {} running task(s) to finish:\n{}\n[pgplay] interrupt again (Ctrl-C or SIGTERM) to stop them on their hosts now.\n",
            list.len(),
            list.join("\n")
        ),
        _ => format!(
            "\n[pgplay] {signal} again: stopping {} running task(s) on their hosts (SIGTERM to their processes):\n{}\n[pgplay] a third interrupt exits at once (work may then go on on the hosts).\n",
            list.len(),
            list.join("\n")
        ),
    }
}

pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// `TITLE [name] ****...` padded to 80 columns.
pub fn banner(title: &str, name: &str) -> String {
    let head = if name.is_empty() {
        title.to_string()
    } else {
        format!("{title} [{name}]")
    };
    stars(head)
}

/// `PLAY [name] (built-in pgsql) ****`: which playbook runs is part of the banner (in a Pigsty
/// directory, `pgsql` could be taken for Pigsty's own ./pgsql.yml).
pub fn play_banner(name: &str, playbook: &str) -> String {
    stars(format!("PLAY [{name}] ({playbook})"))
}

fn stars(head: String) -> String {
    let stars = 79usize.saturating_sub(head.chars().count()).max(3);
    format!("\n{head} {}\n", "*".repeat(stars))
}

/// The fields of a result worth showing on a failure line.
fn failure_json(msg: &Option<String>, result: &Value) -> String {
    let mut m = Map::new();
    if let Value::Object(r) = result {
        for key in ["changed", "rc", "cmd", "stdout", "stderr", "assertion"] {
            if let Some(v) = r.get(key) {
                if !matches!(v, Value::String(s) if s.is_empty()) {
                    m.insert(key.into(), v.clone());
                }
            }
        }
    }
    if let Some(msg) = msg {
        m.insert("msg".into(), Value::String(msg.clone()));
    }
    serde_json::to_string(&Value::Object(m)).unwrap_or_default()
}

pub fn render(
    event: &Event,
    verbose: u8,
    diff: bool,
    last_task: &mut Option<(String, usize)>,
) -> String {
    let mut out = String::new();
    match event {
        Event::PlayStart {
            play,
            playbook,
            check,
            ..
        } => {
            let name = if *check {
                format!("{play}] [CHECK MODE")
            } else {
                play.clone()
            };
            out.push_str(&play_banner(&name, playbook));
            *last_task = None;
        }
        Event::TaskStart { .. } | Event::Passed { .. } | Event::Tick | Event::Interrupt { .. } => {}
        Event::Result {
            task,
            task_index,
            host,
            status,
            msg,
            diff: d,
            item,
            result,
            ..
        } => {
            if last_task.as_ref() != Some(&(task.clone(), *task_index)) {
                out.push_str(&banner("TASK", task));
                *last_task = Some((task.clone(), *task_index));
            }
            let item_text = item
                .as_ref()
                .map(|i| match i {
                    Value::String(s) => format!(" => (item={s})"),
                    other => format!(" => (item={other})"),
                })
                .unwrap_or_default();
            match status {
                Status::Ok | Status::Changed => {
                    let word = if *status == Status::Changed {
                        "changed"
                    } else {
                        "ok"
                    };
                    out.push_str(&format!("{word}: [{host}]{item_text}"));
                    if let Value::Object(r) = result {
                        if let Some(m) = r.get("msg").filter(|_| task_is_debug(r)) {
                            out.push_str(&format!(
                                " => {}",
                                serde_json::to_string_pretty(&serde_json::json!({ "msg": m }))
                                    .unwrap_or_default()
                            ));
                        }
                    }
                    if verbose > 0 {
                        out.push_str(&format!(
                            " => {}",
                            serde_json::to_string(result).unwrap_or_default()
                        ));
                    }
                    out.push('\n');
                    // A module's own report for people (e.g. the backup table).
                    if let Some(Value::String(show)) = result.get("pgplay_show") {
                        out.push_str(show);
                        if !show.ends_with('\n') {
                            out.push('\n');
                        }
                    }
                }
                Status::Skipped => {
                    out.push_str(&format!("skipping: [{host}]{item_text}"));
                    if let Some(m) = msg.as_ref().filter(|_| verbose > 0) {
                        out.push_str(&format!(" => {m}"));
                    }
                    out.push('\n');
                }
                Status::Failed | Status::Ignored => {
                    out.push_str(&format!(
                        "fatal: [{host}]{item_text}: FAILED! => {}\n",
                        failure_json(msg, result)
                    ));
                    if *status == Status::Ignored {
                        out.push_str("...ignoring\n");
                    }
                }
                Status::Unreachable => {
                    out.push_str(&format!(
                        "fatal: [{host}]: UNREACHABLE! => {}\n",
                        failure_json(msg, &Value::Null)
                    ));
                }
            }
            if diff {
                if let Some(d) = d {
                    out.push_str(d);
                    if !d.ends_with('\n') {
                        out.push('\n');
                    }
                }
            }
        }
        Event::Warning { message } => out.push_str(&format!("[WARNING]: {message}\n")),
        Event::Progress {
            task,
            host,
            message,
        } => out.push_str(&format!("  ... [{host}] {task}: {message}\n")),
        Event::Recap {
            hosts,
            interrupted,
            cut,
            ..
        } => {
            if *interrupted {
                out.push_str(
                    "\n[ERROR]: interrupted: no new task was started after the interrupt\n",
                );
            }
            if !cut.is_empty() {
                out.push_str(&format!(
                    "[ERROR]: work was stopped midway on: {} (see the failed task of each host; run the playbook again, or the tags of the step that was cut, to finish)\n",
                    cut.join(", ")
                ));
            }
            out.push_str(&banner("PLAY RECAP", ""));
            for (host, s) in hosts {
                out.push_str(&format!(
                    "{host:<26} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={}\n",
                    s.ok, s.changed, s.unreachable, s.failed, s.skipped, s.rescued, s.ignored
                ));
            }
        }
    }
    out
}

fn task_is_debug(r: &Map<String, Value>) -> bool {
    r.get("pgplay_module").and_then(Value::as_str) == Some("debug")
}

impl Reporter for Text {
    fn handle(&mut self, event: &Event) {
        if let Event::Interrupt {
            stage,
            signal,
            running,
        } = event
        {
            let text = interrupt(*stage, signal, running);
            if self.log.is_some() {
                self.write(&text);
            } else {
                eprint!("{text}");
            }
            return;
        }
        match event {
            Event::TaskStart { task, host } => {
                // "Long ago" for the last-said clock, so the first line comes at ALIVE_AFTER.
                let now = Instant::now();
                let said = now.checked_sub(ALIVE_EVERY).unwrap_or(now);
                self.running
                    .insert((task.clone(), host.clone()), (now, said));
            }
            Event::Result { task, host, .. } => {
                self.running.remove(&(task.clone(), host.clone()));
            }
            Event::Tick => {
                let text = self.alive();
                if !text.is_empty() {
                    self.write(&text);
                }
                return;
            }
            _ => {}
        }
        let ready = match event {
            Event::PlayStart { hosts, tasks, .. } => {
                let mut ready = self.order.drain();
                self.order.start(hosts, tasks);
                ready.push(event.clone());
                ready
            }
            Event::Result { .. } | Event::Passed { .. } => self.order.push(event.clone()),
            Event::Recap { .. } => {
                let mut ready = self.order.drain();
                ready.push(event.clone());
                ready
            }
            other => vec![other.clone()],
        };
        let mut text = String::new();
        for ev in &ready {
            text.push_str(&render(ev, self.verbose, self.diff, &mut self.last_task));
        }
        if !text.is_empty() {
            self.write(&text);
        }
    }
}
