//! A YAML loader that reads files the way Ansible does, and remembers where every value came from.
//!
//! Users' inventories and playbooks were written for Ansible, whose loader (PyYAML) follows
//! YAML 1.1: `yes`/`no`/`on`/`off` are booleans, `0755` is octal (493), `10:30` is a base-60
//! integer, while `y`/`n` stay strings. YAML 1.2 loaders disagree on all of these, and a file
//! mode read as decimal 755 would be a disaster, so scalars are resolved here by PyYAML's rules.
//! Every node keeps its file, line and column so later stages can point errors at the source.
//! Anchors, aliases and `<<` merge keys are expanded while loading.

pub mod de;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

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
    let mut builder = Builder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| SyntaxError {
        span: Span {
            file: file.clone(),
            line: e.marker().line(),
            col: e.marker().col() + 1,
        },
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs.into_iter().next().unwrap_or(Node {
        kind: Kind::Null,
        span: Span {
            file,
            line: 1,
            col: 1,
        },
    }))
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

struct Builder {
    file: Arc<str>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Node>,
    error: Option<SyntaxError>,
}

impl Builder {
    fn span(&self, mark: Marker) -> Span {
        Span {
            file: self.file.clone(),
            line: mark.line(),
            col: mark.col() + 1,
        }
    }

    fn fail(&mut self, span: Span, message: String) {
        if self.error.is_none() {
            self.error = Some(SyntaxError { span, message });
        }
    }

    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(seq, _)) => {
                if let Kind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Kind::Map(entries) = &mut map.kind {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let span = self.span(mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let kind = match resolve_scalar(&text, style, tag.as_ref()) {
                    Ok(kind) => kind,
                    Err(message) => {
                        self.fail(span.clone(), message);
                        Kind::Str(text)
                    }
                };
                let node = Node { kind, span };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push_value(node),
                None => {
                    self.fail(span.clone(), "alias refers to an unknown anchor".into());
                    self.push_value(Node {
                        kind: Kind::Null,
                        span,
                    });
                }
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(
                Node {
                    kind: Kind::Seq(Vec::new()),
                    span,
                },
                anchor,
            )),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(
                Node {
                    kind: Kind::Map(Vec::new()),
                    span,
                },
                anchor,
                None,
            )),
            Event::SequenceEnd => {
                if let Some(Frame::Seq(node, anchor)) = self.stack.pop() {
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(mut node, anchor, _)) = self.stack.pop() {
                    if let Err(e) = apply_merge_keys(&mut node) {
                        self.fail(e.span, e.message);
                    }
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node);
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Expand `<<: *anchor` and `<<: [*a, *b]`: merged keys never override keys written in the map,
/// and earlier maps in a merge list win over later ones (YAML merge-key rules).
fn apply_merge_keys(node: &mut Node) -> Result<(), SyntaxError> {
    let Kind::Map(entries) = &mut node.kind else {
        return Ok(());
    };
    if !entries
        .iter()
        .any(|(k, _)| matches!(&k.kind, Kind::Str(s) if s == "<<"))
    {
        return Ok(());
    }
    let mut own = Vec::new();
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in entries.drain(..) {
        if matches!(&k.kind, Kind::Str(s) if s == "<<") {
            let sources: Vec<Node> = match v.kind {
                Kind::Map(_) => vec![v],
                Kind::Seq(items) => items,
                _ => {
                    return Err(SyntaxError {
                        span: v.span.clone(),
                        message: "a merge key (<<) takes a mapping or a list of mappings".into(),
                    })
                }
            };
            for src in sources {
                let Kind::Map(src_entries) = src.kind else {
                    return Err(SyntaxError {
                        span: src.span,
                        message: "a merge key (<<) list may hold only mappings".into(),
                    });
                };
                for (sk, sv) in src_entries {
                    let name = sk.key_text();
                    if !merged.iter().any(|(mk, _)| mk.key_text() == name) {
                        merged.push((sk, sv));
                    }
                }
            }
        } else {
            own.push((k, v));
        }
    }
    for (mk, mv) in merged {
        let name = mk.key_text();
        if !own.iter().any(|(k, _)| k.key_text() == name) {
            own.push((mk, mv));
        }
    }
    *entries = own;
    Ok(())
}

/// Resolve a scalar by YAML 1.1 (PyYAML) rules. Quoted scalars are always strings.
fn resolve_scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Kind, String> {
    if let Some(tag) = tag {
        let name = if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
            tag.suffix.as_str()
        } else {
            match (tag.handle.as_str(), tag.suffix.as_str()) {
                ("!", "unsafe") => return Ok(Kind::Str(text.to_string())),
                ("!", "vault") => {
                    return Err("Ansible Vault values (!vault) are not supported; \
                         put the secret in the inventory in plain text or pass it with -e @file"
                        .into())
                }
                (h, s) => return Err(format!("unknown YAML tag {h}{s}")),
            }
        };
        return match name {
            "str" => Ok(Kind::Str(text.to_string())),
            "int" => resolve_int(text)
                .map(Kind::Int)
                .ok_or_else(|| format!("!!int value {text:?} is not an integer")),
            "float" => resolve_float(text)
                .or_else(|| resolve_int(text).map(|i| i as f64))
                .map(Kind::Float)
                .ok_or_else(|| format!("!!float value {text:?} is not a number")),
            "bool" => resolve_bool(text)
                .map(Kind::Bool)
                .ok_or_else(|| format!("!!bool value {text:?} is not a boolean")),
            "null" => Ok(Kind::Null),
            other => Err(format!("unsupported YAML tag !!{other}")),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Kind::Str(text.to_string()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Kind::Null);
    }
    if let Some(b) = resolve_bool(text) {
        return Ok(Kind::Bool(b));
    }
    if let Some(i) = resolve_int(text) {
        return Ok(Kind::Int(i));
    }
    if let Some(x) = resolve_float(text) {
        return Ok(Kind::Float(x));
    }
    Ok(Kind::Str(text.to_string()))
}

/// PyYAML's booleans: no `y`/`n` (those stay strings).
fn resolve_bool(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// PyYAML's integers: `0b1010`, `0755` (octal), `0x1F`, `1_000`, and base 60 `1:30`.
fn resolve_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.starts_with('_') {
        return None;
    }
    let digits = |s: &str, radix: u32| -> Option<i64> {
        let clean: String = s.chars().filter(|c| *c != '_').collect();
        if clean.is_empty() {
            return None;
        }
        i64::from_str_radix(&clean, radix).ok()
    };
    let value = if let Some(bin) = body.strip_prefix("0b") {
        if !bin.chars().all(|c| c == '0' || c == '1' || c == '_') {
            return None;
        }
        digits(bin, 2)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        if !hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_') {
            return None;
        }
        digits(hex, 16)?
    } else if body == "0" {
        0
    } else if let Some(oct) = body.strip_prefix('0') {
        if !oct.chars().all(|c| ('0'..='7').contains(&c) || c == '_') {
            return None;
        }
        digits(oct, 8)?
    } else if body.contains(':') {
        // Base 60: [1-9][0-9_]*(:[0-5]?[0-9])+
        let mut parts = body.split(':');
        let head = parts.next()?;
        if !head.starts_with(|c: char| ('1'..='9').contains(&c))
            || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        let mut value = digits(head, 10)?;
        for part in parts {
            let ok = matches!(part.len(), 1 | 2)
                && part.chars().all(|c| c.is_ascii_digit())
                && (part.len() == 1 || part.as_bytes()[0] <= b'5');
            if !ok {
                return None;
            }
            value = value
                .checked_mul(60)?
                .checked_add(part.parse::<i64>().ok()?)?;
        }
        value
    } else {
        if !body.starts_with(|c: char| ('1'..='9').contains(&c))
            || !body.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        digits(body, 10)?
    };
    Some(if neg { -value } else { value })
}

/// PyYAML's floats need a dot (or are .inf/.nan): `1.5`, `-1.5e+3`, `.5`.
fn resolve_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = mantissa.split_once('.')?;
    let int_ok = int_part.is_empty()
        || (int_part.starts_with(|c: char| c.is_ascii_digit())
            && int_part.chars().all(|c| c.is_ascii_digit() || c == '_'));
    let frac_ok = frac.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !int_ok || !frac_ok || (int_part.is_empty() && frac.is_empty()) {
        return None;
    }
    if let Some(exp) = exponent {
        let digits = exp.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    clean.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> Value {
        load("t.yml", &format!("v: {text}\n"))
            .map(|n| n.to_json()["v"].clone())
            .unwrap_or(Value::String("<error>".into()))
    }

    #[test]
    fn yaml11_scalars_resolve_like_pyyaml() {
        let table: &[(&str, Value)] = &[
            ("yes", Value::Bool(true)),
            ("No", Value::Bool(false)),
            ("on", Value::Bool(true)),
            ("OFF", Value::Bool(false)),
            ("y", Value::String("y".into())),
            ("n", Value::String("n".into())),
            ("0755", 493.into()),
            ("0", 0.into()),
            ("08", Value::String("08".into())),
            ("0x1F", 31.into()),
            ("0b101", 5.into()),
            ("1_000", 1000.into()),
            ("-42", (-42).into()),
            ("1:30", 90.into()),
            ("1.5", serde_json::json!(1.5)),
            ("1e3", Value::String("1e3".into())),
            ("~", Value::Null),
            ("'0755'", Value::String("0755".into())),
            ("\"yes\"", Value::String("yes".into())),
            ("10.10.10.10", Value::String("10.10.10.10".into())),
            ("!!str 0755", Value::String("0755".into())),
            ("20MiB", Value::String("20MiB".into())),
        ];
        for (text, want) in table {
            assert_eq!(&scalar(text), want, "scalar {text}");
        }
    }

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
