//! `lineinfile`: make sure a line is in a file (replacing the last line matching `regexp`,
//! or inserting after/before a match, or at the end), or that no line matches (`absent`).
//!
//! The file is read in one exchange, edited on the controller, and written back atomically
//! with the same script as `copy` (so check mode and --diff behave the same).

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::args::{abs_path, Mode};
use super::remote::stat_file;
use super::write::{write, Attrs};
use super::{Ctx, Failure, Outcome};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    path: Option<String>,
    dest: Option<String>,
    name: Option<String>,
    line: Option<String>,
    regexp: Option<String>,
    state: Option<String>,
    insertafter: Option<String>,
    insertbefore: Option<String>,
    create: Option<bool>,
    owner: Option<String>,
    group: Option<String>,
    mode: Option<Mode>,
    #[allow(dead_code)] // Ansible has it; accepted, not acted on
    backup: Option<IgnoredAny>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let target = abs_path(&[("path", &a.path), ("dest", &a.dest), ("name", &a.name)])?;
    let state = a.state.clone().unwrap_or_else(|| "present".into());
    let regexp = match &a.regexp {
        Some(r) => {
            Some(regex::Regex::new(r).map_err(|e| Failure::Args(format!("regexp '{r}': {e}")))?)
        }
        None => None,
    };
    let line = a.line.clone();
    let create = a.create.unwrap_or(false);
    let found = stat_file(ctx, &target, true).await?;
    if found.exists && found.kind != "file" {
        return Ok(Outcome::failed(format!(
            "{target} is a {}, not a file",
            found.kind
        )));
    }
    if !found.exists && !create && state == "present" {
        return Ok(Outcome::failed(format!(
            "{target} does not exist (set create: true to create it)"
        )));
    }
    let text = String::from_utf8_lossy(&found.content.unwrap_or_default()).into_owned();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match state.as_str() {
        "absent" => {
            let before = lines.len();
            match (&regexp, &line) {
                (Some(re), _) => lines.retain(|l| !re.is_match(l)),
                (None, Some(want)) => lines.retain(|l| l != want),
                (None, None) => {
                    return Err(Failure::Args("state=absent needs regexp or line".into()))
                }
            }
            if lines.len() == before {
                return Ok(Outcome::ok(false));
            }
        }
        "present" => {
            let want = line.ok_or_else(|| Failure::Args("state=present needs 'line'".into()))?;
            let hit = match &regexp {
                Some(re) => lines.iter().rposition(|l| re.is_match(l)),
                None => lines.iter().rposition(|l| *l == want),
            };
            match hit {
                Some(i) if lines[i] == want => return Ok(Outcome::ok(false)),
                Some(i) => lines[i] = want,
                None => {
                    if regexp.is_some() && lines.contains(&want) {
                        return Ok(Outcome::ok(false));
                    }
                    let at = insert_position(&lines, &a)?;
                    lines.insert(at, want);
                }
            }
        }
        other => {
            return Err(Failure::Args(format!(
                "state '{other}' is not present or absent"
            )))
        }
    }
    let mut new = lines.join("\n");
    new.push('\n');
    let attrs = Attrs {
        owner: a.owner.as_deref(),
        group: a.group.as_deref(),
        mode: a.mode.map(|m| m.0),
        validate: None,
    };
    write(ctx, &target, new.as_bytes(), attrs).await
}

fn insert_position(lines: &[String], a: &Args) -> Result<usize, Failure> {
    if let Some(after) = &a.insertafter {
        if after == "EOF" {
            return Ok(lines.len());
        }
        let re =
            regex::Regex::new(after).map_err(|e| Failure::Args(format!("insertafter: {e}")))?;
        return Ok(lines
            .iter()
            .rposition(|l| re.is_match(l))
            .map_or(lines.len(), |i| i + 1));
    }
    if let Some(before) = &a.insertbefore {
        if before == "BOF" {
            return Ok(0);
        }
        let re =
            regex::Regex::new(before).map_err(|e| Failure::Args(format!("insertbefore: {e}")))?;
        return Ok(lines
            .iter()
            .rposition(|l| re.is_match(l))
            .unwrap_or(lines.len()));
    }
    Ok(lines.len())
}
