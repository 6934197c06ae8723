//! Results held back so they print in task order.
//!
//! Hosts run their chains independently, so results of different tasks arrive interleaved.
//! To read like Ansible's linear output, results are printed grouped under their task in
//! task order: a result is held back until every host has reported every earlier task, or
//! passed over it (`Event::Passed`: a failed host, the rest of a failed block, a rescue that
//! is not needed). Execution is not slowed: only printing waits.

use std::collections::{HashMap, HashSet};

use super::Event;

/// Holds results back so they print in task order.
#[derive(Default)]
pub struct Order {
    hosts: Vec<String>,
    /// (task index, run_once) in play order.
    tasks: Vec<(usize, bool)>,
    cursor: usize,
    reported: HashMap<usize, HashSet<String>>,
    held: HashMap<usize, Vec<Event>>,
}

impl Order {
    pub fn start(&mut self, hosts: &[String], tasks: &[super::TaskInfo]) {
        *self = Order {
            hosts: hosts.to_vec(),
            tasks: tasks.iter().map(|t| (t.index, t.run_once)).collect(),
            ..Order::default()
        };
    }

    /// Take a result (or a step passed over); return the events that may be printed now, in
    /// order.
    pub fn push(&mut self, event: Event) -> Vec<Event> {
        match &event {
            Event::Result {
                task_index, host, ..
            } => {
                self.reported
                    .entry(*task_index)
                    .or_default()
                    .insert(host.clone());
                self.held.entry(*task_index).or_default().push(event);
            }
            Event::Passed { task_index, host } => {
                self.reported
                    .entry(*task_index)
                    .or_default()
                    .insert(host.clone());
            }
            _ => {}
        }
        let mut out = Vec::new();
        while let Some(&(index, run_once)) = self.tasks.get(self.cursor) {
            out.extend(self.held.remove(&index).unwrap_or_default());
            let seen = self.reported.get(&index);
            let complete = if run_once {
                seen.is_some_and(|s| !s.is_empty())
            } else {
                self.hosts
                    .iter()
                    .all(|h| seen.is_some_and(|s| s.contains(h)))
            };
            if !complete {
                break;
            }
            self.cursor += 1;
        }
        out
    }

    /// Everything still held (the play ended early: interrupted or stopped).
    pub fn drain(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        for (index, _) in self.tasks.clone() {
            out.extend(self.held.remove(&index).unwrap_or_default());
        }
        self.cursor = self.tasks.len();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Order;
    use serde_json::Value;

    use crate::report::{Event, Status, TaskInfo};

    fn result(task_index: usize, host: &str, status: Status) -> Event {
        Event::Result {
            play: "p".into(),
            task: format!("t{task_index}"),
            task_index,
            host: host.into(),
            status,
            changed: false,
            msg: None,
            diff: None,
            item: None,
            result: Value::Null,
            duration_ms: 0,
        }
    }

    fn passed(task_index: usize, host: &str) -> Event {
        Event::Passed {
            task_index,
            host: host.into(),
        }
    }

    /// (task, host) of the results `push` lets out.
    fn out(order: &mut Order, event: Event) -> Vec<(usize, String)> {
        order
            .push(event)
            .into_iter()
            .filter_map(|e| match e {
                Event::Result {
                    task_index, host, ..
                } => Some((task_index, host)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_rescue_prints_under_its_task_once_every_host_is_past_the_tasks_before() {
        let mut order = Order::default();
        let tasks: Vec<TaskInfo> = (0..3)
            .map(|index| TaskInfo {
                index,
                name: format!("t{index}"),
                run_once: false,
            })
            .collect();
        order.start(&["a".into(), "b".into()], &tasks);
        // Task 0 fails on a (inside a block); task 1 is the rest of the body, task 2 the
        // rescue: a passes over 1 and runs 2, b runs 1 and passes over 2.
        assert_eq!(
            out(&mut order, result(0, "a", Status::Failed)),
            [(0, "a".into())]
        );
        assert_eq!(
            out(&mut order, result(0, "b", Status::Ok)),
            [(0, "b".into())]
        );
        assert_eq!(
            out(&mut order, result(2, "a", Status::Ok)),
            [],
            "b has not done task 1"
        );
        assert_eq!(out(&mut order, passed(1, "a")), []);
        assert_eq!(
            out(&mut order, result(1, "b", Status::Ok)),
            [(1, "b".into()), (2, "a".into())]
        );
        assert_eq!(out(&mut order, passed(2, "b")), []);
    }
}
