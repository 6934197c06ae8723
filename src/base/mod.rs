//! The floor of the crate: small helpers that several stages share, each with one owner.
//!
//! Before this module, Ansible's boolean spellings, "does this string hold a template", the
//! identifier check, shell quoting and word splitting, home expansion and "who runs pgplay"
//! each had two or three copies in different stages, and the copies had drifted (two truth
//! tables disagreed on `2`). Each now lives here once. Nothing in this module imports anything
//! of pgplay's, so every stage can use it without importing up the pipeline.

pub mod shell;
pub mod text;
pub mod truth;
pub mod user;
