//! The checks of single pg_pitr values: a restore point name, an XID, a backup label, a
//! stanza, database names, an absolute path. Each says what is wrong in words a user can act on.

/// A restore point name as `pg_create_restore_point` takes it.
pub fn restore_point(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("a restore point name cannot be empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "'{name}' is {} bytes; PostgreSQL keeps restore point names to 63 bytes, so this name cannot match one",
            name.len()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "{name:?} contains a control character (newline, tab, ...)"
        ));
    }
    Ok(name.to_string())
}

/// A transaction id: 1 .. 2^32-1.
pub fn xid(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=u32::MAX as u64).contains(&n) => Ok(n as u32),
        Ok(n) => Err(format!("{n} is not a transaction id (1 to 4294967295)")),
        Err(_) => Err(format!(
            "'{text}' is not a transaction id: a whole number from 1 to 4294967295"
        )),
    }
}

/// A pgBackRest backup label: `YYYYMMDD-HHMMSSF`, or a differential/incremental one
/// `YYYYMMDD-HHMMSSF_YYYYMMDD-HHMMSS(D|I)`.
pub fn label(text: &str) -> Result<String, String> {
    let stamp = |s: &str| {
        s.len() == 15
            && s.as_bytes()[8] == b'-'
            && s.chars()
                .enumerate()
                .all(|(i, c)| i == 8 || c.is_ascii_digit())
    };
    let ok = match text.split_once('_') {
        None => text.len() == 16 && text.ends_with('F') && stamp(&text[..15]),
        Some((full, rest)) => {
            full.len() == 16
                && full.ends_with('F')
                && stamp(&full[..15])
                && rest.len() == 16
                && (rest.ends_with('D') || rest.ends_with('I'))
                && stamp(&rest[..15])
        }
    };
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not a pgBackRest backup label (like 20261203-080201F or 20261203-080201F_20261203-090000I; see pgplay pgsql-backup -t info)"
        ))
    }
}

/// A stanza (cluster) name.
pub fn stanza(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && !text.starts_with(['-', '.'])
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not a stanza name (letters, digits, '-', '_' and '.'; it is the source cluster's pg_cluster)"
        ))
    }
}

pub(super) fn databases(names: Vec<String>) -> Result<Vec<String>, String> {
    for n in &names {
        if n.is_empty() || n.len() > 63 || n.chars().any(char::is_control) {
            return Err(format!(
                "{n:?} is not a database name (1-63 bytes, one line)"
            ));
        }
    }
    Ok(names)
}

/// A clean absolute path: one line, starts with '/', no '.' or '..' parts, not '/' itself.
pub fn abs_path(text: &str) -> Result<String, String> {
    if text.contains(['\n', '\r', '\0']) {
        return Err(format!("{text:?} spans more than one line"));
    }
    if !text.starts_with('/') {
        return Err(format!("'{text}' is not an absolute path"));
    }
    let parts: Vec<&str> = text.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Err("'/' cannot be a data directory".into());
    }
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(format!(
            "'{text}' has '.' or '..' in it: write the path plainly"
        ));
    }
    if parts.iter().any(|p| p.chars().any(char::is_control)) {
        return Err(format!("{text:?} contains a control character"));
    }
    Ok(format!("/{}", parts.join("/")))
}
