//! The command line, as an ansible-playbook user expects it (clap derive).
//!
//! `pgplay <PLAYBOOK> [flags]` runs a playbook; `pgplay inventory --list | --host H`
//! prints the inventory like ansible-inventory. Flags are parsed here ("low" args) and
//! turned into ready-to-use settings in `run.rs`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Connection {
    /// Native SSH (russh): key files and ssh-agent, known_hosts checked.
    Russh,
    /// The system's OpenSSH client (multiplexed, one master per host): honours ~/.ssh/config.
    #[value(alias = "ssh")]
    Openssh,
    /// Run on this machine.
    Local,
}

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
    version = concat!(
        env!("CARGO_PKG_VERSION"),
        " (commit ",
        env!("PGPLAY_COMMIT"),
        ", built ",
        env!("PGPLAY_BUILD_DATE"),
        ")"
    ),
    about = "Run Pigsty's backup and PITR playbooks over SSH, in parallel",
    after_help = concat!(
        "Built-in playbooks (a bare name; a playbook file is given by its path, ./site.yml):\n",
        "  node          node_crontab: /etc/crontab on every node\n",
        "  node-rm       node_crontab removed (Pigsty's default crontab back)\n",
        "  pgsql         pg_backup (pgBackRest, stanza, first backup), pg_crontab, pg_scripts\n",
        "  pgsql-backup  a backup now on each cluster's leader, and the list of backups (-t info)\n",
        "  pgsql-pitr    point-in-time recovery: down, pitr, up (Patroni and etcd included)\n",
        "  pgsql-rm      pg_backup: remove a cluster's stanza (its backups)\n",
        "Inventory: pgplay inventory --list | --host HOST\n",
        "Exit codes: 0 ok, 1 error, 2 a host failed, 4 a host was unreachable or the input did not parse, 5 bad options, 99 interrupted."
    )
)]
pub struct PlaybookArgs {
    /// A built-in playbook by its bare name (pgsql, pgsql-pitr, ...; `.yml` optional), or a
    /// playbook file by its path (./site.yml, dir/x.yml, /abs/x.yml).
    pub playbook: String,

    /// Inventory file [default: ./pigsty.yml, then ~/pigsty/pigsty.yml].
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Option<PathBuf>,

    /// Limit to hosts matching this pattern (group, host, glob, `a,b`, `a:&b`, `a:!b`), or
    /// `@FILE`: the patterns in FILE, one per line.
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,

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

    /// How many hosts to work on at once.
    #[arg(short = 'f', long = "forks", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub forks: u32,

    /// Connection type.
    #[arg(short = 'c', long = "connection", value_enum, default_value_t = Connection::Russh)]
    pub connection: Connection,

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

    /// Connection timeout in seconds.
    #[arg(short = 'T', long = "timeout", default_value_t = 10)]
    pub timeout: u64,

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

    /// Also write every task's full output (as -v, secrets masked, lines stamped with the
    /// time) to this file, appended [env: ANSIBLE_LOG_PATH, PGPLAY_LOG].
    #[arg(long = "log")]
    pub log: Option<PathBuf>,

    /// Output format.
    #[arg(long = "output", value_enum, default_value_t = Output::Auto)]
    pub output: Output,

    /// Answer yes to the question a destructive playbook (pgsql-pitr) asks before it starts;
    /// needed when not on a terminal.
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
}

/// Show the inventory like ansible-inventory.
#[derive(Debug, Parser)]
#[command(
    name = "pgplay inventory",
    about = "Show the inventory as ansible-inventory does"
)]
pub struct InventoryArgs {
    /// Inventory file [default: ./pigsty.yml, then ~/pigsty/pigsty.yml].
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Option<PathBuf>,

    /// Print every group, host and merged variable as JSON.
    #[arg(long = "list", conflicts_with_all = ["host", "graph"])]
    pub list: bool,

    /// Print one host's merged variables as JSON.
    #[arg(long = "host")]
    pub host: Option<String>,

    /// Print the group tree.
    #[arg(long = "graph")]
    pub graph: bool,

    /// Limit to hosts matching this pattern.
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn help_lists_every_built_in_playbook() {
        let cmd = super::PlaybookArgs::command();
        let help = cmd
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        for name in crate::playbook::builtin::playbook_names() {
            assert!(
                help.contains(&format!("\n  {name} ")),
                "{name} missing: {help}"
            );
        }
    }
}
