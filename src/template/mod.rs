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
//!
//! The module shows the path of a template through it: `renderer` (the environment and the
//! API), `resolve` (lazily templated variables, dependencies first), `scan` (reading template
//! text without running it: is this one expression, where is a name used), `error` (what
//! failed), `diagnose` (which variable was undefined) and `filters` (Ansible's filters and tests, one
//! file per family).

mod diagnose;
mod error;
mod filters;
mod renderer;
mod resolve;
mod scan;
#[cfg(test)]
mod tests;

pub use self::error::TemplateError;
pub use self::renderer::Renderer;

/// The value of the `omit` global.  Callers drop task arguments whose rendered
/// value is exactly this string, as Ansible does.
pub const OMIT: &str = "__omit_place_holder__";
