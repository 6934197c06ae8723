//! TEMPORARY stub, replaced by the real renderer.
use serde_json::Value;
pub const OMIT: &str = "__omit_place_holder__";
pub struct Renderer;
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {message}")]
pub struct TemplateError { pub name: String, pub line: Option<usize>, pub undefined: Option<String>, pub message: String }
impl Default for Renderer { fn default() -> Self { Renderer } }
impl Renderer {
    pub fn new() -> Renderer { Renderer }
    pub fn render(&self, _name: &str, source: &str, _vars: &Value) -> Result<String, TemplateError> { Ok(source.to_string()) }
    pub fn eval(&self, _expr: &str, _vars: &Value) -> Result<Value, TemplateError> { Ok(Value::Null) }
    pub fn eval_bool(&self, _expr: &str, _vars: &Value) -> Result<bool, TemplateError> { Ok(true) }
    pub fn render_value(&self, _name: &str, value: &Value, _vars: &Value) -> Result<Value, TemplateError> { Ok(value.clone()) }
    pub fn resolve_vars(&self, vars: &Value) -> Result<Value, TemplateError> { Ok(vars.clone()) }
}
pub fn contains_template(s: &str) -> bool { s.contains("{{") || s.contains("{%") }
