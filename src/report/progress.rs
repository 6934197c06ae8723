//! Progress bars on a terminal (indicatif): one bar per host for small runs, one overall bar
//! for fleets; failures, diffs and the recap are printed above the bars as plain text.

use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{text, Event, Reporter, Status};

/// Above this many hosts, one overall bar replaces the per-host bars.
const PER_HOST_LIMIT: usize = 16;

pub struct Progress {
    verbose: u8,
    diff: bool,
    /// Colour the lines printed above the bars.
    color: bool,
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
    overall: Option<ProgressBar>,
    last_task: Option<(String, usize)>,
    /// What each host is running and since when (the bar shows the elapsed time).
    started: HashMap<String, (String, std::time::Instant)>,
    /// Per host: how its finished steps ended, for the bar's message.
    tally: HashMap<String, Tally>,
}

/// How a host's steps ended so far in this play.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub ok: usize,
    pub changed: usize,
    pub skipped: usize,
}

impl Tally {
    fn add(&mut self, status: Status) {
        match status {
            Status::Changed => self.changed += 1,
            Status::Skipped => self.skipped += 1,
            _ => self.ok += 1,
        }
    }
}

/// The bar's message once a step ended: a skipped step says so (it is counted on the bar, but
/// it did nothing), and the tally tells how many were done, changed and skipped.
pub fn result_message(task: &str, status: Status, tally: Tally) -> String {
    let last = match status {
        Status::Skipped => format!("{task}: skipped"),
        Status::Changed => format!("{task}: changed"),
        _ => format!("{task}: ok"),
    };
    let mut counts = format!("ok={} changed={}", tally.ok, tally.changed);
    if tally.skipped > 0 {
        counts.push_str(&format!(" skipped={}", tally.skipped));
    }
    format!("{last}  [{counts}]")
}

impl Progress {
    pub fn new(verbose: u8, diff: bool, color: bool) -> Progress {
        Progress {
            verbose,
            diff,
            color,
            multi: MultiProgress::new(),
            bars: HashMap::new(),
            overall: None,
            last_task: None,
            started: HashMap::new(),
            tally: HashMap::new(),
        }
    }

    fn paint(&self, text: &str) -> String {
        if self.color {
            super::color::paint(text)
        } else {
            text.to_string()
        }
    }

    fn style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix:>18} {bar:24} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
    }
}

impl Reporter for Progress {
    fn handle(&mut self, event: &Event) {
        match event {
            Event::PlayStart {
                play,
                playbook,
                hosts,
                tasks,
                ..
            } => {
                for bar in self.bars.drain() {
                    bar.1.finish_and_clear();
                }
                self.tally.clear();
                let _ = self
                    .multi
                    .println(text::play_banner(play, playbook).trim_start());
                if hosts.len() <= PER_HOST_LIMIT {
                    for h in hosts {
                        let bar = self.multi.add(ProgressBar::new(tasks.len() as u64));
                        bar.set_style(Self::style());
                        bar.set_prefix(h.clone());
                        self.bars.insert(h.clone(), bar);
                    }
                } else {
                    let bar = self
                        .multi
                        .add(ProgressBar::new((tasks.len() * hosts.len()) as u64));
                    bar.set_style(Self::style());
                    bar.set_prefix(format!("{} hosts", hosts.len()));
                    self.overall = Some(bar);
                }
            }
            Event::TaskStart { task, host } => {
                if let Some(bar) = self.bars.get(host).or(self.overall.as_ref()) {
                    bar.set_message(task.clone());
                }
                self.started
                    .insert(host.clone(), (task.clone(), std::time::Instant::now()));
            }
            Event::Tick => {
                // A long step shows it is alive: its elapsed time next to its name.
                for (host, (task, since)) in &self.started {
                    let ran = since.elapsed();
                    if ran.as_secs() >= 5 {
                        if let Some(bar) = self.bars.get(host) {
                            bar.set_message(format!("{task} ({})", text::elapsed(ran)));
                        }
                    }
                }
            }
            Event::Result {
                host, status, task, ..
            } => {
                self.started.remove(host);
                if let Some(bar) = self.bars.get(host) {
                    if matches!(status, Status::Failed | Status::Unreachable) {
                        // Not abandoned: inside a block the host goes on to its rescue and
                        // always steps; once failed, its steps are passed over to the end.
                        bar.set_message(format!("{task}: {status:?}").to_lowercase());
                        bar.inc(1);
                    } else {
                        // The message first: the bar is drawn when it moves.
                        let tally = self.tally.entry(host.clone()).or_default();
                        tally.add(*status);
                        bar.set_message(result_message(task, *status, *tally));
                        bar.inc(1);
                    }
                } else if let Some(bar) = &self.overall {
                    bar.inc(1);
                }
                let show = matches!(
                    status,
                    Status::Failed | Status::Unreachable | Status::Ignored
                ) || self.verbose > 0
                    || (self.diff && matches!(event, Event::Result { diff: Some(_), .. }));
                let own_report = matches!(event, Event::Result { result, .. } if result.get("pgplay_show").is_some());
                if show || own_report {
                    let mut last = None;
                    let line = text::render(event, self.verbose, self.diff, &mut last);
                    let _ = self.multi.println(self.paint(line.trim_start().trim_end()));
                }
                let _ = &self.last_task;
            }
            Event::Passed { host, .. } => {
                if let Some(bar) = self.bars.get(host).or(self.overall.as_ref()) {
                    bar.inc(1);
                }
            }
            Event::Progress { host, message, .. } => {
                if let Some(bar) = self.bars.get(host).or(self.overall.as_ref()) {
                    bar.set_message(message.clone());
                }
            }
            Event::Interrupt {
                stage,
                signal,
                running,
            } => {
                let text = text::interrupt(*stage, signal, running);
                let _ = self.multi.println(text.trim_matches('\n'));
            }
            Event::Warning { .. } => {
                let mut last = None;
                let line = text::render(event, 0, false, &mut last);
                let _ = self.multi.println(self.paint(line.trim_end()));
            }
            Event::Recap { .. } => {
                for bar in self.bars.drain() {
                    bar.1.finish_and_clear();
                }
                if let Some(bar) = self.overall.take() {
                    bar.finish_and_clear();
                }
                let mut last = None;
                print!("{}", self.paint(&text::render(event, 0, false, &mut last)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_step_is_shown_as_skipped() {
        let mut tally = Tally::default();
        tally.add(Status::Ok);
        tally.add(Status::Skipped);
        let msg = result_message("pgbackrest_init", Status::Skipped, tally);
        assert_eq!(msg, "pgbackrest_init: skipped  [ok=1 changed=0 skipped=1]");
        tally.add(Status::Changed);
        let msg = result_message("pgbackrest_config", Status::Changed, tally);
        assert_eq!(
            msg,
            "pgbackrest_config: changed  [ok=1 changed=1 skipped=1]"
        );
    }
}
