//! Task modules: one file each, one enum (`Module`), one dispatch.
//!
//! The playbook loader names a task's module once (`Module::named`) and checks its argument
//! names against the module's typed `Args` (`Module::check_names`, see `args.rs`); from then
//! on a module is a `Module`, never a string. The executor renders the arguments and calls
//! `Module::run`, which reads them into the `Args` and runs the module's file with them; it
//! asks the module nothing else but `runs_locally`.
//!
//! A module gets its typed arguments and a `Ctx` (the host's connection, become, environment,
//! check/diff flags, variables) and returns an `Outcome`. Every module supports check mode:
//! it finds out what it would change, says so (with a diff for files), and changes nothing;
//! and it reports `changed` only when it changed something. Remote work is done in as few
//! exchanges as the semantics allow (usually one script that compares and writes).

mod args;
mod assert;
mod backup_info;
mod command;
mod copy;
mod debug;
mod fail;
mod file;
mod lineinfile;
mod outcome;
mod patroni_api;
mod pg_database;
mod pg_leader;
pub mod pgbackrest_words;
mod pitr;
mod remote;
mod service;
mod set_fact;
mod shell;
mod template;
mod wait_for;
mod write;

use std::fmt;

use serde_json::{Map, Value};

pub use args::Unknown;
pub use outcome::{Diff, Outcome};

use crate::builtin::Source;
use crate::template::Renderer;
use crate::transport::{Become, Connection, ExecOutput, ExecRequest, TransportError};

/// What a task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Module {
    Shell,
    Command,
    Copy,
    Template,
    File,
    Lineinfile,
    Service,
    WaitFor,
    Debug,
    SetFact,
    Assert,
    Fail,
    BackupInfo,
    PgLeader,
    PgDatabase,
    Pitr,
}

impl Module {
    /// Every module, in the order `pgplay help` and the "modules:" hint list them.
    pub const ALL: [Module; 16] = [
        Module::Shell,
        Module::Command,
        Module::Copy,
        Module::Template,
        Module::File,
        Module::Lineinfile,
        Module::Service,
        Module::WaitFor,
        Module::Debug,
        Module::SetFact,
        Module::Assert,
        Module::Fail,
        Module::BackupInfo,
        Module::PgLeader,
        Module::PgDatabase,
        Module::Pitr,
    ];

    /// The canonical name (`shell`, `wait_for`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Module::Shell => "shell",
            Module::Command => "command",
            Module::Copy => "copy",
            Module::Template => "template",
            Module::File => "file",
            Module::Lineinfile => "lineinfile",
            Module::Service => "service",
            Module::WaitFor => "wait_for",
            Module::Debug => "debug",
            Module::SetFact => "set_fact",
            Module::Assert => "assert",
            Module::Fail => "fail",
            Module::BackupInfo => "backup_info",
            Module::PgLeader => "pg_leader",
            Module::PgDatabase => "pg_database",
            Module::Pitr => "pitr",
        }
    }

    /// The module a task key names: `copy`, `ansible.builtin.copy`, `systemd`, ...
    pub fn named(key: &str) -> Option<Module> {
        let short = key
            .strip_prefix("ansible.builtin.")
            .or_else(|| key.strip_prefix("ansible.legacy."))
            .unwrap_or(key);
        let short = match short {
            "systemd" | "systemd_service" => "service",
            other => other,
        };
        Module::ALL.into_iter().find(|m| m.name() == short)
    }

    /// Whether a bare string is the command itself (`shell: echo hi`) rather than
    /// `key=value` arguments (`file: path=/x state=touch`).
    pub fn takes_free_form(self) -> bool {
        matches!(self, Module::Shell | Module::Command)
    }

    /// Whether the module never touches the host (no connection needed).
    pub fn runs_locally(self) -> bool {
        matches!(
            self,
            Module::Debug | Module::SetFact | Module::Assert | Module::Fail
        )
    }

    /// Variables the module reads by itself, beyond its arguments (the run's validation
    /// covers them: `scope.rs`).
    pub fn implicit_reads(self) -> &'static [&'static str] {
        match self {
            Module::Pitr => crate::pg::pitr::READS,
            Module::PgDatabase => pg_database::READS,
            Module::PgLeader => &[
                "pg_cluster",
                "pg_port",
                "pg_dbsu",
                "patroni_enabled",
                "patroni_port",
            ],
            _ => &[],
        }
    }

    /// Check the argument names at load time (the values may still be templates).
    pub fn check_names(self, args: &Map<String, Value>) -> Result<(), Unknown> {
        use args::names;
        match self {
            Module::Shell => names::<shell::Args>(args),
            Module::Command => names::<command::Args>(args),
            Module::Copy => names::<copy::Args>(args),
            Module::Template => names::<template::Args>(args),
            Module::File => names::<file::Args>(args),
            Module::Lineinfile => names::<lineinfile::Args>(args),
            Module::Service => names::<service::Args>(args),
            Module::WaitFor => names::<wait_for::Args>(args),
            Module::Debug => names::<debug::Args>(args),
            Module::SetFact => names::<set_fact::Args>(args),
            Module::Assert => names::<assert::Args>(args),
            Module::Fail => names::<fail::Args>(args),
            Module::BackupInfo => names::<backup_info::Args>(args),
            Module::PgLeader => names::<pg_leader::Args>(args),
            Module::PgDatabase => names::<pg_database::Args>(args),
            Module::Pitr => names::<pitr::Args>(args),
        }
    }

    /// Run the module with its rendered arguments.
    pub async fn run(self, ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Outcome, Failure> {
        use args::read;
        match self {
            Module::Shell => shell::run(ctx, read(args)?).await,
            Module::Command => command::run(ctx, read(args)?).await,
            Module::Copy => copy::run(ctx, read(args)?).await,
            Module::Template => template::run(ctx, read(args)?).await,
            Module::File => file::run(ctx, read(args)?).await,
            Module::Lineinfile => lineinfile::run(ctx, read(args)?).await,
            Module::Service => service::run(ctx, read(args)?).await,
            Module::WaitFor => wait_for::run(ctx, read(args)?).await,
            Module::Debug => debug::run(ctx, read(args)?),
            Module::SetFact => set_fact::run(read(args)?),
            Module::Assert => assert::run(ctx, read(args)?),
            Module::Fail => fail::run(read(args)?),
            Module::BackupInfo => backup_info::run(ctx, read(args)?).await,
            Module::PgLeader => pg_leader::run(ctx, read(args)?).await,
            Module::PgDatabase => pg_database::run(ctx, read(args)?).await,
            Module::Pitr => pitr::run(ctx, read(args)?).await,
        }
    }

    /// The text of the file the task renders on the controller (`template`), to find which
    /// fleet-wide variables it reaches (`exec::vars::Mentions`); `None` for other modules.
    pub fn rendered_text(self, args: &Map<String, Value>, source: &Source) -> Option<String> {
        match self {
            Module::Template => Some(template::text(args, source)),
            _ => None,
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::Module;

    /// The names each module is known by, as `ansible.builtin.` names too.
    #[test]
    fn modules_are_named_as_ansible_names_them() {
        for m in Module::ALL {
            assert_eq!(Module::named(m.name()), Some(m));
            assert_eq!(Module::named(&format!("ansible.builtin.{m}")), Some(m));
            assert_eq!(Module::named(&format!("ansible.legacy.{m}")), Some(m));
        }
        assert_eq!(Module::named("systemd"), Some(Module::Service));
        assert_eq!(
            Module::named("ansible.builtin.systemd_service"),
            Some(Module::Service)
        );
        assert_eq!(Module::named("raw"), None);
    }

    /// The argument names each module accepts, in the order the "expected one of" message
    /// lists them (the table that `modules::spec` was before issue 12).
    #[test]
    fn argument_names_each_module_accepts() {
        let table: [(Module, &[&str]); 16] = [
            (
                Module::Shell,
                &[
                    "_raw_params",
                    "cmd",
                    "chdir",
                    "creates",
                    "removes",
                    "executable",
                    "stdin",
                ],
            ),
            (
                Module::Command,
                &[
                    "_raw_params",
                    "cmd",
                    "argv",
                    "chdir",
                    "creates",
                    "removes",
                    "stdin",
                ],
            ),
            (
                Module::Copy,
                &[
                    "src", "content", "dest", "owner", "group", "mode", "backup", "force",
                    "validate",
                ],
            ),
            (
                Module::Template,
                &[
                    "src", "dest", "owner", "group", "mode", "backup", "force", "validate",
                ],
            ),
            (
                Module::File,
                &[
                    "path", "dest", "name", "state", "owner", "group", "mode", "src", "recurse",
                    "force",
                ],
            ),
            (
                Module::Lineinfile,
                &[
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
            ),
            (
                Module::Service,
                &["name", "state", "enabled", "daemon_reload"],
            ),
            (
                Module::WaitFor,
                &[
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
            ),
            (Module::Debug, &["msg", "var", "verbosity"]),
            (Module::SetFact, &[]),
            (
                Module::Assert,
                &["that", "fail_msg", "msg", "success_msg", "quiet"],
            ),
            (Module::Fail, &["msg"]),
            (
                Module::BackupInfo,
                &["stanza", "missing_ok", "io_timeout", "window_time"],
            ),
            (Module::PgLeader, &[]),
            (Module::PgDatabase, &["name"]),
            (Module::Pitr, &["step"]),
        ];
        for (m, names) in table {
            let mut all = Map::new();
            for n in names {
                // values are not looked at: a template stands where a number is wanted
                all.insert(n.to_string(), json!("{{ x }}"));
            }
            assert_eq!(m.check_names(&all), Ok(()), "{m}");
            let bogus: Map<String, Value> = [("bogus".to_string(), json!(1))].into_iter().collect();
            match (m, m.check_names(&bogus)) {
                (Module::SetFact, Ok(())) => {}
                (_, Err(u)) => assert_eq!(
                    (u.name.as_str(), u.expected.as_slice()),
                    ("bogus", names),
                    "{m}"
                ),
                (_, Ok(())) => panic!("{m} accepted an unknown argument"),
            }
        }
    }
}
