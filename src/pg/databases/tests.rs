//! pg_databases read with places, and the SQL a run sends for it.

use super::*;
use crate::yaml;

fn read(text: &str) -> std::result::Result<Vec<Database>, String> {
    let node = yaml::load("inv.yml", text).map_err(|e| format!("{e:?}"))?;
    from_node(&node).map_err(|e| match e {
        Error::Invalid {
            span,
            key,
            message,
            hint,
        } => format!("{span}: {key}: {message} | {}", hint.unwrap_or_default()),
        other => other.to_string(),
    })
}

fn one(text: &str) -> Database {
    match read(text) {
        Ok(mut v) if !v.is_empty() => v.remove(v.len() - 1),
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn the_spec_s_clone_reads() {
    let dbs = read(
        "- name: meta\n- name: meta_dev\n  template: meta\n  strategy: FILE_COPY\n  #comment: x\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dbs.len(), 2);
    assert_eq!(dbs[1].template.as_deref(), Some("meta"));
    assert_eq!(dbs[1].strategy, Some(Strategy::FileCopy));
    assert_eq!(dbs[1].clones(), Some("meta"));
    assert_eq!(dbs[1].comment, "business database meta_dev");
    assert_eq!(dbs[0].clones(), None);
    // lower case and Pigsty's other keys are fine; template0 is no clone
    let d = one("- { name: x, template: template0, strategy: wal_log, encoding: UTF8, locale: C, pgbouncer: false, pool_mode: session, baseline: cmdb.sql, revokeconn: true, connlimit: 10, schemas: [app], extensions: [postgis, { name: vector, schema: app, version: '0.8' }], parameters: { search_path: 'app, public', work_mem: 64MB, jit: false } }");
    assert_eq!(d.strategy, Some(Strategy::WalLog));
    assert_eq!(d.clones(), None);
    assert_eq!(d.not_applied, ["baseline", "pgbouncer", "pool_mode"]);
    assert_eq!(
        d.create_options,
        [
            ("ENCODING", "UTF8".to_string()),
            ("LOCALE", "C".to_string())
        ]
    );
    assert_eq!(d.extensions[1].schema.as_deref(), Some("app"));
    assert_eq!(d.parameters[2], ("jit".to_string(), "off".to_string()));
}

#[test]
fn wrong_definitions_are_refused_with_their_place() {
    for (text, needles) in [
        (
            "- { name: a, strategy: FILE_CPY }",
            &[
                "inv.yml:1:24",
                "pg_databases[0].strategy",
                "'FILE_CPY' is not a strategy",
                "did you mean 'FILE_COPY'",
            ][..],
        ),
        (
            "- { name: a, strategy: CLONE }",
            &["'CLONE' is not a strategy", "FILE_COPY clones the files"],
        ),
        (
            "- { name: meta }\n- { name: dev, template: mta }",
            &[
                "inv.yml:2:26",
                "pg_databases[1].template",
                "template 'mta' is not a database of this cluster (pg_databases: meta, dev",
                "did you mean 'meta'",
            ],
        ),
        (
            "- { name: dev, template: postgres, strategy: FILE_COPY }",
            &[
                "pg_databases[0].template",
                "would clone postgres",
                "pg_terminate_backend",
            ],
        ),
        (
            "- { name: dev, template: dev }",
            &["cannot be its own template"],
        ),
        (
            "- { name: a }\n- { name: a }",
            &[
                "inv.yml:2:11",
                "pg_databases[1].name",
                "defined twice (also pg_databases[0])",
            ],
        ),
        ("- { owner: x }", &["pg_databases[0]", "needs a name"]),
        (
            "- { name: a, templte: b }",
            &["pg_databases[0].templte", "did you mean 'template'"],
        ),
        (
            "- meta",
            &["pg_databases[0]", "expected a database definition"],
        ),
        ("name: meta", &["expected a list of database definitions"]),
        (
            "- { name: a, connlimit: -5 }",
            &["pg_databases[0].connlimit", "-5 is not a connection limit"],
        ),
        ("- { name: a, state: gone }", &["'gone' is not a state"]),
        (
            "- { name: a, extensions: [ { name: x, shema: y } ] }",
            &["pg_databases[0].extensions[0]", "unknown key 'shema'"],
        ),
        (
            "- { name: a, parameters: { 'x; drop': 1 } }",
            &["pg_databases[0].parameters", "not a parameter name"],
        ),
        (
            "- { name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa }",
            &["64 bytes"],
        ),
    ] {
        match read(text) {
            Ok(v) => panic!("{text}: accepted {v:?}"),
            Err(e) => {
                for n in needles {
                    assert!(e.contains(n), "{text}: wanted {n:?} in {e}");
                }
            }
        }
    }
}

#[test]
fn hostile_names_stay_names() {
    assert_eq!(ident(r#"a"b"#), r#""a""b""#);
    assert_eq!(literal(r"it's \ here"), r"E'it\'s \\ here'");
    let d = match read(
        r#"- { name: "m'eta" }
- { name: "x\"; DROP DATABASE meta; --", template: "m'eta", owner: "o\"w", comment: "it's" }"#,
    ) {
        Ok(v) => v[1].clone(),
        Err(e) => panic!("{e}"),
    };
    let plan = plan(&d, &Found::default(), "postgres", &[], "clone");
    let created = plan.create.clone().unwrap_or_else(|| panic!("no create"));
    assert_eq!(
        created.sql,
        r#"CREATE DATABASE "x""; DROP DATABASE meta; --" OWNER "o""w" TEMPLATE "m'eta";
"#
    );
    assert!(created
        .session()
        .contains("WHERE datname = E'm\\'eta' AND pid <> pg_backend_pid()"));
    assert!(plan
        .after
        .iter()
        .any(|s| s.sql == "COMMENT ON DATABASE \"x\"\"; DROP DATABASE meta; --\" IS E'it\\'s';\n"));
}

fn found(version: u32) -> Found {
    Found {
        version,
        template: true,
        ..Found::default()
    }
}

#[test]
fn a_clone_ends_the_template_s_connections_in_its_session() {
    let d = one("- { name: meta }\n- { name: meta_dev, template: meta, strategy: FILE_COPY }");
    let p = plan(&d, &found(150010), "postgres", &[], "clone");
    let c = p.create.clone().unwrap_or_else(|| panic!("no create"));
    assert_eq!(c.terminate.as_deref(), Some("meta"));
    assert_eq!(
        c.file_copy_method, None,
        "PostgreSQL 15 has no file_copy_method"
    );
    let session = c.session();
    assert!(!session.contains("file_copy_method"), "{session}");
    let lines: Vec<&str> = session.lines().collect();
    assert_eq!(lines.len(), 2, "{session}");
    assert!(lines[0].starts_with("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"));
    assert_eq!(
        lines[1],
        r#"CREATE DATABASE "meta_dev" TEMPLATE "meta" STRATEGY FILE_COPY;"#
    );
    assert_eq!(c.what, "database meta_dev (from meta, FILE_COPY)");
    // 18: instant clone set first, in the same session
    let c18 = plan(&d, &found(180001), "postgres", &[], "clone")
        .create
        .unwrap_or_else(|| panic!("no create"));
    assert_eq!(c18.file_copy_method.as_deref(), Some("clone"));
    assert!(c18
        .session()
        .starts_with("SET file_copy_method = E'clone';\n"));
    // 14: no STRATEGY at all
    let c14 = plan(&d, &found(140011), "postgres", &[], "clone")
        .create
        .unwrap_or_else(|| panic!("no create"));
    assert!(!c14.sql.contains("STRATEGY"), "{}", c14.sql);
    // no template: nothing to end
    let plain = plan(
        &one("- { name: a }"),
        &found(150010),
        "postgres",
        &[],
        "clone",
    );
    assert_eq!(plain.create.map(|c| c.terminate), Some(None));
}

#[test]
fn an_existing_database_as_defined_changes_nothing() {
    let d = one("- { name: app, owner: dbuser_app, comment: app db, connlimit: 50, revokeconn: true, schemas: [app], extensions: [vector], parameters: { search_path: '\"$user\", app, public', work_mem: 64MB } }");
    let existing = Existing {
        owner: "dbuser_app".into(),
        comment: Some("app db".into()),
        is_template: false,
        allowconn: true,
        connlimit: 50,
        settings: vec![
            "search_path=\"$user\", app, public".into(),
            "work_mem=64MB".into(),
        ],
        public_connect: false,
    };
    let f = Found {
        version: 150010,
        template: true,
        roles: vec!["dbuser_app".into()],
        db: Some(existing.clone()),
        schemas: vec!["app".into()],
        extensions: vec!["vector".into()],
    };
    let p = plan(&d, &f, "postgres", &[], "clone");
    assert!(!p.changes(), "{:?}", p.said());
    // each difference is one change, said in words
    let f2 = Found {
        db: Some(Existing {
            owner: "postgres".into(),
            comment: None,
            connlimit: -1,
            settings: vec!["work_mem=4MB".into()],
            public_connect: true,
            ..existing
        }),
        schemas: vec![],
        ..f
    };
    let p = plan(
        &d,
        &f2,
        "postgres",
        &["replicator".into(), "nobody".into()],
        "clone",
    );
    assert_eq!(
        p.said(),
        [
            "schema app",
            "owner dbuser_app",
            "comment \"app db\"",
            "connlimit 50",
            "parameter search_path = \"$user\", app, public",
            "parameter work_mem = 64MB",
            "revokeconn: CONNECT taken from PUBLIC",
        ]
    );
    let sql: String = p.after.iter().map(|s| s.sql.as_str()).collect();
    assert!(
        sql.contains("ALTER DATABASE \"app\" SET search_path = E'$user', E'app', E'public';\n"),
        "{sql}"
    );
    assert!(
        sql.contains("ALTER DATABASE \"app\" SET work_mem = E'64MB';\n"),
        "{sql}"
    );
    assert!(
        sql.contains("GRANT CONNECT ON DATABASE \"app\" TO \"dbuser_app\" WITH GRANT OPTION;"),
        "{sql}"
    );
    assert!(
        !sql.contains("replicator"),
        "roles that do not exist get no grant: {sql}"
    );
}

/// Regression (issue 13): the in-database answer is its own shape, not the server's.
#[test]
fn both_answers_read_as_the_server_writes_them() {
    let inside: Result<Inside, _> =
        serde_json::from_str(r#"{"schemas" : ["app"], "extensions" : []}"#);
    assert_eq!(
        inside.ok(),
        Some(Inside {
            schemas: vec!["app".into()],
            extensions: vec![],
        })
    );
    let found: Result<Found, _> = serde_json::from_str(
        r#"{"version" : 150010, "template" : true, "roles" : [], "db" : {"owner" : "postgres", "comment" : null, "is_template" : false, "allowconn" : true, "connlimit" : -1, "settings" : [], "public_connect" : true}}"#,
    );
    let found = found.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.version, 150010);
    assert_eq!(found.db.map(|d| d.connlimit), Some(-1));
}
