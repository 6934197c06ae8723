//! One (task, host) step from start to report: whether the host runs it at all (a failed
//! host, the blocks: see `flow.rs`), run_once sharing, the task's `timeout:` and a second
//! interrupt, masking, the host's tallies, and the result event.
//!
//! What runs in between is split by concern: `items` (conditions and the loop), `retry` (one
//! item's module call with until/retries), `target` (where and as whom the module runs:
//! delegate_to, become, environment, the connection) and `judge` (changed_when/failed_when and
//! the status an outcome becomes). Why a step failed stays typed (`failure`) until the result
//! event is built here, where it is said with the task and the place it is written.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::done::failed;

use super::failure::{Cause, TaskFailure};
use super::flow::{self, Next};
use super::Engine;
use crate::inventory::HostId;
use crate::plan::Step;
use crate::playbook::BlockId;
use crate::report::{Event, Status};

/// Run one step; true when it failed the host's task (not ignored) or found the host
/// unreachable — what `any_errors_fatal` passes on to the other hosts.
pub async fn run(
    engine: &Engine,
    play_index: usize,
    step: Step,
    play_hosts: &[HostId],
    rescues: &HashSet<BlockId>,
) -> bool {
    let play = &engine.pb.plays[play_index];
    let task = &play.tasks[step.task.0];
    let host_name = engine.inv.host(step.host).name.clone();
    let next = {
        let mut st = engine.state(step.host);
        if st.failed || st.unreachable {
            Next::Pass
        } else {
            match st.flow.enter(&task.blocks, rescues) {
                Next::Failed => {
                    st.failed = true;
                    Next::Pass
                }
                next => next,
            }
        }
    };
    if next != Next::Run {
        // Nothing to show (as Ansible shows nothing), but the reporters that print in task
        // order learn that this host is done with the task.
        engine.emit(Event::Passed {
            task_index: step.task.0,
            host: host_name,
        });
        return false;
    }

    if task.run_once && play_hosts.first() != Some(&step.host) {
        // Another host ran it; share its registered result.
        let shared = engine
            .run_once
            .lock()
            .ok()
            .and_then(|m| m.get(&(play_index, step.task)).cloned());
        if let (Some(result), Some(name)) = (shared, &task.register) {
            engine.state(step.host).facts.insert(name.clone(), result);
        }
        return false;
    }

    engine.emit(Event::TaskStart {
        task: task.name.clone(),
        host: host_name.clone(),
    });
    let started = Instant::now();
    let key = (step.host, play_index, step.task);
    engine.set_running(key, Some((host_name.clone(), task.name.clone())));
    // Dropping the work (a timeout, a second interrupt) stops its command on the host: the
    // transports send SIGTERM to the command's process group when an exec is abandoned.
    let work = async {
        let work = super::items::run(engine, play_index, task, step.host, play_hosts);
        match task.timeout {
            None => work.await,
            Some(secs) => match tokio::time::timeout(Duration::from_secs(secs), work).await {
                Ok(done) => done,
                Err(_) => failed(Cause::TimedOut { secs }),
            },
        }
    };
    let done = tokio::select! {
        biased;
        _ = engine.abort.cancelled() => {
            engine.state(step.host).cut = true;
            failed(Cause::Interrupted { after: started.elapsed() })
        }
        done = work => done,
    };
    engine.set_running(key, None);
    let elapsed = started.elapsed().as_millis() as u64;

    // The failure is said with its task and place, once, here (see `failure`).
    let msg = match &done.cause {
        Some(cause) => Some(TaskFailure { task, cause }.to_string()),
        None => done.msg,
    };
    let secrets = engine.state(step.host).secrets.clone();
    let (result, msg, diff) = if task.no_log {
        (
            serde_json::json!({"censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result"}),
            None,
            None,
        )
    } else {
        (
            secrets.value(&done.result),
            msg.map(|m| secrets.text(&m)),
            done.diff.map(|d| secrets.text(&d)),
        )
    };
    {
        let mut st = engine.state(step.host);
        match done.status {
            Status::Ok => st.stats.ok += 1,
            Status::Changed => {
                st.stats.ok += 1;
                st.stats.changed += 1;
            }
            Status::Skipped => st.stats.skipped += 1,
            // As Ansible's strategy counts it: a failure that a rescue will handle is
            // `rescued`, not `failed`, and gives the rescue `ansible_failed_task` and
            // `ansible_failed_result` (the result as registered); the host is failed only
            // when the failure leaves its outermost block unhandled.
            Status::Failed => match st.flow.fail(rescues) {
                flow::Failure::Rescued => {
                    st.stats.rescued += 1;
                    st.facts
                        .insert("ansible_failed_task".into(), super::vars::failed_task(task));
                    st.facts
                        .insert("ansible_failed_result".into(), done.result.clone());
                }
                flow::Failure::Unhandled => st.stats.failed += 1,
                flow::Failure::HostFailed => {
                    st.stats.failed += 1;
                    st.failed = true;
                }
            },
            Status::Ignored => {
                st.stats.ok += 1;
                st.stats.ignored += 1;
            }
            Status::Unreachable => {
                st.stats.unreachable += 1;
                st.unreachable = true;
            }
        }
    }
    if task.run_once {
        if let Ok(mut m) = engine.run_once.lock() {
            m.insert((play_index, step.task), done.result.clone());
        }
    }
    engine.emit(Event::Result {
        play: play.name.clone(),
        task: task.name.clone(),
        task_index: step.task.0,
        host: host_name,
        status: done.status,
        changed: done.status == Status::Changed,
        msg,
        diff,
        item: None,
        result,
        duration_ms: elapsed,
    });
    matches!(done.status, Status::Failed | Status::Unreachable)
}
