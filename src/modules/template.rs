//! `template`: render a minijinja template on the controller with the host's variables and
//! write it like `copy` (atomic, changed only on difference, diff in check mode).
//!
//! Templates are looked up next to the playbook (`templates/<src>`, then `<src>`), or among
//! the templates compiled into the binary for built-in playbooks.

use serde_json::{Map, Value};

use super::args::{path, req_str};
use super::{Ctx, Failure, Outcome};
use crate::playbook::{builtin, Source};

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
    read_from(ctx.source, kind, src).map_err(Failure::Args)
}

/// The same from a playbook's source, before any host is involved (`scope.rs` reads the
/// templates a run renders).
pub fn read_from(source: &Source, kind: &str, src: &str) -> Result<Vec<u8>, String> {
    match source {
        Source::Builtin => builtin::file(kind, src)
            .map(|s| s.as_bytes().to_vec())
            .ok_or_else(|| format!("no built-in {kind} file '{src}'")),
        Source::Dir(dir) => {
            let candidates = [dir.join(kind).join(src), dir.join(src)];
            for c in &candidates {
                if let Ok(bytes) = std::fs::read(c) {
                    return Ok(bytes);
                }
            }
            // The repository's own playbooks/ share templates/ with the built-in copies.
            if let Some(text) = builtin::file(kind, src) {
                return Ok(text.as_bytes().to_vec());
            }
            Err(format!(
                "cannot find '{src}' (looked in {} and {}, and among the built-in {kind})",
                candidates[0].display(),
                candidates[1].display()
            ))
        }
    }
}
