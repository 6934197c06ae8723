//! Reading the scalar values of playbook keywords (a string, a boolean, a number, a list of
//! strings, a mapping), each refused with its place and key when it is not one; and the
//! "unknown keyword" error with its "did you mean".

use serde_json::{Map, Value};

use crate::error::{did_you_mean, Error, Result};
use crate::modules::Module;
use crate::yaml::{Kind, Node};

pub(super) fn entries<'n>(node: &'n Node, what: &str) -> Result<&'n [(Node, Node)]> {
    node.as_map().ok_or_else(|| {
        Error::invalid(
            &node.span,
            what,
            format!("expected a mapping, found {}", node.type_name()),
        )
    })
}

pub(super) fn unknown_key(key: &Node, valid: &[&str], what: &str) -> Error {
    let name = key.key_text();
    let err = Error::invalid(&key.span, name.clone(), format!("unknown {what} keyword"));
    match did_you_mean(
        &name,
        valid
            .iter()
            .copied()
            .chain(Module::ALL.iter().map(|m| m.name())),
    ) {
        Some(h) => err.with_hint(h),
        None => err.with_hint(format!("valid {what} keywords: {}", valid.join(", "))),
    }
}

pub(super) fn string(node: &Node, key: &str) -> Result<String> {
    match &node.kind {
        Kind::Str(s) => Ok(s.clone()),
        Kind::Int(i) => Ok(i.to_string()),
        Kind::Float(f) => Ok(f.to_string()),
        Kind::Bool(b) => Ok(b.to_string()),
        _ => Err(Error::invalid(
            &node.span,
            key,
            format!("expected a string, found {}", node.type_name()),
        )),
    }
}

pub(super) fn boolean(node: &Node, key: &str) -> Result<bool> {
    let value = node.to_json();
    if let Value::String(s) = &value {
        if crate::base::text::contains_template(s) {
            return Err(Error::invalid(
                &node.span,
                key,
                "templated booleans are not supported here; write true or false",
            ));
        }
    }
    crate::base::truth::boolean(&value).ok_or_else(|| {
        Error::invalid(
            &node.span,
            key,
            format!("expected true or false, found {}", node.type_name()),
        )
    })
}

pub(super) fn number(node: &Node, key: &str) -> Result<f64> {
    match &node.kind {
        Kind::Int(i) if *i >= 0 => Ok(*i as f64),
        Kind::Float(f) if *f >= 0.0 => Ok(*f),
        Kind::Str(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0)
            .ok_or_else(|| {
                Error::invalid(&node.span, key, format!("expected a number, found {s:?}"))
            }),
        _ => Err(Error::invalid(
            &node.span,
            key,
            format!("expected a non-negative number, found {}", node.type_name()),
        )),
    }
}

/// `become_method`: sudo or su, the two pgplay has (never silently another one).
pub(super) fn become_method(node: &Node) -> Result<String> {
    let m = string(node, "become_method")?;
    if m == "sudo" || m == "su" {
        return Ok(m);
    }
    Err(Error::invalid(
        &node.span,
        "become_method",
        format!("unsupported become method '{m}': pgplay becomes another user with sudo or su"),
    )
    .with_hint("use become_method: sudo (the default) or su"))
}

/// A string or a list of strings (tags, when, after; a tags string is split at commas).
pub(super) fn strings(node: &Node, key: &str) -> Result<Vec<String>> {
    match &node.kind {
        Kind::Seq(items) => items.iter().map(|i| string(i, key)).collect(),
        Kind::Null => Ok(Vec::new()),
        _ => {
            let s = string(node, key)?;
            if key == "tags" {
                Ok(s.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect())
            } else {
                Ok(vec![s])
            }
        }
    }
}

pub(super) fn json_map(node: &Node, key: &str) -> Result<Map<String, Value>> {
    match node.to_json() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(Error::invalid(
            &node.span,
            key,
            format!("expected a mapping, found {}", node.type_name()),
        )),
    }
}
