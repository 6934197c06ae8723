//! `backup_info`: list a cluster's pgBackRest backup sets and its recovery window.
//!
//! Runs `pgbackrest --stanza=<stanza> --output=json info` on the host (usually the primary,
//! as the dbsu), and turns it into a table a DBA can read at 3 a.m. — label, type, start and
//! stop, database size, backup size, repository size, WAL range, what each backup builds on
//! — plus the recovery window: from the end of the oldest backup to the newest archived
//! WAL (with `window_time: true`, to the time that WAL was archived: one more listing). The
//! parsed data is also returned (for `register` and `--output json`).
//!
//! A repository that cannot be read (pgBackRest's status "other": unreachable, cannot be
//! decrypted, ...) fails the task with pgBackRest's own words, so a play never goes on to act
//! on a repository it could not see. A stanza that does not exist fails too, unless
//! `missing_ok: true` (then `exists` is false: "nothing there" is an answer for pgsql-rm).

use serde::Deserialize;
use serde_json::{json, Value};

use super::args::required;
use super::{Ctx, Failure, Outcome};
use crate::transport::quote;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    stanza: Option<String>,
    missing_ok: Option<bool>,
    /// Seconds (a number or a numeric string, at least 1).
    io_timeout: Option<Value>,
    window_time: Option<bool>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let stanza = required("stanza", &a.stanza)?;
    let missing_ok = a.missing_ok.unwrap_or(false);
    // The window's end as a time costs one more listing of the repository: only for a
    // listing that a person reads (`window_time: true`), not for the probes before a backup.
    let window_time = a.window_time.unwrap_or(false);
    // The repository's two info files are small: a short I/O timeout makes an endpoint that
    // hangs or refuses an answer in seconds instead of pgBackRest's minutes of retries.
    let io_timeout = match &a.io_timeout {
        None => 5,
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                super::Failure::Args(format!("io_timeout must be a number of seconds, got {v}"))
            })?,
    };
    let script = format!(
        "pgbackrest --stanza={} --io-timeout={io_timeout} --output=json info",
        quote(&stanza)
    );
    let out = ctx.exec(&script, None).await?;
    if out.status != 0 {
        return Ok(Outcome::failed(format!(
            "pgbackrest info failed (exit {}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let parsed: Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            return Ok(Outcome::failed(format!(
                "pgbackrest info printed no JSON: {e}"
            )))
        }
    };
    let Some(entry) = parsed
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == stanza.as_str()))
    else {
        return Ok(Outcome::failed(format!(
            "pgbackrest info has no stanza {stanza}"
        )));
    };
    // pgBackRest's status codes: 0 ok, 1 missing stanza path, 2 no valid backups, 3 missing
    // stanza data, 4 different cipher, 5 ... and 99 other (the repository could not be read).
    let code = entry["status"]["code"].as_i64().unwrap_or(99);
    if code == 1 {
        if !missing_ok {
            return Ok(Outcome::failed(format!(
                "stanza {stanza} does not exist in this host's repository (pgbackrest info: missing stanza path)"
            )));
        }
        let mut o = Outcome::ok(false);
        o.data.insert("exists".into(), Value::Bool(false));
        o.data.insert("status_code".into(), Value::from(code));
        o.data.insert("backups".into(), Value::Array(Vec::new()));
        o.data.insert(
            "pgplay_show".into(),
            Value::String(format!("stanza {stanza}: not in the repository\n")),
        );
        return Ok(o);
    }
    if code == 4 || code == 99 {
        return Ok(Outcome::failed(format!(
            "the repository of stanza {stanza} cannot be read: {}",
            super::pgbackrest_words::from_stanza(entry)
        )));
    }
    let mut info = summarize(entry);
    // The window's end as a time: when the newest WAL segment reached the repository (its
    // transactions are at most that recent). Left out if the listing fails.
    let id = entry["archive"]
        .as_array()
        .and_then(|a| a.last())
        .and_then(|a| a["id"].as_str());
    if let (true, Some(id), Some(max)) = (window_time, id, info["wal_max"].as_str()) {
        if max.len() >= 16 {
            let listing = format!(
                "pgbackrest --stanza={s} --io-timeout={io_timeout} --output=json repo-ls {dir}",
                s = quote(&stanza),
                dir = quote(&format!("archive/{stanza}/{id}/{}", &max[..16])),
            );
            if let Ok(out) = ctx.exec(&listing, None).await {
                let files: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
                if let Some(t) = archived_at(&files, max) {
                    info["recovery_window"]["to"] = Value::String(t);
                }
            }
        }
    }
    let mut o = Outcome::ok(false);
    o.data.insert("exists".into(), Value::Bool(true));
    o.data
        .insert("pgplay_show".into(), Value::String(table(&info)));
    if let Value::Object(m) = info {
        o.data.extend(m);
    }
    Ok(o)
}

/// When the segment `wal` was archived: the time of its file in a `repo-ls --output=json`
/// listing (names carry a checksum and a compression suffix after the segment name).
fn archived_at(files: &Value, wal: &str) -> Option<String> {
    files.as_object()?.iter().find_map(|(name, f)| {
        (name.starts_with(wal) && !name.ends_with(".backup")).then(|| timestamp(&f["time"]))
    })
}

fn timestamp(epoch: &Value) -> String {
    epoch
        .as_i64()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S+00").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Bytes as pgBackRest prints them (44.5MB, 504B).
pub fn size(bytes: &Value) -> String {
    let Some(b) = bytes.as_f64() else {
        return "-".into();
    };
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b}B")
    } else {
        format!("{:.1}{}", v, units[i])
    }
}

/// The fields that matter, from one stanza of `pgbackrest info --output=json`.
pub fn summarize(entry: &Value) -> Value {
    let backups: Vec<Value> = entry["backup"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|b| {
            json!({
                "label": b["label"],
                "type": b["type"],
                "start": timestamp(&b["timestamp"]["start"]),
                "stop": timestamp(&b["timestamp"]["stop"]),
                "database_size": b["info"]["size"],
                "backup_size": b["info"]["delta"],
                "repo_size": b["info"]["repository"]["delta"],
                "wal_start": b["archive"]["start"],
                "wal_stop": b["archive"]["stop"],
                "reference": b["reference"],
            })
        })
        .collect();
    let archive = entry["archive"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or(Value::Null);
    let window_from = backups
        .first()
        .map(|b| b["stop"].clone())
        .unwrap_or(Value::Null);
    json!({
        "stanza": entry["name"],
        "status": entry["status"]["message"],
        "status_code": entry["status"]["code"],
        "cipher": entry["cipher"],
        "backups": backups,
        "wal_min": archive["min"],
        "wal_max": archive["max"],
        "recovery_window": {
            "from": window_from,
            "to_wal": archive["max"],
        },
    })
}

/// The human table.
pub fn table(info: &Value) -> String {
    let s = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| "-".into());
    let mut out = format!(
        "stanza {}  status: {}  cipher: {}\n",
        s(&info["stanza"]),
        s(&info["status"]),
        s(&info["cipher"])
    );
    let rows: Vec<[String; 9]> = info["backups"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|b| {
            let refs = b["reference"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "-".into());
            [
                s(&b["label"]),
                s(&b["type"]),
                s(&b["start"]),
                s(&b["stop"]),
                size(&b["database_size"]),
                size(&b["backup_size"]),
                size(&b["repo_size"]),
                format!("{} / {}", s(&b["wal_start"]), s(&b["wal_stop"])),
                refs,
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("no backups yet\n");
        return out;
    }
    let header = [
        "LABEL",
        "TYPE",
        "START",
        "STOP",
        "DB SIZE",
        "BACKUP",
        "REPO",
        "WAL START / STOP",
        "BUILDS ON",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.len());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(header.to_vec()));
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    let to = match info["recovery_window"]["to"].as_str() {
        Some(t) => format!(
            "{t} (when the newest WAL, {}, was archived)",
            s(&info["recovery_window"]["to_wal"])
        ),
        None => format!(
            "the newest archived WAL {}",
            s(&info["recovery_window"]["to_wal"])
        ),
    };
    out.push_str(&format!(
        "WAL archive: {} .. {}\nrecovery window: from {} (end of the oldest backup) to {to}\n",
        s(&info["wal_min"]),
        s(&info["wal_max"]),
        s(&info["recovery_window"]["from"]),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_from_pgbackrest_json() {
        let entry = json!({
            "name": "pg-meta", "cipher": "none", "status": {"code": 0, "message": "ok"},
            "archive": [{"min": "000000010000000000000001", "max": "00000001000000000000000A"}],
            "backup": [
                {"label": "20250715-013657F", "type": "full", "timestamp": {"start": 1752543417, "stop": 1752543418},
                 "info": {"size": 46661632, "delta": 46661632, "repository": {"size": 9122611, "delta": 9122611}},
                 "archive": {"start": "000000010000000000000006", "stop": "000000010000000000000006"}, "reference": null},
                {"label": "20250715-013657F_20250715-013730I", "type": "incr", "timestamp": {"start": 1752543450, "stop": 1752543451},
                 "info": {"size": 46661632, "delta": 8499, "repository": {"size": 9122611, "delta": 504}},
                 "archive": {"start": "000000010000000000000008", "stop": "000000010000000000000008"}, "reference": ["20250715-013657F"]}
            ]
        });
        let info = summarize(&entry);
        let t = table(&info);
        assert!(
            t.starts_with("stanza pg-meta  status: ok  cipher: none\n"),
            "{t}"
        );
        assert!(
            t.contains("full  2025-07-15 01:36:57+00  2025-07-15 01:36:58+00  44.5MB"),
            "{t}"
        );
        assert!(t.contains("504B"), "{t}");
        assert!(t.contains("20250715-013657F_20250715-013730I  incr"), "{t}");
        assert!(
            t.trim_end()
                .ends_with("to the newest archived WAL 00000001000000000000000A"),
            "{t}"
        );
        assert!(t.contains("from 2025-07-15 01:36:58+00"), "{t}");
        // with the newest segment's archive time, the window ends at a time
        let files = json!({
            "00000001000000000000000A-2f3451032dec4bf78ec7c1016f5002cf00746bc5.gz": {"type": "file", "size": 10, "time": 1752543500},
            "000000010000000000000009-aa.gz": {"type": "file", "size": 10, "time": 1752543400}
        });
        let mut info = info;
        info["recovery_window"]["to"] =
            Value::String(archived_at(&files, "00000001000000000000000A").unwrap_or_default());
        let t = table(&info);
        assert!(
            t.trim_end().ends_with(
                "to 2025-07-15 01:38:20+00 (when the newest WAL, 00000001000000000000000A, was archived)"
            ),
            "{t}"
        );
        assert_eq!(info["backups"][1]["reference"][0], "20250715-013657F");
    }
}
