//! The remote side of file modules: one POSIX sh script per exchange.
//!
//! `put_file` compares the wanted content's SHA-256 and attributes with the file on the host,
//! and in the same exchange either stops (no change, or check mode) or writes the content to
//! a temporary file beside the destination, checks its digest, applies owner/group/mode,
//! optionally validates it, and renames it over the destination: readers see the old file or
//! the new one, never half of one. Every value is passed as a quoted shell assignment.

use super::{Ctx, Diff, Failure, Outcome};
use crate::transport::quote;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What is wanted of a file.
pub struct Want<'a> {
    pub dest: &'a str,
    pub content: &'a [u8],
    pub mode: Option<u32>,
    pub owner: Option<&'a str>,
    pub group: Option<&'a str>,
    pub validate: Option<&'a str>,
}

/// A file's state as found on the host.
#[derive(Clone, Debug, Default)]
pub struct FileState {
    pub exists: bool,
    pub kind: String,
    pub content: Option<Vec<u8>>,
}

const PUT: &str = r#"
set -u
umask 022
if [ -d "$dest" ]; then echo "$dest is a directory" >&2; exit 3; fi
dir=$(dirname -- "$dest")
if [ ! -d "$dir" ]; then echo "the parent directory $dir does not exist" >&2; exit 3; fi
exists=0; sha=-; m=-; o=-; g=-; size=0
if [ -e "$dest" ]; then
  exists=1
  sha=$(sha256sum < "$dest" | cut -d' ' -f1) || exit 3
  set -- $(stat -L -c '%a %U %G %s' -- "$dest")
  m=$1; o=$2; g=$3; size=$4
fi
cc=0; [ "$sha" = "$want" ] || cc=1
ac=0
if [ -n "$mode" ] && [ "$m" != "$mode" ]; then ac=1; fi
if [ -n "$owner" ] && [ "$o" != "$owner" ]; then ac=1; fi
if [ -n "$group" ] && [ "$g" != "$group" ]; then ac=1; fi
echo "PGPLAY exists=$exists content=$cc attrs=$ac mode=$m owner=$o group=$g"
if [ "$show" = 1 ] && [ "$exists" = 1 ] && [ "$cc" = 1 ] && [ "$size" -le 1048576 ]; then cat -- "$dest"; fi
if [ "$check" = 1 ] || { [ "$cc" = 0 ] && [ "$ac" = 0 ]; }; then cat > /dev/null; exit 0; fi
if [ "$cc" = 1 ]; then
  tmp=$(mktemp -- "$dir/.pgplay-tmp.XXXXXX") || exit 3
  trap 'rm -f -- "$tmp"' EXIT
  cat > "$tmp" || exit 3
  got=$(sha256sum < "$tmp" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then echo "the content arrived damaged ($got, wanted $want)" >&2; exit 3; fi
  if [ "$exists" = 1 ]; then
    chmod --reference="$dest" -- "$tmp" && chown --reference="$dest" -- "$tmp" || exit 3
  else
    chmod 644 -- "$tmp" || exit 3
  fi
  if [ -n "$mode" ]; then chmod "$mode" -- "$tmp" || exit 3; fi
  if [ -n "$owner" ]; then chown "$owner" -- "$tmp" || exit 3; fi
  if [ -n "$group" ]; then chgrp "$group" -- "$tmp" || exit 3; fi
  if [ -n "$validate" ]; then
    if ! out=$(eval "$validate" 2>&1); then printf 'validation failed: %s\n' "$out" >&2; exit 4; fi
  fi
  mv -f -- "$tmp" "$dest" || exit 3
  trap - EXIT
else
  cat > /dev/null
  if [ -n "$mode" ]; then chmod "$mode" -- "$dest" || exit 3; fi
  if [ -n "$owner" ]; then chown "$owner" -- "$dest" || exit 3; fi
  if [ -n "$group" ]; then chgrp "$group" -- "$dest" || exit 3; fi
fi
"#;

/// A script's first line (its `PGPLAY ...` status) and the bytes after it.
fn split_header(stdout: &[u8]) -> (String, &[u8]) {
    match stdout.iter().position(|b| *b == b'\n') {
        Some(i) => (
            String::from_utf8_lossy(&stdout[..i]).into_owned(),
            &stdout[i + 1..],
        ),
        None => (String::from_utf8_lossy(stdout).into_owned(), &[]),
    }
}

/// The value of `name=value` in a script's `PGPLAY k=v ...` status line ("" if absent).
pub fn header_field(line: &str, name: &str) -> String {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        .unwrap_or("")
        .to_string()
}

fn assign(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push('=');
    out.push_str(&quote(value));
    out.push('\n');
}

/// Make `dest` hold `content` with the wanted attributes; one exchange.
pub async fn put_file(ctx: &Ctx<'_>, want: &Want<'_>) -> Result<Outcome, Failure> {
    let digest = hex::encode(Sha256::digest(want.content));
    let mut script = String::new();
    assign(&mut script, "dest", want.dest);
    assign(&mut script, "want", &digest);
    assign(
        &mut script,
        "mode",
        &want.mode.map(|m| format!("{m:o}")).unwrap_or_default(),
    );
    assign(&mut script, "owner", want.owner.unwrap_or(""));
    assign(&mut script, "group", want.group.unwrap_or(""));
    assign(&mut script, "check", if ctx.check { "1" } else { "0" });
    assign(&mut script, "show", if ctx.diff { "1" } else { "0" });
    // The validate command is playbook code (like a shell task); %s names the new file.
    assign(
        &mut script,
        "validate",
        &want
            .validate
            .map(|v| v.replace("%s", "\"$tmp\""))
            .unwrap_or_default(),
    );
    script.push_str(PUT);
    let out = ctx.exec(&script, Some(want.content)).await?;
    let (header, rest) = split_header(&out.stdout);
    if out.status != 0 || !header.starts_with("PGPLAY ") {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let mut o = Outcome::failed(format!(
            "could not write {}: {}",
            want.dest,
            if err.is_empty() {
                format!("exit status {}", out.status)
            } else {
                err
            }
        ));
        o.data.insert("rc".into(), Value::from(out.status));
        return Ok(o);
    }
    let field = |name: &str| header_field(&header, name);
    let exists = field("exists") == "1";
    let content_changed = field("content") == "1";
    let attrs_changed = field("attrs") == "1";
    let mut o = Outcome::ok(content_changed || attrs_changed);
    o.data
        .insert("dest".into(), Value::String(want.dest.to_string()));
    o.data.insert("checksum".into(), Value::String(digest));
    if ctx.diff && content_changed {
        o.diff = Some(Diff {
            path: want.dest.to_string(),
            before: if exists {
                String::from_utf8_lossy(rest).into_owned()
            } else {
                String::new()
            },
            after: String::from_utf8_lossy(want.content).into_owned(),
        });
    }
    if attrs_changed && !content_changed {
        o.msg = Some(format!(
            "attributes changed (were mode {} owner {} group {})",
            field("mode"),
            field("owner"),
            field("group")
        ));
    }
    Ok(o)
}

const STAT: &str = r#"
set -u
if [ -L "$path" ]; then k=link; elif [ -d "$path" ]; then k=directory; elif [ -f "$path" ]; then k=file; elif [ -e "$path" ]; then k=other; else echo "PGPLAY exists=0"; exit 0; fi
echo "PGPLAY exists=1 kind=$k"
if [ "$read" = 1 ] && [ "$k" = file ]; then cat -- "$path"; fi
"#;

/// Inspect a path (and read it when `read` and it is a regular file).
pub async fn stat_file(ctx: &Ctx<'_>, path: &str, read: bool) -> Result<FileState, Failure> {
    let mut script = String::new();
    assign(&mut script, "path", path);
    assign(&mut script, "read", if read { "1" } else { "0" });
    script.push_str(STAT);
    // Reading never changes anything: run it even in check mode.
    let out = ctx.exec(&script, None).await?;
    let (header, rest) = split_header(&out.stdout);
    if out.status != 0 || !header.starts_with("PGPLAY ") {
        return Err(Failure::Args(format!(
            "could not inspect {path}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let field = |name: &str| header_field(&header, name);
    let exists = field("exists") == "1";
    let kind = field("kind");
    Ok(FileState {
        exists,
        content: (exists && read && kind == "file").then(|| rest.to_vec()),
        kind,
    })
}
