//! Regular expressions: the `regex_*` filters and the `match`, `search` and `regex` tests.
//!
//! Ansible's are Python's `re` module; pgplay's use the `regex` crate, whose syntax covers
//! what templates write (classes, groups, named groups `(?P<name>...)`). What differs is
//! translated: Python's replacement syntax (`\1`, `\g<name>`) and `re.match` anchoring.

use minijinja::value::{from_args, Kwargs, Rest, Value};
use minijinja::Error;
use regex::{Regex, RegexBuilder};

use super::{invalid, py_truthy, text};

fn build_regex(pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| invalid(format!("invalid regular expression {pattern:?}: {e}")))
}

fn regex_flags(kwargs: &Kwargs) -> Result<(bool, bool), Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    Ok((ignorecase, multiline))
}

/// Translates a Python `re.sub` replacement (`\1`, `\g<name>`, `\g<1>`,
/// `\n`, `\\`) into the `regex` crate's syntax (`${1}`, `${name}`, `$$`).
fn translate_replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len() + 8);
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d @ '1'..='9') => {
                    let mut num = String::from(d);
                    if let Some(&d2) = chars.peek() {
                        if d2.is_ascii_digit() {
                            num.push(d2);
                            chars.next();
                        }
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') if chars.peek() == Some(&'<') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('f') => out.push('\x0c'),
                Some('v') => out.push('\x0b'),
                Some('a') => out.push('\x07'),
                Some('0') => out.push('\0'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    if other == '$' {
                        out.push_str("$$");
                    } else {
                        out.push(other);
                    }
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// `regex_replace(pattern, replacement='', ignorecase=False, multiline=False, count=0)`.
pub(super) fn regex_replace(value: &Value, args: Rest<Value>) -> Result<String, Error> {
    let s = text(value)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let pattern = match pos.first() {
        Some(v) => text(v)?,
        None => kwargs.get::<String>("pattern")?,
    };
    let replacement = match pos.get(1) {
        Some(v) => text(v)?,
        None => kwargs
            .get::<Option<String>>("replacement")?
            .unwrap_or_default(),
    };
    let mut ignorecase = pos.get(2).is_some_and(py_truthy);
    let mut multiline = pos.get(3).is_some_and(py_truthy);
    let (ic, ml) = regex_flags(&kwargs)?;
    ignorecase |= ic;
    multiline |= ml;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let re = build_regex(&pattern, ignorecase, multiline)?;
    let rep = translate_replacement(&replacement);
    Ok(re.replacen(&s, count, rep.as_str()).into_owned())
}

/// `regex_search(pattern, '\\1', '\\g<name>', ignorecase=, multiline=)`:
/// the match (or none), or with group arguments the list of those groups.
pub(super) fn regex_search(
    value: &Value,
    pattern: String,
    args: Rest<Value>,
) -> Result<Value, Error> {
    let s = text(value)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let (ignorecase, multiline) = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    enum Group {
        Index(usize),
        Name(String),
    }
    let mut groups = Vec::new();
    for arg in pos {
        let a = text(arg)?;
        if let Some(name) = a.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            groups.push(match name.parse::<usize>() {
                Ok(i) => Group::Index(i),
                Err(_) => Group::Name(name.to_string()),
            });
        } else if let Some(idx) = a.strip_prefix('\\').and_then(|r| r.parse::<usize>().ok()) {
            groups.push(Group::Index(idx));
        } else {
            return Err(invalid(format!("regex_search: unknown argument {a:?}")));
        }
    }
    let re = build_regex(&pattern, ignorecase, multiline)?;
    let Some(caps) = re.captures(&s) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let m = match &g {
            Group::Index(i) => {
                if *i >= caps.len() {
                    return Err(invalid(format!("regex_search: no such group {i}")));
                }
                caps.get(*i)
            }
            Group::Name(n) => {
                if !re.capture_names().any(|c| c == Some(n.as_str())) {
                    return Err(invalid(format!("regex_search: no such group {n:?}")));
                }
                caps.name(n)
            }
        };
        out.push(m.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

/// `regex_findall(pattern, multiline=False, ignorecase=False)`: like
/// Python's `re.findall` (whole matches, the group, or lists of groups).
pub(super) fn regex_findall(
    value: &Value,
    pattern: String,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let s = text(value)?;
    let (ignorecase, multiline) = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let re = build_regex(&pattern, ignorecase, multiline)?;
    let ngroups = re.captures_len() - 1;
    let mut out = Vec::new();
    for caps in re.captures_iter(&s) {
        let group = |i: usize| Value::from(caps.get(i).map_or("", |m| m.as_str()));
        out.push(match ngroups {
            0 => group(0),
            1 => group(1),
            n => Value::from((1..=n).map(group).collect::<Vec<_>>()),
        });
    }
    Ok(Value::from(out))
}

/// `regex_escape(re_type='python')`.
pub(super) fn regex_escape(value: &Value, re_type: Option<String>) -> Result<String, Error> {
    let s = text(value)?;
    let special: &str = match re_type.as_deref().unwrap_or("python") {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c",
        "posix_basic" => "[].^$*\\",
        other => {
            return Err(invalid(format!(
                "regex_escape: regex type {other:?} not implemented"
            )))
        }
    };
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

// ----- tests -----------------------------------------------------------------

fn regex_test(
    value: &Value,
    pattern: &str,
    ignorecase: bool,
    multiline: bool,
    match_type: &str,
) -> Result<bool, Error> {
    let s = text(value)?;
    let full = match match_type {
        "match" => format!(r"\A(?:{pattern})"),
        "fullmatch" => format!(r"\A(?:{pattern})\z"),
        "search" => pattern.to_string(),
        other => {
            return Err(invalid(format!(
                "regex test: match_type must be match, search or fullmatch, got {other:?}"
            )))
        }
    };
    // Compile the bare pattern first so errors quote what the user wrote.
    build_regex(pattern, ignorecase, multiline)?;
    Ok(build_regex(&full, ignorecase, multiline)?.is_match(&s))
}

/// `is match(pattern, ignorecase=, multiline=)`: anchored at the start (re.match).
pub(super) fn test_match(value: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let (ic, ml) = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    regex_test(value, &pattern, ic, ml, "match")
}

/// `is search(pattern, ignorecase=, multiline=)`: anywhere in the string.
pub(super) fn test_search(value: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let (ic, ml) = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    regex_test(value, &pattern, ic, ml, "search")
}

/// `is regex(pattern, ignorecase=False, multiline=False, match_type='search')`.
pub(super) fn test_regex(value: &Value, args: Rest<Value>) -> Result<bool, Error> {
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let pattern = match pos.first() {
        Some(v) => text(v)?,
        None => kwargs.get::<String>("pattern")?,
    };
    let ignorecase = match pos.get(1) {
        Some(v) => py_truthy(v),
        None => kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
    };
    let multiline = match pos.get(2) {
        Some(v) => py_truthy(v),
        None => kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
    };
    let match_type = match pos.get(3) {
        Some(v) => text(v)?,
        None => kwargs
            .get::<Option<String>>("match_type")?
            .unwrap_or_else(|| "search".to_string()),
    };
    kwargs.assert_all_used()?;
    regex_test(value, &pattern, ignorecase, multiline, &match_type)
}
