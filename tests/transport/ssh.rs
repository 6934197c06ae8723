//! The russh transport against a real OpenSSH server, and the local transport.
//!
//! The transport contract (`contract.rs`: output and status, large stdin/stdout, concurrency,
//! quoting, become, environment, known_hosts policies, unreachable hosts, refused logins, a
//! lost session, abandoned commands) runs here over russh, and over OpenSSH in
//! `transport_openssh`. Kept here: what only russh does (the known_hosts line it writes
//! itself) and the same contract on the local transport. sshd must be installed: the tests
//! fail, not skip, without it.

mod common;
#[macro_use]
mod contract;

use std::path::Path;

use contract::{payload, req, run, text, Kind};
use pgplay::transport::{
    quote, Become, BecomeMethod, Connection, ExecRequest, HostKeyPolicy, TransportError,
};
use sha2::{Digest, Sha256};

use common::Sshd;

contract_tests!(Kind::Russh);

const HOSTILE: &str = "a'b\"c; $(touch /tmp/pwned-xyz) `x` \n";
const MARKER: &str = "/tmp/pwned-xyz";

#[test]
fn connection_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Connection>();
    check::<TransportError>();
}

/// russh records an accepted key itself, in the line OpenSSH would write (so ssh and pgplay
/// share one known_hosts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_new_writes_the_line_openssh_writes() {
    let sshd = Sshd::start();
    let known_hosts = sshd.dir.path().join("ssh").join("known_hosts");
    let mut opts = sshd.opts(HostKeyPolicy::AcceptNew);
    opts.known_hosts = known_hosts.clone();
    match Connection::connect_russh(&opts).await {
        Ok(conn) => conn.close().await,
        Err(e) => panic!("AcceptNew failed: {e}"),
    }
    let recorded = std::fs::read_to_string(&known_hosts).expect("known_hosts created");
    assert_eq!(recorded, sshd.known_hosts_line());
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
