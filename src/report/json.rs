//! `--output json`: one JSON object per line for every event (a `result` per (task, host),
//! then a `recap`), for CI and scripts.

use std::io::Write;

use super::{Event, Reporter};

pub struct Json;

impl Reporter for Json {
    fn handle(&mut self, event: &Event) {
        if matches!(event, Event::TaskStart { .. } | Event::Tick) {
            return;
        }
        if let Ok(line) = serde_json::to_string(event) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}
