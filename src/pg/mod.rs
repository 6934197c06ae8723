//! The Pigsty/PostgreSQL domain pgplay acts on, typed: one home for what the inventory's
//! Pigsty variables mean and what a backup or restore decides from them.
//!
//! - `vars`: a host's Pigsty variables read into Rust types at load time (the PostgreSQL
//!   identity, the pgBackRest repository, paths and user names, `node_crontab`, `pg_crontab`);
//!   the inventory keeps the result per host (`Host::domain`);
//! - `crontab`: `/etc/crontab` lines checked as cron reads them;
//! - `pitr`: point-in-time recovery — `pg_pitr`, the recovery window, WAL, the restore job.
//!
//! Everything here is pure (no host is reached): the steps that run on the hosts are task
//! modules (`modules/pitr/`, `pg_leader`, `backup_info`, `patroni_api`), and the playbooks
//! (`playbooks/pgsql*.yml`, `node.yml`) order them.

pub mod crontab;
pub mod databases;
pub mod pitr;
pub mod vars;

pub use vars::{check_repo_with, Domain, PgRole, PgVars, DEFAULT_REPOS, REPO_KEYS};
