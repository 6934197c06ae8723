//! Passwords and jump hosts against real sshd, on both SSH transports.
//!
//! Password logins need a user with a password: each test's sshd runs in its own mount
//! namespace with a private overlay `/etc` (see `Sshd::start_private`), where a user
//! `pgtest` gets one and a sudoers rule that asks for it; this machine's `/etc` is never
//! touched. Covered: russh password and keyboard-interactive login, the openssh transport's
//! password through pgplay's askpass program (never in argv), sudo and su with a become
//! password (right: runs as root with the task's stdin intact; wrong: a clear failure within
//! a bound, never a hang), and russh through a jump host (the jump sshd's own log shows the
//! forwarded connection to the target).

mod common;

use std::time::{Duration, Instant};

use common::{password_user, Sshd, ADDRESS};
use pgplay::transport::openssh::OpensshConnection;
use pgplay::transport::{
    Become, BecomeMethod, ConnectOptions, Connection, ExecOutput, ExecRequest, HostKeyPolicy,
    JumpHost, Secret, TransportError,
};

const PASSWORD: &str = "pgtest-Secr3t-pw";
const ROOT_PASSWORD: &str = "root-Secr3t-pw";

fn req(script: &str) -> ExecRequest<'_> {
    ExecRequest {
        script,
        stdin: None,
        r#become: None,
        env: &[],
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn run(conn: &Connection, r: ExecRequest<'_>) -> ExecOutput {
    match conn.exec(r).await {
        Ok(out) => out,
        Err(e) => panic!("exec failed: {e}"),
    }
}

/// An sshd whose `pgtest` logs in with `PASSWORD` (root's su password is `ROOT_PASSWORD`).
fn password_sshd(extra: &[&str]) -> Sshd {
    let mut config = vec!["PasswordAuthentication yes"];
    config.extend_from_slice(extra);
    let setup = format!(
        "{}\nprintf '%s\\n' 'root:{ROOT_PASSWORD}' | chpasswd",
        password_user(PASSWORD)
    );
    let sshd = Sshd::start_private(&config, &setup);
    sshd.trust_host_key();
    sshd
}

/// Login as `pgtest` with a password only (no key, no agent).
fn password_opts(sshd: &Sshd, password: &str) -> ConnectOptions {
    ConnectOptions {
        user: "pgtest".into(),
        key_files: vec![],
        password: Some(Secret::new(password)),
        askpass_program: Some(env!("CARGO_BIN_EXE_pgplay").into()),
        ..sshd.opts(HostKeyPolicy::Strict)
    }
}

fn sudo(password: &str) -> Become {
    let mut b = Become::new("root", BecomeMethod::Sudo);
    b.password = Some(Secret::new(password));
    b
}

fn su(password: &str) -> Become {
    let mut b = Become::new("root", BecomeMethod::Su);
    b.password = Some(Secret::new(password));
    b
}

async fn connect_both(sshd: &Sshd, opts: &ConnectOptions) -> Vec<(&'static str, Connection)> {
    let russh = Connection::connect_russh(opts)
        .await
        .unwrap_or_else(|e| panic!("russh password login: {e}\n{}", sshd.log()));
    let openssh = Connection::connect_openssh(opts, false)
        .await
        .unwrap_or_else(|e| panic!("openssh password login: {e}\n{}", sshd.log()));
    vec![("russh", russh), ("openssh", openssh)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_login_on_both_transports() {
    common::require_ssh_client();
    let sshd = password_sshd(&[]);
    for (name, conn) in connect_both(&sshd, &password_opts(&sshd, PASSWORD)).await {
        let out = run(&conn, req("id -un")).await;
        assert_eq!(text(&out.stdout), "pgtest\n", "{name}");
        conn.close().await;
    }
    assert!(sshd.log().matches("Accepted password for pgtest").count() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_login_password_is_a_clear_auth_failure() {
    common::require_ssh_client();
    let sshd = password_sshd(&[]);
    let opts = password_opts(&sshd, "not-the-Secr3t");
    let russh = Connection::connect_russh(&opts).await.err();
    let openssh = Connection::connect_openssh(&opts, false).await.err();
    for (name, e) in [("russh", russh), ("openssh", openssh)] {
        match e {
            Some(e @ TransportError::AuthFailed { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("password: rejected"), "{name}: {msg}");
                assert!(msg.contains("\"pgtest\""), "{name}: {msg}");
                assert!(!msg.contains("not-the-Secr3t"), "{name}: {msg}");
                assert!(!e.is_unreachable(), "{name}");
            }
            Some(e) => panic!("{name}: expected AuthFailed, got {e}"),
            None => panic!("{name}: logged in with a wrong password"),
        }
    }
    // A server that takes no passwords: said, not tried.
    let keys_only = Sshd::start_private(&[], &password_user(PASSWORD));
    keys_only.trust_host_key();
    let opts = password_opts(&keys_only, PASSWORD);
    match Connection::connect_russh(&opts).await {
        Err(e) => assert!(e.to_string().contains("password (not tried"), "{e}"),
        Ok(_) => panic!("logged in although the server takes no passwords"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn russh_answers_keyboard_interactive_password_prompts() {
    let sshd = password_sshd(&[
        "UsePAM yes",
        "KbdInteractiveAuthentication yes",
        "PasswordAuthentication no",
    ]);
    let opts = password_opts(&sshd, PASSWORD);
    let conn = Connection::connect_russh(&opts)
        .await
        .unwrap_or_else(|e| panic!("keyboard-interactive: {e}\n{}", sshd.log()));
    assert_eq!(text(&run(&conn, req("id -un")).await.stdout), "pgtest\n");
    conn.close().await;
    assert!(
        sshd.log()
            .contains("Accepted keyboard-interactive/pam for pgtest"),
        "{}",
        sshd.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_password_is_never_in_argv_and_the_file_is_gone() {
    common::require_ssh_client();
    let sshd = password_sshd(&[]);
    let conn = OpensshConnection::connect(&password_opts(&sshd, PASSWORD), false)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    let pid = conn.master_pid().unwrap_or(0);
    let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(!argv.is_empty(), "no argv for the master {pid}");
    assert!(!text(&argv).contains(PASSWORD), "{}", text(&argv));
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    assert!(!text(&environ).contains(PASSWORD));
    let dir = conn.control_socket().parent().map(|d| d.join("askpass"));
    assert!(
        dir.is_some_and(|f| !f.exists()),
        "the password file is left"
    );
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_with_a_become_password() {
    common::require_ssh_client();
    let sshd = password_sshd(&[]);
    for (name, conn) in connect_both(&sshd, &password_opts(&sshd, PASSWORD)).await {
        // Right: root, and the task's stdin reaches the script untouched.
        let data = b"line one\nline two\n".to_vec();
        let right = sudo(PASSWORD);
        let out = run(
            &conn,
            ExecRequest {
                r#become: Some(&right),
                stdin: Some(&data),
                ..req("id -un; cat")
            },
        )
        .await;
        assert_eq!(
            text(&out.stdout),
            "root\nline one\nline two\n",
            "{name}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).contains("pgplay-sudo"), "{name}");
        // Wrong: a clear failure, quickly, the task's stdin never offered as a guess.
        let wrong = sudo("not-the-Secr3t");
        let started = Instant::now();
        let e = conn
            .exec(ExecRequest {
                r#become: Some(&wrong),
                stdin: Some(&data),
                ..req("id -un")
            })
            .await;
        let took = started.elapsed();
        match e {
            Err(e @ TransportError::Become { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("sudo: incorrect password for pgtest"),
                    "{name}: {msg}"
                );
                assert!(!msg.contains("Secr3t"), "{name}: {msg}");
                assert!(e.is_task_failure() && !e.is_unreachable(), "{name}");
            }
            Err(e) => panic!("{name}: expected a become failure, got {e}"),
            Ok(out) => panic!("{name}: ran with a wrong password: {out:?}"),
        }
        assert!(took < Duration::from_secs(15), "{name}: took {took:?}");
        // The session is still usable.
        let out = run(&conn, req("echo still")).await;
        assert_eq!(text(&out.stdout), "still\n", "{name}");
        conn.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn su_with_a_become_password() {
    common::require_ssh_client();
    let sshd = password_sshd(&[]);
    for (name, conn) in connect_both(&sshd, &password_opts(&sshd, PASSWORD)).await {
        let data = b"fed\n".to_vec();
        let right = su(ROOT_PASSWORD);
        let out = run(
            &conn,
            ExecRequest {
                r#become: Some(&right),
                stdin: Some(&data),
                ..req("id -un; cat; echo \"LC_ALL=${LC_ALL-unset}\"")
            },
        )
        .await;
        assert_eq!(
            text(&out.stdout),
            "root\nfed\nLC_ALL=unset\n",
            "{name}: {}",
            text(&out.stderr)
        );
        let wrong = su("not-the-Secr3t");
        match conn
            .exec(ExecRequest {
                r#become: Some(&wrong),
                ..req("id -un")
            })
            .await
        {
            Err(e @ TransportError::Become { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("su: incorrect password for root"), "{msg}");
                assert!(msg.contains("Authentication failure"), "{msg}");
            }
            Err(e) => panic!("{name}: expected a become failure, got {e}"),
            Ok(out) => panic!("{name}: su ran with a wrong password: {out:?}"),
        }
        conn.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn russh_through_a_jump_host() {
    let target = Sshd::start();
    // The jump sshd logs the forwarded connections it opens (debug1).
    let jump = Sshd::start_with(&["LogLevel DEBUG1"], &[&target.client_key]);
    target.trust_host_key();
    std::fs::write(
        target.known_hosts(),
        format!("{}{}", target.known_hosts_line(), jump.known_hosts_line()),
    )
    .expect("known_hosts");
    let hop = JumpHost {
        user: Some("root".into()),
        host: ADDRESS.into(),
        port: jump.port,
    };
    let opts = ConnectOptions {
        jump: vec![hop.clone()],
        ..target.opts(HostKeyPolicy::Strict)
    };
    let conn = Connection::connect_russh(&opts)
        .await
        .unwrap_or_else(|e| panic!("through the jump host: {e}\n{}", jump.log()));
    let out = run(&conn, req("id -un")).await;
    assert_eq!(text(&out.stdout), "root\n");
    conn.close().await;
    let forwarded = format!("target {ADDRESS} port {}", target.port);
    assert!(
        jump.log().contains(&forwarded),
        "the jump host did not forward: {}",
        jump.log()
    );

    // A jump host that cannot reach the target: said, naming the jump host.
    let closed = ConnectOptions {
        port: common::CLOSED_PORT,
        ..opts.clone()
    };
    match Connection::connect_russh(&closed).await {
        Err(e @ TransportError::Unreachable { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("the jump host root@{ADDRESS}:{}", jump.port)),
                "{msg}"
            );
        }
        Err(e) => panic!("expected Unreachable, got {e}"),
        Ok(_) => panic!("connected to a closed port"),
    }
    // The jump host's key is checked like any other.
    target.trust_host_key();
    std::fs::write(target.known_hosts(), target.known_hosts_line()).expect("known_hosts");
    match Connection::connect_russh(&opts).await {
        Err(TransportError::HostKeyUnknown { host, .. }) => {
            assert!(host.contains("jump host"), "{host}")
        }
        Err(e) => panic!("expected HostKeyUnknown for the jump host, got {e}"),
        Ok(_) => panic!("connected through a jump host whose key is unknown"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn russh_through_a_chain_of_jump_hosts() {
    let target = Sshd::start();
    let second = Sshd::start_with(&["LogLevel DEBUG1"], &[&target.client_key]);
    let first = Sshd::start_with(&["LogLevel DEBUG1"], &[&target.client_key]);
    std::fs::write(
        target.known_hosts(),
        format!(
            "{}{}{}",
            target.known_hosts_line(),
            first.known_hosts_line(),
            second.known_hosts_line()
        ),
    )
    .expect("known_hosts");
    let hop = |port| JumpHost {
        user: Some("root".into()),
        host: ADDRESS.into(),
        port,
    };
    let opts = ConnectOptions {
        jump: vec![hop(first.port), hop(second.port)],
        ..target.opts(HostKeyPolicy::Strict)
    };
    let conn = Connection::connect_russh(&opts)
        .await
        .unwrap_or_else(|e| panic!("through two jump hosts: {e}"));
    assert_eq!(text(&run(&conn, req("id -un")).await.stdout), "root\n");
    conn.close().await;
    // first forwards to second, second to the target.
    assert!(first
        .log()
        .contains(&format!("target {ADDRESS} port {}", second.port)));
    assert!(second
        .log()
        .contains(&format!("target {ADDRESS} port {}", target.port)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_become_password_sudo_does_not_ask_for_is_not_in_the_way() {
    common::require_ssh_client();
    // Logged in as root, sudo never asks: the script starts at once, stdin intact.
    let sshd = Sshd::start();
    sshd.trust_host_key();
    let opts = sshd.opts(HostKeyPolicy::Strict);
    let mut nobody = Become::new("nobody", BecomeMethod::Sudo);
    nobody.password = Some(Secret::new("never-asked"));
    for conn in [
        Connection::connect_russh(&opts).await,
        Connection::connect_openssh(&opts, false).await,
    ] {
        let conn = conn.unwrap_or_else(|e| panic!("{e}"));
        let data = b"input\n".to_vec();
        let out = run(
            &conn,
            ExecRequest {
                r#become: Some(&nobody),
                stdin: Some(&data),
                ..req("id -un; cat")
            },
        )
        .await;
        assert_eq!(
            text(&out.stdout),
            "nobody\ninput\n",
            "{}",
            text(&out.stderr)
        );
        conn.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_takes_the_inventory_ssh_options() {
    common::require_ssh_client();
    let target = Sshd::start();
    let jump = Sshd::start_with(&["LogLevel DEBUG1"], &[&target.client_key]);
    std::fs::write(
        target.known_hosts(),
        format!("{}{}", target.known_hosts_line(), jump.known_hosts_line()),
    )
    .expect("known_hosts");
    // ssh runs the jump itself, reading only its configuration (-F) for it.
    let config = target.dir.path().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
             StrictHostKeyChecking yes\n  BatchMode yes\n",
            target.client_key.display(),
            target.known_hosts().display()
        ),
    )
    .expect("ssh_config");
    let opts = ConnectOptions {
        ssh_args: vec![
            "-o".into(),
            format!("ProxyJump=root@{ADDRESS}:{}", jump.port),
        ],
        ..target.opts(HostKeyPolicy::Strict)
    };
    let conn = OpensshConnection::connect_with_config(&opts, false, Some(&config))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", jump.log()));
    let out = conn.exec(req("id -un")).await.map(|o| o.stdout);
    assert_eq!(out.ok().map(|o| text(&o)), Some("root\n".to_string()));
    conn.close().await;
    assert!(
        jump.log()
            .contains(&format!("target {ADDRESS} port {}", target.port)),
        "{}",
        jump.log()
    );
    // ansible_ssh_executable: the program run.
    let missing = ConnectOptions {
        ssh_program: Some("/nonexistent/ssh".into()),
        ..opts
    };
    match OpensshConnection::connect_with_config(&missing, false, Some(&config)).await {
        Err(e) => assert!(
            e.to_string().contains("cannot run `/nonexistent/ssh`"),
            "{e}"
        ),
        Ok(_) => panic!("connected without the ssh program"),
    }
}
