//! Ansible's `is` tests beyond Jinja2's: task results, truthiness, membership and sets.
//!
//! `result is failed`, `x is truthy(convert_bool=True)`, `list is contains(x)`,
//! `a is subset(b)`: playbooks branch on these, so they follow Ansible's definitions (the
//! regular-expression tests live with the regex filters, `version` in its own file).

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::variants::strict_bool;
use super::{check_defined, invalid, iter_values, py_truthy};

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
pub(super) fn test_truthy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert_bool = kwargs.get::<Option<bool>>("convert_bool")?;
    kwargs.assert_all_used()?;
    truthy_impl(value, convert_bool)
}

/// `is falsy(convert_bool=False)`.
pub(super) fn test_falsy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
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
pub(super) fn test_contains(seq: &Value, value: &Value) -> Result<bool, Error> {
    contains_value(seq, value)
}

/// Jinja2's `sequence`: anything with a length and item access (strings,
/// lists and dicts).
pub(super) fn test_sequence(value: &Value) -> bool {
    matches!(
        value.kind(),
        ValueKind::String | ValueKind::Seq | ValueKind::Map
    )
}

pub(super) fn test_subset(a: &Value, b: &Value) -> Result<bool, Error> {
    let big = iter_values(b, "subset")?;
    Ok(iter_values(a, "subset")?.iter().all(|v| big.contains(v)))
}

pub(super) fn test_superset(a: &Value, b: &Value) -> Result<bool, Error> {
    let big = iter_values(a, "superset")?;
    Ok(iter_values(b, "superset")?.iter().all(|v| big.contains(v)))
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

pub(super) fn test_failed(value: &Value) -> Result<bool, Error> {
    result_flag(value, "failed")
}

pub(super) fn test_succeeded(value: &Value) -> Result<bool, Error> {
    result_flag(value, "failed").map(|f| !f)
}

pub(super) fn test_changed(value: &Value) -> Result<bool, Error> {
    result_flag(value, "changed")
}

pub(super) fn test_skipped(value: &Value) -> Result<bool, Error> {
    result_flag(value, "skipped")
}
