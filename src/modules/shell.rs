//! `shell`: run a command line through /bin/sh (or `executable`) on the host.
//!
//! Like Ansible it always reports `changed` when it ran, fails on a non-zero exit status,
//! is skipped in check mode (unless the task says `check_mode: false`), and honours
//! `chdir`, `creates` and `removes`.

use serde::Deserialize;
use serde_json::Value;

use super::{Ctx, Failure, Outcome};
use crate::transport::quote;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The free-form command (`shell: echo hi`).
    #[serde(rename = "_raw_params")]
    raw: Option<String>,
    cmd: Option<String>,
    chdir: Option<String>,
    creates: Option<String>,
    removes: Option<String>,
    executable: Option<String>,
    stdin: Option<String>,
}

/// What `shell` and `command` share: where to run, the guards, the input.
pub struct Common {
    pub chdir: Option<String>,
    pub creates: Option<String>,
    pub removes: Option<String>,
    pub stdin: Option<String>,
}

/// Printed by the guard when `creates`/`removes` says there is nothing to do.
const SKIP_MARK: &str = "PGPLAY-GUARD-SKIP-7d1f";

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let cmd = a
        .raw
        .or(a.cmd)
        .ok_or_else(|| Failure::Args("shell needs a command".into()))?;
    let line = match a.executable {
        Some(exe) => format!("{} -c {}", quote(&exe), quote(&cmd)),
        None => cmd,
    };
    let common = Common {
        chdir: a.chdir,
        creates: a.creates,
        removes: a.removes,
        stdin: a.stdin,
    };
    execute(ctx, common, &line).await
}

/// Run a prepared command line with the guard arguments; shared with `command`.
pub async fn execute(ctx: &Ctx<'_>, c: Common, line: &str) -> Result<Outcome, Failure> {
    let mut script = String::new();
    if let Some(p) = c.creates {
        script.push_str(&format!(
            "if [ -e {} ]; then echo {SKIP_MARK}; exit 0; fi\n",
            quote(&p)
        ));
    }
    if let Some(p) = c.removes {
        script.push_str(&format!(
            "if [ ! -e {} ]; then echo {SKIP_MARK}; exit 0; fi\n",
            quote(&p)
        ));
    }
    if ctx.check {
        let mut o = Outcome::ok(false);
        o.skipped = true;
        o.msg = Some(
            "skipped in check mode (commands are not run; use check_mode: false to run one)".into(),
        );
        return Ok(o);
    }
    if let Some(dir) = c.chdir {
        script.push_str(&format!("cd {} || exit 1\n", quote(&dir)));
    }
    script.push_str(line);
    script.push('\n');
    let out = ctx
        .exec(&script, c.stdin.as_deref().map(str::as_bytes))
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.trim_end() == SKIP_MARK {
        let mut o = Outcome::ok(false);
        o.msg = Some("skipped: the creates/removes guard says there is nothing to do".into());
        o.data.insert("rc".into(), Value::from(0));
        return Ok(o);
    }
    let stdout = stdout.strip_suffix('\n').unwrap_or(&stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.strip_suffix('\n').unwrap_or(&stderr).to_string();
    let mut o = Outcome::ok(true);
    if out.status != 0 {
        o.failed = true;
        o.msg = Some(format!("non-zero return code {}", out.status));
    }
    o.data.insert("rc".into(), Value::from(out.status));
    o.data.insert("cmd".into(), Value::String(line.to_string()));
    o.data.insert("stdout".into(), Value::String(stdout));
    o.data.insert("stderr".into(), Value::String(stderr));
    Ok(o)
}
