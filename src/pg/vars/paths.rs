//! Paths and user names that reach pgbackrest.conf, scripts and commands: each must be plain
//! enough that no value can add a line, a section or a word to what it is written into.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::vars::HostVars;

/// Path variables that reach pgbackrest.conf, scripts and commands: each must be an absolute,
/// clean path of plain characters, so that no value can add a line, a section or a word.
pub(super) const PATH_VARS: &[&str] = &["pg_data", "pg_bin_dir", "pgbackrest_log_dir"];

pub(super) fn check_path_var(c: &HostVars<'_>, key: &str) -> Result<()> {
    let value = match c.vars.get(key) {
        None | Some(Value::Null) => return Ok(()),
        Some(_) if c.templated(key) => return Ok(()),
        Some(Value::String(s)) => s,
        Some(v) => {
            return Err(Error::invalid(
                c.span(key),
                key,
                format!("expected a path, found {v}"),
            ))
        }
    };
    clean_path(value).map_err(|m| {
        Error::invalid(c.span(key), key, m).with_hint(
            "an absolute path such as /pg/data: no line breaks, spaces, quotes, '..' or '//'",
        )
    })
}

/// An absolute, clean path: `/` then components of `[A-Za-z0-9._@%+=:,~-]`, no `.`/`..`
/// components, no empty ones (`//`), no trailing `/`.
pub fn clean_path(p: &str) -> Result<(), String> {
    if p.contains(['\n', '\r']) {
        return Err(format!(
            "{p:?} holds a line break: it would add a line to the files it is written into"
        ));
    }
    if !p.starts_with('/') {
        return Err(format!("{p:?} is not an absolute path"));
    }
    if p == "/" {
        return Err("the root directory '/' cannot be used here".into());
    }
    if p.ends_with('/') {
        return Err(format!("{p:?} ends with '/': write it without"));
    }
    for comp in p[1..].split('/') {
        if comp.is_empty() {
            return Err(format!("{p:?} has an empty component ('//')"));
        }
        if comp == "." || comp == ".." {
            return Err(format!(
                "{p:?} has a '{comp}' component: write the path it means"
            ));
        }
        if let Some(ch) = comp
            .chars()
            .find(|ch| !(ch.is_ascii_alphanumeric() || "._@%+=:,~-".contains(*ch)))
        {
            return Err(format!("{p:?} holds {ch:?}, which pgplay does not write into configuration files or commands"));
        }
    }
    Ok(())
}

/// A POSIX-ish user name, as `useradd` takes it.
pub(super) fn is_user_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}
