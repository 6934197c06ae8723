//! The playbooks, task files and templates compiled into the binary, so one file works
//! anywhere, and where a playbook's files are read from (`Source`).
//!
//! Their source is the repository's `playbooks/` and `templates/` folders; a built-in
//! playbook is run by name (`pgplay node`, `pgplay node.yml`). This sits below both the
//! playbook loader (task files) and the modules (`template: src=`, `copy: src=`), which
//! read through the same `Source`, so neither reaches into the other for it.

use std::path::PathBuf;

/// How a built-in file is named in messages: `<builtin>/playbooks/pgsql-pitr.yml`.
const MARK: &str = "<builtin>/";

/// The name messages give a built-in file (`kind` "playbooks" or "templates").
pub fn display(kind: &str, rel: &str) -> String {
    format!("{MARK}{kind}/{rel}")
}

/// A file name as a reader finds it in pgplay's source tree: a built-in's without the mark
/// (`playbooks/pgsql-pitr.yml`), any other as it is.
pub fn place(file: &str) -> &str {
    file.strip_prefix(MARK).unwrap_or(file)
}

/// The text of a file named as `display` names built-ins (for error snippets); `None` for
/// any other name.
pub fn text_of(file: &str) -> Option<&'static str> {
    let rest = file.strip_prefix(MARK)?;
    let (kind, rel) = rest.split_once('/')?;
    match kind {
        "playbooks" => rel
            .strip_suffix(".yml")
            .and_then(playbook)
            .or_else(|| task_file(rel)),
        other => self::file(other, rel),
    }
}

/// Where a playbook (and its task files and templates) came from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Embedded in the binary.
    Builtin,
    /// A directory on disk (the playbook file's directory).
    Dir(PathBuf),
}

impl Source {
    /// A controller-side file for `copy src=` (`kind` "files") or `template src=`
    /// ("templates"): next to the playbook (`<kind>/<src>`, then `<src>`), or among the
    /// built-in ones.
    pub fn read(&self, kind: &str, src: &str) -> Result<Vec<u8>, String> {
        match self {
            Source::Builtin => file(kind, src)
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| format!("no built-in {kind} file '{src}'")),
            Source::Dir(dir) => {
                let candidates = [dir.join(kind).join(src), dir.join(src)];
                for c in &candidates {
                    if let Ok(bytes) = std::fs::read(c) {
                        return Ok(bytes);
                    }
                }
                // The repository's own playbooks/ share templates/ with the built-in copies.
                if let Some(text) = file(kind, src) {
                    return Ok(text.as_bytes().to_vec());
                }
                Err(format!(
                    "cannot find '{src}' (looked in {} and {}, and among the built-in {kind})",
                    candidates[0].display(),
                    candidates[1].display()
                ))
            }
        }
    }

    /// A task file named by `import_tasks`/`include_tasks`: its name for messages, and text.
    pub fn task_file(&self, rel: &str) -> Result<(String, String), String> {
        match self {
            Source::Builtin => task_file(rel)
                .map(|text| (display("playbooks", rel), text.to_string()))
                .ok_or_else(|| format!("no built-in task file '{rel}'")),
            Source::Dir(dir) => {
                let path = dir.join(rel);
                std::fs::read_to_string(&path)
                    .map(|text| (path.display().to_string(), text))
                    .map_err(|e| format!("cannot read task file {}: {e}", path.display()))
            }
        }
    }
}

/// Each built-in playbook: name, text, and its purpose in one line (`pgplay --help`,
/// `pgplay help`, the man page).
const PLAYBOOKS: &[(&str, &str, &str)] = &[
    (
        "node",
        include_str!("../playbooks/node.yml"),
        "node_crontab: /etc/crontab on every node",
    ),
    (
        "node-rm",
        include_str!("../playbooks/node-rm.yml"),
        "node_crontab removed (Pigsty's default crontab back)",
    ),
    (
        "pgsql",
        include_str!("../playbooks/pgsql.yml"),
        "pg_backup (pgBackRest, stanza, first backup), pg_crontab, pg_scripts",
    ),
    (
        "pgsql-rm",
        include_str!("../playbooks/pgsql-rm.yml"),
        "pg_backup: remove a cluster's stanza (its backups)",
    ),
    (
        "pgsql-backup",
        include_str!("../playbooks/pgsql-backup.yml"),
        "a backup now on each cluster's leader, and the list of backups (-t info)",
    ),
    (
        "pgsql-db",
        include_str!("../playbooks/pgsql-db.yml"),
        "a database of pg_databases on its cluster's leader (clones with FILE_COPY)",
    ),
    (
        "pgsql-pitr",
        include_str!("../playbooks/pgsql-pitr.yml"),
        "point-in-time recovery: down, pitr, up (Patroni and etcd included)",
    ),
];

const TASK_FILES: &[(&str, &str)] = &[];

const TEMPLATES: &[(&str, &str)] = &[
    ("crontab.j2", include_str!("../templates/crontab.j2")),
    (
        "pgbackrest.conf.j2",
        include_str!("../templates/pgbackrest.conf.j2"),
    ),
    ("pg-backup.j2", include_str!("../templates/pg-backup.j2")),
    (
        "pg-basebackup.j2",
        include_str!("../templates/pg-basebackup.j2"),
    ),
    ("pg-role.j2", include_str!("../templates/pg-role.j2")),
    ("pg-pitr.j2", include_str!("../templates/pg-pitr.j2")),
    ("pg-fork.j2", include_str!("../templates/pg-fork.j2")),
    (
        "pg-heartbeat.j2",
        include_str!("../templates/pg-heartbeat.j2"),
    ),
    ("pg-bench.j2", include_str!("../templates/pg-bench.j2")),
    (
        "pg-alias.sh.j2",
        include_str!("../templates/pg-alias.sh.j2"),
    ),
];

const FILES: &[(&str, &str)] = &[];

pub fn playbook(name: &str) -> Option<&'static str> {
    PLAYBOOKS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, t, _)| *t)
}

pub fn playbook_names() -> impl Iterator<Item = &'static str> {
    PLAYBOOKS.iter().map(|(n, ..)| *n)
}

/// `(name, purpose)` of every built-in playbook.
pub fn purposes() -> impl Iterator<Item = (&'static str, &'static str)> {
    PLAYBOOKS.iter().map(|(n, _, p)| (*n, *p))
}

fn task_file(path: &str) -> Option<&'static str> {
    TASK_FILES.iter().find(|(n, _)| *n == path).map(|(_, t)| *t)
}

/// Names of the built-in templates.
pub fn template_names() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(n, _)| *n)
}

/// A built-in template (`kind` = "templates") or plain file (`kind` = "files").
pub fn file(kind: &str, name: &str) -> Option<&'static str> {
    let table = if kind == "templates" {
        TEMPLATES
    } else {
        FILES
    };
    table.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Every built-in text: their words are ordinary words of pgplay's output (see `crate::mask`).
pub fn all_texts() -> Vec<&'static str> {
    PLAYBOOKS
        .iter()
        .map(|(n, t, _)| (*n, *t))
        .collect::<Vec<_>>()
        .iter()
        .chain(TASK_FILES)
        .chain(TEMPLATES)
        .chain(FILES)
        .map(|(_, t)| *t)
        .collect()
}
