//! The renderer: a minijinja environment configured as Ansible's templar.
//!
//! Strict undefined variables, `trim_blocks`, no auto-escaping, `None` printed as nothing and
//! Python's repr for lists and dicts, the `omit` global and Ansible's filters. Callers get
//! three operations: render a template, evaluate an expression (`when:`), and render task
//! arguments, where a lone `{{ x }}` keeps x's native type.

use std::collections::HashSet;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::error::{undefined_error, TemplateError};
use super::scan::{single_expression, value_contains_template};
use super::{filters, OMIT};
use crate::base::text::contains_template;

/// Renders templates and evaluates expressions with Ansible semantics.
pub struct Renderer {
    pub(super) env: Environment<'static>,
    pub(super) globals: HashSet<String>,
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

    // ----- internals -------------------------------------------------------

    pub(super) fn render_ctx(
        &self,
        name: &str,
        source: &str,
        ctx: &Value,
    ) -> Result<String, TemplateError> {
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
    pub(super) fn eval_condition_ctx(
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

    pub(super) fn render_value_ctx(
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
}

fn expression_name(expr: &str) -> String {
    format!("expression '{}'", expr.trim())
}

pub(super) fn json_kind(v: &serde_json::Value) -> &'static str {
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
