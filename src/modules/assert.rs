//! `assert`: every expression in `that` must hold; the first that does not fails the host.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::{Ctx, Failure, Outcome};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    that: Option<Value>,
    fail_msg: Option<String>,
    msg: Option<String>,
    success_msg: Option<String>,
    #[allow(dead_code)] // Ansible has it; accepted, not acted on
    quiet: Option<IgnoredAny>,
}

pub fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let that: Vec<String> = match &a.that {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Bool(b)) => vec![b.to_string()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(Failure::Args(format!(
                    "assert: 'that' items must be expressions, got {other}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Failure::Args(
                "assert needs 'that': an expression or a list".into(),
            ))
        }
    };
    for expr in &that {
        let ok = ctx
            .renderer
            .eval_bool(expr, ctx.vars)
            .map_err(|e| Failure::Args(e.to_string()))?;
        if !ok {
            let msg = a
                .fail_msg
                .clone()
                .or(a.msg.clone())
                .unwrap_or_else(|| format!("Assertion failed: {expr}"));
            let mut o = Outcome::failed(msg);
            o.data
                .insert("assertion".into(), Value::String(expr.clone()));
            return Ok(o);
        }
    }
    let mut o = Outcome::ok(false);
    o.msg = Some(
        a.success_msg
            .unwrap_or_else(|| "All assertions passed".into()),
    );
    Ok(o)
}
