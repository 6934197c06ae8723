//! Reading template text without rendering it.
//!
//! Several decisions are made on the text itself: whether a value needs rendering at all
//! (most variables hold no markup, and rendering costs), whether an argument is exactly one
//! `{{ expr }}` (then its native value is kept, as Ansible does), and, for error messages,
//! where a variable is referenced and whether that use is guarded by `is defined` or
//! `default`.

use crate::base::text::contains_template;

/// True when any string (or map key) inside `v` contains Jinja markup.
pub(super) fn value_contains_template(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => contains_template(s),
        serde_json::Value::Array(items) => items.iter().any(value_contains_template),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| contains_template(k) || value_contains_template(v)),
        _ => false,
    }
}

/// If `s` is exactly one `{{ ... }}` block, returns the expression inside
/// (without whitespace-control markers).  The caller still has to check that
/// the inside compiles as one expression.
pub(super) fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    if contains_template(inner) || inner.trim().is_empty() {
        return None;
    }
    Some(inner)
}

/// Trims template delimiters and whitespace from an error span.
pub(super) fn clean_span(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("{{")
        .or_else(|| s.strip_prefix("{%"))
        .unwrap_or(s);
    let s = s.trim_start_matches(['-', '+']).trim();
    let s = s
        .strip_suffix("}}")
        .or_else(|| s.strip_suffix("%}"))
        .unwrap_or(s);
    s.trim_end_matches(['-', '+']).trim().to_string()
}

/// True for `name`, `a.b`, `a[0]`, `a['k'].b` style variable references.
pub(super) fn is_reference(s: &str) -> bool {
    let mut chars = s.chars().peekable();
    if !chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') {
        return false;
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for c in chars {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' if depth > 0 => quote = Some(c),
                '[' => depth += 1,
                ']' if depth > 0 => depth -= 1,
                c if depth > 0 => {
                    if !(is_ident_char(c) || c == '-') {
                        return false;
                    }
                }
                c if is_ident_char(c) || c == '.' => {}
                _ => return false,
            },
        }
    }
    depth == 0 && quote.is_none()
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte offsets where `name` occurs in `src` as a whole variable reference
/// (not part of a longer identifier, not an attribute of something else).
pub(super) fn occurrences(src: &str, name: &str) -> Vec<usize> {
    let mut out = Vec::new();
    if name.is_empty() {
        return out;
    }
    let mut start = 0;
    while let Some(pos) = src[start..].find(name) {
        let at = start + pos;
        let before = src[..at].chars().next_back();
        let after = src[at + name.len()..].chars().next();
        let ok_before = !before.is_some_and(|c| is_ident_char(c) || c == '.');
        let ok_after = !after.is_some_and(is_ident_char);
        if ok_before && ok_after {
            out.push(at);
        }
        start = at + name.len();
    }
    out
}

/// True when the text following a variable reference protects it from being
/// undefined (`is defined`, `| default(...)`, ...).
pub(super) fn is_guarded(rest: &str) -> bool {
    let rest = rest.trim_start();
    if let Some(after_is) = rest.strip_prefix("is") {
        let words: Vec<&str> = after_is.split_whitespace().take(2).collect();
        return matches!(
            words.as_slice(),
            ["defined", ..] | ["undefined", ..] | ["not", "defined"] | ["not", "undefined"]
        );
    }
    if let Some(after_pipe) = rest.strip_prefix('|') {
        let word: String = after_pipe
            .trim_start()
            .chars()
            .take_while(|c| is_ident_char(*c))
            .collect();
        return word == "default" || word == "d";
    }
    false
}
