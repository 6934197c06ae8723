//! Dicts, lists and sets: `dict2items`, `items2dict`, `combine`, `flatten`, the set filters.
//!
//! These are Ansible's own filters (not Jinja2's); `combine` follows Ansible's `merge_hash`,
//! list merge modes included, because Pigsty builds configuration by combining dicts.

use minijinja::value::{from_args, Kwargs, Rest, Value, ValueKind};
use minijinja::Error;

use super::{check_defined, invalid, iter_values, to_json_value};

pub(super) fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
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

pub(super) fn items2dict(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
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
pub(super) fn combine(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
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
pub(super) fn flatten(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
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

pub(super) fn union(a: &Value, b: &Value) -> Result<Value, Error> {
    let mut out = Vec::new();
    for v in iter_values(a, "union")?
        .into_iter()
        .chain(iter_values(b, "union")?)
    {
        unique_push(&mut out, v);
    }
    Ok(Value::from(out))
}

pub(super) fn intersect(a: &Value, b: &Value) -> Result<Value, Error> {
    kept(a, b, "intersect", true)
}

pub(super) fn difference(a: &Value, b: &Value) -> Result<Value, Error> {
    kept(a, b, "difference", false)
}

/// The distinct items of `a` that are (`in_b`) or are not in `b`, in `a`'s order.
fn kept(a: &Value, b: &Value, name: &str, in_b: bool) -> Result<Value, Error> {
    let other = iter_values(b, name)?;
    let mut out = Vec::new();
    for v in iter_values(a, name)? {
        if other.contains(&v) == in_b {
            unique_push(&mut out, v);
        }
    }
    Ok(Value::from(out))
}

pub(super) fn symmetric_difference(a: &Value, b: &Value) -> Result<Value, Error> {
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
pub(super) fn type_debug(value: &Value) -> Result<&'static str, Error> {
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
