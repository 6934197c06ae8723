//! Transport failures, and what each one says about the host.
//!
//! ansible-playbook's recap tells two things apart: a host it could not reach or log in to
//! (UNREACHABLE, exit code 4: nothing ran there) and a task that reached its host and failed
//! (FAILED, exit code 2). A transport failure is one or the other by its variant alone, decided
//! here once ([`TransportError::verdict`]) so that the engine never reads a message to decide:
//!
//! | variant                                  | what happened                          | reported as |
//! |------------------------------------------|----------------------------------------|-------------|
//! | `Unreachable`                            | TCP, DNS, SSH handshake, timeout       | unreachable |
//! | `HostKeyUnknown/Changed/Revoked`         | the host's key is not trusted          | unreachable |
//! | `AuthFailed`                             | no key or password was accepted        | unreachable |
//! | `Unsupported`                            | a setting this transport cannot honour | unreachable |
//! | `Channel` with [`ChannelFault::Setup`]   | pgplay could not prepare the connection| unreachable |
//! | `Channel` with [`ChannelFault::Lost`]    | the session went away                  | unreachable |
//! | `Channel` with [`ChannelFault::NotStarted`] | connected, this command did not start | failed   |
//! | `Become`                                 | sudo/su refused or never ran it        | failed      |
//!
//! Host key and login refusals are unreachable as in Ansible (its ssh plugin fails to connect),
//! although the host did answer: [`TransportError::is_unreachable`] keeps that distinction for
//! callers that care (no path to the host at all).
//!
//! Every error names its host (the inventory name; a jump host says which hop it is), so it
//! reads alone. The engine wraps it with the task and where that task is written, and shows
//! the host on the result line: it prints [`TransportError::detail`], which is the same
//! message without the host, so that no fact is said twice.

use std::fmt;
use std::path::PathBuf;

/// Which part of a [`TransportError::Channel`] failed, which decides how it is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelFault {
    /// pgplay could not set the connection up on this machine (a control directory, the
    /// known_hosts file, handing a password to ssh) or cannot verify what the server offered:
    /// the host was never reached.
    Setup,
    /// The SSH session is gone or closing: the host is no longer reachable.
    Lost,
    /// The host is connected but this command could not be started (the server refused a
    /// channel or the command, an invalid environment variable name, a local shell that
    /// would not start): the task fails, the host stays in play.
    NotStarted,
}

/// How a run reports a transport failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The host is marked unreachable (recap `unreachable=1`, exit code 4); nothing more runs
    /// there.
    Unreachable,
    /// The task failed on a reachable host (exit code 2 unless ignored or rescued).
    TaskFailed,
}

/// Transport failures. `Display` output is meant for the operator.
#[derive(Clone, Debug)]
pub enum TransportError {
    /// TCP connection refused or timed out, DNS failure, SSH handshake failure.
    Unreachable {
        host: String,
        address: String,
        port: u16,
        reason: String,
    },
    /// The host's key is not in known_hosts and the policy is `Strict`.
    HostKeyUnknown {
        host: String,
        address: String,
        fingerprint: String,
        known_hosts: PathBuf,
    },
    /// known_hosts has a different key for the host. Never accepted.
    HostKeyChanged {
        host: String,
        address: String,
        fingerprint: String,
        known_hosts: PathBuf,
        line: usize,
    },
    /// known_hosts marks the key the host offered as `@revoked`. Never accepted.
    HostKeyRevoked {
        host: String,
        address: String,
        fingerprint: String,
        known_hosts: PathBuf,
        line: usize,
    },
    /// No key was accepted by the server.
    AuthFailed {
        host: String,
        user: String,
        tried: Vec<String>,
    },
    /// The host's settings ask for what only the openssh transport does (a `ProxyCommand`,
    /// `ansible_ssh_executable`, ...); russh does not connect without it.
    Unsupported { host: String, setting: String },
    /// A session or channel failure; `fault` says which part failed.
    Channel {
        host: String,
        fault: ChannelFault,
        reason: String,
    },
    /// Escalation failed: a wrong become password, or sudo/su never started the command.
    /// The host is reachable: this is the task's failure.
    Become { host: String, reason: String },
}

impl TransportError {
    /// A session or channel failure of `host`.
    pub(crate) fn channel(host: &str, fault: ChannelFault, reason: impl Into<String>) -> Self {
        TransportError::Channel {
            host: host.to_owned(),
            fault,
            reason: reason.into(),
        }
    }

    /// The inventory host the error is about (for a jump host: the target, and which hop).
    pub fn host(&self) -> &str {
        match self {
            TransportError::Unreachable { host, .. }
            | TransportError::HostKeyUnknown { host, .. }
            | TransportError::HostKeyChanged { host, .. }
            | TransportError::HostKeyRevoked { host, .. }
            | TransportError::AuthFailed { host, .. }
            | TransportError::Unsupported { host, .. }
            | TransportError::Channel { host, .. }
            | TransportError::Become { host, .. } => host,
        }
    }

    /// The message without the host: for a caller that names the host already.
    pub fn detail(&self) -> Detail<'_> {
        Detail(self)
    }

    /// How the run reports this failure (see the table in the module docs).
    pub fn verdict(&self) -> Verdict {
        match self {
            TransportError::Become { .. }
            | TransportError::Channel {
                fault: ChannelFault::NotStarted,
                ..
            } => Verdict::TaskFailed,
            _ => Verdict::Unreachable,
        }
    }

    /// True when there is no working path to the host: it could not be connected to (or
    /// pgplay could not set the connection up), or its session was lost. False for a host that
    /// answered but refused the login or its key is not trusted (reported unreachable all the
    /// same, see [`TransportError::verdict`]) and for a task failure.
    pub fn is_unreachable(&self) -> bool {
        match self {
            TransportError::Unreachable { .. } | TransportError::Unsupported { .. } => true,
            TransportError::Channel { fault, .. } => *fault != ChannelFault::NotStarted,
            _ => false,
        }
    }

    /// True when the host answered but the task cannot run as asked (a command that could not
    /// be started, a refused become password): reported as the task's failure.
    pub fn is_task_failure(&self) -> bool {
        self.verdict() == Verdict::TaskFailed
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.host(), self.detail())
    }
}

impl std::error::Error for TransportError {}

/// A [`TransportError`]'s message without its host (see [`TransportError::detail`]).
pub struct Detail<'a>(&'a TransportError);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            TransportError::Unreachable {
                address,
                port,
                reason,
                ..
            } => write!(f, "cannot connect to {address} port {port}: {reason}"),
            TransportError::HostKeyUnknown {
                address,
                fingerprint,
                known_hosts,
                ..
            } => {
                let kh = known_hosts.display();
                write!(
                    f,
                    "host key verification failed: no key for {address} in {kh} (server \
                     offered {fingerprint}). To trust this host on first use re-run with \
                     --accept-new-host-keys, or record its key yourself after verifying it, \
                     e.g. `ssh-keyscan [-p PORT] {address} >> {kh}`"
                )
            }
            TransportError::HostKeyChanged {
                address,
                fingerprint,
                known_hosts,
                line,
                ..
            } => {
                let kh = known_hosts.display();
                write!(
                    f,
                    "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for {address}! @@@ \
                     This is a possible man-in-the-middle attack (or the host key was \
                     replaced). The server offered {fingerprint}, which conflicts with \
                     {kh}:{line}. Refusing to connect, even with --accept-new-host-keys. If \
                     the change is legitimate, remove the stale entry (ssh-keygen -R {address} \
                     -f {kh}) and record the new key after verifying it."
                )
            }
            TransportError::HostKeyRevoked {
                address,
                fingerprint,
                known_hosts,
                line,
                ..
            } => {
                let kh = known_hosts.display();
                let at = if *line > 0 {
                    format!(":{line}")
                } else {
                    String::new()
                };
                write!(
                    f,
                    "the host key {address} offered ({fingerprint}) is REVOKED in {kh}{at}. \
                     Refusing to connect. A revoked key is never trusted again: give the host \
                     a new key and record that one after verifying it."
                )
            }
            TransportError::AuthFailed { user, tried, .. } => {
                write!(f, "authentication as {user:?} failed; tried: ")?;
                if tried.is_empty() {
                    f.write_str(
                        "nothing (no key files configured, ssh-agent not enabled, no password)",
                    )
                } else {
                    f.write_str(&tried.join("; "))
                }
            }
            TransportError::Unsupported { setting, .. } => write!(
                f,
                "{setting} is honoured by the openssh transport only (-c openssh, or \
                 ansible_connection: ssh); russh does not connect without it"
            ),
            TransportError::Channel { reason, .. } | TransportError::Become { reason, .. } => {
                f.write_str(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable() -> TransportError {
        TransportError::Unreachable {
            host: "h".into(),
            address: "a".into(),
            port: 22,
            reason: "r".into(),
        }
    }

    #[test]
    fn unreachable_classification() {
        let u = unreachable();
        assert!(u.is_unreachable());
        let c = TransportError::channel("h", ChannelFault::Lost, "connection lost");
        assert!(c.is_unreachable());
        let a = TransportError::AuthFailed {
            host: "h".into(),
            user: "u".into(),
            tried: vec![],
        };
        assert!(!a.is_unreachable());
        assert!(a.to_string().contains("no key files"));
    }

    /// The table of the module docs, row by row.
    #[test]
    fn each_variant_has_one_verdict() {
        let key = |line| TransportError::HostKeyChanged {
            host: "h".into(),
            address: "a".into(),
            fingerprint: "f".into(),
            known_hosts: "/kh".into(),
            line,
        };
        let cases = [
            (unreachable(), Verdict::Unreachable),
            (key(3), Verdict::Unreachable),
            (
                TransportError::HostKeyUnknown {
                    host: "h".into(),
                    address: "a".into(),
                    fingerprint: "f".into(),
                    known_hosts: "/kh".into(),
                },
                Verdict::Unreachable,
            ),
            (
                TransportError::HostKeyRevoked {
                    host: "h".into(),
                    address: "a".into(),
                    fingerprint: "f".into(),
                    known_hosts: "/kh".into(),
                    line: 0,
                },
                Verdict::Unreachable,
            ),
            (
                TransportError::AuthFailed {
                    host: "h".into(),
                    user: "u".into(),
                    tried: vec!["k: rejected".into()],
                },
                Verdict::Unreachable,
            ),
            (
                TransportError::Unsupported {
                    host: "h".into(),
                    setting: "ansible_ssh_executable".into(),
                },
                Verdict::Unreachable,
            ),
            (
                TransportError::channel("h", ChannelFault::Setup, "x"),
                Verdict::Unreachable,
            ),
            (
                TransportError::channel("h", ChannelFault::Lost, "x"),
                Verdict::Unreachable,
            ),
            (
                TransportError::channel("h", ChannelFault::NotStarted, "x"),
                Verdict::TaskFailed,
            ),
            (
                TransportError::Become {
                    host: "h".into(),
                    reason: "x".into(),
                },
                Verdict::TaskFailed,
            ),
        ];
        for (e, verdict) in cases {
            assert_eq!(e.verdict(), verdict, "{e}");
            assert_eq!(e.is_task_failure(), verdict == Verdict::TaskFailed, "{e}");
            // Said once: the host leads the message, the detail does not repeat it.
            assert_eq!(e.to_string(), format!("h: {}", e.detail()));
            assert_eq!(e.host(), "h");
        }
    }

    #[test]
    fn revoked_names_the_line_when_known() {
        let revoked = |line| TransportError::HostKeyRevoked {
            host: "h".into(),
            address: "a".into(),
            fingerprint: "f".into(),
            known_hosts: "/kh".into(),
            line,
        };
        assert!(revoked(2).to_string().contains("REVOKED in /kh:2."));
        assert!(revoked(0).to_string().contains("REVOKED in /kh."));
    }
}
