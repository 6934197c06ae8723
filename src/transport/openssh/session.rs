//! Commands as multiplexed sessions on the ssh master: start, hand over, stop when abandoned.
//!
//! Each `exec` opens a session over the master's control socket (native multiplexing, no
//! `ssh` process per command), reads the job's pid marker (and runs the become password
//! dialog) in a task of its own, then hands the running command to `exec`. Should `exec` be
//! dropped at any point (a task timeout, a second Ctrl-C), exactly one side stops the command:
//! SIGTERM to its process group over a short extra session, since the multiplexing protocol
//! cannot signal a session and sshd keeps its `MaxSessions` slot until the command exits.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::openssh::{Error as SshError, Session, Stdio};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};

use super::{lock, CANCEL_TIMEOUT, MAX_SESSIONS, OPEN_RETRIES};
use crate::transport::dialog::{self, Dialog};
use crate::transport::job::{find_marker, stop_command};
use crate::transport::TransportError;

/// State shared by a connection and its background tasks.
pub(super) struct Shared {
    /// Non-owning handle on the master, for sessions and health checks.
    pub(super) mux: Arc<Session>,
    slots: Arc<Semaphore>,
    capacity: AtomicUsize,
    /// Cancellations waiting for a session of their own.
    cancels_pending: AtomicUsize,
    cancels_done: Notify,
}

impl Shared {
    pub(super) fn new(ctl: &Path) -> Shared {
        Shared {
            mux: Arc::new(Session::resume_mux(ctl.into(), None)),
            slots: Arc::new(Semaphore::new(MAX_SESSIONS)),
            capacity: AtomicUsize::new(MAX_SESSIONS),
            cancels_pending: AtomicUsize::new(0),
            cancels_done: Notify::new(),
        }
    }

    /// Start `command` as a new multiplexed session, holding one of the
    /// connection's session slots. `None` when `handoff` says that the
    /// `exec` was abandoned before the session was requested.
    async fn open(
        &self,
        command: &str,
        with_stdin: bool,
        handoff: &Handoff,
    ) -> Option<Result<(RemoteChild, OwnedSemaphorePermit), OpenError>> {
        loop {
            let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
                return Some(Err(OpenError::Closing));
            };
            let mut attempt = 0;
            loop {
                // A pending cancellation needs a free server session first.
                self.cancels_idle().await;
                if !handoff.begin_spawn() {
                    return None;
                }
                let spawned = Arc::clone(&self.mux)
                    .arc_raw_command(command)
                    .stdin(if with_stdin {
                        Stdio::piped()
                    } else {
                        Stdio::null()
                    })
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .await;
                let refused = match spawned {
                    Ok(child) => return Some(Ok((child, permit))),
                    Err(e) if is_refused(&e) => e,
                    Err(e) => return Some(Err(OpenError::Ssh(e))),
                };
                // No session was opened: nothing to cancel from here on.
                if !handoff.spawn_failed() {
                    return None;
                }
                if attempt < OPEN_RETRIES {
                    // The server may not have reaped a just-closed session.
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt))).await;
                } else if self.shrink() {
                    // The server's MaxSessions is lower than our limit: give
                    // this slot up for good and wait for another one.
                    permit.forget();
                    break;
                } else {
                    return Some(Err(OpenError::Ssh(refused)));
                }
            }
        }
    }

    /// Lower the session limit by one, unless it already is 1.
    fn shrink(&self) -> bool {
        self.capacity
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                (c > 1).then(|| c - 1)
            })
            .is_ok()
    }

    /// Wait until no cancellation is waiting for a session.
    pub(super) async fn cancels_idle(&self) {
        loop {
            let done = self.cancels_done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            if self.cancels_pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            done.await;
        }
    }

    /// Stop an abandoned command: SIGTERM to its process group over a short
    /// extra session, then free its slot. sshd keeps a session, and its
    /// `MaxSessions` slot, until the command exits, and the multiplexing
    /// protocol cannot signal a session. New sessions wait until pending
    /// cancellations have had theirs, so abandoned commands cannot starve
    /// their own cancellation of server sessions.
    /// `pending` is the cancellation's registration if it already has one.
    fn cancel(
        self: &Arc<Self>,
        pid: Option<u32>,
        stop: Stop,
        permit: OwnedSemaphorePermit,
        pending: Option<Pending>,
    ) {
        let Some(pid) = pid else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pending = pending.unwrap_or_else(|| Pending::new(Arc::clone(self)));
        let shared = Arc::clone(self);
        rt.spawn(async move {
            let _ = tokio::time::timeout(CANCEL_TIMEOUT, shared.send_sigterm(pid, &stop)).await;
            // The command's session is going away: next sessions may open.
            drop(pending);
            drop(permit);
        });
    }

    /// `kill -TERM` the process group `pid`, retrying while the server
    /// refuses sessions.
    async fn send_sigterm(&self, pid: u32, stop: &Stop) {
        let kill = stop_command(pid, stop.as_root, stop.input.is_some());
        let mut attempt: u64 = 0;
        loop {
            let mut command = self.mux.raw_command(&kill);
            command
                .stdin(if stop.input.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let status = match command.spawn().await {
                Ok(mut child) => {
                    if let (Some(mut pipe), Some(input)) = (child.stdin().take(), &stop.input) {
                        let _ = pipe.write_all(input).await;
                    }
                    child.wait().await.map(drop)
                }
                Err(e) => Err(e),
            };
            match status {
                Err(e) if is_refused(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis((25 * attempt).min(250))).await;
                }
                _ => return,
            }
        }
    }
}

/// One pending cancellation; counted from creation (synchronously, while the
/// `exec` future is dropped) until dropped.
pub(super) struct Pending(Arc<Shared>);

impl Pending {
    fn new(shared: Arc<Shared>) -> Pending {
        shared.cancels_pending.fetch_add(1, Ordering::SeqCst);
        Pending(shared)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.cancels_pending.fetch_sub(1, Ordering::SeqCst);
        self.0.cancels_done.notify_waiters();
    }
}

pub(super) type RemoteChild = ::openssh::Child<Arc<Session>>;

/// Why a session could not be started.
pub(super) enum OpenError {
    Closing,
    Ssh(SshError),
    /// The become password dialog failed (see `dialog`).
    Become(TransportError),
}

/// A command running in its session, its pid known. Dropping it stops the
/// command (through `guard`).
pub(super) struct Started {
    pub(super) child: RemoteChild,
    /// Stderr read so far, marker removed.
    pub(super) stderr_head: Vec<u8>,
    pub(super) stderr: Option<::openssh::ChildStderr>,
    pub(super) guard: CancelOnDrop,
}

/// Where the start of one `exec` stands, shared by the `exec` future and its
/// `start` task, so that exactly one of them stops a command whose `exec`
/// was abandoned, and the cancellation is registered (see
/// [`Shared::cancels_idle`]) by the time the `exec` future is gone.
pub(super) struct Handoff {
    shared: Arc<Shared>,
    phase: Mutex<Phase>,
}

pub(super) enum Phase {
    /// No session requested (yet, or after a refusal).
    Waiting,
    /// A session is being requested or runs; `exec` does not have it yet.
    Spawning,
    /// `exec` was dropped; with the cancellation's registration when a
    /// session may exist.
    Abandoned(Option<Pending>),
    /// `start` is done with it.
    Finished,
}

impl Handoff {
    pub(super) fn new(shared: Arc<Shared>) -> Handoff {
        Handoff {
            shared,
            phase: Mutex::new(Phase::Waiting),
        }
    }

    /// About to request a session: false if `exec` was abandoned.
    fn begin_spawn(&self) -> bool {
        let mut phase = lock(&self.phase);
        match *phase {
            Phase::Waiting => {
                *phase = Phase::Spawning;
                true
            }
            _ => {
                *phase = Phase::Finished;
                false
            }
        }
    }

    /// The session was refused: false if `exec` was abandoned meanwhile.
    fn spawn_failed(&self) -> bool {
        let mut phase = lock(&self.phase);
        match *phase {
            Phase::Spawning => {
                *phase = Phase::Waiting;
                true
            }
            _ => {
                *phase = Phase::Finished;
                false
            }
        }
    }

    /// Deliver the start's outcome to `exec`, or stop the command if `exec`
    /// is gone.
    fn finish(
        &self,
        result: Result<Started, OpenError>,
        tx: oneshot::Sender<Result<Started, OpenError>>,
    ) {
        let mut phase = lock(&self.phase);
        match std::mem::replace(&mut *phase, Phase::Finished) {
            Phase::Abandoned(pending) => {
                if let Ok(mut started) = result {
                    started.guard.cancel(pending);
                }
            }
            // If `exec` is being dropped right now, the value comes back
            // and is dropped here, which stops the command.
            _ => drop(tx.send(result)),
        }
    }

    /// Called when the `exec` future is dropped before it got the session.
    fn abandon(&self) {
        let mut phase = lock(&self.phase);
        match *phase {
            Phase::Waiting => *phase = Phase::Abandoned(None),
            Phase::Spawning => {
                *phase = Phase::Abandoned(Some(Pending::new(Arc::clone(&self.shared))))
            }
            Phase::Abandoned(_) | Phase::Finished => {}
        }
    }
}

/// Held by `exec` while it waits for its session.
pub(super) struct WaitingForStart(pub(super) Option<Arc<Handoff>>);

impl WaitingForStart {
    pub(super) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for WaitingForStart {
    fn drop(&mut self) {
        if let Some(handoff) = self.0.take() {
            handoff.abandon();
        }
    }
}

/// Open the session for one `exec` and read up to the wrapper's pid marker,
/// then hand everything over. Runs as its own task: should the `exec`
/// future be dropped meanwhile, the session is either never requested or
/// its command is stopped here.
pub(super) async fn start(
    handoff: Arc<Handoff>,
    command: String,
    with_stdin: bool,
    stop: Stop,
    talk: Option<(Dialog, Duration)>,
    tx: oneshot::Sender<Result<Started, OpenError>>,
) {
    let shared = Arc::clone(&handoff.shared);
    // The dialog writes the become password to the command's stdin.
    let with_stdin = with_stdin || talk.is_some();
    let result = match shared.open(&command, with_stdin, &handoff).await {
        None => return,
        Some(Err(e)) => Err(e),
        Some(Ok((mut child, permit))) => {
            let mut stderr = child.stderr().take();
            let (pid, stderr_head) = read_marker(&mut stderr).await;
            let mut started = Started {
                child,
                stderr_head,
                stderr,
                guard: CancelOnDrop {
                    shared: Arc::clone(&shared),
                    pid,
                    stop,
                    permit: Some(permit),
                },
            };
            match talk {
                None => Ok(started),
                Some((mut dialog, bound)) => {
                    let talked = match (started.stderr.as_mut(), started.child.stdin().as_mut()) {
                        (Some(err), Some(input)) => {
                            dialog::converse(
                                &mut dialog,
                                err,
                                input,
                                &mut started.stderr_head,
                                bound,
                            )
                            .await
                        }
                        _ => Ok(()),
                    };
                    match talked {
                        Ok(()) => Ok(started),
                        Err(e) => {
                            // EOF: sudo stops waiting for another try; dropping `started`
                            // stops whatever is left of the command.
                            drop(started.child.stdin().take());
                            Err(OpenError::Become(e))
                        }
                    }
                }
            }
        }
    };
    handoff.finish(result, tx);
}

/// Read `pipe` until the wrapper's pid marker (or EOF); returns the pid and
/// what was read, marker removed (the login shell's rc files may have
/// written something before it).
pub(super) async fn read_marker(
    pipe: &mut Option<::openssh::ChildStderr>,
) -> (Option<u32>, Vec<u8>) {
    let mut head = Vec::new();
    let Some(reader) = pipe.as_mut() else {
        return (None, head);
    };
    loop {
        match reader.read_buf(&mut head).await {
            Ok(0) | Err(_) => return (None, head),
            Ok(_) => {
                if let Some((start, len, pid)) = find_marker(&head) {
                    head.drain(start..start + len);
                    return (Some(pid), head);
                }
            }
        }
    }
}

/// `head` followed by everything left in `pipe`.
pub(super) async fn read_all<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    mut head: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut head).await?;
    }
    Ok(head)
}

/// How an abandoned command is stopped: as root (see `job::stop_needs_root`), feeding sudo
/// its password (see `job::stop_input`).
#[derive(Clone)]
pub(super) struct Stop {
    pub(super) as_root: bool,
    pub(super) input: Option<Vec<u8>>,
}

/// Stops the command (see [`Shared::cancel`]) if `exec` is abandoned while
/// it runs, e.g. when a task timeout drops the future.
pub(super) struct CancelOnDrop {
    shared: Arc<Shared>,
    pid: Option<u32>,
    stop: Stop,
    permit: Option<OwnedSemaphorePermit>,
}

impl CancelOnDrop {
    pub(super) fn disarm(mut self) {
        self.pid = None;
    }

    fn cancel(&mut self, pending: Option<Pending>) {
        if let Some(permit) = self.permit.take() {
            self.shared
                .cancel(self.pid.take(), self.stop.clone(), permit, pending);
        }
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.cancel(None);
    }
}

/// True when the server refused to open another session (`MaxSessions`).
pub(super) fn is_refused(e: &SshError) -> bool {
    matches!(e, SshError::SshMux(_)) && describe(e).contains("open refused")
}

/// An error with its sources, for messages.
pub(super) fn describe(e: &SshError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
