//! What the repository's WAL archive says: which segments of which timelines it holds, the
//! timeline history files, and — read with `pg_waldump` — where transactions end in a
//! segment and when. Pure parsing of recorded tool output.

use std::collections::BTreeMap;

use super::{Lsn, PgTime, Segment};

/// One line of a timeline history file: the history left `parent` at `switch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branch {
    pub parent: u32,
    pub switch: Lsn,
    pub reason: String,
}

/// Parse `0000000N.history`: `parentTLI<TAB>switchpoint<TAB>reason` per line, `#` comments.
pub fn parse_history(text: &str) -> Result<Vec<Branch>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, char::is_whitespace);
        let tli = parts.next().unwrap_or_default();
        let lsn = parts.next().map(str::trim).unwrap_or_default();
        let reason = parts.next().map(str::trim).unwrap_or_default();
        let parent = tli
            .parse::<u32>()
            .map_err(|_| format!("bad timeline history line {line:?}"))?;
        let switch = Lsn::parse(lsn).map_err(|_| format!("bad timeline history line {line:?}"))?;
        out.push(Branch {
            parent,
            switch,
            reason: reason.to_string(),
        });
    }
    Ok(out)
}

/// The archive of one database (`archive/<stanza>/<archive id>`).
#[derive(Clone, Debug, Default)]
pub struct Archive {
    pub id: String,
    pub seg_size: u64,
    /// Segment file paths (relative to the archive id directory) by segment.
    pub files: BTreeMap<Segment, String>,
    /// Each timeline's history (timeline 1 has none).
    pub histories: BTreeMap<u32, Vec<Branch>>,
}

impl Archive {
    /// From `repo-ls --recurse` text output of the archive id directory.
    pub fn from_listing(id: &str, listing: &str, seg_size: u64) -> Archive {
        let mut files = BTreeMap::new();
        for line in listing.lines() {
            let path = line.trim();
            let base = path.rsplit('/').next().unwrap_or(path);
            if let Some(seg) = Segment::parse(base, seg_size) {
                files.insert(seg, path.to_string());
            }
        }
        Archive {
            id: id.to_string(),
            seg_size,
            files,
            histories: BTreeMap::new(),
        }
    }

    /// Every timeline that has WAL or a history file.
    pub fn timelines(&self) -> Vec<u32> {
        let mut t: Vec<u32> = self.files.keys().map(|s| s.tli).collect();
        t.extend(self.histories.keys().copied());
        t.sort();
        t.dedup();
        t
    }

    /// Archived segments of one timeline, in order.
    pub fn segments(&self, tli: u32) -> Vec<Segment> {
        self.files
            .keys()
            .filter(|s| s.tli == tli)
            .copied()
            .collect()
    }

    /// The history of `tli`, as (timeline, from, to) pieces: `tli` itself last, open-ended.
    pub fn path(&self, tli: u32) -> Vec<(u32, Option<Lsn>)> {
        let mut out: Vec<(u32, Option<Lsn>)> = self
            .histories
            .get(&tli)
            .map(|h| h.iter().map(|b| (b.parent, Some(b.switch))).collect())
            .unwrap_or_default();
        out.push((tli, None));
        out
    }

    /// Where `tli` branched from its parent (None for a timeline without history).
    pub fn branch_point(&self, tli: u32) -> Option<(u32, Lsn)> {
        self.histories
            .get(&tli)
            .and_then(|h| h.last())
            .map(|b| (b.parent, b.switch))
    }

    /// The segments recovery reads along `tli`'s history from `from` to the end of what is
    /// archived on `tli`, in order: up to each branch point on the older timeline, then on
    /// the newer one (its first segment holds the switch). Segments that are not archived are
    /// in the list too: `first_gap` finds them.
    pub fn path_segments(&self, tli: u32, from: Lsn) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut pos = from.segno(self.seg_size);
        for (t, to) in self.path(tli) {
            let end = match to {
                Some(switch) => {
                    let s = switch.segno(self.seg_size);
                    if s < pos {
                        continue;
                    }
                    s
                }
                None => match self.segments(t).last() {
                    Some(last) => last.segno + 1,
                    None => pos,
                },
            };
            for segno in pos..end {
                out.push(Segment { tli: t, segno });
            }
            pos = pos.max(end);
        }
        out
    }

    /// The first segment along `tli`'s history from `from` that the archive does not hold.
    pub fn first_gap(&self, tli: u32, from: Lsn) -> Option<Segment> {
        self.path_segments(tli, from)
            .into_iter()
            .find(|s| !self.files.contains_key(s))
    }

    /// Timelines whose history passes through `tli` (its descendants), and `tli` itself.
    pub fn family(&self, tli: u32) -> Vec<u32> {
        self.timelines()
            .into_iter()
            .filter(|t| *t == tli || self.path(*t).iter().any(|(p, _)| *p == tli))
            .collect()
    }
}

/// A transaction end (commit or abort) as pg_waldump shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct XactEnd {
    pub lsn: Lsn,
    pub xid: u32,
    pub time: PgTime,
}

/// What one segment holds, from `pg_waldump` (run with TZ=UTC).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dump {
    pub first: Option<Lsn>,
    pub last: Option<Lsn>,
    pub xacts: Vec<XactEnd>,
    /// Restore points (name, lsn).
    pub restore_points: Vec<(String, Lsn)>,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(key)? + key.len();
    let rest = line[at..].trim_start();
    let end = rest.find([',', ' ']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Parse pg_waldump lines (all records, or a filtered subset that keeps the first and the
/// last record: pgplay's remote filter prefixes those with `first ` / `last `).
pub fn parse_dump(text: &str) -> Dump {
    let mut d = Dump::default();
    for raw in text.lines() {
        let line = raw
            .strip_prefix("first ")
            .or_else(|| raw.strip_prefix("last "))
            .unwrap_or(raw);
        if !line.starts_with("rmgr:") {
            continue;
        }
        let Some(lsn) = field(line, "lsn:").and_then(|l| Lsn::parse(l).ok()) else {
            continue;
        };
        d.first = Some(d.first.map_or(lsn, |f| f.min(lsn)));
        d.last = Some(d.last.map_or(lsn, |l| l.max(lsn)));
        let desc = line.split("desc: ").nth(1).unwrap_or("");
        if line.starts_with("rmgr: Transaction") {
            for word in ["COMMIT_PREPARED ", "ABORT_PREPARED ", "COMMIT ", "ABORT "] {
                if let Some(rest) = desc.strip_prefix(word) {
                    let stamp = rest.split(';').next().unwrap_or("");
                    let xid = field(line, "tx:").and_then(|x| x.parse().ok()).unwrap_or(0);
                    if let Some(time) = PgTime::from_waldump(stamp) {
                        if !d.xacts.iter().any(|x| x.lsn == lsn) {
                            d.xacts.push(XactEnd { lsn, xid, time });
                        }
                    }
                    break;
                }
            }
        } else if let Some(name) = desc.strip_prefix("RESTORE_POINT ") {
            d.restore_points.push((name.trim_end().to_string(), lsn));
        }
    }
    d.xacts.sort_by_key(|x| x.lsn);
    d
}

/// The remote filter that keeps a dump small: first and last record, transaction ends and
/// restore points (an awk program for `pg_waldump ... | awk`).
pub const DUMP_FILTER: &str = r#"NR==1{print "first " $0} /^rmgr: Transaction/ && /desc: (COMMIT|ABORT)/ {print} /desc: RESTORE_POINT/ {print} {last=$0} END{if (NR>0) print "last " last}"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::pitr::DEFAULT_SEG_SIZE;

    #[test]
    fn history_files() {
        let h = parse_history("1\t0/5000148\tbefore 2026-12-03 08:10:00.5+00\n\n# c\n2\t0/9000000\tno recovery target specified\n");
        let h = h.unwrap_or_default();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].parent, 1);
        assert_eq!(h[0].switch, Lsn(0x5000148));
        assert_eq!(h[1].reason, "no recovery target specified");
        assert!(parse_history("x\ty\tz").is_err());
    }

    #[test]
    fn listing_and_family() {
        let listing = "0000000100000000\n0000000100000000/000000010000000000000001-aa.gz\n0000000100000000/000000010000000000000002-bb.gz\n0000000100000000/000000010000000000000002.00000028.backup\n0000000100000000/000000020000000000000002-cc.gz\n00000002.history\n";
        let mut a = Archive::from_listing("15-1", listing, DEFAULT_SEG_SIZE);
        a.histories.insert(
            2,
            vec![Branch {
                parent: 1,
                switch: Lsn(0x2000100),
                reason: String::new(),
            }],
        );
        assert_eq!(a.timelines(), vec![1, 2]);
        assert_eq!(a.segments(1).len(), 2);
        assert_eq!(a.family(1), vec![1, 2]);
        assert_eq!(a.family(2), vec![2]);
        assert_eq!(a.branch_point(2), Some((1, Lsn(0x2000100))));
        assert_eq!(a.path(2), vec![(1, Some(Lsn(0x2000100))), (2, None)]);
    }

    #[test]
    fn waldump_lines() {
        let text = "first rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/03000028, prev 0/02000138, desc: CHECKPOINT_ONLINE redo 0/3000028\n\
rmgr: Transaction len (rec/tot):    405/   405, tx:        739, lsn: 0/030451F8, prev 0/030451B8, desc: COMMIT 2026-12-03 08:02:24.951056 UTC; inval msgs: catcache 80\n\
rmgr: Transaction len (rec/tot):     34/    34, tx:        740, lsn: 0/03045300, prev 0/030451F8, desc: ABORT 2026-12-03 08:02:25.000001 UTC\n\
rmgr: XLOG        len (rec/tot):     50/    50, tx:          0, lsn: 0/03045340, prev 0/03045300, desc: RESTORE_POINT it's \"here\"\n\
last rmgr: XLOG        len (rec/tot):     24/    24, tx:          0, lsn: 0/030453F8, prev 0/030453C0, desc: SWITCH \n";
        let d = parse_dump(text);
        assert_eq!(d.first, Some(Lsn(0x3000028)));
        assert_eq!(d.last, Some(Lsn(0x30453F8)));
        assert_eq!(d.xacts.len(), 2);
        assert_eq!(d.xacts[0].xid, 739);
        assert_eq!(d.xacts[0].time.utc(), "2026-12-03 08:02:24.951056+00");
        assert_eq!(
            d.restore_points,
            vec![("it's \"here\"".to_string(), Lsn(0x3045340))]
        );
    }
}
