use super::*;
use crate::pg::pitr::info::tests::PG_META;
use crate::pg::pitr::wal::{parse_history, Archive};
use crate::pg::pitr::DEFAULT_SEG_SIZE;

fn pitr(yaml: &str) -> Pitr {
    let node = crate::yaml::load("t", yaml).unwrap_or_else(|e| panic!("{}", e.message));
    let pg = node
        .get("pg_pitr")
        .cloned()
        .unwrap_or_else(|| panic!("no pg_pitr"));
    Pitr::from_node(&pg).unwrap_or_else(|e| panic!("{e}"))
}

fn x(lsn: u64, xid: u32, secs: i64) -> XactEnd {
    XactEnd {
        lsn: Lsn(lsn),
        xid,
        time: PgTime::from_epoch(secs),
    }
}

fn dump(first: u64, last: u64, xacts: Vec<XactEnd>) -> Dump {
    Dump {
        first: Some(Lsn(first)),
        last: Some(Lsn(last)),
        xacts,
        restore_points: Vec::new(),
    }
}

const T0: i64 = 1796284924; // pg-meta's backup ended here (LSN 0/2000138, timeline 1)

/// One timeline: WAL 1..3, transactions every 10 s after the backup.
fn single() -> (StanzaInfo, Vec<Archive>, Dumps) {
    let info = StanzaInfo::parse(PG_META, "pg-meta").unwrap_or_else(|e| panic!("{e}"));
    let listing = "0000000100000000/000000010000000000000001-a.gz\n0000000100000000/000000010000000000000002-b.gz\n0000000100000000/000000010000000000000003-c.gz\n";
    let a = Archive::from_listing("15-1", listing, DEFAULT_SEG_SIZE);
    let mut d = Dumps::new();
    d.insert(
        ("15-1".into(), Segment { tli: 1, segno: 3 }),
        dump(
            0x3000028,
            0x30453F8,
            vec![
                x(0x3001000, 740, T0 + 10),
                x(0x3002000, 741, T0 + 20),
                x(0x3003000, 742, T0 + 30),
            ],
        ),
    );
    (info, vec![a], d)
}

/// A PITR at T0+15 (after transaction 740) made timeline 2; timeline 1 went on to 742
/// (the abandoned future), timeline 2 has transactions 741.. at T0+100 and later.
fn branched() -> (StanzaInfo, Vec<Archive>, Dumps) {
    let (info, mut archives, mut d) = single();
    let a = &mut archives[0];
    let listing = "0000000100000000/000000010000000000000001-a.gz\n0000000100000000/000000010000000000000002-b.gz\n0000000100000000/000000010000000000000003-c.gz\n0000000100000000/000000020000000000000003-d.gz\n0000000100000000/000000020000000000000004-e.gz\n00000002.history\n";
    *a = Archive::from_listing("15-1", listing, DEFAULT_SEG_SIZE);
    a.histories.insert(
        2,
        parse_history("1\t0/3001100\tbefore 2026-12-03 08:02:20+00\n").unwrap_or_default(),
    );
    d.insert(
        ("15-1".into(), Segment { tli: 2, segno: 3 }),
        dump(
            0x3000028,
            0x3FFFFFF,
            vec![x(0x3001000, 740, T0 + 10), x(0x3005000, 741, T0 + 100)],
        ),
    );
    d.insert(
        ("15-1".into(), Segment { tli: 2, segno: 4 }),
        dump(0x4000028, 0x4001000, vec![x(0x4000100, 745, T0 + 200)]),
    );
    (info, archives, d)
}

fn run(yaml: &str, case: &(StanzaInfo, Vec<Archive>, Dumps)) -> Result<Decision, String> {
    decide(&pitr(yaml), &case.0, &case.1, &case.2)
}

fn at(secs: i64) -> String {
    PgTime::from_epoch(secs).utc()
}

#[test]
fn single_timeline_window() {
    let c = single();
    let d =
        run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 15)), &c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.backup.label, "20261203-080201F");
    assert_eq!(d.timeline, Timeline::Current);
    assert!(
        d.window.describe().contains("transaction 742"),
        "{}",
        d.window.describe()
    );
    // after the newest archived transaction: refused
    let e = run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 30)), &c)
        .err()
        .unwrap_or_default();
    assert!(
        e.contains("lies after the archived WAL") && e.contains("742"),
        "{e}"
    );
    // exclusive of exactly the last one is fine
    assert!(run(
        &format!("pg_pitr: {{time: '{}', exclusive: true}}", at(T0 + 30)),
        &c
    )
    .is_ok());
    // before the backup ended: refused with the window
    let e = run(&format!("pg_pitr: {{time: '{}'}}", at(T0)), &c)
        .err()
        .unwrap_or_default();
    assert!(
        e.contains("before the recovery window") && e.contains("20261203-080201F"),
        "{e}"
    );
    // LSN inside and beyond
    assert!(run("pg_pitr: {lsn: 0/3002000}", &c).is_ok());
    let e = run("pg_pitr: {lsn: 0/5000000}", &c)
        .err()
        .unwrap_or_default();
    assert!(e.contains("beyond the archived WAL"), "{e}");
    let e = run("pg_pitr: {lsn: 0/1000000}", &c)
        .err()
        .unwrap_or_default();
    assert!(e.contains("before the end of"), "{e}");
    // xid
    assert!(run("pg_pitr: {xid: 741}", &c).is_ok());
    let e = run("pg_pitr: {xid: 9999}", &c).err().unwrap_or_default();
    assert!(e.contains("transaction 9999"), "{e}");
    // a set that does not exist
    let e = run("pg_pitr: {set: 20250101-000000F}", &c)
        .err()
        .unwrap_or_default();
    assert!(
        e.contains("not in stanza 'pg-meta'") && e.contains("20261203-080201F"),
        "{e}"
    );
}

#[test]
fn missing_stanza_refused() {
    let json = r#"[{"archive":[],"backup":[],"cipher":"none","db":[],"name":"nope","repo":[{"cipher":"none","key":1,"status":{"code":1,"message":"missing stanza path"}}],"status":{"code":1,"lock":{"backup":{"held":false}},"message":"missing stanza path"}}]"#;
    let info = StanzaInfo::parse(json, "nope").unwrap_or_else(|e| panic!("{e}"));
    let e = decide(&pitr("pg_pitr: {}"), &info, &[], &Dumps::new())
        .err()
        .unwrap_or_default();
    assert!(e.contains("stanza 'nope' does not exist"), "{e}");
}

#[test]
fn abandoned_future_is_followed_exactly() {
    let c = branched();
    // Before the branch: shared history, the backup's own timeline.
    let d =
        run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 5)), &c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.timeline_id, 1);
    // In the abandoned future of timeline 1 (742 at T0+30 exists only there): timeline 1.
    let d =
        run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 25)), &c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.timeline, Timeline::Current, "{}", d.why_timeline);
    // On the new history: timeline 2.
    let d = run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 150)), &c)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.timeline, Timeline::Id(2), "{}", d.why_timeline);
    // Between the end of timeline 1's own transactions and timeline 2's first: refused.
    let e = run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 50)), &c)
        .err()
        .unwrap_or_default();
    assert!(
        e.contains("between histories") && e.contains("timeline 1") && e.contains("timeline 2"),
        "{e}"
    );
    // An LSN past the branch exists on both histories: ambiguous, refused, names both.
    let e = run("pg_pitr: {lsn: 0/3002000}", &c)
        .err()
        .unwrap_or_default();
    assert!(
        e.contains("ambiguous") && e.contains("pg_pitr.timeline: 1 or 2"),
        "{e}"
    );
    // ... unless the user picks one.
    let d = run("pg_pitr: {lsn: 0/3002000, timeline: 1}", &c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.timeline, Timeline::Current);
    // Latest follows the newest timeline.
    let d = run("pg_pitr: {}", &c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((d.timeline, d.timeline_id), (Timeline::Latest, 2));
    // A restore point that was not seen, with a branch that went on: refused.
    let e = run("pg_pitr: {name: x}", &c).err().unwrap_or_default();
    assert!(e.contains("may lie on more than one history"), "{e}");
}

#[test]
fn unread_history_refuses_instead_of_guessing() {
    // Timeline 1's WAL past the branch was not read (the segment was not summarised):
    // pgplay cannot know whether it went on, so it does not pick timeline 2 by default.
    let (info, archives, mut d) = branched();
    d.remove(&("15-1".to_string(), Segment { tli: 1, segno: 3 }));
    let c = (info, archives, d);
    let e = run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 50)), &c)
        .err()
        .unwrap_or_default();
    assert!(
        e.contains("could not be read") && e.contains("pg_pitr.timeline"),
        "{e}"
    );
    // Naming the timeline is an answer.
    assert!(run(
        &format!("pg_pitr: {{time: '{}', timeline: 2}}", at(T0 + 150)),
        &c
    )
    .is_ok());
}

#[test]
fn a_quiet_start_of_a_history_is_read_on() {
    // Timeline 2 begins with segments of WAL switches only (a promotion, checks, a
    // backup): its start is read on, a few segments at a time, until a transaction shows.
    let (info, mut archives, mut d) = branched();
    let mut listing = String::from("0000000100000000/000000010000000000000003-c.gz\n");
    for n in 3..=9 {
        listing.push_str(&format!(
            "0000000100000000/0000000200000000000000{n:02X}-x.gz\n"
        ));
    }
    let histories = archives[0].histories.clone();
    archives[0] = Archive::from_listing("15-1", &listing, DEFAULT_SEG_SIZE);
    archives[0].histories = histories;
    let backup = info.usable()[0].clone();
    let key = |n| ("15-1".to_string(), Segment { tli: 2, segno: n });
    d.insert(
        key(3),
        dump(0x3000028, 0x3001200, vec![x(0x3001000, 740, T0 + 10)]),
    );
    d.remove(&key(4));
    assert_eq!(
        segments_after_quiet_starts(&archives[0], &backup, &d, 2),
        vec![Segment { tli: 2, segno: 4 }, Segment { tli: 2, segno: 5 }]
    );
    d.insert(key(4), dump(0x4000028, 0x4000100, vec![]));
    d.insert(key(5), dump(0x5000028, 0x5000100, vec![]));
    assert_eq!(
        segments_after_quiet_starts(&archives[0], &backup, &d, 2),
        vec![Segment { tli: 2, segno: 6 }, Segment { tli: 2, segno: 7 }]
    );
    d.insert(
        key(6),
        dump(0x6000028, 0x6000200, vec![x(0x6000100, 746, T0 + 300)]),
    );
    d.insert(key(7), dump(0x7000028, 0x7000100, vec![]));
    assert!(segments_after_quiet_starts(&archives[0], &backup, &d, 2).is_empty());
}

#[test]
fn segments_read_for_a_branched_history() {
    let (info, archives, _) = branched();
    let backup = info.usable()[0].clone();
    let segs = segments_for(&archives[0], &backup, 64);
    for want in [
        Segment { tli: 1, segno: 3 },
        Segment { tli: 2, segno: 3 },
        Segment { tli: 2, segno: 4 },
    ] {
        assert!(segs.contains(&want), "{want:?} not in {segs:?}");
    }
    assert!(segments_for(&archives[0], &backup, 1).len() == 1);
}

#[test]
fn a_hole_in_the_archive_is_refused_unless_the_target_is_before_it() {
    let (info, _, mut d) = single();
    // Segment 4 was never archived (archiving was pointed elsewhere for a while).
    let listing = "0000000100000000/000000010000000000000001-a.gz\n0000000100000000/000000010000000000000002-b.gz\n0000000100000000/000000010000000000000003-c.gz\n0000000100000000/000000010000000000000005-e.gz\n";
    let a = Archive::from_listing("15-1", listing, DEFAULT_SEG_SIZE);
    assert_eq!(
        a.first_gap(1, Lsn(0x2000028)),
        Some(Segment { tli: 1, segno: 4 })
    );
    d.insert(
        ("15-1".into(), Segment { tli: 1, segno: 5 }),
        dump(0x5000028, 0x5001000, vec![x(0x5000100, 900, T0 + 200)]),
    );
    let c = (info, vec![a], d);
    assert!(run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 15)), &c).is_ok());
    assert!(run("pg_pitr: {lsn: 0/3002000}", &c).is_ok());
    for spec in [
        format!("pg_pitr: {{time: '{}'}}", at(T0 + 100)),
        "pg_pitr: {lsn: 0/5000100}".to_string(),
        "pg_pitr: {}".to_string(),
    ] {
        let e = run(&spec, &c).err().unwrap_or_default();
        assert!(
            e.contains("WAL segment 000000010000000000000004 (timeline 1) is missing"),
            "{spec}: {e}"
        );
    }
    let e = run("pg_pitr: {}", &c).err().unwrap_or_default();
    assert!(e.contains("silently losing"), "{e}");
}

#[test]
fn failover_timeline_is_followed() {
    // Timeline 1 ended at the switch (no transaction past it): a failover.
    let (info, archives, mut d) = branched();
    d.insert(
        ("15-1".into(), Segment { tli: 1, segno: 3 }),
        dump(0x3000028, 0x3001050, vec![x(0x3001000, 740, T0 + 10)]),
    );
    let c = (info, archives, d);
    // T0+50 falls between the old primary's last transaction and the new one's first.
    let dec =
        run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 50)), &c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dec.timeline, Timeline::Id(2), "{}", dec.why_timeline);
    let dec = run("pg_pitr: {lsn: 0/3002000}", &c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dec.timeline, Timeline::Id(2));
}
