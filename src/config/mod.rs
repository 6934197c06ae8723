//! Settings as Ansible finds them, so that a Pigsty directory needs no new habits.
//!
//! Pigsty ships an `ansible.cfg` with `inventory = pigsty.yml`: that is why `./pgsql.yml -l
//! pg-meta` needs no `-i` there, and pgplay must read it too. Each setting comes from, in
//! order of precedence: the command line, a `PGPLAY_*` variable, an `ANSIBLE_*` variable, the
//! one `ansible.cfg` Ansible would read (`ANSIBLE_CONFIG`, `./ansible.cfg`, `~/.ansible.cfg`,
//! `/etc/ansible/ansible.cfg`: the first that exists, as Ansible), then pgplay's default.
//! Every value remembers where it came from (`pgplay config` prints that), and a bad value
//! is refused naming its source (`ansible.cfg:5: [defaults] forks`, `ANSIBLE_FORKS`).

use std::path::{Path, PathBuf};

use crate::base::user::expand_home_in;
use crate::error::{Error, Result};

mod defs;

use defs::IRRELEVANT;
pub use defs::{Def, DEFS};

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    /// `ansible.cfg` (its path), line, `[section] key`.
    File {
        path: PathBuf,
        line: usize,
        section: String,
        key: String,
    },
    Env(String),
    Flag(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File {
                path,
                line,
                section,
                key,
            } => write!(f, "{}:{line}: [{section}] {key}", path.display()),
            Source::Env(name) => write!(f, "environment {name}"),
            Source::Flag(flag) => write!(f, "command line {flag}"),
        }
    }
}

/// One value in effect.
#[derive(Clone, Debug)]
pub struct Setting {
    pub def: &'static Def,
    pub value: Option<String>,
    pub source: Source,
}

/// The settings in effect (before the command line) and the file they were read from.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The ansible.cfg read, and why that one (`ANSIBLE_CONFIG`, `./ansible.cfg`, ...).
    pub file: Option<(PathBuf, &'static str)>,
    pub settings: Vec<Setting>,
    /// Keys of the file pgplay does not use and cannot ignore quietly (`path:line: [s] k`).
    pub unused: Vec<String>,
    /// `./ansible.cfg` skipped because the folder is world-writable (as Ansible does).
    pub skipped: Option<PathBuf>,
}

/// What the environment offers, so tests can pass their own.
pub struct Env<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
}

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.is_empty())
    }
}

/// This process's environment.
pub fn load() -> Result<Config> {
    let var = |k: &str| std::env::var(k).ok();
    let env = Env {
        var: &var,
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        home: dirs::home_dir(),
    };
    resolve(&env)
}

/// Find the ansible.cfg Ansible would read: `ANSIBLE_CONFIG` (a file, or a folder holding
/// ansible.cfg), `./ansible.cfg` (not in a world-writable folder), `~/.ansible.cfg`,
/// `/etc/ansible/ansible.cfg`.
fn find_file(env: &Env) -> (Option<(PathBuf, &'static str)>, Option<PathBuf>) {
    for name in ["PGPLAY_CONFIG", "ANSIBLE_CONFIG"] {
        if let Some(v) = env.get(name) {
            let mut p = expand_home_in(&v, env.home.as_deref());
            if p.is_dir() {
                p = p.join("ansible.cfg");
            }
            if p.is_file() {
                return (
                    Some((
                        p,
                        if name == "PGPLAY_CONFIG" {
                            "PGPLAY_CONFIG"
                        } else {
                            "ANSIBLE_CONFIG"
                        },
                    )),
                    None,
                );
            }
        }
    }
    let mut skipped = None;
    let here = env.cwd.join("ansible.cfg");
    if here.is_file() {
        if world_writable(&env.cwd) {
            skipped = Some(here);
        } else {
            return (Some((here, "./ansible.cfg")), None);
        }
    }
    if let Some(home) = &env.home {
        let p = home.join(".ansible.cfg");
        if p.is_file() {
            return (Some((p, "~/.ansible.cfg")), skipped);
        }
    }
    let p = PathBuf::from("/etc/ansible/ansible.cfg");
    if p.is_file() {
        return (Some((p, "/etc/ansible/ansible.cfg")), skipped);
    }
    (None, skipped)
}

fn world_writable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o002 != 0)
}

/// One `key = value` of an ini file.
struct Entry {
    line: usize,
    section: String,
    key: String,
    value: String,
}

/// Ansible reads ansible.cfg with Python's configparser: `[section]`, `key = value` or
/// `key: value`, whole-line `#` and `;` comments, inline `;` comments, indented lines
/// continue a value. Keys are case-insensitive.
fn parse_ini(path: &Path, text: &str) -> Result<Vec<Entry>> {
    let mut out: Vec<Entry> = Vec::new();
    let mut section: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let body = match trimmed.find(" ;").or_else(|| trimmed.find("\t;")) {
            Some(at) => trimmed[..at].trim_end(),
            None => trimmed,
        };
        if raw.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.value.push('\n');
                last.value.push_str(body);
                continue;
            }
        }
        if let Some(name) = body.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            continue;
        }
        let at = body.find(['=', ':']).ok_or_else(|| {
            Error::usage(format!(
                "{}:{line}: '{body}' is neither a [section] nor key = value",
                path.display()
            ))
            .with_hint("ansible.cfg is an ini file: [defaults] then lines like forks = 50")
        })?;
        let Some(section) = section.clone() else {
            return Err(Error::usage(format!(
                "{}:{line}: '{body}' comes before any [section]",
                path.display()
            ))
            .with_hint("put it under [defaults] (or the section it belongs to)"));
        };
        out.push(Entry {
            line,
            section,
            key: body[..at].trim().to_lowercase(),
            value: body[at + 1..].trim().to_string(),
        });
    }
    Ok(out)
}

/// The settings from the environment and ansible.cfg (the command line is applied by the
/// caller, which knows its flags).
pub fn resolve(env: &Env) -> Result<Config> {
    let (file, skipped) = find_file(env);
    let entries = match &file {
        Some((path, _)) => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            parse_ini(path, &text)?
        }
        None => Vec::new(),
    };
    let mut cfg = Config {
        file: file.clone(),
        skipped,
        ..Config::default()
    };
    for def in DEFS {
        let from_env = def
            .env
            .iter()
            .find_map(|name| env.get(name).map(|v| (v, Source::Env(name.to_string()))));
        let from_file = || {
            let (path, _) = file.as_ref()?;
            // the last one wins in configparser
            let e = entries
                .iter()
                .rev()
                .find(|e| e.section == def.section && def.keys.contains(&e.key.as_str()))?;
            let value = if def.name == "inventory"
                || def.name == "log_path"
                || def.name == "private_key_file"
            {
                relative_to(&e.value, path, env)
            } else {
                e.value.clone()
            };
            Some((
                value,
                Source::File {
                    path: path.clone(),
                    line: e.line,
                    section: e.section.clone(),
                    key: e.key.clone(),
                },
            ))
        };
        let (value, source) = match from_env.or_else(from_file) {
            Some((v, s)) => (Some(v), s),
            None => (None, Source::Default),
        };
        cfg.settings.push(Setting { def, value, source });
    }
    if let Some((path, _)) = &file {
        for e in &entries {
            let used = DEFS
                .iter()
                .any(|d| d.section == e.section && d.keys.contains(&e.key.as_str()));
            if !used && !IRRELEVANT.contains(&e.key.as_str()) {
                cfg.unused.push(format!(
                    "{}:{}: [{}] {} = {}",
                    path.display(),
                    e.line,
                    e.section,
                    e.key,
                    e.value
                ));
            }
        }
    }
    Ok(cfg)
}

/// Paths in ansible.cfg are relative to its folder (Ansible's `path`/`pathlist` types);
/// a list keeps its commas, a host list (`a,b,`) is not a path.
fn relative_to(value: &str, cfg: &Path, env: &Env) -> String {
    let base = cfg.parent().unwrap_or(Path::new("."));
    value
        .split(',')
        .map(|part| {
            let part = part.trim();
            if part.is_empty() {
                return String::new();
            }
            let p = expand_home_in(part, env.home.as_deref());
            if p.is_absolute() {
                p.display().to_string()
            } else {
                base.join(p).display().to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl Config {
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.def.name == name)
    }

    /// A value and its source, when one is set.
    pub fn value(&self, name: &str) -> Option<(&str, &Source)> {
        self.get(name)
            .and_then(|s| s.value.as_deref().map(|v| (v, &s.source)))
    }

    /// A whole number, refused naming its source when it is not one.
    pub fn number(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>> {
        let Some((v, source)) = self.value(name) else {
            return Ok(None);
        };
        match v.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(Error::usage(format!(
                "{source}: {name} = '{v}' is not a number from {min} to {max}"
            ))),
        }
    }

    /// A boolean as Ansible reads one (yes/no, on/off, true/false, 1/0, y/n, t/f).
    pub fn boolean(&self, name: &str) -> Result<Option<bool>> {
        let Some((v, source)) = self.value(name) else {
            return Ok(None);
        };
        match v.trim().to_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Ok(Some(true)),
            "no" | "off" | "0" | "false" | "n" | "f" | "" => Ok(Some(false)),
            _ => Err(
                Error::usage(format!("{source}: {name} = '{v}' is not a boolean"))
                    .with_hint("use True or False"),
            ),
        }
    }

    /// Warnings to print once per run: keys pgplay does not honour, a skipped ./ansible.cfg.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.skipped {
            out.push(format!(
                "warning: {} is not read: its folder is world-writable (Ansible skips it too); set ANSIBLE_CONFIG to use it",
                p.display()
            ));
        }
        for u in &self.unused {
            out.push(format!(
                "warning: {u}: not used by pgplay (pgplay config lists what is)"
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;
