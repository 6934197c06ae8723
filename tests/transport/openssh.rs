//! End-to-end tests of the OpenSSH transport against a real sshd.
//!
//! Each test starts its own sshd (own host key, client key, authorized_keys
//! and known_hosts in a temp dir) from the shared harness (tests/transport/common), owned by a
//! guard that kills and reaps exactly that child on drop. The system `ssh`
//! client drives the connections. ssh and sshd must be installed: the tests
//! fail, not skip, without them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{keygen, Sshd, ADDRESS};
use pgplay::transport::openssh::OpensshConnection;
use pgplay::transport::{
    join_argv, quote, Become, BecomeMethod, ConnectOptions, Connection, ExecOutput, ExecRequest,
    HostKeyPolicy, TransportError,
};
use sha2::{Digest, Sha256};

fn req(script: &str) -> ExecRequest<'_> {
    ExecRequest {
        script,
        stdin: None,
        r#become: None,
        env: &[],
    }
}

async fn run(conn: &OpensshConnection, r: ExecRequest<'_>) -> ExecOutput {
    match conn.exec(r).await {
        Ok(out) => out,
        Err(e) => panic!("exec failed: {e}"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Deterministic pseudo-random bytes (all 256 values, no long runs).
fn payload(len: usize) -> Vec<u8> {
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

/// True while a process with this pid exists and is not a zombie.
fn process_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

async fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !process_running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    !process_running(pid)
}

#[test]
fn connection_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<OpensshConnection>();
    check::<Connection>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_returns_stdout_stderr_and_status() {
    let sshd = Sshd::start();
    let conn = sshd.connect_openssh().await;
    assert_eq!(conn.user(), "root");
    let out = run(&conn, req("echo out; echo err >&2; exit 3")).await;
    assert_eq!(text(&out.stdout), "out\n");
    assert!(
        text(&out.stderr).ends_with("err\n"),
        "{:?}",
        text(&out.stderr)
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_connection_enum() {
    let sshd = Sshd::start();
    sshd.trust_host_key();
    let conn = Connection::connect_openssh(&sshd.opts(HostKeyPolicy::Strict), false)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let out = conn.exec(req("echo via-enum")).await.expect("exec");
    assert_eq!(text(&out.stdout), "via-enum\n");
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_one_mib_round_trip() {
    let sshd = Sshd::start();
    let conn = sshd.connect_openssh().await;
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
    assert_eq!(out.status, 0, "{}", text(&out.stderr));
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
    assert!(out.stdout == data, "cat round trip differs");

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_execs_on_one_master() {
    let sshd = Sshd::start();
    let conn = Arc::new(sshd.connect_openssh().await);
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
            Ok(Err(e)) => panic!("exec failed: {e}\n{}", sshd.log()),
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
        assert!(
            text(&out.stderr).ends_with(&format!("e{i}\n")),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(out.status, i % 7);
        seen.insert(i);
    }
    assert_eq!(seen.len(), 50);
    // Concurrency is real: several commands ran at the same time (at most
    // MAX_SESSIONS), measured on the host so that machine load cannot
    // make this flaky; 50 x 0.5 s sequentially would take 25 s.
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
    assert!(
        (4..=pgplay::transport::openssh::MAX_SESSIONS).contains(&most),
        "{most} at once"
    );
    // One SSH connection only.
    let accepted = sshd.log().matches("Accepted publickey").count();
    assert_eq!(accepted, 1, "{}", sshd.log());
    match Arc::try_unwrap(conn) {
        Ok(conn) => conn.close().await,
        Err(_) => panic!("connection still shared"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapts_to_a_low_max_sessions() {
    let sshd = Sshd::start_with(&["MaxSessions 2"], &[]);
    let conn = Arc::new(sshd.connect_openssh().await);
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
            Ok(Err(e)) => panic!("exec {i} failed: {e}\n{}", sshd.log()),
            Err(e) => panic!("task panicked: {e}"),
        }
    }
}

const HOSTILE: &str = "a'b\"c; $(touch /tmp/pwned-openssh-xyz) `x` \n";
const MARKER: &str = "/tmp/pwned-openssh-xyz";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_are_echoed_literally() {
    let _ = std::fs::remove_file(MARKER);
    let sshd = Sshd::start();
    let conn = sshd.connect_openssh().await;
    let hostile = format!("{HOSTILE}\t~ * ? [a] {{b,c}} \\ ! # & | > < ( ) %s '' \x1e");

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
        "{}",
        text(&out.stderr)
    );
    // Something that looks like the pid marker stays in stderr.
    let out = run(&conn, req("printf '\\036pgplay-pid=1\\036\\n' >&2")).await;
    assert_eq!(out.stderr, b"\x1epgplay-pid=1\x1e\n");
    assert!(!Path::new(MARKER).exists(), "injection created {MARKER}");
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn become_via_sudo_and_su() {
    let sshd = Sshd::start();
    let conn = sshd.connect_openssh().await;
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
            "{method:?}: {}",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_vars_are_exported() {
    let sshd = Sshd::start();
    let conn = sshd.connect_openssh().await;
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
        }
        other => panic!("expected Channel error, got {other:?}"),
    }
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_key_is_refused_when_strict() {
    let sshd = Sshd::start();
    std::fs::write(sshd.known_hosts(), "").expect("empty known_hosts");
    match OpensshConnection::connect(&sshd.opts(HostKeyPolicy::Strict), false).await {
        Err(e @ TransportError::HostKeyUnknown { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("--accept-new-host-keys"), "{msg}");
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
        Err(e) => panic!("expected HostKeyUnknown, got {e}"),
        Ok(_) => panic!("connected to an unknown host in strict mode"),
    }
    assert_eq!(
        std::fs::read_to_string(sshd.known_hosts()).ok().as_deref(),
        Some("")
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_new_records_key_then_strict_reconnect_works() {
    let sshd = Sshd::start();
    let known_hosts = sshd.dir.path().join("ssh").join("known_hosts");
    let mut opts = sshd.opts(HostKeyPolicy::AcceptNew);
    opts.known_hosts = known_hosts.clone();
    let conn = match OpensshConnection::connect(&opts, false).await {
        Ok(c) => c,
        Err(e) => panic!("AcceptNew failed: {e}"),
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
    match OpensshConnection::connect(&opts, false).await {
        Ok(conn) => conn.close().await,
        Err(e) => panic!("strict reconnect failed: {e}"),
    }
    // Accepting again does not duplicate the entry.
    opts.host_key_policy = HostKeyPolicy::AcceptNew;
    match OpensshConnection::connect(&opts, false).await {
        Ok(conn) => conn.close().await,
        Err(e) => panic!("second accept-new connect failed: {e}"),
    }
    assert_eq!(std::fs::read_to_string(&known_hosts).ok(), Some(first));
}

fn other_public_key(dir: &Path, kind: &str) -> String {
    let key = keygen(dir, &format!("other_{kind}"), kind, "");
    common::read_pub(&key)
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_host_key_is_refused_even_with_accept_new() {
    let sshd = Sshd::start();
    let other = other_public_key(sshd.dir.path(), "ed25519");
    let content = format!(
        "# managed by pgplay\n{ADDRESS} {}\n[{ADDRESS}]:{} {other}\n",
        sshd.host_pub, sshd.port
    );
    std::fs::write(sshd.known_hosts(), &content).expect("known_hosts");
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        match OpensshConnection::connect(&sshd.opts(policy), false).await {
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
            Err(e) => panic!("{policy:?}: expected HostKeyChanged, got {e}"),
            Ok(_) => panic!("{policy:?}: connected despite a changed host key"),
        }
        assert_eq!(
            std::fs::read_to_string(sshd.known_hosts()).ok().as_deref(),
            Some(content.as_str())
        );
    }

    // A recorded key of another type counts as changed too.
    let ecdsa = other_public_key(sshd.dir.path(), "ecdsa");
    std::fs::write(
        sshd.known_hosts(),
        format!("[{ADDRESS}]:{} {ecdsa}\n", sshd.port),
    )
    .expect("known_hosts");
    match OpensshConnection::connect(&sshd.opts(HostKeyPolicy::AcceptNew), false).await {
        Err(TransportError::HostKeyChanged { line, .. }) => assert_eq!(line, 1),
        Err(e) => panic!("expected HostKeyChanged, got {e}"),
        Ok(_) => panic!("connected although a different key type is recorded"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_unreachable_quickly() {
    common::require_ssh_client();
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = ConnectOptions {
        host: "pg-gone".into(),
        address: ADDRESS.into(),
        port: common::CLOSED_PORT,
        user: "root".into(),
        key_files: vec![],
        known_hosts: dir.path().join("known_hosts"),
        host_key_policy: HostKeyPolicy::Strict,
        connect_timeout: Duration::from_secs(10),
        use_agent: false,
        ..Default::default()
    };
    match OpensshConnection::connect(&opts, false).await {
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
        Err(e) => panic!("expected Unreachable, got {e}"),
        Ok(_) => panic!("connected to a closed port"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out_as_unreachable() {
    common::require_ssh_client();
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
    let opts = ConnectOptions {
        host: "pg-silent".into(),
        address: ADDRESS.into(),
        port,
        user: "root".into(),
        key_files: vec![],
        known_hosts: dir.path().join("known_hosts"),
        host_key_policy: HostKeyPolicy::Strict,
        connect_timeout: Duration::from_millis(700),
        use_agent: false,
        ..Default::default()
    };
    match OpensshConnection::connect(&opts, false).await {
        Err(e @ TransportError::Unreachable { .. }) => {
            assert!(e.to_string().contains("timed out"), "{e}")
        }
        Err(e) => panic!("expected Unreachable, got {e}"),
        Ok(_) => panic!("connected to a silent server"),
    }
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_client_key_fails_auth() {
    let sshd = Sshd::start();
    sshd.trust_host_key();
    let wrong = keygen(sshd.dir.path(), "wrong_ed25519", "ed25519", "");
    let mut opts = sshd.opts(HostKeyPolicy::Strict);
    opts.key_files = vec![wrong.clone()];
    match OpensshConnection::connect(&opts, false).await {
        Err(e @ TransportError::AuthFailed { .. }) => {
            assert!(!e.is_unreachable());
            let msg = e.to_string();
            assert!(msg.contains(&wrong.display().to_string()), "{msg}");
            assert!(msg.contains("rejected"), "{msg}");
            assert!(msg.contains("\"root\""), "{msg}");
        }
        Err(e) => panic!("expected AuthFailed, got {e}"),
        Ok(_) => panic!("authenticated with a wrong key"),
    }
    // Keys are tried in order: wrong, missing, right.
    opts.key_files = vec![
        wrong,
        PathBuf::from("/nonexistent/id_ed25519"),
        sshd.client_key.clone(),
    ];
    match OpensshConnection::connect(&opts, false).await {
        Ok(conn) => {
            assert_eq!(text(&run(&conn, req("echo in")).await.stdout), "in\n");
            conn.close().await;
        }
        Err(e) => panic!("third key should have worked: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_key_fails_auth_with_a_hint() {
    let keys = tempfile::tempdir().expect("tempdir");
    let locked = keygen(keys.path(), "id_locked", "ed25519", "secret passphrase");
    let sshd = Sshd::start_with(&[], &[&locked]);
    sshd.trust_host_key();
    let mut opts = sshd.opts(HostKeyPolicy::Strict);
    opts.key_files = vec![locked];
    match OpensshConnection::connect(&opts, false).await {
        Err(e @ TransportError::AuthFailed { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("passphrase") && msg.contains("ssh-agent"),
                "{msg}"
            );
        }
        Err(e) => panic!("expected AuthFailed, got {e}"),
        Ok(_) => panic!("authenticated with a locked key"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_config_is_honoured() {
    let sshd = Sshd::start();
    sshd.trust_host_key();
    let config = sshd.dir.path().join("ssh_config");
    let host_block = |name: &str| {
        format!(
            "Host {name}\n  HostName {ADDRESS}\n  Port {port}\n  User root\n  \
             IdentityFile {key}\n  IdentitiesOnly yes\n  IdentityAgent none\n  \
             UserKnownHostsFile {kh}\n  StrictHostKeyChecking yes\n",
            port = sshd.port,
            key = sshd.client_key.display(),
            kh = sshd.known_hosts().display(),
        )
    };
    std::fs::write(
        &config,
        format!(
            "{}{}  ProxyJump pgjump\n{}",
            host_block("pgalias"),
            host_block("pgbehind"),
            host_block("pgjump")
        ),
    )
    .expect("ssh_config");
    let empty_kh = sshd.dir.path().join("empty_known_hosts");
    std::fs::write(&empty_kh, "").expect("empty known_hosts");
    // The inventory knows only the alias: user, port, key and known_hosts
    // given here are wrong and must not be used.
    let opts = ConnectOptions {
        host: "pg-alias".into(),
        address: "pgalias".into(),
        port: 22,
        user: "nobody".into(),
        key_files: vec![PathBuf::from("/nonexistent/key")],
        known_hosts: empty_kh.clone(),
        host_key_policy: HostKeyPolicy::Strict,
        connect_timeout: Duration::from_secs(10),
        use_agent: false,
        ..Default::default()
    };
    let conn = OpensshConnection::connect_with_config(&opts, true, Some(&config))
        .await
        .unwrap_or_else(|e| panic!("config-only connect: {e}\n{}", sshd.log()));
    assert_eq!(conn.user(), "root");
    assert_eq!(text(&run(&conn, req("id -un")).await.stdout), "root\n");
    conn.close().await;

    // ProxyJump from the config: two SSH logins (jump host, then target).
    let before = sshd.log().matches("Accepted publickey").count();
    let behind = ConnectOptions {
        address: "pgbehind".into(),
        ..opts.clone()
    };
    let conn = OpensshConnection::connect_with_config(&behind, true, Some(&config))
        .await
        .unwrap_or_else(|e| panic!("ProxyJump connect: {e}\n{}", sshd.log()));
    assert_eq!(
        text(&run(&conn, req("echo jumped")).await.stdout),
        "jumped\n"
    );
    conn.close().await;
    let after = sshd.log().matches("Accepted publickey").count();
    assert_eq!(after - before, 2, "{}", sshd.log());

    // Without use_config_only, the inventory's values win over the config:
    // its known_hosts file (empty: unknown host) ...
    match OpensshConnection::connect_with_config(&opts, false, Some(&config)).await {
        Err(TransportError::HostKeyUnknown { known_hosts, .. }) => {
            assert_eq!(known_hosts, empty_kh)
        }
        Err(e) => panic!("expected HostKeyUnknown, got {e}"),
        Ok(_) => panic!("the config's known_hosts was used"),
    }
    // ... and its port.
    let inventory_port = ConnectOptions {
        port: common::CLOSED_PORT,
        known_hosts: sshd.known_hosts(),
        ..opts.clone()
    };
    match OpensshConnection::connect_with_config(&inventory_port, false, Some(&config)).await {
        Err(e @ TransportError::Unreachable { .. }) => {
            assert!(
                e.to_string()
                    .contains(&format!("port {}", common::CLOSED_PORT)),
                "{e}"
            )
        }
        Err(e) => panic!("expected Unreachable, got {e}"),
        Ok(_) => panic!("the config's port was used"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_drop_leave_no_master_behind() {
    let sshd = Sshd::start();
    let conn = sshd.connect_openssh().await;
    let pid = conn.master_pid().expect("master pid");
    let socket = conn.control_socket().to_path_buf();
    let dir = socket.parent().expect("control dir").to_path_buf();
    assert!(process_running(pid));
    assert!(socket.as_os_str().len() < 100, "{}", socket.display());
    assert!(dir.starts_with("/tmp"), "{}", dir.display());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dir).expect("dir").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(text(&run(&conn, req("echo up")).await.stdout), "up\n");
    conn.close().await;
    assert!(!process_running(pid), "master {pid} still running");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "not reaped");
    assert!(!socket.exists() && !dir.exists());
    assert!(wait_log(&sshd, "Disconnected from user root").await);

    // close() right after an exec was abandoned: the command is stopped
    // and the master ends.
    let conn = sshd.connect_openssh().await;
    let pid = conn.master_pid().expect("master pid");
    let tag = format!("30.{}", sshd.port);
    let abandoned = tokio::time::timeout(
        Duration::from_millis(300),
        conn.exec(req(&format!("exec sleep {tag}"))),
    )
    .await;
    assert!(abandoned.is_err());
    conn.close().await;
    assert!(!process_running(pid), "master {pid} still running");
    assert_eq!(count_processes(&format!("sleep {tag}")), 0);

    // Dropping without close: the safety net stops the master too.
    let conn = sshd.connect_openssh().await;
    let pid = conn.master_pid().expect("master pid");
    let dir = conn
        .control_socket()
        .parent()
        .expect("control dir")
        .to_path_buf();
    drop(conn);
    assert!(!dir.exists());
    assert!(
        wait_gone(pid, Duration::from_secs(3)).await,
        "master {pid} survived drop"
    );
}

/// Processes on this machine (the test sshd's too) whose command line is
/// exactly `args`.
fn count_processes(args: &str) -> usize {
    let out = common::run(std::process::Command::new("ps").args(["-eo", "args="]));
    out.lines().filter(|l| l.trim() == args).count()
}

async fn wait_log(sshd: &Sshd, needle: &str) -> bool {
    for _ in 0..100 {
        if sshd.log().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_session_is_reported_as_unreachable() {
    let sshd = Sshd::start();
    let conn = sshd.connect_openssh().await;
    // Kill the sshd process serving this connection, mid-command (the
    // script's parent is pgplay's wrapper shell, whose parent is sshd).
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
        other => panic!("expected Channel error, got {other:?}"),
    }
    match conn.exec(req("echo again")).await {
        Err(e @ TransportError::Channel { .. }) => assert!(e.is_unreachable(), "{e}"),
        other => panic!("expected Channel error, got {other:?}"),
    }
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_exec_is_stopped_and_frees_its_session() {
    let sshd = Sshd::start_with(&["MaxSessions 2"], &[]);
    let conn = sshd.connect_openssh().await;
    // A command that never writes: only the SIGTERM sent on abandonment
    // ends it (and so frees its sshd session).
    let tag = format!("{}", 900 + sshd.port % 97);
    let forever = format!("exec sleep {tag}");
    for _ in 0..4 {
        let r = tokio::time::timeout(Duration::from_millis(300), conn.exec(req(&forever))).await;
        assert!(r.is_err(), "the endless command should have timed out");
    }
    let out = tokio::time::timeout(Duration::from_secs(10), conn.exec(req("echo free")))
        .await
        .expect("sessions were not released");
    let out = out.unwrap_or_else(|e| panic!("exec: {e}\n{}", sshd.log()));
    assert_eq!(text(&out.stdout), "free\n");
    conn.close().await;
    assert_eq!(count_processes(&format!("sleep {tag}")), 0);
}
