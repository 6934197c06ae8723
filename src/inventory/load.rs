//! Reading a Pigsty/Ansible YAML inventory into groups and hosts, then merging variables.
//!
//! Layout: `all: {vars, hosts, children: {<group>: {hosts, vars, children}}}`; any other
//! top-level key is a group under `all`. A group may appear under several parents and a host
//! in several groups. Unknown keys in a group are refused (Ansible only warns, and a typo such
//! as `var:` would silently drop every variable under it).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{conn, ConnVars, Group, GroupId, Host, HostId, Inventory};
use crate::error::{did_you_mean, Error, Result};
use crate::pg::Domain;
use crate::vars::Problem;
use crate::yaml::{self, Kind, Node, Span};

const GROUP_KEYS: &[&str] = &["hosts", "vars", "children"];

/// Load an inventory file and apply extra variables (each a mapping node, in -e order).
pub fn load(path: &str, extra: &[Node]) -> Result<Inventory> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    load_str(path, &text, extra)
}

/// Load from text; `path` is used for messages.
pub fn load_str(path: &str, text: &str, extra: &[Node]) -> Result<Inventory> {
    load_many(&[(path.to_string(), text.to_string())], extra)
}

/// Several inventories as one (`-i a.yml -i b.yml`, as Ansible): groups of the same name
/// are one group, a host defined in several files is one host, and where two files set a
/// variable at the same level the later file wins. Each document is `(path, text)`.
pub fn load_many(docs: &[(String, String)], extra: &[Node]) -> Result<Inventory> {
    let mut b = Build {
        groups: Vec::new(),
        host_defs: Vec::new(),
        hosts: Vec::new(),
        parents: Vec::new(),
    };
    let mut all = None;
    for (path, text) in docs {
        let root = yaml::load(path, text).map_err(|e| Error::Syntax {
            span: e.span,
            message: e.message,
        })?;
        let all = *all.get_or_insert_with(|| b.group("all", &root.span));
        match &root.kind {
            Kind::Null => {}
            Kind::Map(entries) => {
                for (k, v) in entries {
                    let name = k.key_text();
                    if name == "all" {
                        b.parse_group(all, v)?;
                    } else {
                        let id = b.group(&name, &k.span);
                        b.link(all, id);
                        b.parse_group(id, v)?;
                    }
                }
            }
            _ => {
                return Err(Error::invalid(
                    &root.span,
                    "",
                    format!(
                        "an inventory must be a mapping with an 'all' group, not {}",
                        root.type_name()
                    ),
                ))
            }
        }
    }
    let Some(all) = all else {
        return Err(Error::usage("no inventory was given"));
    };
    let span = b.groups[all.0].span.clone();
    let ungrouped = b.group("ungrouped", &span);
    b.link(all, ungrouped);
    for h in 0..b.hosts.len() {
        let direct: Vec<GroupId> = b
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.hosts.contains(&HostId(h)))
            .map(|(i, _)| GroupId(i))
            .collect();
        if direct == [all] {
            b.groups[ungrouped.0].hosts.push(HostId(h));
        }
    }
    let label: Vec<&str> = docs.iter().map(|(p, _)| p.as_str()).collect();
    b.finish(&label.join(", "), extra)
}

struct Build {
    groups: Vec<Group>,
    /// Per host: every `hosts:` entry that defined it, in file order.
    host_defs: Vec<Vec<Node>>,
    hosts: Vec<(String, Span)>,
    parents: Vec<Vec<GroupId>>,
}

impl Build {
    fn group(&mut self, name: &str, span: &Span) -> GroupId {
        if let Some(i) = self.groups.iter().position(|g| g.name == name) {
            return GroupId(i);
        }
        self.groups.push(Group {
            name: name.to_string(),
            span: span.clone(),
            vars: Map::new(),
            var_nodes: HashMap::new(),
            children: Vec::new(),
            hosts: Vec::new(),
            depth: 0,
        });
        self.parents.push(Vec::new());
        GroupId(self.groups.len() - 1)
    }

    fn link(&mut self, parent: GroupId, child: GroupId) {
        if !self.groups[parent.0].children.contains(&child) {
            self.groups[parent.0].children.push(child);
            self.parents[child.0].push(parent);
        }
    }

    fn parse_group(&mut self, id: GroupId, node: &Node) -> Result<()> {
        let entries = match &node.kind {
            Kind::Null => return Ok(()),
            Kind::Map(entries) => entries,
            _ => {
                return Err(Error::invalid(
                    &node.span,
                    self.groups[id.0].name.clone(),
                    format!(
                        "a group must be a mapping of hosts/vars/children, not {}",
                        node.type_name()
                    ),
                ))
            }
        };
        for (k, v) in entries {
            let key = k.key_text();
            match key.as_str() {
                "hosts" => self.parse_hosts(id, v)?,
                "vars" => {
                    let vars = expect_map(v, &format!("{}.vars", self.groups[id.0].name))?;
                    for (vk, vv) in vars {
                        let name = vk.key_text();
                        let g = &mut self.groups[id.0];
                        g.vars.insert(name.clone(), vv.to_json());
                        g.var_nodes.insert(name, Arc::new(vv.clone()));
                    }
                }
                "children" => {
                    let children = expect_map(v, &format!("{}.children", self.groups[id.0].name))?;
                    for (ck, cv) in children {
                        let child = self.group(&ck.key_text(), &ck.span);
                        if child == id || self.is_ancestor(child, id) {
                            return Err(Error::invalid(
                                &ck.span,
                                ck.key_text(),
                                "this group is its own ancestor (a cycle of children)",
                            ));
                        }
                        self.link(id, child);
                        self.parse_group(child, cv)?;
                    }
                }
                other => {
                    let mut err = Error::invalid(
                        &k.span,
                        format!("{}.{other}", self.groups[id.0].name),
                        "unknown key in a group (expected hosts, vars or children)",
                    );
                    if let Some(h) = did_you_mean(other, GROUP_KEYS.iter().copied()) {
                        err = err.with_hint(h);
                    } else {
                        err = err.with_hint(
                            "a group's variables go under 'vars:', its sub-groups under 'children:'",
                        );
                    }
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    fn is_ancestor(&self, candidate: GroupId, of: GroupId) -> bool {
        let mut stack = vec![of];
        let mut seen = Vec::new();
        while let Some(g) = stack.pop() {
            if g == candidate {
                return true;
            }
            if seen.contains(&g) {
                continue;
            }
            seen.push(g);
            stack.extend(self.parents[g.0].iter().copied());
        }
        false
    }

    fn parse_hosts(&mut self, id: GroupId, node: &Node) -> Result<()> {
        let entries = expect_map(node, &format!("{}.hosts", self.groups[id.0].name))?;
        for (k, v) in entries {
            let name = k.key_text();
            if name.is_empty() {
                return Err(Error::invalid(&k.span, "hosts", "a host name is empty"));
            }
            if !matches!(v.kind, Kind::Null | Kind::Map(_)) {
                return Err(Error::invalid(
                    &v.span,
                    name,
                    format!(
                        "host variables must be a mapping (or empty), not {}",
                        v.type_name()
                    ),
                )
                .with_hint("write `host: { var: value }` or `host:` with nothing after it"));
            }
            let hid = match self.hosts.iter().position(|(n, _)| *n == name) {
                Some(i) => HostId(i),
                None => {
                    self.hosts.push((name.clone(), k.span.clone()));
                    self.host_defs.push(Vec::new());
                    HostId(self.hosts.len() - 1)
                }
            };
            self.host_defs[hid.0].push(v.clone());
            if !self.groups[id.0].hosts.contains(&hid) {
                self.groups[id.0].hosts.push(hid);
            }
        }
        Ok(())
    }

    fn ancestors(&self, g: GroupId) -> Vec<GroupId> {
        let mut out = Vec::new();
        let mut stack = vec![g];
        while let Some(x) = stack.pop() {
            if out.contains(&x) {
                continue;
            }
            out.push(x);
            stack.extend(self.parents[x.0].iter().copied());
        }
        out
    }

    fn depth(&self, g: GroupId) -> usize {
        self.parents[g.0]
            .iter()
            .map(|p| self.depth(*p) + 1)
            .max()
            .unwrap_or(0)
    }

    fn finish(mut self, path: &str, extra: &[Node]) -> Result<Inventory> {
        for i in 0..self.groups.len() {
            self.groups[i].depth = self.depth(GroupId(i));
        }
        let mut extra_vars: Vec<(String, Value, Arc<Node>)> = Vec::new();
        for node in extra {
            let entries = expect_map(node, "extra vars")?;
            for (k, v) in entries {
                extra_vars.push((k.key_text(), v.to_json(), Arc::new(v.clone())));
            }
        }
        let mut hosts = Vec::new();
        for (i, (name, span)) in self.hosts.iter().enumerate() {
            let mut groups: Vec<GroupId> = Vec::new();
            for (gi, g) in self.groups.iter().enumerate() {
                if g.hosts.contains(&HostId(i)) {
                    for a in self.ancestors(GroupId(gi)) {
                        if !groups.contains(&a) {
                            groups.push(a);
                        }
                    }
                }
            }
            let mut order = groups.clone();
            order.sort_by(|a, b| {
                let (ga, gb) = (&self.groups[a.0], &self.groups[b.0]);
                (ga.depth, &ga.name).cmp(&(gb.depth, &gb.name))
            });
            let mut vars = Map::new();
            let mut var_nodes: HashMap<String, Arc<Node>> = HashMap::new();
            for g in &order {
                let g = &self.groups[g.0];
                for (k, v) in &g.vars {
                    vars.insert(k.clone(), v.clone());
                    if let Some(n) = g.var_nodes.get(k) {
                        var_nodes.insert(k.clone(), n.clone());
                    }
                }
            }
            for def in &self.host_defs[i] {
                if let Kind::Map(entries) = &def.kind {
                    for (k, v) in entries {
                        vars.insert(k.key_text(), v.to_json());
                        var_nodes.insert(k.key_text(), Arc::new(v.clone()));
                    }
                }
            }
            let inventory_vars = vars.clone();
            for (k, v, n) in &extra_vars {
                vars.insert(k.clone(), v.clone());
                var_nodes.insert(k.clone(), n.clone());
            }
            let (dom, mut problems) = Domain::from_vars(span, &vars, &var_nodes);
            let conn = conn::conn_vars(name, span, &vars, &var_nodes).unwrap_or_else(|e| {
                problems.push(Problem::new(e, span, &[]));
                ConnVars::fallback(name)
            });
            hosts.push(Host {
                name: name.clone(),
                span: span.clone(),
                groups,
                inventory_vars,
                vars,
                var_nodes,
                conn,
                domain: dom,
                problems,
            });
        }
        Ok(Inventory {
            source: path.to_string(),
            groups: self.groups,
            hosts,
        })
    }
}

fn expect_map<'a>(node: &'a Node, what: &str) -> Result<&'a [(Node, Node)]> {
    match &node.kind {
        Kind::Map(entries) => Ok(entries),
        Kind::Null => Ok(&[]),
        _ => Err(Error::invalid(
            &node.span,
            what,
            format!("expected a mapping, found {}", node.type_name()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::load_str;
    use serde_json::json;

    const INV: &str = "all:
  vars: { x: all, y: all, ansible_user: root }
  children:
    pg:
      vars: { x: pg, z: pg }
      children:
        pg-meta:
          hosts:
            127.0.10.10: { y: host, pg_seq: 1 }
          vars: { x: pg-meta }
    aa:
      hosts:
        127.0.10.10: {}
        127.0.10.11:
      vars: { z: aa }
  hosts:
    127.0.0.5:
";

    #[test]
    fn precedence_follows_ansible() {
        let inv = match load_str("inv.yml", INV, &[]) {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        };
        let h = inv.find_host("127.0.10.10").map(|h| inv.host(h));
        let vars = h.map(|h| json!(h.vars)).unwrap_or_default();
        // child group beats parent group; depth-1 groups 'aa' < 'pg' by name, so pg wins z.
        assert_eq!(vars["x"], "pg-meta");
        assert_eq!(vars["y"], "host");
        assert_eq!(vars["z"], "pg");
        let names = inv
            .find_host("127.0.10.10")
            .map(|h| inv.group_names(h))
            .unwrap_or_default();
        assert_eq!(names, vec!["aa", "pg", "pg-meta"]);
        let ungrouped = inv.find_group("ungrouped").map(|g| inv.group_hosts(g));
        assert_eq!(ungrouped.map(|v| v.len()), Some(1));
    }

    #[test]
    fn unknown_group_key_is_refused_with_a_hint() {
        let err = load_str(
            "inv.yml",
            "all:\n  children:\n    g:\n      var: {a: 1}\n",
            &[],
        );
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("inv.yml:4:7"), "{text}");
        assert!(text.contains("did you mean 'vars'"), "{text}");
    }
}
