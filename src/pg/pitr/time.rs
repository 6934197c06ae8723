//! Recovery target times: the `timestamptz` forms a DBA writes, checked before anything runs.
//!
//! PostgreSQL reads `recovery_target_time` as a timestamp with time zone. A time written
//! without a zone is taken in the *server's* time zone, which pgplay cannot know before it
//! connects and which a tired person at 3 a.m. may not know either: a restore an hour off is
//! a failed restore. So pgplay requires the zone (`+00`, `+08:00`, `-0530`, `Z`, `UTC`, `GMT`)
//! and hands PostgreSQL one unambiguous UTC form. Accepted shapes:
//! `YYYY-MM-DD HH:MM[:SS[.fraction]]<zone>` with a space or `T` between date and time and an
//! optional space before the zone. Fractions are rounded to microseconds, as PostgreSQL does.

use std::fmt;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

/// A validated target time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgTime {
    /// As the user wrote it.
    pub text: String,
    /// Microseconds since the Unix epoch, UTC.
    pub micros: i64,
}

impl PgTime {
    pub fn parse(text: &str) -> Result<PgTime, String> {
        let s = text.trim();
        let hint = "write it as YYYY-MM-DD HH:MM:SS+TZ, e.g. '2026-07-13 10:00:00+00' (fractional seconds allowed)";
        let fail =
            |why: &str| format!("'{text}' is not a time PostgreSQL can recover to: {why}; {hint}");
        let bytes = s.as_bytes();
        let num = |from: usize, len: usize| -> Option<u32> {
            let part = s.get(from..from + len)?;
            if part.chars().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (Some(year), Some(month), Some(day)) = (num(0, 4), num(5, 2), num(8, 2)) else {
            return Err(fail("the date must be YYYY-MM-DD"));
        };
        if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return Err(fail("the date must be YYYY-MM-DD"));
        }
        let date = NaiveDate::from_ymd_opt(year as i32, month, day)
            .ok_or_else(|| fail(&format!("{year:04}-{month:02}-{day:02} is not a date")))?;
        match bytes.get(10) {
            Some(b' ') | Some(b'T') | Some(b't') => {}
            None => return Err(fail("it has no time of day and no time zone")),
            _ => {
                return Err(fail(
                    "the date must be followed by a space or 'T' and the time",
                ))
            }
        }
        let (Some(hour), Some(minute)) = (num(11, 2), num(14, 2)) else {
            return Err(fail("the time of day must be HH:MM[:SS]"));
        };
        if bytes.get(13) != Some(&b':') {
            return Err(fail("the time of day must be HH:MM[:SS]"));
        }
        let mut pos = 16;
        let mut second = 0;
        let mut micros: u64 = 0;
        if bytes.get(pos) == Some(&b':') {
            second = num(pos + 1, 2).ok_or_else(|| fail("the seconds must be two digits"))?;
            pos += 3;
            if bytes.get(pos) == Some(&b'.') {
                let digits: String = s[pos + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                if digits.is_empty() {
                    return Err(fail("a '.' must be followed by the fraction of a second"));
                }
                pos += 1 + digits.len();
                // Round to microseconds, as PostgreSQL does.
                let padded = format!("{digits:0<7}");
                let whole: u64 = padded[..6].parse().unwrap_or(0);
                let next = padded.as_bytes()[6] - b'0';
                micros = whole + u64::from(next >= 5);
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(fail(&format!(
                "{hour:02}:{minute:02}:{second:02} is not a time of day"
            )));
        }
        let zone = s[pos..].trim_start();
        if zone.is_empty() {
            return Err(format!(
                "'{text}' has no time zone: PostgreSQL would read it in the server's time zone, which pgplay cannot check; add the offset you mean, e.g. '{s}+00' for UTC"
            ));
        }
        let offset_secs = parse_zone(zone).map_err(|why| fail(&why))?;
        let naive = date
            .and_hms_opt(hour, minute, second)
            .ok_or_else(|| fail("not a time of day"))?;
        let local_secs = naive.and_utc().timestamp();
        let total = (local_secs - offset_secs) as i128 * 1_000_000 + micros as i128;
        let micros = i64::try_from(total).map_err(|_| fail("out of range"))?;
        Ok(PgTime {
            text: text.to_string(),
            micros,
        })
    }

    /// From an epoch in seconds (pgBackRest's backup timestamps).
    pub fn from_epoch(secs: i64) -> PgTime {
        let micros = secs.saturating_mul(1_000_000);
        let mut t = PgTime {
            text: String::new(),
            micros,
        };
        t.text = t.utc();
        t
    }

    /// From pg_waldump's `2026-12-03 08:02:24.951056 UTC`.
    pub fn from_waldump(text: &str) -> Option<PgTime> {
        let body = text.trim().strip_suffix("UTC")?.trim_end();
        PgTime::parse(&format!("{body}+00")).ok()
    }

    /// The time in UTC, as given to PostgreSQL: `2026-07-13 10:00:00.5+00`.
    pub fn utc(&self) -> String {
        let secs = self.micros.div_euclid(1_000_000);
        let frac = self.micros.rem_euclid(1_000_000);
        let dt: DateTime<Utc> = Utc
            .timestamp_opt(secs, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut out = dt.format("%Y-%m-%d %H:%M:%S").to_string();
        if frac != 0 {
            let f = format!("{frac:06}");
            out.push('.');
            out.push_str(f.trim_end_matches('0'));
        }
        out.push_str("+00");
        out
    }

    /// Seconds since the epoch (fractional).
    pub fn secs(&self) -> f64 {
        self.micros as f64 / 1e6
    }
}

impl fmt::Display for PgTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.utc())
    }
}

/// A zone suffix → its offset east of UTC, in seconds.
fn parse_zone(zone: &str) -> Result<i64, String> {
    match zone.to_ascii_uppercase().as_str() {
        "Z" | "UTC" | "GMT" | "+00" | "-00" | "UT" | "ZULU" => return Ok(0),
        _ => {}
    }
    let sign = match zone.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => {
            return Err(format!(
                "the time zone '{zone}' is not an offset: write +HH, +HH:MM or UTC (zone names are not resolved)"
            ))
        }
    };
    let body = &zone[1..];
    let digits: String = body.chars().filter(|c| *c != ':').collect();
    let colons = body.matches(':').count();
    let ok_shape = digits.chars().all(|c| c.is_ascii_digit())
        && match (digits.len(), colons) {
            (1, 0) | (2, 0) | (4, 0) => true,
            (4, 1) => body.as_bytes().get(2) == Some(&b':'),
            (6, 2) => {
                body.as_bytes().get(2) == Some(&b':') && body.as_bytes().get(5) == Some(&b':')
            }
            _ => false,
        };
    if !ok_shape {
        return Err(format!(
            "the time zone offset '{zone}' must be +HH, +HHMM or +HH:MM"
        ));
    }
    let (h, rest) = if digits.len() == 1 {
        (digits.parse::<i64>().unwrap_or(0), "")
    } else {
        (digits[..2].parse::<i64>().unwrap_or(0), &digits[2..])
    };
    let m = rest
        .get(..2)
        .and_then(|x| x.parse::<i64>().ok())
        .unwrap_or(0);
    let sec = rest
        .get(2..4)
        .and_then(|x| x.parse::<i64>().ok())
        .unwrap_or(0);
    if h > 15 || m > 59 || sec > 59 {
        return Err(format!(
            "the time zone offset '{zone}' is out of range (at most ±15:59)"
        ));
    }
    Ok(sign * (h * 3600 + m * 60 + sec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> String {
        PgTime::parse(s).map(|t| t.utc()).unwrap_or_else(|e| e)
    }

    #[test]
    fn accepted_forms_normalise_to_utc() {
        assert_eq!(utc("2026-07-13 10:00:00+00"), "2026-07-13 10:00:00+00");
        assert_eq!(utc("2026-07-13T10:00:00Z"), "2026-07-13 10:00:00+00");
        assert_eq!(utc("2026-07-13 18:00:00+08"), "2026-07-13 10:00:00+00");
        assert_eq!(utc("2026-07-13 18:00:00+08:00"), "2026-07-13 10:00:00+00");
        assert_eq!(utc("2026-07-13 04:30:00-0530"), "2026-07-13 10:00:00+00");
        assert_eq!(utc("2026-07-13 10:00 UTC"), "2026-07-13 10:00:00+00");
        assert_eq!(
            utc("2026-07-13 10:00:00.123456+00"),
            "2026-07-13 10:00:00.123456+00"
        );
        assert_eq!(utc("2026-07-13 10:00:00.5 GMT"), "2026-07-13 10:00:00.5+00");
        // rounded to microseconds like PostgreSQL
        assert_eq!(
            utc("2026-07-13 10:00:00.1234567+00"),
            "2026-07-13 10:00:00.123457+00"
        );
        assert_eq!(utc("2026-07-14 01:00:00+15"), "2026-07-13 10:00:00+00");
        assert_eq!(utc("2024-02-29 00:00:00+00"), "2024-02-29 00:00:00+00");
    }

    #[test]
    fn refused_with_reason() {
        for (bad, why) in [
            ("2026-07-13 10:00:00", "no time zone"),
            ("2026-07-13", "no time of day"),
            ("yesterday", "YYYY-MM-DD"),
            ("2026-02-30 10:00:00+00", "is not a date"),
            ("2026-07-13 25:00:00+00", "not a time of day"),
            ("2026-07-13 10:61:00+00", "not a time of day"),
            ("2026-07-13 10:00:00+16", "out of range"),
            ("2026-07-13 10:00:00 Asia/Shanghai", "not an offset"),
            ("2026-07-13 10:00:00.+00", "fraction"),
            ("2026-07-13 10:00:00+123", "must be +HH"),
            ("2026/07/13 10:00:00+00", "YYYY-MM-DD"),
        ] {
            match PgTime::parse(bad) {
                Ok(t) => panic!("{bad} accepted as {t}"),
                Err(e) => assert!(e.contains(why), "{bad}: {e}"),
            }
        }
    }

    #[test]
    fn waldump_and_epoch() {
        let t = PgTime::from_waldump("2026-12-03 08:02:24.951056 UTC");
        assert_eq!(
            t.map(|t| t.utc()),
            Some("2026-12-03 08:02:24.951056+00".into())
        );
        assert_eq!(
            PgTime::from_epoch(1796284924).utc(),
            "2026-12-03 08:02:04+00"
        );
    }
}
