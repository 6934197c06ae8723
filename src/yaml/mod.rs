//! A YAML loader that reads files the way Ansible does, and remembers where every value came from.
//!
//! Users' inventories and playbooks were written for Ansible, whose loader (PyYAML) follows
//! YAML 1.1: `yes`/`no`/`on`/`off` are booleans, `0755` is octal (493), `10:30` is a base-60
//! integer, while `y`/`n` stay strings. YAML 1.2 loaders disagree on all of these, and a file
//! mode read as decimal 755 would be a disaster, so scalars are resolved here by PyYAML's rules.
//! Every node keeps its file, line and column so later stages can point errors at the source.
//! Anchors, aliases and `<<` merge keys are expanded while loading.

mod build;
mod scalar;

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::Parser;

use build::Builder;

/// Where a value was written: a file (or a pseudo-file like `-e #1`), line and column (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub file: Arc<str>,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One loaded YAML value with its position.
#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A syntax error, with the place the parser stopped.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

impl Node {
    /// The kind of value, as a user would name it in an error message.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    /// The key of a mapping entry as text (Ansible turns every key into a string).
    pub fn key_text(&self) -> String {
        match &self.kind {
            Kind::Str(s) => s.clone(),
            Kind::Null => String::new(),
            Kind::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Kind::Int(i) => i.to_string(),
            Kind::Float(x) => x.to_string(),
            Kind::Seq(_) | Kind::Map(_) => format!("{:?}", self.to_json()),
        }
    }

    /// Look up a key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.key_text() == key)
            .map(|(_, v)| v)
    }

    /// A node from a plain JSON value, every position set to `<label>` (for values that were
    /// merged or computed after loading).
    pub fn from_json(value: &Value, label: &str) -> Node {
        let span = Span {
            file: Arc::from(label),
            line: 1,
            col: 1,
        };
        let kind = match value {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Kind::Int(i),
                None => Kind::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Kind::Str(s.clone()),
            Value::Array(items) => {
                Kind::Seq(items.iter().map(|i| Node::from_json(i, label)).collect())
            }
            Value::Object(m) => Kind::Map(
                m.iter()
                    .map(|(k, v)| {
                        (
                            Node {
                                kind: Kind::Str(k.clone()),
                                span: span.clone(),
                            },
                            Node::from_json(v, label),
                        )
                    })
                    .collect(),
            ),
        };
        Node { kind, span }
    }

    /// Convert to a plain JSON value (positions are dropped; keys become strings).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::Number((*i).into()),
            Kind::Float(x) => Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.key_text(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }
}

/// Load the first document of `text`. An empty document loads as null.
pub fn load(file: &str, text: &str) -> Result<Node, SyntaxError> {
    let file: Arc<str> = Arc::from(file);
    let mut builder = Builder::new(file.clone());
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| SyntaxError {
        span: Span {
            file: file.clone(),
            line: e.marker().line(),
            col: e.marker().col() + 1,
        },
        message: e.info().to_string(),
    })?;
    let first = builder.finish()?;
    Ok(first.unwrap_or(Node {
        kind: Kind::Null,
        span: Span {
            file,
            line: 1,
            col: 1,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_and_merge_keys() {
        let text = "base: &b {a: 1, b: 2}\nother: &o {c: 3}\nx:\n  <<: [*b, *o]\n  b: 20\ny: *b\n";
        let v = load("t.yml", text).map(|n| n.to_json()).unwrap_or_default();
        assert_eq!(v["x"], serde_json::json!({"b": 20, "a": 1, "c": 3}));
        assert_eq!(v["y"], serde_json::json!({"a": 1, "b": 2}));
    }

    #[test]
    fn positions_are_kept() {
        let node = load("f.yml", "a:\n  b: [1, 2]\n  c: hi\n");
        let node = match node {
            Ok(n) => n,
            Err(e) => panic!("{}", e.message),
        };
        let c = node.get("a").and_then(|a| a.get("c"));
        let span = c.map(|c| (c.span.line, c.span.col));
        assert_eq!(span, Some((3, 6)));
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let err = load("bad.yml", "a: [1, 2\nb: 3\n").err();
        let err = err.map(|e| (e.span.file.to_string(), e.span.line > 0));
        assert_eq!(err, Some(("bad.yml".to_string(), true)));
    }
}
