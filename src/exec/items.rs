//! A step's work on one host: its `when` conditions, then its loop — the module runs once, or
//! once per item with the items' results gathered as Ansible registers them (`results`, the
//! worst item's status, the items' diffs) — and what is registered.

use serde_json::Value;

use super::done::{failed, Done};
use super::failure::Cause;
use super::Engine;
use crate::inventory::HostId;
use crate::playbook::Task;
use crate::report::Status;

/// Conditions, loop and registration of one step (the `--step` answer first).
pub(super) async fn run(
    engine: &Engine,
    play_index: usize,
    task: &Task,
    host: HostId,
    play_hosts: &[HostId],
) -> Done {
    if engine.stepper.declined(play_index, task.id) {
        let result = serde_json::json!({"changed": false, "skipped": true, "skip_reason": "answered no at --step"});
        register(engine, task, host, result.clone());
        return Done {
            status: Status::Skipped,
            msg: Some("answered no at --step".into()),
            cause: None,
            diff: None,
            result,
        };
    }
    let (ctx_vars, dropped) = super::vars::context(engine, play_index, task, host, play_hosts);
    engine.learn_secrets(host, &ctx_vars);
    let explain = |e: &crate::template::TemplateError| super::vars::explain(e, &dropped);
    for cond in &task.when {
        match super::judge::condition(engine, cond, &ctx_vars, &dropped) {
            Ok(true) => {}
            Ok(false) => {
                // As Ansible: a skipped task still registers its result (`x is skipped`,
                // `x is changed` stay usable after it).
                let result =
                    serde_json::json!({"changed": false, "skipped": true, "false_condition": cond});
                register(engine, task, host, result.clone());
                return Done {
                    status: Status::Skipped,
                    msg: Some(format!("Conditional result was False: {cond}")),
                    cause: None,
                    diff: None,
                    result,
                };
            }
            Err(e) => return failed(Cause::Said(format!("when '{cond}': {e}"))),
        }
    }
    let items: Option<Vec<Value>> = match &task.loop_items {
        None => None,
        Some(raw) => match engine.renderer.render_value("loop", raw, &ctx_vars) {
            Ok(Value::Array(items)) => Some(items),
            Ok(other) => {
                return failed(Cause::Said(format!("loop must be a list, got {other}")));
            }
            Err(e) => return failed(Cause::Said(format!("loop: {}", explain(&e)))),
        },
    };
    let Some(items) = items else {
        let (done, registered) =
            super::retry::run_item(engine, task, host, &ctx_vars, &dropped).await;
        register(engine, task, host, registered);
        return done;
    };
    let mut results = Vec::new();
    let mut any_changed = false;
    let mut worst: Option<Done> = None;
    let mut diffs = String::new();
    for item in items {
        let mut vars = ctx_vars.clone();
        if let Value::Object(m) = &mut vars {
            m.insert(task.loop_var.clone(), item.clone());
        }
        let (done, mut registered) =
            super::retry::run_item(engine, task, host, &vars, &dropped).await;
        if let Value::Object(m) = &mut registered {
            m.insert(task.loop_var.clone(), item.clone());
            m.insert("item".into(), item.clone());
        }
        results.push(registered);
        any_changed |= done.status == Status::Changed;
        if let Some(d) = &done.diff {
            diffs.push_str(d);
        }
        let stop = matches!(done.status, Status::Failed | Status::Unreachable);
        if matches!(
            done.status,
            Status::Failed | Status::Unreachable | Status::Ignored
        ) {
            worst = Some(done);
        }
        if stop {
            break;
        }
    }
    let all_skipped = !results.is_empty()
        && results
            .iter()
            .all(|r| r.get("skipped").and_then(Value::as_bool).unwrap_or(false));
    let registered = serde_json::json!({
        "results": results,
        "changed": any_changed,
        "failed": worst.as_ref().is_some_and(|w| w.status == Status::Failed),
        "msg": "All items completed",
    });
    register(engine, task, host, registered.clone());
    if let Some(w) = worst {
        return Done {
            result: registered,
            ..w
        };
    }
    Done {
        status: if any_changed {
            Status::Changed
        } else if all_skipped {
            Status::Skipped
        } else {
            Status::Ok
        },
        msg: None,
        cause: None,
        diff: (!diffs.is_empty()).then_some(diffs),
        result: registered,
    }
}

pub(super) fn register(engine: &Engine, task: &Task, host: HostId, value: Value) {
    if let Some(name) = &task.register {
        engine.state(host).facts.insert(name.clone(), value);
    }
}
