//! Which WAL segments preflight reads with pg_waldump: where each timeline a backup can lead
//! to begins and ends, and, for a history whose first segments hold no transaction, on
//! until one shows.

use super::Dumps;
use crate::pg::pitr::info::Backup;
use crate::pg::pitr::wal::Archive;
use crate::pg::pitr::{Lsn, Segment};

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
pub(super) fn family_after(a: &Archive, b: u32, stop: Lsn) -> Vec<u32> {
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
