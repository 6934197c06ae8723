//! `--step`, as ansible-playbook's: before a task first starts, ask on the terminal —
//! (y)es run it, (n)o skip it on every host, (c)ontinue: run this and every later task
//! without asking. Asked once per task, in the order tasks become ready; the running
//! tasks go on meanwhile. The question goes to the terminal itself (/dev/tty), so output
//! piped elsewhere stays clean.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::playbook::TaskId;

#[derive(Debug, Default)]
pub struct Stepper {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    asked: HashSet<(usize, TaskId)>,
    declined: HashSet<(usize, TaskId)>,
    go_on: bool,
}

/// An answer to the question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    Continue,
}

impl Answer {
    /// Ansible's prompt takes y/yes, n/no, c/continue; an empty answer is no (its default).
    pub fn parse(line: &str) -> Option<Answer> {
        match line.trim().to_lowercase().as_str() {
            "y" | "yes" => Some(Answer::Yes),
            "n" | "no" | "" => Some(Answer::No),
            "c" | "continue" => Some(Answer::Continue),
            _ => None,
        }
    }
}

/// `--step` needs someone to answer: refuse before anything runs when there is no terminal.
pub fn check_terminal() -> Result<()> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map(|_| ())
        .map_err(|e| {
            Error::usage(format!(
                "--step asks before each task on the terminal, and there is none ({e})"
            ))
            .with_hint(
                "run it from a terminal, or leave --step out (--check shows what would change)",
            )
        })
}

impl Stepper {
    /// Whether the question for this task is still to be asked.
    pub fn to_ask(&self, play: usize, task: TaskId) -> bool {
        self.state
            .lock()
            .map(|s| !s.go_on && !s.asked.contains(&(play, task)))
            .unwrap_or(false)
    }

    /// Record the answer for a task.
    pub fn answer(&self, play: usize, task: TaskId, a: Answer) {
        if let Ok(mut s) = self.state.lock() {
            s.asked.insert((play, task));
            match a {
                Answer::Yes => {}
                Answer::No => {
                    s.declined.insert((play, task));
                }
                Answer::Continue => s.go_on = true,
            }
        }
    }

    /// The user answered no for this task: it is skipped on every host.
    pub fn declined(&self, play: usize, task: TaskId) -> bool {
        self.state
            .lock()
            .map(|s| s.declined.contains(&(play, task)))
            .unwrap_or(false)
    }
}

/// Ask on the terminal (blocking: call it from a blocking thread). No terminal, or its end,
/// answers no: nothing runs that was not agreed to.
pub fn ask(task: &str) -> Answer {
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return Answer::No;
    };
    let mut out = &tty;
    let mut input = std::io::BufReader::new(&tty);
    loop {
        // one write: the reporter writes to the same terminal, and a question cut in two by
        // a result line is hard to read (and to answer)
        let question = format!("\nPerform task: TASK: {task} (N)o/(y)es/(c)ontinue: ");
        let _ = out.write_all(question.as_bytes());
        let _ = out.flush();
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return Answer::No,
            Ok(_) => {
                if let Some(a) = Answer::parse(&line) {
                    return a;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Answer, Stepper};
    use crate::playbook::TaskId;

    #[test]
    fn answers_as_ansible_reads_them() {
        assert_eq!(Answer::parse("y\n"), Some(Answer::Yes));
        assert_eq!(Answer::parse("YES"), Some(Answer::Yes));
        assert_eq!(Answer::parse("\n"), Some(Answer::No));
        assert_eq!(Answer::parse("c"), Some(Answer::Continue));
        assert_eq!(Answer::parse("maybe"), None);
    }

    #[test]
    fn no_skips_one_task_and_continue_stops_asking() {
        let s = Stepper::default();
        assert!(s.to_ask(0, TaskId(0)));
        s.answer(0, TaskId(0), Answer::No);
        assert!(s.declined(0, TaskId(0)) && !s.to_ask(0, TaskId(0)));
        s.answer(0, TaskId(1), Answer::Continue);
        assert!(!s.declined(0, TaskId(1)));
        assert!(!s.to_ask(0, TaskId(2)));
    }
}
