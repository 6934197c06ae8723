//! Command transport for pgplay: how a task's shell script reaches a host.
//!
//! ansible-playbook shells out to `ssh` once per task; pgplay instead keeps
//! one SSH session per host (pure Rust, via `russh`) and multiplexes every
//! command of that host over it as separate channels, which removes the
//! per-task connection and key-exchange cost for Pigsty backup runs. The
//! same [`Connection::exec`] contract is offered for `localhost`, where the
//! script is run by a local `/bin/sh` instead.
//!
//! Layout:
//! * `error` – [`TransportError`], and which failures leave a host unreachable and which
//!   fail the task;
//! * [`quote`](mod@quote) – POSIX shell quoting used for everything spliced into scripts;
//! * `become` – `sudo`/`su` wrapping for privilege escalation, and `dialog`, which answers
//!   their password prompt without the password ever reaching a command line;
//! * [`secret`] – passwords that never print;
//! * [`ssh_args`] – the inventory's ssh options, for both SSH transports, and `jump_host`,
//!   the `ProxyJump` hops they may name;
//! * [`russh`] – the SSH transport (connect, host key policy, auth, exec);
//! * [`openssh`] – the SSH transport through the system's OpenSSH client
//!   (one multiplexing master per host; honours `~/.ssh/config`);
//! * [`local`] – the local transport.

pub mod askpass;
pub mod r#become;
mod dialog;
mod error;
pub mod job;
mod jump_host;
pub mod local;
pub mod openssh;
pub mod russh;
pub mod secret;
pub mod ssh_args;

use std::path::PathBuf;
use std::time::Duration;

pub use self::error::{ChannelFault, Detail, TransportError, Verdict};
pub use self::jump_host::JumpHost;
pub use self::r#become::{wrap, Become, BecomeMethod};
pub use self::secret::Secret;
pub use crate::base::shell::{join_argv, quote};

/// Everything needed to open an SSH session to one inventory host.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Inventory name, used in messages.
    pub host: String,
    /// Address or DNS name to connect to (also the known_hosts lookup name).
    pub address: String,
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Private keys tried in order (`~/` is expanded).
    pub key_files: Vec<PathBuf>,
    /// known_hosts file used for host key checking (`~/` is expanded).
    pub known_hosts: PathBuf,
    pub host_key_policy: HostKeyPolicy,
    /// Bound on TCP connect + SSH handshake + authentication.
    pub connect_timeout: Duration,
    /// Also try the keys of the ssh-agent at `$SSH_AUTH_SOCK`.
    pub use_agent: bool,
    /// Login password (`ansible_password`, `-k`): tried after the keys, as OpenSSH does.
    pub password: Option<Secret>,
    /// `ProxyJump` hops, in order (russh; the openssh transport gets them in `ssh_args`).
    pub jump: Vec<JumpHost>,
    /// The inventory's ssh options as written (openssh transport only; russh gets what it
    /// understands of them in the other fields).
    pub ssh_args: Vec<String>,
    /// Prefer zlib compression (`-C`).
    pub compression: bool,
    /// Keepalive probes: interval and how many may go unanswered (None: pgplay's default).
    pub keepalive: Option<(Duration, usize)>,
    /// The ssh program (`ansible_ssh_executable`; openssh transport).
    pub ssh_program: Option<String>,
    /// The program ssh runs to read `password` (openssh transport); the running pgplay binary
    /// when unset (see [`askpass`]).
    pub askpass_program: Option<PathBuf>,
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions {
            host: String::new(),
            address: String::new(),
            port: 22,
            user: String::new(),
            key_files: Vec::new(),
            known_hosts: PathBuf::from("~/.ssh/known_hosts"),
            host_key_policy: HostKeyPolicy::Strict,
            connect_timeout: Duration::from_secs(10),
            use_agent: false,
            password: None,
            jump: Vec::new(),
            ssh_args: Vec::new(),
            compression: false,
            keepalive: None,
            ssh_program: None,
            askpass_program: None,
        }
    }
}

/// What to do with a host whose key is not in known_hosts yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Refuse unknown hosts (`StrictHostKeyChecking=yes`).
    Strict,
    /// Record unknown hosts' keys and continue
    /// (`StrictHostKeyChecking=accept-new`). Changed keys are still refused.
    AcceptNew,
}

/// One command to run on a connection.
#[derive(Clone, Copy, Debug)]
pub struct ExecRequest<'a> {
    /// `/bin/sh` script.
    pub script: &'a str,
    /// Bytes fed to the script's standard input, followed by EOF (EOF right
    /// away when `None`).
    pub stdin: Option<&'a [u8]>,
    /// Run as another user (see [`wrap`]).
    pub r#become: Option<&'a Become>,
    /// Exported at the head of the script, after escalation.
    pub env: &'a [(String, String)],
}

/// Result of a finished command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status; `128 + n` when killed by signal `n`; `-1` when unknown.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// An open connection to one host.
pub enum Connection {
    Russh(russh::RusshConnection),
    Openssh(Box<openssh::OpensshConnection>),
    Local(local::LocalConnection),
}

impl Connection {
    /// Open (and authenticate) the SSH session used for every later `exec`.
    pub async fn connect_russh(opts: &ConnectOptions) -> Result<Connection, TransportError> {
        russh::RusshConnection::connect(opts)
            .await
            .map(Connection::Russh)
    }

    /// Start a multiplexing OpenSSH master (the system's `ssh`) for every
    /// later `exec`. With `use_config_only` the ssh configuration alone
    /// decides user, port, keys and host key checking (see
    /// [`openssh::OpensshConnection::connect`]).
    pub async fn connect_openssh(
        opts: &ConnectOptions,
        use_config_only: bool,
    ) -> Result<Connection, TransportError> {
        openssh::OpensshConnection::connect(opts, use_config_only)
            .await
            .map(|c| Connection::Openssh(Box::new(c)))
    }

    /// Run commands on this machine as the current user.
    pub fn local() -> Connection {
        Connection::Local(local::LocalConnection::new())
    }

    /// Run `script` with /bin/sh as the login user (wrapped by become.rs when
    /// `become` is set), feeding stdin (then EOF), env vars exported at the
    /// head of the script (quoted). Returns exit status (signal → 128+n,
    /// missing status → -1), full stdout and stderr.
    ///
    /// Many exec() calls may run concurrently on one Connection (each opens
    /// its own channel on the one SSH session). The SSH session is opened once
    /// per host and reused.
    pub async fn exec(&self, req: ExecRequest<'_>) -> Result<ExecOutput, TransportError> {
        match self {
            Connection::Russh(c) => c.exec(req).await,
            Connection::Openssh(c) => c.exec(req).await,
            Connection::Local(c) => c.exec(req).await,
        }
    }

    /// Close the session politely (SSH disconnect; for openssh: stop and reap
    /// the master); no-op for local.
    pub async fn close(self) {
        match self {
            Connection::Russh(c) => c.close().await,
            Connection::Openssh(c) => (*c).close().await,
            Connection::Local(_) => {}
        }
    }
}

/// The script that is actually run: `export NAME='value'` lines for `env`,
/// then `req.script`. Escalation wraps the result, so the variables survive
/// `sudo`'s environment reset.
pub(crate) fn build_script(host: &str, req: &ExecRequest<'_>) -> Result<String, TransportError> {
    let mut script = String::new();
    for (name, value) in req.env {
        if !crate::base::text::is_identifier(name) {
            // A bug of the task, not of the host: the command is not started.
            return Err(TransportError::channel(
                host,
                ChannelFault::NotStarted,
                format!("invalid environment variable name: {name:?}"),
            ));
        }
        script.push_str("export ");
        script.push_str(name);
        script.push('=');
        script.push_str(&quote(value));
        script.push('\n');
    }
    script.push_str(req.script);
    Ok(script)
}

pub(crate) use crate::base::user::expand_home as expand_tilde;

/// Exit status for a signal name as reported by SSH (`TERM`, `KILL`, …),
/// using Linux numbering: `128 + n`, or `-1` for an unknown name.
pub(crate) fn signal_status(name: &str) -> i32 {
    const NAMES: [&str; 31] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    let name = name.strip_prefix("SIG").unwrap_or(name);
    NAMES
        .iter()
        .position(|n| *n == name)
        .and_then(|i| i32::try_from(i + 1).ok())
        .map_or(-1, |n| 128 + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn env_exports_are_quoted_and_validated() {
        let env = vec![
            ("A".to_owned(), "x y".to_owned()),
            ("B_1".to_owned(), "it's".to_owned()),
        ];
        let req = ExecRequest {
            script: "echo $A",
            stdin: None,
            r#become: None,
            env: &env,
        };
        assert_eq!(
            build_script("h", &req).ok(),
            Some("export A='x y'\nexport B_1='it'\\''s'\necho $A".to_owned())
        );
        let bad = vec![("A;rm".to_owned(), String::new())];
        let req = ExecRequest { env: &bad, ..req };
        let err = build_script("h", &req).err();
        assert!(matches!(err, Some(TransportError::Channel { .. })));
        assert!(err.is_some_and(|e| !e.is_unreachable() && e.is_task_failure()));
    }

    #[test]
    fn signals() {
        assert_eq!(signal_status("TERM"), 143);
        assert_eq!(signal_status("KILL"), 137);
        assert_eq!(signal_status("HUP"), 129);
        assert_eq!(signal_status("SIGUSR2"), 140);
        assert_eq!(signal_status("NOPE"), -1);
    }

    #[test]
    fn tilde() {
        let p = expand_tilde(Path::new("/etc/x"));
        assert_eq!(p, PathBuf::from("/etc/x"));
        if let Some(home) = dirs::home_dir() {
            assert_eq!(expand_tilde(Path::new("~/.ssh/k")), home.join(".ssh/k"));
        }
    }
}
