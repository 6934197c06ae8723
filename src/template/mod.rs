//! Jinja2 templating with Ansible semantics for pgplay.
//!
//! Pigsty's playbooks, role defaults and `.j2` files are written for Ansible's
//! Jinja2 dialect: strict undefined variables, `trim_blocks`, no HTML escaping,
//! `None` printed as the empty string, Python-style rendering of lists and
//! dicts, "native" results for arguments that are a single `{{ expr }}`, lazily
//! templated variables and a large set of Ansible-only filters and tests.  This
//! module wraps a `minijinja` environment configured that way behind a small
//! API ([`Renderer`]) so the rest of the engine never touches minijinja
//! directly, and turns minijinja's errors into [`TemplateError`]s that name the
//! template, the line and — for undefined variables — the variable itself.

mod filters;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

/// The value of the `omit` global.  Callers drop task arguments whose rendered
/// value is exactly this string, as Ansible does.
pub const OMIT: &str = "__omit_place_holder__";

/// Maximum nesting of variables referring to variables in [`Renderer::resolve_vars`].
const RESOLVE_DEPTH_LIMIT: usize = 10;

/// A template failed to parse or render.
///
/// `Display` gives `template <name> line <n>: <message>` (the line part is left
/// out when unknown).  When the failure is an undefined variable, `undefined`
/// holds its name (a dotted path such as `pg_cluster` or `result.stdout`) and
/// `message` starts with `undefined variable '<name>'`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {name}{}: {message}", line_suffix(.line))]
pub struct TemplateError {
    pub name: String,
    pub line: Option<usize>,
    pub undefined: Option<String>,
    pub message: String,
}

fn line_suffix(line: &Option<usize>) -> String {
    match line {
        Some(n) => format!(" line {n}"),
        None => String::new(),
    }
}

impl TemplateError {
    fn plain(name: &str, message: impl Into<String>) -> TemplateError {
        TemplateError {
            name: name.to_string(),
            line: None,
            undefined: None,
            message: message.into(),
        }
    }
}

/// True when `s` contains Jinja markup (`{{` or `{%`) and so needs rendering.
pub fn contains_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// True when any string (or map key) inside `v` contains Jinja markup.
fn value_contains_template(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => contains_template(s),
        serde_json::Value::Array(items) => items.iter().any(value_contains_template),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| contains_template(k) || value_contains_template(v)),
        _ => false,
    }
}

/// Renders templates and evaluates expressions with Ansible semantics.
pub struct Renderer {
    env: Environment<'static>,
    globals: HashSet<String>,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl Renderer {
    /// Builds the environment: strict undefined, trailing newline kept,
    /// `trim_blocks` (as Ansible's templar), no auto-escaping, Ansible filters,
    /// tests and the `omit` global.
    pub fn new() -> Renderer {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(true);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_formatter(filters::ansible_formatter);
        filters::register(&mut env);
        env.add_global("omit", OMIT);
        let globals = env.globals().map(|(name, _)| name.to_string()).collect();
        Renderer { env, globals }
    }

    /// Render a template source. `name` is used in errors (e.g.
    /// "templates/crontab.j2" or "task 'write crontab' arg content").
    pub fn render(
        &self,
        name: &str,
        source: &str,
        vars: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        let ctx = to_context(name, vars)?;
        self.render_ctx(name, source, &ctx)
    }

    /// Evaluate a bare Jinja expression (Ansible `when:`, `until:`, `that:`),
    /// e.g. "pg_role == 'primary' and x is defined".
    pub fn eval(
        &self,
        expr: &str,
        vars: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        let name = expression_name(expr);
        let ctx = to_context(&name, vars)?;
        let value = self.eval_condition_ctx(&name, expr, &ctx)?;
        value_to_json(&name, &value)
    }

    /// Evaluate an expression and convert with Ansible truthiness: booleans as
    /// they are; strings "yes"/"y"/"true"/"t"/"on"/"1" (any case) true and
    /// "no"/"n"/"false"/"f"/"off"/"0"/"" false, any other non-empty string true;
    /// numbers true when non-zero; lists and dicts true when non-empty; none false.
    pub fn eval_bool(&self, expr: &str, vars: &serde_json::Value) -> Result<bool, TemplateError> {
        let name = expression_name(expr);
        let ctx = to_context(&name, vars)?;
        let value = self.eval_condition_ctx(&name, expr, &ctx)?;
        Ok(filters::condition_truth(&value))
    }

    /// The top-level variable names a template source reads (static analysis: every
    /// branch counts). A source that does not parse reads nothing here; rendering it says why.
    pub fn names_in_template(&self, source: &str) -> HashSet<String> {
        if !contains_template(source) {
            return HashSet::new();
        }
        match self.env.template_from_str(source) {
            Ok(t) => t.undeclared_variables(false),
            Err(_) => HashSet::new(),
        }
    }

    /// The top-level variable names a bare expression (`when:`) reads.
    pub fn names_in_expr(&self, expr: &str) -> HashSet<String> {
        match self.env.compile_expression(expr) {
            Ok(e) => e.undeclared_variables(false),
            Err(_) => HashSet::new(),
        }
    }

    /// Template every string inside a JSON value recursively (task arguments),
    /// leaving non-strings alone.  A string that is exactly one expression
    /// "{{ x }}" yields the native value of x (list, dict, number), as Ansible
    /// does.  Map keys containing markup are rendered to strings.
    pub fn render_value(
        &self,
        name: &str,
        value: &serde_json::Value,
        vars: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        if !value_contains_template(value) {
            return Ok(value.clone());
        }
        let ctx = to_context(name, vars)?;
        self.render_value_ctx(name, value, &ctx)
    }

    /// Ansible-style lazy variables: return a copy of `vars` (a JSON object)
    /// where every string value containing "{{" or "{%" is rendered against the
    /// other vars, recursively (vars referring to vars).  Dependencies are
    /// resolved first, so `a: "{{ b | upper }}"` sees `b` already rendered.
    /// A reference loop, or nesting deeper than 10 levels, is an error naming
    /// the chain of variables.  A variable that references an undefined
    /// variable is an error too (named in the message).
    pub fn resolve_vars(
        &self,
        vars: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        let map = match vars {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => return Ok(serde_json::Value::Object(Default::default())),
            other => {
                return Err(TemplateError::plain(
                    "vars",
                    format!("variables must be a JSON object, got {}", json_kind(other)),
                ))
            }
        };
        let mut resolver = Resolver {
            renderer: self,
            vars: map.clone(),
            ctx_values: map
                .iter()
                .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
                .collect(),
            ctx_index: map
                .keys()
                .enumerate()
                .map(|(i, k)| (k.clone(), i))
                .collect(),
            done: HashSet::new(),
            deps_cache: HashMap::new(),
        };
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            let mut stack = Vec::new();
            resolver.resolve(&key, &mut stack)?;
        }
        Ok(serde_json::Value::Object(resolver.vars))
    }

    /// Like `resolve_vars`, but a variable that cannot be rendered (it refers to an undefined
    /// one, or loops) is left out instead of failing the whole set, as Ansible only fails when
    /// such a variable is used. The left-out names come back with their errors.
    pub fn resolve_vars_lenient(
        &self,
        vars: &serde_json::Value,
    ) -> (serde_json::Value, Vec<(String, TemplateError)>) {
        let mut current = vars.clone();
        let mut dropped = Vec::new();
        // Each failure removes at least one variable, so this ends.
        loop {
            match self.resolve_vars(&current) {
                Ok(v) => return (v, dropped),
                Err(e) => {
                    let culprit = e
                        .name
                        .strip_prefix("variable '")
                        .and_then(|r| r.split('\'').next())
                        .map(str::to_string);
                    let removed = match (&culprit, &mut current) {
                        (Some(name), serde_json::Value::Object(m)) => m.remove(name).is_some(),
                        _ => false,
                    };
                    if !removed {
                        return (current, dropped);
                    }
                    dropped.push((culprit.unwrap_or_default(), e));
                }
            }
        }
    }

    // ----- internals -------------------------------------------------------

    fn render_ctx(&self, name: &str, source: &str, ctx: &Value) -> Result<String, TemplateError> {
        let env: &Environment<'_> = &self.env;
        let tmpl = env
            .template_from_named_str(name, source)
            .map_err(|e| self.convert_error(name, Some(source), &HashSet::new(), ctx, e))?;
        tmpl.render(ctx).map_err(|e| {
            let undeclared = tmpl.undeclared_variables(true);
            self.convert_error(name, Some(source), &undeclared, ctx, e)
        })
    }

    /// Evaluates an expression; a result that is undefined is an error naming
    /// the missing variable.
    fn eval_ctx(&self, name: &str, expr: &str, ctx: &Value) -> Result<Value, TemplateError> {
        let env: &Environment<'_> = &self.env;
        let compiled = env
            .compile_expression(expr)
            .map_err(|e| self.convert_error(name, None, &HashSet::new(), ctx, e))?;
        let undeclared = || compiled.undeclared_variables(true);
        match compiled.eval(ctx) {
            Ok(v) if v.is_undefined() => {
                let missing = self.find_undefined(Some(expr), None, &undeclared(), ctx);
                Err(undefined_error(name, None, missing, None))
            }
            Ok(v) => Ok(v),
            Err(e) => Err(self.convert_error(name, Some(expr), &undeclared(), ctx, e)),
        }
    }

    /// Evaluation for conditionals: also accepts the (deprecated in Ansible but
    /// still common) `when: "{{ x }}"` spelling.
    fn eval_condition_ctx(
        &self,
        name: &str,
        expr: &str,
        ctx: &Value,
    ) -> Result<Value, TemplateError> {
        if let Some(inner) = single_expression(expr.trim()) {
            return self.eval_ctx(name, inner, ctx);
        }
        if contains_template(expr) {
            let rendered = self.render_ctx(name, expr, ctx)?;
            return self.eval_ctx(name, &rendered, ctx);
        }
        self.eval_ctx(name, expr, ctx)
    }

    fn render_value_ctx(
        &self,
        name: &str,
        value: &serde_json::Value,
        ctx: &Value,
    ) -> Result<serde_json::Value, TemplateError> {
        Ok(match value {
            serde_json::Value::String(s) => self.render_string_ctx(name, s, ctx)?,
            serde_json::Value::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|item| self.render_value_ctx(name, item, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    let key = if contains_template(k) {
                        self.render_ctx(name, k, ctx)?
                    } else {
                        k.clone()
                    };
                    out.insert(key, self.render_value_ctx(name, v, ctx)?);
                }
                serde_json::Value::Object(out)
            }
            other => other.clone(),
        })
    }

    fn render_string_ctx(
        &self,
        name: &str,
        s: &str,
        ctx: &Value,
    ) -> Result<serde_json::Value, TemplateError> {
        if !contains_template(s) {
            return Ok(serde_json::Value::String(s.to_string()));
        }
        if let Some(inner) = single_expression(s) {
            let env: &Environment<'_> = &self.env;
            // Only take the native path when the inside really is one
            // expression (`{{ a }} {{ b }}` also starts and ends with braces).
            if env.compile_expression(inner).is_ok() {
                let v = self.eval_ctx(name, inner, ctx)?;
                return value_to_json(name, &v);
            }
        }
        Ok(serde_json::Value::String(self.render_ctx(name, s, ctx)?))
    }

    /// Converts a minijinja error, naming the undefined variable when the
    /// error is about one.
    fn convert_error(
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
    fn find_undefined(
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

    /// Root variable names referenced by the template strings inside `value`.
    fn template_deps(&self, value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => self.string_deps(s, out),
            serde_json::Value::Array(items) => {
                for item in items {
                    self.template_deps(item, out);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    self.string_deps(k, out);
                    self.template_deps(v, out);
                }
            }
            _ => {}
        }
    }

    fn string_deps(&self, s: &str, out: &mut Vec<String>) {
        if !contains_template(s) {
            return;
        }
        let env: &Environment<'_> = &self.env;
        if let Ok(t) = env.template_from_str(s) {
            out.extend(t.undeclared_variables(false));
        }
    }
}

/// State of one [`Renderer::resolve_vars`] run.
struct Resolver<'r> {
    renderer: &'r Renderer,
    vars: serde_json::Map<String, serde_json::Value>,
    /// The same variables as minijinja values, kept in step with `vars` so
    /// each render builds its context from cheap clones instead of
    /// re-serialising every variable.
    ctx_values: Vec<(String, Value)>,
    ctx_index: HashMap<String, usize>,
    done: HashSet<String>,
    deps_cache: HashMap<String, Vec<String>>,
}

impl Resolver<'_> {
    fn resolve(&mut self, key: &str, stack: &mut Vec<String>) -> Result<(), TemplateError> {
        if self.done.contains(key) {
            return Ok(());
        }
        if stack.iter().any(|k| k == key) {
            let mut chain = stack.clone();
            chain.push(key.to_string());
            return Err(TemplateError::plain(
                &format!("variable '{}'", chain[0]),
                format!(
                    "recursive loop detected in variable definitions: {}",
                    chain.join(" -> ")
                ),
            ));
        }
        let value = match self.vars.get(key) {
            Some(v) => v.clone(),
            None => return Ok(()),
        };
        if !value_contains_template(&value) {
            self.done.insert(key.to_string());
            return Ok(());
        }
        if stack.len() >= RESOLVE_DEPTH_LIMIT {
            let mut chain = stack.clone();
            chain.push(key.to_string());
            return Err(TemplateError::plain(
                &format!("variable '{}'", chain[0]),
                format!(
                    "variables nest deeper than {RESOLVE_DEPTH_LIMIT} levels (recursive definition?): {}",
                    chain.join(" -> ")
                ),
            ));
        }
        let deps = match self.deps_cache.get(key) {
            Some(d) => d.clone(),
            None => {
                let mut d = Vec::new();
                self.renderer.template_deps(&value, &mut d);
                d.sort();
                d.dedup();
                self.deps_cache.insert(key.to_string(), d.clone());
                d
            }
        };
        stack.push(key.to_string());
        for dep in &deps {
            if self.vars.contains_key(dep) {
                self.resolve(dep, stack)?;
            }
        }
        stack.pop();
        let name = format!("variable '{key}'");
        let ctx: Value = self
            .ctx_values
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let rendered = self.renderer.render_value_ctx(&name, &value, &ctx)?;
        if let Some(&i) = self.ctx_index.get(key) {
            self.ctx_values[i].1 = Value::from_serialize(&rendered);
        }
        self.vars.insert(key.to_string(), rendered);
        self.done.insert(key.to_string());
        Ok(())
    }
}

fn undefined_error(
    name: &str,
    line: Option<usize>,
    missing: Option<String>,
    extra: Option<String>,
) -> TemplateError {
    let message = match (&missing, extra) {
        (Some(m), Some(x)) => format!("undefined variable '{m}': {x}"),
        (Some(m), None) => format!("undefined variable '{m}'"),
        (None, Some(x)) => x,
        (None, None) => "expression evaluated to an undefined value".to_string(),
    };
    TemplateError {
        name: name.to_string(),
        line,
        undefined: missing,
        message,
    }
}

fn expression_name(expr: &str) -> String {
    format!("expression '{}'", expr.trim())
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

fn to_context(name: &str, vars: &serde_json::Value) -> Result<Value, TemplateError> {
    match vars {
        serde_json::Value::Object(_) => Ok(Value::from_serialize(vars)),
        serde_json::Value::Null => Ok(Value::from_serialize(serde_json::Map::new())),
        other => Err(TemplateError::plain(
            name,
            format!("variables must be a JSON object, got {}", json_kind(other)),
        )),
    }
}

fn value_to_json(name: &str, v: &Value) -> Result<serde_json::Value, TemplateError> {
    serde_json::to_value(v)
        .map_err(|e| TemplateError::plain(name, format!("result cannot be converted to JSON: {e}")))
}

/// If `s` is exactly one `{{ ... }}` block, returns the expression inside
/// (without whitespace-control markers).  The caller still has to check that
/// the inside compiles as one expression.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    if inner.contains("{{") || inner.contains("{%") || inner.trim().is_empty() {
        return None;
    }
    Some(inner)
}

/// Trims template delimiters and whitespace from an error span.
fn clean_span(s: &str) -> String {
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
fn is_reference(s: &str) -> bool {
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
fn occurrences(src: &str, name: &str) -> Vec<usize> {
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
fn is_guarded(rest: &str) -> bool {
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
