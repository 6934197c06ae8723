//! Where a host stands in its blocks, and what that means for its next step.
//!
//! The plan keeps every (task, host) step of a block — body, rescue and always — in the
//! host's chain; this state machine decides, step by step, whether the host runs it. It
//! follows Ansible's play iterator (`lib/ansible/executor/play_iterator.py`):
//! - a failure in a block's body passes over the rest of the body; the block's rescue then
//!   runs, and once the rescue has begun the failure is handled (a failure *in* the rescue is
//!   a new one); without a rescue the failure stays with the host;
//! - a failure in a rescue passes over the rest of the rescue; one in an always section
//!   passes over the rest of that section;
//! - `always:` runs on every host that entered the block, failure or not;
//! - when a host leaves a block with its failure still unhandled, the failure moves to the
//!   enclosing block, at the section where the inner block sits, and out of the outermost
//!   block the host is failed: its chain stops, as for a task outside any block.
//!
//! Rescue sections count only with a task selected to run (Ansible filters blocks by tags
//! before it iterates them), so the caller passes the blocks that have one.
//!
//! The state is per host and per play; steps of one host run one after the other, so no
//! two steps ever move it at once.

use std::collections::HashSet;

use crate::playbook::{BlockId, Frame, Section};

/// The blocks a host is in now, outermost first.
#[derive(Debug, Default)]
pub struct Flow {
    stack: Vec<Active>,
}

#[derive(Debug)]
struct Active {
    block: BlockId,
    section: Section,
    /// A failure the host carries in this block, and the section it happened in.
    failed_in: Option<Section>,
}

/// What a host does with its next step.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Run,
    /// Passed over: the rest of a failed section, or a rescue when nothing failed.
    Pass,
    /// The host carried a failure out of its outermost block: it is failed now, and passes
    /// over this step and every later one.
    Failed,
}

/// How a failure on a host counts (Ansible's recap: `rescued` or `failed`).
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// A block around the failed step has a rescue that will run.
    Rescued,
    /// No rescue will handle it: the host is failed once it leaves its blocks (their
    /// always sections still run).
    Unhandled,
    /// The step was in no block: the host is failed now.
    HostFailed,
}

impl Flow {
    /// The host comes to a step of a task inside `frames`.
    pub fn enter(&mut self, frames: &[Frame], rescues: &HashSet<BlockId>) -> Next {
        // Leave the blocks the task is not in; an unhandled failure moves outwards.
        while let Some(top) = self.stack.last() {
            let depth = self.stack.len() - 1;
            if frames.get(depth).map(|f| f.block) == Some(top.block) {
                break;
            }
            let carried = top.failed_in.is_some();
            self.stack.pop();
            if carried {
                match self.stack.last_mut() {
                    Some(outer) => outer.failed_in = Some(outer.section),
                    None => return Next::Failed,
                }
            }
        }
        // Walk in, moving each block on to the task's section.
        for (depth, frame) in frames.iter().enumerate() {
            if depth == self.stack.len() {
                self.stack.push(Active {
                    block: frame.block,
                    section: Section::Body,
                    failed_in: None,
                });
            }
            let here = &mut self.stack[depth];
            if here.section != frame.section {
                match (here.section, frame.section) {
                    (Section::Body, Section::Rescue) => {
                        if here.failed_in != Some(Section::Body) || !rescues.contains(&here.block) {
                            return Next::Pass;
                        }
                        // The rescue begins: the body's failure is handled.
                        here.section = Section::Rescue;
                        here.failed_in = None;
                    }
                    (_, Section::Always) => here.section = Section::Always,
                    // Sections only go forward (tasks are in order); never run backwards.
                    _ => return Next::Pass,
                }
            }
            if here.failed_in == Some(here.section) {
                return Next::Pass;
            }
        }
        Next::Run
    }

    /// The step the host just entered failed (not ignored), or the play's
    /// `any_errors_fatal` fails the host where it stands.
    pub fn fail(&mut self, rescues: &HashSet<BlockId>) -> Failure {
        let rescued = self
            .stack
            .iter()
            .any(|a| a.section == Section::Body && rescues.contains(&a.block));
        match self.stack.last_mut() {
            None => Failure::HostFailed,
            Some(here) => {
                here.failed_in = Some(here.section);
                if rescued {
                    Failure::Rescued
                } else {
                    Failure::Unhandled
                }
            }
        }
    }

    /// The play ends for the host: it leaves every block. True when it leaves with a
    /// failure unhandled (the host is failed).
    pub fn finish(&mut self) -> bool {
        let failed = self.stack.iter().any(|a| a.failed_in.is_some());
        self.stack.clear();
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task's place: `-` outside blocks, else `0b`, `0r.1a`, ... (block number, then
    /// b(ody), r(escue) or a(lways)), one per enclosing block, outermost first.
    fn at(place: &str) -> Vec<Frame> {
        place
            .split('.')
            .filter(|p| *p != "-")
            .map(|p| {
                let (num, section) = p.split_at(p.len() - 1);
                Frame {
                    block: BlockId(num.parse().unwrap_or(usize::MAX)),
                    section: match section {
                        "b" => Section::Body,
                        "r" => Section::Rescue,
                        _ => Section::Always,
                    },
                }
            })
            .collect()
    }

    /// Walk one host through `tasks` (places; a `!` after one: its step fails when run).
    /// One letter per task — r(an), p(assed), F (the host became failed there) — then the
    /// rescued and failed counts, then whether the host ends the play failed.
    fn walk(tasks: &str, rescues: &[usize]) -> String {
        let rescues: HashSet<BlockId> = rescues.iter().map(|b| BlockId(*b)).collect();
        let mut flow = Flow::default();
        let (mut out, mut rescued, mut failed, mut dead) = (String::new(), 0, 0, false);
        for task in tasks.split_whitespace() {
            let (place, fails) = match task.strip_suffix('!') {
                Some(p) => (p, true),
                None => (task, false),
            };
            if dead {
                out.push('p');
                continue;
            }
            match flow.enter(&at(place), &rescues) {
                Next::Pass => out.push('p'),
                Next::Failed => {
                    dead = true;
                    out.push('F');
                }
                Next::Run => {
                    out.push('r');
                    if fails {
                        match flow.fail(&rescues) {
                            Failure::Rescued => rescued += 1,
                            Failure::Unhandled => failed += 1,
                            Failure::HostFailed => {
                                failed += 1;
                                dead = true;
                            }
                        }
                    }
                }
            }
        }
        let end = if dead || flow.finish() {
            "failed"
        } else {
            "ok"
        };
        format!("{out} rescued={rescued} failed={failed} {end}")
    }

    #[test]
    fn table() {
        for (what, tasks, rescues, want) in [
            (
                "nothing fails: the rescue is passed over",
                "- 0b 0b 0r 0a -",
                &[0][..],
                "rrrprr rescued=0 failed=0 ok",
            ),
            (
                "a body failure: the rest of the body passed, rescue and always run, play goes on",
                "0b! 0b 0r 0r 0a -",
                &[0],
                "rprrrr rescued=1 failed=0 ok",
            ),
            (
                "a failing rescue: the rest of it passed, always runs, then the host is failed",
                "0b! 0r! 0r 0a 0a -",
                &[0],
                "rrprrF rescued=1 failed=1 failed",
            ),
            (
                "no rescue: always runs, then the host is failed",
                "0b! 0b 0a - -",
                &[],
                "rprFp rescued=0 failed=1 failed",
            ),
            (
                "a failure in always passes over the rest of always",
                "0b 0a! 0a -",
                &[],
                "rrpF rescued=0 failed=1 failed",
            ),
            (
                "a failure carried to the end of the play fails the host",
                "0b! 0a",
                &[],
                "rr rescued=0 failed=1 failed",
            ),
            (
                "outside any block a failure is final",
                "-! 0b 0a",
                &[0],
                "rpp rescued=0 failed=1 failed",
            ),
            (
                "an inner failure without rescue: inner always, then the outer rescue",
                "0b.1b! 0b.1b 0b.1a 0b 0r 0a -",
                &[0],
                "rprprrr rescued=1 failed=0 ok",
            ),
            (
                "a rescue inside a rescue",
                "0b! 0r.1b! 0r.1r 0r 0a -",
                &[0, 1],
                "rrrrrr rescued=2 failed=0 ok",
            ),
            (
                "a block in always rescues its own failure; the body's failure still fails the host",
                "0b! 0a.1b! 0a.1r 0a -",
                &[1],
                "rrrrF rescued=1 failed=1 failed",
            ),
            (
                "a block entered at its always section (nothing of its body selected)",
                "0a -",
                &[],
                "rr rescued=0 failed=0 ok",
            ),
            (
                "a block entered at its rescue with nothing failed",
                "0r 0a -",
                &[0],
                "prr rescued=0 failed=0 ok",
            ),
            (
                "sibling blocks are separate: the first rescued, the second not",
                "0b! 0r 1b! 1b 1a -",
                &[0],
                "rrrprF rescued=1 failed=1 failed",
            ),
        ] {
            assert_eq!(walk(tasks, rescues), want, "{what}");
        }
    }
}
