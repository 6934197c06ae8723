//! SSH transport built on `russh`.
//!
//! One TCP connection and one authenticated SSH session per host, opened
//! once and shared by every task of the run; each [`RusshConnection::exec`]
//! opens its own session channel on it, so tasks for one host can run
//! concurrently without paying for a new handshake each time (which is what
//! made ansible-playbook slow for Pigsty backup runs).
//!
//! Security-relevant behaviour mirrors OpenSSH:
//! * the server key is checked against the configured known_hosts file
//!   (plain, `[addr]:port` and hashed `|1|` entries), unknown keys are only
//!   recorded with [`HostKeyPolicy::AcceptNew`], and a changed or `@revoked`
//!   key is always refused;
//! * host key algorithms already recorded for the host are preferred during
//!   negotiation (as OpenSSH does), so a server offering some *other* key type
//!   than the recorded one is treated as a changed key rather than a new one;
//! * public key authentication with key files (in order) and then the agent.

use std::borrow::Cow;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::russh::client::{self, AuthResult, Handle, Msg};
use ::russh::keys::agent::client::AgentClient;
use ::russh::keys::agent::AgentIdentity;
use ::russh::keys::known_hosts::known_host_keys_path;
use ::russh::keys::{
    load_secret_key, parse_public_key_base64, Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKey,
    PublicKeyOrCertificate,
};
use ::russh::{kex, ChannelMsg, ChannelWriteHalf, Disconnect, Preferred, Sig};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::job::{find_marker, remote_command, stop_command, stop_needs_root};
use super::{
    build_script, expand_tilde, signal_status, ConnectOptions, ExecOutput, ExecRequest,
    HostKeyPolicy, TransportError,
};

/// Concurrent channels per session. OpenSSH's default `MaxSessions` is 10;
/// staying below it leaves room for sessions the server has not reaped yet.
/// The limit shrinks further if the server refuses channels anyway.
const MAX_CHANNELS: usize = 8;

/// Retries of a refused channel open before concluding the server's limit is
/// lower than ours.
const OPEN_RETRIES: u32 = 3;

/// Keepalive: probe after this much silence, give up after `KEEPALIVE_MAX`
/// unanswered probes (about a minute for a dead peer).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVE_MAX: usize = 4;

/// Serialises known_hosts appends between concurrent connects in this process.
static KNOWN_HOSTS_LOCK: Mutex<()> = Mutex::new(());

/// An authenticated SSH session to one host.
pub struct RusshConnection {
    host: String,
    user: String,
    handle: Arc<Handle<Client>>,
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
        match tokio::time::timeout(opts.connect_timeout, Self::connect_inner(opts)).await {
            Ok(result) => result,
            Err(_) => Err(unreachable(
                opts,
                format!(
                    "timed out after {:?} (TCP connect, SSH handshake and authentication)",
                    opts.connect_timeout
                ),
            )),
        }
    }

    async fn connect_inner(opts: &ConnectOptions) -> Result<RusshConnection, TransportError> {
        let known_hosts = expand_tilde(&opts.known_hosts);
        let stream = tcp_connect(opts).await?;

        let verdict = Arc::new(Mutex::new(None));
        let handler = Client {
            check: HostKeyCheck {
                host: opts.host.clone(),
                address: opts.address.clone(),
                port: opts.port,
                known_hosts: known_hosts.clone(),
                policy: opts.host_key_policy,
            },
            verdict: Arc::clone(&verdict),
        };
        let config = Arc::new(client_config(&opts.address, opts.port, &known_hosts));
        let mut handle = match client::connect_stream(config, stream, handler).await {
            Ok(handle) => handle,
            Err(e) => {
                let stored = verdict.lock().unwrap_or_else(|p| p.into_inner()).take();
                return Err(stored
                    .unwrap_or_else(|| unreachable(opts, format!("SSH handshake failed: {e}"))));
            }
        };
        authenticate(&mut handle, opts).await?;
        Ok(RusshConnection {
            host: opts.host.clone(),
            user: opts.user.clone(),
            handle: Arc::new(handle),
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

    /// See [`super::Connection::exec`].
    pub async fn exec(&self, req: ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        let script = build_script(&self.host, &req)?;
        // The login shell may be anything: the script runs in sh, under the job wrapper that
        // says its process group first (see `job`).
        let command = remote_command(&script, req.r#become, &self.user);

        let (channel, _permit) = self.open_channel().await?;
        let (mut reader, writer) = channel.split();
        let guard = CloseOnDrop {
            writer: Some(writer),
            stopping: Arc::clone(&self.stopping),
            handle: Arc::clone(&self.handle),
            pid: AtomicU32::new(0),
            as_root: stop_needs_root(req.r#become, &self.user),
        };
        let mut marker_seen = false;
        // Always `Some` until `disarm`; checked instead of unwrapped.
        let Some(writer) = guard.writer.as_ref() else {
            return Err(self.channel_error("internal error: channel writer missing".into()));
        };
        writer
            .exec(true, command.into_bytes())
            .await
            .map_err(|e| self.channel_error(format!("cannot send command: {e}")))?;

        let stdin = req.stdin.map(<[u8]>::to_vec);
        let mut feed = Box::pin(async {
            if let Some(data) = stdin.filter(|d| !d.is_empty()) {
                writer.data_bytes(data).await?;
            }
            writer.eof().await
        });
        let mut feeding = true;

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
                        return Err(self.channel_error("the server refused to run the command".into()));
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
        if !closed && !exit_seen {
            return Err(self.channel_error(
                "SSH session lost while the command was running (no exit status received)".into(),
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
                .map_err(|_| self.channel_error("session is closing".into()))?;
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
                        let reason = if self.handle.is_closed() {
                            format!("SSH session lost: {e}")
                        } else if matches!(e, ::russh::Error::ChannelOpenFailure(_)) {
                            format!(
                                "the server refused a new channel ({e}): its MaxSessions limit \
                                 is taken by commands that are still running"
                            )
                        } else {
                            format!("cannot open a channel: {e}")
                        };
                        return Err(self.channel_error(reason));
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

    fn channel_error(&self, reason: String) -> TransportError {
        TransportError::Channel {
            host: self.host.clone(),
            reason,
        }
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
        stopping.count.fetch_add(1, Ordering::SeqCst);
        rt.spawn(async move {
            if pid != 0 {
                let _ = tokio::time::timeout(
                    STOP_TIMEOUT,
                    run_to_end(&handle, stop_command(pid, as_root)),
                )
                .await;
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

/// Run `command` on a fresh channel and wait until it ends (output ignored).
async fn run_to_end(handle: &Handle<Client>, command: String) {
    let Ok(channel) = handle.channel_open_session().await else {
        return;
    };
    let (mut reader, writer) = channel.split();
    if writer.exec(true, command.into_bytes()).await.is_err() {
        return;
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

fn unreachable(opts: &ConnectOptions, reason: String) -> TransportError {
    TransportError::Unreachable {
        host: opts.host.clone(),
        address: opts.address.clone(),
        port: opts.port,
        reason,
    }
}

/// Resolve and connect, trying each resolved address in turn.
async fn tcp_connect(opts: &ConnectOptions) -> Result<TcpStream, TransportError> {
    let addrs = tokio::net::lookup_host((opts.address.as_str(), opts.port))
        .await
        .map_err(|e| unreachable(opts, format!("cannot resolve address: {e}")))?;
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Small request/reply packets: latency matters more than
                // packet count.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            // The error names the address already; a name's resolved address is worth saying.
            Err(e) if addr.ip().to_string() == opts.address => last_error = Some(e.to_string()),
            Err(e) => last_error = Some(format!("{addr}: {e}")),
        }
    }
    Err(unreachable(
        opts,
        last_error.unwrap_or_else(|| "address resolved to nothing".into()),
    ))
}

/// Client configuration: fast key exchange first, no compression, the host's
/// already-known key types first, keepalives on.
fn client_config(address: &str, port: u16, known_hosts: &Path) -> client::Config {
    let defaults = Preferred::default();

    let first = [kex::CURVE25519, kex::CURVE25519_PRE_RFC_8731];
    let kexes: Vec<kex::Name> = first
        .iter()
        .chain(defaults.kex.iter().filter(|k| !first.contains(k)))
        .cloned()
        .collect();

    let known: Vec<Algorithm> = known_host_keys_path(address, port, known_hosts)
        .map(|entries| entries.into_iter().map(|(_, k)| k.algorithm()).collect())
        .unwrap_or_default();
    let mut keys = defaults.key.to_vec();
    keys.sort_by_key(|a| !known.iter().any(|k| same_key_type(k, a)));

    client::Config {
        preferred: Preferred {
            kex: Cow::Owned(kexes),
            key: Cow::Owned(keys),
            // `Preferred::default()` lists "none" first already; zlib is only
            // used if a server insisted on it.
            compression: defaults.compression.clone(),
            ..defaults
        },
        keepalive_interval: Some(KEEPALIVE_INTERVAL),
        keepalive_max: KEEPALIVE_MAX,
        inactivity_timeout: None,
        nodelay: true,
        ..Default::default()
    }
}

fn same_key_type(a: &Algorithm, b: &Algorithm) -> bool {
    matches!((a, b), (Algorithm::Rsa { .. }, Algorithm::Rsa { .. })) || a == b
}

/// Public key authentication: each key file in order, then the agent.
async fn authenticate(
    handle: &mut Handle<Client>,
    opts: &ConnectOptions,
) -> Result<(), TransportError> {
    let mut tried = Vec::new();
    let mut rsa_hash = None;
    for path in &opts.key_files {
        let path = expand_tilde(path);
        let label = path.display().to_string();
        let key = match load_secret_key(&path, None) {
            Ok(key) => key,
            Err(::russh::keys::Error::KeyIsEncrypted) => {
                tried.push(format!(
                    "{label} (skipped: protected by a passphrase, which pgplay cannot ask for; \
                     load it into ssh-agent with `ssh-add {label}` and use the agent)"
                ));
                continue;
            }
            Err(e) => {
                tried.push(format!("{label} (unusable: {e})"));
                continue;
            }
        };
        let algorithm = key.algorithm();
        let hash = if algorithm.is_rsa() {
            best_rsa_hash(handle, &mut rsa_hash).await
        } else {
            None
        };
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
        let label = format!("{label} ({})", key.algorithm().as_str());
        match handle.authenticate_publickey(opts.user.as_str(), key).await {
            Ok(AuthResult::Success) => return Ok(()),
            Ok(AuthResult::Failure { .. }) => tried.push(format!("{label}: rejected")),
            Err(e) => tried.push(format!("{label}: error: {e}")),
        }
        if handle.is_closed() {
            tried.push("(the server closed the connection)".into());
            return Err(auth_failed(opts, tried));
        }
    }

    if opts.use_agent {
        if std::env::var_os("SSH_AUTH_SOCK").is_none() {
            tried.push("ssh-agent (SSH_AUTH_SOCK is not set)".into());
        } else if agent_auth(handle, opts, &mut tried, &mut rsa_hash).await {
            return Ok(());
        }
    }
    Err(auth_failed(opts, tried))
}

async fn agent_auth(
    handle: &mut Handle<Client>,
    opts: &ConnectOptions,
    tried: &mut Vec<String>,
    rsa_hash: &mut Option<Option<HashAlg>>,
) -> bool {
    let mut agent = match AgentClient::connect_env().await {
        Ok(agent) => agent,
        Err(e) => {
            tried.push(format!("ssh-agent (cannot connect: {e})"));
            return false;
        }
    };
    let identities = match agent.request_identities().await {
        Ok(ids) => ids,
        Err(e) => {
            tried.push(format!("ssh-agent (cannot list keys: {e})"));
            return false;
        }
    };
    if identities.is_empty() {
        tried.push("ssh-agent (holds no keys)".into());
    }
    for identity in identities {
        let AgentIdentity::PublicKey { key, comment } = identity else {
            tried.push("ssh-agent certificate (skipped: certificates are not supported)".into());
            continue;
        };
        let hash = if key.algorithm().is_rsa() {
            best_rsa_hash(handle, rsa_hash).await
        } else {
            None
        };
        let label = format!(
            "ssh-agent key {} {}",
            key.fingerprint(HashAlg::Sha256),
            comment
        );
        match handle
            .authenticate_publickey_with(opts.user.as_str(), key, hash, &mut agent)
            .await
        {
            Ok(AuthResult::Success) => return true,
            Ok(AuthResult::Failure { .. }) => tried.push(format!("{}: rejected", label.trim())),
            Err(e) => tried.push(format!("{}: error: {e}", label.trim())),
        }
        if handle.is_closed() {
            tried.push("(the server closed the connection)".into());
            return false;
        }
    }
    false
}

/// Best RSA signature hash the server accepts (asked once per connection).
/// Without `server-sig-algs` we assume rsa-sha2-256, supported by every
/// OpenSSH since 7.2 and required by those that disabled SHA-1 signatures.
async fn best_rsa_hash(
    handle: &Handle<Client>,
    cache: &mut Option<Option<HashAlg>>,
) -> Option<HashAlg> {
    if let Some(hash) = *cache {
        return hash;
    }
    let hash = match handle.best_supported_rsa_hash().await {
        Ok(Some(hash)) => hash,
        _ => Some(HashAlg::Sha256),
    };
    *cache = Some(hash);
    hash
}

fn auth_failed(opts: &ConnectOptions, tried: Vec<String>) -> TransportError {
    TransportError::AuthFailed {
        host: opts.host.clone(),
        user: opts.user.clone(),
        tried,
    }
}

/// The russh client handler: only host key verification is customised.
pub struct Client {
    check: HostKeyCheck,
    /// Why the host key was refused; russh itself only reports a generic
    /// "unknown key" error, so `connect` picks the precise one up from here.
    verdict: Arc<Mutex<Option<TransportError>>>,
}

impl client::Handler for Client {
    type Error = ::russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let result = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.check.verify(key),
            PublicKeyOrCertificate::Certificate(_) => Err(TransportError::Channel {
                host: self.check.host.clone(),
                reason: "the server presented a host certificate; only host keys listed in \
                         known_hosts are supported"
                    .into(),
            }),
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) => {
                *self.verdict.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                Ok(false)
            }
        }
    }
}

/// Host key verification against one known_hosts file.
struct HostKeyCheck {
    host: String,
    address: String,
    port: u16,
    known_hosts: PathBuf,
    policy: HostKeyPolicy,
}

/// What known_hosts says about an offered key.
enum Known {
    Match,
    Conflict { line: usize },
    Revoked { line: usize },
    Unknown,
}

impl HostKeyCheck {
    fn verify(&self, key: &PublicKey) -> Result<(), TransportError> {
        match self.lookup(key)? {
            Known::Match => return Ok(()),
            Known::Conflict { line } => return Err(self.changed(key, line)),
            Known::Revoked { line } => return Err(self.revoked(key, line)),
            Known::Unknown => {}
        }
        if self.policy == HostKeyPolicy::Strict {
            return Err(TransportError::HostKeyUnknown {
                host: self.host.clone(),
                address: self.address.clone(),
                fingerprint: fingerprint(key),
                known_hosts: self.known_hosts.clone(),
            });
        }
        let _lock = KNOWN_HOSTS_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        // Another connection of this run may have recorded the host meanwhile.
        match self.lookup(key)? {
            Known::Match => Ok(()),
            Known::Conflict { line } => Err(self.changed(key, line)),
            Known::Revoked { line } => Err(self.revoked(key, line)),
            Known::Unknown => self.learn(key),
        }
    }

    fn lookup(&self, key: &PublicKey) -> Result<Known, TransportError> {
        if let Some(line) = revoked_line(&self.known_hosts, key) {
            return Ok(Known::Revoked { line });
        }
        let entries = known_host_keys_path(&self.address, self.port, &self.known_hosts)
            .map_err(|e| self.file_error(format!("cannot read known_hosts: {e}")))?;
        if entries.iter().any(|(_, k)| k.key_data() == key.key_data()) {
            return Ok(Known::Match);
        }
        // Prefer reporting an entry of the same key type; any recorded key
        // counts, since the recorded types were preferred in negotiation.
        let conflict = entries
            .iter()
            .find(|(_, k)| k.algorithm() == key.algorithm())
            .or(entries.first());
        Ok(match conflict {
            Some((n, _)) => Known::Conflict {
                line: real_line_number(&self.known_hosts, *n),
            },
            None => Known::Unknown,
        })
    }

    fn learn(&self, key: &PublicKey) -> Result<(), TransportError> {
        let path = &self.known_hosts;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| self.file_error(format!("cannot create {}: {e}", dir.display())))?;
        }
        let entry = key
            .to_openssh()
            .map_err(|e| self.file_error(format!("cannot encode host key: {e}")))?;
        let write = || -> std::io::Result<()> {
            // Created private if missing; an existing file keeps its mode.
            let mut file = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .mode(0o600)
                .open(path)?;
            let mut line = String::new();
            if file.metadata()?.len() > 0 {
                let mut last = [0u8; 1];
                file.seek(SeekFrom::End(-1))?;
                file.read_exact(&mut last)?;
                if last[0] != b'\n' {
                    line.push('\n');
                }
            }
            // Same host field format as OpenSSH (and as russh's lookup).
            if self.port == 22 {
                line.push_str(&self.address);
            } else {
                line.push_str(&format!("[{}]:{}", self.address, self.port));
            }
            line.push(' ');
            line.push_str(entry.trim_end());
            line.push('\n');
            // One append write, so concurrent writers cannot interleave.
            file.write_all(line.as_bytes())
        };
        write().map_err(|e| self.file_error(format!("cannot record host key: {e}")))
    }

    fn changed(&self, key: &PublicKey, line: usize) -> TransportError {
        TransportError::HostKeyChanged {
            host: self.host.clone(),
            address: self.address.clone(),
            fingerprint: fingerprint(key),
            known_hosts: self.known_hosts.clone(),
            line,
        }
    }

    fn revoked(&self, key: &PublicKey, line: usize) -> TransportError {
        TransportError::HostKeyRevoked {
            host: self.host.clone(),
            address: self.address.clone(),
            fingerprint: fingerprint(key),
            known_hosts: self.known_hosts.clone(),
            line,
        }
    }

    fn file_error(&self, reason: String) -> TransportError {
        TransportError::Channel {
            host: self.host.clone(),
            reason: format!("{reason} ({})", self.known_hosts.display()),
        }
    }
}

fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// russh numbers known_hosts lines without counting `#` comment lines; map
/// its number back to the real line number for messages.
fn real_line_number(path: &Path, russh_line: usize) -> usize {
    let Ok(bytes) = std::fs::read(path) else {
        return russh_line;
    };
    let mut counted = 0;
    for (index, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        if line.first() != Some(&b'#') {
            counted += 1;
            if counted == russh_line {
                return index + 1;
            }
        }
    }
    russh_line
}

/// Line of an `@revoked` entry for `key` (whatever its host pattern), if any.
fn revoked_line(path: &Path, key: &PublicKey) -> Option<usize> {
    let text = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&text);
    text.lines().enumerate().find_map(|(index, line)| {
        let mut fields = line.split_whitespace();
        if fields.next() != Some("@revoked") {
            return None;
        }
        let blob = fields.nth(2)?;
        let revoked = parse_public_key_base64(blob).ok()?;
        (revoked.key_data() == key.key_data()).then_some(index + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";

    fn check(dir: &Path, policy: HostKeyPolicy) -> HostKeyCheck {
        HostKeyCheck {
            host: "db1".into(),
            address: "127.0.0.1".into(),
            port: 2222,
            known_hosts: dir.join("sub").join("known_hosts"),
            policy,
        }
    }

    fn write(path: &Path, text: &str) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        let mut f = std::fs::File::create(path).ok();
        if let Some(f) = f.as_mut() {
            f.write_all(text.as_bytes()).ok();
        }
    }

    #[test]
    fn unknown_then_learned() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let key = parse_public_key_base64(KEY_A).ok();
        let Some(key) = key else {
            panic!("test key parses")
        };
        let strict = check(dir.path(), HostKeyPolicy::Strict);
        assert!(matches!(
            strict.verify(&key),
            Err(TransportError::HostKeyUnknown { .. })
        ));
        assert!(!strict.known_hosts.exists());
        let accept = check(dir.path(), HostKeyPolicy::AcceptNew);
        assert!(accept.verify(&key).is_ok());
        let text = std::fs::read_to_string(&accept.known_hosts).unwrap_or_default();
        assert!(text.starts_with("[127.0.0.1]:2222 ssh-ed25519 "), "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&accept.known_hosts).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        assert!(strict.verify(&key).is_ok());
    }

    #[test]
    fn changed_and_revoked() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let (Ok(a), Ok(b)) = (
            parse_public_key_base64(KEY_A),
            parse_public_key_base64(KEY_B),
        ) else {
            panic!("test keys parse")
        };
        let c = check(dir.path(), HostKeyPolicy::AcceptNew);
        write(
            &c.known_hosts,
            &format!("# comment\n\n[127.0.0.1]:2222 ssh-ed25519 {KEY_B}\n"),
        );
        match c.verify(&a) {
            Err(TransportError::HostKeyChanged { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected HostKeyChanged, got {other:?}"),
        }
        assert!(c.verify(&b).is_ok());
        write(
            &c.known_hosts,
            &format!("[127.0.0.1]:2222 ssh-ed25519 {KEY_B}\n@revoked * ssh-ed25519 {KEY_B}\n"),
        );
        match c.verify(&b) {
            Err(e @ TransportError::HostKeyRevoked { line: 2, .. }) => {
                assert!(e.to_string().contains("REVOKED"), "{e}");
            }
            other => panic!("expected HostKeyRevoked at line 2, got {other:?}"),
        }
    }
}
