//! One item's module call, with `until`/`retries`/`delay` and `ignore_errors`.
//!
//! The task's arguments are rendered once per item; each attempt calls the module (see
//! `target`) and is judged (see `judge`); `until` sees the attempt's result under the
//! task's `register` name, as in Ansible. A host found unreachable ends the attempts at once:
//! retrying cannot help a host pgplay cannot reach.

use std::time::Duration;

use serde_json::{Map, Value};

use super::step::{failed, registered, Done};
use super::Engine;
use crate::inventory::HostId;
use crate::modules::Failure;
use crate::playbook::Task;
use crate::report::Status;

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
        &format!("task '{}'", task.name),
        &Value::Object(task.action.args.clone()),
        vars,
    ) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .filter(|(_, v)| v.as_str() != Some(crate::template::OMIT))
            .collect::<Map<String, Value>>(),
        Ok(_) => Map::new(),
        Err(e) => {
            return registered(failed(format!(
                "task '{}': {}",
                task.name,
                super::vars::explain(&e, dropped)
            )));
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
            // As Ansible: a request the session rejected, or a refused become password, is the
            // task's failure; any other transport failure (refused, host key, login, session
            // lost) is unreachable.
            Err(Failure::Transport(e)) if e.is_task_failure() => registered(failed(e.to_string())),
            Err(Failure::Transport(e)) => {
                let msg = e.to_string();
                let d = Done {
                    status: Status::Unreachable,
                    result: serde_json::json!({"unreachable": true, "msg": msg}),
                    msg: Some(msg),
                    diff: None,
                };
                return registered(d);
            }
            Err(Failure::Args(msg)) => registered(failed(msg)),
        };
        if let Some(until) = &task.until {
            let mut scope = vars.clone();
            if let (Value::Object(m), Some(name)) = (&mut scope, &task.register) {
                m.insert(name.clone(), registered.clone());
            }
            let ok = super::judge::condition(engine, until, &scope, dropped).unwrap_or(false);
            if !ok && attempt + 1 == attempts {
                done.status = Status::Failed;
                done.msg = Some(format!(
                    "gave up after {attempts} attempts: '{until}' never became true{}",
                    done.msg
                        .as_ref()
                        .map(|m| format!(" (last: {m})"))
                        .unwrap_or_default()
                ));
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
        None => registered(failed("interrupted before the task ran".into())),
    }
}
