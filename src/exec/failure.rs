//! Why a step failed, kept typed until its result is reported, and the task around it.
//!
//! ripgrep's `WithPath` is the model: the cause says what went wrong (a transport error, the
//! module's own words, a timeout, ...), and the context is wrapped around it once, when the
//! result is reported — the task and where it is written (`playbooks/pgsql-pitr.yml:92` for a
//! built-in playbook). The host is on the result line itself (`fatal: [db1]: ...`, the JSON
//! event's `host`). Each fact is said once: a cause never names its task, and a transport
//! error about the step's own host leaves its host out ([`TransportError::detail`]); one about
//! another host (a `delegate_to` target, a jump host, this machine) keeps it.
//!
//! A cause in words is also what a failed result registers as `msg` (as Ansible registers the
//! module's message, not the task's name), so a rescue's `ansible_failed_result.msg` reads as
//! before; only the reported message carries the task and place.

use std::fmt;
use std::time::Duration;

use crate::playbook::Task;
use crate::transport::TransportError;
use crate::yaml::Span;

/// Why a step failed or could not reach its host.
#[derive(Clone, Debug)]
pub(super) enum Cause {
    /// The transport could not reach the host, or not start the command there.
    Transport {
        error: TransportError,
        /// The error is about the step's own host (which the result line names already).
        own_host: bool,
    },
    /// The module, or the step before it ran (a condition, a template, a keyword), said why.
    Said(String),
    /// Failed without a word: `failed_when` judged it so.
    Unsaid,
    /// `until` never held.
    GaveUp {
        attempts: u32,
        until: String,
        /// What the last attempt said.
        last: Option<String>,
    },
    /// The task ran longer than its `timeout:`.
    TimedOut { secs: u64 },
    /// A second interrupt stopped it.
    Interrupted { after: Duration },
}

impl Cause {
    /// A transport failure met by the step on `step_host`.
    pub(super) fn transport(error: TransportError, step_host: &str) -> Cause {
        let own_host = error.host() == step_host;
        Cause::Transport { error, own_host }
    }

    /// The cause in words, when it has any.
    pub(super) fn text(&self) -> Option<String> {
        Some(match self {
            Cause::Transport { error, own_host } if *own_host => error.detail().to_string(),
            Cause::Transport { error, .. } => error.to_string(),
            Cause::Said(words) => words.clone(),
            Cause::Unsaid => return None,
            Cause::GaveUp {
                attempts,
                until,
                last,
            } => format!(
                "gave up after {attempts} attempts: '{until}' never became true{}",
                last.as_ref()
                    .map(|m| format!(" (last: {m})"))
                    .unwrap_or_default()
            ),
            Cause::TimedOut { secs } => format!(
                "took longer than its timeout of {secs} s: pgplay stopped it (SIGTERM to its \
                 processes on the host)"
            ),
            Cause::Interrupted { after } => format!(
                "interrupted: pgplay stopped it (SIGTERM to its processes on the host) after \
                 {:.1} s",
                after.as_secs_f64()
            ),
        })
    }
}

/// A cause with the task it happened in: what a failed result's message says.
pub(super) struct TaskFailure<'a> {
    pub task: &'a Task,
    pub cause: &'a Cause,
}

impl fmt::Display for TaskFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, at) = (&self.task.name, Place(&self.task.span));
        match self.cause.text() {
            Some(text) => write!(f, "task '{name}' ({at}): {text}"),
            None => write!(f, "task '{name}' ({at}) failed"),
        }
    }
}

/// Where a task is written, as `file:line`. A built-in playbook is named by its path in
/// pgplay's source tree (`playbooks/pgsql-pitr.yml:92`), without the `<builtin>/` mark its
/// load errors show: that is where a reader finds the task.
pub(super) struct Place<'a>(pub &'a Span);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", crate::builtin::place(&self.0.file), self.0.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ChannelFault;

    fn span(file: &str, line: usize) -> Span {
        Span {
            file: file.into(),
            line,
            col: 7,
        }
    }

    #[test]
    fn places_name_the_file_and_line() {
        let builtin = span("<builtin>/playbooks/pgsql-pitr.yml", 92);
        assert_eq!(Place(&builtin).to_string(), "playbooks/pgsql-pitr.yml:92");
        let file = span("./site.yml", 4);
        assert_eq!(Place(&file).to_string(), "./site.yml:4");
    }

    #[test]
    fn a_transport_error_of_the_own_host_leaves_the_host_out() {
        let refused = TransportError::Unreachable {
            host: "db1".into(),
            address: "127.0.0.21".into(),
            port: 22,
            reason: "Connection refused".into(),
        };
        let own = Cause::transport(refused.clone(), "db1");
        assert_eq!(
            own.text().as_deref(),
            Some("cannot connect to 127.0.0.21 port 22: Connection refused")
        );
        // Delegated to another host: which one is part of the story.
        let other = Cause::transport(refused, "db2");
        assert_eq!(
            other.text().as_deref(),
            Some("db1: cannot connect to 127.0.0.21 port 22: Connection refused")
        );
        let local = TransportError::channel("localhost", ChannelFault::NotStarted, "no sh");
        assert_eq!(
            Cause::transport(local, "db1").text().as_deref(),
            Some("localhost: no sh")
        );
    }

    #[test]
    fn causes_in_words() {
        let gave_up = Cause::GaveUp {
            attempts: 3,
            until: "r.rc == 0".into(),
            last: Some("non-zero return code 1".into()),
        };
        assert_eq!(
            gave_up.text().as_deref(),
            Some("gave up after 3 attempts: 'r.rc == 0' never became true (last: non-zero return code 1)")
        );
        let timed_out = Cause::TimedOut { secs: 2 }.text().unwrap_or_default();
        assert!(timed_out.starts_with("took longer than its timeout of 2 s: pgplay stopped it"));
        let after = Duration::from_millis(1300);
        let interrupted = Cause::Interrupted { after }.text().unwrap_or_default();
        assert!(interrupted.starts_with("interrupted: pgplay stopped it"));
        assert!(interrupted.ends_with("after 1.3 s"), "{interrupted}");
        assert_eq!(Cause::Unsaid.text(), None);
    }
}
