//! `debug`: print a message or a variable; never changes anything.

use serde_json::{Map, Value};

use super::args::opt_str;
use super::{Ctx, Failure, Outcome};

pub fn run(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Outcome, Failure> {
    let mut o = Outcome::ok(false);
    if let Some(var) = opt_str(args, "var")? {
        let value = ctx
            .renderer
            .eval(&var, ctx.vars)
            .map_err(|e| Failure::Args(e.to_string()))?;
        o.data.insert(var, value);
    } else {
        let msg = match args.get("msg") {
            None => Value::String("Hello world!".into()),
            Some(v) => v.clone(),
        };
        o.data.insert("msg".into(), msg);
    }
    Ok(o)
}
