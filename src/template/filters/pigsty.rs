//! pgplay's own filters for Pigsty's files: `cron_user` and `pgbackrest_value`.
//!
//! Ansible has no such filters; pgplay's built-in templates need them to write a crontab and a
//! pgbackrest.conf that cannot be broken by a value (a boolean must be `y`/`n`, a value must
//! stay on one line).

use minijinja::value::Value;
use minijinja::{Error, ErrorKind};

/// pgplay's own: the user field of an /etc/crontab line (`00 01 * * * postgres cmd` → postgres).
pub(super) fn cron_user(line: String) -> Result<String, Error> {
    crate::pg::crontab::parse_line(&line, true)
        .map(|entry| entry.user)
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("crontab line {line:?}: {e}"),
            )
        })
}

/// pgplay's own: a pgBackRest option value as its config file wants it (booleans as y/n).
pub(super) fn pgbackrest_value(value: Value) -> Result<String, Error> {
    if value.kind() == minijinja::value::ValueKind::Bool {
        return Ok(if value.is_true() { "y" } else { "n" }.to_string());
    }
    if value.is_undefined() || value.is_none() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "a pgBackRest option has no value",
        ));
    }
    let text = value.to_string();
    if text.contains(['\n', '\r']) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "a pgBackRest option value must be one line",
        ));
    }
    Ok(text)
}
