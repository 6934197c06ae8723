//! The playbooks, task files and templates compiled into the binary, so one file works anywhere.
//!
//! Their source is the repository's `playbooks/` and `templates/` folders; a built-in
//! playbook is run by name (`pgplay node`, `pgplay node.yml`).

/// Each built-in playbook: name, text, and its purpose in one line (`pgplay --help`,
/// `pgplay help`, the man page).
const PLAYBOOKS: &[(&str, &str, &str)] = &[
    (
        "node",
        include_str!("../../playbooks/node.yml"),
        "node_crontab: /etc/crontab on every node",
    ),
    (
        "node-rm",
        include_str!("../../playbooks/node-rm.yml"),
        "node_crontab removed (Pigsty's default crontab back)",
    ),
    (
        "pgsql",
        include_str!("../../playbooks/pgsql.yml"),
        "pg_backup (pgBackRest, stanza, first backup), pg_crontab, pg_scripts",
    ),
    (
        "pgsql-rm",
        include_str!("../../playbooks/pgsql-rm.yml"),
        "pg_backup: remove a cluster's stanza (its backups)",
    ),
    (
        "pgsql-backup",
        include_str!("../../playbooks/pgsql-backup.yml"),
        "a backup now on each cluster's leader, and the list of backups (-t info)",
    ),
    (
        "pgsql-pitr",
        include_str!("../../playbooks/pgsql-pitr.yml"),
        "point-in-time recovery: down, pitr, up (Patroni and etcd included)",
    ),
];

const TASK_FILES: &[(&str, &str)] = &[];

const TEMPLATES: &[(&str, &str)] = &[
    ("crontab.j2", include_str!("../../templates/crontab.j2")),
    (
        "pgbackrest.conf.j2",
        include_str!("../../templates/pgbackrest.conf.j2"),
    ),
    ("pg-backup.j2", include_str!("../../templates/pg-backup.j2")),
    (
        "pg-basebackup.j2",
        include_str!("../../templates/pg-basebackup.j2"),
    ),
    ("pg-role.j2", include_str!("../../templates/pg-role.j2")),
    ("pg-pitr.j2", include_str!("../../templates/pg-pitr.j2")),
    ("pg-fork.j2", include_str!("../../templates/pg-fork.j2")),
    (
        "pg-alias.sh.j2",
        include_str!("../../templates/pg-alias.sh.j2"),
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

pub fn task_file(path: &str) -> Option<&'static str> {
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
