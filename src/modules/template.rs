//! `template`: render a minijinja template on the controller with the host's variables and
//! write it like `copy` (atomic, changed only on difference, diff in check mode).
//!
//! Templates are looked up next to the playbook (`templates/<src>`, then `<src>`), or among
//! the templates compiled into the binary for built-in playbooks (`builtin::Source`).

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::args::{abs_path, required, Mode};
use super::write::{write, Attrs};
use super::{Ctx, Failure, Outcome};
use crate::builtin::Source;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    src: Option<String>,
    dest: Option<String>,
    owner: Option<String>,
    group: Option<String>,
    mode: Option<Mode>,
    #[allow(dead_code)] // Ansible has it; accepted, not acted on
    backup: Option<IgnoredAny>,
    #[allow(dead_code)] // Ansible has it; accepted, not acted on
    force: Option<IgnoredAny>,
    validate: Option<String>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let dest = abs_path(&[("dest", &a.dest)])?;
    let src = required("src", &a.src)?;
    let bytes = ctx.source.read("templates", &src).map_err(Failure::Args)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::Args(format!("template {src} is not UTF-8 text")))?;
    let rendered = ctx
        .renderer
        .render(&src, &text, ctx.vars)
        .map_err(|e| Failure::Args(format!("{e} (host {})", ctx.host)))?;
    let attrs = Attrs {
        owner: a.owner.as_deref(),
        group: a.group.as_deref(),
        mode: a.mode.map(|m| m.0),
        validate: a.validate.as_deref(),
    };
    write(ctx, &dest, rendered.as_bytes(), attrs).await
}

/// The text a `template` task renders (its arguments as written), to find which fleet-wide
/// variables it reaches: its file when `src` is written out and found, else words that name
/// them all.
pub fn text(args: &Map<String, Value>, source: &Source) -> String {
    let found = match args.get("src").and_then(Value::as_str) {
        Some(src) if !crate::base::text::contains_template(src) => source
            .read("templates", src)
            .ok()
            .and_then(|b| String::from_utf8(b).ok()),
        _ => None,
    };
    found.unwrap_or_else(|| "groups play_hosts".into())
}
