//! The command line, as an ansible-playbook user expects it (clap derive).
//!
//! `pgplay <PLAYBOOK> [flags]` runs a playbook; `pgplay inventory --list | --host H`
//! prints the inventory like ansible-inventory; `config`, `help`, `completions` and `man`
//! explain pgplay itself. Flags are parsed here ("low" args) and lowered over ansible.cfg and
//! the environment into ready-to-use settings in `settings.rs`. One definition serves the
//! parser, `--help`, the shell completions and the man page.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::inventory::Transport;
use crate::transport::quote;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Progress bars on a terminal, plain lines otherwise.
    Auto,
    /// Ansible-like lines: TASK [...], ok/changed/failed: [host], PLAY RECAP.
    Text,
    /// JSON lines: one object per (task, host) result and a final recap.
    Json,
}

/// Run a Pigsty playbook over SSH, in parallel.
#[derive(Debug, Parser)]
#[command(
    name = "pgplay",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true,
    subcommand_value_name = "COMMAND",
    subcommand_help_heading = "Commands",
    version = concat!(
        env!("CARGO_PKG_VERSION"),
        " (commit ",
        env!("PGPLAY_COMMIT"),
        ", built ",
        env!("PGPLAY_BUILD_DATE"),
        ")"
    ),
    about = "Run Pigsty's backup and PITR playbooks over SSH, in parallel"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: PlaybookArgs,
}

/// The whole command line, with the list of built-in playbooks after the flags (from the
/// table of playbooks, so that a new one is listed without touching this file).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut after = String::from(
        "Built-in playbooks (a bare name; a playbook file is given by its path, ./site.yml):\n",
    );
    let width = crate::builtin::playbook_names()
        .map(str::len)
        .max()
        .unwrap_or(0);
    for (name, purpose) in crate::builtin::purposes() {
        after.push_str(&format!("  {name:width$}  {purpose}\n"));
    }
    after.push_str(concat!(
        "A playbook's tags, variables and examples: pgplay help PLAYBOOK (or PLAYBOOK --help).\n",
        "Settings come from the flags, PGPLAY_* and ANSIBLE_* variables and ansible.cfg: pgplay config.\n",
        "Exit codes: 0 ok, 1 error, 2 a host failed, 4 a host was unreachable or the input did not parse, 5 bad options, 99 interrupted."
    ));
    Cli::command().after_help(after)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the inventory as ansible-inventory does (--list, --host, --graph).
    Inventory(InventoryArgs),
    /// Show the settings in effect and where each came from (ansible.cfg, environment, default).
    Config(ConfigArgs),
    /// A playbook's tags, the variables it reads and examples.
    Help {
        /// A built-in playbook (or a playbook file's path); none: the list of them.
        playbook: Option<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print pgplay's manual page (roff): pgplay man | man -l -
    Man,
}

#[derive(Debug, clap::Args)]
pub struct PlaybookArgs {
    /// A built-in playbook by its bare name (pgsql, pgsql-pitr, ...; `.yml` optional), or a
    /// playbook file by its path (./site.yml, dir/x.yml, /abs/x.yml).
    #[arg(required = true)]
    pub playbook: Option<String>,

    /// Inventory file, or a host list `a,b,`; repeatable: the inventories are read as one
    /// [default: ansible.cfg's inventory, else ./pigsty.yml, then ~/pigsty/pigsty.yml].
    #[arg(short = 'i', long = "inventory", value_hint = clap::ValueHint::FilePath)]
    pub inventory: Vec<PathBuf>,

    /// Limit to hosts matching this pattern (group, host, glob, `a,b`, `a:&b`, `a:!b`), or
    /// `@FILE`: the patterns in FILE, one per line. Repeatable: every -l counts (-l a -l b is
    /// -l a,b).
    #[arg(short = 'l', long = "limit")]
    pub limit: Vec<String>,

    /// Only run tasks with these tags (comma-separated, repeatable).
    #[arg(short = 't', long = "tags")]
    pub tags: Vec<String>,

    /// Skip tasks with these tags (comma-separated, repeatable).
    #[arg(long = "skip-tags")]
    pub skip_tags: Vec<String>,

    /// Extra variables: JSON or YAML (`'{"a": 1}'`), `key=value ...`, or `@file`. Repeatable; later wins.
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,

    /// Don't change anything; report what would change.
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Show the differences of changed files.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,

    /// How many hosts to work on at once [default: ansible.cfg forks, else 50].
    #[arg(short = 'f', long = "forks", value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub forks: Option<u32>,

    /// Connection type [default: ansible.cfg transport, else russh].
    #[arg(short = 'c', long = "connection", value_enum)]
    pub connection: Option<Transport>,

    /// Remote user when the inventory sets no ansible_user [default: $USER].
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,

    /// Become another user (sudo) for every task whose play, block or task does not say
    /// otherwise, nor its host's ansible_become.
    #[arg(short = 'b', long = "become")]
    pub r#become: bool,

    /// The user to become when neither the task nor the host names one [default: root].
    #[arg(long = "become-user")]
    pub become_user: Option<String>,

    /// Ask for the SSH login password (on the terminal, without echo); a host's own
    /// ansible_password wins.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,

    /// Ask for the become (sudo/su) password (on the terminal, without echo); a host's own
    /// ansible_become_password wins.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,

    /// Private key file when the inventory sets no ansible_ssh_private_key_file.
    #[arg(long = "private-key", alias = "key-file")]
    pub private_key: Option<PathBuf>,

    /// known_hosts file [default: ~/.ssh/known_hosts; inventory var pgplay_known_hosts].
    #[arg(long = "known-hosts")]
    pub known_hosts: Option<PathBuf>,

    /// Accept and record the keys of hosts not yet in known_hosts (a changed key is always refused).
    #[arg(long = "accept-new-host-keys")]
    pub accept_new_host_keys: bool,

    /// Connection timeout in seconds [default: ansible.cfg timeout, else 10].
    #[arg(short = 'T', long = "timeout")]
    pub timeout: Option<u64>,

    /// Start at this task (by name), skipping the ones before it.
    #[arg(long = "start-at-task")]
    pub start_at_task: Option<String>,

    /// More output (-v shows every result).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Check the playbook (and -e) and stop: nothing connects, no inventory is needed.
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,

    /// List the hosts each play would run on, and stop.
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,

    /// List the tasks that would run, and stop.
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,

    /// List the tags of the playbook, and stop.
    #[arg(long = "list-tags")]
    pub list_tags: bool,

    /// Print the plan (task, host) DAG as Graphviz DOT, and stop.
    #[arg(long = "graph")]
    pub graph: bool,

    /// Ask before each task: (y)es, (n)o: skip it on every host, (c)ontinue without asking.
    #[arg(long = "step")]
    pub step: bool,

    /// Also write every task's full output (as -v, secrets masked, lines stamped with the
    /// time) to this file, appended [default: ansible.cfg log_path, ANSIBLE_LOG_PATH].
    #[arg(long = "log", value_hint = clap::ValueHint::FilePath)]
    pub log: Option<PathBuf>,

    /// Output format.
    #[arg(long = "output", value_enum, default_value_t = Output::Auto)]
    pub output: Output,

    /// No colour, even on a terminal (also NO_COLOR, ANSIBLE_NOCOLOR, ansible.cfg nocolor).
    #[arg(long = "no-color", alias = "no-colour")]
    pub no_color: bool,

    /// Answer yes to the question a destructive playbook (pgsql-pitr) asks before it starts;
    /// needed when not on a terminal.
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
}

/// Show the inventory like ansible-inventory.
#[derive(Debug, clap::Args)]
pub struct InventoryArgs {
    /// Inventory file, or a host list `a,b,`; repeatable
    /// [default: ansible.cfg's inventory, else ./pigsty.yml, then ~/pigsty/pigsty.yml].
    #[arg(short = 'i', long = "inventory", value_hint = clap::ValueHint::FilePath)]
    pub inventory: Vec<PathBuf>,

    /// Print every group, host and merged variable as JSON.
    #[arg(long = "list", conflicts_with_all = ["host", "graph"])]
    pub list: bool,

    /// Print one host's merged variables as JSON.
    #[arg(long = "host")]
    pub host: Option<String>,

    /// Print the group tree.
    #[arg(long = "graph")]
    pub graph: bool,

    /// Only these hosts (a pattern as for playbooks, or @FILE; repeatable): --list and
    /// --graph show them and the groups that hold them.
    #[arg(short = 'l', long = "limit")]
    pub limit: Vec<String>,
}

/// Show the settings in effect, like ansible-config dump.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Output format.
    #[arg(long = "output", value_enum, default_value_t = Output::Auto)]
    pub output: Output,
}

impl PlaybookArgs {
    /// This run's command line without tags (`... -t <step>` continues it).
    pub fn rerun(&self, name: &str, connection: Transport) -> String {
        let a = self;
        let mut out = format!("pgplay {}", quote(name));
        for i in &a.inventory {
            out.push_str(&format!(" -i {}", quote(&i.to_string_lossy())));
        }
        for l in &a.limit {
            out.push_str(&format!(" -l {}", quote(l)));
        }
        for e in &a.extra_vars {
            out.push_str(&format!(" -e {}", quote(e)));
        }
        if a.connection.is_some_and(|c| c != Transport::Russh) {
            out.push_str(&format!(" -c {connection:?}").to_lowercase());
        }
        if a.yes {
            out.push_str(" --yes");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_lists_every_built_in_playbook() {
        let cmd = super::command();
        let help = cmd
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        for name in crate::builtin::playbook_names() {
            assert!(
                help.contains(&format!("\n  {name} ")),
                "{name} missing: {help}"
            );
        }
    }
}
