//! Test harness: a private, throw-away OpenSSH server on a loopback address.
//!
//! The transport is tested against the real sshd that Pigsty hosts run, not
//! a mock: each test gets its own sshd (own host key, client key,
//! authorized_keys and known_hosts in a temp dir) listening on 127.0.55.1
//! with a port from 2200-2298. The sshd process is owned by the [`Sshd`]
//! guard, which kills and reaps exactly that child when dropped.

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use pgplay::transport::{ConnectOptions, HostKeyPolicy};

pub const SSHD: &str = "/usr/sbin/sshd";
pub const ADDRESS: &str = "127.0.55.1";
const FIRST_PORT: u16 = 2200;
const LAST_PORT: u16 = 2298;
/// Never listened on by these tests.
pub const CLOSED_PORT: u16 = 2299;

static NEXT_PORT: AtomicU16 = AtomicU16::new(FIRST_PORT);

/// A running sshd; killed (by its own handle) and reaped on drop.
pub struct Sshd {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// Client key listed in authorized_keys.
    pub client_key: PathBuf,
    /// `ssh-ed25519 AAAA...` of the server's host key.
    pub host_pub: String,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run a command to completion, panicking with its output on failure.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The OpenSSH client must be there (the openssh transport runs it).
pub fn require_ssh_client() {
    let out = Command::new("ssh")
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("`ssh` is missing: install openssh-client ({e})"));
    assert!(out.status.success(), "`ssh -V` failed");
}

/// Generate an unencrypted (or `passphrase`-protected) key pair; returns the
/// private key path (public key at `<path>.pub`).
pub fn keygen(dir: &Path, name: &str, kind: &str, passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", passphrase, "-C", name, "-f"])
        .arg(&path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    run(&mut cmd);
    path
}

pub fn read_pub(private: &Path) -> String {
    let mut p = private.as_os_str().to_owned();
    p.push(".pub");
    std::fs::read_to_string(PathBuf::from(p)).expect("public key readable")
}

impl Sshd {
    pub fn start() -> Sshd {
        Sshd::start_with(&[], &[])
    }

    /// Start sshd with `extra_config` lines appended to sshd_config and the
    /// public keys of `extra_authorized` (private key paths) authorized too.
    pub fn start_with(extra_config: &[&str], extra_authorized: &[&Path]) -> Sshd {
        Sshd::start_inner(extra_config, extra_authorized, None)
    }

    /// Start sshd in its own mount namespace whose `/etc` is a private overlay, after running
    /// `setup` (a /bin/sh script) there: users, passwords and sudoers rules for a test,
    /// never touching this machine's own `/etc`.
    pub fn start_private(extra_config: &[&str], setup: &str) -> Sshd {
        Sshd::start_inner(extra_config, &[], Some(setup))
    }

    fn start_inner(extra_config: &[&str], extra_authorized: &[&Path], setup: Option<&str>) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (these tests need a real sshd)"
        );
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = tempfile::tempdir().expect("tempdir");
        let host_key = keygen(dir.path(), "host_ed25519", "ed25519", "");
        let client_key = keygen(dir.path(), "id_ed25519", "ed25519", "");
        let mut authorized = read_pub(&client_key);
        for key in extra_authorized {
            authorized.push_str(&read_pub(key));
        }
        std::fs::write(dir.path().join("authorized_keys"), authorized).expect("authorized_keys");
        let host_pub = read_pub(&host_key);
        let host_pub = host_pub
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");

        for _ in 0..5 {
            let port = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
            assert!(port <= LAST_PORT, "ran out of test ports");
            let config = dir.path().join("sshd_config");
            // sshd uses the first value given for a keyword: extras go first.
            let mut text = String::new();
            for line in extra_config {
                text.push_str(line);
                text.push('\n');
            }
            text.push_str(&format!(
                "ListenAddress {ADDRESS}:{port}\n\
                 HostKey {host}\n\
                 AuthorizedKeysFile {dir}/authorized_keys\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n\
                 PidFile {dir}/sshd.pid\n\
                 LogLevel VERBOSE\n",
                host = host_key.display(),
                dir = dir.path().display(),
            ));
            std::fs::write(&config, text).expect("sshd_config");
            let log = std::fs::File::create(dir.path().join("sshd.log")).expect("sshd.log");
            let mut command = match setup {
                None => {
                    let mut c = Command::new(SSHD);
                    c.arg("-D").arg("-e").arg("-f").arg(&config);
                    c
                }
                Some(setup) => private_etc(dir.path(), &config, setup),
            };
            let mut child = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn sshd");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    // Most likely the port is taken: try the next one.
                    break;
                }
                if TcpStream::connect((ADDRESS, port)).is_ok() {
                    return Sshd {
                        child,
                        dir,
                        port,
                        client_key,
                        host_pub,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("sshd did not listen on {ADDRESS}:{port}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!(
                "sshd on port {port} exited early: {}",
                std::fs::read_to_string(dir.path().join("sshd.log")).unwrap_or_default()
            );
        }
        panic!("could not start sshd");
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// known_hosts line for this server's real host key.
    pub fn known_hosts_line(&self) -> String {
        format!("[{ADDRESS}]:{} {}\n", self.port, self.host_pub)
    }

    pub fn trust_host_key(&self) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.known_hosts())
            .expect("known_hosts");
        f.write_all(self.known_hosts_line().as_bytes())
            .expect("write known_hosts");
    }

    /// SHA256 fingerprint of the host key as `ssh-keygen -l` prints it.
    pub fn host_fingerprint(&self) -> String {
        let out = run(Command::new("ssh-keygen")
            .arg("-l")
            .arg("-E")
            .arg("sha256")
            .arg("-f")
            .arg(self.dir.path().join("host_ed25519.pub")));
        out.split_whitespace()
            .nth(1)
            .expect("fingerprint field")
            .to_owned()
    }

    pub fn opts(&self, policy: HostKeyPolicy) -> ConnectOptions {
        ConnectOptions {
            host: "pg-test".into(),
            address: ADDRESS.into(),
            port: self.port,
            user: "root".into(),
            key_files: vec![self.client_key.clone()],
            known_hosts: self.known_hosts(),
            host_key_policy: policy,
            connect_timeout: Duration::from_secs(10),
            use_agent: false,
            ..Default::default()
        }
    }

    /// Trust the host key and connect strictly with inventory options, over OpenSSH.
    pub async fn connect_openssh(&self) -> pgplay::transport::openssh::OpensshConnection {
        require_ssh_client();
        self.trust_host_key();
        match pgplay::transport::openssh::OpensshConnection::connect(
            &self.opts(HostKeyPolicy::Strict),
            false,
        )
        .await
        {
            Ok(c) => c,
            Err(e) => panic!("connect: {e}\nsshd log:\n{}", self.log()),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

/// `unshare -m` + an overlay `/etc` (upper in `dir`), `setup`, then `exec sshd` (same pid:
/// dropping the [`Sshd`] kills sshd itself).
fn private_etc(dir: &Path, config: &Path, setup: &str) -> Command {
    let upper = dir.join("etc-upper");
    let work = dir.join("etc-work");
    std::fs::create_dir_all(&upper).expect("etc upper");
    std::fs::create_dir_all(&work).expect("etc work");
    let script = format!(
        "set -e\nmount -t overlay overlay -o lowerdir=/etc,upperdir={},workdir={},redirect_dir=on /etc\n{setup}\nexec {SSHD} -D -e -f {}",
        upper.display(),
        work.display(),
        config.display()
    );
    let mut c = Command::new("unshare");
    c.args([
        "-m",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    c
}

/// A user `pgtest` with `password` (and sudo rights that need it) inside a private-/etc sshd.
pub fn password_user(password: &str) -> String {
    format!(
        "useradd -M -d /tmp -s /bin/sh pgtest\n\
         printf '%s\\n' 'pgtest:{password}' | chpasswd\n\
         printf 'pgtest ALL=(ALL) ALL\\n' > /etc/sudoers.d/pgtest\n\
         chmod 0440 /etc/sudoers.d/pgtest\n\
         printf 'Defaults:pgtest !lecture\\n' >> /etc/sudoers.d/pgtest"
    )
}
