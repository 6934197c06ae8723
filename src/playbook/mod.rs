//! Playbooks: an Ansible-flavoured, typed subset, loaded from YAML into plays of flat tasks.
//!
//! `load.rs` lowers the YAML (unknown keys are errors with "did you mean"); blocks
//! (`load/block.rs`: body, `rescue:`, `always:`) and `import_tasks`/`include_tasks` are flattened
//! at load time, each task inheriting its enclosing blocks' tags, conditions, become, vars and
//! environment, so later stages see one ordered list of tasks per play. A task keeps the
//! blocks it sits in (`Task::blocks`): at run time that path alone decides, per host, whether
//! the task runs after a failure (the rest of a block is passed over, its rescue and always
//! sections run). The playbooks compiled into the binary, and where a playbook's files are
//! read from (`Source`), are `crate::builtin`'s.

mod load;

use serde_json::{Map, Value};

pub use load::{load, load_source, origin};

use crate::builtin::Source;
use crate::modules::Module;
use crate::yaml::Span;

/// Index of a task within its play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub usize);

/// A block of a play (unique within the playbook).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(pub usize);

/// The part of a block a task belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `block:` — runs in order; the first failure on a host ends it there.
    Body,
    /// `rescue:` — runs on a host only when the body failed there; when it completes, the host
    /// is no longer failed (Ansible's "rescued").
    Rescue,
    /// `always:` — runs on every host that entered the block, whatever happened in it.
    Always,
}

/// One enclosing block of a task: which block, and in which of its sections the task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub block: BlockId,
    pub section: Section,
}

#[derive(Debug)]
pub struct Playbook {
    /// What the user named (a built-in name or a path), for messages.
    pub name: String,
    pub plays: Vec<Play>,
    /// Where templates named by `template: src=...` are looked up.
    pub source: Source,
}

#[derive(Debug)]
pub struct Play {
    pub name: String,
    pub span: Span,
    /// Host pattern.
    pub hosts: String,
    pub vars: Map<String, Value>,
    /// Role-style defaults: the lowest precedence, below the inventory (pgplay's `defaults:`,
    /// what `roles/<role>/defaults/main.yml` holds in Pigsty).
    pub defaults: Map<String, Value>,
    pub tasks: Vec<Task>,
    pub any_errors_fatal: bool,
    /// pgplay's `confirm:`: a template rendered per host of the play into the lines shown
    /// before asking "proceed?" (on a terminal; `--yes` otherwise). Destructive plays.
    pub confirm: Option<String>,
    /// pgplay's `require_limit: true`: the play refuses to run without `-l`.
    pub require_limit: bool,
    /// pgplay's `safeguard: <variable>` (Pigsty's `pg_safeguard`): the play refuses to run on
    /// a host where that variable is true; `-e <variable>=false` overrides it.
    pub safeguard: Option<String>,
    /// pgplay's `needs_primary: true`: the play acts through each selected cluster's primary
    /// (backups); a limit that selects a cluster's members but not its primary is refused,
    /// since the run would do nothing and look like a success.
    pub needs_primary: bool,
}

/// What a task runs: a module and its (untemplated) arguments, whose names were checked
/// against the module's typed arguments when the playbook loaded.
#[derive(Debug, Clone)]
pub struct Action {
    pub module: Module,
    /// Arguments: a mapping, with a free-form string under `_raw_params`.
    pub args: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: TaskId,
    pub name: String,
    pub span: Span,
    pub action: Action,
    /// Effective tags (own and inherited from blocks, includes and the play).
    pub tags: Vec<String>,
    /// Conditions, all of which must hold (inherited first).
    pub when: Vec<String>,
    pub loop_items: Option<Value>,
    pub loop_var: String,
    pub register: Option<String>,
    pub until: Option<String>,
    pub retries: u32,
    pub delay: f64,
    pub ignore_errors: bool,
    pub changed_when: Option<String>,
    pub failed_when: Option<String>,
    pub r#become: Option<bool>,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    pub throttle: Option<usize>,
    /// Ansible's `timeout:` (seconds): the task fails when it runs longer.
    pub timeout: Option<u64>,
    pub run_once: bool,
    pub delegate_to: Option<String>,
    pub no_log: bool,
    pub check_mode: Option<bool>,
    pub environment: Map<String, Value>,
    pub vars: Map<String, Value>,
    /// pgplay's cross-host ordering: names of tasks that must have finished on every host
    /// of the play before this task starts on any host.
    pub after: Vec<String>,
    /// Where `after:` was written (for errors about it).
    pub after_span: Option<Span>,
    /// The blocks the task sits in, outermost first (empty for a task of the play itself).
    pub blocks: Vec<Frame>,
}
