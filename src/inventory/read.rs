//! Reading one typed value out of a host's merged variables, refused at the place it was set:
//! the small readers the connection variables (`conn.rs`) and Pigsty's variables
//! (`pigsty/`) share. A value that is still a template is not judged here: it is checked
//! when it is rendered.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::yaml::{Node, Span};

/// Where a variable was set, falling back to the host's own line.
pub fn span_of<'a>(nodes: &'a HashMap<String, Arc<Node>>, key: &str, host: &'a Span) -> &'a Span {
    nodes.get(key).map(|n| &n.span).unwrap_or(host)
}

/// Ansible's boolean conversion for a typed variable.
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "on" | "1" | "t" => Some(true),
            "no" | "n" | "false" | "off" | "0" | "f" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub fn is_template(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.contains("{{") || s.contains("{%"))
}

pub fn get_bool(
    vars: &Map<String, Value>,
    nodes: &HashMap<String, Arc<Node>>,
    host: &Span,
    key: &str,
    default: bool,
) -> Result<bool> {
    match vars.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) if is_template(v) => Ok(default),
        Some(v) => as_bool(v).ok_or_else(|| {
            Error::invalid(
                span_of(nodes, key, host),
                key,
                format!("expected true or false, found {v}"),
            )
        }),
    }
}

pub fn get_string(
    vars: &Map<String, Value>,
    nodes: &HashMap<String, Arc<Node>>,
    host: &Span,
    key: &str,
) -> Result<Option<String>> {
    match vars.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(v) => Err(Error::invalid(
            span_of(nodes, key, host),
            key,
            format!("expected a string, found {v}"),
        )),
    }
}

/// `~/x` → `$HOME/x`.
pub fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().unwrap_or_default().join(rest),
        None => PathBuf::from(path),
    }
}
