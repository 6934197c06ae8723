//! The OpenSSH transport (the system's `ssh`, one multiplexing master per host) against a
//! real sshd.
//!
//! The transport contract (`contract.rs`) runs here over OpenSSH, as it does over russh in
//! `transport`. Kept here: what only this transport has — `~/.ssh/config` deciding user, port,
//! keys and ProxyJump, and the master process (its control socket, and that no master
//! outlives its connection). Each test starts its own sshd from the shared harness
//! (tests/transport/common), owned by a guard that kills and reaps exactly that child on drop.
//! ssh and sshd must be installed: the tests fail, not skip, without them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
#[macro_use]
mod contract;

use common::{Sshd, ADDRESS};
use contract::{count_processes, req, text, Kind};
use pgplay::transport::openssh::OpensshConnection;
use pgplay::transport::{
    ConnectOptions, Connection, ExecOutput, ExecRequest, HostKeyPolicy, TransportError,
};

contract_tests!(Kind::Openssh);

async fn run(conn: &OpensshConnection, r: ExecRequest<'_>) -> ExecOutput {
    match conn.exec(r).await {
        Ok(out) => out,
        Err(e) => panic!("exec failed: {e}"),
    }
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
    // The effective login user (ssh's configuration applied; here the inventory's).
    assert_eq!(conn.user(), "root");
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

async fn wait_log(sshd: &Sshd, needle: &str) -> bool {
    for _ in 0..100 {
        if sshd.log().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A command that never writes is ended only by the stop pgplay sends when it is abandoned;
/// the stop runs over one more session of the master's own limit, so it frees the session even
/// when the server's `MaxSessions` is as low as 2. (russh opens its stop channel outside its
/// channel limit: with every server session held by abandoned commands that channel is refused,
/// and the command runs on until it ends; with sshd's default limit of 10 above russh's 8
/// there is always one, see the contract's `abandoned_exec_stops_its_process_group`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_silent_exec_is_stopped_and_frees_its_session() {
    let sshd = Sshd::start_with(&["MaxSessions 2"], &[]);
    let conn = sshd.connect_openssh().await;
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
