//! The playbooks, task files and templates compiled into the binary, so one file works anywhere.
//!
//! Their source is the repository's `playbooks/` and `templates/` folders; a built-in
//! playbook is run by name (`pgplay node`, `pgplay node.yml`).

const PLAYBOOKS: &[(&str, &str)] = &[
    ("node", include_str!("../../playbooks/node.yml")),
    ("node-rm", include_str!("../../playbooks/node-rm.yml")),
    ("pgsql", include_str!("../../playbooks/pgsql.yml")),
    ("pgsql-rm", include_str!("../../playbooks/pgsql-rm.yml")),
    (
        "pgsql-backup",
        include_str!("../../playbooks/pgsql-backup.yml"),
    ),
    ("pgsql-pitr", include_str!("../../playbooks/pgsql-pitr.yml")),
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
    PLAYBOOKS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

pub fn playbook_names() -> impl Iterator<Item = &'static str> {
    PLAYBOOKS.iter().map(|(n, _)| *n)
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
        .chain(TASK_FILES)
        .chain(TEMPLATES)
        .chain(FILES)
        .map(|(_, t)| *t)
        .collect()
}
