//! The import graph of the crate, checked: no cycle, and no import up the pipeline.
//!
//! Why a test and not a habit: a cycle between modules (or between files of one module) is
//! how a pipeline quietly stops being one — two files that need each other can no longer be
//! read, tested or moved alone. This test reads `src/` as text, finds every path that leaves
//! a file (`crate::…`, `super::…`, in `use` lines and inline), resolves it to the module it
//! names, and keeps the edges between *siblings* (two files or folders of the same parent:
//! `modules::copy -> modules::template`, `run -> select`). A child naming its parent
//! (`super::Ctx` in `modules/shell.rs`) and a parent naming its children (the dispatch in
//! `modules/mod.rs`) are how Rust modules are built, not edges.
//!
//! Among the top-level modules the edges must also go down [`ORDER`], the pipeline from the
//! command line to the leaves. Print the graph with `dev/layers` (or
//! `cargo test --lib layers -- --nocapture`); `PGPLAY_LAYERS_SRC=<dir>` reads another tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod scan;

use scan::{code_only, paths};

/// The top-level modules, from the command line down to the leaves: a module may import only
/// modules below it. The stages of the pipeline read in order (exec runs what plan built from
/// what select chose of the playbook, whose tasks are modules acting on the inventory); the
/// leaves at the bottom (templates, YAML with positions, errors, transports, masking) know
/// nothing of playbooks.
const ORDER: &[&str] = &[
    "run",       // wiring for the command line
    "help",      // pgplay help / --help / man: reads everything it explains
    "settings",  // command line and ansible.cfg lowered into what a run uses
    "cli",       // the command line (clap)
    "config",    // ansible.cfg and the environment
    "ask",       // -k / -K prompts
    "guard",     // destructive plays: -l, safeguards, confirmation
    "scope",     // what a run reads; validation scoped to it
    "exec",      // the engine
    "report",    // events rendered; listings (--list-*) and the inventory views
    "select",    // -l, -t, --start-at-task
    "plan",      // the DAG of (task, host)
    "playbook",  // YAML → plays of typed tasks
    "modules",   // what a task runs
    "inventory", // Pigsty inventory → frozen typed model
    "extra",     // -e values
    "template",  // minijinja and the Ansible filters
    "pg",        // the Pigsty/PostgreSQL domain: typed variables, crontab lines, PITR
    "vars",      // a variable with its place: typed readers, serde over YAML, problems
    "error",     // the one error type and its renderer
    "transport", // russh, openssh, local
    "yaml",      // YAML 1.1 with positions
    "mask",      // secrets out of text
    "builtin", // playbooks and templates compiled into the binary (std only: errors show their lines)
    "base",    // small owners nothing else may copy: booleans, shell words, user, text checks
    "layers",  // this test
];

/// A module of the crate, as its path from the root (`["modules", "copy"]`).
type ModPath = Vec<String>;

/// Problems known and owned elsewhere, each to be struck off when it is fixed (a ratchet: a
/// new problem fails the test, and so does an entry here that no longer happens).
const KNOWN: &[&str] = &[];

/// Every module backed by a file or folder under `src`, and the file of each.
fn modules(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut out = BTreeMap::new();
    walk(src, &mut Vec::new(), &mut out);
    out
}

fn walk(dir: &Path, prefix: &mut ModPath, out: &mut BTreeMap<ModPath, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if path.is_dir() {
            prefix.push(name);
            walk(&path, prefix, out);
            prefix.pop();
        } else if let Some(stem) = name.strip_suffix(".rs") {
            // src/main.rs is the binary, another crate; lib.rs and mod.rs are their folder.
            let root = prefix.is_empty();
            if root && stem == "main" {
                continue;
            }
            let mut m = prefix.clone();
            if !(root && stem == "lib" || stem == "mod") {
                m.push(stem.to_string());
            }
            out.insert(m, path);
        }
    }
}

/// The module a path names, from the file of module `here`: the longest prefix that is a
/// module (`crate::modules::copy::put` → `modules::copy`).
fn resolve(here: &ModPath, path: &[String], known: &BTreeMap<ModPath, PathBuf>) -> ModPath {
    // `super` is the parent of the file's module (of `a::b` in a/b.rs and of `a` in a/mod.rs).
    let mut base: ModPath = Vec::new();
    let mut rest = path;
    if let Some(first) = path.first() {
        match first.as_str() {
            "crate" => rest = &path[1..],
            "self" => {
                base = here.clone();
                rest = &path[1..];
            }
            "super" => {
                base = here.clone();
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            _ => {}
        }
    }
    let mut m = base;
    for seg in rest {
        let mut next = m.clone();
        next.push(seg.clone());
        if known.contains_key(&next) {
            m = next;
        } else {
            break;
        }
    }
    m
}

/// Edges between siblings: `parent -> {(from, to)}` with `from` and `to` children of parent.
type Edges = BTreeMap<ModPath, BTreeSet<(String, String)>>;

fn edges(src: &Path) -> Edges {
    let known = modules(src);
    let mut out: Edges = BTreeMap::new();
    for (here, file) in &known {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for p in paths(&code_only(&text)) {
            let to = resolve(here, &p, &known);
            let common = here.iter().zip(&to).take_while(|(a, b)| a == b).count();
            // An ancestor (a child naming its parent) or a descendant: not a sibling edge.
            if common == here.len() || common == to.len() {
                continue;
            }
            out.entry(here[..common].to_vec())
                .or_default()
                .insert((here[common].clone(), to[common].clone()));
        }
    }
    out
}

/// The cycles among one parent's children: each strongly connected set of more than one.
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let reach = |from: &String| {
        let mut seen: BTreeSet<&String> = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(n) = todo.pop() {
            for (a, b) in edges {
                if a == n && seen.insert(b) {
                    todo.push(b);
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<&String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for n in &nodes {
        let mut set: Vec<String> = nodes
            .iter()
            .filter(|m| reaches[*n].contains(*m) && reaches[*m].contains(*n))
            .map(|m| m.to_string())
            .collect();
        set.sort();
        if set.len() > 1 && !out.contains(&set) {
            out.push(set);
        }
    }
    out
}

/// The report printed by the test: every sibling edge, then the cycles and upward imports.
fn report(edges: &Edges) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut problems = Vec::new();
    for (parent, set) in edges {
        let name = if parent.is_empty() {
            "crate".to_string()
        } else {
            parent.join("::")
        };
        text.push_str(&format!("[{name}]\n"));
        let mut by_from: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
        for (a, b) in set {
            by_from.entry(a).or_default().push(b);
        }
        for (a, bs) in by_from {
            let bs: Vec<&str> = bs.iter().map(|s| s.as_str()).collect();
            text.push_str(&format!("  {a} -> {}\n", bs.join(", ")));
        }
        for c in cycles(set) {
            problems.push(format!("cycle in {name}: {}", c.join(" <-> ")));
        }
        if parent.is_empty() {
            for (a, b) in set {
                let rank = |m: &str| ORDER.iter().position(|o| *o == m);
                match (rank(a), rank(b)) {
                    (Some(x), Some(y)) if x < y => {}
                    (Some(_), Some(_)) => problems.push(format!("upward import: {a} -> {b}")),
                    _ => problems.push(format!("not in layers::ORDER: {a} -> {b}")),
                }
            }
        }
    }
    (text, problems)
}

fn src_dir() -> PathBuf {
    match std::env::var_os("PGPLAY_LAYERS_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    }
}

#[test]
fn no_cycle_and_no_upward_import() {
    let (text, problems) = report(&edges(&src_dir()));
    println!("{text}");
    for p in &problems {
        println!("{p}");
    }
    let new: Vec<&String> = problems
        .iter()
        .filter(|p| !KNOWN.contains(&p.as_str()))
        .collect();
    let gone: Vec<&&str> = KNOWN
        .iter()
        .filter(|k| !problems.iter().any(|p| p == *k))
        .collect();
    assert!(new.is_empty(), "new import problems: {new:?}");
    assert!(
        gone.is_empty(),
        "fixed, strike them off layers::KNOWN: {gone:?}"
    );
}

#[test]
fn paths_are_read_from_use_trees_and_inline_code() {
    let code = code_only(
        "use crate::{a, b::{c, d}};\n// crate::commented\nlet x = \"crate::quoted\"; let q = '\"'; \
         super::e::f(); crate::g::h(); let r = r#\"crate::raw\"#;",
    );
    let got: Vec<String> = paths(&code).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        got,
        [
            "crate::a",
            "crate::b::c",
            "crate::b::d",
            "super::e::f",
            "crate::g::h"
        ]
    );
}

#[test]
fn cycles_are_found_among_siblings() {
    let set: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .iter()
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect();
    assert_eq!(cycles(&set), vec![vec!["a", "b", "c"]]);
}
