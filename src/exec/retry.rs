//! One item's module call, with `until`/`retries`/`delay` and `ignore_errors`.
//!
//! The task's arguments are rendered once per item; each attempt calls the module (see
//! `target`) and is judged (see `judge`); `until` sees the attempt's result under the
//! task's `register` name, as in Ansible. A host found unreachable ends the attempts at once:
//! retrying cannot help a host pgplay cannot reach.

use std::time::Duration;

use serde_json::{Map, Value};

use super::done::{failed, registered, unreachable, Done};
use super::failure::Cause;
use super::Engine;
use crate::inventory::HostId;
use crate::modules::Failure;
use crate::playbook::Task;
use crate::report::Status;
use crate::transport::Verdict;

/// Run the module once (for one loop item), with until/retries and the *_when overrides.
/// Returns the reported outcome and the value to register.
pub(super) async fn run_item(
    engine: &Engine,
    task: &Task,
    host: HostId,
    vars: &Value,
    dropped: &[(String, crate::template::TemplateError)],
) -> (Done, Value) {
    let args = match engine.renderer.render_value(
        // Named by what it is: the task itself is named when the failure is reported.
        &format!("{} arguments", task.action.module),
        &Value::Object(task.action.args.clone()),
        vars,
    ) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .filter(|(_, v)| v.as_str() != Some(crate::template::OMIT))
            .collect::<Map<String, Value>>(),
        Ok(_) => Map::new(),
        Err(e) => {
            let why = super::vars::explain(&e, dropped);
            return registered(failed(Cause::Said(why)));
        }
    };
    let attempts = match &task.until {
        Some(_) => task.retries.max(1) + 1,
        None => 1,
    };
    let mut last: Option<(Done, Value)> = None;
    for attempt in 0..attempts {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs_f64(task.delay)).await;
            if engine.cancel.is_cancelled() {
                break;
            }
        }
        let outcome = super::target::call_module(engine, task, host, vars, &args).await;
        let (mut done, registered) = match outcome {
            Ok(o) => super::judge::finish(engine, task, host, vars, o),
            // The variant decides (see `TransportError::verdict`): a command the connected host
            // could not start, or a refused become password, is the task's failure; a host
            // that cannot be reached or logged in to is unreachable, and no retry can help.
            Err(Failure::Transport(e)) => {
                let verdict = e.verdict();
                let cause = Cause::transport(e, &engine.inv.host(host).name);
                match verdict {
                    Verdict::TaskFailed => registered(failed(cause)),
                    Verdict::Unreachable => return registered(unreachable(cause)),
                }
            }
            Err(Failure::Args(msg)) => registered(failed(Cause::Said(msg))),
        };
        if let Some(until) = &task.until {
            let mut scope = vars.clone();
            if let (Value::Object(m), Some(name)) = (&mut scope, &task.register) {
                m.insert(name.clone(), registered.clone());
            }
            let ok = super::judge::condition(engine, until, &scope, dropped).unwrap_or(false);
            if !ok && attempt + 1 == attempts {
                done.status = Status::Failed;
                done.cause = Some(Cause::GaveUp {
                    attempts,
                    until: until.clone(),
                    last: done.words(),
                });
                done.msg = None;
            }
            last = Some((done, registered));
            if ok {
                break;
            }
        } else {
            last = Some((done, registered));
        }
    }
    match last {
        Some((mut done, registered)) => {
            if done.status == Status::Failed && task.ignore_errors {
                done.status = Status::Ignored;
            }
            (done, registered)
        }
        None => registered(failed(Cause::Said(
            "interrupted before the task ran".into(),
        ))),
    }
}
