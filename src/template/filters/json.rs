//! Python's `json.dumps` for `to_json`, `to_nice_json`, and `from_json`.
//!
//! Ansible's JSON filters are `json.dumps` with Python's separators (`", "` and `": "`),
//! `ensure_ascii` on by default, and for `to_nice_json` an indent of 4 and sorted keys. A file
//! that pgplay writes with these filters should be byte-for-byte the one Ansible writes, so
//! serde_json gets a formatter that follows Python's choices.

use minijinja::value::{Kwargs, Value};
use minijinja::Error;

use super::{check_defined, invalid, text, to_json_value};

/// Writes JSON like Python's `json.dumps`: `", "`/`": "` separators when
/// compact, `","` plus newline and indent when indented, and optionally
/// non-ASCII escaped as `\uXXXX` (`ensure_ascii`).
struct PyJsonFormatter {
    indent: Option<Vec<u8>>,
    level: usize,
    has_value: bool,
    ensure_ascii: bool,
}

impl PyJsonFormatter {
    fn newline<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        if let Some(ind) = &self.indent {
            w.write_all(b"\n")?;
            for _ in 0..self.level {
                w.write_all(ind)?;
            }
        }
        Ok(())
    }

    fn separator<W: ?Sized + std::io::Write>(&self, w: &mut W, first: bool) -> std::io::Result<()> {
        if !first {
            w.write_all(if self.indent.is_some() { b"," } else { b", " })?;
        }
        self.newline(w)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, c: &[u8]) -> std::io::Result<()> {
        self.level = self.level.saturating_sub(1);
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(c)
    }
}

impl serde_json::ser::Formatter for PyJsonFormatter {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.separator(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.separator(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if !self.ensure_ascii {
            return w.write_all(fragment.as_bytes());
        }
        let mut buf = [0u16; 2];
        for c in fragment.chars() {
            if c.is_ascii() && c != '\x7f' {
                w.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut buf) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

fn sort_json_keys(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> =
                std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut val) in entries {
                sort_json_keys(&mut val);
                map.insert(k, val);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_json_keys),
        _ => {}
    }
}

/// Python `json.dumps(value, indent=..., sort_keys=..., ensure_ascii=...)`.
fn python_json_dumps(
    value: &serde_json::Value,
    indent: Option<usize>,
    sort_keys: bool,
    ensure_ascii: bool,
) -> Result<String, Error> {
    let mut value = value.clone();
    if sort_keys {
        sort_json_keys(&mut value);
    }
    let fmt = PyJsonFormatter {
        indent: indent.map(|n| vec![b' '; n]),
        level: 0,
        has_value: false,
        ensure_ascii,
    };
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&value, &mut ser)
        .map_err(|e| invalid(format!("cannot serialize to JSON: {e}")))?;
    String::from_utf8(out).map_err(|e| invalid(format!("JSON output is not UTF-8: {e}")))
}

fn json_filter(
    value: &Value,
    kwargs: Kwargs,
    default_indent: Option<usize>,
    default_sort: bool,
) -> Result<String, Error> {
    check_defined(value)?;
    let indent = match kwargs.get::<Option<usize>>("indent")? {
        Some(n) => Some(n),
        None => default_indent,
    };
    let sort_keys = kwargs
        .get::<Option<bool>>("sort_keys")?
        .unwrap_or(default_sort);
    let ensure_ascii = kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    python_json_dumps(&to_json_value(value)?, indent, sort_keys, ensure_ascii)
}

/// `to_json`: compact Python-style JSON (`{"a": 1, "b": [1, 2]}`).
pub(super) fn to_json_filter(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    json_filter(value, kwargs, None, false)
}

/// `to_nice_json(indent=4)`: indented, keys sorted, as Ansible.
pub(super) fn to_nice_json_filter(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    json_filter(value, kwargs, Some(4), true)
}

pub(super) fn from_json_filter(value: &Value) -> Result<Value, Error> {
    let s = text(value)?;
    let parsed: serde_json::Value =
        serde_json::from_str(&s).map_err(|e| invalid(format!("from_json: invalid JSON: {e}")))?;
    Ok(Value::from_serialize(&parsed))
}
