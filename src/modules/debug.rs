//! `debug`: print a message or a variable; never changes anything.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::args::present;
use super::{Ctx, Failure, Outcome};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(default, deserialize_with = "present")]
    msg: Option<Value>,
    var: Option<String>,
    #[allow(dead_code)] // Ansible has it; accepted, not acted on
    verbosity: Option<IgnoredAny>,
}

pub fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let mut o = Outcome::ok(false);
    if let Some(var) = a.var {
        let value = ctx
            .renderer
            .eval(&var, ctx.vars)
            .map_err(|e| Failure::Args(e.to_string()))?;
        o.data.insert(var, value);
    } else {
        let msg = a
            .msg
            .unwrap_or_else(|| Value::String("Hello world!".into()));
        o.data.insert("msg".into(), msg);
    }
    Ok(o)
}
