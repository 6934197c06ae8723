//! `lineinfile`: make sure a line is in a file (replacing the last line matching `regexp`,
//! or inserting after/before a match, or at the end), or that no line matches (`absent`).
//!
//! The file is read in one exchange, edited on the controller, and written back atomically
//! with the same script as `copy` (so check mode and --diff behave the same).

use serde_json::{Map, Value};

use super::args::{opt_bool, opt_str, path};
use super::remote::stat_file;
use super::{Ctx, Failure, Outcome};

pub async fn run(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Outcome, Failure> {
    let target = path(args, &["path", "dest", "name"])?;
    let state = opt_str(args, "state")?.unwrap_or_else(|| "present".into());
    let regexp = match opt_str(args, "regexp")? {
        Some(r) => {
            Some(regex::Regex::new(&r).map_err(|e| Failure::Args(format!("regexp '{r}': {e}")))?)
        }
        None => None,
    };
    let line = opt_str(args, "line")?;
    let create = opt_bool(args, "create")?.unwrap_or(false);
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
                    let at = insert_position(&lines, args)?;
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
    super::copy::put(ctx, args, &target, new.as_bytes()).await
}

fn insert_position(lines: &[String], args: &Map<String, Value>) -> Result<usize, Failure> {
    if let Some(after) = opt_str(args, "insertafter")? {
        if after == "EOF" {
            return Ok(lines.len());
        }
        let re =
            regex::Regex::new(&after).map_err(|e| Failure::Args(format!("insertafter: {e}")))?;
        return Ok(lines
            .iter()
            .rposition(|l| re.is_match(l))
            .map_or(lines.len(), |i| i + 1));
    }
    if let Some(before) = opt_str(args, "insertbefore")? {
        if before == "BOF" {
            return Ok(0);
        }
        let re =
            regex::Regex::new(&before).map_err(|e| Failure::Args(format!("insertbefore: {e}")))?;
        return Ok(lines
            .iter()
            .rposition(|l| re.is_match(l))
            .unwrap_or(lines.len()));
    }
    Ok(lines.len())
}
