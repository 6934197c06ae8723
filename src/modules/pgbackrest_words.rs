//! pgBackRest's repository errors in the words a DBA uses at 3 a.m.
//!
//! pgBackRest reports an unreadable repository as status 99 ("other") with its own error
//! text — a wrong `cipher_pass` shows up as "key/value found outside of section" followed by
//! binary garbage, an S3 endpoint that is down as "[HostConnectError] ... [111] Connection
//! refused". `explain` says what that means and keeps pgBackRest's first line (cleaned of
//! unprintable bytes) after it, so nothing is hidden.

use serde_json::Value;

/// One line: what is wrong, then pgBackRest's own words.
pub fn explain(raw: &str) -> String {
    let first = printable_first_line(raw);
    match meaning(raw) {
        Some(m) => format!("{m} (pgBackRest: {first})"),
        None => first,
    }
}

/// The meaning of a known pgBackRest error text.
fn meaning(raw: &str) -> Option<String> {
    if raw.contains("key/value found outside of section")
        || raw.contains("CryptoError")
        || raw.contains("unable to flush")
    {
        return Some(
            "the repository cannot be decrypted with this cipher_pass (or it is not encrypted the way cipher_type says)"
                .into(),
        );
    }
    if let Some(target) = quoted_after(raw, "unable to connect to '") {
        let why = if raw.contains("Connection refused") {
            "connection refused (is the repository's server running?)"
        } else if raw.contains("No route to host") {
            "no route to host"
        } else {
            "the connection failed"
        };
        return Some(format!("cannot reach {target}: {why}"));
    }
    if let Some(host) = quoted_after(raw, "unable to get address for '") {
        return Some(format!(
            "cannot resolve {host} (check s3_endpoint / the host's /etc/hosts)"
        ));
    }
    if let Some(target) = quoted_after(raw, "waiting for read from '")
        .or_else(|| quoted_after(raw, "waiting for write to '"))
    {
        return Some(format!(
            "{target} accepts connections but does not answer (timed out)"
        ));
    }
    if raw.contains("InvalidAccessKeyId") || raw.contains("SignatureDoesNotMatch") {
        return Some("the S3 credentials are refused (check s3_key and s3_key_secret)".into());
    }
    if raw.contains("NoSuchBucket") {
        return Some("the S3 bucket does not exist (check s3_bucket)".into());
    }
    if raw.contains("403") && raw.contains("Forbidden") {
        return Some(
            "the S3 endpoint refuses access (403 Forbidden: keys or bucket policy)".into(),
        );
    }
    if raw.contains("certificate verify failed") || raw.contains("unable to verify") {
        return Some(
            "the repository's TLS certificate is not trusted (check storage_ca_file / storage_verify_tls)"
                .into(),
        );
    }
    if raw.contains("Permission denied") {
        return Some(
            "permission denied on the repository path (it must belong to the dbsu)".into(),
        );
    }
    None
}

/// The text between `prefix` and the next `'`.
fn quoted_after<'a>(raw: &'a str, prefix: &str) -> Option<&'a str> {
    let start = raw.find(prefix)? + prefix.len();
    let rest = &raw[start..];
    rest.find('\'').map(|end| &rest[..end])
}

/// The first non-empty line, without control characters or replacement glyphs, at most 300
/// characters.
fn printable_first_line(raw: &str) -> String {
    let line = raw
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let clean: String = line
        .chars()
        .filter(|c| !c.is_control() && *c != '\u{fffd}')
        .take(300)
        .collect();
    clean.trim().to_string()
}

/// When `text` is `pgbackrest info --output=json` whose repository could not be read
/// (status 99 or 4), the repositories' reasons explained; else `None`.
pub fn from_info_json(text: &str) -> Option<String> {
    let start = text.find('[')?;
    // pgBackRest 2.45 copies the bytes of an undecryptable file into the message unescaped:
    // control characters there make the JSON invalid. Outside strings they are whitespace.
    let cleaned: String = text[start..]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let parsed: Value = serde_json::from_str(cleaned.trim()).ok()?;
    let out: Vec<String> = parsed
        .as_array()?
        .iter()
        .filter(|st| matches!(st["status"]["code"].as_i64(), Some(99) | Some(4)))
        .map(from_stanza)
        .collect();
    (!out.is_empty()).then(|| out.join("; "))
}

/// Why one stanza of `pgbackrest info --output=json` could not be read: each failing
/// repository's message (`repo[].status`), explained; the stanza's own status otherwise.
pub fn from_stanza(stanza: &Value) -> String {
    let mut reasons: Vec<String> = stanza["repo"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["status"]["code"].as_i64().is_some_and(|c| c != 0))
        .filter_map(|r| r["status"]["message"].as_str())
        .map(explain)
        .collect();
    reasons.dedup();
    if reasons.is_empty() {
        reasons.push(explain(
            stanza["status"]["message"]
                .as_str()
                .unwrap_or("unknown status"),
        ));
    }
    reasons.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_errors_in_plain_words() {
        for (raw, want) in [
            (
                "[FormatError] unable to load info file '/pgbackrest/backup/pg-test/backup.info' or '/pgbackrest/backup/pg-test/backup.info.copy':\nFormatError: key/value found outside of section at line 1: `(E\u{fffd}\u{fffd}L\u{1}",
                "cannot be decrypted with this cipher_pass",
            ),
            (
                "[HostConnectError] unable to connect to 'sss.pigsty:9000': [111] Connection refused",
                "cannot reach sss.pigsty:9000: connection refused",
            ),
            (
                "[FileReadError] timeout after 5000ms waiting for read from 'sss.pigsty:9000'",
                "sss.pigsty:9000 accepts connections but does not answer",
            ),
            (
                "[HostConnectError] unable to get address for 'sss.nowhere': [-2] Name or service not known",
                "cannot resolve sss.nowhere",
            ),
        ] {
            let got = explain(raw);
            assert!(got.contains(want), "{got}");
            assert!(!got.contains('\u{fffd}') && !got.contains('\u{1}'), "{got}");
            assert!(got.contains("(pgBackRest: ["), "{got}");
        }
        assert_eq!(explain("something new\nmore"), "something new");
    }

    #[test]
    fn info_json_with_raw_control_bytes() {
        let raw = "[{\"name\":\"pg-test\",\"repo\":[{\"key\":1,\"status\":{\"code\":99,\"message\":\"[FormatError] unable to load info file:\\nFormatError: key/value found outside of section at line 1: \u{2}h\u{fffd}z\u{17}\"}}],\"status\":{\"code\":99,\"message\":\"other\"}}]";
        let got = from_info_json(raw).unwrap_or_default();
        assert!(
            got.contains("cannot be decrypted with this cipher_pass"),
            "{got}"
        );
    }

    #[test]
    fn info_json_statuses() {
        let bad = r#"[{"name":"pg-test","repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":99,"message":"[HostConnectError] unable to connect to 'sss.pigsty:9000': [111] Connection refused"}}],"status":{"code":99,"message":"other"}}]"#;
        let got = from_info_json(bad).unwrap_or_default();
        assert!(got.starts_with("cannot reach sss.pigsty:9000"), "{got}");
        let missing = r#"[{"name":"pg-test","repo":[{"key":1,"status":{"code":1,"message":"missing stanza path"}}],"status":{"code":1,"message":"missing stanza path"}}]"#;
        assert_eq!(from_info_json(missing), None);
        assert_eq!(from_info_json("not json"), None);
    }
}
