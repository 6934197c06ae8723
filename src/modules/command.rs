//! `command`: run a program with arguments, no shell: `argv` (a list) or a command line
//! split into words like a shell would (quotes and backslashes), each word then quoted, so
//! `;`, `$()`, `|` and globs in values are passed literally.

use serde_json::{Map, Value};

use super::args::opt_str;
use super::{Ctx, Failure, Outcome};
use crate::transport::join_argv;

pub async fn run(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Outcome, Failure> {
    let argv: Vec<String> = match args.get("argv") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(other) => return Err(Failure::Args(format!("argv must be a list, got {other}"))),
        None => {
            let line = opt_str(args, "_raw_params")?
                .or(opt_str(args, "cmd")?)
                .ok_or_else(|| Failure::Args("command needs a command line or argv".into()))?;
            crate::base::shell::split(&line)
                .map_err(|e| Failure::Args(format!("cannot split {line:?}: {e}")))?
        }
    };
    if argv.is_empty() {
        return Err(Failure::Args("command: the command is empty".into()));
    }
    super::shell::execute(ctx, args, &format!("exec {}", join_argv(&argv))).await
}
