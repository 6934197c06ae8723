//! The typed PostgreSQL view of a host (`pg::vars`) as loading an inventory builds it: what
//! passes, and what is refused with its place.

use crate::inventory::load_str;

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
    let text = crate::builtin::playbook("pgsql").unwrap_or_default();
    let pb = crate::yaml::load("pgsql.yml", text).map(|n| n.to_json());
    let repos = pb.map(|pb| pb[0]["defaults"]["pgbackrest_repo"].clone());
    let repos = repos.unwrap_or_default();
    for name in crate::pg::DEFAULT_REPOS {
        assert!(
            repos.get(name).is_some(),
            "preset {name} missing from the playbook"
        );
        let vars = format!("        pgbackrest_method: {name}\n        pgbackrest_repo: {repos}\n");
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

/// Pigsty's own inventories define databases with every kind of key: all read cleanly.
#[test]
fn pigsty_s_pg_databases_read_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pigsty");
    let mut defined = 0;
    for name in ["meta.yml", "demo-el.yml", "ha-full.yml"] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let inv = load_str(name, &text, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        for h in &inv.hosts {
            defined += usize::from(h.vars.contains_key("pg_databases"));
            for p in &h.problems {
                assert!(
                    !p.vars.iter().any(|v| v == "pg_databases"),
                    "{name}: {}: {}: {}",
                    h.name,
                    p.key,
                    p.message
                );
            }
        }
    }
    assert!(
        defined > 3,
        "the fixtures define pg_databases on {defined} hosts"
    );
}

#[test]
fn a_wrong_pg_databases_is_a_problem_of_its_own() {
    let got = load("        pg_databases: [ { name: test }, { name: dev, template: tset, strategy: FILE_COPY } ]\n");
    for n in [
        "pg_databases[1].template",
        "template 'tset' is not a database of this cluster",
        "did you mean 'test'",
    ] {
        assert!(got.contains(n), "wanted {n:?} in {got}");
    }
}
