//! `--output json`: one JSON object per line for every event (a `result` per (task, host),
//! then a `recap`), for CI and scripts.

use std::io::Write;

use super::{Event, Reporter};

pub struct Json;

impl Reporter for Json {
    fn handle(&mut self, event: &Event) {
        if matches!(
            event,
            Event::TaskStart { .. } | Event::Tick | Event::Passed { .. }
        ) {
            return;
        }
        if let Event::Interrupt {
            stage,
            signal,
            running,
        } = event
        {
            // Also for the person at the terminal; stdout stays JSON.
            eprint!("{}", super::text::interrupt(*stage, signal, running));
        }
        if let Ok(line) = serde_json::to_string(event) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}
