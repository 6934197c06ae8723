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
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
    overall: Option<ProgressBar>,
    last_task: Option<(String, usize)>,
    /// What each host is running and since when (the bar shows the elapsed time).
    started: HashMap<String, (String, std::time::Instant)>,
}

impl Progress {
    pub fn new(verbose: u8, diff: bool) -> Progress {
        Progress {
            verbose,
            diff,
            multi: MultiProgress::new(),
            bars: HashMap::new(),
            overall: None,
            last_task: None,
            started: HashMap::new(),
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
                play, hosts, tasks, ..
            } => {
                for bar in self.bars.drain() {
                    bar.1.finish_and_clear();
                }
                let _ = self.multi.println(text::banner("PLAY", play).trim_start());
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
            Event::Result { host, status, .. } => {
                self.started.remove(host);
                if let Some(bar) = self.bars.get(host) {
                    bar.inc(1);
                    if matches!(status, Status::Failed | Status::Unreachable) {
                        bar.abandon_with_message(format!("{status:?}").to_lowercase());
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
                    let _ = self.multi.println(line.trim_start().trim_end());
                }
                let _ = &self.last_task;
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
                let _ = self
                    .multi
                    .println(text::render(event, 0, false, &mut last).trim_end());
            }
            Event::Recap { .. } => {
                for bar in self.bars.drain() {
                    bar.1.finish_and_clear();
                }
                if let Some(bar) = self.overall.take() {
                    bar.finish_and_clear();
                }
                let mut last = None;
                print!("{}", text::render(event, 0, false, &mut last));
            }
        }
    }
}
