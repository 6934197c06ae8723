//! Typed views of the variables pgplay acts on, checked once at load time.
//!
//! Connection variables (`ansible_host`, `ansible_port`, ...) and Pigsty's domain variables
//! (`node_crontab`, `node_crontab_overwrite`, later pg identity, `pgbackrest_*`, `pg_pitr`)
//! are read from a host's merged variables into Rust types here. A wrong type or value is
//! refused before any host is touched, with the file, line and key where it was set.
//! Values that still contain a template (`{{ ... }}`) are checked when rendered instead.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::Problem;
use crate::crontab::{self, CronEntry};
use crate::error::{Error, Result};
use crate::yaml::{de, Node, Span};

/// How to reach a host (`ansible_connection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnKind {
    /// Not set (or `smart`): the transport chosen with -c (russh by default).
    Default,
    /// `ssh`: the system's OpenSSH client, as Ansible's ssh connection.
    Openssh,
    /// `russh` (pgplay's name): the native SSH client.
    Russh,
    /// `local`: run on this machine.
    Local,
}

#[derive(Clone, Debug)]
pub struct ConnVars {
    pub kind: ConnKind,
    pub address: String,
    pub port: u16,
    pub user: Option<String>,
    pub key_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub r#become: bool,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    /// Whether the inventory set any of user, port, key file or known_hosts (for the
    /// openssh transport: otherwise `~/.ssh/config` alone decides them).
    pub explicit: bool,
}

/// Pigsty domain variables, typed.
#[derive(Clone, Debug, Default)]
pub struct Domain {
    /// `node_crontab`: `/etc/crontab` lines (schedule, user, command).
    pub node_crontab: Vec<CronEntry>,
    /// `node_crontab_overwrite`: replace /etc/crontab (true, Pigsty's default) or append.
    pub node_crontab_overwrite: bool,
    /// PostgreSQL identity, pgBackRest and pg_crontab, for hosts with `pg_cluster`.
    pub pg: Option<super::PgVars>,
}

/// Where a variable was set, falling back to the host's own line.
fn span_of<'a>(nodes: &'a HashMap<String, Arc<Node>>, key: &str, host: &'a Span) -> &'a Span {
    nodes.get(key).map(|n| &n.span).unwrap_or(host)
}

/// Ansible's boolean conversion for a typed variable.
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "on" | "1" | "t" => Some(true),
            "no" | "n" | "false" | "off" | "0" | "f" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn is_template(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.contains("{{") || s.contains("{%"))
}

fn get_bool(
    vars: &Map<String, Value>,
    nodes: &HashMap<String, Arc<Node>>,
    host: &Span,
    key: &str,
    default: bool,
) -> Result<bool> {
    match vars.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) if is_template(v) => Ok(default),
        Some(v) => as_bool(v).ok_or_else(|| {
            Error::invalid(
                span_of(nodes, key, host),
                key,
                format!("expected true or false, found {v}"),
            )
        }),
    }
}

fn get_string(
    vars: &Map<String, Value>,
    nodes: &HashMap<String, Arc<Node>>,
    host: &Span,
    key: &str,
) -> Result<Option<String>> {
    match vars.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(v) => Err(Error::invalid(
            span_of(nodes, key, host),
            key,
            format!("expected a string, found {v}"),
        )),
    }
}

/// Read the `ansible_*` connection variables of a host.
pub fn conn_vars(
    name: &str,
    host: &Span,
    vars: &Map<String, Value>,
    nodes: &HashMap<String, Arc<Node>>,
) -> Result<ConnVars> {
    let kind = match get_string(vars, nodes, host, "ansible_connection")?.as_deref() {
        None | Some("smart") => ConnKind::Default,
        Some("ssh") | Some("openssh") => ConnKind::Openssh,
        Some("russh") | Some("paramiko") => ConnKind::Russh,
        Some("local") => ConnKind::Local,
        Some(other) => {
            return Err(Error::invalid(
                span_of(nodes, "ansible_connection", host),
                "ansible_connection",
                format!("unsupported connection '{other}' (pgplay speaks ssh, russh and local)"),
            ))
        }
    };
    let port = match vars
        .get("ansible_port")
        .or_else(|| vars.get("ansible_ssh_port"))
    {
        None | Some(Value::Null) => 22,
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            match n {
                Some(n) if (1..=65535).contains(&n) => n as u16,
                _ => {
                    return Err(Error::invalid(
                        span_of(nodes, "ansible_port", host),
                        "ansible_port",
                        format!("expected a port number 1-65535, found {v}"),
                    ))
                }
            }
        }
    };
    let address = get_string(vars, nodes, host, "ansible_host")?
        .or(get_string(vars, nodes, host, "ansible_ssh_host")?)
        .unwrap_or_else(|| name.to_string());
    let key_file = get_string(vars, nodes, host, "ansible_ssh_private_key_file")?
        .or(get_string(vars, nodes, host, "ansible_private_key_file")?)
        .map(|p| expand_home(&p));
    let become_method = get_string(vars, nodes, host, "ansible_become_method")?;
    if let Some(m) = &become_method {
        if m != "sudo" && m != "su" {
            return Err(Error::invalid(
                span_of(nodes, "ansible_become_method", host),
                "ansible_become_method",
                format!("unsupported become method '{m}' (use sudo or su)"),
            ));
        }
    }
    let explicit = [
        "ansible_user",
        "ansible_ssh_user",
        "ansible_port",
        "ansible_ssh_port",
        "ansible_ssh_private_key_file",
        "ansible_private_key_file",
        "pgplay_known_hosts",
    ]
    .iter()
    .any(|k| vars.get(*k).is_some_and(|v| !v.is_null()));
    Ok(ConnVars {
        explicit,
        kind,
        address,
        port,
        user: get_string(vars, nodes, host, "ansible_user")?.or(get_string(
            vars,
            nodes,
            host,
            "ansible_ssh_user",
        )?),
        key_file,
        known_hosts: get_string(vars, nodes, host, "pgplay_known_hosts")?.map(|p| expand_home(&p)),
        r#become: get_bool(vars, nodes, host, "ansible_become", false)?,
        become_user: get_string(vars, nodes, host, "ansible_become_user")?,
        become_method,
    })
}

impl ConnVars {
    /// What a host with wrong connection variables gets until the run refuses it: its name as
    /// the address, port 22 (it is never connected to: a wrong `ansible_*` of a host in play
    /// always stops the run).
    pub fn fallback(name: &str) -> ConnVars {
        ConnVars {
            kind: ConnKind::Default,
            address: name.to_string(),
            port: 22,
            user: None,
            key_file: None,
            known_hosts: None,
            r#become: false,
            become_user: None,
            become_method: None,
            explicit: false,
        }
    }
}

/// `~/x` → `$HOME/x`.
pub fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().unwrap_or_default().join(rest),
        None => PathBuf::from(path),
    }
}

impl Domain {
    /// The typed view, and the problems found (each part read on its own: a wrong
    /// `node_crontab` leaves the PostgreSQL view usable, and the other way round).
    pub fn from_vars(
        host: &Span,
        vars: &Map<String, Value>,
        nodes: &HashMap<String, Arc<Node>>,
    ) -> (Domain, Vec<Problem>) {
        let (pg, mut problems) = super::PgVars::from_vars(host, vars, nodes);
        let node_crontab = node_crontab(nodes).unwrap_or_else(|e| {
            problems.push(Problem::new(e, host, &[]));
            Vec::new()
        });
        let node_crontab_overwrite = get_bool(vars, nodes, host, "node_crontab_overwrite", true)
            .unwrap_or_else(|e| {
                problems.push(Problem::new(e, host, &[]));
                true
            });
        (
            Domain {
                pg,
                node_crontab,
                node_crontab_overwrite,
            },
            problems,
        )
    }
}

/// `node_crontab`: a list of `/etc/crontab` lines (with a user field).
fn node_crontab(nodes: &HashMap<String, Arc<Node>>) -> Result<Vec<CronEntry>> {
    {
        let node_crontab = match nodes.get("node_crontab") {
            None => Vec::new(),
            Some(node) if node.is_null() || is_template(&node.to_json()) => Vec::new(),
            Some(node) => {
                let lines: Vec<Node> = match &node.kind {
                    crate::yaml::Kind::Seq(items) => items.clone(),
                    _ => {
                        return Err(Error::invalid(
                            &node.span,
                            "node_crontab",
                            format!(
                                "expected a list of crontab lines, found {}",
                                node.type_name()
                            ),
                        )
                        .with_hint(
                            "node_crontab: [ '00 01 * * * postgres /pg/bin/pg-backup full' ]",
                        ))
                    }
                };
                let mut out = Vec::new();
                for (i, item) in lines.iter().enumerate() {
                    let key = format!("node_crontab[{i}]");
                    let line: String = match &item.kind {
                        crate::yaml::Kind::Str(_) => de::from_node(item)
                            .map_err(|e| Error::invalid(&item.span, key.clone(), e.message))?,
                        _ => return Err(Error::invalid(
                            &item.span,
                            key,
                            format!(
                                "a crontab entry must be a string, found {}",
                                item.type_name()
                            ),
                        )
                        .with_hint(
                            "quote the whole line: '00 01 * * * postgres /pg/bin/pg-backup full'",
                        )),
                    };
                    if is_template(&Value::String(line.clone())) {
                        continue;
                    }
                    let entry = crontab::parse_line(&line, true).map_err(|e| {
                        Error::invalid(
                            &item.span,
                            key,
                            format!("invalid crontab line {line:?}: {e}"),
                        )
                        .with_hint(
                            "an /etc/crontab line is: minute hour day month weekday user command, \
                                 e.g. '00 01 * * * postgres /pg/bin/pg-backup full'",
                        )
                    })?;
                    out.push(entry);
                }
                out
            }
        };
        Ok(node_crontab)
    }
}
