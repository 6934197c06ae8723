//! Extra variables (`-e`): JSON or YAML text, `key=value` pairs, or `@file`, as Ansible reads
//! them. Each becomes a mapping node with positions (`-e #2:1:14` or the file's own), so
//! errors in them point at the place like errors in the inventory do.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::yaml::{self, Kind, Node, Span};

/// Parse every `-e` value, in order.
pub fn parse_all(values: &[String]) -> Result<Vec<Node>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| parse(i + 1, v))
        .collect()
}

fn parse(index: usize, value: &str) -> Result<Node> {
    let label = format!("-e #{index}");
    let trimmed = value.trim_start();
    let node = if let Some(path) = trimmed.strip_prefix('@') {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!("{label}: cannot read the variables file '{path}': {e}"))
                .with_hint("-e @FILE reads a JSON or YAML file of variables; check the path (relative to where pgplay runs)")
        })?;
        syntax(path, yaml::load(path, &text))?
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        syntax(&label, yaml::load(&label, value)).map_err(|e| match e {
            Error::Syntax { span, message } => Error::Usage {
                message: format!("{span}: -e value is not valid JSON/YAML: {message}"),
                hint: Some(
                    "quote the whole value for the shell, e.g. -e '{\"pg_pitr\": {\"time\": \"2026-07-13 10:00:00+00\"}}'"
                        .into(),
                ),
            },
            other => other,
        })?
    } else {
        key_values(&label, value)?
    };
    match node.kind {
        Kind::Map(_) => Ok(node),
        Kind::Null => Ok(Node {
            kind: Kind::Map(Vec::new()),
            span: node.span,
        }),
        _ => Err(Error::Usage {
            message: format!(
                "{label}: extra vars must be a mapping of names to values, not {}",
                node.type_name()
            ),
            hint: Some("e.g. -e '{\"pg_rm_backup\": false}' or -e pg_rm_backup=false".into()),
        }),
    }
}

fn syntax(file: &str, r: std::result::Result<Node, yaml::SyntaxError>) -> Result<Node> {
    r.map_err(|e| {
        let _ = file;
        Error::Syntax {
            span: e.span,
            message: e.message,
        }
    })
}

/// `a=1 b='two words'`: values stay strings, as in Ansible.
fn key_values(label: &str, value: &str) -> Result<Node> {
    let file: Arc<str> = Arc::from(label);
    let span = |col: usize| Span {
        file: file.clone(),
        line: 1,
        col,
    };
    let mut entries = Vec::new();
    let mut col = 1;
    for word in split_kv(value) {
        let Some((k, v)) = word.split_once('=') else {
            return Err(Error::Usage {
                message: format!("{label}: '{word}' is not key=value"),
                hint: Some("write key=value pairs, JSON ('{\"k\": 1}') or @file.yml".into()),
            });
        };
        if !crate::base::text::is_identifier(k) {
            return Err(Error::usage(format!(
                "{label}: '{k}' is not a valid variable name"
            )));
        }
        entries.push((
            Node {
                kind: Kind::Str(k.to_string()),
                span: span(col),
            },
            Node {
                kind: Kind::Str(v.to_string()),
                span: span(col + k.len() + 1),
            },
        ));
        col += word.len() + 1;
    }
    Ok(Node {
        kind: Kind::Map(entries),
        span: span(1),
    })
}

/// Split Ansible's `a=1 b='two words'` form on white space outside quotes, dropping the
/// quotes (`-e` values and free-form module arguments).
pub fn split_kv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ' | '\t' | '\n') => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse_all;

    #[test]
    fn forms() {
        let v = |s: &str| {
            parse_all(&[s.to_string()])
                .map(|n| n[0].to_json().to_string())
                .unwrap_or_else(|e| format!("ERR {e}"))
        };
        assert_eq!(
            v(r#"{"pg_pitr": {"time": "2026-07-13 10:00:00+00"}}"#),
            r#"{"pg_pitr":{"time":"2026-07-13 10:00:00+00"}}"#
        );
        assert_eq!(
            v(r#"{"pg_pitr": { "xid": "250000", exclusive: true }}"#),
            r#"{"pg_pitr":{"xid":"250000","exclusive":true}}"#
        );
        assert_eq!(
            v("pg_rm_backup=false type=full"),
            r#"{"pg_rm_backup":"false","type":"full"}"#
        );
        assert!(v(r#"{"a": "#).starts_with("ERR"));
        assert!(v("justaword").starts_with("ERR"));
        assert!(v("[1, 2]").starts_with("ERR"));
    }
}
