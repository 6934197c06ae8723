//! Unit tests of `pgplay help`: pg_pitr explained field by field, every built-in playbook
//! with its defaults, and never a secret among them.

use crate::playbook;

fn help_of(name: &str) -> String {
    let pb = match playbook::load(name) {
        Ok(p) => p,
        Err(e) => panic!("{}", e.render()),
    };
    match super::playbook_help(&pb) {
        Ok(h) => h,
        Err(e) => panic!("{}", e.render()),
    }
}

#[test]
fn pitr_help_shows_tags_every_pg_pitr_field_and_examples() {
    let h = help_of("pgsql-pitr");
    for needle in [
        "pgsql-pitr: point-in-time recovery",
        "pgplay pgsql-pitr -l pg-meta -e '{\"pg_pitr\": {\"time\": \"2026-07-13 10:00:00+00\"}}'",
        "\n  down\n",
        "\n  up\n",
        "  cleanup   (only when asked for: -t)",
        "  pg_pitr ",
        "  pg_safeguard ",
    ] {
        assert!(h.contains(needle), "{needle:?} missing:\n{h}");
    }
    for key in crate::pg::pitr::spec::KEYS {
        assert!(
            h.contains(&format!("\n    {key} ")),
            "pg_pitr.{key} missing:\n{h}"
        );
    }
}

#[test]
fn every_pg_pitr_key_is_described_once_in_order() {
    let described: Vec<&str> = crate::pg::pitr::spec::FIELDS
        .iter()
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(described, crate::pg::pitr::spec::KEYS);
}

#[test]
fn every_built_in_playbook_has_help_with_its_defaults() {
    for name in crate::builtin::playbook_names() {
        let h = help_of(name);
        assert!(h.contains("Tags (-t TAG"), "{name}:\n{h}");
        assert!(h.contains("Variables it reads"), "{name}:\n{h}");
    }
    let h = help_of("pgsql-backup");
    assert!(h.contains("type ") && h.contains("[\"incr\"]"), "{h}");
    let h = help_of("node");
    assert!(
        h.contains("node_crontab_overwrite") && h.contains("[true]"),
        "{h}"
    );
}

#[test]
fn defaults_never_show_a_secret() {
    let h = help_of("pgsql-pitr");
    for secret in [
        "S3User.Backup",
        "pgBackRest",
        "DBUser.Replicator",
        "Etcd.Root",
    ] {
        assert!(
            !h.contains(&format!("\"{secret}\"")),
            "{secret} shown:\n{h}"
        );
    }
    assert!(
        h.contains("pgbackrest_repo") && h.contains("{local: ..., minio: ...}"),
        "{h}"
    );
}
