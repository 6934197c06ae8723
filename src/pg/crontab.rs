//! Validation of system crontab lines (`/etc/crontab` format: schedule, user, command).
//!
//! cron rejects a whole file when one line is malformed (and, on Debian, when a user is
//! unknown), silently dropping every backup schedule on that node. So each `node_crontab` line
//! is checked before any host is touched: five schedule fields with valid ranges or an
//! `@keyword`, a user name, and a non-empty single-line command.

/// One checked `/etc/crontab` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronEntry {
    pub line: String,
    pub user: String,
}

const KEYWORDS: &[&str] = &[
    "@reboot",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Check a system crontab line (with a user field). `with_user` is false for a user's own
/// crontab (`crontab -u postgres`), whose lines have no user field.
pub fn parse_line(line: &str, with_user: bool) -> Result<CronEntry, String> {
    if line.contains(['\n', '\r']) {
        return Err("a crontab entry must be a single line (it contains a line break)".into());
    }
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Err("the entry is empty".into());
    }
    let mut rest = trimmed;
    let mut next = |what: &str| -> Result<&str, String> {
        let s = rest.trim_start();
        if s.is_empty() {
            return Err(format!("missing {what}"));
        }
        let end = s.find([' ', '\t']).unwrap_or(s.len());
        rest = &s[end..];
        Ok(&s[..end])
    };
    let first = next("schedule")?;
    if first.starts_with('@') {
        if !KEYWORDS.contains(&first) {
            return Err(format!(
                "unknown schedule keyword '{first}' (expected one of {})",
                KEYWORDS.join(", ")
            ));
        }
    } else {
        let fields = [
            ("minute", 0, 59, None),
            ("hour", 0, 23, None),
            ("day of month", 1, 31, None),
            ("month", 1, 12, Some(MONTHS)),
            ("day of week", 0, 7, Some(DAYS)),
        ];
        for (i, (name, lo, hi, names)) in fields.iter().enumerate() {
            let value = if i == 0 {
                first
            } else {
                next(&format!("the {name} field (a schedule has 5 fields)"))?
            };
            check_field(value, *lo, *hi, *names)
                .map_err(|e| format!("{name} field '{value}': {e}"))?;
        }
    }
    let user = if with_user {
        let user = next("the user field (/etc/crontab lines are: schedule user command)")?;
        if !valid_user(user) {
            return Err(format!(
                "'{user}' is not a valid user name (expected: schedule, user, command)"
            ));
        }
        user.to_string()
    } else {
        String::new()
    };
    if rest.trim().is_empty() {
        return Err("missing the command after the schedule and user".into());
    }
    // cron turns an unescaped % into a newline and feeds the rest to the command's stdin:
    // `date +%F` silently becomes `date +`.
    let unescaped = rest
        .char_indices()
        .any(|(i, c)| c == '%' && !rest[..i].ends_with('\\'));
    if unescaped {
        return Err(
            "the command has an unescaped % (cron turns it into a newline); write \\% instead"
                .into(),
        );
    }
    Ok(CronEntry {
        line: trimmed.to_string(),
        user,
    })
}

fn valid_user(user: &str) -> bool {
    let mut chars = user.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && user.len() <= 32
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn check_field(value: &str, lo: u32, hi: u32, names: Option<&[&str]>) -> Result<(), String> {
    for item in value.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(n) if n >= 1 && n <= hi.max(1) => {}
                _ => return Err(format!("bad step '{step}'")),
            }
        }
        if range == "*" {
            continue;
        }
        let atom = |s: &str| -> Result<u32, String> {
            if let Ok(n) = s.parse::<u32>() {
                if n < lo || n > hi {
                    return Err(format!("{n} is outside {lo}-{hi}"));
                }
                return Ok(n);
            }
            if let Some(names) = names {
                let lower = s.to_ascii_lowercase();
                if let Some(i) = names.iter().position(|n| *n == lower) {
                    return Ok(i as u32 + lo);
                }
            }
            Err(format!("'{s}' is not a number in {lo}-{hi}"))
        };
        match range.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (atom(a)?, atom(b)?);
                if a > b {
                    return Err(format!("range {a}-{b} runs backwards"));
                }
            }
            None => {
                atom(range)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn accepts_pigsty_examples() {
        for line in [
            "00 01 * * * postgres /pg/bin/pg-backup full",
            "00 01 * * 1 postgres /pg/bin/pg-backup full",
            "00 01 * * 2,3,4,5,6,7 postgres /pg/bin/pg-backup",
            "*/5 * * * * root echo hi > /dev/null",
            "@daily root /usr/bin/true",
            "0 0 1-15/2 jan-mar mon root x",
            r"0 0 * * * root date +\%F > /tmp/x",
        ] {
            assert!(parse_line(line, true).is_ok(), "{line}");
        }
        assert!(parse_line("00 01 * * * /pg/bin/pg-backup full", false).is_ok());
    }

    #[test]
    fn refuses_bad_lines() {
        for (line, needle) in [
            ("00 01 * * postgres /pg/bin/pg-backup", "day of week"),
            ("61 01 * * * postgres x", "minute"),
            ("00 25 * * * postgres x", "hour"),
            ("00 01 * * *", "user"),
            ("00 01 * * * postgres", "command"),
            ("@sometimes root x", "keyword"),
            ("0 0 * * * root x\n* * * * * root evil", "single line"),
            ("0 0 * * * 'root' x", "user"),
            ("0 0 5-1 * * root x", "backwards"),
            ("0 0 * * * root date +%F > /tmp/x", "unescaped %"),
            ("", "empty"),
        ] {
            match parse_line(line, true) {
                Ok(_) => panic!("accepted {line:?}"),
                Err(e) => assert!(e.contains(needle), "{line:?}: {e}"),
            }
        }
    }
}
