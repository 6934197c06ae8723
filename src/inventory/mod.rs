//! The inventory: Pigsty's YAML file turned into a frozen, typed model of groups and hosts.
//!
//! Loading (`load.rs`) walks `all: {vars, hosts, children}` recursively; variables are then
//! merged per host with Ansible's precedence (all < parent group < child group < host < -e,
//! groups of equal depth by name), and the Pigsty variables pgplay acts on are typed and
//! checked (`crate::pg::vars`, connection variables `conn/`, checked against the transport a run
//! uses by `conn_check.rs`); a wrong one is kept as a `crate::vars::Problem` that the run
//! refuses if it reads the variable. Nothing mutates an `Inventory` after loading;
//! per-run state lives in the executor.

mod conn;
mod conn_check;
mod load;
mod pattern;
#[cfg(test)]
mod pg_tests;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

pub use conn::{BecomeVars, ConnVars, SshArgVar, Transport, Use, VARIABLES};
pub use conn_check::check as check_connections;
pub use load::{load, load_many, load_str};
pub use pattern::select;

use crate::pg::Domain;
use crate::vars::Problem;
use crate::yaml::{Node, Span};

/// Index of a host in `Inventory::hosts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub usize);

/// Index of a group in `Inventory::groups`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub usize);

#[derive(Debug)]
pub struct Group {
    pub name: String,
    pub span: Span,
    /// Variables written on the group itself.
    pub vars: Map<String, Value>,
    /// The same variables as loaded nodes (positions kept), shared with the hosts.
    pub var_nodes: HashMap<String, Arc<Node>>,
    /// Direct children, in file order.
    pub children: Vec<GroupId>,
    /// Hosts listed directly under this group, in file order.
    pub hosts: Vec<HostId>,
    /// Longest path from `all` (all = 0).
    pub depth: usize,
}

#[derive(Debug)]
pub struct Host {
    pub name: String,
    pub span: Span,
    /// Every group the host is in, directly or through children, `all` included.
    pub groups: Vec<GroupId>,
    /// Merged variables from the inventory alone (what ansible-inventory prints).
    pub inventory_vars: Map<String, Value>,
    /// Merged variables with extra vars (-e) on top: what tasks see.
    pub vars: Map<String, Value>,
    /// The node each variable of `vars` came from (where it was set, for typed reading).
    pub var_nodes: HashMap<String, Arc<Node>>,
    /// Typed connection and domain variables.
    pub conn: ConnVars,
    pub domain: Domain,
    /// Typed variables that are wrong: refused if the run reads them, warned about otherwise.
    pub problems: Vec<Problem>,
}

#[derive(Debug)]
pub struct Inventory {
    pub source: String,
    pub groups: Vec<Group>,
    pub hosts: Vec<Host>,
}

impl Inventory {
    /// The first problem of any host, as an error (for callers that want every variable
    /// right, e.g. tests of the typed model).
    pub fn first_problem(&self) -> Option<crate::error::Error> {
        self.hosts
            .iter()
            .flat_map(|h| h.problems.iter())
            .next()
            .map(Problem::error)
    }

    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id.0]
    }

    pub fn group(&self, id: GroupId) -> &Group {
        &self.groups[id.0]
    }

    pub fn find_group(&self, name: &str) -> Option<GroupId> {
        self.groups.iter().position(|g| g.name == name).map(GroupId)
    }

    pub fn find_host(&self, name: &str) -> Option<HostId> {
        self.hosts.iter().position(|h| h.name == name).map(HostId)
    }

    pub fn host_ids(&self) -> impl Iterator<Item = HostId> {
        (0..self.hosts.len()).map(HostId)
    }

    /// Every host in a group, through its children too, in inventory order.
    pub fn group_hosts(&self, id: GroupId) -> Vec<HostId> {
        let mut out: Vec<HostId> = self
            .host_ids()
            .filter(|h| self.host(*h).groups.contains(&id))
            .collect();
        out.sort();
        out
    }

    /// Group names of a host (Ansible's `group_names`: sorted, without `all`).
    pub fn group_names(&self, id: HostId) -> Vec<String> {
        let mut names: Vec<String> = self
            .host(id)
            .groups
            .iter()
            .map(|g| self.group(*g).name.clone())
            .filter(|n| n != "all")
            .collect();
        names.sort();
        names
    }
}
