//! Ansible's lazily templated variables, resolved once per host.
//!
//! In Ansible a variable whose value is a template is rendered when used, against the other
//! variables, which may be templates too. pgplay renders them all up front, dependencies first
//! (so `a: "{{ b | upper }}"` sees `b` rendered), refusing loops and runaway nesting with the
//! chain of names, so that tasks then read plain values.

use std::collections::{HashMap, HashSet};

use minijinja::value::Value;
use minijinja::Environment;

use super::error::TemplateError;
use super::renderer::{json_kind, Renderer};
use super::scan::value_contains_template;
use crate::base::text::contains_template;

/// Maximum nesting of variables referring to variables in [`Renderer::resolve_vars`].
const RESOLVE_DEPTH_LIMIT: usize = 10;

impl Renderer {
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
