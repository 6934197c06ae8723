//! The `version` test: loose, strict and semantic version comparison.
//!
//! `'2.45' is version('2.40', '>=')` must compare as Ansible does: `LooseVersion` by default
//! (numbers compare as numbers, so `1.10 > 1.9`), `StrictVersion` with `strict=True`, SemVer
//! 2.0 precedence with `version_type='semver'`. Backup tools and PostgreSQL versions are
//! compared this way in playbooks.

use std::cmp::Ordering;

use minijinja::value::{from_args, Kwargs, Rest, Value};
use minijinja::Error;
use regex::Regex;

use super::{invalid, py_truthy, text};

/// One component of a loose version (Python's `LooseVersion`).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Num(u128),
    Str(String),
}

fn loose_parts(s: &str) -> Vec<Part> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Digit,
        Lower,
        Dot,
        Other,
    }
    let class = |c: char| {
        if c.is_ascii_digit() {
            Class::Digit
        } else if c.is_ascii_lowercase() {
            Class::Lower
        } else if c == '.' {
            Class::Dot
        } else {
            Class::Other
        }
    };
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut cur_class = Class::Dot;
    let flush = |cur: &mut String, cls: Class, parts: &mut Vec<Part>| {
        if cur.is_empty() || cls == Class::Dot {
            cur.clear();
            return;
        }
        let p = match cls {
            Class::Digit => cur
                .parse::<u128>()
                .map(Part::Num)
                .unwrap_or_else(|_| Part::Str(cur.clone())),
            _ => Part::Str(cur.clone()),
        };
        parts.push(p);
        cur.clear();
    };
    for c in s.chars() {
        let cls = class(c);
        if cls != cur_class || cls == Class::Dot {
            flush(&mut cur, cur_class, &mut parts);
            cur_class = cls;
        }
        cur.push(c);
    }
    flush(&mut cur, cur_class, &mut parts);
    parts
}

/// Capture group `i` as a number (0 when absent).
fn group_number(caps: &regex::Captures<'_>, i: usize) -> u64 {
    caps.get(i)
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or(0)
}

/// major, minor, patch and optional (`a`|`b`, number) pre-release.
type StrictVersion = (u64, u64, u64, Option<(char, u64)>);

fn strict_version(s: &str) -> Result<StrictVersion, Error> {
    let re = Regex::new(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$")
        .map_err(|e| invalid(e.to_string()))?;
    let caps = re
        .captures(s.trim())
        .ok_or_else(|| invalid(format!("invalid version number {s:?}")))?;
    let num = |i: usize| group_number(&caps, i);
    let pre = caps
        .get(4)
        .and_then(|m| m.as_str().chars().next())
        .map(|c| (c, num(5)));
    Ok((num(1), num(2), num(3), pre))
}

fn cmp_strict(a: &str, b: &str) -> Result<Ordering, Error> {
    let (a, b) = (strict_version(a)?, strict_version(b)?);
    let base = (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2));
    Ok(base.then_with(|| match (a.3, b.3) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    }))
}

fn semver(s: &str) -> Result<(u64, u64, u64, Vec<String>), Error> {
    let re = Regex::new(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
        .map_err(|e| invalid(e.to_string()))?;
    let caps = re
        .captures(s.trim())
        .ok_or_else(|| invalid(format!("invalid semantic version {s:?}")))?;
    let num = |i: usize| group_number(&caps, i);
    let pre = caps
        .get(4)
        .map(|m| m.as_str().split('.').map(str::to_string).collect())
        .unwrap_or_default();
    Ok((num(1), num(2), num(3), pre))
}

fn cmp_semver(a: &str, b: &str) -> Result<Ordering, Error> {
    let (a, b) = (semver(a)?, semver(b)?);
    let base = (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2));
    if base != Ordering::Equal {
        return Ok(base);
    }
    Ok(match (a.3.is_empty(), b.3.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            for (x, y) in a.3.iter().zip(b.3.iter()) {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(p), Ok(q)) => p.cmp(&q),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return Ok(o);
                }
            }
            a.3.len().cmp(&b.3.len())
        }
    })
}

/// Compares two version strings with the given scheme.
fn compare_versions(a: &str, b: &str, version_type: &str) -> Result<Ordering, Error> {
    match version_type {
        "loose" => Ok(loose_parts(a).cmp(&loose_parts(b))),
        "strict" => cmp_strict(a, b),
        "semver" | "semantic" => cmp_semver(a, b),
        other => Err(invalid(format!(
            "version: unsupported version_type {other:?} (loose, strict, semver, semantic)"
        ))),
    }
}

/// `is version(other, operator='eq', strict=False, version_type=None)`.
pub(super) fn test_version(value: &Value, args: Rest<Value>) -> Result<bool, Error> {
    let left = text(value)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let right = match pos.first() {
        Some(v) => text(v)?,
        None => kwargs.get::<String>("version")?,
    };
    let operator = match pos.get(1) {
        Some(v) => text(v)?,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".to_string()),
    };
    let strict = match pos.get(2) {
        Some(v) => py_truthy(v),
        None => kwargs.get::<Option<bool>>("strict")?.unwrap_or(false),
    };
    let version_type = match pos.get(3) {
        Some(v) => Some(text(v)?),
        None => kwargs.get::<Option<String>>("version_type")?,
    };
    kwargs.assert_all_used()?;
    let vt = match (version_type, strict) {
        (Some(vt), _) => vt,
        (None, true) => "strict".to_string(),
        (None, false) => "loose".to_string(),
    };
    if left.is_empty() {
        return Err(invalid("version: input version value cannot be empty"));
    }
    if right.is_empty() {
        return Err(invalid("version: version value to compare cannot be empty"));
    }
    let ord = compare_versions(&left, &right, &vt)?;
    Ok(match operator.as_str() {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        other => return Err(invalid(format!("version: invalid operator {other:?}"))),
    })
}
