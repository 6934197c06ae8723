//! Ansible's Jinja2 filters, tests and output rules, implemented for minijinja.
//!
//! minijinja ships Jinja2's core filters; Pigsty's playbooks and templates
//! also use Ansible's additions (`regex_replace`, `combine`, `quote`,
//! `to_nice_json`, `version` test, ...) and expect Ansible's variants of a few
//! core ones (`default(x, true)`, `bool` accepting "yes"/"on", `int` with a
//! base, `round` with a method).  Everything here follows the Python
//! implementations' observable behaviour; small helpers (base64, SHA-1, MD5,
//! shell quoting) are written out to avoid extra dependencies.

use std::cmp::Ordering;
use std::fmt::Write as _;

use minijinja::value::{from_args, Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Output, State};
use regex::{Regex, RegexBuilder};

/// Registers every filter, test and function of this module.
pub(crate) fn register(env: &mut Environment<'static>) {
    // Ansible variants of core filters.
    env.add_filter("cron_user", cron_user);
    env.add_filter("pgbackrest_value", pgbackrest_value);
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("bool", bool_filter);
    env.add_filter("int", int_filter);
    env.add_filter("float", float_filter);
    env.add_filter("round", round_filter);
    env.add_filter("min", min_filter);
    env.add_filter("max", max_filter);
    env.add_filter("mandatory", mandatory);
    env.add_filter("ternary", ternary);
    // Serialisation.
    env.add_filter("to_json", to_json_filter);
    env.add_filter("to_nice_json", to_nice_json_filter);
    env.add_filter("from_json", from_json_filter);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    // Regular expressions.
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
    // Dicts and lists.
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("combine", combine);
    env.add_filter("flatten", flatten);
    env.add_filter("union", union);
    env.add_filter("intersect", intersect);
    env.add_filter("difference", difference);
    env.add_filter("symmetric_difference", symmetric_difference);
    env.add_filter("type_debug", type_debug);
    // Paths, shell, hashing, time.
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("quote", quote);
    env.add_filter("hash", hash_filter);
    env.add_filter("checksum", checksum);
    env.add_filter("strftime", strftime_filter);
    env.add_function("strftime", strftime_function);
    env.set_unknown_method_callback(python_method);

    // Tests.
    env.add_test("failed", test_failed);
    env.add_test("failure", test_failed);
    env.add_test("succeeded", test_succeeded);
    env.add_test("success", test_succeeded);
    env.add_test("successful", test_succeeded);
    env.add_test("changed", test_changed);
    env.add_test("change", test_changed);
    env.add_test("skipped", test_skipped);
    env.add_test("skip", test_skipped);
    env.add_test("match", test_match);
    env.add_test("search", test_search);
    env.add_test("regex", test_regex);
    env.add_test("truthy", test_truthy);
    env.add_test("falsy", test_falsy);
    env.add_test("contains", test_contains);
    env.add_test("version", test_version);
    env.add_test("version_compare", test_version);
    env.add_test("sequence", test_sequence);
    env.add_test("subset", test_subset);
    env.add_test("superset", test_superset);
}

// ----- helpers -------------------------------------------------------------

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Strict undefined for filters that take `&Value` (minijinja only checks
/// typed arguments such as `String`).
fn check_defined(v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(Error::from(ErrorKind::UndefinedError))
    } else {
        Ok(())
    }
}

/// String conversion as Python's `to_text`: strings as-is, none as "".
fn text(v: &Value) -> Result<String, Error> {
    check_defined(v)?;
    Ok(match v.as_str() {
        Some(s) => s.to_string(),
        None if v.is_none() => String::new(),
        None => v.to_string(),
    })
}

fn to_json_value(v: &Value) -> Result<serde_json::Value, Error> {
    serde_json::to_value(v).map_err(|e| invalid(format!("value cannot be converted to JSON: {e}")))
}

fn iter_values(v: &Value, what: &str) -> Result<Vec<Value>, Error> {
    check_defined(v)?;
    Ok(v.try_iter()
        .map_err(|_| invalid(format!("{what} expects a list, got {}", v.kind())))?
        .collect())
}

/// Looks up `a.b.0` style attribute paths (used by `attribute=` kwargs).
fn get_path(v: &Value, path: &str) -> Result<Value, Error> {
    let mut cur = v.clone();
    for part in path.split('.') {
        let next = cur.get_attr(part)?;
        cur = if next.is_undefined() {
            match part.parse::<usize>() {
                Ok(idx) => cur.get_item_by_index(idx)?,
                Err(_) => next,
            }
        } else {
            next
        };
    }
    Ok(cur)
}

/// Python truthiness (empty string/list/dict, 0 and None are false).
fn py_truthy(v: &Value) -> bool {
    v.is_true()
}

const TRUE_STRINGS: [&str; 6] = ["y", "yes", "on", "1", "true", "t"];
const FALSE_STRINGS: [&str; 7] = ["n", "no", "off", "0", "false", "f", ""];

/// Ansible's `boolean(value, strict=False)`, used by the `bool` filter.
pub(crate) fn ansible_bool(v: &Value) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::Number => f64::try_from(v.clone()).is_ok_and(|f| f == 1.0),
        ValueKind::String => {
            let s = v.as_str().unwrap_or("").trim().to_lowercase();
            TRUE_STRINGS.contains(&s.as_str())
        }
        _ => false,
    }
}

/// Ansible `boolean()` in strict mode: None when the value is not a
/// recognised boolean spelling.
fn strict_bool(v: &Value) -> Option<bool> {
    match v.kind() {
        ValueKind::Bool => Some(v.is_true()),
        ValueKind::Number => match f64::try_from(v.clone()) {
            Ok(1.0) => Some(true),
            Ok(0.0) => Some(false),
            _ => None,
        },
        ValueKind::String => {
            let s = v.as_str().unwrap_or("").trim().to_lowercase();
            if TRUE_STRINGS.contains(&s.as_str()) {
                Some(true)
            } else if FALSE_STRINGS.contains(&s.as_str()) {
                Some(false)
            } else {
                None
            }
        }
        ValueKind::None => Some(false),
        _ => None,
    }
}

/// Truth of a conditional's result (`when:`): boolean spellings in strings
/// are honoured, any other non-empty string is true, everything else by
/// Python truthiness.
pub(crate) fn condition_truth(v: &Value) -> bool {
    if v.kind() == ValueKind::String {
        return strict_bool(v).unwrap_or_else(|| py_truthy(v));
    }
    py_truthy(v)
}

// ----- output --------------------------------------------------------------

/// Ansible's finalize: None prints as "", booleans as True/False, lists and
/// dicts as Python's repr; everything else as minijinja prints it (no
/// escaping, auto-escape is always off).
pub(crate) fn ansible_formatter(
    out: &mut Output,
    state: &State,
    value: &Value,
) -> Result<(), Error> {
    match value.kind() {
        ValueKind::None => Ok(()),
        ValueKind::Bool => Ok(out.write_str(if value.is_true() { "True" } else { "False" })?),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
            let mut s = String::new();
            python_repr(value, &mut s);
            Ok(out.write_str(&s)?)
        }
        ValueKind::Number if !value.is_integer() => match f64::try_from(value.clone()) {
            Ok(f) => Ok(out.write_str(&py_float(f))?),
            Err(_) => minijinja::escape_formatter(out, state, value),
        },
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// Python's `repr()` of a value, as Ansible prints lists and dicts.
pub(crate) fn python_repr(v: &Value, out: &mut String) {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if v.is_true() { "True" } else { "False" }),
        ValueKind::Number if !v.is_integer() => match f64::try_from(v.clone()) {
            Ok(f) => out.push_str(&py_float(f)),
            Err(_) => out.push_str(&v.to_string()),
        },
        ValueKind::String => py_str_repr(v.as_str().unwrap_or(""), out),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            if let Ok(iter) = v.try_iter() {
                for (i, item) in iter.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    python_repr(&item, out);
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(iter) = v.try_iter() {
                for (i, key) in iter.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    python_repr(&key, out);
                    out.push_str(": ");
                    let item = v.get_item(&key).unwrap_or_default();
                    python_repr(&item, out);
                }
            }
            out.push('}');
        }
        _ => out.push_str(&v.to_string()),
    }
}

fn py_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python's float repr (`1.0`, `0.1`, `1e+16`, `inf`, `nan`).
pub(crate) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        return match s.split_once('e') {
            Some((mant, exp)) => {
                let (sign, digits) = match exp.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', exp),
                };
                format!("{mant}e{sign}{digits:0>2}")
            }
            None => s,
        };
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

// ----- core filter variants -------------------------------------------------

/// `default(default_value='', boolean=False)`: replaces undefined values, and
/// with `boolean` true also falsy ones.
fn default(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    if pos.len() > 2 {
        return Err(Error::from(ErrorKind::TooManyArguments));
    }
    let fallback = match pos.first() {
        Some(v) => v.clone(),
        None if kwargs.has("default_value") => kwargs.get::<Value>("default_value")?,
        None => Value::from(""),
    };
    let boolean = match pos.get(1) {
        Some(v) => py_truthy(v),
        None => kwargs
            .get::<Option<Value>>("boolean")?
            .is_some_and(|v| py_truthy(&v)),
    };
    kwargs.assert_all_used()?;
    if value.is_undefined() || (boolean && !py_truthy(value)) {
        Ok(fallback)
    } else {
        Ok(value.clone())
    }
}

fn bool_filter(value: &Value) -> Result<bool, Error> {
    check_defined(value)?;
    Ok(ansible_bool(value))
}

/// Python's `int(s, base)` for strings: surrounding whitespace, sign,
/// underscores and (for the matching base) 0x/0o/0b prefixes allowed.
fn parse_python_int(s: &str, base: u32) -> Option<Value> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (base, digits) = match base {
        0 => {
            if let Some(d) = lower.strip_prefix("0x") {
                (16, d.to_string())
            } else if let Some(d) = lower.strip_prefix("0o") {
                (8, d.to_string())
            } else if let Some(d) = lower.strip_prefix("0b") {
                (2, d.to_string())
            } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().any(|b| b != b'0')
            {
                return None;
            } else {
                (10, lower)
            }
        }
        16 => (16, lower.strip_prefix("0x").unwrap_or(&lower).to_string()),
        8 => (8, lower.strip_prefix("0o").unwrap_or(&lower).to_string()),
        2 => (2, lower.strip_prefix("0b").unwrap_or(&lower).to_string()),
        b => (b, lower),
    };
    let digits = digits.trim_start_matches('_');
    if digits.is_empty() || digits.contains("__") || digits.ends_with('_') {
        return None;
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    let n = i128::from_str_radix(&digits, base).ok()?;
    let n = if neg { -n } else { n };
    Some(match i64::try_from(n) {
        Ok(small) => Value::from(small),
        Err(_) => Value::from(n),
    })
}

/// `int(default=0, base=10)`, as Jinja2: "0755" is 755, "3.9" is 3, garbage
/// gives the default.
fn int_filter(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    check_defined(value)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let default = match pos.first() {
        Some(v) => v.clone(),
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0)),
    };
    let base = match pos.get(1) {
        Some(v) => {
            Some(i64::try_from(v.clone()).map_err(|_| invalid("int: base must be an integer"))?)
        }
        None => kwargs.get::<Option<i64>>("base")?,
    }
    .unwrap_or(10);
    kwargs.assert_all_used()?;
    if base != 0 && !(2..=36).contains(&base) {
        return Err(invalid("int: base must be 0 or between 2 and 36"));
    }
    let base = base as u32;
    let float_to_int = |f: f64| -> Value {
        if f.is_finite() && f.abs() < 9.2e18 {
            Value::from(f.trunc() as i64)
        } else {
            default.clone()
        }
    };
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number if value.is_integer() => value.clone(),
        ValueKind::Number => match f64::try_from(value.clone()) {
            Ok(f) => float_to_int(f),
            Err(_) => default.clone(),
        },
        ValueKind::String => {
            let s = value.as_str().unwrap_or("");
            match parse_python_int(s, base) {
                Some(v) => v,
                None => match s.trim().parse::<f64>() {
                    Ok(f) => float_to_int(f),
                    Err(_) => default.clone(),
                },
            }
        }
        _ => default.clone(),
    })
}

/// `float(default=0.0)`.
fn float_filter(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    check_defined(value)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let default = match pos.first() {
        Some(v) => v.clone(),
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0.0)),
    };
    kwargs.assert_all_used()?;
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone())
            .map(Value::from)
            .unwrap_or(default),
        ValueKind::String => value
            .as_str()
            .unwrap_or("")
            .trim()
            .replace('_', "")
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(default),
        _ => default,
    })
}

/// `round(precision=0, method='common')`; `common` rounds half to even like
/// Python's `round`.
fn round_filter(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    check_defined(value)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let precision = match pos.first() {
        Some(v) => {
            i64::try_from(v.clone()).map_err(|_| invalid("round: precision must be an integer"))?
        }
        None => kwargs.get::<Option<i64>>("precision")?.unwrap_or(0),
    };
    let method = match pos.get(1) {
        Some(v) => text(v)?,
        None => kwargs
            .get::<Option<String>>("method")?
            .unwrap_or_else(|| "common".to_string()),
    };
    kwargs.assert_all_used()?;
    if value.kind() != ValueKind::Number {
        return Err(invalid(format!("round: cannot round a {}", value.kind())));
    }
    if !matches!(method.as_str(), "common" | "floor" | "ceil") {
        return Err(invalid("round: method must be 'common', 'ceil' or 'floor'"));
    }
    if value.is_integer() && method == "common" {
        return Ok(value.clone());
    }
    let f = f64::try_from(value.clone()).map_err(|e| invalid(format!("round: {e}")))?;
    let precision = i32::try_from(precision.clamp(-300, 300)).unwrap_or(0);
    let factor = 10f64.powi(precision);
    let scaled = f * factor;
    let r = match method.as_str() {
        "floor" => scaled.floor(),
        "ceil" => scaled.ceil(),
        _ => scaled.round_ties_even(),
    };
    Ok(Value::from(r / factor))
}

fn extreme(value: &Value, kwargs: Kwargs, want: Ordering, what: &str) -> Result<Value, Error> {
    let attribute: Option<String> = kwargs.get("attribute")?;
    let _case_sensitive: Option<bool> = kwargs.get("case_sensitive")?;
    kwargs.assert_all_used()?;
    let items = iter_values(value, what)?;
    let key = |v: &Value| -> Result<Value, Error> {
        match &attribute {
            Some(a) => get_path(v, a),
            None => Ok(v.clone()),
        }
    };
    let mut best: Option<(Value, Value)> = None;
    for item in items {
        let k = key(&item)?;
        let better = match &best {
            None => true,
            Some((bk, _)) => k.cmp(bk) == want,
        };
        if better {
            best = Some((k, item));
        }
    }
    Ok(best.map(|(_, v)| v).unwrap_or(Value::UNDEFINED))
}

fn min_filter(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    extreme(value, kwargs, Ordering::Less, "min")
}

fn max_filter(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    extreme(value, kwargs, Ordering::Greater, "max")
}

/// `mandatory(msg=None)`: fails when the value is undefined.
fn mandatory(value: &Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or_else(|| "mandatory variable not defined".to_string()),
        ));
    }
    Ok(value.clone())
}

/// `ternary(true_val, false_val, none_val=None)`.
fn ternary(
    value: &Value,
    true_val: Value,
    false_val: Value,
    none_val: Option<Value>,
) -> Result<Value, Error> {
    check_defined(value)?;
    Ok(match none_val {
        Some(n) if value.is_none() => n,
        _ if py_truthy(value) => true_val,
        _ => false_val,
    })
}

// ----- JSON and base64 -----------------------------------------------------

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
pub(crate) fn python_json_dumps(
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
fn to_json_filter(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    json_filter(value, kwargs, None, false)
}

/// `to_nice_json(indent=4)`: indented, keys sorted, as Ansible.
fn to_nice_json_filter(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    json_filter(value, kwargs, Some(4), true)
}

fn from_json_filter(value: &Value) -> Result<Value, Error> {
    let s = text(value)?;
    let parsed: serde_json::Value =
        serde_json::from_str(&s).map_err(|e| invalid(format!("from_json: invalid JSON: {e}")))?;
    Ok(Value::from_serialize(&parsed))
}

const B64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, s) in sextets.iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(B64_ALPHABET[*s as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(crate) fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut sextets = Vec::with_capacity(s.len());
    let mut padding = 0;
    for c in s.chars() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == '=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return Err("data after padding".to_string());
        }
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            _ => return Err(format!("invalid character {c:?}")),
        };
        sextets.push(v);
    }
    if sextets.len() % 4 == 1 || padding > 2 {
        return Err("incorrect padding".to_string());
    }
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let mut n = 0u32;
        for (i, s) in chunk.iter().enumerate() {
            n |= s << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    Ok(out)
}

fn b64encode(value: &Value) -> Result<String, Error> {
    Ok(base64_encode(text(value)?.as_bytes()))
}

fn b64decode(value: &Value) -> Result<String, Error> {
    let bytes = base64_decode(&text(value)?).map_err(|e| invalid(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("b64decode: decoded data is not valid UTF-8"))
}

// ----- regular expressions ---------------------------------------------------

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
pub(crate) fn translate_replacement(repl: &str) -> String {
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
fn regex_replace(value: &Value, args: Rest<Value>) -> Result<String, Error> {
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
fn regex_search(value: &Value, pattern: String, args: Rest<Value>) -> Result<Value, Error> {
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
fn regex_findall(value: &Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
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
fn regex_escape(value: &Value, re_type: Option<String>) -> Result<String, Error> {
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

// ----- dicts and lists -------------------------------------------------------

fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    check_defined(value)?;
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".to_string());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".to_string());
    kwargs.assert_all_used()?;
    if value.kind() != ValueKind::Map {
        return Err(invalid(format!(
            "dict2items requires a dictionary, got {}",
            value.kind()
        )));
    }
    let mut out = Vec::new();
    for k in value.try_iter()? {
        let v = value.get_item(&k)?;
        out.push(Value::from_iter([
            (Value::from(key_name.as_str()), k),
            (Value::from(value_name.as_str()), v),
        ]));
    }
    Ok(Value::from(out))
}

fn items2dict(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".to_string());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".to_string());
    kwargs.assert_all_used()?;
    let mut pairs = Vec::new();
    for item in iter_values(value, "items2dict")? {
        if item.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "items2dict requires a list of dictionaries, got a {}",
                item.kind()
            )));
        }
        let k = item.get_attr(&key_name)?;
        let v = item.get_attr(&value_name)?;
        if k.is_undefined() || v.is_undefined() {
            return Err(invalid(format!(
                "items2dict: each item needs '{key_name}' and '{value_name}' keys"
            )));
        }
        pairs.push((k, v));
    }
    Ok(Value::from_iter(pairs))
}

fn merge_lists(
    x: Vec<serde_json::Value>,
    y: Vec<serde_json::Value>,
    mode: &str,
) -> Vec<serde_json::Value> {
    match mode {
        "keep" => x,
        "append" => x.into_iter().chain(y).collect(),
        "prepend" => y.into_iter().chain(x).collect(),
        "append_rp" => {
            let mut out: Vec<_> = x.into_iter().filter(|i| !y.contains(i)).collect();
            out.extend(y);
            out
        }
        "prepend_rp" => {
            let rest: Vec<_> = x.into_iter().filter(|i| !y.contains(i)).collect();
            y.into_iter().chain(rest).collect()
        }
        _ => y,
    }
}

/// Ansible's `merge_hash`.
fn merge_hash(
    x: &mut serde_json::Map<String, serde_json::Value>,
    y: serde_json::Map<String, serde_json::Value>,
    recursive: bool,
    list_merge: &str,
) {
    for (k, yv) in y {
        let merged = match (x.remove(&k), yv) {
            (Some(serde_json::Value::Object(mut xm)), serde_json::Value::Object(ym))
                if recursive =>
            {
                merge_hash(&mut xm, ym, recursive, list_merge);
                serde_json::Value::Object(xm)
            }
            (Some(serde_json::Value::Array(xl)), serde_json::Value::Array(yl)) => {
                serde_json::Value::Array(merge_lists(xl, yl, list_merge))
            }
            (_, yv) => yv,
        };
        x.insert(k, merged);
    }
}

/// `combine(*dicts, recursive=False, list_merge='replace')`; lists of dicts
/// are flattened one level, as Ansible does.
fn combine(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    check_defined(value)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".to_string());
    kwargs.assert_all_used()?;
    if !matches!(
        list_merge.as_str(),
        "replace" | "keep" | "append" | "prepend" | "append_rp" | "prepend_rp"
    ) {
        return Err(invalid(format!(
            "combine: unknown list_merge {list_merge:?}"
        )));
    }
    let mut dicts = Vec::new();
    for term in std::iter::once(value).chain(pos.iter()) {
        check_defined(term)?;
        if term.kind() == ValueKind::Seq {
            dicts.extend(term.try_iter()?);
        } else {
            dicts.push(term.clone());
        }
    }
    let mut acc = serde_json::Map::new();
    for d in dicts {
        match to_json_value(&d)? {
            serde_json::Value::Object(m) => merge_hash(&mut acc, m, recursive, &list_merge),
            serde_json::Value::Null => {}
            other => {
                return Err(invalid(format!(
                    "combine: expected dictionaries, got {other}"
                )))
            }
        }
    }
    Ok(Value::from_serialize(&acc))
}

fn flatten_into(items: Vec<Value>, levels: Option<i64>, skip_nulls: bool, out: &mut Vec<Value>) {
    for item in items {
        if skip_nulls && (item.is_none() || matches!(item.as_str(), Some("None" | "null"))) {
            continue;
        }
        let descend = item.kind() == ValueKind::Seq && levels.is_none_or(|l| l >= 1);
        if descend {
            let inner: Vec<Value> = item.try_iter().map(|i| i.collect()).unwrap_or_default();
            flatten_into(inner, levels.map(|l| l - 1), skip_nulls, out);
        } else {
            out.push(item);
        }
    }
}

/// `flatten(levels=None, skip_nulls=True)`.
fn flatten(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let levels = match pos.first() {
        Some(v) if !v.is_none() => Some(
            i64::try_from(v.clone()).map_err(|_| invalid("flatten: levels must be an integer"))?,
        ),
        Some(_) => None,
        None => kwargs.get::<Option<i64>>("levels")?,
    };
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(iter_values(value, "flatten")?, levels, skip_nulls, &mut out);
    Ok(Value::from(out))
}

fn unique_push(out: &mut Vec<Value>, v: Value) {
    if !out.contains(&v) {
        out.push(v);
    }
}

fn union(a: &Value, b: &Value) -> Result<Value, Error> {
    let mut out = Vec::new();
    for v in iter_values(a, "union")?
        .into_iter()
        .chain(iter_values(b, "union")?)
    {
        unique_push(&mut out, v);
    }
    Ok(Value::from(out))
}

fn intersect(a: &Value, b: &Value) -> Result<Value, Error> {
    let other = iter_values(b, "intersect")?;
    let mut out = Vec::new();
    for v in iter_values(a, "intersect")? {
        if other.contains(&v) {
            unique_push(&mut out, v);
        }
    }
    Ok(Value::from(out))
}

fn difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let other = iter_values(b, "difference")?;
    let mut out = Vec::new();
    for v in iter_values(a, "difference")? {
        if !other.contains(&v) {
            unique_push(&mut out, v);
        }
    }
    Ok(Value::from(out))
}

fn symmetric_difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let left = iter_values(a, "symmetric_difference")?;
    let right = iter_values(b, "symmetric_difference")?;
    let mut out = Vec::new();
    for v in left.iter().filter(|v| !right.contains(v)) {
        unique_push(&mut out, v.clone());
    }
    for v in right.iter().filter(|v| !left.contains(v)) {
        unique_push(&mut out, v.clone());
    }
    Ok(Value::from(out))
}

/// Python type name of a value (`str`, `int`, `list`, `dict`, ...).
fn type_debug(value: &Value) -> Result<&'static str, Error> {
    check_defined(value)?;
    Ok(match value.kind() {
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    })
}

// ----- paths, shell, hashing, time ----------------------------------------------

/// Python's `os.path.basename`.
fn basename(path: String) -> String {
    match path.rfind('/') {
        Some(i) => path[i + 1..].to_string(),
        None => path,
    }
}

/// Python's `os.path.dirname`.
fn dirname(path: String) -> String {
    let head = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

/// POSIX shell quoting: safe words unchanged (as Python's `shlex.quote`),
/// everything else single-quoted with `'` written as `'\''`.
pub(crate) fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".to_string();
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn quote(value: &Value) -> Result<String, Error> {
    Ok(shell_quote(&text(value)?))
}

/// Hex digest of `data` with the named algorithm.
pub(crate) fn hexdigest(algo: &str, data: &[u8]) -> Result<String, Error> {
    use sha2::Digest;
    Ok(match algo.to_ascii_lowercase().as_str() {
        "sha1" => hex::encode(sha1(data)),
        "md5" => hex::encode(md5(data)),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        other => {
            return Err(invalid(format!(
                "hash: unsupported hash type {other:?} (md5, sha1, sha224, sha256, sha384, sha512)"
            )))
        }
    })
}

/// `hash(hashtype='sha1')`.
fn hash_filter(value: &Value, hashtype: Option<String>) -> Result<String, Error> {
    hexdigest(
        hashtype.as_deref().unwrap_or("sha1"),
        text(value)?.as_bytes(),
    )
}

/// `checksum`: SHA-1 hex digest, as Ansible.
fn checksum(value: &Value) -> Result<String, Error> {
    hexdigest("sha1", text(value)?.as_bytes())
}

/// Message padding shared by SHA-1 (big-endian length) and MD5 (little-endian).
fn md_pad(data: &[u8], big_endian: bool) -> Vec<u8> {
    let bits = (data.len() as u64).wrapping_mul(8);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&if big_endian {
        bits.to_be_bytes()
    } else {
        bits.to_le_bytes()
    });
    msg
}

/// SHA-1 (FIPS 180-4); only for Ansible's `checksum`/`hash('sha1')`.
pub(crate) fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    for block in md_pad(data, true).chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hv, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hv = hv.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

/// MD5 (RFC 1321); only for Ansible's `hash('md5')` (e.g. PostgreSQL md5 passwords).
pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((f64::from(i + 1)).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut h: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for block in md_pad(data, false).chunks_exact(64) {
        let mut m = [0u32; 16];
        for (i, word) in block.chunks_exact(4).enumerate() {
            m[i] = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        }
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i {
                0..=15 => ((b & c) | (!b & d), i),
                16..=31 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                32..=47 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        for (hv, v) in h.iter_mut().zip([a, b, c, d]) {
            *hv = hv.wrapping_add(v);
        }
    }
    let mut out = [0u8; 16];
    for (i, v) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    out
}

/// Python's `time.strftime(fmt, localtime(second))` (or `gmtime` when `utc`).
pub(crate) fn format_time(fmt: &str, second: Option<f64>, utc: bool) -> Result<String, Error> {
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
fn strftime_filter(fmt: &Value, args: Rest<Value>) -> Result<String, Error> {
    strftime_impl(fmt, &args)
}

/// `strftime(fmt, second=None, utc=False)` as a function.
fn strftime_function(fmt: Value, args: Rest<Value>) -> Result<String, Error> {
    strftime_impl(&fmt, &args)
}

// ----- Python methods ---------------------------------------------------------------

fn str_list(items: impl IntoIterator<Item = impl Into<String>>) -> Value {
    Value::from(
        items
            .into_iter()
            .map(|s| Value::from(s.into()))
            .collect::<Vec<_>>(),
    )
}

/// Python's `str.split(sep=None, maxsplit=-1)`.
fn py_split(s: &str, sep: Option<&str>, maxsplit: Option<usize>) -> Result<Value, Error> {
    let limit = maxsplit.map_or(usize::MAX, |m| m.saturating_add(1));
    match sep {
        Some("") => Err(invalid("split: empty separator")),
        Some(sep) => Ok(str_list(s.splitn(limit, sep))),
        None => {
            let mut out: Vec<String> = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if out.len() + 1 == limit {
                    out.push(rest.to_string());
                    break;
                }
                match rest.find(char::is_whitespace) {
                    Some(i) => {
                        out.push(rest[..i].to_string());
                        rest = rest[i..].trim_start();
                    }
                    None => {
                        out.push(rest.to_string());
                        break;
                    }
                }
            }
            Ok(str_list(out))
        }
    }
}

fn affixes(v: &Value) -> Result<Vec<String>, Error> {
    if v.kind() == ValueKind::Seq {
        v.try_iter()?.map(|x| text(&x)).collect()
    } else {
        Ok(vec![text(v)?])
    }
}

/// Methods of Python's `str`, `dict` and `list` that Ansible templates call
/// (`d.items()`, `s.startswith('x')`, `s.split(',')`, ...), for the values
/// minijinja has no such method on.
fn python_method(
    _state: &State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let unknown = || Error::from(ErrorKind::UnknownMethod);
    match value.kind() {
        ValueKind::Map => match method {
            "items" => {
                let _: () = from_args(args)?;
                let mut out = Vec::new();
                for k in value.try_iter()? {
                    let v = value.get_item(&k)?;
                    out.push(Value::from(vec![k, v]));
                }
                Ok(Value::from(out))
            }
            "keys" => {
                let _: () = from_args(args)?;
                Ok(Value::from(value.try_iter()?.collect::<Vec<_>>()))
            }
            "values" => {
                let _: () = from_args(args)?;
                let mut out = Vec::new();
                for k in value.try_iter()? {
                    out.push(value.get_item(&k)?);
                }
                Ok(Value::from(out))
            }
            "get" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                let v = value.get_item(&key)?;
                Ok(if v.is_undefined() {
                    default.unwrap_or(Value::from(()))
                } else {
                    v
                })
            }
            _ => Err(unknown()),
        },
        ValueKind::Seq => match method {
            "index" => {
                let (needle,): (Value,) = from_args(args)?;
                value
                    .try_iter()?
                    .position(|v| v == needle)
                    .map(Value::from)
                    .ok_or_else(|| invalid(format!("{needle} is not in list")))
            }
            "count" => {
                let (needle,): (Value,) = from_args(args)?;
                Ok(Value::from(
                    value.try_iter()?.filter(|v| *v == needle).count(),
                ))
            }
            _ => Err(unknown()),
        },
        ValueKind::String => {
            let s = value.as_str().unwrap_or("");
            let chars_arg = |args: &[Value]| -> Result<Option<Vec<char>>, Error> {
                let (chars,): (Option<String>,) = from_args(args)?;
                Ok(chars.map(|c| c.chars().collect()))
            };
            let bool_all = |f: fn(char) -> bool| Value::from(!s.is_empty() && s.chars().all(f));
            Ok(match method {
                "upper" => Value::from(s.to_uppercase()),
                "lower" => Value::from(s.to_lowercase()),
                "strip" => Value::from(match chars_arg(args)? {
                    Some(c) => s.trim_matches(&c[..]),
                    None => s.trim(),
                }),
                "lstrip" => Value::from(match chars_arg(args)? {
                    Some(c) => s.trim_start_matches(&c[..]),
                    None => s.trim_start(),
                }),
                "rstrip" => Value::from(match chars_arg(args)? {
                    Some(c) => s.trim_end_matches(&c[..]),
                    None => s.trim_end(),
                }),
                "split" => {
                    let (sep, maxsplit): (Option<String>, Option<i64>) = from_args(args)?;
                    let maxsplit = maxsplit.and_then(|m| usize::try_from(m).ok());
                    py_split(s, sep.as_deref(), maxsplit)?
                }
                "splitlines" => str_list(s.lines()),
                "startswith" => {
                    let (prefix,): (Value,) = from_args(args)?;
                    Value::from(affixes(&prefix)?.iter().any(|p| s.starts_with(p.as_str())))
                }
                "endswith" => {
                    let (suffix,): (Value,) = from_args(args)?;
                    Value::from(affixes(&suffix)?.iter().any(|p| s.ends_with(p.as_str())))
                }
                "replace" => {
                    let (old, new, count): (String, String, Option<i64>) = from_args(args)?;
                    match count.and_then(|c| usize::try_from(c).ok()) {
                        Some(c) => Value::from(s.replacen(&old, &new, c)),
                        None => Value::from(s.replace(&old, &new)),
                    }
                }
                "find" => {
                    let (sub,): (String,) = from_args(args)?;
                    Value::from(s.find(&sub).map_or(-1, |i| s[..i].chars().count() as i64))
                }
                "count" => {
                    let (sub,): (String,) = from_args(args)?;
                    Value::from(if sub.is_empty() {
                        s.chars().count() + 1
                    } else {
                        s.matches(&sub).count()
                    })
                }
                "join" => {
                    let (items,): (Value,) = from_args(args)?;
                    let parts: Vec<String> = iter_values(&items, "join")?
                        .iter()
                        .map(text)
                        .collect::<Result<_, _>>()?;
                    Value::from(parts.join(s))
                }
                "title" | "capitalize" => {
                    let _: () = from_args(args)?;
                    let mut out = String::with_capacity(s.len());
                    let mut start = true;
                    for c in s.chars() {
                        if start {
                            out.extend(c.to_uppercase());
                        } else {
                            out.extend(c.to_lowercase());
                        }
                        start = if method == "title" {
                            !c.is_alphabetic()
                        } else {
                            false
                        };
                    }
                    Value::from(out)
                }
                "isdigit" => bool_all(|c| c.is_ascii_digit()),
                "isalpha" => bool_all(char::is_alphabetic),
                "isalnum" => bool_all(char::is_alphanumeric),
                "isspace" => bool_all(char::is_whitespace),
                "isupper" => Value::from(
                    s.chars().any(char::is_alphabetic) && !s.chars().any(char::is_lowercase),
                ),
                "islower" => Value::from(
                    s.chars().any(char::is_alphabetic) && !s.chars().any(char::is_uppercase),
                ),
                _ => return Err(unknown()),
            })
        }
        _ => Err(unknown()),
    }
}

// ----- tests ---------------------------------------------------------------------

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
fn test_match(value: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let (ic, ml) = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    regex_test(value, &pattern, ic, ml, "match")
}

/// `is search(pattern, ignorecase=, multiline=)`: anywhere in the string.
fn test_search(value: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let (ic, ml) = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    regex_test(value, &pattern, ic, ml, "search")
}

/// `is regex(pattern, ignorecase=False, multiline=False, match_type='search')`.
fn test_regex(value: &Value, args: Rest<Value>) -> Result<bool, Error> {
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

fn truthy_impl(value: &Value, convert_bool: Option<bool>) -> Result<bool, Error> {
    check_defined(value)?;
    if convert_bool.unwrap_or(false) {
        if let Some(b) = strict_bool(value) {
            return Ok(b);
        }
    }
    Ok(py_truthy(value))
}

/// `is truthy(convert_bool=False)`.
fn test_truthy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert_bool = kwargs.get::<Option<bool>>("convert_bool")?;
    kwargs.assert_all_used()?;
    truthy_impl(value, convert_bool)
}

/// `is falsy(convert_bool=False)`.
fn test_falsy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert_bool = kwargs.get::<Option<bool>>("convert_bool")?;
    kwargs.assert_all_used()?;
    truthy_impl(value, convert_bool).map(|b| !b)
}

/// Python's `needle in haystack`.
fn contains_value(haystack: &Value, needle: &Value) -> Result<bool, Error> {
    check_defined(haystack)?;
    match haystack.kind() {
        ValueKind::String => match needle.as_str() {
            Some(n) => Ok(haystack.as_str().unwrap_or("").contains(n)),
            None => Err(invalid("'in <string>' requires a string as left operand")),
        },
        ValueKind::Map => Ok(!haystack.get_item(needle)?.is_undefined()),
        _ => Ok(haystack
            .try_iter()
            .map_err(|_| invalid(format!("cannot search in a {}", haystack.kind())))?
            .any(|v| &v == needle)),
    }
}

/// `seq is contains(value)`.
fn test_contains(seq: &Value, value: &Value) -> Result<bool, Error> {
    contains_value(seq, value)
}

/// Jinja2's `sequence`: anything with a length and item access (strings,
/// lists and dicts).
fn test_sequence(value: &Value) -> bool {
    matches!(
        value.kind(),
        ValueKind::String | ValueKind::Seq | ValueKind::Map
    )
}

fn test_subset(a: &Value, b: &Value) -> Result<bool, Error> {
    let big = iter_values(b, "subset")?;
    Ok(iter_values(a, "subset")?.iter().all(|v| big.contains(v)))
}

fn test_superset(a: &Value, b: &Value) -> Result<bool, Error> {
    let big = iter_values(a, "superset")?;
    Ok(iter_values(b, "superset")?.iter().all(|v| big.contains(v)))
}

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

/// major, minor, patch and optional (`a`|`b`, number) pre-release.
type StrictVersion = (u64, u64, u64, Option<(char, u64)>);

fn strict_version(s: &str) -> Result<StrictVersion, Error> {
    let re = Regex::new(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$")
        .map_err(|e| invalid(e.to_string()))?;
    let caps = re
        .captures(s.trim())
        .ok_or_else(|| invalid(format!("invalid version number {s:?}")))?;
    let num = |i: usize| -> u64 {
        caps.get(i)
            .and_then(|m| m.as_str().parse().ok())
            .unwrap_or(0)
    };
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
    let num = |i: usize| -> u64 {
        caps.get(i)
            .and_then(|m| m.as_str().parse().ok())
            .unwrap_or(0)
    };
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
pub(crate) fn compare_versions(a: &str, b: &str, version_type: &str) -> Result<Ordering, Error> {
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
fn test_version(value: &Value, args: Rest<Value>) -> Result<bool, Error> {
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

/// pgplay's own: the user field of an /etc/crontab line (`00 01 * * * postgres cmd` → postgres).
fn cron_user(line: String) -> Result<String, Error> {
    crate::crontab::parse_line(&line, true)
        .map(|entry| entry.user)
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("crontab line {line:?}: {e}"),
            )
        })
}

/// A flag of a registered task result (`result is failed`), like Ansible's result tests.
fn result_flag(value: &Value, name: &str) -> Result<bool, Error> {
    if value.kind() != minijinja::value::ValueKind::Map {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "the '{name}' test needs a registered task result, got {}",
                value.kind()
            ),
        ));
    }
    let flag = value.get_attr(name)?;
    Ok(!flag.is_undefined() && flag.is_true())
}

fn test_failed(value: &Value) -> Result<bool, Error> {
    result_flag(value, "failed")
}

fn test_succeeded(value: &Value) -> Result<bool, Error> {
    result_flag(value, "failed").map(|f| !f)
}

fn test_changed(value: &Value) -> Result<bool, Error> {
    result_flag(value, "changed")
}

fn test_skipped(value: &Value) -> Result<bool, Error> {
    result_flag(value, "skipped")
}

/// pgplay's own: a pgBackRest option value as its config file wants it (booleans as y/n).
fn pgbackrest_value(value: Value) -> Result<String, Error> {
    if value.kind() == minijinja::value::ValueKind::Bool {
        return Ok(if value.is_true() { "y" } else { "n" }.to_string());
    }
    if value.is_undefined() || value.is_none() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "a pgBackRest option has no value",
        ));
    }
    let text = value.to_string();
    if text.contains(['\n', '\r']) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "a pgBackRest option value must be one line",
        ));
    }
    Ok(text)
}
