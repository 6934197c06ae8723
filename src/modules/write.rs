//! Writing a file with its attributes (`owner`, `group`, `mode`, `validate`): the one way
//! copy, template and lineinfile put content on a host, so they agree on atomic writes,
//! check mode, --diff and how a failed validation is worded.

use super::remote::{put_file, Want};
use super::{Ctx, Failure, Outcome};

/// The attributes a written file gets.
#[derive(Clone, Copy, Debug, Default)]
pub struct Attrs<'a> {
    pub owner: Option<&'a str>,
    pub group: Option<&'a str>,
    pub mode: Option<u32>,
    /// A command that must accept the new file (`%s` is its path) before it replaces the old.
    pub validate: Option<&'a str>,
}

/// Write `content` at `dest` with `attrs` (see `remote::put_file`).
pub async fn write(
    ctx: &Ctx<'_>,
    dest: &str,
    content: &[u8],
    attrs: Attrs<'_>,
) -> Result<Outcome, Failure> {
    if let Some(v) = attrs.validate {
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
            mode: attrs.mode,
            owner: attrs.owner,
            group: attrs.group,
            validate: attrs.validate,
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
