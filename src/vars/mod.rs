//! A variable with its place: reading typed values out of a host's merged variables so that a
//! wrong one is refused at the file, line and key where it was set.
//!
//! - `read`: `HostVars`, the one reader of strings, booleans and numbers that the inventory's
//!   connection variables and Pigsty's variables (`pg::vars`) share;
//! - `de`: a serde deserializer over positioned YAML, for structured variables (`pg_pitr`);
//! - `problem`: a wrong domain value kept until a run reads it (`scope.rs` decides).
//!
//! It knows YAML nodes and errors, nothing of inventories or playbooks.

pub mod de;
mod problem;
mod read;

pub use problem::Problem;
pub use read::{is_template, list, HostVars};
