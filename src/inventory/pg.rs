//! Typed PostgreSQL variables of a host: identity (`pg_cluster`, `pg_seq`, `pg_role`, ...),
//! pgBackRest (`pgbackrest_method`, `pgbackrest_repo`, ...) and `pg_crontab`.
//!
//! A host is a PostgreSQL host when it has `pg_cluster`. Its repository is checked before
//! anything runs: `pgbackrest_method` must name a key of `pgbackrest_repo`, every key of the
//! chosen repository must be a pgBackRest repository option (with a "did you mean"), and the
//! options that pgBackRest needs together must be there together (an S3 repository needs its
//! endpoint, bucket, region and credentials; encryption needs a passphrase).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::Problem;
use crate::crontab;
use crate::error::{did_you_mean, Error, Result};
use crate::yaml::{Kind, Node, Span};

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgRole {
    Primary,
    Replica,
    Offline,
}

impl PgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PgRole::Primary => "primary",
            PgRole::Replica => "replica",
            PgRole::Offline => "offline",
        }
    }
}

/// The typed PostgreSQL view of a host.
#[derive(Clone, Debug)]
pub struct PgVars {
    pub cluster: String,
    pub seq: u32,
    pub role: PgRole,
    pub dbsu: String,
    pub data: String,
    pub port: u16,
    pub pgbackrest_enabled: bool,
    /// The chosen repository's name (`pgbackrest_method`).
    pub method: String,
    /// Its definition as written in the inventory (empty: Pigsty's preset of that name).
    pub repo: Map<String, Value>,
    pub init_backup: bool,
    /// `pg_crontab`: the dbsu's own crontab lines (no user field).
    pub crontab: Vec<String>,
}

/// The repositories of Pigsty's default `pgbackrest_repo` (defined in the playbooks'
/// `defaults:`, checked there by the test suite), used when the inventory defines none.
pub const DEFAULT_REPOS: &[&str] = &["local", "minio"];

struct Ctx<'a> {
    vars: &'a Map<String, Value>,
    nodes: &'a HashMap<String, Arc<Node>>,
    host: &'a Span,
}

impl Ctx<'_> {
    fn span(&self, key: &str) -> &Span {
        self.nodes.get(key).map(|n| &n.span).unwrap_or(self.host)
    }

    fn templated(&self, key: &str) -> bool {
        matches!(self.vars.get(key), Some(Value::String(s)) if crate::base::text::contains_template(s))
    }

    fn string(&self, key: &str, default: &str) -> Result<String> {
        match self.vars.get(key) {
            None | Some(Value::Null) => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(v) => Err(Error::invalid(
                self.span(key),
                key,
                format!("expected a string, found {v}"),
            )),
        }
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.vars.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(_) if self.templated(key) => Ok(default),
            Some(v) => crate::base::truth::boolean(v).ok_or_else(|| {
                Error::invalid(
                    self.span(key),
                    key,
                    format!("expected true or false, found {v}"),
                )
            }),
        }
    }

    fn uint(&self, key: &str, default: u64, max: u64) -> Result<u64> {
        let v = match self.vars.get(key) {
            None | Some(Value::Null) => return Ok(default),
            Some(_) if self.templated(key) => return Ok(default),
            Some(v) => v,
        };
        let n = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        n.filter(|n| *n <= max).ok_or_else(|| {
            Error::invalid(
                self.span(key),
                key,
                format!("expected a whole number from 0 to {max}, found {v}"),
            )
        })
    }
}

impl PgVars {
    /// `None` for hosts that are not PostgreSQL hosts (no `pg_cluster`), and for hosts whose
    /// identity is wrong (the problem says why). A wrong repository or `pg_crontab` is a
    /// problem of its own: the rest of the host's PostgreSQL view stays usable.
    pub fn from_vars(
        host: &Span,
        vars: &Map<String, Value>,
        nodes: &HashMap<String, Arc<Node>>,
    ) -> (Option<PgVars>, Vec<Problem>) {
        let mut problems = Vec::new();
        match Self::read(host, vars, nodes, &mut problems) {
            Ok(pg) => (pg, problems),
            Err(e) => {
                // Without its identity the host cannot be placed in its cluster at all.
                problems.push(Problem::new(e, host, &["pg_cluster", "pg_role"]));
                (None, problems)
            }
        }
    }

    fn read(
        host: &Span,
        vars: &Map<String, Value>,
        nodes: &HashMap<String, Arc<Node>>,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<PgVars>> {
        let c = Ctx { vars, nodes, host };
        let cluster = match vars.get("pg_cluster") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(v) => {
                return Err(Error::invalid(
                    c.span("pg_cluster"),
                    "pg_cluster",
                    format!("expected a cluster name, found {v}"),
                ))
            }
        };
        if !cluster
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return Err(Error::invalid(
                c.span("pg_cluster"),
                "pg_cluster",
                format!("'{cluster}' may hold only letters, digits, '-' and '_' (it names the backup stanza)"),
            ));
        }
        let role = match c.string("pg_role", "replica")?.as_str() {
            "primary" => PgRole::Primary,
            "replica" => PgRole::Replica,
            "offline" => PgRole::Offline,
            other => {
                let err = Error::invalid(
                    c.span("pg_role"),
                    "pg_role",
                    format!("'{other}' is not a role (primary, replica or offline)"),
                );
                return Err(
                    match did_you_mean(other, ["primary", "replica", "offline"]) {
                        Some(h) => err.with_hint(h),
                        None => err,
                    },
                );
            }
        };
        if !vars.contains_key("pg_seq") {
            return Err(Error::invalid(
                host,
                "pg_seq",
                format!("host of cluster '{cluster}' has no pg_seq"),
            )
            .with_hint("give every instance a number: { pg_seq: 1, pg_role: primary }"));
        }
        let seq = c.uint("pg_seq", 0, u32::MAX as u64)? as u32;
        let port = c.uint("pg_port", 5432, 65535)? as u16;
        let pgbackrest_enabled = c.bool("pgbackrest_enabled", true)?;
        let method = c.string("pgbackrest_method", "local")?;
        let repo = match repo_of(&c, &method) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem::new(
                    e,
                    host,
                    &["pgbackrest_repo", "pgbackrest_method"],
                ));
                Map::new()
            }
        };
        let crontab = match pg_crontab(&c) {
            Ok(lines) => lines,
            Err(e) => {
                problems.push(Problem::new(e, host, &[]));
                Vec::new()
            }
        };
        for key in PATH_VARS {
            if let Err(e) = check_path_var(&c, key) {
                problems.push(Problem::new(e, host, &[]));
            }
        }
        let dbsu = c.string("pg_dbsu", "postgres")?;
        if !is_user_name(&dbsu) && !c.templated("pg_dbsu") {
            return Err(Error::invalid(
                c.span("pg_dbsu"),
                "pg_dbsu",
                format!("{dbsu:?} is not a user name (letters, digits, '_', '-', '.'; not starting with '-')"),
            ));
        }
        Ok(Some(PgVars {
            cluster,
            seq,
            role,
            dbsu,
            data: c.string("pg_data", "/pg/data")?,
            port,
            pgbackrest_enabled,
            method,
            repo,
            init_backup: c.bool("pgbackrest_init_backup", true)?,
            crontab,
        }))
    }
}

/// Path variables that reach pgbackrest.conf, scripts and commands: each must be an absolute,
/// clean path of plain characters, so that no value can add a line, a section or a word.
const PATH_VARS: &[&str] = &["pg_data", "pg_bin_dir", "pgbackrest_log_dir"];

fn check_path_var(c: &Ctx<'_>, key: &str) -> Result<()> {
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
fn is_user_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// The chosen repository's definition, checked.
fn repo_of(c: &Ctx<'_>, method: &str) -> Result<Map<String, Value>> {
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
fn repo_key_span(c: &Ctx<'_>, method: &str, key: &str) -> Span {
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

fn check_repo(c: &Ctx<'_>, method: &str, repo: &Map<String, Value>) -> Result<()> {
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

fn pg_crontab(c: &Ctx<'_>) -> Result<Vec<String>> {
    let Some(node) = c.nodes.get("pg_crontab") else {
        return Ok(Vec::new());
    };
    let items = match &node.kind {
        Kind::Null => return Ok(Vec::new()),
        Kind::Seq(items) => items,
        _ => {
            return Err(Error::invalid(
                &node.span,
                "pg_crontab",
                format!(
                    "expected a list of crontab lines, found {}",
                    node.type_name()
                ),
            )
            .with_hint("pg_crontab: [ '00 01 * * * /pg/bin/pg-backup full' ]"))
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let key = format!("pg_crontab[{i}]");
        let Some(line) = item.as_str() else {
            return Err(Error::invalid(
                &item.span,
                key,
                format!(
                    "a crontab entry must be a string, found {}",
                    item.type_name()
                ),
            ));
        };
        if crate::base::text::contains_template(line) {
            out.push(line.to_string());
            continue;
        }
        crontab::parse_line(line, false).map_err(|e| {
            Error::invalid(&item.span, key, format!("invalid crontab line {line:?}: {e}"))
                .with_hint("a pg_crontab line is: minute hour day month weekday command (no user: it is the dbsu's own crontab)")
        })?;
        out.push(line.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::inventory::load::load_str;

    fn load(vars: &str) -> String {
        let text = format!(
            "all:\n  children:\n    pg-test:\n      hosts:\n        127.0.10.11: {{ pg_seq: 1, pg_role: primary }}\n      vars:\n        pg_cluster: pg-test\n{vars}"
        );
        match load_str("inv.yml", &text, &[]) {
            Ok(inv) if inv.first_problem().is_some() => inv
                .first_problem()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            Ok(inv) => {
                let pg = inv.hosts[0].domain.pg.clone();
                pg.map(|p| format!("ok {} {} {}", p.cluster, p.role.as_str(), p.method))
                    .unwrap_or_else(|| "not pg".into())
            }
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_playbook_presets_pass_the_same_checks() {
        let pb = crate::playbook::load("pgsql").map_err(|e| e.to_string());
        let repos = pb.map(|pb| pb.plays[0].defaults["pgbackrest_repo"].clone());
        let repos = repos.unwrap_or_default();
        for name in super::DEFAULT_REPOS {
            assert!(
                repos.get(name).is_some(),
                "preset {name} missing from the playbook"
            );
            let vars =
                format!("        pgbackrest_method: {name}\n        pgbackrest_repo: {repos}\n");
            assert_eq!(load(&vars), format!("ok pg-test primary {name}"));
        }
    }

    #[test]
    fn defaults_and_valid_repos() {
        assert_eq!(load(""), "ok pg-test primary local");
        assert_eq!(
            load("        pgbackrest_method: minio\n"),
            "ok pg-test primary minio"
        );
    }

    #[test]
    fn refused_with_place_and_hint() {
        for (vars, needles) in [
            ("        pgbackrest_method: mino\n", &["inv.yml:8:28", "'mino' is not a repository", "did you mean 'minio'"][..]),
            (
                "        pgbackrest_repo:\n          local: { path: /pg/backup, retention_ful: 2 }\n",
                &["inv.yml:9:38", "pgbackrest_repo.local.retention_ful", "did you mean 'retention_full'"],
            ),
            (
                "        pgbackrest_method: s3\n        pgbackrest_repo:\n          s3: { type: s3, s3_endpoint: x, s3_region: r, s3_key: k, s3_key_secret: s }\n",
                &["an s3 repository needs s3_bucket"],
            ),
            (
                "        pgbackrest_repo:\n          local: { path: /x, cipher_type: aes-256-cbc }\n",
                &["encryption (aes-256-cbc) needs cipher_pass"],
            ),
            ("        pg_cluster: 'pg test'\n", &["pg_cluster", "may hold only letters"]),
            ("        pg_crontab: [ '00 01 * * * postgres /pg/bin/pg-backup full', '61 * * * * x' ]\n", &["pg_crontab[1]", "minute field '61'"]),
            ("        pg_port: 99999\n", &["pg_port", "0 to 65535"]),
            ("        pg_data: \"/pg/data\\nrepo1-path=/evil\"\n", &["pg_data", "line break"]),
            ("        pgbackrest_log_dir: \"/pg/log\\n[evil]\"\n", &["pgbackrest_log_dir", "line break"]),
            ("        pg_data: pg/data\n", &["pg_data", "not an absolute path"]),
            ("        pg_data: /pg/../etc\n", &["pg_data", "'..' component"]),
            ("        pg_data: '/pg/my data'\n", &["pg_data", "' '"]),
            ("        pg_bin_dir: /usr/lib//bin\n", &["pg_bin_dir", "'//'"]),
            ("        pg_dbsu: 'postgres; rm'\n", &["pg_dbsu", "not a user name"]),
        ] {
            let got = load(vars);
            for n in needles {
                assert!(got.contains(n), "{vars}: wanted {n:?} in {got}");
            }
        }
    }
}
