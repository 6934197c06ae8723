//! One (task, host) step: whether the host runs it at all (a failed host, the blocks: see
//! `flow.rs`), conditions, loop, arguments, become, the module call with until/retries,
//! changed_when/failed_when, register, and the result event.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::flow::{self, Next};
use super::Engine;
use crate::inventory::HostId;
use crate::modules::{Ctx, Failure, Outcome};
use crate::plan::Step;
use crate::playbook::{BlockId, Task};
use crate::report::{Event, Status};
use crate::transport::{Become, BecomeMethod};

/// What a step produced, before it is reported.
struct Done {
    status: Status,
    msg: Option<String>,
    diff: Option<String>,
    result: Value,
}

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
        let work = work_of(engine, play_index, task, step.host, play_hosts);
        match task.timeout {
            None => work.await,
            Some(secs) => match tokio::time::timeout(Duration::from_secs(secs), work).await {
                Ok(done) => done,
                Err(_) => failed(format!(
                    "task '{}' took longer than its timeout of {secs} s on {host_name}: pgplay stopped it (SIGTERM to its processes on the host)",
                    task.name
                )),
            },
        }
    };
    let done = tokio::select! {
        biased;
        _ = engine.abort.cancelled() => {
            engine.state(step.host).cut = true;
            failed(format!(
                "interrupted: pgplay stopped task '{}' on {host_name} (SIGTERM to its processes on the host) after {:.1} s",
                task.name,
                started.elapsed().as_secs_f64()
            ))
        }
        done = work => done,
    };
    engine.set_running(key, None);
    let elapsed = started.elapsed().as_millis() as u64;

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
            done.msg.map(|m| secrets.text(&m)),
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

/// A done step paired with the value to register (the same result).
fn registered(d: Done) -> (Done, Value) {
    let r = d.result.clone();
    (d, r)
}

fn failed(msg: String) -> Done {
    Done {
        status: Status::Failed,
        result: serde_json::json!({"failed": true, "msg": msg}),
        msg: Some(msg),
        diff: None,
    }
}

async fn work_of(
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
            diff: None,
            result,
        };
    }
    let (ctx_vars, dropped) = super::vars::context(engine, play_index, task, host, play_hosts);
    engine.learn_secrets(host, &ctx_vars);
    let explain = |e: &crate::template::TemplateError| super::vars::explain(e, &dropped);
    for cond in &task.when {
        match eval_condition(engine, cond, &ctx_vars, &dropped) {
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
                    diff: None,
                    result,
                };
            }
            Err(e) => return failed(format!("task '{}': when '{cond}': {e}", task.name)),
        }
    }
    let items: Option<Vec<Value>> = match &task.loop_items {
        None => None,
        Some(raw) => match engine.renderer.render_value("loop", raw, &ctx_vars) {
            Ok(Value::Array(items)) => Some(items),
            Ok(other) => {
                return failed(format!(
                    "task '{}': loop must be a list, got {other}",
                    task.name
                ))
            }
            Err(e) => return failed(format!("task '{}': loop: {}", task.name, explain(&e))),
        },
    };
    let Some(items) = items else {
        let (done, registered) = run_once_item(engine, task, host, &ctx_vars, &dropped).await;
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
        let (done, mut registered) = run_once_item(engine, task, host, &vars, &dropped).await;
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
        diff: (!diffs.is_empty()).then_some(diffs),
        result: registered,
    }
}

fn register(engine: &Engine, task: &Task, host: HostId, value: Value) {
    if let Some(name) = &task.register {
        engine.state(host).facts.insert(name.clone(), value);
    }
}

/// `when:` is a bare expression; a `{{ }}` one is rendered first, as Ansible tolerates.
fn eval_condition(
    engine: &Engine,
    cond: &str,
    vars: &Value,
    dropped: &[(String, crate::template::TemplateError)],
) -> Result<bool, String> {
    let explain = |e: crate::template::TemplateError| super::vars::explain(&e, dropped);
    if crate::template::contains_template(cond) {
        let rendered = engine
            .renderer
            .render("when", cond, vars)
            .map_err(explain)?;
        return engine.renderer.eval_bool(&rendered, vars).map_err(explain);
    }
    engine.renderer.eval_bool(cond, vars).map_err(explain)
}

/// Run the module once (for one loop item), with until/retries and the *_when overrides.
/// Returns the reported outcome and the value to register.
async fn run_once_item(
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
        let outcome = call_module(engine, task, host, vars, &args).await;
        let (mut done, registered) = match outcome {
            Ok(o) => finish(engine, task, host, vars, o),
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
            let ok = eval_condition(engine, until, &scope, dropped).unwrap_or(false);
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

async fn call_module(
    engine: &Engine,
    task: &Task,
    host: HostId,
    vars: &Value,
    args: &Map<String, Value>,
) -> Result<Outcome, Failure> {
    let h = engine.inv.host(host);
    let check = task.check_mode.unwrap_or(engine.opts.check);
    // -b is the default below the task's keyword and the host's own ansible_become
    let cli_become = engine.opts.r#become && !h.vars.contains_key("ansible_become");
    let become_on = task.r#become.unwrap_or(h.conn.r#become || cli_become);
    let target = match &task.delegate_to {
        None => host,
        Some(raw) => {
            let name = engine
                .renderer
                .render("delegate_to", raw, vars)
                .map_err(|e| Failure::Args(e.to_string()))?;
            match engine.inv.find_host(&name) {
                Some(other) => other,
                None if name == "localhost" => host,
                None => {
                    return Err(Failure::Args(format!(
                        "delegate_to: '{name}' is not a host of the inventory (or 'localhost')"
                    )))
                }
            }
        }
    };
    let delegated_local = matches!(&task.delegate_to, Some(n) if n == "localhost");
    let r#become = if become_on {
        let method = match task
            .become_method
            .as_deref()
            .or(h.conn.become_method.as_deref())
        {
            Some("su") => BecomeMethod::Su,
            _ => BecomeMethod::Sudo,
        };
        // The host the command runs on decides how it escalates (its password, sudo/su
        // program and flags), as Ansible does for a delegated task.
        let vars_of = |id: HostId| engine.inv.host(id).conn.become_vars(method);
        let raw = task
            .become_user
            .clone()
            .or_else(|| vars_of(host).user.clone())
            .or_else(|| engine.opts.become_user.clone())
            .unwrap_or_else(|| "root".into());
        let user = engine
            .renderer
            .render("become_user", &raw, vars)
            .map_err(|e| Failure::Args(e.to_string()))?;
        let valid = !user.is_empty()
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'));
        if !valid {
            return Err(Failure::Args(format!(
                "become_user '{user}' is not a user name"
            )));
        }
        let on = vars_of(target);
        let login = engine.pool.login_user(target);
        (login != user).then(|| Become {
            user,
            method,
            exe: on.exe.clone(),
            flags: on.flags.clone(),
            // As Ansible: the host's ansible_become_password beats -K.
            password: on
                .password
                .clone()
                .or_else(|| engine.opts.become_password.clone()),
        })
    } else {
        None
    };
    let env: Vec<(String, String)> = task
        .environment
        .iter()
        .map(|(k, v)| {
            let raw = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            engine
                .renderer
                .render("environment", &raw, vars)
                .map(|s| (k.clone(), s))
                .map_err(|e| Failure::Args(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let conn = if task.action.module.runs_locally() || delegated_local {
        engine.pool.local().await
    } else {
        engine.pool.get(target).await.map_err(Failure::Transport)?
    };
    let progress = |message: String| {
        let secrets = engine.state(host).secrets.clone();
        engine.emit(crate::report::Event::Progress {
            task: task.name.clone(),
            host: h.name.clone(),
            message: secrets.text(&message),
        })
    };
    let ctx = Ctx {
        conn: &conn,
        host: &h.name,
        r#become,
        env,
        check,
        diff: engine.opts.diff,
        renderer: &engine.renderer,
        vars,
        source: &engine.pb.source,
        inv: &engine.inv,
        progress: &progress,
    };
    task.action.module.run(&ctx, args).await
}

/// Apply changed_when / failed_when and set facts; build the reported and registered values.
fn finish(
    engine: &Engine,
    task: &Task,
    host: HostId,
    vars: &Value,
    mut o: Outcome,
) -> (Done, Value) {
    let registered = o.to_json();
    let mut scope = vars.clone();
    if let (Value::Object(m), Some(name)) = (&mut scope, &task.register) {
        m.insert(name.clone(), registered.clone());
    }
    // A module that did not run (check mode) has no result to judge.
    let judged = !o.skipped;
    if let Some(expr) = task.changed_when.as_ref().filter(|_| judged) {
        match engine.renderer.eval_bool(expr, &scope) {
            Ok(b) => o.changed = b,
            Err(e) => {
                o.failed = true;
                o.msg = Some(format!("changed_when '{expr}': {e}"));
            }
        }
    }
    if let Some(expr) = task.failed_when.as_ref().filter(|_| judged) {
        match engine.renderer.eval_bool(expr, &scope) {
            Ok(b) => o.failed = b,
            Err(e) => {
                o.failed = true;
                o.msg = Some(format!("failed_when '{expr}': {e}"));
            }
        }
    }
    if !o.facts.is_empty() && !o.failed {
        let mut st = engine.state(host);
        st.facts
            .extend(o.facts.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let status = if o.failed {
        Status::Failed
    } else if o.skipped {
        Status::Skipped
    } else if o.changed {
        Status::Changed
    } else {
        Status::Ok
    };
    let mut registered = o.to_json();
    if let Value::Object(m) = &mut registered {
        m.insert(
            "pgplay_module".into(),
            Value::String(task.action.module.name().into()),
        );
    }
    let done = Done {
        status,
        msg: o.msg.clone(),
        diff: o.diff.as_ref().map(|d| d.unified()),
        result: registered.clone(),
    };
    (done, registered)
}
