//! Reading one typed value out of a host's merged variables, refused at the place it was set:
//! the small readers the connection variables (`conn.rs`) and Pigsty's variables
//! (`pigsty/`) share. A value that is still a template is not judged here: it is checked
//! when it is rendered.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::yaml::{Node, Span};

/// Where a variable was set, falling back to the host's own line.
pub fn span_of<'a>(nodes: &'a HashMap<String, Arc<Node>>, key: &str, host: &'a Span) -> &'a Span {
    nodes.get(key).map(|n| &n.span).unwrap_or(host)
}

/// A value that is still a template (judged when it is rendered, not here).
pub fn is_template(value: &Value) -> bool {
    matches!(value, Value::String(s) if crate::base::text::contains_template(s))
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
        Some(v) => crate::base::truth::boolean(v).ok_or_else(|| {
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
