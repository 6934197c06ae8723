//! `--list-hosts`, `--list-tasks`, `--list-tags`: what a run would do, as ansible-playbook
//! lists it (plain text), or as one JSON object with `--output json`.

use serde_json::{Map, Value};

use crate::inventory::Inventory;
use crate::playbook::{Play, Playbook, TaskId};
use crate::select::Selection;

/// Which lists were asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lists {
    pub hosts: bool,
    pub tasks: bool,
    pub tags: bool,
}

/// The selected tasks' tags, sorted, once each.
fn play_tags<'a>(play: &'a Play, tasks: &[TaskId]) -> Vec<&'a str> {
    let mut tags: Vec<&str> = tasks
        .iter()
        .flat_map(|t| play.tasks[t.0].tags.iter().map(String::as_str))
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// The same listing as one JSON object: `{"playbook", "origin", "plays": [{"name",
/// "pattern", "hosts"?, "tasks"?, "tags"?}]}` (each list only when asked for).
pub fn listing_json(a: Lists, inv: &Inventory, pb: &Playbook, sel: &Selection) -> Value {
    let plays: Vec<Value> = pb
        .plays
        .iter()
        .enumerate()
        .map(|(i, play)| {
            let mut p = Map::new();
            p.insert("name".into(), Value::String(play.name.clone()));
            p.insert("pattern".into(), Value::String(play.hosts.clone()));
            if a.hosts {
                p.insert(
                    "hosts".into(),
                    sel.hosts[i]
                        .iter()
                        .map(|h| Value::String(inv.host(*h).name.clone()))
                        .collect(),
                );
            }
            if a.tasks {
                p.insert(
                    "tasks".into(),
                    sel.tasks[i]
                        .iter()
                        .map(|t| {
                            let task = &play.tasks[t.0];
                            serde_json::json!({"name": task.name, "tags": task.tags})
                        })
                        .collect(),
                );
            }
            if a.tags {
                let tags = play_tags(play, &sel.tasks[i]);
                p.insert("tags".into(), tags.into_iter().map(Value::from).collect());
            }
            Value::Object(p)
        })
        .collect();
    serde_json::json!({
        "playbook": pb.name,
        "origin": crate::playbook::origin(pb),
        "plays": plays,
    })
}

pub fn listing(a: Lists, inv: &Inventory, pb: &Playbook, sel: &Selection) -> String {
    let mut out = format!("\nplaybook: {}\n", pb.name);
    for (i, play) in pb.plays.iter().enumerate() {
        out.push_str(&format!(
            "\n  play #{} ({}): {}\tTAGS: []\n",
            i + 1,
            play.hosts,
            play.name
        ));
        if a.hosts {
            out.push_str(&format!("    pattern: ['{}']\n", play.hosts));
            out.push_str(&format!("    hosts ({}):\n", sel.hosts[i].len()));
            for h in &sel.hosts[i] {
                out.push_str(&format!("      {}\n", inv.host(*h).name));
            }
        }
        if a.tasks {
            out.push_str("    tasks:\n");
            for t in &sel.tasks[i] {
                let task = &play.tasks[t.0];
                out.push_str(&format!(
                    "      {}\tTAGS: [{}]\n",
                    task.name,
                    task.tags.join(", ")
                ));
            }
        }
        if a.tags {
            let tags = play_tags(play, &sel.tasks[i]);
            out.push_str(&format!("      TASK TAGS: [{}]\n", tags.join(", ")));
        }
    }
    out
}
