//! Python's methods on strings, lists and dicts (`s.startswith('x')`, `d.items()`).
//!
//! Ansible templates call them because Jinja2 runs on Python objects. minijinja-contrib's
//! `pycompat` provides most of them; this overlay is asked first and answers where Python (and
//! so Ansible) behaves differently from pycompat, or where pycompat has no such method:
//! - `dict.items/keys/values` are lists (pycompat's lazy iterables have no `length`);
//! - `list.index` (not in pycompat);
//! - `str.find`/`rfind` count characters, not bytes; `str.count('')` is `len + 1` (pycompat
//!   never returns from an empty needle);
//! - `str.split` refuses an empty separator, and without one keeps the rest after `maxsplit`
//!   as Python does;
//! - `str.title` capitalises after any non-letter (`1st` → `1St`);
//! - `str.is*` are false for an empty string and `islower`/`isupper` ignore non-letters;
//!   `isdigit` stays ASCII digits only, as before (Python also counts `²`; Rust has no such
//!   class, and ports or versions are ASCII).
//!
//! Everything else falls through to pycompat (`upper`, `strip`, `replace`, `startswith`,
//! `join`, `format`, `dict.get`, `list.count`, ...).

use minijinja::value::{from_args, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};
use minijinja_contrib::pycompat;

use super::invalid;

/// The unknown-method callback: the overlay, then pycompat.
pub(super) fn python_method(
    state: &State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let answer = match value.kind() {
        ValueKind::Map => map_method(value, method, args)?,
        ValueKind::Seq => seq_method(value, method, args)?,
        ValueKind::String => str_method(value.as_str().unwrap_or(""), method, args)?,
        _ => None,
    };
    match answer {
        Some(v) => Ok(v),
        None => pycompat::unknown_method_callback(state, value, method, args),
    }
}

fn map_method(value: &Value, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    let keys = || value.try_iter();
    Ok(Some(match method {
        "items" => {
            let () = from_args(args)?;
            let mut out = Vec::new();
            for k in keys()? {
                let v = value.get_item(&k)?;
                out.push(Value::from(vec![k, v]));
            }
            Value::from(out)
        }
        "keys" => {
            let () = from_args(args)?;
            Value::from(keys()?.collect::<Vec<_>>())
        }
        "values" => {
            let () = from_args(args)?;
            let mut out = Vec::new();
            for k in keys()? {
                out.push(value.get_item(&k)?);
            }
            Value::from(out)
        }
        _ => return Ok(None),
    }))
}

fn seq_method(value: &Value, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    if method != "index" {
        return Ok(None);
    }
    let (needle,): (Value,) = from_args(args)?;
    value
        .try_iter()?
        .position(|v| v == needle)
        .map(|i| Some(Value::from(i)))
        .ok_or_else(|| invalid(format!("{needle} is not in list")))
}

fn str_method(s: &str, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    let char_index = |byte: Option<usize>| byte.map_or(-1, |i| s[..i].chars().count() as i64);
    let non_empty_all = |f: fn(char) -> bool| Value::from(!s.is_empty() && s.chars().all(f));
    let no_args = |args: &[Value]| from_args::<()>(args);
    Ok(Some(match method {
        "find" => {
            let (sub,): (String,) = from_args(args)?;
            Value::from(char_index(s.find(&sub)))
        }
        "rfind" => {
            let (sub,): (String,) = from_args(args)?;
            Value::from(char_index(s.rfind(&sub)))
        }
        "count" => {
            let (sub,): (String,) = from_args(args)?;
            Value::from(if sub.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(&sub).count()
            })
        }
        "split" => {
            let (sep, maxsplit): (Option<String>, Option<i64>) = from_args(args)?;
            let maxsplit = maxsplit.and_then(|m| usize::try_from(m).ok());
            py_split(s, sep.as_deref(), maxsplit)?
        }
        "title" => {
            no_args(args)?;
            let mut out = String::with_capacity(s.len());
            let mut start = true;
            for c in s.chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.extend(c.to_lowercase());
                }
                start = !c.is_alphabetic();
            }
            Value::from(out)
        }
        "isdigit" => {
            no_args(args)?;
            non_empty_all(|c| c.is_ascii_digit())
        }
        "isnumeric" => {
            no_args(args)?;
            non_empty_all(char::is_numeric)
        }
        "isalpha" => {
            no_args(args)?;
            non_empty_all(char::is_alphabetic)
        }
        "isalnum" => {
            no_args(args)?;
            non_empty_all(char::is_alphanumeric)
        }
        "isspace" => {
            no_args(args)?;
            non_empty_all(char::is_whitespace)
        }
        "isupper" => {
            no_args(args)?;
            Value::from(s.chars().any(char::is_alphabetic) && !s.chars().any(char::is_lowercase))
        }
        "islower" => {
            no_args(args)?;
            Value::from(s.chars().any(char::is_alphabetic) && !s.chars().any(char::is_uppercase))
        }
        _ => return Ok(None),
    }))
}

/// Python's `str.split(sep=None, maxsplit=-1)`.
fn py_split(s: &str, sep: Option<&str>, maxsplit: Option<usize>) -> Result<Value, Error> {
    let limit = maxsplit.map_or(usize::MAX, |m| m.saturating_add(1));
    let words: Vec<&str> = match sep {
        Some("") => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "split: empty separator",
            ))
        }
        Some(sep) => s.splitn(limit, sep).collect(),
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if out.len() + 1 == limit {
                    out.push(rest);
                    break;
                }
                match rest.find(char::is_whitespace) {
                    Some(i) => {
                        out.push(&rest[..i]);
                        rest = rest[i..].trim_start();
                    }
                    None => {
                        out.push(rest);
                        break;
                    }
                }
            }
            out
        }
    };
    Ok(Value::from(
        words.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}
