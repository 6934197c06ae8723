//! Selecting what runs: `-t/--tags` and `--skip-tags` (Ansible's rules), `-l/--limit` (with
//! `@FILE`), and `--start-at-task`.
//!
//! Tag rules: with no `-t`, every task runs except those tagged `never`; `-t x` runs tasks
//! tagged `x` plus those tagged `always`; `never` tasks run only when one of their tags is
//! asked for; `tagged`/`untagged`/`all` mean what they mean to Ansible. `--skip-tags` wins
//! over `-t`, and skips `always` tasks only when `always` is named. A tag that no task of the
//! playbook carries is an error (a typo would otherwise run nothing, or everything).

use crate::error::{did_you_mean, Error, Result};
use crate::inventory::{self, HostId, Inventory};
use crate::playbook::{Play, Playbook, Task, TaskId};

const SPECIAL: &[&str] = &["all", "always", "never", "tagged", "untagged"];

#[derive(Clone, Debug, Default)]
pub struct Tags {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Tags {
    pub fn new(only: &[String], skip: &[String]) -> Tags {
        let split = |v: &[String]| -> Vec<String> {
            v.iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        Tags {
            only: split(only),
            skip: split(skip),
        }
    }

    /// Every named tag must exist somewhere in the playbook.
    pub fn check(&self, pb: &Playbook) -> Result<()> {
        let known: Vec<&str> = pb
            .plays
            .iter()
            .flat_map(|p| p.tasks.iter())
            .flat_map(|t| t.tags.iter().map(String::as_str))
            .collect();
        for (flag, list) in [("-t/--tags", &self.only), ("--skip-tags", &self.skip)] {
            for tag in list {
                if SPECIAL.contains(&tag.as_str()) || known.contains(&tag.as_str()) {
                    continue;
                }
                let mut all: Vec<&str> = known.clone();
                all.sort();
                all.dedup();
                let mut err = Error::usage(format!(
                    "{flag}: no task of playbook '{}' has the tag '{tag}'",
                    pb.name
                ));
                err = match did_you_mean(tag, all.iter().copied()) {
                    Some(h) => err.with_hint(h),
                    None => err.with_hint(format!(
                        "tags in this playbook: {} (see: pgplay {} --list-tags)",
                        all.join(", "),
                        pb.name
                    )),
                };
                return Err(err);
            }
        }
        Ok(())
    }

    pub fn selects(&self, task: &Task) -> bool {
        let tags = &task.tags;
        let has = |t: &str| tags.iter().any(|x| x == t);
        let any_of = |list: &[String]| tags.iter().any(|t| list.contains(t));
        let named = |t: &str| self.only.iter().any(|x| x == t);
        let mut run = if self.only.is_empty() {
            !has("never")
        } else {
            (has("always") && !has("never"))
                || any_of(&self.only)
                || (named("all") && !has("never"))
                || (named("tagged") && !tags.is_empty() && !has("never"))
                || (named("untagged") && tags.is_empty())
        };
        if run && !self.skip.is_empty() {
            let skip_named = |t: &str| self.skip.iter().any(|x| x == t);
            if skip_named("all") {
                run = has("always") && !skip_named("always");
            } else if tags.iter().any(|t| self.skip.contains(t))
                || (skip_named("tagged") && !tags.is_empty())
                || (skip_named("untagged") && tags.is_empty())
            {
                run = false;
            }
        }
        run
    }
}

/// The hosts a play runs on: its `hosts:` pattern, narrowed by `-l` when given.
pub fn play_hosts(inv: &Inventory, play: &Play, limit: Option<&[HostId]>) -> Result<Vec<HostId>> {
    let hosts = inventory::select(inv, &play.hosts, false)?;
    Ok(match limit {
        Some(l) => hosts.into_iter().filter(|h| l.contains(h)).collect(),
        None => hosts,
    })
}

/// What was selected to run, per play.
pub struct Selection {
    pub hosts: Vec<Vec<HostId>>,
    pub tasks: Vec<Vec<TaskId>>,
}

/// What runs, per play: the hosts of its pattern within `-l` (the limit's text, already
/// joined by `limit_of`), and the tasks `tags` select from `--start-at-task` on. An unknown
/// tag or start task, and a limit that leaves every play empty, are refused.
pub fn select(
    inv: &Inventory,
    pb: &Playbook,
    tags: &Tags,
    limit_text: Option<&str>,
    start_at_task: Option<&str>,
) -> Result<Selection> {
    tags.check(pb)?;
    let limit = match limit_text {
        Some(l) => Some(inventory::select(inv, l, true)?),
        None => None,
    };
    let mut sel = Selection {
        hosts: Vec::new(),
        tasks: Vec::new(),
    };
    let mut started = start_at_task.is_none();
    let mut found_start = start_at_task.is_none();
    for play in &pb.plays {
        sel.hosts.push(play_hosts(inv, play, limit.as_deref())?);
        let mut tasks = Vec::new();
        for t in &play.tasks {
            if !started && start_at_task == Some(t.name.as_str()) {
                started = true;
                found_start = true;
            }
            if started && tags.selects(t) {
                tasks.push(t.id);
            }
        }
        sel.tasks.push(tasks);
    }
    if !found_start {
        let name = start_at_task.unwrap_or_default();
        let names = pb
            .plays
            .iter()
            .flat_map(|p| p.tasks.iter().map(|t| t.name.as_str()));
        let err = Error::usage(format!("--start-at-task: no task named '{name}'"));
        return Err(match did_you_mean(name, names) {
            Some(h) => err.with_hint(h),
            None => err,
        });
    }
    if limit.is_some() && sel.hosts.iter().all(|h| h.is_empty()) {
        return Err(Error::usage(format!(
            "the limit '{}' matches hosts, but none of them is in any play of '{}'",
            limit_text.unwrap_or_default(),
            pb.name
        )));
    }
    Ok(sel)
}

/// Every `-l` (each a pattern, or `@FILE` as Ansible's retry files: one pattern per line,
/// blank lines and `#` comments skipped), joined into one limit: `-l a -l b` is `-l a,b`.
pub fn limit_of(given: &[String]) -> Result<Option<String>> {
    let mut all = Vec::new();
    for l in given {
        all.push(limit_from_file(l)?);
    }
    Ok((!all.is_empty()).then(|| all.join(",")))
}

fn limit_from_file(limit: &str) -> Result<String> {
    let Some(path) = limit.strip_prefix('@') else {
        return Ok(limit.to_string());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::usage(format!("-l @{path}: {e}"))
            .with_hint("-l @FILE reads host patterns from FILE, one per line")
    })?;
    let patterns: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if patterns.is_empty() {
        return Err(Error::usage(format!("-l @{path}: the file names no host"))
            .with_hint("write one host or group pattern per line"));
    }
    Ok(patterns.join(","))
}

#[cfg(test)]
mod tests {
    use super::Tags;
    use crate::builtin::Source;
    use crate::playbook::load_source;

    const PB: &str = "- hosts: all
  tasks:
    - { name: a, debug: {}, tags: [x] }
    - { name: b, debug: {}, tags: [y, never] }
    - { name: c, debug: {}, tags: [always] }
    - { name: d, debug: {} }
    - name: blk
      tags: z
      block:
        - { name: e, debug: {}, tags: [x] }
";

    fn run(only: &[&str], skip: &[&str]) -> String {
        let pb = match load_source("t", "t.yml", PB, Source::Builtin) {
            Ok(pb) => pb,
            Err(e) => return e.to_string(),
        };
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let tags = Tags::new(&own(only), &own(skip));
        if let Err(e) = tags.check(&pb) {
            return format!("ERR {e}");
        }
        pb.plays[0]
            .tasks
            .iter()
            .filter(|t| tags.selects(t))
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
            .join("")
    }

    #[test]
    fn table() {
        for (only, skip, want) in [
            (&[][..], &[][..], "acde"),
            (&["x"], &[], "ace"),
            (&["y"], &[], "bc"),
            (&["z"], &[], "ce"),
            (&["never"], &[], "bc"),
            (&["x"], &["z"], "ac"),
            (&[], &["always"], "ade"),
            (&["all"], &[], "acde"),
            (&["untagged"], &[], "cd"),
            (&[], &["all"], "c"),
        ] {
            assert_eq!(run(only, skip), want, "only {only:?} skip {skip:?}");
        }
    }

    #[test]
    fn unknown_tag_is_an_error() {
        let got = run(&["xx"], &[]);
        assert!(got.starts_with("ERR"), "{got}");
        assert!(
            got.contains("tags in this playbook: always, never, x, y, z"),
            "{got}"
        );
    }
}
