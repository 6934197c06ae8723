//! `command`: run a program with arguments, no shell: `argv` (a list) or a command line
//! split into words like a shell would (quotes and backslashes), each word then quoted, so
//! `;`, `$()`, `|` and globs in values are passed literally.

use serde::Deserialize;
use serde_json::Value;

use super::args::present;
use super::shell::{execute, Common};
use super::{Ctx, Failure, Outcome};
use crate::transport::join_argv;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The free-form command line (`command: /bin/true`).
    #[serde(rename = "_raw_params")]
    raw: Option<String>,
    cmd: Option<String>,
    #[serde(default, deserialize_with = "present")]
    argv: Option<Value>,
    chdir: Option<String>,
    creates: Option<String>,
    removes: Option<String>,
    stdin: Option<String>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let argv: Vec<String> = match a.argv {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(other) => return Err(Failure::Args(format!("argv must be a list, got {other}"))),
        None => {
            let line = a
                .raw
                .or(a.cmd)
                .ok_or_else(|| Failure::Args("command needs a command line or argv".into()))?;
            crate::base::shell::split(&line)
                .map_err(|e| Failure::Args(format!("cannot split {line:?}: {e}")))?
        }
    };
    if argv.is_empty() {
        return Err(Failure::Args("command: the command is empty".into()));
    }
    let common = Common {
        chdir: a.chdir,
        creates: a.creates,
        removes: a.removes,
        stdin: a.stdin,
    };
    execute(ctx, common, &format!("exec {}", join_argv(&argv))).await
}
