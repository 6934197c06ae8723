//! Task modules: one file each, one dispatch here.
//!
//! A module gets its templated arguments and a `Ctx` (the host's connection, become,
//! environment, check/diff flags, variables) and returns an `Outcome`. Every module supports
//! check mode: it finds out what it would change, says so (with a diff for files), and changes
//! nothing; and it reports `changed` only when it changed something. Remote work is done in as
//! few exchanges as the semantics allow (usually one script that compares and writes).

mod assert;
mod backup_info;
mod command;
mod copy;
mod debug;
mod fail;
mod file;
mod lineinfile;
mod patroni_api;
mod pg_leader;
pub mod pgbackrest_words;
mod pitr;
mod remote;
mod service;
mod set_fact;
mod shell;
mod template;
pub use template::text as template_text;
mod wait_for;

use serde_json::{Map, Value};

use crate::builtin::Source;
use crate::template::Renderer;
use crate::transport::{Become, Connection, ExecOutput, ExecRequest, TransportError};

/// Canonical module names.
pub const NAMES: &[&str] = &[
    "shell",
    "command",
    "copy",
    "template",
    "file",
    "lineinfile",
    "service",
    "wait_for",
    "debug",
    "set_fact",
    "assert",
    "fail",
    "backup_info",
    "pg_leader",
    "pitr",
];

/// Argument names each module accepts (`*` = any).
fn spec(module: &str) -> &'static [&'static str] {
    match module {
        "shell" => &[
            "_raw_params",
            "cmd",
            "chdir",
            "creates",
            "removes",
            "executable",
            "stdin",
        ],
        "command" => &[
            "_raw_params",
            "cmd",
            "argv",
            "chdir",
            "creates",
            "removes",
            "stdin",
        ],
        "copy" => &[
            "src", "content", "dest", "owner", "group", "mode", "backup", "force", "validate",
        ],
        "template" => &[
            "src", "dest", "owner", "group", "mode", "backup", "force", "validate",
        ],
        "file" => &[
            "path", "dest", "name", "state", "owner", "group", "mode", "src", "recurse", "force",
        ],
        "lineinfile" => &[
            "path",
            "dest",
            "name",
            "line",
            "regexp",
            "state",
            "insertafter",
            "insertbefore",
            "create",
            "owner",
            "group",
            "mode",
            "backup",
        ],
        "service" => &["name", "state", "enabled", "daemon_reload"],
        "wait_for" => &[
            "host",
            "port",
            "path",
            "search_regex",
            "state",
            "timeout",
            "delay",
            "sleep",
            "msg",
            "connect_timeout",
        ],
        "debug" => &["msg", "var", "verbosity"],
        "set_fact" => &["*"],
        "assert" => &["that", "fail_msg", "msg", "success_msg", "quiet"],
        "fail" => &["msg"],
        "backup_info" => &["stanza", "missing_ok", "io_timeout", "window_time"],
        "pitr" => &["step"],
        _ => &[],
    }
}

/// Variables a module reads by itself, beyond its arguments (the run's validation covers
/// them: `scope.rs`).
pub fn implicit_reads(module: &str) -> &'static [&'static str] {
    match module {
        "pitr" => crate::pitr::READS,
        "pg_leader" => &[
            "pg_cluster",
            "pg_port",
            "pg_dbsu",
            "patroni_enabled",
            "patroni_port",
        ],
        _ => &[],
    }
}

/// Map `ansible.builtin.copy`, `systemd`, ... to a canonical module name.
pub fn canonical(name: &str) -> Option<&'static str> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    let short = match short {
        "systemd" | "systemd_service" => "service",
        other => other,
    };
    NAMES.iter().copied().find(|n| *n == short)
}

pub fn takes_free_form(module: &str) -> bool {
    matches!(module, "shell" | "command")
}

pub fn arg_names(module: &str) -> impl Iterator<Item = &'static str> {
    spec(module)
        .iter()
        .copied()
        .filter(|a| *a != "_raw_params" && *a != "*")
}

/// Check argument names at load time: `Err((arg, message))`.
pub fn check_args(module: &str, args: &Map<String, Value>) -> Result<(), (String, String)> {
    let spec = spec(module);
    if spec.contains(&"*") {
        return Ok(());
    }
    for key in args.keys() {
        if !spec.contains(&key.as_str()) {
            return Err((
                key.clone(),
                format!(
                    "unknown argument for {module} (expected one of: {})",
                    arg_names(module).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// What a module needs from the engine.
pub struct Ctx<'a> {
    pub conn: &'a Connection,
    pub host: &'a str,
    pub r#become: Option<Become>,
    pub env: Vec<(String, String)>,
    pub check: bool,
    pub diff: bool,
    pub renderer: &'a Renderer,
    pub vars: &'a Value,
    pub source: &'a Source,
    /// The whole inventory (a module acting for a cluster looks up its other members).
    pub inv: &'a crate::inventory::Inventory,
    /// Say how far a long step is (shown while it runs; rate-limit it yourself).
    pub progress: &'a (dyn Fn(String) + Send + Sync),
}

impl Ctx<'_> {
    /// Run a shell script on the host (as the become user, with the task environment).
    pub async fn exec(&self, script: &str, stdin: Option<&[u8]>) -> Result<ExecOutput, Failure> {
        self.conn
            .exec(ExecRequest {
                script,
                stdin,
                r#become: self.r#become.as_ref(),
                env: &self.env,
            })
            .await
            .map_err(Failure::Transport)
    }
}

/// A text diff for check/diff mode.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Diff {
    pub path: String,
    pub before: String,
    pub after: String,
}

impl Diff {
    /// Unified diff text.
    pub fn unified(&self) -> String {
        let diff = similar::TextDiff::from_lines(&self.before, &self.after);
        diff.unified_diff()
            .context_radius(3)
            .header(
                &format!("before: {}", self.path),
                &format!("after: {}", self.path),
            )
            .to_string()
    }
}

/// What a module did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    pub msg: Option<String>,
    pub diff: Option<Diff>,
    /// Extra result fields (rc, stdout, stderr, state, ...), available to `register`.
    pub data: Map<String, Value>,
    /// Variables set for the host (set_fact).
    pub facts: Map<String, Value>,
}

impl Outcome {
    pub fn ok(changed: bool) -> Outcome {
        Outcome {
            changed,
            ..Outcome::default()
        }
    }

    pub fn failed(msg: impl Into<String>) -> Outcome {
        Outcome {
            failed: true,
            msg: Some(msg.into()),
            ..Outcome::default()
        }
    }

    /// The registered value, as Ansible shapes it.
    pub fn to_json(&self) -> Value {
        let mut m = self.data.clone();
        m.insert("changed".into(), Value::Bool(self.changed));
        m.insert("failed".into(), Value::Bool(self.failed));
        if self.skipped {
            m.insert("skipped".into(), Value::Bool(true));
        }
        if let Some(msg) = &self.msg {
            m.insert("msg".into(), Value::String(msg.clone()));
        }
        for key in ["stdout", "stderr"] {
            if let Some(Value::String(s)) = m.get(key) {
                let lines: Vec<Value> = s.lines().map(|l| Value::String(l.into())).collect();
                m.insert(format!("{key}_lines"), Value::Array(lines));
            }
        }
        Value::Object(m)
    }
}

/// Why a module could not produce an outcome.
#[derive(Debug)]
pub enum Failure {
    /// The host could not be reached (or the connection broke).
    Transport(TransportError),
    /// Bad arguments or a local problem, worded for the user.
    Args(String),
}

impl From<TransportError> for Failure {
    fn from(e: TransportError) -> Failure {
        Failure::Transport(e)
    }
}

/// Run a module by canonical name.
pub async fn run(
    module: &str,
    ctx: &Ctx<'_>,
    args: &Map<String, Value>,
) -> Result<Outcome, Failure> {
    match module {
        "shell" => shell::run(ctx, args).await,
        "command" => command::run(ctx, args).await,
        "copy" => copy::run(ctx, args).await,
        "template" => template::run(ctx, args).await,
        "file" => file::run(ctx, args).await,
        "lineinfile" => lineinfile::run(ctx, args).await,
        "service" => service::run(ctx, args).await,
        "wait_for" => wait_for::run(ctx, args).await,
        "debug" => debug::run(ctx, args),
        "set_fact" => set_fact::run(args),
        "assert" => assert::run(ctx, args),
        "fail" => fail::run(args),
        "backup_info" => backup_info::run(ctx, args).await,
        "pitr" => pitr::run(ctx, args).await,
        "pg_leader" => pg_leader::run(ctx, args).await,
        other => Err(Failure::Args(format!("unknown module '{other}'"))),
    }
}

/// Helpers for reading typed arguments.
pub mod args {
    use super::Failure;
    use serde_json::{Map, Value};

    pub fn opt_str(args: &Map<String, Value>, key: &str) -> Result<Option<String>, Failure> {
        match args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(v) => Err(Failure::Args(format!(
                "argument '{key}' must be a string, got {v}"
            ))),
        }
    }

    pub fn req_str(args: &Map<String, Value>, key: &str) -> Result<String, Failure> {
        opt_str(args, key)?
            .ok_or_else(|| Failure::Args(format!("missing required argument '{key}'")))
    }

    /// The first present of several alias names.
    pub fn path(args: &Map<String, Value>, names: &[&str]) -> Result<String, Failure> {
        for n in names {
            if let Some(v) = opt_str(args, n)? {
                if !v.starts_with('/') {
                    return Err(Failure::Args(format!(
                        "'{n}' must be an absolute path, got '{v}'"
                    )));
                }
                return Ok(v);
            }
        }
        Err(Failure::Args(format!(
            "missing required argument '{}'",
            names[0]
        )))
    }

    pub fn opt_bool(args: &Map<String, Value>, key: &str) -> Result<Option<bool>, Failure> {
        match args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => crate::inventory::domain_bool(v).map(Some).ok_or_else(|| {
                Failure::Args(format!("argument '{key}' must be true or false, got {v}"))
            }),
        }
    }

    pub fn opt_f64(args: &Map<String, Value>, key: &str) -> Result<Option<f64>, Failure> {
        match args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                Failure::Args(format!("argument '{key}' must be a number, got {s:?}"))
            }),
            Some(v) => Err(Failure::Args(format!(
                "argument '{key}' must be a number, got {v}"
            ))),
        }
    }

    /// A file mode: an integer (YAML `0644` is already 420) or an octal string ("0644", "644").
    /// Symbolic modes are refused rather than guessed.
    pub fn mode(args: &Map<String, Value>) -> Result<Option<u32>, Failure> {
        let bad = |v: &Value| {
            Failure::Args(format!(
                "mode {v} is not an octal file mode; write it quoted, e.g. mode: '0644'"
            ))
        };
        match args.get("mode") {
            None | Some(Value::Null) => Ok(None),
            // YAML 1.1 already read `0644` as 420; a bare `644` is decimal (0o1204) in
            // Ansible too, which is never what anyone means: refuse it.
            Some(v @ Value::Number(n)) => match n.as_u64() {
                Some(m) if m <= 0o777 => Ok(Some(m as u32)),
                _ => Err(bad(v)),
            },
            Some(v @ Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() || !s.chars().all(|c| ('0'..='7').contains(&c)) || s.len() > 5 {
                    return Err(bad(v));
                }
                u32::from_str_radix(s, 8).map(Some).map_err(|_| bad(v))
            }
            Some(v) => Err(bad(v)),
        }
    }
}
