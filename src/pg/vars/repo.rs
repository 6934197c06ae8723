//! The pgBackRest repository a PostgreSQL host backs up to: `pgbackrest_method` must name a
//! key of `pgbackrest_repo`, every key of the chosen repository must be a pgBackRest
//! repository option (with a "did you mean"), and the options that pgBackRest needs together
//! must be there together (an S3 repository needs its endpoint, bucket, region and
//! credentials; encryption needs a passphrase). `pg_pitr.repo` is checked the same way.

use serde_json::{Map, Value};

use crate::error::{did_you_mean, Error, Result};
use crate::vars::HostVars;
use crate::yaml::Span;

/// pgBackRest repository options, without the `repoN-` prefix, `-` written as `_`.
pub const REPO_KEYS: &[&str] = &[
    "type",
    "path",
    "host",
    "host_user",
    "host_port",
    "host_type",
    "host_cmd",
    "host_config",
    "host_config_path",
    "host_config_include_path",
    "host_ca_file",
    "host_ca_path",
    "host_cert_file",
    "host_key_file",
    "s3_endpoint",
    "s3_region",
    "s3_bucket",
    "s3_key",
    "s3_key_secret",
    "s3_key_type",
    "s3_uri_style",
    "s3_role",
    "s3_token",
    "s3_kms_key_id",
    "s3_sse_customer_key",
    "s3_requester_pays",
    "gcs_bucket",
    "gcs_endpoint",
    "gcs_key",
    "gcs_key_type",
    "gcs_user_project",
    "azure_account",
    "azure_container",
    "azure_key",
    "azure_key_type",
    "azure_uri_style",
    "azure_endpoint",
    "sftp_host",
    "sftp_host_port",
    "sftp_host_user",
    "sftp_host_key_hash_type",
    "sftp_host_key_check_type",
    "sftp_host_fingerprint",
    "sftp_known_host",
    "sftp_private_key_file",
    "sftp_private_key_passphrase",
    "sftp_public_key_file",
    "storage_host",
    "storage_port",
    "storage_ca_file",
    "storage_ca_path",
    "storage_verify_tls",
    "storage_tag",
    "storage_upload_chunk_size",
    "block",
    "bundle",
    "bundle_limit",
    "bundle_size",
    "cipher_type",
    "cipher_pass",
    "hardlink",
    "retention_full",
    "retention_full_type",
    "retention_diff",
    "retention_archive",
    "retention_archive_type",
    "retention_history",
    "symlink",
    "target_time",
];

/// The repositories of Pigsty's default `pgbackrest_repo` (defined in the playbooks'
/// `defaults:`, checked there by the test suite), used when the inventory defines none.
pub const DEFAULT_REPOS: &[&str] = &["local", "minio"];

/// The chosen repository's definition, checked.
pub(super) fn repo_of(c: &HostVars<'_>, method: &str) -> Result<Map<String, Value>> {
    let vars = c.vars;
    let repos = match vars.get("pgbackrest_repo") {
        None | Some(Value::Null) => {
            // Pigsty's presets (the playbook's defaults) apply.
            let known: Map<String, Value> = DEFAULT_REPOS
                .iter()
                .map(|n| (n.to_string(), Value::Object(Map::new())))
                .collect();
            Value::Object(known)
        }
        Some(v) => v.clone(),
    };
    let Value::Object(repos) = repos else {
        return Err(Error::invalid(
            c.span("pgbackrest_repo"),
            "pgbackrest_repo",
            "expected a mapping of repository names to definitions",
        ));
    };
    let repo = match repos.get(method) {
        Some(Value::Object(r)) => r.clone(),
        Some(other) => {
            return Err(Error::invalid(
                c.span("pgbackrest_repo"),
                format!("pgbackrest_repo.{method}"),
                format!("a repository definition must be a mapping, found {other}"),
            ))
        }
        None if c.templated("pgbackrest_method") => Map::new(),
        None => {
            let mut names: Vec<&str> = repos.keys().map(String::as_str).collect();
            names.sort();
            let err = Error::invalid(
                c.span("pgbackrest_method"),
                "pgbackrest_method",
                format!(
                    "'{method}' is not a repository of pgbackrest_repo (which has: {})",
                    names.join(", ")
                ),
            );
            return Err(match did_you_mean(method, names.iter().copied()) {
                Some(h) => err.with_hint(h),
                None => err,
            });
        }
    };
    check_repo(c, method, &repo)?;
    Ok(repo)
}

/// The span of a key inside the chosen repository definition, when it was written in YAML.
fn repo_key_span(c: &HostVars<'_>, method: &str, key: &str) -> Span {
    let inside = c
        .nodes
        .get("pgbackrest_repo")
        .and_then(|n| n.get(method))
        .and_then(|r| r.as_map())
        .and_then(|entries| {
            entries
                .iter()
                .find(|(k, _)| k.key_text() == key)
                .map(|(k, _)| k.span.clone())
        });
    inside.unwrap_or_else(|| c.span("pgbackrest_repo").clone())
}

fn check_repo(c: &HostVars<'_>, method: &str, repo: &Map<String, Value>) -> Result<()> {
    check_repo_with(repo, &format!("pgbackrest_repo.{method}"), &|key| {
        repo_key_span(c, method, key)
    })
}

/// Check one repository definition (`pgbackrest_repo.<name>`, or `pg_pitr.repo`): every key a
/// pgBackRest repository option, single values on one line, and the options that go together
/// present together. `prefix` names the definition in errors; `span_of` places a key.
pub fn check_repo_with(
    repo: &Map<String, Value>,
    prefix: &str,
    span_of: &dyn Fn(&str) -> Span,
) -> Result<()> {
    for (key, value) in repo {
        let span = span_of(key);
        let name = format!("{prefix}.{key}");
        if !REPO_KEYS.contains(&key.as_str()) {
            let err = Error::invalid(&span, name, "not a pgBackRest repository option");
            return Err(match did_you_mean(key, REPO_KEYS.iter().copied()) {
                Some(h) => err.with_hint(h),
                None => err.with_hint("see https://pgbackrest.org/configuration.html#section-repository (write - as _)"),
            });
        }
        if matches!(value, Value::Object(_) | Value::Array(_)) {
            return Err(Error::invalid(
                &span,
                name,
                "a repository option must be a single value",
            ));
        }
        if let Value::String(s) = value {
            if s.contains(['\n', '\r']) {
                return Err(Error::invalid(
                    &span,
                    name,
                    "a repository option must be on one line",
                ));
            }
        }
    }
    let text = |k: &str| -> Option<String> {
        match repo.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(if *b { "y" } else { "n" }.to_string()),
            _ => None,
        }
    };
    let fail = |key: &str, msg: String| {
        Err(Error::invalid(
            &span_of(key),
            format!("{prefix}.{key}"),
            msg,
        ))
    };
    let kind = text("type").unwrap_or_else(|| "posix".into());
    if !["posix", "s3", "azure", "gcs", "sftp", "cifs"].contains(&kind.as_str()) {
        return fail(
            "type",
            format!("'{kind}' is not a repository type (posix, s3, azure, gcs, sftp, cifs)"),
        );
    }
    if kind == "s3" {
        let missing: Vec<&str> = ["s3_endpoint", "s3_bucket", "s3_region"]
            .into_iter()
            .filter(|k| text(k).is_none())
            .collect();
        if !missing.is_empty() {
            return fail(
                "type",
                format!("an s3 repository needs {}", missing.join(", ")),
            );
        }
        let key_type = text("s3_key_type").unwrap_or_else(|| "shared".into());
        if key_type == "shared" && (text("s3_key").is_none() || text("s3_key_secret").is_none()) {
            return fail(
                "type",
                "an s3 repository with shared keys needs s3_key and s3_key_secret".into(),
            );
        }
        if let Some(style) = text("s3_uri_style") {
            if style != "host" && style != "path" {
                return fail("s3_uri_style", format!("'{style}' is not host or path"));
            }
        }
    }
    if let Some(cipher) = text("cipher_type") {
        match cipher.as_str() {
            "none" => {}
            "aes-256-cbc" => {
                if text("cipher_pass").is_none_or(|p| p.is_empty()) {
                    return fail(
                        "cipher_type",
                        "encryption (aes-256-cbc) needs cipher_pass".into(),
                    );
                }
            }
            other => {
                return fail(
                    "cipher_type",
                    format!("'{other}' is not none or aes-256-cbc"),
                )
            }
        }
    }
    if let Some(t) = text("retention_full_type") {
        if t != "count" && t != "time" {
            return fail("retention_full_type", format!("'{t}' is not count or time"));
        }
    }
    for k in [
        "retention_full",
        "retention_diff",
        "retention_archive",
        "storage_port",
    ] {
        if let Some(v) = text(k) {
            if v.parse::<u64>().is_err() {
                return fail(k, format!("expected a whole number, found '{v}'"));
            }
        }
    }
    Ok(())
}
