//! Ansible's variants of Jinja2's core filters, and the truth of a conditional.
//!
//! Ansible overrides a few of Jinja2's filters with Python-flavoured ones (`default` with a
//! `boolean` switch, `bool` reading "yes"/"on", `int` with a base and Python's parsing, `round`
//! with a method, `min`/`max` with `attribute=`), and Pigsty's templates depend on those
//! differences. Booleans follow Ansible's table, owned by `crate::base::truth`.

use std::cmp::Ordering;

use minijinja::value::{from_args, Kwargs, Rest, Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::{check_defined, get_path, invalid, iter_values, py_truthy, text};
use crate::base::truth::{number_boolean, text_boolean};

/// Ansible's `boolean(value, strict=True)` for a template value: `None` when the value is not
/// a boolean spelling (the `none` value included).
pub(super) fn strict_bool(v: &Value) -> Option<bool> {
    match v.kind() {
        ValueKind::Bool => Some(v.is_true()),
        ValueKind::Number => f64::try_from(v.clone()).ok().and_then(number_boolean),
        ValueKind::String => v.as_str().and_then(text_boolean),
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

/// The `bool` filter: Ansible's `boolean(value, strict=False)`, where anything that is not a
/// boolean spelling (none included) is false.
pub(super) fn bool_filter(value: &Value) -> Result<bool, Error> {
    check_defined(value)?;
    Ok(strict_bool(value).unwrap_or(false))
}

/// `default(default_value='', boolean=False)`: replaces undefined values, and
/// with `boolean` true also falsy ones.
pub(super) fn default(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
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

/// The `default` argument, given first or by name; `fallback` when neither.
fn default_arg(pos: &[Value], kwargs: &Kwargs, fallback: Value) -> Result<Value, Error> {
    match pos.first() {
        Some(v) => Ok(v.clone()),
        None => Ok(kwargs.get::<Option<Value>>("default")?.unwrap_or(fallback)),
    }
}

/// `int(default=0, base=10)`, as Jinja2: "0755" is 755, "3.9" is 3, garbage
/// gives the default.
pub(super) fn int_filter(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    check_defined(value)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let default = default_arg(pos, &kwargs, Value::from(0))?;
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
pub(super) fn float_filter(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    check_defined(value)?;
    let (pos, kwargs): (&[Value], Kwargs) = from_args(&args)?;
    let default = default_arg(pos, &kwargs, Value::from(0.0))?;
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
pub(super) fn round_filter(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
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

pub(super) fn min_filter(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    extreme(value, kwargs, Ordering::Less, "min")
}

pub(super) fn max_filter(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    extreme(value, kwargs, Ordering::Greater, "max")
}

/// `mandatory(msg=None)`: fails when the value is undefined.
pub(super) fn mandatory(value: &Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or_else(|| "mandatory variable not defined".to_string()),
        ));
    }
    Ok(value.clone())
}

/// `ternary(true_val, false_val, none_val=None)`.
pub(super) fn ternary(
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
