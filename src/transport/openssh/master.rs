//! The multiplexing master: one `ssh -M -N` process per connection, and what it says.
//!
//! The master is the connection: it logs in once, then listens on its control socket, which
//! it only does once authenticated, so waiting for the socket is waiting for the login. It
//! runs with `LogLevel=DEBUG1` into a pipe that is read all along: when it exits before it is
//! ready, its log is the only account of why (`classify` reads it), and once it is up the last
//! few lines it says explain a lost connection later ([`MasterLog::last_message`]). Debug lines
//! after the login are dropped, as they echo commands that may carry secrets.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio as ProcessStdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::classify::{classify, Target};
use crate::transport::askpass::Askpass;
use crate::transport::TransportError;

/// Lines of the master's connect-phase log kept for error analysis.
const LOG_CONNECT_LINES: usize = 4000;
/// Non-debug lines kept after the connection is up (for "session lost").
const LOG_TAIL_LINES: usize = 20;

/// How to start one master.
pub(super) struct Spawn<'a> {
    /// The ssh program.
    pub program: &'a str,
    /// Options common to `ssh -G` and the master (see `args`).
    pub args: &'a [OsString],
    /// The control socket it listens on once logged in.
    pub ctl: &'a Path,
    /// What ssh is asked to connect to (an address or a `Host` alias).
    pub destination: &'a str,
    /// Hands the login password to ssh, when there is one.
    pub askpass: Option<&'a Askpass>,
    /// Bound on TCP connect, handshake and login.
    pub timeout: Duration,
}

/// Start the master and wait until it is logged in, within `spawn.timeout`. A master that
/// exits first, or is too slow, becomes the error its log explains.
pub(super) async fn start(
    spawn: Spawn<'_>,
    target: &Target,
) -> Result<(Child, Arc<Mutex<MasterLog>>), TransportError> {
    let ssh = spawn.program;
    let mut command = Command::new(ssh);
    command
        .arg("-M")
        .arg("-N")
        .arg("-S")
        .arg(spawn.ctl)
        .args(spawn.args)
        .arg("--")
        .arg(spawn.destination)
        .stdin(ProcessStdio::null())
        .stdout(ProcessStdio::null())
        .stderr(ProcessStdio::piped())
        .kill_on_drop(true);
    for (name, value) in spawn.askpass.iter().flat_map(|a| a.env()) {
        command.env(name, value);
    }
    let mut master = command
        .spawn()
        .map_err(|e| target.unreachable(format!("cannot run `{ssh}` (openssh-client): {e}")))?;
    let log = Arc::new(Mutex::new(MasterLog::default()));
    let drain = master
        .stderr
        .take()
        .map(|stderr| tokio::spawn(drain_log(stderr, Arc::clone(&log))));

    let ready = tokio::time::timeout(spawn.timeout, wait_ready(&mut master, spawn.ctl)).await;
    match ready {
        Ok(Ok(())) => {
            lock(&log).connected();
            Ok((master, log))
        }
        Ok(Err(status)) => {
            finish_drain(drain).await;
            let text = lock(&log).connect_text();
            Err(classify(&text, target, status))
        }
        Err(_) => {
            let _ = master.kill().await;
            finish_drain(drain).await;
            let detail = lock(&log).last_message();
            let mut reason = format!(
                "timed out after {:?} (TCP connect, SSH handshake and authentication)",
                spawn.timeout
            );
            if let Some(detail) = detail {
                reason.push_str(&format!("; ssh said: {detail}"));
            }
            Err(target.unreachable(reason))
        }
    }
}

/// A poisoned lock still holds usable data (a log, a child handle): take it.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Wait until the master listens on its control socket (it only does so
/// once authenticated), or has exited.
async fn wait_ready(master: &mut Child, ctl: &Path) -> Result<(), std::process::ExitStatus> {
    let mut delay = Duration::from_millis(2);
    loop {
        if let Ok(Some(status)) = master.try_wait() {
            return Err(status);
        }
        if std::fs::symlink_metadata(ctl).is_ok() {
            return Ok(());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(25));
    }
}

/// The master's stderr: everything up to the end of connection setup, then
/// only the last few non-debug lines (debug lines then echo commands, which
/// may carry secrets).
#[derive(Default)]
pub(super) struct MasterLog {
    connected: bool,
    connect: Vec<String>,
    tail: VecDeque<String>,
}

impl MasterLog {
    fn push(&mut self, line: String) {
        if !self.connected {
            if self.connect.len() < LOG_CONNECT_LINES {
                self.connect.push(line);
            }
        } else if !line.starts_with("debug") && !line.trim().is_empty() {
            if self.tail.len() == LOG_TAIL_LINES {
                self.tail.pop_front();
            }
            self.tail.push_back(line);
        }
    }

    fn connected(&mut self) {
        self.connected = true;
        self.connect = Vec::new();
    }

    fn connect_text(&self) -> String {
        self.connect.join("\n")
    }

    /// Last line ssh printed that is not debug output.
    pub(super) fn last_message(&self) -> Option<String> {
        let tail = self.tail.iter().rev();
        let connect = self.connect.iter().rev();
        tail.chain(connect)
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !l.starts_with("debug"))
            .map(str::to_owned)
    }
}

async fn drain_log(stderr: tokio::process::ChildStderr, log: Arc<Mutex<MasterLog>>) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                lock(&log).push(text.trim_end_matches(['\n', '\r']).to_owned());
            }
        }
    }
}

/// Let the log reader take in the master's last words (a ProxyJump helper
/// may keep the pipe open a little longer).
async fn finish_drain(drain: Option<JoinHandle<()>>) {
    if let Some(drain) = drain {
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_login_then_only_what_ssh_said() {
        let mut log = MasterLog::default();
        log.push("debug1: Connecting to h port 22.".into());
        log.push("Warning: Permanently added 'h' to the list of known hosts.".into());
        log.push("debug1: Authentication succeeded (publickey).".into());
        assert_eq!(log.connect_text().lines().count(), 3);
        assert_eq!(
            log.last_message().as_deref(),
            Some("Warning: Permanently added 'h' to the list of known hosts.")
        );
        log.connected();
        assert_eq!(log.connect_text(), "");
        // After the login, debug lines echo commands (secrets): never kept.
        log.push("debug1: Sending command: export PGPASSWORD=x".into());
        log.push("   ".into());
        assert_eq!(log.last_message(), None);
        for i in 0..(LOG_TAIL_LINES + 5) {
            log.push(format!("line {i}"));
        }
        assert_eq!(log.tail.len(), LOG_TAIL_LINES);
        assert!(!log.tail.iter().any(|l| l.contains("PGPASSWORD")));
        assert_eq!(
            log.last_message(),
            Some(format!("line {}", LOG_TAIL_LINES + 4))
        );
    }
}
