//! Which inventories a run reads: every `-i` (repeatable, as Ansible), else ansible.cfg's
//! `inventory` / `ANSIBLE_INVENTORY`, else ./pigsty.yml, else ~/pigsty/pigsty.yml (Pigsty's
//! places). A value with a comma that is not a file is a host list (`-i a,b,`). The settings
//! decide which texts; `inventory` turns the texts into one inventory.

use std::path::PathBuf;

use serde_json::Value;

use super::InventorySource;
use crate::config::Source;
use crate::error::{Error, Result};
use crate::inventory::{load_many, Inventory};
use crate::yaml::Node;

/// Load the inventories as one; returns a label for messages ("a.yml, b.yml") too.
pub fn load_inventories(given: &[InventorySource], extra: &[Node]) -> Result<(String, Inventory)> {
    let given = if given.is_empty() {
        vec![default_inventory()?]
    } else {
        given.to_vec()
    };
    let mut docs = Vec::new();
    for src in &given {
        let path = PathBuf::from(&src.value);
        if src.value.contains(',') && !path.exists() {
            docs.push((format!("{} host list", named(&src.from)), host_list(src)?));
            continue;
        }
        if !path.is_file() {
            return Err(Error::usage(format!(
                "{} {}: no such file",
                named(&src.from),
                src.value
            ))
            .with_hint(
                "give an inventory file (Pigsty's pigsty.yml) or a host list: -i 10.10.10.10,10.10.10.11,",
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        docs.push((src.value.clone(), text));
    }
    let inv = load_many(&docs, extra)?;
    Ok((inv.source.clone(), inv))
}

/// How to name where an inventory was given: `-i`, `ANSIBLE_INVENTORY`, `ansible.cfg:2: ...`.
fn named(from: &Source) -> String {
    match from {
        Source::Flag(f) => f.to_string(),
        Source::Env(name) => name.clone(),
        other => other.to_string(),
    }
}

/// ./pigsty.yml, else ~/pigsty/pigsty.yml.
fn default_inventory() -> Result<InventorySource> {
    let mut candidates = vec![PathBuf::from("pigsty.yml")];
    if let Some(home) = dirs::home_dir() {
        candidates.push(home.join("pigsty").join("pigsty.yml"));
    }
    candidates
        .iter()
        .find(|p| p.exists())
        .map(|p| InventorySource {
            value: p.to_string_lossy().into_owned(),
            from: Source::Default,
        })
        .ok_or_else(|| {
            Error::usage("no inventory: ./pigsty.yml and ~/pigsty/pigsty.yml do not exist")
                .with_hint(
                "pass one with -i (e.g. -i inventory/sandbox.yml), or set inventory in ansible.cfg",
            )
        })
}

/// `-i a,b,`: the hosts, ungrouped, with no variables of their own, as inventory YAML.
fn host_list(src: &InventorySource) -> Result<String> {
    let text = &src.value;
    let hosts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    if hosts.is_empty() {
        return Err(Error::usage(format!(
            "{} {text}: the host list names no host",
            named(&src.from)
        )));
    }
    let mut yaml = String::from("all:\n  hosts:\n");
    for h in &hosts {
        if h.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/'\"{}#".contains(c))
        {
            return Err(Error::usage(format!(
                "{} {text}: '{h}' is not a host name or address",
                named(&src.from)
            )));
        }
        yaml.push_str(&format!("    {}: {{}}\n", Value::String((*h).to_string())));
    }
    Ok(yaml)
}
