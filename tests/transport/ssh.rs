//! End-to-end tests of the transport against a real OpenSSH server.
//!
//! Everything pgplay relies on is exercised over an actual SSH session:
//! output and status capture, large stdin/stdout with flow control,
//! channel concurrency on one session, quoting of hostile strings, become
//! via sudo and su, environment exports, the known_hosts policies,
//! unreachable hosts and authentication failures; and the same contract on
//! the local transport. sshd must be installed: the tests fail, not skip,
//! without it.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{keygen, Sshd, ADDRESS};
use pgplay::transport::{
    join_argv, quote, Become, BecomeMethod, Connection, ExecOutput, ExecRequest, HostKeyPolicy,
    TransportError,
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

async fn run(conn: &Connection, r: ExecRequest<'_>) -> ExecOutput {
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

#[test]
fn connection_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Connection>();
    check::<TransportError>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_returns_stdout_stderr_and_status() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
    let out = run(&conn, req("echo out; echo err >&2; exit 3")).await;
    assert_eq!(text(&out.stdout), "out\n");
    // ends_with: the login shell's rc files may print to stderr first.
    assert!(
        text(&out.stderr).ends_with("err\n"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status, 3);

    let out = run(&conn, req("true")).await;
    assert_eq!(out, ExecOutput::default());

    // The script runs under /bin/sh (dash), whatever the login shell is.
    let out = run(&conn, req("readlink /proc/$$/exe")).await;
    assert_eq!(text(&out.stdout).trim(), "/usr/bin/dash");

    // Killed by a signal: 128 + n.
    let out = run(&conn, req("kill -TERM $$; sleep 5")).await;
    assert_eq!(out.status, 143);
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_one_mib_round_trip() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
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

    // No stdin: EOF right away.
    let out = run(&conn, req("wc -c")).await;
    assert_eq!(text(&out.stdout).trim(), "0");
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_five_mib() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
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
        "{}",
        out.stderr.len()
    );
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_execs_on_one_session() {
    let sshd = Sshd::start();
    let conn = Arc::new(sshd.connect().await);
    let dir = sshd.dir.path().display().to_string();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let conn = Arc::clone(&conn);
        let dir = dir.clone();
        tasks.push(tokio::spawn(async move {
            let script = format!(
                "s=$(date +%s.%N); sleep 0.2; echo \"$s $(date +%s.%N)\" > {dir}/span-{i}; echo task-{i}; echo e{i} >&2; exit {}",
                i % 7
            );
            conn.exec(req(&script)).await.map(|o| (i, o))
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        let (i, out) = match task.await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => panic!("exec failed: {e}\n{}", sshd.log()),
            Err(e) => panic!("task panicked: {e}"),
        };
        assert_eq!(text(&out.stdout), format!("task-{i}\n"));
        // The login shell's rc files may add noise to stderr (here: pyenv
        // in root's .bashrc racing with itself); the command's own output
        // comes last.
        assert!(
            text(&out.stderr).ends_with(&format!("e{i}\n")),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(out.status, i % 7);
        seen.insert(i);
    }
    assert_eq!(seen.len(), 50);
    // Concurrency is real: the commands' own start/end times on the host overlap.
    let spans: Vec<(f64, f64)> = (0..50)
        .filter_map(|i| std::fs::read_to_string(format!("{dir}/span-{i}")).ok())
        .filter_map(|t| {
            let mut it = t
                .split_whitespace()
                .map(|x| x.parse::<f64>().unwrap_or(f64::NAN));
            Some((it.next()?, it.next()?))
        })
        .collect();
    assert_eq!(spans.len(), 50);
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
    assert!(most >= 2, "the commands never overlapped: {most}");
    // One SSH connection only.
    let accepted = sshd.log().matches("Accepted publickey").count();
    assert_eq!(accepted, 1, "{}", sshd.log());
    if let Ok(conn) = Arc::try_unwrap(conn) {
        conn.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapts_to_a_low_max_sessions() {
    let sshd = Sshd::start_with(&["MaxSessions 2"], &[]);
    let conn = Arc::new(sshd.connect().await);
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
            Ok(Err(e)) => panic!("exec {i} failed: {e}"),
            Err(e) => panic!("task panicked: {e}"),
        }
    }
}

const HOSTILE: &str = "a'b\"c; $(touch /tmp/pwned-xyz) `x` \n";
const MARKER: &str = "/tmp/pwned-xyz";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_are_echoed_literally() {
    let _ = std::fs::remove_file(MARKER);
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
    let hostile = format!("{HOSTILE}\t~ * ? [a] {{b,c}} \\ ! # & | > < ( ) %s ''");

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
    assert!(!Path::new(MARKER).exists(), "injection created {MARKER}");
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn become_via_sudo_and_su() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
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
    let conn = sshd.connect().await;
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
    let postgres = Become::new("nobody", BecomeMethod::Sudo);
    let out = run(
        &conn,
        ExecRequest {
            env: &env,
            r#become: Some(&postgres),
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
    match Connection::connect_russh(&sshd.opts(HostKeyPolicy::Strict)).await {
        Err(e @ TransportError::HostKeyUnknown { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("--accept-new-host-keys"), "{msg}");
            assert!(msg.contains("ssh-keyscan"), "{msg}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_new_records_key_then_strict_reconnect_works() {
    let sshd = Sshd::start();
    // Missing file in a missing directory: both get created.
    let known_hosts = sshd.dir.path().join("ssh").join("known_hosts");
    let mut opts = sshd.opts(HostKeyPolicy::AcceptNew);
    opts.known_hosts = known_hosts.clone();
    let conn = match Connection::connect_russh(&opts).await {
        Ok(c) => c,
        Err(e) => panic!("AcceptNew failed: {e}"),
    };
    assert_eq!(text(&run(&conn, req("echo ok")).await.stdout), "ok\n");
    conn.close().await;

    let recorded = std::fs::read_to_string(&known_hosts).expect("known_hosts created");
    assert_eq!(recorded, sshd.known_hosts_line());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&known_hosts)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    opts.host_key_policy = HostKeyPolicy::Strict;
    let conn = match Connection::connect_russh(&opts).await {
        Ok(c) => c,
        Err(e) => panic!("strict reconnect failed: {e}"),
    };
    conn.close().await;
    // Accepting again does not duplicate the entry.
    opts.host_key_policy = HostKeyPolicy::AcceptNew;
    if let Ok(conn) = Connection::connect_russh(&opts).await {
        conn.close().await;
    }
    assert_eq!(std::fs::read_to_string(&known_hosts).ok(), Some(recorded));

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
    match Connection::connect_russh(&opts).await {
        Ok(conn) => conn.close().await,
        Err(e) => panic!("strict connect with hashed entry failed: {e}"),
    }
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
        match Connection::connect_russh(&sshd.opts(policy)).await {
            Err(e @ TransportError::HostKeyChanged { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("man-in-the-middle"), "{msg}");
                assert!(!e.is_unreachable());
                if let TransportError::HostKeyChanged {
                    line, fingerprint, ..
                } = e
                {
                    assert_eq!(line, 3);
                    assert_eq!(fingerprint, sshd.host_fingerprint());
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_key_type_recorded_counts_as_changed() {
    let sshd = Sshd::start();
    let other = other_public_key(sshd.dir.path(), "ecdsa");
    std::fs::write(
        sshd.known_hosts(),
        format!("[{ADDRESS}]:{} {other}\n", sshd.port),
    )
    .expect("known_hosts");
    match Connection::connect_russh(&sshd.opts(HostKeyPolicy::AcceptNew)).await {
        Err(TransportError::HostKeyChanged { line, .. }) => assert_eq!(line, 1),
        Err(e) => panic!("expected HostKeyChanged, got {e}"),
        Ok(_) => panic!("connected although a different key type is recorded"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_unreachable_quickly() {
    let sshd_dir = tempfile::tempdir().expect("tempdir");
    let opts = pgplay::transport::ConnectOptions {
        host: "pg-gone".into(),
        address: "127.0.55.9".into(),
        port: 2299,
        user: "root".into(),
        key_files: vec![],
        known_hosts: sshd_dir.path().join("known_hosts"),
        host_key_policy: HostKeyPolicy::Strict,
        connect_timeout: Duration::from_secs(10),
        use_agent: false,
        ..Default::default()
    };
    match Connection::connect_russh(&opts).await {
        Err(e @ TransportError::Unreachable { .. }) => {
            assert!(e.is_unreachable());
            assert!(e.to_string().contains("pg-gone"), "{e}");
        }
        Err(e) => panic!("expected Unreachable, got {e}"),
        Ok(_) => panic!("connected to a closed port"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out_as_unreachable() {
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
    let opts = pgplay::transport::ConnectOptions {
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
    match Connection::connect_russh(&opts).await {
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
    match Connection::connect_russh(&opts).await {
        Err(e @ TransportError::AuthFailed { .. }) => {
            assert!(!e.is_unreachable());
            let msg = e.to_string();
            assert!(msg.contains(&wrong.display().to_string()), "{msg}");
            assert!(msg.contains("rejected"), "{msg}");
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
    match Connection::connect_russh(&opts).await {
        Ok(conn) => {
            assert_eq!(text(&run(&conn, req("echo in")).await.stdout), "in\n");
            conn.close().await;
        }
        Err(e) => panic!("third key should have worked: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_key_and_passphrase_key() {
    let keys = tempfile::tempdir().expect("tempdir");
    let rsa = keygen(keys.path(), "id_rsa", "rsa", "");
    let locked = keygen(keys.path(), "id_locked", "ed25519", "secret passphrase");
    let sshd = Sshd::start_with(&[], &[&rsa, &locked]);
    sshd.trust_host_key();
    let mut opts = sshd.opts(HostKeyPolicy::Strict);
    opts.key_files = vec![rsa];
    match Connection::connect_russh(&opts).await {
        Ok(conn) => {
            assert_eq!(text(&run(&conn, req("echo rsa")).await.stdout), "rsa\n");
            conn.close().await;
        }
        Err(e) => panic!("RSA auth failed: {e}\n{}", sshd.log()),
    }
    assert!(sshd.log().contains("RSA"), "{}", sshd.log());

    opts.key_files = vec![locked];
    match Connection::connect_russh(&opts).await {
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
async fn lost_session_is_reported_as_unreachable() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
    // Kill the server process serving this session, mid-command (the script's parent is
    // the job wrapper shell; its parent is sshd's).
    match conn
        .exec(req("kill -9 $(ps -o ppid= -p $PPID); sleep 5"))
        .await
    {
        Err(e @ TransportError::Channel { .. }) => assert!(e.is_unreachable(), "{e}"),
        other => panic!("expected Channel error, got {other:?}"),
    }
    match conn.exec(req("echo again")).await {
        Err(e @ TransportError::Channel { .. }) => assert!(e.is_unreachable(), "{e}"),
        other => panic!("expected Channel error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_exec_frees_its_channel() {
    let sshd = Sshd::start_with(&["MaxSessions 2"], &[]);
    let conn = sshd.connect().await;
    // sshd keeps a session while its command runs; the abandoned commands
    // are stopped (their process group, over a fresh channel), which frees it.
    let forever = "while :; do echo tick; sleep 0.05; done";
    for _ in 0..4 {
        let r = tokio::time::timeout(Duration::from_millis(300), conn.exec(req(forever))).await;
        assert!(r.is_err(), "the endless command should have timed out");
    }
    let out = tokio::time::timeout(Duration::from_secs(10), conn.exec(req("echo free")))
        .await
        .expect("channel slots were not released");
    let out = out.unwrap_or_else(|e| panic!("exec: {e}\n{}", sshd.log()));
    assert_eq!(text(&out.stdout), "free\n");
}

/// Issue 9: an abandoned command (a task timeout, a second Ctrl-C) is stopped whole on the
/// host — a child it left in the background included — not left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_exec_stops_its_process_group() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
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
    assert!(!running, "the abandoned command's child {pid} still runs");
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_connection_behaves_the_same() {
    let _ = std::fs::remove_file(MARKER);
    let conn = Connection::local();
    let out = run(&conn, req("echo out; echo err >&2; exit 3")).await;
    assert_eq!(
        (text(&out.stdout), text(&out.stderr), out.status),
        ("out\n".into(), "err\n".into(), 3)
    );

    let data = payload((1 << 20) + 99);
    let out = run(
        &conn,
        ExecRequest {
            stdin: Some(&data),
            ..req("cat")
        },
    )
    .await;
    assert!(out.stdout == data);
    let out = run(
        &conn,
        ExecRequest {
            stdin: Some(&data),
            ..req("sha256sum")
        },
    )
    .await;
    assert_eq!(
        text(&out.stdout).split_whitespace().next(),
        Some(&*hex::encode(Sha256::digest(&data)))
    );

    let out = run(&conn, req(&format!("printf '%s' {}", quote(HOSTILE)))).await;
    assert_eq!(text(&out.stdout), HOSTILE);
    assert!(!Path::new(MARKER).exists());

    let env = vec![("PGPORT".to_owned(), "5432 x".to_owned())];
    for method in [BecomeMethod::Sudo, BecomeMethod::Su] {
        let nobody = Become::new("nobody", method);
        let out = run(
            &conn,
            ExecRequest {
                r#become: Some(&nobody),
                env: &env,
                ..req("id -un; printf '%s' \"$PGPORT\"")
            },
        )
        .await;
        assert_eq!(text(&out.stdout), "nobody\n5432 x", "{}", text(&out.stderr));
    }

    let out = run(&conn, req("kill -TERM $$")).await;
    assert_eq!(out.status, 143);
    let out = run(&conn, req(&format!("head -c {} /dev/zero", 5 << 20))).await;
    assert_eq!(out.stdout.len(), 5 << 20);

    let bad = vec![("1X".to_owned(), String::new())];
    assert!(matches!(
        conn.exec(ExecRequest {
            env: &bad,
            ..req("true")
        })
        .await,
        Err(TransportError::Channel { .. })
    ));
    conn.close().await;
}
