//! SSH transport that drives the system's OpenSSH client.
//!
//! Layout: this file connects (control directory, password hand-off) and runs commands; `args`
//! builds ssh's command line; `master` starts the multiplexing master and keeps its log;
//! `classify` turns a failed master's log into an error; `session` starts each command as a
//! multiplexed session and stops the abandoned ones.
//!
//! Some sites need what only `ssh` itself offers: `~/.ssh/config` (`Host`
//! aliases, `ProxyJump`, per-host users, ports and keys), certificates,
//! hardware keys or a corporate `ssh_config`. This transport starts one
//! multiplexing master per host (`ssh -M -N -S <socket>`) and runs every
//! command of that host as a separate session over the master's control
//! socket, using the native multiplexing protocol of the `openssh` crate (no
//! `ssh` process per command).
//!
//! The contract is the one of [`super::russh`]:
//! * scripts run under `/bin/sh` whatever the login shell is, with `become`
//!   wrapping and environment exports from the shared helpers;
//! * stdin is fed and then closed, stdout/stderr/status are returned; a
//!   command killed by signal `n` reports `128 + n`;
//! * failures map to the same [`TransportError`] variants, read from what
//!   `ssh` reports;
//! * at most [`MAX_SESSIONS`] commands run at once per host (sshd's
//!   `MaxSessions`, 10 by default, counts multiplexed sessions), shrinking
//!   when the server refuses sessions anyway;
//! * a command whose `exec` future is dropped (task timeout) is sent SIGTERM.
//!
//! Which settings come from where: with `use_config_only == false` the
//! inventory wins (`-l`, `-p` unless 22, `-i`, `UserKnownHostsFile`,
//! `StrictHostKeyChecking`, and no ssh-agent unless `use_agent`), while
//! everything else still comes from ssh's configuration files (e.g.
//! `ProxyJump`) and from the inventory's own ssh arguments (see `args`). With `use_config_only == true` none of those are passed, so
//! `~/.ssh/config` (or `/etc/ssh/ssh_config`) alone decides user, port, keys,
//! agent and known_hosts handling; ssh's default `StrictHostKeyChecking=ask`
//! refuses unknown hosts in batch mode. In both modes pgplay always passes
//! `BatchMode=yes` (never prompt), `ConnectTimeout`, keepalives, its own
//! `ControlPath`/`ControlMaster`, `ControlPersist=no` and
//! `ClearAllForwardings=yes`. A login password (`ansible_password`, `-k`)
//! reaches ssh through pgplay's own askpass program, never argv (see
//! [`super::askpass`]).
//!
//! The master runs as a child process of pgplay (not daemonised), in a
//! private directory `/tmp/pgplay-<pid>-<random>/` (mode 0700, short enough
//! for the 104-byte socket path limit). [`OpensshConnection::close`] stops
//! and reaps it; dropping the connection instead removes the directory, asks
//! the master to stop and kills it, so no master outlives its connection.
//! The master stays in pgplay's process group, so a terminal's Ctrl-C
//! reaches it too; only a pgplay killed with SIGKILL leaves masters behind.
//!
//! Differences from the russh transport, all due to the multiplexing
//! protocol (which relays exit codes but neither exit signals nor signal
//! requests):
//! * the script's shell is the child of a small wrapper shell (see
//!   `remote_command`), so `$PPID` in a script is that wrapper, not sshd;
//! * a command whose wrapper shell is killed reports status -1;
//! * an abandoned command is stopped with `kill -TERM -<pgid>` run over one
//!   extra short session (which needs a free server session: against a
//!   server with `MaxSessions 1` it can only wait for the command to end);
//! * every session first writes a marker with its pid to stderr, which is
//!   removed from the output; what the login shell's rc files print before
//!   it is kept, as with russh.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::openssh::{Error as SshError, Session};
use tokio::io::AsyncWriteExt;
use tokio::process::Child;
use tokio::sync::oneshot;

mod args;
mod classify;
mod master;
mod session;

use self::args::{prepare_known_hosts, program, resolve, ssh_args};
use self::classify::Target;
use self::master::{lock, MasterLog, Spawn};
use self::session::{
    describe, is_refused, read_all, start, Handoff, OpenError, Shared, Started, Stop,
    WaitingForStart,
};
use super::askpass::Askpass;
use super::dialog::{self, Dialog};
use super::job::{remote_command, stop_input, stop_needs_root};
use super::ChannelFault::{self, Lost, NotStarted, Setup};
use super::{
    build_script, expand_tilde, ConnectOptions, ExecOutput, ExecRequest, HostKeyPolicy,
    TransportError,
};

/// Concurrent sessions per master. OpenSSH's default `MaxSessions` is 10;
/// staying below it leaves room for sessions the server has not reaped yet.
/// The limit shrinks further if the server refuses sessions anyway.
pub const MAX_SESSIONS: usize = 8;

/// Retries of a refused session open before concluding the server's limit
/// is lower than ours.
const OPEN_RETRIES: u32 = 3;

/// Keepalive: probe after this much silence, give up after
/// `KEEPALIVE_MAX` unanswered probes (about a minute for a dead peer).
const KEEPALIVE_INTERVAL_SECS: u64 = 15;
const KEEPALIVE_MAX: u32 = 4;

/// Directory holding the per-connection control directories. Fixed and
/// short: `$TMPDIR` may be long enough to break the socket path limit.
const CONTROL_BASE: &str = "/tmp";

/// How long `close` lets the master wind down before killing it.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Bound on the SIGTERM sent for an abandoned command.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// A multiplexed OpenSSH connection to one host.
///
/// Field order matters for the drop safety net: `owner` is dropped first
/// (asks the master to stop, removes the control directory), then the master
/// process, which is killed if still running.
pub struct OpensshConnection {
    host: String,
    user: String,
    /// Bound on a become password dialog.
    become_wait: Duration,
    owner: Session,
    ctl: PathBuf,
    master: Mutex<Option<Child>>,
    master_pid: Option<u32>,
    log: Arc<Mutex<MasterLog>>,
    shared: Arc<Shared>,
}

impl OpensshConnection {
    /// Open a multiplexing OpenSSH master to `opts.address` and wait until
    /// it is authenticated, within `opts.connect_timeout`. Every later
    /// [`exec`](Self::exec) reuses this one master (one SSH connection).
    ///
    /// ssh reads its configuration files as usual (`~/.ssh/config`, then
    /// `/etc/ssh/ssh_config`). `use_config_only` selects who decides user,
    /// port, keys and known_hosts handling:
    /// * `false`: the inventory; `-l opts.user`, `-p opts.port` (only when
    ///   not 22, so a `Port` from the config still applies to default-port
    ///   hosts), `-i` for each key file, `UserKnownHostsFile=opts.known_hosts`
    ///   and `StrictHostKeyChecking=yes|accept-new` from
    ///   `opts.host_key_policy`; without `opts.use_agent` the agent is off
    ///   and only those key files (and `IdentityFile`s of the config) are
    ///   offered.
    /// * `true`: the ssh configuration; none of the above is passed and
    ///   `opts.address` may be a `Host` alias. The effective user, port and
    ///   known_hosts file (used for `become` and for messages) are read back
    ///   with `ssh -G`.
    pub async fn connect(
        opts: &ConnectOptions,
        use_config_only: bool,
    ) -> Result<OpensshConnection, TransportError> {
        Self::connect_with_config(opts, use_config_only, None).await
    }

    /// [`connect`](Self::connect) with another ssh configuration file
    /// (`ssh -F FILE`): it replaces both `~/.ssh/config` and
    /// `/etc/ssh/ssh_config`. `None` is `connect`.
    pub async fn connect_with_config(
        opts: &ConnectOptions,
        use_config_only: bool,
        ssh_config: Option<&Path>,
    ) -> Result<OpensshConnection, TransportError> {
        let args = ssh_args(opts, use_config_only, ssh_config);
        let ssh = program(opts);
        let resolved = resolve(ssh, &args, &opts.address).await;
        let target = Target {
            host: opts.host.clone(),
            address: resolved.hostname.unwrap_or_else(|| opts.address.clone()),
            port: resolved.port.unwrap_or(opts.port),
            user: resolved.user.unwrap_or_else(|| opts.user.clone()),
            known_hosts: if use_config_only {
                resolved
                    .known_hosts
                    .unwrap_or_else(|| expand_tilde(Path::new("~/.ssh/known_hosts")))
            } else {
                expand_tilde(&opts.known_hosts)
            },
            password: opts.password.is_some(),
        };

        if !use_config_only && opts.host_key_policy == HostKeyPolicy::AcceptNew {
            prepare_known_hosts(&target.known_hosts).map_err(|e| {
                let kh = target.known_hosts.display();
                let reason = format!("cannot create known_hosts file {kh}: {e}");
                TransportError::channel(&opts.host, Setup, reason)
            })?;
        }

        let dir = tempfile::Builder::new()
            .prefix(&format!("pgplay-{}-", std::process::id()))
            .rand_bytes(6)
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(CONTROL_BASE)
            .map_err(|e| {
                let reason =
                    format!("cannot create an ssh control directory in {CONTROL_BASE}: {e}");
                TransportError::channel(&opts.host, Setup, reason)
            })?;
        let ctl = dir.path().join("master");
        // Removed when dropped: right after the master is connected, or on any error.
        let askpass = askpass_for(opts, &target, dir.path())?;

        let spawn = Spawn {
            program: ssh,
            args: &args,
            ctl: &ctl,
            destination: &opts.address,
            askpass: askpass.as_ref(),
            timeout: opts.connect_timeout,
        };
        let (master, log) = master::start(spawn, &target).await?;
        let master_pid = master.id();
        drop(askpass);

        Ok(OpensshConnection {
            host: opts.host.clone(),
            user: target.user,
            become_wait: dialog::bound(opts.connect_timeout),
            owner: Session::new_native_mux(dir),
            shared: Arc::new(Shared::new(&ctl)),
            ctl,
            master: Mutex::new(Some(master)),
            master_pid,
            log,
        })
    }

    /// Effective login user (after ssh's configuration was applied).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Path of the master's control socket.
    pub fn control_socket(&self) -> &Path {
        &self.ctl
    }

    /// Process id of the local `ssh` master process.
    pub fn master_pid(&self) -> Option<u32> {
        self.master_pid
    }

    /// See [`super::Connection::exec`]. Many calls may run concurrently.
    pub async fn exec(&self, req: ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        let script = build_script(&self.host, &req)?;
        let command = remote_command(&script, req.r#become, &self.user);

        // Opening the session and learning the command's pid run in their
        // own task, so that dropping this future at any point leaves no
        // command running unnoticed (see `start`).
        let (tx, rx) = oneshot::channel();
        let handoff = Arc::new(Handoff::new(Arc::clone(&self.shared)));
        let waiting = WaitingForStart(Some(Arc::clone(&handoff)));
        let stop = Stop {
            as_root: stop_needs_root(req.r#become, &self.user),
            input: stop_input(req.r#become, &self.user),
        };
        let talk = Dialog::new(&self.host, req.r#become, &self.user).map(|d| (d, self.become_wait));
        tokio::spawn(start(handoff, command, req.stdin.is_some(), stop, talk, tx));
        let started = rx.await;
        waiting.disarm();
        let started = match started {
            Ok(Ok(started)) => started,
            Ok(Err(e)) => return Err(self.open_error(e).await),
            Err(_) => return Err(self.channel_error(NotStarted, "the session start task failed")),
        };
        let Started {
            mut child,
            stderr_head,
            stderr,
            guard,
        } = started;

        let stdin = child.stdin().take();
        let stdout = child.stdout().take();
        let input = req.stdin;
        let feed = async move {
            if let (Some(mut pipe), Some(data)) = (stdin, input) {
                // A script that exits without reading its input closes the
                // pipe; that is not an error of the transport.
                let _ = pipe.write_all(data).await;
            }
            // Dropping the pipe sends EOF.
        };
        let ((), stdout, stderr) = tokio::join!(
            feed,
            read_all(stdout, Vec::new()),
            read_all(stderr, stderr_head)
        );
        let stdout =
            stdout.map_err(|e| self.channel_error(Lost, format!("reading stdout: {e}")))?;
        let stderr =
            stderr.map_err(|e| self.channel_error(Lost, format!("reading stderr: {e}")))?;

        let waited = child.wait().await;
        // The command is over (or the connection is gone): nothing to stop.
        guard.disarm();
        let status = match waited {
            Ok(status) => status.code().unwrap_or(-1),
            // The crate reports exit status 127 as an error.
            Err(SshError::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => 127,
            Err(e) => {
                if self.master_alive().await {
                    // The wrapper shell itself was killed (the multiplexing
                    // protocol does not relay exit signals): the command
                    // ended, its status is unknown.
                    -1
                } else {
                    return Err(self.channel_error(
                        Lost,
                        format!(
                            "SSH session lost while the command was running (no exit status \
                             received: {e}){}",
                            self.last_words()
                        ),
                    ));
                }
            }
        };
        Ok(ExecOutput {
            status,
            stdout,
            stderr,
        })
    }

    /// Why a session did not start: the connection is gone (unreachable), or the live master
    /// could not start this command (the task's failure).
    async fn open_error(&self, e: OpenError) -> TransportError {
        let (fault, reason) = match e {
            OpenError::Become(e) => return e,
            OpenError::Closing => (Lost, "connection is closing".to_owned()),
            OpenError::Ssh(e) if !self.master_alive().await => (
                Lost,
                format!("SSH connection lost: {}{}", describe(&e), self.last_words()),
            ),
            OpenError::Ssh(e) if is_refused(&e) => (
                NotStarted,
                format!(
                    "the server refused a new session ({}): its MaxSessions limit is taken by \
                     commands that are still running",
                    describe(&e)
                ),
            ),
            OpenError::Ssh(e) => (
                NotStarted,
                format!("cannot start a session on the ssh master: {}", describe(&e)),
            ),
        };
        self.channel_error(fault, reason)
    }

    /// True while the master process runs and answers on its socket.
    async fn master_alive(&self) -> bool {
        let running = match lock(&self.master).as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        };
        running
            && matches!(
                tokio::time::timeout(Duration::from_secs(2), self.shared.mux.check()).await,
                Ok(Ok(()))
            )
    }

    /// `: ssh said: <last message of the master>` when it said anything.
    fn last_words(&self) -> String {
        lock(&self.log)
            .last_message()
            .map(|m| format!(": ssh said: {m}"))
            .unwrap_or_default()
    }

    fn channel_error(&self, fault: ChannelFault, reason: impl Into<String>) -> TransportError {
        TransportError::channel(&self.host, fault, reason)
    }

    /// Stop the master (it disconnects from the server) and reap it; kill it
    /// if it has not exited after a short grace period (a command abandoned
    /// on the host keeps its session open). Abandoned commands still being
    /// stopped get that done first. The control directory is removed.
    pub async fn close(self) {
        let OpensshConnection {
            owner,
            master,
            shared,
            ..
        } = self;
        let _ = tokio::time::timeout(CANCEL_TIMEOUT, shared.cancels_idle()).await;
        let _ = tokio::time::timeout(CLOSE_GRACE, owner.close()).await;
        let master = master.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(mut child) = master {
            if tokio::time::timeout(CLOSE_GRACE, child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

/// The password file and environment that let ssh read `opts.password` (see
/// [`super::askpass`]); it answers only the target's own `user@host` prompt.
fn askpass_for(
    opts: &ConnectOptions,
    target: &Target,
    dir: &Path,
) -> Result<Option<Askpass>, TransportError> {
    let Some(password) = &opts.password else {
        return Ok(None);
    };
    let failed = |e: std::io::Error| {
        let reason = format!("cannot hand the password to ssh: {e}");
        TransportError::channel(&opts.host, Setup, reason)
    };
    let program = match &opts.askpass_program {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(failed)?,
    };
    let mut accepted = vec![format!("{}@{}", target.user, target.address)];
    if opts.address != target.address {
        accepted.push(format!("{}@{}", target.user, opts.address));
    }
    Askpass::new(dir, password, program, accepted)
        .map(Some)
        .map_err(failed)
}
