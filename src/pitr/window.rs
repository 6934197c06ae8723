//! The preflight decision: can this target be reached from this repository, from which backup
//! set, along which timeline — or why not. Pure: it reads pgBackRest's info, the archive
//! listing with its timeline histories, and `pg_waldump` summaries of a few segments.
//!
//! Timelines are where point-in-time recovery gives silently wrong answers. After a PITR that
//! promoted, the old timeline keeps WAL past the branch point (the "abandoned future") and a
//! new timeline starts at the same position. PostgreSQL's default (`latest`) follows the new
//! one, so a target that lies in the abandoned future is never seen: recovery stops on the new
//! timeline instead, at a different point, and says nothing. pgplay finds, for every timeline
//! the backup can lead to, the span of transactions that only that timeline holds, and
//! follows the one timeline whose span holds the target. When two do (both histories have
//! transactions at that time), it refuses and names them, so the user picks with `timeline`.
//! A timeline made by a failover (the old one has no transactions past the switch) is
//! followed as usual.

use std::collections::BTreeMap;

use super::info::{Backup, StanzaInfo};
use super::spec::{Pitr, Target, Timeline};
use super::wal::{Archive, Dump, XactEnd};
use super::{Lsn, PgTime, Segment};

/// The segments pgplay reads with pg_waldump, by archive id.
pub type Dumps = BTreeMap<(String, Segment), Dump>;

/// What preflight settled.
#[derive(Clone, Debug)]
pub struct Decision {
    pub backup: Backup,
    /// `recovery_target_timeline`.
    pub timeline: Timeline,
    /// The timeline recovery follows, by number.
    pub timeline_id: u32,
    pub window: Window,
    /// Why this timeline (for the plan).
    pub why_timeline: String,
    /// Where recovery is expected to stop, in words.
    pub expect: String,
}

/// The recovery window of the stanza.
#[derive(Clone, Debug, Default)]
pub struct Window {
    /// The end of the oldest usable backup: the earliest time a time target can name.
    pub from: Option<PgTime>,
    pub from_backup: Option<String>,
    /// The newest archived transaction, on the newest timeline.
    pub to: Option<XactEnd>,
    pub to_timeline: Option<u32>,
    /// The last archived WAL record (newest timeline).
    pub to_lsn: Option<Lsn>,
}

impl Window {
    pub fn describe(&self) -> String {
        let from = match (&self.from, &self.from_backup) {
            (Some(t), Some(l)) => format!("{} (end of backup {l})", t.utc()),
            _ => "-".into(),
        };
        let to = match (&self.to, self.to_timeline) {
            (Some(x), Some(t)) => format!(
                "{} (transaction {} at LSN {}, timeline {t})",
                x.time.utc(),
                x.xid,
                x.lsn
            ),
            _ => match self.to_lsn {
                Some(l) => format!("LSN {l} (no transaction found in the newest segments)"),
                None => "-".into(),
            },
        };
        format!("{from} .. {to}")
    }
}

/// Which segments preflight summarises for a backup: for every timeline the backup can lead
/// to, its last two segments (where its history ends) and, for a branch, the parent's
/// segment holding the branch point and the child's first two (where each begins). At most
/// `cap`; a timeline left out is "unknown", and an unknown refuses rather than guesses.
pub fn segments_for(a: &Archive, backup: &Backup, cap: usize) -> Vec<Segment> {
    let b = backup.timeline().unwrap_or(1);
    let stop = backup.stop_lsn().unwrap_or(Lsn(0));
    let mut want: Vec<Segment> = Vec::new();
    let mut add = |seg: Segment| {
        if a.files.contains_key(&seg) && !want.contains(&seg) {
            want.push(seg);
        }
    };
    for tli in family_after(a, b, stop).into_iter().rev() {
        for seg in a.segments(tli).iter().rev().take(2) {
            add(*seg);
        }
        if tli != b {
            if let Some((parent, switch)) = a.branch_point(tli) {
                let n = switch.segno(a.seg_size);
                add(Segment {
                    tli: parent,
                    segno: n,
                });
                add(Segment { tli, segno: n });
                add(Segment { tli, segno: n + 1 });
            }
        }
        // Where a hole in the archive stops recovery: the last segment before it.
        let start = backup.start_lsn().unwrap_or(stop);
        let path = a.path_segments(tli, start);
        if let Some(i) = path.iter().position(|s| !a.files.contains_key(s)) {
            if i > 0 {
                add(path[i - 1]);
            }
        }
    }
    want.truncate(cap);
    want
}

/// The next segments to read where a history after the backup begins quietly: for every
/// timeline branching off after the backup, its segments from the branch point on, in order,
/// while the ones read hold no transaction — up to `per_timeline` not read yet. Empty when
/// every such history has shown a transaction (or has no segment left to read).
pub fn segments_after_quiet_starts(
    a: &Archive,
    backup: &Backup,
    dumps: &Dumps,
    per_timeline: usize,
) -> Vec<Segment> {
    let b = backup.timeline().unwrap_or(1);
    let stop = backup.stop_lsn().unwrap_or(Lsn(0));
    let mut want = Vec::new();
    for tli in family_after(a, b, stop) {
        if tli == b {
            continue;
        }
        let Some((_, switch)) = a.branch_point(tli) else {
            continue;
        };
        let first = switch.segno(a.seg_size);
        let mut unread = 0;
        for seg in a.segments(tli).into_iter().filter(|s| s.segno >= first) {
            match dumps.get(&(a.id.clone(), seg)) {
                // the branch's first segment also holds the parent's WAL before the branch
                Some(d) if d.xacts.iter().any(|x| x.lsn >= switch) => break,
                Some(_) => continue,
                None => {
                    want.push(seg);
                    unread += 1;
                    if unread >= per_timeline {
                        break;
                    }
                }
            }
        }
    }
    want
}

/// Timelines a backup on `b` that ended at `stop` can lead to: `b` and every descendant whose
/// history leaves `b` after `stop`.
fn family_after(a: &Archive, b: u32, stop: Lsn) -> Vec<u32> {
    a.family(b)
        .into_iter()
        .filter(|t| {
            *t == b
                || a.path(*t)
                    .iter()
                    .find(|(p, _)| *p == b)
                    .and_then(|(_, to)| *to)
                    .is_some_and(|leaves| leaves >= stop)
        })
        .collect()
}

/// Facts about one timeline's own piece of history, from the dumps.
#[derive(Clone, Debug, Default)]
struct Piece {
    tli: u32,
    /// Where the piece starts (the branch point; the backup's end for the backup's timeline).
    start: Lsn,
    /// The last transaction before `start` on the parent (None: not found / no parent).
    before: Option<XactEnd>,
    /// Transactions of this piece that were read (lsn >= start), in order.
    first: Option<XactEnd>,
    last: Option<XactEnd>,
    last_rec: Option<Lsn>,
    max_xid: Option<u32>,
    /// The parent holds transactions past this piece's start (an abandoned future); None when
    /// the parent's WAL there was not read.
    parent_went_on: Option<bool>,
    /// Some of this timeline's WAL was read.
    known: bool,
}

fn xacts_of<'a>(dumps: &'a Dumps, archive: &'a str, tli: u32) -> impl Iterator<Item = &'a XactEnd> {
    dumps
        .iter()
        .filter(move |((id, s), _)| id == archive && s.tli == tli)
        .flat_map(|(_, d)| d.xacts.iter())
}

fn last_rec_of(dumps: &Dumps, archive: &str, tli: u32) -> Option<Lsn> {
    dumps
        .iter()
        .filter(|((id, s), _)| id == archive && s.tli == tli)
        .filter_map(|(_, d)| d.last)
        .max()
}

fn piece(a: &Archive, dumps: &Dumps, tli: u32, start: Lsn) -> Piece {
    let own: Vec<&XactEnd> = xacts_of(dumps, &a.id, tli)
        .filter(|x| x.lsn >= start)
        .collect();
    let (before, parent_went_on) = match a.branch_point(tli) {
        Some((parent, switch)) if switch == start => {
            let read = dumps.keys().any(|(id, s)| {
                *id == a.id && s.tli == parent && s.segno == switch.segno(a.seg_size)
            });
            (
                xacts_of(dumps, &a.id, parent)
                    .filter(|x| x.lsn < switch)
                    .max_by_key(|x| x.lsn)
                    .cloned(),
                read.then(|| xacts_of(dumps, &a.id, parent).any(|x| x.lsn >= switch)),
            )
        }
        _ => (None, Some(false)),
    };
    Piece {
        tli,
        start,
        before,
        first: own.iter().min_by_key(|x| x.lsn).map(|x| (*x).clone()),
        last: own.iter().max_by_key(|x| x.lsn).map(|x| (*x).clone()),
        last_rec: last_rec_of(dumps, &a.id, tli),
        max_xid: own.iter().map(|x| x.xid).max(),
        parent_went_on,
        known: dumps.keys().any(|(id, s)| *id == a.id && s.tli == tli),
    }
}

/// The pieces a backup on timeline `b` can lead to: `b` from the backup's end, and every
/// descendant from its branch point.
fn pieces(a: &Archive, dumps: &Dumps, backup: &Backup, b: u32) -> Vec<Piece> {
    let stop = backup.stop_lsn().unwrap_or(Lsn(0));
    family_after(a, b, stop)
        .into_iter()
        .filter_map(|t| {
            if t == b {
                return Some(piece(a, dumps, t, stop));
            }
            let (_, switch) = a.branch_point(t)?;
            Some(piece(a, dumps, t, switch))
        })
        .collect()
}

/// Does recovery along `p`'s history stop inside `p`'s own piece for this target?
/// (lo: at least one of its own records is replayed first; hi: a stopping record exists.)
fn holds(p: &Piece, target: &Target, exclusive: bool, is_base: bool) -> (bool, bool) {
    match target {
        Target::Time(t) => {
            let lo = is_base
                || p.first.as_ref().is_some_and(|f| {
                    if exclusive {
                        f.time.micros < t.micros
                    } else {
                        f.time.micros <= t.micros
                    }
                });
            let hi = p.last.as_ref().is_some_and(|l| {
                if exclusive {
                    l.time.micros >= t.micros
                } else {
                    l.time.micros > t.micros
                }
            });
            (lo, hi)
        }
        Target::Lsn(l) => (*l >= p.start, p.last_rec.is_some_and(|r| r >= *l)),
        Target::Xid(x) => (
            is_base || p.first.as_ref().is_some_and(|f| f.xid <= *x),
            p.max_xid.is_some_and(|m| m >= *x),
        ),
        _ => (true, true),
    }
}

fn range(p: &Piece) -> String {
    let branch = match &p.before {
        Some(b) => format!(
            "branches at {} after transaction {} ({}); ",
            p.start,
            b.xid,
            b.time.utc()
        ),
        None => String::new(),
    };
    branch
        + &match (&p.first, &p.last) {
            (Some(f), Some(l)) => format!(
                "transactions {} .. {} ({} .. {}), LSN {} .. {}",
                f.xid,
                l.xid,
                f.time.utc(),
                l.time.utc(),
                f.lsn,
                p.last_rec.unwrap_or(l.lsn)
            ),
            _ => format!(
                "no transaction read; WAL from {} to {}",
                p.start,
                p.last_rec.map(|l| l.to_string()).unwrap_or("-".into())
            ),
        }
}

/// The backup set a target starts from: the newest usable one that ends before it (or the
/// one `set` names), or why there is none.
pub fn choose_backup(pitr: &Pitr, info: &StanzaInfo) -> Result<Backup, String> {
    let stanza = &info.name;
    if !info.exists() {
        return Err(format!(
            "stanza '{stanza}' does not exist in this repository ({}): nothing to restore from",
            info.status.message
        ));
    }
    let usable = info.usable();
    if usable.is_empty() {
        return Err(format!(
            "stanza '{stanza}' has no usable backup ({}): take one first (pgplay pgsql-backup -l <cluster> -e type=full)",
            info.status.message
        ));
    }
    let labels = || {
        usable
            .iter()
            .map(|b| format!("{} ({}, ended {})", b.label, b.kind, b.stop_time().utc()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Backup sets the target can start from, newest first.
    let mut candidates: Vec<&Backup> = usable.iter().rev().copied().collect();
    if let Some(set) = &pitr.set {
        candidates.retain(|b| &b.label == set);
        if candidates.is_empty() {
            return Err(format!(
                "backup set {set} is not in stanza '{stanza}' (its backup sets: {})",
                labels()
            ));
        }
    }
    match &pitr.target {
        Target::Time(t) => {
            let fits = |b: &&Backup| (b.timestamp.stop + 1) as f64 <= t.secs();
            if !candidates.iter().any(fits) {
                return Err(match &pitr.set {
                    Some(set) => format!(
                        "the target time {} lies before the end of backup set {set} ({}): it cannot be reached from it",
                        t.utc(),
                        candidates[0].stop_time().utc()
                    ),
                    None => format!(
                        "the target time {} lies before the recovery window, which starts at {} (the end of the oldest backup, {}); backup sets: {}",
                        t.utc(),
                        usable.first().map(|b| PgTime::from_epoch(b.timestamp.stop + 1).utc()).unwrap_or_default(),
                        usable.first().map(|b| b.label.clone()).unwrap_or_default(),
                        labels()
                    ),
                });
            }
            candidates.retain(fits);
        }
        Target::Lsn(l) => {
            let fits = |b: &&Backup| b.stop_lsn().is_some_and(|s| s <= *l);
            if !candidates.iter().any(fits) {
                let first = candidates.last().and_then(|b| b.stop_lsn());
                return Err(format!(
                    "LSN {l} lies before the end of {} ({}): recovery cannot stop before a backup is consistent",
                    if pitr.set.is_some() { "that backup set" } else { "the oldest backup" },
                    first.map(|f| f.to_string()).unwrap_or_default()
                ));
            }
            candidates.retain(fits);
        }
        _ => {}
    }
    Ok(candidates[0].clone())
}

/// Decide. `archives` are the stanza's archive ids (oldest first), with histories loaded;
/// `dumps` summarise the segments `segments_for` named for the chosen backup.
pub fn decide(
    pitr: &Pitr,
    info: &StanzaInfo,
    archives: &[Archive],
    dumps: &Dumps,
) -> Result<Decision, String> {
    let backup = choose_backup(pitr, info)?;
    let usable = info.usable();
    let archive_of = |b: &Backup| -> Option<&Archive> {
        let id = info.archive_id(b.database.id)?;
        archives.iter().find(|a| a.id == id)
    };
    let newest_tli_of = |a: &Archive| a.timelines().into_iter().max().unwrap_or(1);
    let window = {
        let oldest = usable.first();
        let newest_archive = archives.last();
        let (to, to_tli, to_lsn) = match newest_archive {
            Some(a) => {
                let t = newest_tli_of(a);
                let last = xacts_of(dumps, &a.id, t).max_by_key(|x| x.lsn).cloned();
                (last, Some(t), last_rec_of(dumps, &a.id, t))
            }
            None => (None, None, None),
        };
        Window {
            from: oldest.map(|b| PgTime::from_epoch(b.timestamp.stop + 1)),
            from_backup: oldest.map(|b| b.label.clone()),
            to,
            to_timeline: to_tli,
            to_lsn,
        }
    };
    let Some(archive) = archive_of(&backup) else {
        return Err(format!(
            "backup set {} has no WAL archive in the repository: it cannot be recovered past its end",
            backup.label
        ));
    };
    let b = backup.timeline().unwrap_or(1);
    let all = pieces(archive, dumps, &backup, b);
    let id_of = |tli: u32| -> Timeline {
        if tli == b {
            Timeline::Current
        } else {
            Timeline::Id(tli)
        }
    };
    let newest = all.iter().map(|p| p.tli).max().unwrap_or(b);
    let chosen: (u32, String) = if let Some(tl) = pitr.timeline {
        let tli = match tl {
            Timeline::Current => b,
            Timeline::Latest => newest,
            Timeline::Id(n) => n,
        };
        let Some(p) = all.iter().find(|p| p.tli == tli) else {
            let known: Vec<String> = all.iter().map(|p| p.tli.to_string()).collect();
            return Err(format!(
                "timeline {tli} does not continue from backup set {} (timeline {b}, ended at LSN {}): timelines it leads to: {}",
                backup.label,
                backup.stop_lsn().map(|l| l.to_string()).unwrap_or_default(),
                known.join(", ")
            ));
        };
        let (_, hi) = holds(p, &pitr.target, pitr.exclusive, p.tli == b);
        if !hi
            && matches!(
                pitr.target,
                Target::Time(_) | Target::Lsn(_) | Target::Xid(_)
            )
        {
            return Err(too_late(&pitr.target, &[p]));
        }
        (tli, format!("timeline {tli}, as pg_pitr.timeline says"))
    } else {
        match &pitr.target {
            Target::Immediate => (b, format!("timeline {b}: the backup's own (immediate)")),
            Target::Latest => (
                newest,
                format!("timeline {newest}: the newest one (latest)"),
            ),
            Target::Name(n) => {
                // A restore point seen in the segments read tells its timeline.
                let seen: Vec<u32> = dumps
                    .iter()
                    .filter(|((id, _), d)| {
                        *id == archive.id && d.restore_points.iter().any(|(rp, _)| rp == n)
                    })
                    .map(|((_, s), _)| s.tli)
                    .collect();
                let forks: Vec<&Piece> = all
                    .iter()
                    .filter(|p| p.parent_went_on != Some(false))
                    .collect();
                if let Some(t) = seen.iter().max() {
                    (
                        *t,
                        format!("timeline {t}: the restore point was found there"),
                    )
                } else if forks.is_empty() {
                    (newest, format!("timeline {newest}: the newest one (no timeline branched off with transactions of its own)"))
                } else {
                    let list: Vec<String> = all
                        .iter()
                        .map(|p| format!("timeline {}: {}", p.tli, range(p)))
                        .collect();
                    return Err(format!(
                        "restore point {n:?} may lie on more than one history: after backup {} the WAL branched ({}), and {NOT_SEEN}; choose one with pg_pitr.timeline",
                        backup.label,
                        list.join("; ")
                    ));
                }
            }
            target => {
                if let Some(p) = all.iter().find(|p| !p.known) {
                    return Err(format!(
                        "the archived WAL of timeline {} could not be read (after backup {} the history has {} timelines; pgplay reads only a few segments of each): it cannot tell on which history the target lies; choose one with pg_pitr.timeline",
                        p.tli,
                        backup.label,
                        all.len()
                    ));
                }
                let mut hit: Vec<&Piece> = Vec::new();
                let mut gap: Vec<&Piece> = Vec::new();
                for p in &all {
                    let (lo, hi) = holds(p, target, pitr.exclusive, p.tli == b);
                    if lo && hi {
                        hit.push(p);
                    } else if hi {
                        gap.push(p);
                    }
                }
                match hit.len() {
                    1 => {
                        let p = hit[0];
                        let why = if all.len() == 1 {
                            format!("timeline {}: the backup's own; no other history branches off after it", p.tli)
                        } else {
                            format!("timeline {}: the only history whose own transactions span the target ({})", p.tli, range(p))
                        };
                        (p.tli, why)
                    }
                    0 if gap.is_empty() => {
                        return Err(too_late(target, &all.iter().collect::<Vec<_>>()))
                    }
                    0 => {
                        // Between histories: valid only where the parent ended at the branch.
                        let clean: Vec<&&Piece> = gap
                            .iter()
                            .filter(|p| p.parent_went_on == Some(false))
                            .collect();
                        if clean.len() == 1 {
                            let p = clean[0];
                            (p.tli, format!("timeline {}: the target falls between the end of its parent and its first transaction, and the parent has nothing past the switch", p.tli))
                        } else {
                            let list: Vec<String> = all
                                .iter()
                                .map(|p| format!("timeline {}: {}", p.tli, range(p)))
                                .collect();
                            return Err(format!(
                                "the target falls between histories: {}. No timeline has a transaction to stop at right after it; choose a target inside one of them, or pick the history with pg_pitr.timeline and an lsn target",
                                list.join("; ")
                            ));
                        }
                    }
                    _ => {
                        let list: Vec<String> = hit
                            .iter()
                            .map(|p| format!("timeline {}: {}", p.tli, range(p)))
                            .collect();
                        return Err(format!(
                            "the target is ambiguous: after backup {} the history branched and {} each hold it ({}). Following the default (latest) timeline could silently recover a different history; choose one with pg_pitr.timeline: {}",
                            backup.label,
                            hit.iter().map(|p| format!("timeline {}", p.tli)).collect::<Vec<_>>().join(" and "),
                            list.join("; "),
                            hit.iter().map(|p| p.tli.to_string()).collect::<Vec<_>>().join(" or ")
                        ));
                    }
                }
            }
        }
    };
    let (tli, why_timeline) = chosen;
    if let Some(refusal) = hole(pitr, &backup, archive, dumps, tli) {
        return Err(refusal);
    }
    let timeline = match (&pitr.target, pitr.timeline) {
        (_, Some(Timeline::Latest)) | (Target::Latest, None) => Timeline::Latest,
        _ => id_of(tli),
    };
    let expect = match &pitr.target {
        Target::Latest => match all
            .iter()
            .find(|p| p.tli == tli)
            .and_then(|p| p.last.clone())
        {
            Some(x) => format!(
                "the end of the archived WAL (newest transaction {} at {})",
                x.xid,
                x.time.utc()
            ),
            None => "the end of the archived WAL".into(),
        },
        Target::Immediate => format!(
            "the end of backup {} (LSN {})",
            backup.label,
            backup.stop_lsn().map(|l| l.to_string()).unwrap_or_default()
        ),
        t => format!(
            "{}{}",
            t.describe(),
            if pitr.exclusive {
                ", excluded"
            } else {
                ", included"
            }
        ),
    };
    Ok(Decision {
        backup,
        timeline,
        timeline_id: tli,
        window,
        why_timeline,
        expect,
    })
}

const TOO_LATE: &str = "Recovery would end before the target.";
const NOT_SEEN: &str = "pgplay cannot tell which history it was created on";

/// A segment missing from the archive on the way to the target stops recovery there:
/// refuse unless the target is known to lie before it.
fn hole(pitr: &Pitr, backup: &Backup, a: &Archive, dumps: &Dumps, tli: u32) -> Option<String> {
    let start = backup.start_lsn().unwrap_or(Lsn(0));
    let path = a.path_segments(tli, start);
    let i = path.iter().position(|s| !a.files.contains_key(s))?;
    let gap = path[i];
    let gap_start = gap.start(a.seg_size);
    if pitr.target == Target::Immediate && backup.stop_lsn().is_some_and(|s| s < gap_start) {
        return None;
    }
    let last_read = i
        .checked_sub(1)
        .and_then(|j| dumps.get(&(a.id.clone(), path[j])));
    let before: Vec<&XactEnd> = last_read
        .map(|d| d.xacts.iter().collect())
        .unwrap_or_default();
    let last = before.iter().max_by_key(|x| x.lsn);
    let reachable = match &pitr.target {
        Target::Lsn(l) => *l < gap_start,
        Target::Time(t) => last.is_some_and(|x| {
            if pitr.exclusive {
                x.time.micros >= t.micros
            } else {
                x.time.micros > t.micros
            }
        }),
        Target::Xid(x) => before.iter().any(|e| e.xid >= *x),
        Target::Name(n) => {
            last_read.is_some_and(|d| d.restore_points.iter().any(|(rp, _)| rp == n))
        }
        Target::Latest | Target::Immediate => false,
    };
    if reachable {
        return None;
    }
    let upto = match last {
        Some(x) => format!(
            "recovery can go as far as transaction {} at {} (LSN {})",
            x.xid,
            x.time.utc(),
            x.lsn
        ),
        None => format!("recovery can go as far as LSN {gap_start}"),
    };
    Some(format!(
        "WAL segment {} (timeline {}) is missing from the repository, on the way from backup {} to the target: {upto} and no further{}. Was archiving off, or pointed at another repository, for a while? Choose a target before it, or a backup set taken after it (pg_pitr.set)",
        gap.name(a.seg_size),
        gap.tli,
        backup.label,
        if pitr.target == Target::Latest {
            " (a recovery to the latest point would stop there and promote, silently losing what comes after)"
        } else {
            ""
        }
    ))
}

fn too_late(target: &Target, pieces: &[&Piece]) -> String {
    let newest = pieces
        .iter()
        .filter_map(|p| p.last.as_ref().map(|l| (p.tli, l)))
        .max_by_key(|(_, l)| l.time.micros);
    let end = match newest {
        Some((tli, l)) => format!(
            "the newest archived transaction is {} at {} (LSN {}, timeline {tli})",
            l.xid,
            l.time.utc(),
            l.lsn
        ),
        None => "no archived transaction was found after the backup".into(),
    };
    let what = match target {
        Target::Time(t) => format!("the target time {} lies after the archived WAL", t.utc()),
        Target::Lsn(l) => format!(
            "LSN {l} lies beyond the archived WAL (last record at {})",
            pieces
                .iter()
                .filter_map(|p| p.last_rec)
                .max()
                .map(|l| l.to_string())
                .unwrap_or("-".into())
        ),
        Target::Xid(x) => format!("transaction {x} is not in the archived WAL after the backup"),
        other => format!("{} cannot be reached", other.describe()),
    };
    format!(
        "{what}: {end}. {TOO_LATE} WAL still in the primary's pg_wal is not in the repository yet: run `SELECT pg_switch_wal()` on it (pgplay does this itself when it restores the cluster's own running primary), or pick an earlier target"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pitr::info::tests::PG_META;
    use crate::pitr::wal::{parse_history, Archive};
    use crate::pitr::DEFAULT_SEG_SIZE;

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
        let d = run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 15)), &c)
            .unwrap_or_else(|e| panic!("{e}"));
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
        let d = run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 5)), &c)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.timeline_id, 1);
        // In the abandoned future of timeline 1 (742 at T0+30 exists only there): timeline 1.
        let d = run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 25)), &c)
            .unwrap_or_else(|e| panic!("{e}"));
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
        let dec = run(&format!("pg_pitr: {{time: '{}'}}", at(T0 + 50)), &c)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dec.timeline, Timeline::Id(2), "{}", dec.why_timeline);
        let dec = run("pg_pitr: {lsn: 0/3002000}", &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dec.timeline, Timeline::Id(2));
    }
}
