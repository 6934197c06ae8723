//! The become password dialog: answer sudo's or su's prompt once, then let the task's stdin in.
//!
//! With a become password the escalation command reads the password from the command's own
//! stdin (see `become`). Every transport runs the same small protocol on the command's
//! stderr, before anything of the task is sent:
//! * pgplay's sudo prompt (or su's `Password: `) → write the password and a newline, once;
//! * the prompt again → the password is wrong: stop with "incorrect password" (never send the
//!   task's input as a second guess);
//! * the become marker → the script runs as the become user: the task's stdin may follow;
//! * the command ends after a password was sent, before the marker → the password was refused;
//! * nothing of that within the bound → stop, saying what was seen (never hang).
//!
//! Prompts and the marker are removed from stderr; nothing else is. The password is never
//! echoed (sudo -S and su read it without a terminal), so stderr never holds it.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::r#become::{needs_wrap, Become, BecomeMethod, BECOME_OK, SUDO_PROMPT, SU_PROMPT};
use super::secret::Secret;
use super::TransportError;

/// Shortest bound on the dialog: PAM delays a wrong password by 2-3 s before sudo asks again.
const MIN_WAIT: Duration = Duration::from_secs(10);

/// How long the dialog may take, from the transport's connect timeout.
pub(crate) fn bound(connect_timeout: Duration) -> Duration {
    connect_timeout.max(MIN_WAIT)
}

/// What the transport does next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing decided yet: read more stderr.
    Wait,
    /// A prompt: write these bytes (the password and a newline) to the command's stdin.
    Answer(Vec<u8>),
    /// The script runs as the become user: feed the task's stdin from now on.
    Ready,
    /// The password was asked for again: it is wrong.
    Refused,
}

/// One command's dialog.
pub(crate) struct Dialog {
    host: String,
    method: BecomeMethod,
    login_user: String,
    become_user: String,
    password: Secret,
    answered: bool,
}

impl Dialog {
    /// A dialog when `become` escalates with a password; `None` otherwise (nothing to do).
    pub(crate) fn new(host: &str, r#become: Option<&Become>, login_user: &str) -> Option<Dialog> {
        let b = r#become.filter(|b| needs_wrap(Some(b), login_user) && b.asks_password())?;
        Some(Dialog {
            host: host.to_owned(),
            method: b.method,
            login_user: login_user.to_owned(),
            become_user: b.user.clone(),
            password: b.password.clone()?,
            answered: false,
        })
    }

    /// Look at the stderr read so far: remove a prompt or the marker and say what to do.
    pub(crate) fn scan(&mut self, stderr: &mut Vec<u8>) -> Step {
        let prompt = match self.method {
            BecomeMethod::Sudo => SUDO_PROMPT.as_bytes(),
            BecomeMethod::Su => SU_PROMPT.as_bytes(),
        };
        let at_prompt = find(stderr, prompt);
        let at_ready = find(stderr, BECOME_OK);
        match (at_prompt, at_ready) {
            (Some(p), r) if r.is_none_or(|r| p < r) => {
                stderr.drain(p..p + prompt.len());
                if self.answered {
                    return Step::Refused;
                }
                self.answered = true;
                let mut line = self.password.expose().as_bytes().to_vec();
                line.push(b'\n');
                Step::Answer(line)
            }
            (_, Some(r)) => {
                stderr.drain(r..r + BECOME_OK.len());
                Step::Ready
            }
            _ => Step::Wait,
        }
    }

    /// "sudo: incorrect password for alice on db1".
    pub(crate) fn refused(&self, stderr: &[u8]) -> TransportError {
        let whose = match self.method {
            BecomeMethod::Sudo => &self.login_user,
            BecomeMethod::Su => &self.become_user,
        };
        self.error(format!(
            "{}: incorrect password for {whose} on {} (the become password comes from \
             ansible_become_password or -K){}",
            self.method.name(),
            self.host,
            said(stderr)
        ))
    }

    /// The command ended before it ran as the become user; an error only when a password was
    /// sent (otherwise its own output says why, e.g. not in sudoers).
    pub(crate) fn ended(&self, stderr: &[u8]) -> Option<TransportError> {
        self.answered.then(|| self.refused(stderr))
    }

    pub(crate) fn timed_out(&self, after: Duration, stderr: &[u8]) -> TransportError {
        let seen = if self.answered {
            "the password was sent, but the command did not start"
        } else {
            "no password prompt was recognised and the command did not start"
        };
        self.error(format!(
            "{} to {} did not finish within {}s: {seen}{}",
            self.method.name(),
            self.become_user,
            after.as_secs(),
            said(stderr)
        ))
    }

    fn error(&self, reason: String) -> TransportError {
        TransportError::Become {
            host: self.host.clone(),
            reason,
        }
    }
}

/// `; it said: ...` with the last lines of stderr, when there are any.
fn said(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    if tail.is_empty() {
        String::new()
    } else {
        format!("; it said: {tail}")
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Run the dialog on a child's stderr and stdin (openssh and local transports): read stderr
/// into `head` (prompts and marker removed) until the script runs as the become user. `Ok`
/// also when the command ended without a password being asked (its output says why).
pub(crate) async fn converse<R, W>(
    dialog: &mut Dialog,
    stderr: &mut R,
    stdin: &mut W,
    head: &mut Vec<u8>,
    bound: Duration,
) -> Result<(), TransportError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let talk = async {
        loop {
            match dialog.scan(head) {
                Step::Answer(line) => {
                    // A command that stopped reading ends on its own; its stderr says why.
                    let _ = stdin.write_all(&line).await;
                    let _ = stdin.flush().await;
                    continue;
                }
                Step::Ready => return Ok(()),
                Step::Refused => return Err(dialog.refused(head)),
                Step::Wait => {}
            }
            match stderr.read_buf(head).await {
                Ok(0) | Err(_) => return dialog.ended(head).map_or(Ok(()), Err),
                Ok(_) => {}
            }
        }
    };
    match tokio::time::timeout(bound, talk).await {
        Ok(result) => result,
        Err(_) => Err(dialog.timed_out(bound, head)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sudo(password: &str) -> Become {
        let mut b = Become::new("root", BecomeMethod::Sudo);
        b.password = Some(Secret::new(password));
        b
    }

    #[test]
    fn only_with_a_password_and_a_switch() {
        assert!(Dialog::new("h", Some(&sudo("pw")), "alice").is_some());
        assert!(Dialog::new("h", Some(&sudo("pw")), "root").is_none());
        assert!(Dialog::new("h", Some(&sudo("")), "alice").is_none());
        let plain = Become::new("root", BecomeMethod::Sudo);
        assert!(Dialog::new("h", Some(&plain), "alice").is_none());
    }

    #[test]
    fn answers_once_then_refuses() {
        let b = sudo("s3cret-pw");
        let Some(mut d) = Dialog::new("db1", Some(&b), "alice") else {
            panic!("dialog")
        };
        let mut err = b"motd\n[pgplay-sudo-pass".to_vec();
        assert_eq!(d.scan(&mut err), Step::Wait);
        err.extend_from_slice(b"word]:");
        assert_eq!(d.scan(&mut err), Step::Answer(b"s3cret-pw\n".to_vec()));
        assert_eq!(err, b"motd\n");
        err.extend_from_slice(b"Sorry, try again.\n[pgplay-sudo-password]:");
        assert_eq!(d.scan(&mut err), Step::Refused);
        let e = d.refused(&err).to_string();
        assert!(
            e.starts_with("db1: sudo: incorrect password for alice on db1"),
            "{e}"
        );
        assert!(e.contains("Sorry, try again."), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn the_marker_lets_stdin_in() {
        let b = sudo("pw");
        let Some(mut d) = Dialog::new("db1", Some(&b), "alice") else {
            panic!("dialog")
        };
        let mut err = b"\x1epgplay-become-ok\x1e\nwarning\n".to_vec();
        assert_eq!(d.scan(&mut err), Step::Ready);
        assert_eq!(err, b"warning\n");
        assert!(d.ended(&err).is_none());
    }

    #[tokio::test]
    async fn converse_over_pipes() {
        let b = sudo("pw");
        let Some(mut d) = Dialog::new("db1", Some(&b), "alice") else {
            panic!("dialog")
        };
        let mut stderr: &[u8] = b"[pgplay-sudo-password]:\x1epgplay-become-ok\x1e\nrest";
        let mut stdin = Vec::new();
        let mut head = Vec::new();
        let r = converse(
            &mut d,
            &mut stderr,
            &mut stdin,
            &mut head,
            Duration::from_secs(1),
        )
        .await;
        assert!(r.is_ok());
        assert_eq!(stdin, b"pw\n");
        assert_eq!(head, b"rest");
    }
}
