//! Paths and shell words: `basename`, `dirname` and `quote`.
//!
//! `basename`/`dirname` are Python's `os.path` functions (`'/a/b/' | basename` is empty, not
//! `b`). `quote` is the same quoting every remote command uses (`crate::base::shell`), so a
//! value quoted in a template reaches the host exactly as one quoted by pgplay itself.

use minijinja::value::Value;
use minijinja::Error;

use super::text;
use crate::base::shell;

/// Python's `os.path.basename`.
pub(super) fn basename(path: String) -> String {
    match path.rfind('/') {
        Some(i) => path[i + 1..].to_string(),
        None => path,
    }
}

/// Python's `os.path.dirname`.
pub(super) fn dirname(path: String) -> String {
    let head = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

/// `quote`: one shell word that reads back as the value.
pub(super) fn quote(value: &Value) -> Result<String, Error> {
    Ok(shell::quote(&text(value)?))
}
