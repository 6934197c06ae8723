//! SSH transport built on `russh`.
//!
//! One TCP connection and one authenticated SSH session per host, opened
//! once and shared by every task of the run; each [`RusshConnection::exec`]
//! opens its own session channel on it, so tasks for one host can run
//! concurrently without paying for a new handshake each time (which is what
//! made ansible-playbook slow for Pigsty backup runs).
//!
//! Layout: `connect` opens the session (TCP or through `jump` hosts, handshake), `host_keys`
//! checks the server's key as OpenSSH does (known_hosts; unknown keys only recorded with
//! accept-new; changed or revoked keys always refused), `auth` logs in (key files, agent,
//! then the inventory's password). This file runs commands over the open session.

mod auth;
mod connect;
mod host_keys;
mod jump;

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ::russh::client::{Handle, Msg};
use ::russh::{ChannelMsg, ChannelWriteHalf, Disconnect, Sig};
use tokio::sync::{Semaphore, SemaphorePermit};

pub use self::host_keys::Client;
use super::dialog::{self, Dialog, Step};
use super::job::{find_marker, remote_command, stop_command, stop_input, stop_needs_root};
use super::ChannelFault::{self, Lost, NotStarted};
use super::{build_script, signal_status, ConnectOptions, ExecOutput, ExecRequest, TransportError};

/// Concurrent channels per session. OpenSSH's default `MaxSessions` is 10;
/// staying below it leaves room for sessions the server has not reaped yet.
/// The limit shrinks further if the server refuses channels anyway.
pub const MAX_CHANNELS: usize = 8;

/// Retries of a refused channel open before concluding the server's limit is
/// lower than ours.
const OPEN_RETRIES: u32 = 3;

/// An authenticated SSH session to one host.
pub struct RusshConnection {
    host: String,
    user: String,
    handle: Arc<Handle<Client>>,
    /// Jump host sessions the connection runs through (closed after it).
    jumps: Vec<Handle<Client>>,
    /// Bound on a become password dialog.
    become_wait: Duration,
    slots: Semaphore,
    capacity: AtomicUsize,
    /// Abandoned commands whose stop is not sent yet; `close` waits for them.
    stopping: Arc<Stopping>,
}

/// A count of abandoned commands being stopped, and a bell when it falls.
#[derive(Default)]
struct Stopping {
    count: AtomicUsize,
    done: tokio::sync::Notify,
}

impl RusshConnection {
    /// Connect, verify the host key and authenticate, all within
    /// `opts.connect_timeout`.
    pub async fn connect(opts: &ConnectOptions) -> Result<RusshConnection, TransportError> {
        let session = match tokio::time::timeout(opts.connect_timeout, open(opts)).await {
            Ok(result) => result?,
            Err(_) => {
                let via = match opts.jump.len() {
                    0 => String::new(),
                    1 => " through the jump host".to_string(),
                    n => format!(" through {n} jump hosts"),
                };
                return Err(connect::unreachable(
                    opts,
                    format!(
                        "timed out after {:?} (TCP connect, SSH handshake and authentication{via})",
                        opts.connect_timeout
                    ),
                ));
            }
        };
        Ok(RusshConnection {
            host: opts.host.clone(),
            user: opts.user.clone(),
            handle: Arc::new(session.handle),
            jumps: session.jumps,
            become_wait: dialog::bound(opts.connect_timeout),
            slots: Semaphore::new(MAX_CHANNELS),
            capacity: AtomicUsize::new(MAX_CHANNELS),
            stopping: Arc::default(),
        })
    }

    /// Login user of this session.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// True once the session is gone (closed by either side or failed).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// See [`super::Connection::exec`]. With a become password, the task's stdin is held
    /// back until the escalated script runs (see `dialog`).
    pub async fn exec(&self, req: ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        let script = build_script(&self.host, &req)?;
        // The login shell may be anything: the script runs in sh, under the job wrapper that
        // says its process group first (see `job`).
        let command = remote_command(&script, req.r#become, &self.user);
        let mut dialog = Dialog::new(&self.host, req.r#become, &self.user);

        let (channel, _permit) = self.open_channel().await?;
        let (mut reader, writer) = channel.split();
        let guard = CloseOnDrop {
            writer: Some(writer),
            stopping: Arc::clone(&self.stopping),
            handle: Arc::clone(&self.handle),
            pid: AtomicU32::new(0),
            as_root: stop_needs_root(req.r#become, &self.user),
            stop_input: stop_input(req.r#become, &self.user),
        };
        let mut marker_seen = false;
        // Always `Some` until `disarm`; checked instead of unwrapped.
        let Some(writer) = guard.writer.as_ref() else {
            return Err(self.channel_error(NotStarted, "internal error: channel writer missing"));
        };
        if let Err(e) = writer.exec(true, command.into_bytes()).await {
            let fault = if self.handle.is_closed() {
                Lost
            } else {
                NotStarted
            };
            return Err(self.channel_error(fault, format!("cannot send command: {e}")));
        }

        let stdin = req.stdin.map(<[u8]>::to_vec);
        let mut feed = Box::pin(async {
            if let Some(data) = stdin.filter(|d| !d.is_empty()) {
                writer.data_bytes(data).await?;
            }
            writer.eof().await
        });
        let mut feeding = dialog.is_none();
        let deadline = tokio::time::Instant::now() + self.become_wait;
        let mut refused: Option<TransportError> = None;

        let mut out = ExecOutput {
            status: -1,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        let mut exit_seen = false;
        let mut exec_confirmed = false;
        let mut closed = false;
        loop {
            tokio::select! {
                // Errors while feeding stdin mean the remote side stopped
                // reading (closed the channel); the outcome is in the reader.
                _ = &mut feed, if feeding => feeding = false,
                // The become dialog is bounded; dropping the guard stops the command.
                _ = tokio::time::sleep_until(deadline), if dialog.is_some() || refused.is_some() => {
                    return Err(match (refused, dialog) {
                        (Some(e), _) => e,
                        (None, Some(d)) => d.timed_out(self.become_wait, &out.stderr),
                        (None, None) => self.channel_error(NotStarted, "internal error: dialog"),
                    });
                }
                msg = reader.wait() => match msg {
                    Some(ChannelMsg::Data { data }) => out.stdout.extend_from_slice(&data),
                    Some(ChannelMsg::ExtendedData { data, ext }) => {
                        if ext == 1 {
                            out.stderr.extend_from_slice(&data);
                            if !marker_seen {
                                if let Some((at, len, pid)) = find_marker(&out.stderr) {
                                    out.stderr.drain(at..at + len);
                                    guard.pid.store(pid, Ordering::SeqCst);
                                    marker_seen = true;
                                }
                            }
                            // Answer the prompt, or let the task's stdin in.
                            while let Some(step) = dialog.as_mut().map(|d| d.scan(&mut out.stderr)) {
                                match step {
                                    Step::Wait => break,
                                    Step::Answer(line) => {
                                        let _ = writer.data_bytes(line).await;
                                    }
                                    Step::Ready => {
                                        dialog = None;
                                        feeding = true;
                                    }
                                    Step::Refused => {
                                        refused = dialog.take().map(|d| d.refused(&out.stderr));
                                        // EOF: sudo gives up instead of waiting for another try.
                                        let _ = writer.eof().await;
                                    }
                                }
                            }
                        }
                    }
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        exit_seen = true;
                        out.status = i32::try_from(exit_status).unwrap_or(-1);
                    }
                    Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                        exit_seen = true;
                        out.status = signal_status(sig_name(&signal_name));
                    }
                    Some(ChannelMsg::Success) => exec_confirmed = true,
                    Some(ChannelMsg::Failure) if !exec_confirmed => {
                        return Err(self.channel_error(NotStarted, "the server refused to run the command"));
                    }
                    Some(ChannelMsg::Close) => {
                        closed = true;
                        break;
                    }
                    Some(_) => {}
                    None => break,
                },
            }
        }
        drop(feed);
        guard.disarm();
        if let Some(e) = refused.or_else(|| dialog.and_then(|d| d.ended(&out.stderr))) {
            return Err(e);
        }
        if !closed && !exit_seen {
            return Err(self.channel_error(
                Lost,
                "SSH session lost while the command was running (no exit status received)",
            ));
        }
        Ok(out)
    }

    /// Open a session channel, holding one of the session's channel slots.
    async fn open_channel(
        &self,
    ) -> Result<(::russh::Channel<Msg>, SemaphorePermit<'_>), TransportError> {
        loop {
            let permit = self
                .slots
                .acquire()
                .await
                .map_err(|_| self.channel_error(Lost, "session is closing"))?;
            let mut attempt = 0;
            loop {
                match self.handle.channel_open_session().await {
                    Ok(channel) => return Ok((channel, permit)),
                    Err(::russh::Error::ChannelOpenFailure(_)) if attempt < OPEN_RETRIES => {
                        // The server may not have reaped a just-closed session.
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt))).await;
                    }
                    Err(::russh::Error::ChannelOpenFailure(_)) if self.shrink() => {
                        // The server's MaxSessions is lower than our limit:
                        // give this slot up for good and wait for another one.
                        permit.forget();
                        break;
                    }
                    Err(e) => {
                        let (fault, reason) = if self.handle.is_closed() {
                            (Lost, format!("SSH session lost: {e}"))
                        } else if matches!(e, ::russh::Error::ChannelOpenFailure(_)) {
                            let reason = format!(
                                "the server refused a new channel ({e}): its MaxSessions limit \
                                 is taken by commands that are still running"
                            );
                            (NotStarted, reason)
                        } else {
                            (NotStarted, format!("cannot open a channel: {e}"))
                        };
                        return Err(self.channel_error(fault, reason));
                    }
                }
            }
        }
    }

    /// Lower the channel limit by one, unless it already is 1.
    fn shrink(&self) -> bool {
        self.capacity
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                (c > 1).then(|| c - 1)
            })
            .is_ok()
    }

    fn channel_error(&self, fault: ChannelFault, reason: impl Into<String>) -> TransportError {
        TransportError::channel(&self.host, fault, reason)
    }

    /// Politely disconnect and wait (briefly) for the session to wind down.
    pub async fn close(self) {
        // An abandoned command's stop must reach the server before the disconnect.
        let _ = tokio::time::timeout(STOP_TIMEOUT + Duration::from_secs(1), async {
            loop {
                let bell = self.stopping.done.notified();
                if self.stopping.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                bell.await;
            }
        })
        .await;
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "pgplay finished", "en")
            .await;
        if let Ok(handle) = Arc::try_unwrap(self.handle) {
            let _ = tokio::time::timeout(Duration::from_secs(2), handle).await;
        }
        // The jump sessions carried it: close them after it, innermost first.
        for jump in self.jumps.into_iter().rev() {
            let _ = jump
                .disconnect(Disconnect::ByApplication, "pgplay finished", "en")
                .await;
            let _ = tokio::time::timeout(Duration::from_secs(2), jump).await;
        }
    }
}

/// Stops the command and closes the channel if `exec` is abandoned midway (a task timeout, a
/// second Ctrl-C drops the future), so the host does not keep running it and holding a
/// session: its process group (known from the job marker) is stopped over a fresh channel.
struct CloseOnDrop {
    writer: Option<ChannelWriteHalf<Msg>>,
    stopping: Arc<Stopping>,
    handle: Arc<Handle<Client>>,
    /// The job's process group, 0 until its marker was read.
    pid: AtomicU32,
    as_root: bool,
    /// The sudo password line the stop command reads (see `job::stop_input`).
    stop_input: Option<Vec<u8>>,
}

impl CloseOnDrop {
    fn disarm(mut self) {
        self.writer = None;
    }
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let Some(writer) = self.writer.take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let stopping = Arc::clone(&self.stopping);
        let handle = Arc::clone(&self.handle);
        let pid = self.pid.load(Ordering::SeqCst);
        let as_root = self.as_root;
        let input = self.stop_input.take();
        stopping.count.fetch_add(1, Ordering::SeqCst);
        rt.spawn(async move {
            if pid != 0 {
                let command = stop_command(pid, as_root, input.is_some());
                let _ =
                    tokio::time::timeout(STOP_TIMEOUT, run_to_end(&handle, command, input)).await;
            }
            let _ = writer.eof().await;
            let _ = writer.close().await;
            stopping.count.fetch_sub(1, Ordering::SeqCst);
            stopping.done.notify_waiters();
        });
    }
}

/// Bound on stopping an abandoned command.
const STOP_TIMEOUT: Duration = Duration::from_secs(8);

/// Run `command` on a fresh channel, feeding `input`, and wait until it ends (output ignored).
/// Connect to `opts.address`: directly, or through the jump hosts of `opts.jump`.
async fn open(opts: &ConnectOptions) -> Result<connect::Session, TransportError> {
    if opts.jump.is_empty() {
        connect::open_direct(opts).await
    } else {
        jump::open(opts).await
    }
}

async fn run_to_end(handle: &Handle<Client>, command: String, input: Option<Vec<u8>>) {
    let Ok(channel) = handle.channel_open_session().await else {
        return;
    };
    let (mut reader, writer) = channel.split();
    if writer.exec(true, command.into_bytes()).await.is_err() {
        return;
    }
    if let Some(input) = input {
        let _ = writer.data_bytes(input).await;
    }
    let _ = writer.eof().await;
    while let Some(msg) = reader.wait().await {
        if matches!(msg, ChannelMsg::Close) {
            break;
        }
    }
}

fn sig_name(sig: &Sig) -> &str {
    match sig {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name,
    }
}
