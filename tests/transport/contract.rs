//! The transport contract: what every SSH transport promises the engine, checked against a
//! real sshd, once per transport.
//!
//! The engine runs a task's script the same way whichever transport carries it (`Connection`),
//! so both must behave the same: output and status capture, large stdin/stdout with flow
//! control, many commands at once on one connection, quoting of hostile strings, become via
//! sudo and su, environment exports, the known_hosts policies, unreachable hosts and refused
//! logins, a lost session, and abandoned commands stopped on the host. Each case here is
//! generic over [`Kind`]; [`contract_tests!`] turns the list into `#[tokio::test]`s in each
//! transport's test binary (`transport`: russh, `transport_openssh`), which also keep the cases
//! only their transport has (the local transport, ssh_config, the master process).

#![allow(dead_code)]

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pgplay::transport::{
    join_argv, quote, Become, BecomeMethod, ConnectOptions, Connection, ExecOutput, ExecRequest,
    HostKeyPolicy, TransportError,
};
use sha2::{Digest, Sha256};

use crate::common::{self, keygen, Sshd, ADDRESS};

/// A transport under contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The native Rust client (`-c russh`, the default).
    Russh,
    /// The system's OpenSSH client through one multiplexing master per host (`-c openssh`).
    Openssh,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Russh => "russh",
            Kind::Openssh => "openssh",
        })
    }
}

impl Kind {
    /// Connect with inventory options (not ssh's configuration).
    pub async fn connect(self, opts: &ConnectOptions) -> Result<Connection, TransportError> {
        match self {
            Kind::Russh => Connection::connect_russh(opts).await,
            Kind::Openssh => {
                common::require_ssh_client();
                Connection::connect_openssh(opts, false).await
            }
        }
    }

    /// Trust `sshd`'s host key and connect strictly.
    pub async fn connect_to(self, sshd: &Sshd) -> Connection {
        sshd.trust_host_key();
        match self.connect(&sshd.opts(HostKeyPolicy::Strict)).await {
            Ok(c) => c,
            Err(e) => panic!("{self}: connect failed: {e}\nsshd log:\n{}", sshd.log()),
        }
    }

    /// Commands a connection runs at once at most (below sshd's default `MaxSessions`).
    pub fn max_sessions(self) -> usize {
        match self {
            Kind::Russh => pgplay::transport::russh::MAX_CHANNELS,
            Kind::Openssh => pgplay::transport::openssh::MAX_SESSIONS,
        }
    }
}

/// The contract's cases as `#[tokio::test]`s for one transport: `contract_tests!(Kind::Russh);`
/// in a test binary that declares `mod common;` and `#[macro_use] mod contract;`.
macro_rules! contract_tests {
    ($kind:expr) => {
        contract_tests!(@cases $kind;
            exec_returns_stdout_stderr_and_status,
            stdin_one_mib_round_trip,
            stdout_five_mib,
            fifty_concurrent_execs_on_one_connection,
            adapts_to_a_low_max_sessions,
            hostile_strings_are_echoed_literally,
            become_via_sudo_and_su,
            env_vars_are_exported,
            unknown_host_key_is_refused_when_strict,
            accept_new_records_key_then_strict_reconnect_works,
            changed_host_key_is_refused_even_with_accept_new,
            other_key_type_recorded_counts_as_changed,
            closed_port_is_unreachable_quickly,
            silent_server_times_out_as_unreachable,
            wrong_client_key_fails_auth,
            rsa_key_and_passphrase_key,
            lost_session_is_reported_as_unreachable,
            abandoned_exec_frees_its_session,
            abandoned_exec_stops_its_process_group,
        );
    };
    (@cases $kind:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                contract::$case($kind).await
            }
        )*
    };
}

pub fn req(script: &str) -> ExecRequest<'_> {
    ExecRequest {
        script,
        stdin: None,
        r#become: None,
        env: &[],
    }
}

pub async fn run(conn: &Connection, r: ExecRequest<'_>) -> ExecOutput {
    match conn.exec(r).await {
        Ok(out) => out,
        Err(e) => panic!("exec failed: {e}"),
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Deterministic pseudo-random bytes (all 256 values, no long runs).
pub fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Processes on this machine (the test sshd's too) whose command line is exactly `args`.
pub fn count_processes(args: &str) -> usize {
    let out = common::run(std::process::Command::new("ps").args(["-eo", "args="]));
    out.lines().filter(|l| l.trim() == args).count()
}

/// `ssh-keygen -F` finds the host (plain or hashed entries) in `known_hosts`.
fn recorded(known_hosts: &Path, port: u16) -> bool {
    std::process::Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[{ADDRESS}]:{port}"))
        .arg("-f")
        .arg(known_hosts)
        .stdin(std::process::Stdio::null())
        .output()
        .map(|o| o.status.success() && !o.stdout.is_empty())
        .unwrap_or(false)
}

fn other_public_key(dir: &Path, kind: &str) -> String {
    let key = keygen(dir, &format!("other_{kind}"), kind, "");
    common::read_pub(&key)
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Options for a host that is not there (nothing listens, or `port` is given).
fn nowhere(host: &str, port: u16, known_hosts: PathBuf, timeout: Duration) -> ConnectOptions {
    ConnectOptions {
        host: host.into(),
        address: ADDRESS.into(),
        port,
        user: "root".into(),
        key_files: vec![],
        known_hosts,
        host_key_policy: HostKeyPolicy::Strict,
        connect_timeout: timeout,
        use_agent: false,
        ..Default::default()
    }
}

pub async fn exec_returns_stdout_stderr_and_status(kind: Kind) {
    let sshd = Sshd::start();
    let conn = kind.connect_to(&sshd).await;
    let out = run(&conn, req("echo out; echo err >&2; exit 3")).await;
    assert_eq!(text(&out.stdout), "out\n");
    // ends_with: the login shell's rc files may print to stderr first.
    assert!(
        text(&out.stderr).ends_with("err\n"),
        "{kind}: {:?}",
        text(&out.stderr)
    );
    // The job marker (the command's pid, see transport/job.rs) never shows.
    assert!(!text(&out.stderr).contains("pgplay-pid"));
    assert_eq!(out.status, 3);

    let out = run(&conn, req("true")).await;
    assert_eq!(out, ExecOutput::default());

    // The script runs under /bin/sh (dash), whatever the login shell is.
    let out = run(&conn, req("readlink /proc/$$/exe")).await;
    assert_eq!(text(&out.stdout).trim(), "/usr/bin/dash");

    // Killed by a signal: 128 + n.
    let out = run(&conn, req("kill -TERM $$; sleep 5")).await;
    assert_eq!(out.status, 143);
    // 127 is a status like any other.
    let out = run(&conn, req("no-such-command-pgplay")).await;
    assert_eq!(out.status, 127);
    assert!(text(&out.stderr).contains("not found"));
    let out = run(&conn, req("exit 255")).await;
    assert_eq!(out.status, 255);
    conn.close().await;
}

pub async fn stdin_one_mib_round_trip(kind: Kind) {
    let sshd = Sshd::start();
    let conn = kind.connect_to(&sshd).await;
    let data = payload((1 << 20) + 12345);
    let expected = hex::encode(Sha256::digest(&data));

    let out = run(
        &conn,
        ExecRequest {
            stdin: Some(&data),
            ..req("sha256sum")
        },
    )
    .await;
    assert_eq!(out.status, 0, "{kind}: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).split_whitespace().next(),
        Some(&*expected)
    );

    // cat writes while it reads: stdin and stdout must flow concurrently.
    let out = run(
        &conn,
        ExecRequest {
            stdin: Some(&data),
            ..req("cat")
        },
    )
    .await;
    assert_eq!(out.status, 0);
    assert!(out.stdout == data, "{kind}: cat round trip differs");

    // Output produced before stdin is read must not deadlock either.
    let out = run(
        &conn,
        ExecRequest {
            stdin: Some(&data),
            ..req("head -c 3000000 /dev/zero; wc -c")
        },
    )
    .await;
    assert_eq!(
        out.stdout.len(),
        3_000_000 + format!("{}\n", data.len()).len()
    );
    assert!(text(&out.stdout).ends_with(&format!("{}\n", data.len())));

    // A script that ignores its stdin finishes normally.
    let out = run(
        &conn,
        ExecRequest {
            stdin: Some(&data),
            ..req("echo ignored")
        },
    )
    .await;
    assert_eq!(text(&out.stdout), "ignored\n");

    // No stdin, or empty stdin: EOF right away.
    let out = run(&conn, req("wc -c")).await;
    assert_eq!(text(&out.stdout).trim(), "0");
    let out = run(
        &conn,
        ExecRequest {
            stdin: Some(b""),
            ..req("wc -c")
        },
    )
    .await;
    assert_eq!(text(&out.stdout).trim(), "0");
    conn.close().await;
}

pub async fn stdout_five_mib(kind: Kind) {
    let sshd = Sshd::start();
    let conn = kind.connect_to(&sshd).await;
    let size = 5 * 1024 * 1024 + 7;
    let out = run(
        &conn,
        req(&format!(
            "head -c {size} /dev/zero | tr '\\0' x; head -c 100000 /dev/zero >&2"
        )),
    )
    .await;
    assert_eq!(out.status, 0);
    assert_eq!(out.stdout.len(), size);
    assert!(out.stdout.iter().all(|b| *b == b'x'));
    assert!(
        out.stderr.ends_with(&[0u8; 100_000]),
        "{kind}: {}",
        out.stderr.len()
    );

    // Large stderr alongside stdout.
    let out = run(
        &conn,
        req("head -c 2000000 /dev/zero | tr '\\0' x; head -c 100000 /dev/zero >&2"),
    )
    .await;
    assert_eq!(out.stdout.len(), 2_000_000);
    assert!(out.stderr.ends_with(&[0u8; 100_000]));
    conn.close().await;
}

pub async fn fifty_concurrent_execs_on_one_connection(kind: Kind) {
    let sshd = Sshd::start();
    let conn = Arc::new(kind.connect_to(&sshd).await);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let conn = Arc::clone(&conn);
        tasks.push(tokio::spawn(async move {
            let script = format!(
                "a=$(date +%s.%N); sleep 0.5; echo task-{i}; echo \"$a $(date +%s.%N)\"; \
                 echo e{i} >&2; exit {}",
                i % 7
            );
            conn.exec(req(&script)).await.map(|o| (i, o))
        }));
    }
    let mut seen = HashSet::new();
    let mut spans = Vec::new();
    for task in tasks {
        let (i, out) = match task.await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => panic!("{kind}: exec failed: {e}\n{}", sshd.log()),
            Err(e) => panic!("task panicked: {e}"),
        };
        let stdout = text(&out.stdout);
        let (first, times) = stdout.split_once('\n').expect("two lines");
        assert_eq!(first, format!("task-{i}"));
        let times: Vec<f64> = times
            .split_whitespace()
            .map(|t| t.parse().expect("timestamp"))
            .collect();
        assert_eq!(times.len(), 2, "{stdout}");
        spans.push((times[0], times[1]));
        // The login shell's rc files may add noise to stderr (here: pyenv in root's .bashrc
        // racing with itself); the command's own output comes last.
        assert!(
            text(&out.stderr).ends_with(&format!("e{i}\n")),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(out.status, i % 7);
        seen.insert(i);
    }
    assert_eq!(seen.len(), 50);
    assert_eq!(spans.len(), 50);
    // Concurrency is real: several commands ran at the same time (at most the transport's
    // limit), measured on the host so that machine load cannot make this flaky; 50 x 0.5 s
    // one after another would take 25 s.
    let most = spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(most >= 2, "{kind}: the commands never overlapped: {most}");
    assert!(
        (4..=kind.max_sessions()).contains(&most),
        "{kind}: {most} at once"
    );
    // One SSH connection only.
    let accepted = sshd.log().matches("Accepted publickey").count();
    assert_eq!(accepted, 1, "{}", sshd.log());
    match Arc::try_unwrap(conn) {
        Ok(conn) => conn.close().await,
        Err(_) => panic!("connection still shared"),
    }
}

pub async fn adapts_to_a_low_max_sessions(kind: Kind) {
    let sshd = Sshd::start_with(&["MaxSessions 2"], &[]);
    let conn = Arc::new(kind.connect_to(&sshd).await);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let conn = Arc::clone(&conn);
        tasks.push(tokio::spawn(async move {
            conn.exec(req(&format!("sleep 0.1; echo {i}"))).await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(Ok(out)) => assert_eq!(text(&out.stdout), format!("{i}\n")),
            Ok(Err(e)) => panic!("{kind}: exec {i} failed: {e}\n{}", sshd.log()),
            Err(e) => panic!("task panicked: {e}"),
        }
    }
}

pub async fn hostile_strings_are_echoed_literally(kind: Kind) {
    // Each transport's own marker: the two test binaries may run at the same time.
    let marker = format!("/tmp/pwned-{kind}-xyz");
    let _ = std::fs::remove_file(&marker);
    let sshd = Sshd::start();
    let conn = kind.connect_to(&sshd).await;
    let hostile = format!(
        "a'b\"c; $(touch {marker}) `x` \n\t~ * ? [a] {{b,c}} \\ ! # & | > < ( ) %s '' \x1e"
    );

    let out = run(&conn, req(&format!("printf '%s' {}", quote(&hostile)))).await;
    assert_eq!(text(&out.stdout), hostile);

    let out = run(&conn, req(&join_argv(&["printf", "%s|", &hostile, "x y"]))).await;
    assert_eq!(text(&out.stdout), format!("{hostile}|x y|"));

    // Through sudo's extra level of quoting, and in an env value.
    let nobody = Become::new("nobody", BecomeMethod::Sudo);
    let env = vec![("HOSTILE".to_owned(), hostile.clone())];
    let script = format!("printf '%s|%s' {} \"$HOSTILE\"", quote(&hostile));
    let out = run(
        &conn,
        ExecRequest {
            r#become: Some(&nobody),
            env: &env,
            ..req(&script)
        },
    )
    .await;
    assert_eq!(
        text(&out.stdout),
        format!("{hostile}|{hostile}"),
        "{kind}: {}",
        text(&out.stderr)
    );
    // Something that looks like the pid marker stays in stderr.
    let out = run(&conn, req("printf '\\036pgplay-pid=1\\036\\n' >&2")).await;
    assert_eq!(out.stderr, b"\x1epgplay-pid=1\x1e\n");
    assert!(!Path::new(&marker).exists(), "injection created {marker}");
    conn.close().await;
}

pub async fn become_via_sudo_and_su(kind: Kind) {
    let sshd = Sshd::start();
    let conn = kind.connect_to(&sshd).await;
    for method in [BecomeMethod::Sudo, BecomeMethod::Su] {
        let nobody = Become::new("nobody", method);
        let data = b"fed through become\n".to_vec();
        let out = run(
            &conn,
            ExecRequest {
                r#become: Some(&nobody),
                stdin: Some(&data),
                ..req("id -un; cat; exit 4")
            },
        )
        .await;
        assert_eq!(
            text(&out.stdout),
            "nobody\nfed through become\n",
            "{kind} {method:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(out.status, 4);
    }
    // Becoming the login user is a no-op.
    let root = Become::new("root", BecomeMethod::Su);
    let out = run(
        &conn,
        ExecRequest {
            r#become: Some(&root),
            ..req("id -un")
        },
    )
    .await;
    assert_eq!(text(&out.stdout), "root\n");
    conn.close().await;
}

pub async fn env_vars_are_exported(kind: Kind) {
    let sshd = Sshd::start();
    let conn = kind.connect_to(&sshd).await;
    let env = vec![
        ("PGDATA".to_owned(), "/pg/data".to_owned()),
        ("SPACED".to_owned(), "a b  c".to_owned()),
        ("EMPTY".to_owned(), String::new()),
    ];
    let script = "printf '%s|%s|%s|' \"$PGDATA\" \"$SPACED\" \"${EMPTY-unset}\"; sh -c 'printf %s \"$PGDATA\"'";
    let out = run(
        &conn,
        ExecRequest {
            env: &env,
            ..req(script)
        },
    )
    .await;
    assert_eq!(text(&out.stdout), "/pg/data|a b  c||/pg/data");

    // Survives sudo's env_reset.
    let nobody = Become::new("nobody", BecomeMethod::Sudo);
    let out = run(
        &conn,
        ExecRequest {
            env: &env,
            r#become: Some(&nobody),
            ..req("printf '%s' \"$PGDATA\"")
        },
    )
    .await;
    assert_eq!(text(&out.stdout), "/pg/data");

    // A bad name is the task's bug: the command is not started, the host stays reachable.
    let bad = vec![("BAD-NAME".to_owned(), "x".to_owned())];
    match conn
        .exec(ExecRequest {
            env: &bad,
            ..req("true")
        })
        .await
    {
        Err(e @ TransportError::Channel { .. }) => {
            assert!(e.to_string().contains("invalid environment variable name"));
            assert!(!e.is_unreachable());
            assert!(e.is_task_failure(), "{e}");
        }
        other => panic!("{kind}: expected Channel error, got {other:?}"),
    }
    conn.close().await;
}

pub async fn unknown_host_key_is_refused_when_strict(kind: Kind) {
    let sshd = Sshd::start();
    std::fs::write(sshd.known_hosts(), "").expect("empty known_hosts");
    match kind.connect(&sshd.opts(HostKeyPolicy::Strict)).await {
        Err(e @ TransportError::HostKeyUnknown { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("--accept-new-host-keys"), "{msg}");
            assert!(msg.contains("ssh-keyscan"), "{msg}");
            assert!(!e.is_unreachable());
            if let TransportError::HostKeyUnknown {
                fingerprint,
                known_hosts,
                address,
                ..
            } = e
            {
                assert_eq!(fingerprint, sshd.host_fingerprint());
                assert_eq!(known_hosts, sshd.known_hosts());
                assert_eq!(address, ADDRESS);
            }
        }
        Err(e) => panic!("{kind}: expected HostKeyUnknown, got {e}"),
        Ok(_) => panic!("{kind}: connected to an unknown host in strict mode"),
    }
    assert_eq!(
        std::fs::read_to_string(sshd.known_hosts()).ok().as_deref(),
        Some("")
    );
}

pub async fn accept_new_records_key_then_strict_reconnect_works(kind: Kind) {
    let sshd = Sshd::start();
    // Missing file in a missing directory: both get created.
    let known_hosts = sshd.dir.path().join("ssh").join("known_hosts");
    let mut opts = sshd.opts(HostKeyPolicy::AcceptNew);
    opts.known_hosts = known_hosts.clone();
    let conn = match kind.connect(&opts).await {
        Ok(c) => c,
        Err(e) => panic!("{kind}: AcceptNew failed: {e}"),
    };
    assert_eq!(text(&run(&conn, req("echo ok")).await.stdout), "ok\n");
    conn.close().await;
    assert!(recorded(&known_hosts, sshd.port), "host key not recorded");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&known_hosts)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let first = std::fs::read_to_string(&known_hosts).expect("known_hosts");
    assert_eq!(first.lines().count(), 1, "{first}");

    opts.host_key_policy = HostKeyPolicy::Strict;
    match kind.connect(&opts).await {
        Ok(conn) => conn.close().await,
        Err(e) => panic!("{kind}: strict reconnect failed: {e}"),
    }
    // Accepting again does not duplicate the entry.
    opts.host_key_policy = HostKeyPolicy::AcceptNew;
    match kind.connect(&opts).await {
        Ok(conn) => conn.close().await,
        Err(e) => panic!("{kind}: second accept-new connect failed: {e}"),
    }
    assert_eq!(std::fs::read_to_string(&known_hosts).ok(), Some(first));

    // Hashed known_hosts entries (ssh-keygen -H) still match.
    common::run(
        std::process::Command::new("ssh-keygen")
            .arg("-H")
            .arg("-f")
            .arg(&known_hosts),
    );
    let hashed = std::fs::read_to_string(&known_hosts).expect("hashed");
    assert!(hashed.starts_with("|1|"), "{hashed}");
    opts.host_key_policy = HostKeyPolicy::Strict;
    match kind.connect(&opts).await {
        Ok(conn) => conn.close().await,
        Err(e) => panic!("{kind}: strict connect with hashed entry failed: {e}"),
    }
}

pub async fn changed_host_key_is_refused_even_with_accept_new(kind: Kind) {
    let sshd = Sshd::start();
    let other = other_public_key(sshd.dir.path(), "ed25519");
    let content = format!(
        "# managed by pgplay\n{ADDRESS} {}\n[{ADDRESS}]:{} {other}\n",
        sshd.host_pub, sshd.port
    );
    std::fs::write(sshd.known_hosts(), &content).expect("known_hosts");
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        match kind.connect(&sshd.opts(policy)).await {
            Err(e @ TransportError::HostKeyChanged { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("man-in-the-middle"), "{msg}");
                assert!(!e.is_unreachable());
                if let TransportError::HostKeyChanged {
                    line,
                    fingerprint,
                    known_hosts,
                    ..
                } = e
                {
                    assert_eq!(line, 3);
                    assert_eq!(fingerprint, sshd.host_fingerprint());
                    assert_eq!(known_hosts, sshd.known_hosts());
                }
            }
            Err(e) => panic!("{kind} {policy:?}: expected HostKeyChanged, got {e}"),
            Ok(_) => panic!("{kind} {policy:?}: connected despite a changed host key"),
        }
        assert_eq!(
            std::fs::read_to_string(sshd.known_hosts()).ok().as_deref(),
            Some(content.as_str())
        );
    }
}

pub async fn other_key_type_recorded_counts_as_changed(kind: Kind) {
    let sshd = Sshd::start();
    let other = other_public_key(sshd.dir.path(), "ecdsa");
    std::fs::write(
        sshd.known_hosts(),
        format!("[{ADDRESS}]:{} {other}\n", sshd.port),
    )
    .expect("known_hosts");
    match kind.connect(&sshd.opts(HostKeyPolicy::AcceptNew)).await {
        Err(TransportError::HostKeyChanged { line, .. }) => assert_eq!(line, 1),
        Err(e) => panic!("{kind}: expected HostKeyChanged, got {e}"),
        Ok(_) => panic!("{kind}: connected although a different key type is recorded"),
    }
}

pub async fn closed_port_is_unreachable_quickly(kind: Kind) {
    let dir = tempfile::tempdir().expect("tempdir");
    let known_hosts = dir.path().join("known_hosts");
    let opts = nowhere(
        "pg-gone",
        common::CLOSED_PORT,
        known_hosts,
        Duration::from_secs(10),
    );
    match kind.connect(&opts).await {
        Err(e @ TransportError::Unreachable { .. }) => {
            assert!(e.is_unreachable());
            let msg = e.to_string();
            assert!(msg.contains("pg-gone"), "{msg}");
            assert!(msg.contains("Connection refused"), "{msg}");
            assert!(
                msg.contains(&format!("port {}", common::CLOSED_PORT)),
                "{msg}"
            );
        }
        Err(e) => panic!("{kind}: expected Unreachable, got {e}"),
        Ok(_) => panic!("{kind}: connected to a closed port"),
    }
}

pub async fn silent_server_times_out_as_unreachable(kind: Kind) {
    // Accepts TCP but never speaks SSH.
    let listener = tokio::net::TcpListener::bind((ADDRESS, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let known_hosts = dir.path().join("known_hosts");
    let opts = nowhere("pg-silent", port, known_hosts, Duration::from_millis(700));
    match kind.connect(&opts).await {
        Err(e @ TransportError::Unreachable { .. }) => {
            assert!(e.to_string().contains("timed out"), "{e}")
        }
        Err(e) => panic!("{kind}: expected Unreachable, got {e}"),
        Ok(_) => panic!("{kind}: connected to a silent server"),
    }
    hold.abort();
}

pub async fn wrong_client_key_fails_auth(kind: Kind) {
    let sshd = Sshd::start();
    sshd.trust_host_key();
    let wrong = keygen(sshd.dir.path(), "wrong_ed25519", "ed25519", "");
    let mut opts = sshd.opts(HostKeyPolicy::Strict);
    opts.key_files = vec![wrong.clone()];
    match kind.connect(&opts).await {
        Err(e @ TransportError::AuthFailed { .. }) => {
            assert!(!e.is_unreachable());
            let msg = e.to_string();
            assert!(msg.contains(&wrong.display().to_string()), "{msg}");
            assert!(msg.contains("rejected"), "{msg}");
            assert!(msg.contains("\"root\""), "{msg}");
        }
        Err(e) => panic!("{kind}: expected AuthFailed, got {e}"),
        Ok(_) => panic!("{kind}: authenticated with a wrong key"),
    }
    // Keys are tried in order: wrong, missing, right.
    opts.key_files = vec![
        wrong,
        PathBuf::from("/nonexistent/id_ed25519"),
        sshd.client_key.clone(),
    ];
    match kind.connect(&opts).await {
        Ok(conn) => {
            assert_eq!(text(&run(&conn, req("echo in")).await.stdout), "in\n");
            conn.close().await;
        }
        Err(e) => panic!("{kind}: third key should have worked: {e}"),
    }
}

pub async fn rsa_key_and_passphrase_key(kind: Kind) {
    let keys = tempfile::tempdir().expect("tempdir");
    let rsa = keygen(keys.path(), "id_rsa", "rsa", "");
    let locked = keygen(keys.path(), "id_locked", "ed25519", "secret passphrase");
    let sshd = Sshd::start_with(&[], &[&rsa, &locked]);
    sshd.trust_host_key();
    let mut opts = sshd.opts(HostKeyPolicy::Strict);
    opts.key_files = vec![rsa];
    match kind.connect(&opts).await {
        Ok(conn) => {
            assert_eq!(text(&run(&conn, req("echo rsa")).await.stdout), "rsa\n");
            conn.close().await;
        }
        Err(e) => panic!("{kind}: RSA auth failed: {e}\n{}", sshd.log()),
    }
    assert!(sshd.log().contains("RSA"), "{}", sshd.log());

    // A key that needs its passphrase fails with a hint (pgplay never prompts).
    opts.key_files = vec![locked];
    match kind.connect(&opts).await {
        Err(e @ TransportError::AuthFailed { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("passphrase") && msg.contains("ssh-agent"),
                "{msg}"
            );
        }
        Err(e) => panic!("{kind}: expected AuthFailed, got {e}"),
        Ok(_) => panic!("{kind}: authenticated with a locked key"),
    }
}

pub async fn lost_session_is_reported_as_unreachable(kind: Kind) {
    let sshd = Sshd::start();
    let conn = kind.connect_to(&sshd).await;
    // Kill the sshd process serving this connection, mid-command (the script's parent is
    // pgplay's job wrapper shell, whose parent is sshd).
    let pid_file = sshd.dir.path().join("script.pid");
    let script = format!(
        "echo $$ > {}; kill -9 $(ps -o ppid= -p $PPID); exec sleep 60",
        quote(&pid_file.display().to_string())
    );
    let result = conn.exec(req(&script)).await;
    // The command survives its sshd: stop it (it is this test's process).
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        common::run(std::process::Command::new("kill").arg(pid.trim()));
    }
    match result {
        Err(e @ TransportError::Channel { .. }) => {
            assert!(e.is_unreachable(), "{e}");
            assert!(e.to_string().contains("lost"), "{e}");
        }
        other => panic!("{kind}: expected Channel error, got {other:?}"),
    }
    match conn.exec(req("echo again")).await {
        Err(e @ TransportError::Channel { .. }) => assert!(e.is_unreachable(), "{e}"),
        other => panic!("{kind}: expected Channel error, got {other:?}"),
    }
    conn.close().await;
}

pub async fn abandoned_exec_frees_its_session(kind: Kind) {
    let sshd = Sshd::start_with(&["MaxSessions 2"], &[]);
    let conn = kind.connect_to(&sshd).await;
    // sshd keeps a session while its command runs; the abandoned commands are stopped (their
    // process group, over a fresh session), which frees it. (A command that never writes,
    // under a server limit its own sessions fill: see `transport_openssh`.)
    let forever = "while :; do echo tick; sleep 0.05; done";
    for _ in 0..4 {
        let r = tokio::time::timeout(Duration::from_millis(300), conn.exec(req(forever))).await;
        assert!(r.is_err(), "the endless command should have timed out");
    }
    let out = tokio::time::timeout(Duration::from_secs(10), conn.exec(req("echo free")))
        .await
        .expect("channel slots were not released");
    let out = out.unwrap_or_else(|e| panic!("{kind}: exec: {e}\n{}", sshd.log()));
    assert_eq!(text(&out.stdout), "free\n");
    conn.close().await;
}

/// Issue 9: an abandoned command (a task timeout, a second Ctrl-C) is stopped whole on the
/// host — a child it left in the background included — not left running.
pub async fn abandoned_exec_stops_its_process_group(kind: Kind) {
    let sshd = Sshd::start();
    let conn = kind.connect_to(&sshd).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("child.pid");
    let script = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
    let r = tokio::time::timeout(Duration::from_millis(1500), conn.exec(req(&script))).await;
    assert!(r.is_err(), "the command should have been abandoned");
    let pid = std::fs::read_to_string(&pidfile).expect("the command wrote its child's pid");
    let status = format!("/proc/{}/status", pid.trim());
    let mut running = true;
    for _ in 0..80 {
        running = std::fs::read_to_string(&status)
            .map(|s| {
                !s.lines()
                    .any(|l| l.starts_with("State:") && l.contains('Z'))
            })
            .unwrap_or(false);
        if !running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !running,
        "{kind}: the abandoned command's child {pid} still runs"
    );
    conn.close().await;
}
