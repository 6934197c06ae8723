//! One timeline's own piece of history, as the dumps show it: where it starts, its first
//! and last transactions, whether its parent went on past the branch (an abandoned
//! future), and whether a target lies in it.

use super::segments::family_after;
use super::Dumps;
use crate::pg::pitr::info::Backup;
use crate::pg::pitr::spec::Target;
use crate::pg::pitr::wal::{Archive, XactEnd};
use crate::pg::pitr::Lsn;

/// Facts about one timeline's own piece of history, from the dumps.
#[derive(Clone, Debug, Default)]
pub(super) struct Piece {
    pub(super) tli: u32,
    /// Where the piece starts (the branch point; the backup's end for the backup's timeline).
    pub(super) start: Lsn,
    /// The last transaction before `start` on the parent (None: not found / no parent).
    pub(super) before: Option<XactEnd>,
    /// Transactions of this piece that were read (lsn >= start), in order.
    pub(super) first: Option<XactEnd>,
    pub(super) last: Option<XactEnd>,
    pub(super) last_rec: Option<Lsn>,
    pub(super) max_xid: Option<u32>,
    /// The parent holds transactions past this piece's start (an abandoned future); None when
    /// the parent's WAL there was not read.
    pub(super) parent_went_on: Option<bool>,
    /// Some of this timeline's WAL was read.
    pub(super) known: bool,
}

pub(super) fn xacts_of<'a>(
    dumps: &'a Dumps,
    archive: &'a str,
    tli: u32,
) -> impl Iterator<Item = &'a XactEnd> {
    dumps
        .iter()
        .filter(move |((id, s), _)| id == archive && s.tli == tli)
        .flat_map(|(_, d)| d.xacts.iter())
}

pub(super) fn last_rec_of(dumps: &Dumps, archive: &str, tli: u32) -> Option<Lsn> {
    dumps
        .iter()
        .filter(|((id, s), _)| id == archive && s.tli == tli)
        .filter_map(|(_, d)| d.last)
        .max()
}

pub(super) fn piece(a: &Archive, dumps: &Dumps, tli: u32, start: Lsn) -> Piece {
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
pub(super) fn pieces(a: &Archive, dumps: &Dumps, backup: &Backup, b: u32) -> Vec<Piece> {
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
pub(super) fn holds(p: &Piece, target: &Target, exclusive: bool, is_base: bool) -> (bool, bool) {
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

/// Each history with what it holds, `timeline 1: ...; timeline 2: ...`.
pub(super) fn ranges<'a>(pieces: impl IntoIterator<Item = &'a Piece>) -> String {
    pieces
        .into_iter()
        .map(|p| format!("timeline {}: {}", p.tli, range(p)))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn range(p: &Piece) -> String {
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
