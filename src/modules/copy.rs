//! `copy`: put literal `content` (or a controller-side `src` file) at `dest`, atomically.
//!
//! Changed only when the content or the owner/group/mode differ; check mode reports what
//! would change (with a diff under --diff) and writes nothing.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::args::{abs_path, present, Mode};
use super::write::{write, Attrs};
use super::{Ctx, Failure, Outcome};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    src: Option<String>,
    #[serde(default, deserialize_with = "present")]
    content: Option<Value>,
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
    let content: Vec<u8> = match (a.content, &a.src) {
        (Some(_), Some(_)) => {
            return Err(Failure::Args(
                "give either 'content' or 'src', not both".into(),
            ))
        }
        (Some(Value::String(s)), None) => s.into_bytes(),
        (Some(Value::Null), None) => Vec::new(),
        (Some(v), None) => serde_json::to_string_pretty(&v)
            .map_err(|e| Failure::Args(format!("content: {e}")))?
            .into_bytes(),
        (None, Some(src)) => ctx.source.read("files", src).map_err(Failure::Args)?,
        (None, None) => return Err(Failure::Args("copy needs 'content' or 'src'".into())),
    };
    let attrs = Attrs {
        owner: a.owner.as_deref(),
        group: a.group.as_deref(),
        mode: a.mode.map(|m| m.0),
        validate: a.validate.as_deref(),
    };
    write(ctx, &dest, &content, attrs).await
}
