//! Where and as whom a step's module runs: `delegate_to`, become (method, user, the target
//! host's become settings and password), the task's `environment`, and the connection — this
//! machine for the modules that never touch a host, else the target's pooled connection.

use serde_json::{Map, Value};

use super::Engine;
use crate::inventory::HostId;
use crate::modules::{Ctx, Failure, Outcome};
use crate::playbook::Task;
use crate::transport::{Become, BecomeMethod};

/// Modules that never touch the host (no connection needed).
/// Call the task's module with rendered `args` on the step's target.
pub(super) async fn call_module(
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
