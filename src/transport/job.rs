//! A remote command as a job that can be stopped whole.
//!
//! Every command runs under a small wrapper shell that first writes its pid to stderr (a
//! marker that the transport removes from the output) and then runs the script as its child.
//! The wrapper is the SSH session's first process, so its pid is the process group of
//! everything the command starts (sudo and the script as the become user included). When pgplay
//! abandons a command (a task `timeout:`, a second Ctrl-C), the transport stops that group with
//! [`stop_command`] over a fresh session — the SSH `signal` request is no substitute: OpenSSH
//! refuses it for root logins, and a non-root login cannot signal the root-owned `sudo`.
//!
//! The wrapper also exits with the script's `$?`, so a script killed by signal `n` reports
//! `128 + n` on every transport.

use super::r#become::{needs_wrap, wrap, Become, BecomeMethod};
use crate::base::shell::quote;

/// Written by the wrapper to stderr before the script runs (then removed from the output).
pub(crate) const PID_MARKER: &[u8] = b"\x1epgplay-pid=";

/// The command line given to the remote login shell for `script`.
pub(crate) fn remote_command(script: &str, r#become: Option<&Become>, login_user: &str) -> String {
    let inner = if needs_wrap(r#become, login_user) {
        wrap(script, r#become, login_user)
    } else {
        format!("/bin/sh -c {}", quote(script))
    };
    let body = format!("printf '\\036pgplay-pid=%s\\036\\n' \"$$\" >&2\n{inner}\nexit $?");
    format!("exec /bin/sh -c {}", quote(&body))
}

/// Position, length and pid of the first complete marker in `buf`.
pub(crate) fn find_marker(buf: &[u8]) -> Option<(usize, usize, u32)> {
    let start = buf
        .windows(PID_MARKER.len())
        .position(|w| w == PID_MARKER)?;
    let rest = &buf[start + PID_MARKER.len()..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if rest.get(digits..digits + 2) != Some(b"\x1e\n") {
        return None;
    }
    let pid = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    Some((start, PID_MARKER.len() + digits + 2, pid))
}

/// The command that stops job `pid`: SIGTERM to its process group, then SIGKILL to what is
/// left after a grace period. A job that escalated (`as_root`: a become while logged in as
/// another user than root) is stopped through sudo, falling back to the login user: `sudo -n`,
/// or with `password` `sudo -S -p ''`, whose password the caller writes to its stdin.
pub(crate) fn stop_command(pid: u32, as_root: bool, password: bool) -> String {
    let stop = format!(
        "kill -s TERM -- -{pid} 2>/dev/null || kill -s TERM {pid} 2>/dev/null; \
         i=0; while kill -0 -- -{pid} 2>/dev/null && [ $i -lt 12 ]; do sleep 0.25; i=$((i+1)); done; \
         kill -s KILL -- -{pid} 2>/dev/null; exit 0"
    );
    if as_root {
        let sudo = if password { "sudo -S -p ''" } else { "sudo -n" };
        format!(
            "exec /bin/sh -c {}",
            quote(&format!(
                "{sudo} /bin/sh -c {} 2>/dev/null || /bin/sh -c {}",
                quote(&stop),
                quote(&stop)
            ))
        )
    } else {
        format!("exec /bin/sh -c {}", quote(&stop))
    }
}

/// Whether stopping a job of this request needs root: it became someone while the login user
/// is not root (its processes then belong to root's sudo and to the become user).
pub(crate) fn stop_needs_root(r#become: Option<&Become>, login_user: &str) -> bool {
    needs_wrap(r#become, login_user) && login_user != "root"
}

/// The stdin of the stop command: the sudo password line when the job escalated with sudo
/// and a password (sudo then asks for it to stop the job too).
pub(crate) fn stop_input(r#become: Option<&Become>, login_user: &str) -> Option<Vec<u8>> {
    let b = r#become?;
    if !stop_needs_root(Some(b), login_user) || b.method != BecomeMethod::Sudo {
        return None;
    }
    let password = b.password.as_ref().filter(|p| !p.is_empty())?;
    let mut line = password.expose().as_bytes().to_vec();
    line.push(b'\n');
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_is_found() {
        let buf = b"rc noise\n\x1epgplay-pid=4242\x1e\nerr\n";
        assert_eq!(find_marker(buf), Some((9, 18, 4242)));
        assert_eq!(find_marker(b"\x1epgplay-pid=42"), None);
        assert_eq!(find_marker(b"\x1epgplay-pid=\x1e\n"), None);
    }

    #[test]
    fn command_is_wrapped_once_for_the_login_shell() {
        let cmd = remote_command("echo 'x'", None, "root");
        assert!(cmd.starts_with("exec /bin/sh -c '"), "{cmd}");
        assert!(cmd.contains("exit $?"), "{cmd}");
    }

    #[test]
    fn stop_goes_through_sudo_only_when_needed() {
        assert!(stop_command(42, true, false).contains("sudo -n"));
        assert!(stop_command(42, true, true).contains("sudo -S"));
        assert!(!stop_command(42, false, false).contains("sudo"));
        assert!(stop_command(42, false, false).contains("kill -s TERM -- -42"));
    }
}
