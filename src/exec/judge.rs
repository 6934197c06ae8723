//! Judging a step with the task's expressions: `when`/`until` conditions, `changed_when` and
//! `failed_when` over the registered result, and the status an outcome becomes (facts of a
//! module that did not fail are kept).

use serde_json::Value;

use super::done::Done;
use super::failure::Cause;
use super::Engine;
use crate::inventory::HostId;
use crate::modules::Outcome;
use crate::playbook::Task;
use crate::report::Status;

/// `when:` is a bare expression; a `{{ }}` one is rendered first, as Ansible tolerates.
pub(super) fn condition(
    engine: &Engine,
    cond: &str,
    vars: &Value,
    dropped: &[(String, crate::template::TemplateError)],
) -> Result<bool, String> {
    let explain = |e: crate::template::TemplateError| super::vars::explain(&e, dropped);
    if crate::base::text::contains_template(cond) {
        let rendered = engine
            .renderer
            .render("when", cond, vars)
            .map_err(explain)?;
        return engine.renderer.eval_bool(&rendered, vars).map_err(explain);
    }
    engine.renderer.eval_bool(cond, vars).map_err(explain)
}

/// Apply changed_when / failed_when and set facts; build the reported and registered values.
pub(super) fn finish(
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
    // The failed_when that failed a result its module did not explain.
    let mut failed_by = None;
    if let Some(expr) = task.failed_when.as_ref().filter(|_| judged) {
        match engine.renderer.eval_bool(expr, &scope) {
            Ok(b) => {
                o.failed = b;
                failed_by = b.then_some(expr);
            }
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
    // A failure keeps the module's words as its cause, said with the task when reported.
    let (msg, cause) = match (status, o.msg.clone(), failed_by) {
        (Status::Failed, Some(words), _) => (None, Some(Cause::Said(words))),
        (Status::Failed, None, Some(expr)) => (
            None,
            Some(Cause::Said(format!("failed_when '{expr}' is true"))),
        ),
        (Status::Failed, None, None) => (None, Some(Cause::Unsaid)),
        (_, msg, _) => (msg, None),
    };
    let done = Done {
        status,
        msg,
        cause,
        diff: o.diff.as_ref().map(|d| d.unified()),
        result: registered.clone(),
    };
    (done, registered)
}
