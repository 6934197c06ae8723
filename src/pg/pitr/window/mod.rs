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

mod pieces;
mod segments;

use pieces::*;
pub use segments::{segments_after_quiet_starts, segments_for};

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
                    let list = ranges(&all);
                    return Err(format!(
                        "restore point {n:?} may lie on more than one history: after backup {} the WAL branched ({}), and {NOT_SEEN}; choose one with pg_pitr.timeline",
                        backup.label,
                        list
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
                            let list = ranges(&all);
                            return Err(format!(
                                "the target falls between histories: {}. No timeline has a transaction to stop at right after it; choose a target inside one of them, or pick the history with pg_pitr.timeline and an lsn target",
                                list
                            ));
                        }
                    }
                    _ => {
                        let list = ranges(hit.iter().copied());
                        return Err(format!(
                            "the target is ambiguous: after backup {} the history branched and {} each hold it ({}). Following the default (latest) timeline could silently recover a different history; choose one with pg_pitr.timeline: {}",
                            backup.label,
                            hit.iter().map(|p| format!("timeline {}", p.tli)).collect::<Vec<_>>().join(" and "),
                            list,
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
mod tests;
