//! pgplay: a typed, parallel playbook engine for Pigsty's backup and PITR operations.
//!
//! The pipeline shows in the modules: `inventory` (Pigsty YAML → typed, frozen model) →
//! `playbook` (YAML → typed plays and tasks) → `select` (limit, tags) → `plan` (petgraph DAG
//! of (task, host)) → `exec` (tokio, one SSH connection per host, `modules`) → `report`
//! (events rendered as text, JSON or progress bars). `run` wires them for the CLI.

pub mod ask;
pub mod base;
pub mod builtin;
pub mod cli;
pub mod config;
pub mod error;
pub mod exec;
pub mod extra;
pub mod guard;
pub mod help;
pub mod inventory;
#[cfg(test)]
mod layers;
pub mod mask;
pub mod modules;
pub mod pg;
pub mod plan;
pub mod playbook;
pub mod report;
pub mod run;
pub mod scope;
pub mod select;
pub mod settings;
pub mod template;
pub mod transport;
pub mod vars;
pub mod yaml;
