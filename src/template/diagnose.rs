//! Which variable was undefined: minijinja reports "undefined value" without saying which;
//! an Ansible user expects the variable's name (`undefined variable 'pg_cluster'`), the
//! template and the line. Finding the name takes the template's undeclared variables, the
//! context and the error's source span. Methods of the renderer, in their own file so that
//! the error type does not depend on the renderer that makes it.

use std::collections::HashSet;
use std::ops::Range;

use minijinja::value::Value;
use minijinja::ErrorKind;

use super::error::{undefined_error, TemplateError};
use super::renderer::Renderer;
use super::scan::{clean_span, is_guarded, is_reference, occurrences};

impl Renderer {
    /// Converts a minijinja error, naming the undefined variable when the
    /// error is about one.
    pub(super) fn convert_error(
        &self,
        name: &str,
        source: Option<&str>,
        undeclared: &HashSet<String>,
        ctx: &Value,
        err: minijinja::Error,
    ) -> TemplateError {
        let line = err.line();
        let detail = err.detail().map(str::to_string);
        let mut base = match &detail {
            Some(d) => format!("{}: {}", err.kind(), d),
            None => err.kind().to_string(),
        };
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            base.push_str(&format!(": {c}"));
            cause = c.source();
        }
        // Operations on an undefined value fail as "invalid operation ...
        // undefined ..." rather than as UndefinedError.
        let undefined_related = err.kind() == ErrorKind::UndefinedError
            || (err.kind() == ErrorKind::InvalidOperation
                && detail.as_deref().is_some_and(|d| d.contains("undefined")));
        if !undefined_related {
            return TemplateError {
                name: name.to_string(),
                line,
                undefined: None,
                message: base,
            };
        }
        let missing = self.find_undefined(source, err.range(), undeclared, ctx);
        if missing.is_none() {
            return TemplateError {
                name: name.to_string(),
                line,
                undefined: None,
                message: base,
            };
        }
        let extra = if err.kind() == ErrorKind::UndefinedError {
            detail
        } else {
            Some(base)
        };
        undefined_error(name, line, missing, extra)
    }

    /// Works out which variable was undefined: the undeclared variables of the
    /// template that cannot be resolved in `ctx`, narrowed by the error's
    /// source span and by whether the use is guarded (`is defined`, `default`).
    pub(super) fn find_undefined(
        &self,
        source: Option<&str>,
        range: Option<Range<usize>>,
        undeclared: &HashSet<String>,
        ctx: &Value,
    ) -> Option<String> {
        let mut missing: Vec<String> = undeclared
            .iter()
            .filter_map(|path| self.missing_prefix(path, ctx))
            .collect();
        missing.sort();
        missing.dedup();
        let slice = match (source, range.clone()) {
            (Some(src), Some(r)) => src.get(r),
            _ => None,
        };
        if missing.is_empty() {
            // e.g. a loop variable's missing attribute (`item.nope`) or a
            // missing key (`d['x']`): report the expression when it is a
            // variable reference, not a filter or test name.
            let (src, r) = (source?, range?);
            let span = clean_span(slice?);
            let before = src.get(..r.start).unwrap_or("").trim_end();
            let after_filter_or_test =
                before.ends_with('|') || before.ends_with(" is") || before.ends_with(" not");
            if after_filter_or_test || !is_reference(&span) {
                return None;
            }
            return Some(span);
        }
        if missing.len() == 1 {
            return missing.pop();
        }
        if let Some(slice) = slice {
            let mut in_span: Vec<&String> = missing
                .iter()
                .filter(|m| !occurrences(slice, m).is_empty())
                .collect();
            in_span.sort_by_key(|m| std::cmp::Reverse(m.len()));
            if let Some(m) = in_span.first() {
                return Some((*m).clone());
            }
        }
        let src = source.unwrap_or("");
        let first_pos = |m: &String, unguarded_only: bool| -> Option<usize> {
            occurrences(src, m)
                .into_iter()
                .find(|&pos| !unguarded_only || !is_guarded(&src[pos + m.len()..]))
        };
        let pick = |unguarded_only: bool| {
            missing
                .iter()
                .filter_map(|m| first_pos(m, unguarded_only).map(|p| (p, m)))
                .min()
                .map(|(_, m)| m.clone())
        };
        pick(true)
            .or_else(|| pick(false))
            .or_else(|| missing.first().cloned())
    }

    /// For a dotted path like `a.b.c`, returns the shortest prefix that does
    /// not resolve in `ctx` (None when the whole path resolves).
    fn missing_prefix(&self, path: &str, ctx: &Value) -> Option<String> {
        let mut parts = path.split('.');
        let root = parts.next()?;
        if self.globals.contains(root) {
            return None;
        }
        let mut cur = ctx.get_attr(root).ok()?;
        if cur.is_undefined() {
            return Some(root.to_string());
        }
        let mut sofar = root.to_string();
        for part in parts {
            sofar.push('.');
            sofar.push_str(part);
            cur = match cur.get_attr(part) {
                Ok(v) => v,
                // Not attribute-accessible (e.g. a string): not our concern.
                Err(_) => return None,
            };
            if cur.is_undefined() {
                return Some(sofar);
            }
        }
        None
    }
}
