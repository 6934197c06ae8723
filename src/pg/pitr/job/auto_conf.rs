//! postgresql.auto.conf after a restore: pgplay writes the recovery settings itself, with
//! PostgreSQL's quoting (pgBackRest 2.45 writes a restore point name unescaped, and a quote
//! in it stops PostgreSQL from starting).

/// Keys a restore writes into postgresql.auto.conf, which pgplay owns after a restore.
pub(super) const RECOVERY_KEYS: &[&str] = &[
    "restore_command",
    "recovery_target",
    "recovery_target_time",
    "recovery_target_name",
    "recovery_target_xid",
    "recovery_target_lsn",
    "recovery_target_inclusive",
    "recovery_target_action",
    "recovery_target_timeline",
    "recovery_end_command",
];

/// A value in PostgreSQL's configuration-file quoting: `'it''s "here"'` (a backslash is an
/// escape character there, so it is doubled too).
pub fn pg_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

pub(super) fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.starts_with('#') || t.is_empty() {
        return None;
    }
    let end = t
        .find(|c: char| c == '=' || c.is_whitespace())
        .unwrap_or(t.len());
    Some(&t[..end])
}

/// postgresql.auto.conf with every recovery setting (and every key in `settings`) removed and
/// `settings` appended as pgplay's block. `also_remove` drops more keys (e.g. replication).
pub fn rewrite_auto_conf(old: &str, settings: &[(String, String)], also_remove: &[&str]) -> String {
    let mut out = String::new();
    for line in old.lines() {
        if line.starts_with("# Recovery settings written by pgplay") {
            continue;
        }
        let drop = key_of(line).is_some_and(|k| {
            let k = k.to_ascii_lowercase();
            RECOVERY_KEYS.contains(&k.as_str())
                || also_remove.contains(&k.as_str())
                || settings.iter().any(|(s, _)| *s == k)
        });
        if !drop {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !settings.is_empty() {
        out.push_str("# Recovery settings written by pgplay pgsql-pitr (PostgreSQL quoting)\n");
        for (k, v) in settings {
            out.push_str(&format!("{k} = {}\n", pg_quote(v)));
        }
    }
    out
}

/// A `key=value` line pgBackRest reads back as exactly this key and value.
pub(super) fn ini_value(key: &str, value: &str) -> Result<(), String> {
    if value.contains(['\n', '\r', '\0']) || key.contains(['\n', '\r', '=', '[', ']']) {
        return Err(format!(
            "{key}: the value {value:?} would break the line structure of pgBackRest's configuration"
        ));
    }
    if value.trim() != value {
        return Err(format!(
            "{key}: the value {value:?} starts or ends with spaces, which pgBackRest would drop"
        ));
    }
    Ok(())
}
