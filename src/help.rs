//! Help that teaches: `pgplay help PLAYBOOK` (and `PLAYBOOK --help`) shows a playbook's tag
//! tree, the variables it reads and its examples; `pgplay config` shows the settings in
//! effect and where each came from; `pgplay man` prints the manual page. Everything is
//! generated from what the binary runs — the playbooks' own text and tags, the variables
//! the scope analysis finds, the clap definition — so help cannot drift from behaviour.

use std::collections::BTreeMap;
use std::ffi::OsString;

use serde_json::{Map, Value};

use crate::builtin::{self, Source};
use crate::config;
use crate::error::{Error, Result};
use crate::playbook::{self, Playbook};
use crate::report::print_out;
use crate::scope::Reads;
use crate::template::Renderer;

/// `pgplay PLAYBOOK --help`: when the arguments ask for help and name a playbook (a built-in
/// name or a path to a .yml file), that playbook's help; otherwise clap's.
pub fn playbook_help_flag(args: &[OsString]) -> Option<Result<()>> {
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    if !words.iter().any(|w| *w == "-h" || *w == "--help") {
        return None;
    }
    let first = words.iter().find(|w| !w.starts_with('-'))?;
    let bare = first.trim_end_matches(".yml").trim_end_matches(".yaml");
    let is_playbook = (!first.contains('/') && builtin::playbook(bare).is_some())
        || (first.contains('/') && (first.ends_with(".yml") || first.ends_with(".yaml")));
    is_playbook.then(|| help_cmd(Some(first)))
}

/// `pgplay help [PLAYBOOK]`.
pub fn help_cmd(name: Option<&str>) -> Result<()> {
    match name {
        Some(n) => print_out(&playbook_help(&playbook::load(n)?)?),
        None => {
            let mut out = String::from("Built-in playbooks (pgplay help PLAYBOOK for one):\n");
            for (name, purpose) in builtin::purposes() {
                out.push_str(&format!("  {name:14} {purpose}\n"));
            }
            out.push_str("\nFlags: pgplay --help. Settings in effect: pgplay config.\n");
            print_out(&out);
        }
    }
    Ok(())
}

/// One playbook's help: what it is, its own header (examples), tags, variables.
pub fn playbook_help(pb: &Playbook) -> Result<String> {
    let mut out = String::new();
    let purpose = builtin::purposes()
        .find(|(n, _)| *n == pb.name)
        .map(|(_, p)| p);
    match purpose {
        Some(p) => out.push_str(&format!("{}: {p}\n", pb.name)),
        None => out.push_str(&format!("{} ({})\n", pb.name, playbook::origin(pb))),
    }
    out.push_str(&format!(
        "Usage: pgplay {} [-l LIMIT] [-t TAGS] [-e VARS] [--check] [flags: pgplay --help]\n",
        pb.name
    ));
    if let Some(text) = source_text(pb) {
        let header = header(&text);
        if !header.is_empty() {
            out.push('\n');
            out.push_str(&header);
        }
    }
    out.push_str(&tag_tree(pb));
    out.push_str(&variables(pb)?);
    Ok(out)
}

/// The playbook's text: built-in, or the file it was read from.
fn source_text(pb: &Playbook) -> Option<String> {
    match &pb.source {
        Source::Builtin => builtin::playbook(&pb.name).map(str::to_string),
        Source::Dir(_) => std::fs::read_to_string(&pb.name).ok(),
    }
}

/// The comment block at the top of a playbook (its title line and `#===` rulers left out):
/// where the examples and the tags' story are written.
fn header(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text
        .lines()
        .skip_while(|l| l.trim() == "---")
        .take_while(|l| l.starts_with('#'))
        .filter(|l| !l.trim_start_matches('#').trim().starts_with("==="));
    // the first line is "name.yml — title": the purpose line already says it
    let first = lines.next().unwrap_or_default();
    if !first.contains(".yml") {
        out.push_str(first.trim_start_matches('#').trim());
        out.push('\n');
    }
    for l in lines {
        let body = l.strip_prefix('#').unwrap_or(l);
        out.push_str(body.strip_prefix(' ').unwrap_or(body));
        out.push('\n');
    }
    out.trim_matches('\n').to_string() + "\n"
}

/// The tags, each with the tasks it selects, in the order they run: a task runs when any of
/// its tags is selected (`never` tasks only when asked for by name).
fn tag_tree(pb: &Playbook) -> String {
    let mut out = String::from(
        "\nTags (-t TAG runs the tasks that have it, --skip-tags TAG leaves them out):\n",
    );
    for play in &pb.plays {
        if pb.plays.len() > 1 {
            out.push_str(&format!("  play {} ({})\n", play.name, play.hosts));
        }
        let mut tops: Vec<&str> = Vec::new();
        for t in &play.tasks {
            if let Some(first) = t.tags.iter().find(|t| *t != "never" && *t != "always") {
                if !tops.contains(&first.as_str()) {
                    tops.push(first);
                }
            }
        }
        for top in tops {
            let tasks: Vec<_> = play
                .tasks
                .iter()
                .filter(|t| t.tags.iter().any(|g| g == top))
                .collect();
            let never = tasks.iter().all(|t| t.tags.iter().any(|g| g == "never"));
            out.push_str(&format!(
                "  {top}{}\n",
                if never {
                    "   (only when asked for: -t)"
                } else {
                    ""
                }
            ));
            for t in tasks {
                let others: Vec<&str> = t
                    .tags
                    .iter()
                    .map(String::as_str)
                    .filter(|g| *g != top)
                    .collect();
                out.push_str(&format!("    {:36} {}\n", t.name, others.join(", ")));
            }
        }
        let untagged = play.tasks.iter().filter(|t| t.tags.is_empty()).count();
        if untagged > 0 {
            out.push_str(&format!(
                "  ({untagged} task(s) without tags: they run unless -t is given)\n"
            ));
        }
    }
    out
}

/// The variables a user sets (inventory or -e) that the playbook's tasks read, with the
/// playbook's default; `pg_pitr` with every field.
fn variables(pb: &Playbook) -> Result<String> {
    let inv = crate::inventory::load_str("(no inventory)", "{}", &[])?;
    let renderer = Renderer::new();
    let mut read: BTreeMap<String, Option<Value>> = BTreeMap::new();
    for play in &pb.plays {
        let tasks: Vec<_> = play.tasks.iter().map(|t| t.id).collect();
        let reads = Reads::of_play(&inv, pb, play, &tasks, &[], &Map::new(), &renderer);
        for name in reads.names() {
            let default = play.defaults.get(name).cloned();
            if default.is_some() || doc(name).is_some() {
                read.entry(name.to_string()).or_insert(default);
            }
        }
    }
    let mut out = String::from(
        "\nVariables it reads (inventory or -e; the playbook's default in brackets):\n",
    );
    for (name, default) in &read {
        let about = doc(name).unwrap_or("");
        let default = default
            .as_ref()
            .map(|d| format!(" [{}]", shown_default(name, d)))
            .unwrap_or_default();
        out.push_str(&format!("  {name:24} {about}{default}\n"));
        if name == "pg_pitr" {
            for (field, about) in crate::pg::pitr::spec::FIELDS {
                out.push_str(&format!("    {field:22} {about}\n"));
            }
        }
    }
    Ok(out)
}

/// A default as help shows it: a secret masked, a mapping by its keys only (its values may
/// hold secrets: a repository's `cipher_pass`), a long list by its length.
fn shown_default(name: &str, v: &Value) -> String {
    if crate::mask::is_secret_key(name) {
        return crate::mask::MASK.to_string();
    }
    match v {
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().map(String::as_str).collect();
            format!("{{{}: ...}}", keys.join(": ..., "))
        }
        Value::Array(items) if items.len() > 3 || items.iter().any(|i| !i.is_string()) => {
            format!("{} items", items.len())
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// What a Pigsty variable pgplay reads means, in a line.
pub fn doc(name: &str) -> Option<&'static str> {
    VARIABLES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

const VARIABLES: &[(&str, &str)] = &[
    (
        "pg_cluster",
        "the cluster's name (identity; the pgBackRest stanza)",
    ),
    ("pg_seq", "the member's number in its cluster (identity)"),
    ("pg_role", "primary or replica in the inventory (identity)"),
    ("pg_dbsu", "the database superuser of the OS"),
    ("pg_data", "the data directory"),
    ("pg_port", "PostgreSQL's port"),
    ("pg_bin_dir", "PostgreSQL's binaries"),
    ("pg_namespace", "Patroni's DCS namespace (etcd key prefix)"),
    (
        "patroni_enabled",
        "the cluster runs under Patroni (Pigsty's default)",
    ),
    ("patroni_port", "Patroni's REST API port"),
    (
        "pg_safeguard",
        "true: refuse to remove or overwrite this cluster",
    ),
    (
        "pg_pitr",
        "the recovery target and how to restore (its fields below)",
    ),
    ("pgbackrest_enabled", "false: no pgBackRest on this cluster"),
    (
        "pgbackrest_method",
        "which repository of pgbackrest_repo to use",
    ),
    ("pgbackrest_repo", "the repositories (local, minio/s3, ...)"),
    (
        "pgbackrest_init_backup",
        "make the first full backup after stanza-create",
    ),
    ("pgbackrest_clean", "remove old pgBackRest files first"),
    ("pgbackrest_log_dir", "pgBackRest's log directory"),
    ("pg_crontab", "the dbsu's crontab lines"),
    ("node_crontab", "/etc/crontab lines: schedule user command"),
    (
        "node_crontab_overwrite",
        "true: /etc/crontab is the default plus node_crontab; false: append",
    ),
    (
        "pg_rm_backup",
        "false: keep the stanza's backups when removing",
    ),
    ("type", "the backup's type: full, diff or incr"),
    ("etcd_root_password", "etcd's root password (Patroni's DCS)"),
    ("etcd_port", "etcd's client port"),
    (
        "pg_replication_username",
        "the replication user (replicas re-initialised without Patroni)",
    ),
    ("pg_replication_password", "its password"),
    (
        "pg_databases",
        "the cluster's databases: name, owner, template, strategy, ...",
    ),
    (
        "dbname",
        "the database of pg_databases to create (-e dbname=...)",
    ),
    (
        "pg_file_copy_method",
        "PostgreSQL 18+: how a FILE_COPY clone copies (clone or copy)",
    ),
    (
        "pg_monitor_username",
        "gets CONNECT when revokeconn takes it from PUBLIC",
    ),
    (
        "pg_admin_username",
        "gets CONNECT when revokeconn takes it from PUBLIC",
    ),
];

/// `pgplay config`: every setting in effect and where it came from.
pub fn config_cmd(json: bool) -> Result<()> {
    let cfg = config::load()?;
    if json {
        let settings: Vec<Value> = cfg
            .settings
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.def.name,
                    "value": s.value,
                    "default": s.def.default,
                    "source": s.source.to_string(),
                    "flag": s.def.flag,
                    "env": s.def.env,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "file": cfg.file.as_ref().map(|(p, _)| p.display().to_string()),
            "settings": settings,
            "not_used": cfg.unused,
        });
        print_out(&format!("{doc}\n"));
        return Ok(());
    }
    let mut out = match &cfg.file {
        Some((p, why)) => format!("config file: {} (found as {why})\n", p.display()),
        None => "config file: none (looked for ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg)\n".to_string(),
    };
    for w in cfg.warnings() {
        out.push_str(&format!("{w}\n"));
    }
    out.push('\n');
    for s in &cfg.settings {
        let value = match &s.value {
            Some(v) => v.clone(),
            None => format!("({})", s.def.default),
        };
        let mut over = Vec::new();
        if !s.def.flag.is_empty() {
            over.push(s.def.flag.to_string());
        }
        over.extend(s.def.env.iter().map(|e| e.to_string()));
        out.push_str(&format!(
            "{:18} = {value}\n{:18}   from {}\n{:18}   [{}] {}; set by {}: {}\n",
            s.def.name,
            "",
            s.source,
            "",
            s.def.section,
            s.def.keys.join(" / "),
            over.join(", "),
            s.def.help
        ));
    }
    print_out(&out);
    Ok(())
}

/// `pgplay man`: the manual page, from the same definition as the parser.
pub fn man() -> Result<()> {
    let cmd = crate::cli::command();
    let page = clap_mangen::Man::new(cmd);
    let mut buf = Vec::new();
    page.render(&mut buf)
        .map_err(|e| Error::Other(format!("cannot render the man page: {e}")))?;
    print_out(&String::from_utf8_lossy(&buf));
    Ok(())
}

#[cfg(test)]
mod tests;
