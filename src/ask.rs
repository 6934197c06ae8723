//! `-k` / `-K`: a password asked once, on the terminal, without echo, as ansible-playbook does.
//!
//! The answer is used for every host whose inventory sets no password of its own (a host's
//! `ansible_password` / `ansible_become_password` wins, as in Ansible). It is only ever read
//! from a terminal: with stdin not a terminal the run is refused before anything happens,
//! rather than reading a password from a pipe or hanging. Echo is turned off for the answer
//! and back on afterwards (also when reading fails).

use std::io::{BufRead, IsTerminal, Write};

use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions, Termios};

use crate::error::{Error, Result};
use crate::transport::Secret;

/// The `-k` prompt, as Ansible words it.
pub const SSH_PROMPT: &str = "SSH password: ";
/// The `-K` prompt; with `-k` too, an empty answer means the SSH password.
pub const BECOME_PROMPT: &str = "BECOME password: ";
pub const BECOME_DEFAULTS_PROMPT: &str = "BECOME password[defaults to SSH password]: ";

/// Refuse `-k`/`-K` when stdin is not a terminal (said before anything else happens).
pub fn require_terminal(flag: &str) -> Result<()> {
    if std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{flag} asks for the password on a terminal, and stdin is not one"
    ))
    .with_hint(
        "run it on a terminal, or set the password in the inventory (ansible_password, \
         ansible_become_password); pgplay never reads a password from a pipe",
    ))
}

/// Ask on stderr, read one line from the terminal on stdin without echo.
pub fn password(prompt: &str) -> Result<Secret> {
    let stdin = std::io::stdin();
    let failed = |e: std::io::Error| Error::Other(format!("cannot read the password: {e}"));
    let mut err = std::io::stderr();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    let saved = tcgetattr(&stdin).map_err(|e| failed(e.into()))?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    tcsetattr(&stdin, OptionalActions::Now, &quiet).map_err(|e| failed(e.into()))?;
    let restore = Restore(saved);
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    drop(restore);
    let n = read.map_err(failed)?;
    if n == 0 {
        return Err(Error::usage("no password was given (end of input)"));
    }
    Ok(Secret::new(line.trim_end_matches(['\n', '\r'])))
}

/// Puts the terminal's settings back.
struct Restore(Termios);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &self.0);
    }
}

/// `-k` and `-K`: asked once each, on the terminal; with both, an empty become password is
/// the SSH password (as ansible-playbook).
pub fn passwords(
    ask_pass: bool,
    ask_become_pass: bool,
) -> Result<(Option<Secret>, Option<Secret>)> {
    let conn = match ask_pass {
        true => Some(password(SSH_PROMPT)?),
        false => None,
    };
    let become_password = match (ask_become_pass, &conn) {
        (false, _) => None,
        (true, None) => Some(password(BECOME_PROMPT)?),
        (true, Some(ssh)) => {
            let given = password(BECOME_DEFAULTS_PROMPT)?;
            Some(if given.is_empty() { ssh.clone() } else { given })
        }
    };
    Ok((conn, become_password))
}
