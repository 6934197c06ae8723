//! Reading one typed value out of a host's merged variables, refused at the place it was set:
//! `HostVars`, the one reader the connection variables (`conn/`, which adds its literal and
//! alias readings) and Pigsty's variables (`pg::vars`) share. A value that is still a
//! template is not judged here: it is checked when it is rendered.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::yaml::{Node, Span};

/// One host's variables being read, with where each was set (for errors): the one reader
/// the connection variables (`conn/`) and Pigsty's variables (`pg::vars`) share.
pub struct HostVars<'a> {
    pub vars: &'a Map<String, Value>,
    pub nodes: &'a HashMap<String, Arc<Node>>,
    pub host: &'a Span,
}

impl HostVars<'_> {
    /// Where `key` was set, falling back to the host's own line.
    pub fn span(&self, key: &str) -> &Span {
        self.nodes.get(key).map(|n| &n.span).unwrap_or(self.host)
    }

    /// `key` is wrong: said where it was set.
    pub fn invalid(&self, key: &str, message: String) -> Error {
        Error::invalid(self.span(key), key, message)
    }

    /// `key` holds a template (judged when it is rendered, not here).
    pub fn templated(&self, key: &str) -> bool {
        self.vars.get(key).is_some_and(is_template)
    }

    /// The last set of `names` (Ansible's alias order: the last one wins) and its value.
    pub fn last<'n>(&self, names: &[&'n str]) -> Option<(&'n str, &Value)> {
        names
            .iter()
            .rev()
            .find_map(|n| self.vars.get(*n).filter(|v| !v.is_null()).map(|v| (*n, v)))
    }

    /// A string (a number is read as its text), or `None` when unset.
    pub fn opt_string(&self, key: &str) -> Result<Option<String>> {
        match self.vars.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(v) => Err(self.invalid(key, format!("expected a string, found {v}"))),
        }
    }

    /// A string, `default` when unset.
    pub fn string(&self, key: &str, default: &str) -> Result<String> {
        Ok(self.opt_string(key)?.unwrap_or_else(|| default.to_string()))
    }

    /// Ansible's boolean, `default` when unset or a template.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.vars.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(_) if self.templated(key) => Ok(default),
            Some(v) => crate::base::truth::boolean(v)
                .ok_or_else(|| self.invalid(key, format!("expected true or false, found {v}"))),
        }
    }

    /// A whole number up to `max`, `default` when unset or a template.
    pub fn uint(&self, key: &str, default: u64, max: u64) -> Result<u64> {
        let v = match self.vars.get(key) {
            None | Some(Value::Null) => return Ok(default),
            Some(_) if self.templated(key) => return Ok(default),
            Some(v) => v,
        };
        let n = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        n.filter(|n| *n <= max).ok_or_else(|| {
            self.invalid(
                key,
                format!("expected a whole number from 0 to {max}, found {v}"),
            )
        })
    }
}

/// A variable that must be a list, as its items; `null` is an empty list. `what` names the
/// items in the message ("database definitions"), `hint` shows the right form.
pub fn list<'a>(node: &'a Node, key: &str, what: &str, hint: &str) -> Result<&'a [Node]> {
    match &node.kind {
        crate::yaml::Kind::Null => Ok(&[]),
        crate::yaml::Kind::Seq(items) => Ok(items),
        _ => Err(Error::invalid(
            &node.span,
            key,
            format!("expected a list of {what}, found {}", node.type_name()),
        )
        .with_hint(hint)),
    }
}

/// A value that is still a template (judged when it is rendered, not here).
pub fn is_template(value: &Value) -> bool {
    matches!(value, Value::String(s) if crate::base::text::contains_template(s))
}
