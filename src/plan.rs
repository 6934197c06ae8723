//! The plan: a DAG whose nodes are (task, host) pairs of one play.
//!
//! Each host runs its own chain of selected tasks, in order, and never waits for another host
//! unless a task asks for it:
//! - `after: <task name>` — this task starts on any host only once the named earlier task has
//!   finished on every host of the play ("A on all hosts before B on any host");
//! - `throttle: 1` — at most one host runs this task at a time (the executor enforces it);
//! - `run_once: true` — the task runs on the play's first host; the others wait for it and
//!   share its result;
//! - `any_errors_fatal: true` on the play — lockstep: every host finishes a task before any
//!   host starts the next (a `Lockstep` node joins them), so that a failure there is given
//!   to every host at that task.
//!
//! Blocks add no edges: the steps of a block's body, rescue and always sections stay in each
//! host's chain, in that order, and the executor decides per host whether each one runs
//! (`crate::exec::flow`); what the plan adds is which blocks have a rescue among the selected
//! tasks (`rescues`).
//!
//! The graph is checked for cycles when built and can be printed as DOT (`--graph`).

use std::collections::HashSet;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::error::{Error, Result};
use crate::inventory::{HostId, Inventory};
use crate::playbook::{BlockId, Play, Section, TaskId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub task: TaskId,
    pub host: HostId,
}

/// A node of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Step(Step),
    /// A barrier joining many edges, so `after:` costs 2N edges, not N².
    Join,
    /// `any_errors_fatal`'s barrier: every host has finished this task.
    Lockstep(TaskId),
}

impl Node {
    pub fn step(&self) -> Option<Step> {
        match self {
            Node::Step(s) => Some(*s),
            Node::Join | Node::Lockstep(_) => None,
        }
    }
}

#[derive(Debug)]
pub struct Plan {
    pub graph: DiGraph<Node, ()>,
    pub hosts: Vec<HostId>,
    pub tasks: Vec<TaskId>,
    /// Blocks with a selected task in their `rescue:` (only those rescue a failure).
    pub rescues: HashSet<BlockId>,
}

impl Plan {
    pub fn build(play: &Play, hosts: &[HostId], tasks: &[TaskId]) -> Result<Plan> {
        let mut graph = DiGraph::new();
        // index[t][h] = node of task t (position in `tasks`) on host h (position in `hosts`).
        let mut index: Vec<Vec<NodeIndex>> = Vec::with_capacity(tasks.len());
        for &task in tasks {
            index.push(
                hosts
                    .iter()
                    .map(|&host| graph.add_node(Node::Step(Step { task, host })))
                    .collect(),
            );
        }
        for (t, pair) in index.windows(2).enumerate() {
            if play.any_errors_fatal {
                // Lockstep, as Ansible's linear strategy: every host finishes a task before any
                // host starts the next, so one failure reaches every host at that task.
                let barrier = graph.add_node(Node::Lockstep(tasks[t]));
                for from in &pair[0] {
                    graph.add_edge(*from, barrier, ());
                }
                for to in &pair[1] {
                    graph.add_edge(barrier, *to, ());
                }
            } else {
                for (from, to) in pair[0].iter().zip(&pair[1]) {
                    graph.add_edge(*from, *to, ());
                }
            }
        }
        for (t, &task_id) in tasks.iter().enumerate() {
            let task = &play.tasks[task_id.0];
            for name in &task.after {
                // The named task may be deselected by tags: then there is nothing to wait for.
                let Some(dep) = tasks.iter().position(|id| &play.tasks[id.0].name == name) else {
                    continue;
                };
                let barrier = graph.add_node(Node::Join);
                for from in &index[dep] {
                    graph.add_edge(*from, barrier, ());
                }
                for to in &index[t] {
                    graph.add_edge(barrier, *to, ());
                }
            }
            if task.run_once && !hosts.is_empty() {
                for h in 1..hosts.len() {
                    graph.add_edge(index[t][0], index[t][h], ());
                }
            }
        }
        if let Err(cycle) = petgraph::algo::toposort(&graph, None) {
            let Some(step) = graph
                .node_weight(cycle.node_id())
                .and_then(Node::step)
                .or_else(|| {
                    graph
                        .neighbors_directed(cycle.node_id(), petgraph::Direction::Outgoing)
                        .find_map(|n| graph[n].step())
                })
            else {
                return Err(Error::Other("the plan has a cycle".into()));
            };
            let task = &play.tasks[step.task.0];
            return Err(Error::invalid(
                &task.span,
                task.name.clone(),
                "this task is part of a cycle of 'after:' dependencies",
            ));
        }
        let rescues = tasks
            .iter()
            .flat_map(|t| &play.tasks[t.0].blocks)
            .filter(|f| f.section == Section::Rescue)
            .map(|f| f.block)
            .collect();
        Ok(Plan {
            graph,
            hosts: hosts.to_vec(),
            tasks: tasks.to_vec(),
            rescues,
        })
    }

    /// Graphviz DOT text of the plan.
    pub fn dot(&self, play: &Play, inv: &Inventory) -> String {
        let mut out = String::from("digraph pgplay {\n  rankdir=LR;\n  node [shape=box];\n");
        for idx in self.graph.node_indices() {
            match self.graph[idx] {
                Node::Step(step) => out.push_str(&format!(
                    "  n{} [label=\"{}\\n{}\"];\n",
                    idx.index(),
                    escape(&play.tasks[step.task.0].name),
                    escape(&inv.host(step.host).name)
                )),
                Node::Join | Node::Lockstep(_) => out.push_str(&format!(
                    "  n{} [label=\"all hosts\", shape=circle];\n",
                    idx.index()
                )),
            }
        }
        for edge in self.graph.edge_references() {
            out.push_str(&format!(
                "  n{} -> n{};\n",
                edge.source().index(),
                edge.target().index()
            ));
        }
        out.push_str("}\n");
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use petgraph::Direction;

    use super::{Node, Plan};
    use crate::builtin::Source;
    use crate::inventory::HostId;
    use crate::playbook::{load_source, Play, TaskId};

    fn play(text: &str) -> Play {
        match load_source("t", "t.yml", text, Source::Builtin) {
            Ok(mut pb) => pb.plays.remove(0),
            Err(e) => panic!("{e}"),
        }
    }

    /// What each step waits for, through the barrier nodes: `b@1 <- a@0 a@1`, one line per
    /// step that waits for anything.
    fn waits(play: &Play, hosts: usize, selected: &[&str]) -> Vec<String> {
        let hosts: Vec<HostId> = (0..hosts).map(HostId).collect();
        let tasks: Vec<TaskId> = play
            .tasks
            .iter()
            .filter(|t| selected.contains(&t.name.as_str()))
            .map(|t| t.id)
            .collect();
        let plan = match Plan::build(play, &hosts, &tasks) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let g = &plan.graph;
        let label = |n| match g[n] {
            Node::Step(s) => format!("{}@{}", play.tasks[s.task.0].name, s.host.0),
            Node::Join | Node::Lockstep(_) => String::new(),
        };
        let mut out = BTreeMap::new();
        for n in g.node_indices().filter(|n| g[*n].step().is_some()) {
            let mut before = Vec::new();
            for p in g.neighbors_directed(n, Direction::Incoming) {
                match g[p] {
                    Node::Step(_) => before.push(label(p)),
                    Node::Join | Node::Lockstep(_) => {
                        before.extend(g.neighbors_directed(p, Direction::Incoming).map(label))
                    }
                }
            }
            before.sort();
            before.dedup();
            if !before.is_empty() {
                out.insert(label(n), before.join(" "));
            }
        }
        out.into_iter()
            .map(|(k, v)| format!("{k} <- {v}"))
            .collect()
    }

    const TASKS: &str = "- hosts: all
  tasks:
    - { name: a, debug: {} }
    - { name: b, debug: {} }
    - { name: c, debug: {}, after: a }
    - { name: d, debug: {}, run_once: true }
";

    #[test]
    fn each_host_runs_its_own_chain_and_waits_only_where_a_task_says() {
        let p = play(TASKS);
        for (selected, want) in [
            (&["a", "b"][..], &["b@0 <- a@0", "b@1 <- a@1"][..]),
            // after: a — c starts on any host once a has finished on every host
            (
                &["a", "b", "c"],
                &[
                    "b@0 <- a@0",
                    "b@1 <- a@1",
                    "c@0 <- a@0 a@1 b@0",
                    "c@1 <- a@0 a@1 b@1",
                ],
            ),
            // the task c waits for is deselected (by tags): nothing to wait for
            (&["b", "c"], &["c@0 <- b@0", "c@1 <- b@1"]),
            // run_once: the first host runs it, the others wait for its result
            (&["b", "d"], &["d@0 <- b@0", "d@1 <- b@1 d@0"]),
        ] {
            assert_eq!(waits(&p, 2, selected), want, "{selected:?}");
        }
    }

    #[test]
    fn any_errors_fatal_runs_the_play_in_lockstep() {
        let p = play(&TASKS.replacen(
            "- hosts: all\n",
            "- hosts: all\n  any_errors_fatal: true\n",
            1,
        ));
        assert_eq!(
            waits(&p, 2, &["a", "b"]),
            ["b@0 <- a@0 a@1", "b@1 <- a@0 a@1"]
        );
    }

    #[test]
    fn only_blocks_with_a_selected_rescue_task_rescue() {
        let p = play(
            "- hosts: all
  tasks:
    - block: [{ name: b1, debug: {} }]
      rescue: [{ name: r1, debug: {}, tags: never }]
    - block: [{ name: b2, debug: {} }]
      rescue: [{ name: r2, debug: {} }]
",
        );
        let all: Vec<TaskId> = p.tasks.iter().map(|t| t.id).collect();
        let without_r1: Vec<TaskId> = all.iter().copied().filter(|t| t.0 != 1).collect();
        let rescues = |tasks: &[TaskId]| match Plan::build(&p, &[HostId(0)], tasks) {
            Ok(plan) => {
                let mut r: Vec<usize> = plan.rescues.iter().map(|b| b.0).collect();
                r.sort();
                r
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!(rescues(&all), [0, 1]);
        assert_eq!(rescues(&without_r1), [1]);
    }

    /// The loader refuses an `after:` that names a later task; the plan refuses a cycle
    /// however it came, naming a task in it.
    #[test]
    fn a_cycle_is_refused_with_a_task_of_it() {
        let mut p = play(TASKS);
        p.tasks[0].after = vec!["b".into()];
        let tasks: Vec<TaskId> = p.tasks.iter().map(|t| t.id).collect();
        match Plan::build(&p, &[HostId(0)], &tasks) {
            Ok(_) => panic!("a cycle was planned"),
            Err(e) => {
                let e = e.to_string();
                assert!(
                    e.contains("this task is part of a cycle of 'after:' dependencies"),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn dot_labels_each_step_with_its_task_and_host_escaped() {
        let p = play("- hosts: all\n  tasks:\n    - { name: 'say \"hi\"', debug: {} }\n");
        let inv = match crate::inventory::load_str("inv.yml", "all:\n  hosts:\n    h1: {}\n", &[]) {
            Ok(inv) => inv,
            Err(e) => panic!("{e}"),
        };
        let plan = match Plan::build(&p, &[HostId(0)], &[TaskId(0)]) {
            Ok(plan) => plan,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            plan.dot(&p, &inv),
            "digraph pgplay {\n  rankdir=LR;\n  node [shape=box];\n  n0 [label=\"say \\\"hi\\\"\\nh1\"];\n}\n"
        );
    }
}
