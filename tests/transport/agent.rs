//! ssh-agent authentication against a real sshd.
//!
//! Kept in its own test binary because the transport reads `SSH_AUTH_SOCK`
//! from the process environment, which this test has to set; no other test
//! runs in this process while it does.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{keygen, Sshd};
use pgplay::transport::{Connection, ExecRequest, HostKeyPolicy, TransportError};

/// A private ssh-agent; killed (by its own handle) and reaped on drop.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_agent(sock: &Path) -> Agent {
    let child = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(sock)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ssh-agent");
    let agent = Agent(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    agent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_key_via_agent() {
    let keys = tempfile::tempdir().expect("tempdir");
    let passphrase = "correct horse";
    let locked = keygen(keys.path(), "id_locked", "ed25519", passphrase);
    let sshd = Sshd::start_with(&[], &[&locked]);
    sshd.trust_host_key();

    let sock = keys.path().join("agent.sock");
    let _agent = start_agent(&sock);
    // ssh-add asks for the passphrase through SSH_ASKPASS.
    let askpass = keys.path().join("askpass.sh");
    std::fs::write(&askpass, format!("#!/bin/sh\necho '{passphrase}'\n")).expect("askpass");
    std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    common::run(
        Command::new("ssh-add")
            .arg(&locked)
            .env("SSH_AUTH_SOCK", &sock)
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0"),
    );

    let mut opts = sshd.opts(HostKeyPolicy::Strict);
    opts.key_files = vec![locked.clone()];
    opts.use_agent = true;

    // This is the only test in this binary, so no other thread reads the
    // environment meanwhile. (`unsafe` is required from edition 2024 on.)
    #[allow(unused_unsafe)]
    unsafe {
        std::env::remove_var("SSH_AUTH_SOCK");
    }
    match Connection::connect_russh(&opts).await {
        Err(e @ TransportError::AuthFailed { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("passphrase"), "{msg}");
            assert!(msg.contains("SSH_AUTH_SOCK is not set"), "{msg}");
        }
        Err(e) => panic!("expected AuthFailed, got {e}"),
        Ok(_) => panic!("authenticated without the agent"),
    }

    #[allow(unused_unsafe)]
    unsafe {
        std::env::set_var("SSH_AUTH_SOCK", &sock);
    }
    let conn = match Connection::connect_russh(&opts).await {
        Ok(c) => c,
        Err(e) => panic!("agent auth failed: {e}\n{}", sshd.log()),
    };
    let out = conn
        .exec(ExecRequest {
            script: "echo via-agent",
            stdin: None,
            r#become: None,
            env: &[],
        })
        .await
        .expect("exec");
    assert_eq!(out.stdout, b"via-agent\n");
    conn.close().await;
}
