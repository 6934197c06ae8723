//! Log sequence numbers and WAL segment names, as PostgreSQL writes them.
//!
//! An LSN is a 64-bit WAL position printed as two hex halves (`0/4001C80`). WAL lives in
//! segment files named `TTTTTTTTXXXXXXXXYYYYYYYY` (timeline, then the segment number split
//! in two), so the archive's file names tell which part of which timeline it holds.

use std::fmt;

/// A WAL position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    /// Parse `X/Y` (1-8 hex digits each, any case).
    pub fn parse(text: &str) -> Result<Lsn, String> {
        let bad = || {
            format!("'{text}' is not an LSN: write two hexadecimal numbers of 1-8 digits separated by '/', e.g. 0/4001C80")
        };
        let (hi, lo) = text.trim().split_once('/').ok_or_else(bad)?;
        let half = |s: &str| {
            if s.is_empty() || s.len() > 8 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad());
            }
            u32::from_str_radix(s, 16).map_err(|_| bad())
        };
        Ok(Lsn(((half(hi)? as u64) << 32) | half(lo)? as u64))
    }

    /// The segment number holding this position.
    pub fn segno(self, seg_size: u64) -> u64 {
        self.0 / seg_size.max(1)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Default WAL segment size (16 MiB), Pigsty's and PostgreSQL's.
pub const DEFAULT_SEG_SIZE: u64 = 16 * 1024 * 1024;

/// A WAL segment: timeline and segment number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Segment {
    pub tli: u32,
    pub segno: u64,
}

impl Segment {
    /// Parse a 24-hex-digit segment file name (an archive file name may carry a
    /// `-<sha1>.gz` suffix: only the first 24 characters are read).
    pub fn parse(name: &str, seg_size: u64) -> Option<Segment> {
        let head = name.get(..24)?;
        if !head.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        if name.len() > 24 && !name[24..].starts_with('-') {
            return None; // .history, .backup, .partial and other files
        }
        let tli = u32::from_str_radix(&head[..8], 16).ok()?;
        let log = u64::from_str_radix(&head[8..16], 16).ok()?;
        let seg = u64::from_str_radix(&head[16..24], 16).ok()?;
        Some(Segment {
            tli,
            segno: log * segs_per_xlogid(seg_size) + seg,
        })
    }

    /// The file name PostgreSQL gives this segment.
    pub fn name(self, seg_size: u64) -> String {
        let per = segs_per_xlogid(seg_size);
        format!(
            "{:08X}{:08X}{:08X}",
            self.tli,
            self.segno / per,
            self.segno % per
        )
    }

    /// The first position in the segment.
    pub fn start(self, seg_size: u64) -> Lsn {
        Lsn(self.segno * seg_size)
    }
}

fn segs_per_xlogid(seg_size: u64) -> u64 {
    0x1_0000_0000 / seg_size.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_round_trip_and_order() {
        let l = Lsn::parse("0/4001c80").unwrap_or(Lsn(0));
        assert_eq!(l.0, 0x4001C80);
        assert_eq!(l.to_string(), "0/4001C80");
        assert_eq!(Lsn::parse("1/0").map(|l| l.0), Ok(1 << 32));
        assert!(Lsn::parse("0/3000000") < Lsn::parse("0/4001C80"));
        for bad in [
            "",
            "0",
            "0/",
            "/1",
            "G/1",
            "123456789/0",
            "0/1/2",
            "0x1/2",
            " / ",
        ] {
            assert!(Lsn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segment_names() {
        let s = Segment::parse("000000010000000000000003-f0a86bac.gz", DEFAULT_SEG_SIZE);
        assert_eq!(s, Some(Segment { tli: 1, segno: 3 }));
        let s = Segment::parse("0000000200000001000000FF", DEFAULT_SEG_SIZE);
        assert_eq!(
            s,
            Some(Segment {
                tli: 2,
                segno: 256 + 255
            })
        );
        assert_eq!(
            Segment { tli: 2, segno: 511 }.name(DEFAULT_SEG_SIZE),
            "0000000200000001000000FF"
        );
        assert_eq!(Segment::parse("00000002.history", DEFAULT_SEG_SIZE), None);
        assert_eq!(
            Segment::parse("000000010000000000000002.00000028.backup", DEFAULT_SEG_SIZE),
            None
        );
        assert_eq!(Lsn(0x4001C80).segno(DEFAULT_SEG_SIZE), 4);
    }
}
