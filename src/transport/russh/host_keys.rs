//! Host key verification for the russh transport, as OpenSSH does it.
//!
//! The server key is checked against the configured known_hosts file (plain, `[addr]:port`
//! and hashed `|1|` entries); unknown keys are only recorded with
//! [`HostKeyPolicy::AcceptNew`], and a changed or `@revoked` key is always refused. russh
//! itself only reports a generic "unknown key", so the precise verdict is kept for the caller.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ::russh::client;
use ::russh::keys::known_hosts::known_host_keys_path;
use ::russh::keys::{parse_public_key_base64, HashAlg, PublicKey, PublicKeyOrCertificate};

use crate::transport::{ChannelFault, HostKeyPolicy, TransportError};

/// Serialises known_hosts appends between concurrent connects in this process.
static KNOWN_HOSTS_LOCK: Mutex<()> = Mutex::new(());

/// The russh client handler: only host key verification is customised.
pub struct Client {
    pub(super) check: HostKeyCheck,
    /// Why the host key was refused; russh itself only reports a generic
    /// "unknown key" error, so `connect` picks the precise one up from here.
    pub(super) verdict: Arc<Mutex<Option<TransportError>>>,
}

impl client::Handler for Client {
    type Error = ::russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let result = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.check.verify(key),
            PublicKeyOrCertificate::Certificate(_) => Err(TransportError::channel(
                &self.check.host,
                ChannelFault::Setup,
                "the server presented a host certificate; only host keys listed in \
                 known_hosts are supported",
            )),
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
pub(super) struct HostKeyCheck {
    pub(super) host: String,
    pub(super) address: String,
    pub(super) port: u16,
    pub(super) known_hosts: PathBuf,
    pub(super) policy: HostKeyPolicy,
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
        let reason = format!("{reason} ({})", self.known_hosts.display());
        TransportError::channel(&self.host, ChannelFault::Setup, reason)
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
