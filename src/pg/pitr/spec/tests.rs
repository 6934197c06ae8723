use super::*;

fn parse(yaml: &str) -> std::result::Result<Pitr, String> {
    let node = crate::yaml::load("-e #1", yaml).map_err(|e| e.message)?;
    let pg = node.get("pg_pitr").cloned().ok_or("no pg_pitr")?;
    Pitr::from_node(&pg).map_err(|e| e.to_string())
}

#[test]
fn targets() {
    let t = |y: &str| parse(y).map(|p| (p.target.kind(), p.target.value()));
    assert_eq!(t("pg_pitr: {}"), Ok(("default", None)));
    assert_eq!(t("pg_pitr: {type: latest}"), Ok(("default", None)));
    assert_eq!(t("pg_pitr: {type: immediate}"), Ok(("immediate", None)));
    assert_eq!(
        t("pg_pitr: {time: '2026-07-13 18:00:00+08'}"),
        Ok(("time", Some("2026-07-13 10:00:00+00".into())))
    );
    assert_eq!(
        t("pg_pitr: {xid: 250000, exclusive: true}"),
        Ok(("xid", Some("250000".into())))
    );
    assert_eq!(
        t("pg_pitr: {xid: '4294967295'}"),
        Ok(("xid", Some("4294967295".into())))
    );
    assert_eq!(
        t("pg_pitr: {lsn: 0/4001c80, timeline: '1'}"),
        Ok(("lsn", Some("0/4001C80".into())))
    );
    assert_eq!(
        t("pg_pitr: {name: \"it's \\\"here\\\"\"}"),
        Ok(("name", Some("it's \"here\"".into())))
    );
    assert_eq!(
        t("pg_pitr: {type: time, time: '2026-07-13 10:00:00Z'}").map(|x| x.0),
        Ok("time")
    );
}

#[test]
fn refusals_name_the_field() {
    for (yaml, needles) in [
        (
            "pg_pitr: {time: '2026-07-13 10:00:00+00', xid: 5}",
            &["pg_pitr.xid", "two recovery targets: time and xid"][..],
        ),
        (
            "pg_pitr: {type: xid, time: '2026-07-13 10:00:00+00'}",
            &["pg_pitr.type", "disagrees"],
        ),
        (
            "pg_pitr: {type: lsn}",
            &["pg_pitr.type", "needs pg_pitr.lsn"],
        ),
        (
            "pg_pitr: {type: imediate}",
            &["pg_pitr.type", "did you mean 'immediate'"],
        ),
        ("pg_pitr: {xid: 0}", &["pg_pitr.xid", "1 to 4294967295"]),
        ("pg_pitr: {xid: 4294967296}", &["pg_pitr.xid"]),
        ("pg_pitr: {xid: -3}", &["pg_pitr.xid"]),
        ("pg_pitr: {xid: abc}", &["pg_pitr.xid"]),
        ("pg_pitr: {lsn: 0/XYZ}", &["pg_pitr.lsn", "not an LSN"]),
        (
            "pg_pitr: {time: '2026-07-13 10:00:00'}",
            &["pg_pitr.time", "no time zone"],
        ),
        ("pg_pitr: {time: 'tomorrow'}", &["pg_pitr.time"]),
        ("pg_pitr: {name: ''}", &["pg_pitr.name", "empty"]),
        (
            "pg_pitr: {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}",
            &["pg_pitr.name", "64 bytes"],
        ),
        (
            "pg_pitr: {tme: '2026-07-13 10:00:00+00'}",
            &["pg_pitr", "unknown key 'tme'", "did you mean 'time'"],
        ),
        ("pg_pitr: {exclusive: maybe}", &["pg_pitr.exclusive"]),
        (
            "pg_pitr: {exclusive: true}",
            &["pg_pitr.exclusive", "applies to time, xid and lsn"],
        ),
        (
            "pg_pitr: {name: x, exclusive: true}",
            &["pg_pitr.exclusive"],
        ),
        (
            "pg_pitr: {action: promot, xid: 5}",
            &["pg_pitr.action", "did you mean 'promote'"],
        ),
        (
            "pg_pitr: {action: pause}",
            &["pg_pitr.action", "needs a target"],
        ),
        ("pg_pitr: {timeline: two}", &["pg_pitr.timeline"]),
        ("pg_pitr: {timeline: 0, xid: 5}", &["pg_pitr.timeline"]),
        (
            "pg_pitr: {type: immediate, timeline: latest}",
            &["pg_pitr.timeline", "immediate"],
        ),
        (
            "pg_pitr: {data: pg/data}",
            &["pg_pitr.data", "not an absolute path"],
        ),
        (
            "pg_pitr: {data: \"/pg/data\\nrepo1-path=/evil\"}",
            &["pg_pitr.data", "more than one line"],
        ),
        ("pg_pitr: {data: /pg/../etc}", &["pg_pitr.data", "'..'"]),
        ("pg_pitr: {data: /}", &["pg_pitr.data"]),
        (
            "pg_pitr: {set: latestt}",
            &["pg_pitr.set", "not a pgBackRest backup label"],
        ),
        ("pg_pitr: {set: 20261203-080201I}", &["pg_pitr.set"]),
        (
            "pg_pitr: {cluster: 'pg meta'}",
            &["pg_pitr.cluster", "not a stanza name"],
        ),
        ("pg_pitr: {cluster: '../x'}", &["pg_pitr.cluster"]),
        (
            "pg_pitr: {db_include: [meta], db_exclude: [meta]}",
            &["pg_pitr.db_exclude", "both included"],
        ),
        ("pg_pitr: {process: 0}", &["pg_pitr.process"]),
        ("pg_pitr: {port: 70000}", &["pg_pitr.port"]),
        (
            "pg_pitr: {link_map: {pg_wal: data/wal}}",
            &["pg_pitr.link_map", "absolute"],
        ),
        (
            "pg_pitr: {repo: {type: s3}}",
            &["pg_pitr.repo", "s3_endpoint"],
        ),
        (
            "pg_pitr: {repo: {pth: /x}}",
            &["pg_pitr.repo.pth", "did you mean 'path'"],
        ),
        ("pg_pitr: '2026-07-13'", &["pg_pitr", "expected a mapping"]),
        ("pg_pitr: ", &["pg_pitr", "empty"]),
    ] {
        match parse(yaml) {
            Ok(p) => panic!("{yaml} accepted: {p:?}"),
            Err(e) => {
                for n in needles {
                    assert!(e.contains(n), "{yaml}: wanted {n:?} in {e}");
                }
                assert!(e.contains("-e #1:"), "{yaml}: no place in {e}");
            }
        }
    }
}

#[test]
fn a_time_is_described_in_utc_and_as_written() {
    let d = |s: &str| PgTime::parse(s).map(|t| Target::Time(t).describe());
    assert_eq!(
        d("2026-07-13 18:00:00+08"),
        Ok("time 2026-07-13 10:00:00+00 (written 2026-07-13 18:00:00+08)".into())
    );
    assert_eq!(
        d("2026-07-13 10:00:00.5+00"),
        Ok("time 2026-07-13 10:00:00.5+00".into())
    );
}

#[test]
fn labels_and_paths() {
    assert!(label("20261203-080201F").is_ok());
    assert!(label("20261203-080201F_20261203-090000I").is_ok());
    assert!(label("20261203-080201F_20261203-090000D").is_ok());
    for bad in [
        "20261203-080201",
        "20261203-080201D",
        "2026120-080201F",
        "20261203-080201F_x",
        "latest; rm -rf /",
    ] {
        assert!(label(bad).is_err(), "{bad}");
    }
    assert_eq!(abs_path("/pg/data1/"), Ok("/pg/data1".into()));
    assert_eq!(abs_path("//pg//data"), Ok("/pg/data".into()));
}

#[test]
fn options_are_kept() {
    let p = parse("pg_pitr: {cluster: pg-meta, set: 20261203-080201F, archive: false, backup: true, db_exclude: [test], link_map: {pg_wal: /data/wal}, process: 4, data: /pg/data9, port: 15432, timeline: current, action: promote, time: '2026-07-13 10:00:00+00'}");
    let p = match p {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(p.source.as_deref(), Some("pg-meta"));
    assert_eq!(p.set.as_deref(), Some("20261203-080201F"));
    assert_eq!(p.archive, Some(false));
    assert!(p.backup);
    assert_eq!(
        p.link_map,
        vec![("pg_wal".to_string(), "/data/wal".to_string())]
    );
    assert_eq!(p.timeline, Some(Timeline::Current));
    assert_eq!(p.action(), Action::Promote);
    assert_eq!(p.data.as_deref(), Some("/pg/data9"));
    assert_eq!(p.port, Some(15432));
}
