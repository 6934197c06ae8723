//! `copy`: put literal `content` (or a controller-side `src` file) at `dest`, atomically.
//!
//! Changed only when the content or the owner/group/mode differ; check mode reports what
//! would change (with a diff under --diff) and writes nothing.

use serde_json::{Map, Value};

use super::args::{mode, opt_str, path};
use super::remote::{put_file, Want};
use super::{Ctx, Failure, Outcome};

pub async fn run(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Outcome, Failure> {
    let dest = path(args, &["dest"])?;
    let content: Vec<u8> = match (args.get("content"), opt_str(args, "src")?) {
        (Some(_), Some(_)) => {
            return Err(Failure::Args(
                "give either 'content' or 'src', not both".into(),
            ))
        }
        (Some(Value::String(s)), None) => s.clone().into_bytes(),
        (Some(Value::Null), None) => Vec::new(),
        (Some(v), None) => serde_json::to_string_pretty(v)
            .map_err(|e| Failure::Args(format!("content: {e}")))?
            .into_bytes(),
        (None, Some(src)) => super::template::read_source(ctx, "files", &src)?,
        (None, None) => return Err(Failure::Args("copy needs 'content' or 'src'".into())),
    };
    put(ctx, args, &dest, &content).await
}

/// Shared by copy and template: write with the attribute arguments of `args`.
pub async fn put(
    ctx: &Ctx<'_>,
    args: &Map<String, Value>,
    dest: &str,
    content: &[u8],
) -> Result<Outcome, Failure> {
    let owner = opt_str(args, "owner")?;
    let group = opt_str(args, "group")?;
    let validate = opt_str(args, "validate")?;
    if let Some(v) = &validate {
        if !v.contains("%s") {
            return Err(Failure::Args(format!(
                "validate '{v}' must contain %s (the path of the new file)"
            )));
        }
    }
    let mut o = put_file(
        ctx,
        &Want {
            dest,
            content,
            mode: mode(args)?,
            owner: owner.as_deref(),
            group: group.as_deref(),
            validate: validate.as_deref(),
        },
    )
    .await?;
    // A validation that printed pgBackRest's info JSON (a repository checked with the new
    // configuration) is said in a DBA's words; the old file was left in place.
    if o.failed {
        let explained = o
            .msg
            .as_deref()
            .and_then(|m| m.split_once("validation failed: "))
            .and_then(|(_, out)| super::pgbackrest_words::from_info_json(out));
        if let Some(why) = explained {
            o.msg = Some(format!(
                "{dest} was not replaced: the repository cannot be used with the new configuration: {why}"
            ));
        }
    }
    Ok(o)
}
