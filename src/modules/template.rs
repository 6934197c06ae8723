//! `template`: render a minijinja template on the controller with the host's variables and
//! write it like `copy` (atomic, changed only on difference, diff in check mode).
//!
//! Templates are looked up next to the playbook (`templates/<src>`, then `<src>`), or among
//! the templates compiled into the binary for built-in playbooks.

use serde_json::{Map, Value};

use super::args::{path, req_str};
use super::{Ctx, Failure, Outcome};
use crate::builtin::Source;

pub async fn run(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Outcome, Failure> {
    let dest = path(args, &["dest"])?;
    let src = req_str(args, "src")?;
    let bytes = read_source(ctx, "templates", &src)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::Args(format!("template {src} is not UTF-8 text")))?;
    let rendered = ctx
        .renderer
        .render(&src, &text, ctx.vars)
        .map_err(|e| Failure::Args(format!("{e} (host {})", ctx.host)))?;
    super::copy::put(ctx, args, &dest, rendered.as_bytes()).await
}

/// Read a controller-side file for `copy src=` (`files/`) or `template src=` (`templates/`).
pub fn read_source(ctx: &Ctx<'_>, kind: &str, src: &str) -> Result<Vec<u8>, Failure> {
    ctx.source.read(kind, src).map_err(Failure::Args)
}

/// The text a `template` task renders, to find which fleet-wide variables it reaches
/// (`exec::vars::Mentions`): its file when `src` is written out and found, else words that
/// name them all.
pub fn text(args: &Map<String, Value>, source: &Source) -> String {
    let found = match args.get("src").and_then(Value::as_str) {
        Some(src) if !src.contains("{{") => source
            .read("templates", src)
            .ok()
            .and_then(|b| String::from_utf8(b).ok()),
        _ => None,
    };
    found.unwrap_or_else(|| "groups play_hosts".into())
}
