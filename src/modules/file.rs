//! `file`: make a path a directory, a file (attributes only), a symlink, touched, or absent.
//!
//! One exchange: the script inspects the path, decides, acts unless in check mode, and
//! prints what it found and whether it changed anything. `absent` removes only the path
//! named in the task.

use serde::Deserialize;
use serde_json::Value;

use super::args::{abs_path, Mode};
use super::{Ctx, Failure, Outcome};
use crate::transport::quote;

const SCRIPT: &str = r#"
set -u
changed=0
kind=none
# Like Ansible's file module, a link to a directory counts as the directory (follow=yes);
# only state=link looks at the link itself.
if [ "$state" = link ] && [ -L "$path" ]; then kind=link
elif [ -d "$path" ]; then kind=directory
elif [ -L "$path" ] && [ ! -e "$path" ]; then kind="dangling link"
elif [ -e "$path" ]; then kind=file; fi
attrs() {
  [ -e "$path" ] || return 0
  set -- $(stat -L -c '%a %U %G' -- "$path")
  if [ -n "$mode" ] && [ "$1" != "$mode" ]; then changed=1; [ "$check" = 1 ] || chmod $rec "$mode" -- "$path" || exit 3; fi
  if [ -n "$owner" ] && [ "$2" != "$owner" ]; then changed=1; [ "$check" = 1 ] || chown $rec "$owner" -- "$path" || exit 3; fi
  if [ -n "$group" ] && [ "$3" != "$group" ]; then changed=1; [ "$check" = 1 ] || chgrp $rec "$group" -- "$path" || exit 3; fi
}
case "$state" in
  directory)
    if [ "$kind" = none ]; then changed=1; [ "$check" = 1 ] || mkdir -p -- "$path" || exit 3
    elif [ "$kind" != directory ]; then echo "$path exists and is a $kind, not a directory" >&2; exit 3; fi
    attrs ;;
  file)
    if [ "$kind" = none ]; then echo "$path does not exist (use state=touch to create it)" >&2; exit 3; fi
    attrs ;;
  touch)
    changed=1; [ "$check" = 1 ] || touch -- "$path" || exit 3
    attrs ;;
  absent)
    if [ "$kind" != none ]; then changed=1; [ "$check" = 1 ] || rm -rf -- "$path" || exit 3; fi ;;
  link)
    cur=$(readlink -- "$path" 2>/dev/null || true)
    if [ "$kind" != none ] && [ "$kind" != link ] && [ "$force" != 1 ]; then echo "$path exists and is a $kind; set force=true to replace it with a link" >&2; exit 3; fi
    if [ "$cur" != "$src" ]; then changed=1; [ "$check" = 1 ] || ln -sfn -- "$src" "$path" || exit 3; fi ;;
esac
echo "PGPLAY changed=$changed was=$kind"
"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    path: Option<String>,
    dest: Option<String>,
    name: Option<String>,
    state: Option<String>,
    owner: Option<String>,
    group: Option<String>,
    mode: Option<Mode>,
    src: Option<String>,
    recurse: Option<bool>,
    force: Option<bool>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let target = abs_path(&[("path", &a.path), ("dest", &a.dest), ("name", &a.name)])?;
    let state = a.state.unwrap_or_else(|| "file".into());
    if !matches!(
        state.as_str(),
        "directory" | "file" | "touch" | "absent" | "link"
    ) {
        return Err(Failure::Args(format!(
            "state '{state}' is not one of directory, file, touch, absent, link"
        )));
    }
    if state == "absent" && matches!(target.trim_end_matches('/'), "" | "/") {
        return Err(Failure::Args("refusing to remove '/'".into()));
    }
    let src = a.src.unwrap_or_default();
    if state == "link" && src.is_empty() {
        return Err(Failure::Args(
            "state=link needs 'src' (what the link points to)".into(),
        ));
    }
    let recurse = a.recurse.unwrap_or(false);
    let mut script = String::new();
    for (k, v) in [
        ("path", target.clone()),
        ("state", state.clone()),
        (
            "mode",
            a.mode.map(|m| format!("{:o}", m.0)).unwrap_or_default(),
        ),
        ("owner", a.owner.unwrap_or_default()),
        ("group", a.group.unwrap_or_default()),
        ("src", src),
        (
            "force",
            if a.force.unwrap_or(false) { "1" } else { "0" }.into(),
        ),
        ("check", if ctx.check { "1" } else { "0" }.into()),
        (
            "rec",
            if recurse && state == "directory" {
                "-R"
            } else {
                ""
            }
            .into(),
        ),
    ] {
        script.push_str(&format!("{k}={}\n", quote(&v)));
    }
    script.push_str(SCRIPT);
    let out = ctx.exec(&script, None).await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find(|l| l.starts_with("PGPLAY ")) else {
        return Ok(Outcome::failed(format!(
            "{target}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    };
    if out.status != 0 {
        return Ok(Outcome::failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let mut o = Outcome::ok(line.contains("changed=1"));
    o.data.insert("path".into(), Value::String(target));
    o.data.insert("state".into(), Value::String(state));
    Ok(o)
}
