//! Blocks: `block:`, `rescue:` and `always:`, lowered into the play's flat task list.
//!
//! A block's keywords (tags, when, become, vars, ...) are handed down to every task of all
//! three sections, as Ansible does, and the sections are laid out in the order a host meets
//! them: body, rescue, always. Each task records the block and section it sits in
//! (`Task::blocks`), which is all the executor needs to give a host Ansible's semantics
//! after a failure (`crate::exec::flow`). `rescue:`/`always:` anywhere but next to a
//! `block:` is refused with the place of the key: silently running a "rescue" list as plain
//! tasks, or dropping it, would both be wrong.

use super::values::boolean;
use super::{Inherit, Lowering};
use crate::error::{Error, Result};
use crate::playbook::{BlockId, Frame, Section, Task};
use crate::yaml::Node;

const BLOCK_KEYS: &[&str] = &[
    "block",
    "rescue",
    "always",
    "name",
    "when",
    "tags",
    "become",
    "become_user",
    "become_method",
    "ignore_errors",
    "no_log",
    "environment",
    "vars",
    "any_errors_fatal",
    "delegate_to",
    "check_mode",
];

impl Lowering<'_> {
    pub(super) fn block(
        &self,
        map: &[(Node, Node)],
        inherit: &Inherit,
        out: &mut Vec<Task>,
    ) -> Result<()> {
        let id = BlockId(self.blocks.get());
        self.blocks.set(id.0 + 1);
        let mut inner = inherit.clone();
        let (mut body, mut rescue, mut always) = (None, None, None);
        for (k, v) in map {
            match k.key_text().as_str() {
                "block" => body = Some(v),
                "rescue" => rescue = Some(v),
                "always" => always = Some(v),
                "any_errors_fatal" => {
                    boolean(v, "any_errors_fatal")?;
                }
                _ => self.apply_common(k, v, &mut inner, BLOCK_KEYS, "block")?,
            }
        }
        // Whatever order the keys were written in, a host meets the sections in this one.
        for (section, key, node) in [
            (Section::Body, "block", body),
            (Section::Rescue, "rescue", rescue),
            (Section::Always, "always", always),
        ] {
            if let Some(node) = node {
                let mut within = inner.clone();
                within.frames.push(Frame { block: id, section });
                self.task_list(node, key, &within, out)?;
            }
        }
        Ok(())
    }
}

/// `rescue:` or `always:` on something that is not a block.
pub(super) fn only_in_a_block(key: &Node, what: &str) -> Error {
    let name = key.key_text();
    Error::invalid(
        &key.span,
        name.clone(),
        format!("'{name}:' belongs to a block, and this {what} has no 'block:'"),
    )
    .with_hint(format!(
        "put the tasks it guards under 'block:', next to '{name}:' in the same mapping"
    ))
}

#[cfg(test)]
mod tests {
    use crate::builtin::Source;
    use crate::playbook::{load_source, BlockId, Frame, Playbook, Section};

    fn load(text: &str) -> Result<Playbook, String> {
        load_source("t", "t.yml", text, Source::Builtin).map_err(|e| e.to_string())
    }

    fn frame(block: usize, section: Section) -> Frame {
        Frame {
            block: BlockId(block),
            section,
        }
    }

    const RESCUED: &str = "- hosts: all
  tasks:
    - { name: before, debug: {} }
    - name: guarded
      tags: [t]
      when: go
      always:
        - { name: a1, debug: {} }
      rescue:
        - { name: r1, debug: {} }
        - name: inner
          block:
            - { name: r2, debug: {} }
          always:
            - { name: r3, debug: {} }
      block:
        - { name: b1, debug: {} }
    - { name: after, debug: {} }
";

    #[test]
    fn sections_are_laid_out_body_rescue_always_whatever_the_key_order() {
        let pb = match load(RESCUED) {
            Ok(pb) => pb,
            Err(e) => panic!("{e}"),
        };
        let tasks = &pb.plays[0].tasks;
        let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["before", "b1", "r1", "r2", "r3", "a1", "after"],
            "order"
        );
        let (outer, inner) = (0, 1);
        let want: [&[Frame]; 7] = [
            &[],
            &[frame(outer, Section::Body)],
            &[frame(outer, Section::Rescue)],
            &[frame(outer, Section::Rescue), frame(inner, Section::Body)],
            &[frame(outer, Section::Rescue), frame(inner, Section::Always)],
            &[frame(outer, Section::Always)],
            &[],
        ];
        for (t, want) in tasks.iter().zip(want) {
            assert_eq!(t.blocks, want, "task {}", t.name);
        }
        // The block's tags and conditions reach its rescue and always tasks too.
        for t in &tasks[1..6] {
            assert_eq!(t.tags, ["t"], "task {}", t.name);
            assert_eq!(t.when, ["go"], "task {}", t.name);
        }
        assert!(tasks[0].tags.is_empty() && tasks[6].when.is_empty());
    }

    #[test]
    fn blocks_are_numbered_across_plays_and_task_files() {
        let text = "- hosts: all
  tasks:
    - block: [{ name: x, debug: {} }]
- hosts: all
  tasks:
    - block: [{ name: y, debug: {} }]
      always: [{ name: z, debug: {} }]
";
        let pb = match load(text) {
            Ok(pb) => pb,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(pb.plays[0].tasks[0].blocks, [frame(0, Section::Body)]);
        assert_eq!(pb.plays[1].tasks[0].blocks, [frame(1, Section::Body)]);
        assert_eq!(pb.plays[1].tasks[1].blocks, [frame(1, Section::Always)]);
    }

    #[test]
    fn rescue_and_always_elsewhere_are_refused_with_their_place() {
        for (text, want) in [
            (
                "- hosts: all\n  tasks:\n    - name: t\n      shell: 'true'\n      rescue:\n        - debug: {}\n",
                "t.yml:5:7: rescue: 'rescue:' belongs to a block, and this task has no 'block:'",
            ),
            (
                "- hosts: all\n  tasks:\n    - always: [{ debug: {} }]\n",
                "t.yml:3:7: always: 'always:' belongs to a block, and this task has no 'block:'",
            ),
            (
                "- hosts: all\n  tasks:\n    - import_tasks: x.yml\n      rescue: []\n",
                "t.yml:4:7: rescue: 'rescue:' belongs to a block, and this include has no 'block:'",
            ),
            (
                "- hosts: all\n  tasks:\n    - block: []\n      rescue: oops\n",
                "t.yml:4:15: rescue: expected a list of tasks, found a string",
            ),
            (
                "- hosts: all\n  tasks:\n    - block: []\n      rescues: []\n",
                "did you mean 'rescue'?",
            ),
            (
                "- hosts: all\n  tasks:\n    - block: []\n      always:\n        - { name: a, debug: {}, bogus: 1 }\n",
                "t.yml:5:33: bogus: unknown task keyword",
            ),
        ] {
            match load(text) {
                Ok(_) => panic!("accepted:\n{text}"),
                Err(e) => assert!(e.contains(want), "wanted {want:?} in:\n{e}\nfor:\n{text}"),
            }
        }
    }
}
