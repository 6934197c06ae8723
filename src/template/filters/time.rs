//! Time: Ansible's `strftime` filter and function.
//!
//! `'%Y-%m-%d' | strftime(epoch, utc)` is Python's `time.strftime` over `localtime` (or
//! `gmtime`); chrono formats it, and a format chrono cannot read is an error instead of text
//! that silently differs from Python's.

use std::fmt::Write as _;

use minijinja::value::{from_args, Kwargs, Rest, Value, ValueKind};
use minijinja::Error;

use super::{check_defined, invalid, py_truthy, text};

/// Python's `time.strftime(fmt, localtime(second))` (or `gmtime` when `utc`).
fn format_time(fmt: &str, second: Option<f64>, utc: bool) -> Result<String, Error> {
    use chrono::format::{Item, StrftimeItems};
    use chrono::{Local, TimeZone, Utc};
    if StrftimeItems::new(fmt).any(|i| matches!(i, Item::Error)) {
        return Err(invalid(format!("strftime: invalid format {fmt:?}")));
    }
    let instant = match second {
        Some(s) => {
            if !s.is_finite() {
                return Err(invalid("strftime: epoch must be a finite number"));
            }
            let secs = s.floor();
            let nanos = (((s - secs) * 1e9) as u32).min(999_999_999);
            Utc.timestamp_opt(secs as i64, nanos)
                .single()
                .ok_or_else(|| invalid(format!("strftime: epoch {s} out of range")))?
        }
        None => Utc::now(),
    };
    let mut out = String::new();
    let res = if utc {
        write!(out, "{}", instant.format(fmt))
    } else {
        write!(out, "{}", instant.with_timezone(&Local).format(fmt))
    };
    res.map_err(|_| invalid(format!("strftime: cannot format with {fmt:?}")))?;
    Ok(out)
}

fn epoch_arg(v: &Value) -> Result<Option<f64>, Error> {
    check_defined(v)?;
    if v.is_none() {
        return Ok(None);
    }
    match v.kind() {
        ValueKind::Number => f64::try_from(v.clone())
            .map(Some)
            .map_err(|e| invalid(format!("strftime: {e}"))),
        ValueKind::String => v
            .as_str()
            .unwrap_or("")
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| invalid("strftime: epoch must be a number")),
        k => Err(invalid(format!(
            "strftime: epoch must be a number, got {k}"
        ))),
    }
}

fn strftime_impl(fmt: &Value, args: &[Value]) -> Result<String, Error> {
    let fmt = text(fmt)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(args)?;
    let second = match pos.first() {
        Some(v) => epoch_arg(v)?,
        None => match kwargs.get::<Option<Value>>("second")? {
            Some(v) => epoch_arg(&v)?,
            None => None,
        },
    };
    let utc = match pos.get(1) {
        Some(v) => py_truthy(v),
        None => kwargs.get::<Option<bool>>("utc")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    format_time(&fmt, second, utc)
}

/// `'%Y-%m-%d' | strftime(second=None, utc=False)`.
pub(super) fn strftime_filter(fmt: &Value, args: Rest<Value>) -> Result<String, Error> {
    strftime_impl(fmt, &args)
}

/// `strftime(fmt, second=None, utc=False)` as a function.
pub(super) fn strftime_function(fmt: Value, args: Rest<Value>) -> Result<String, Error> {
    strftime_impl(&fmt, &args)
}
