//! Local transport: run a task's script on this machine.
//!
//! Playbooks target `localhost` (e.g. to prepare files on the control node)
//! with the same semantics as a remote host, so this runs the same wrapped
//! script with a local `/bin/sh` instead of going through sshd: same
//! environment exports, same `sudo`/`su` escalation (skipped when we already
//! are the become user), same stdin/stdout/stderr/status handling.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::dialog::{self, Dialog};
use super::{build_script, wrap, ChannelFault, ExecOutput, ExecRequest, TransportError};
use crate::base::user::current_user;

/// Host name used in error messages for the local transport.
const LOCAL_HOST: &str = "localhost";

/// Runs commands as the user this process runs as.
#[derive(Debug, Clone)]
pub struct LocalConnection {
    user: String,
}

impl Default for LocalConnection {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalConnection {
    pub fn new() -> Self {
        LocalConnection {
            user: current_user().to_owned(),
        }
    }

    /// The user commands run as when no escalation is requested.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// See [`super::Connection::exec`]. With a become password, sudo's or su's prompt is
    /// answered before the task's stdin is fed (see `dialog`).
    pub async fn exec(&self, req: ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        let script = build_script(LOCAL_HOST, &req)?;
        let command = wrap(&script, req.r#become, &self.user);
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so that an abandoned command is stopped whole.
            .process_group(0)
            .spawn()
            .map_err(|e| {
                let reason = format!("cannot start /bin/sh: {e}");
                TransportError::channel(LOCAL_HOST, ChannelFault::NotStarted, reason)
            })?;
        let guard = StopGroupOnDrop(child.id());
        let mut stdin = child.stdin.take();
        let mut stderr = child.stderr.take();
        let stdout = child.stdout.take();
        let mut head = Vec::new();
        if let Some(mut talk) = Dialog::new(LOCAL_HOST, req.r#become, &self.user) {
            if let (Some(err), Some(input)) = (stderr.as_mut(), stdin.as_mut()) {
                let bound = dialog::bound(Duration::ZERO);
                if let Err(e) = dialog::converse(&mut talk, err, input, &mut head, bound).await {
                    // EOF: sudo stops waiting; dropping the guard stops the rest.
                    drop(stdin.take());
                    return Err(e);
                }
            }
        }
        let input = req.stdin;
        let feed = async move {
            if let (Some(mut pipe), Some(data)) = (stdin, input) {
                // A script that exits without reading its input closes the
                // pipe; that is not an error of the transport.
                let _ = pipe.write_all(data).await;
            }
            // Dropping the pipe sends EOF.
        };
        let (_, stdout, stderr, status) = tokio::join!(
            feed,
            read_all(stdout, Vec::new()),
            read_all(stderr, head),
            child.wait()
        );
        guard.disarm();
        // This machine is always reachable: a failure here is the task's.
        let failed = |e: std::io::Error| {
            let reason = format!("waiting for /bin/sh failed: {e}");
            TransportError::channel(LOCAL_HOST, ChannelFault::NotStarted, reason)
        };
        let status = status.map_err(failed)?;
        let status = match (status.code(), status.signal()) {
            (Some(code), _) => code,
            (None, Some(signal)) => 128 + signal,
            (None, None) => -1,
        };
        Ok(ExecOutput {
            status,
            stdout: stdout.map_err(failed)?,
            stderr: stderr.map_err(failed)?,
        })
    }
}

/// `head` followed by everything left in `pipe`.
async fn read_all<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    mut head: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut head).await?;
    }
    Ok(head)
}

/// Sends SIGTERM to an abandoned command's process group (a timeout, a second interrupt),
/// so that nothing it started runs on.
struct StopGroupOnDrop(Option<u32>);

impl StopGroupOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for StopGroupOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = std::process::Command::new("kill")
                .args(["-s", "TERM", "--", &format!("-{pid}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
