//! Client authentication for the russh transport, in OpenSSH's order.
//!
//! Public keys first (the key files in order, then the ssh-agent's keys), then, when the
//! inventory gives a password (`ansible_password`, `-k`), keyboard-interactive (answering the
//! server's password prompt; servers with `UsePAM yes` often offer only this) and password
//! authentication, each only if the server still offers it. What was tried is reported when
//! nothing worked — never the password itself.

use std::sync::Arc;

use ::russh::client::{AuthResult, Handle, KeyboardInteractiveAuthResponse};
use ::russh::keys::agent::client::AgentClient;
use ::russh::keys::agent::AgentIdentity;
use ::russh::keys::{load_secret_key, HashAlg, PrivateKeyWithHashAlg};
use ::russh::{MethodKind, MethodSet};

use super::host_keys::Client;
use crate::transport::{expand_tilde, ConnectOptions, Secret, TransportError};

/// Rounds of keyboard-interactive questions answered before giving up.
const KBD_ROUNDS: usize = 4;

/// What was tried so far, and what the server said it still accepts.
struct Attempts {
    tried: Vec<String>,
    /// From the last failure; `None` until the server said.
    methods: Option<MethodSet>,
    rsa_hash: Option<Option<HashAlg>>,
}

impl Attempts {
    fn failed(&mut self, label: String, result: Result<AuthResult, String>) -> bool {
        match result {
            Ok(AuthResult::Success) => return true,
            Ok(AuthResult::Failure {
                remaining_methods, ..
            }) => {
                self.tried.push(format!("{label}: rejected"));
                self.methods = Some(remaining_methods);
            }
            Err(e) => self.tried.push(format!("{label}: error: {e}")),
        }
        false
    }

    fn offered(&self, kind: MethodKind) -> bool {
        self.methods.as_ref().is_none_or(|m| m.contains(&kind))
    }
}

/// Keys, agent, then the password; an error listing what was tried.
pub(super) async fn authenticate(
    handle: &mut Handle<Client>,
    opts: &ConnectOptions,
) -> Result<(), TransportError> {
    let mut at = Attempts {
        tried: Vec::new(),
        methods: None,
        rsa_hash: None,
    };
    if key_files(handle, opts, &mut at).await? {
        return Ok(());
    }
    if opts.use_agent {
        if std::env::var_os("SSH_AUTH_SOCK").is_none() {
            at.tried.push("ssh-agent (SSH_AUTH_SOCK is not set)".into());
        } else if agent_auth(handle, opts, &mut at).await {
            return Ok(());
        }
    }
    if let Some(password) = opts.password.as_ref() {
        if password_auth(handle, opts, password, &mut at).await {
            return Ok(());
        }
    }
    Err(auth_failed(opts, at.tried))
}

async fn key_files(
    handle: &mut Handle<Client>,
    opts: &ConnectOptions,
    at: &mut Attempts,
) -> Result<bool, TransportError> {
    for path in &opts.key_files {
        let path = expand_tilde(path);
        let label = path.display().to_string();
        let key = match load_secret_key(&path, None) {
            Ok(key) => key,
            Err(::russh::keys::Error::KeyIsEncrypted) => {
                at.tried.push(format!(
                    "{label} (skipped: protected by a passphrase, which pgplay cannot ask for; \
                     load it into ssh-agent with `ssh-add {label}` and use the agent)"
                ));
                continue;
            }
            Err(e) => {
                at.tried.push(format!("{label} (unusable: {e})"));
                continue;
            }
        };
        let hash = if key.algorithm().is_rsa() {
            best_rsa_hash(handle, &mut at.rsa_hash).await
        } else {
            None
        };
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
        let label = format!("{label} ({})", key.algorithm().as_str());
        let result = handle
            .authenticate_publickey(opts.user.as_str(), key)
            .await
            .map_err(|e| e.to_string());
        if at.failed(label, result) {
            return Ok(true);
        }
        if handle.is_closed() {
            at.tried.push("(the server closed the connection)".into());
            return Err(auth_failed(opts, std::mem::take(&mut at.tried)));
        }
    }
    Ok(false)
}

async fn agent_auth(handle: &mut Handle<Client>, opts: &ConnectOptions, at: &mut Attempts) -> bool {
    let mut agent = match AgentClient::connect_env().await {
        Ok(agent) => agent,
        Err(e) => {
            at.tried.push(format!("ssh-agent (cannot connect: {e})"));
            return false;
        }
    };
    let identities = match agent.request_identities().await {
        Ok(ids) => ids,
        Err(e) => {
            at.tried.push(format!("ssh-agent (cannot list keys: {e})"));
            return false;
        }
    };
    if identities.is_empty() {
        at.tried.push("ssh-agent (holds no keys)".into());
    }
    for identity in identities {
        let AgentIdentity::PublicKey { key, comment } = identity else {
            at.tried
                .push("ssh-agent certificate (skipped: certificates are not supported)".into());
            continue;
        };
        let hash = if key.algorithm().is_rsa() {
            best_rsa_hash(handle, &mut at.rsa_hash).await
        } else {
            None
        };
        let label = format!(
            "ssh-agent key {} {}",
            key.fingerprint(HashAlg::Sha256),
            comment
        );
        let result = handle
            .authenticate_publickey_with(opts.user.as_str(), key, hash, &mut agent)
            .await
            .map_err(|e| e.to_string());
        if at.failed(label.trim().to_string(), result) {
            return true;
        }
        if handle.is_closed() {
            at.tried.push("(the server closed the connection)".into());
            return false;
        }
    }
    false
}

/// Keyboard-interactive answering password prompts, then password authentication; each only
/// when the server still offers it.
async fn password_auth(
    handle: &mut Handle<Client>,
    opts: &ConnectOptions,
    password: &Secret,
    at: &mut Attempts,
) -> bool {
    if at.methods.is_none() && !handle.is_closed() {
        // No key was tried: ask what the server takes ("none"), as OpenSSH does first.
        match handle.authenticate_none(opts.user.as_str()).await {
            Ok(AuthResult::Success) => return true,
            Ok(AuthResult::Failure {
                remaining_methods, ..
            }) => at.methods = Some(remaining_methods),
            Err(_) => {}
        }
    }
    let mut any = false;
    if at.offered(MethodKind::KeyboardInteractive) && !handle.is_closed() {
        any = true;
        if keyboard_interactive(handle, opts, password, at).await {
            return true;
        }
    }
    if at.offered(MethodKind::Password) && !handle.is_closed() {
        any = true;
        let result = handle
            .authenticate_password(opts.user.as_str(), password.expose())
            .await
            .map_err(|e| e.to_string());
        if at.failed("password".into(), result) {
            return true;
        }
    }
    if !any {
        let offered: Vec<&str> = at
            .methods
            .iter()
            .flat_map(|m| m.iter())
            .map(<&str>::from)
            .collect();
        at.tried.push(format!(
            "password (not tried: the server accepts only {})",
            offered.join(", ")
        ));
    }
    false
}

async fn keyboard_interactive(
    handle: &mut Handle<Client>,
    opts: &ConnectOptions,
    password: &Secret,
    at: &mut Attempts,
) -> bool {
    let label = "keyboard-interactive (password)".to_string();
    let mut reply = handle
        .authenticate_keyboard_interactive_start(opts.user.as_str(), None)
        .await;
    for _ in 0..KBD_ROUNDS {
        match reply {
            Ok(KeyboardInteractiveAuthResponse::Success) => return true,
            Ok(KeyboardInteractiveAuthResponse::Failure {
                remaining_methods, ..
            }) => {
                at.tried.push(format!("{label}: rejected"));
                at.methods = Some(remaining_methods);
                return false;
            }
            Ok(KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. }) => {
                let mut answers = Vec::new();
                for p in &prompts {
                    if p.echo || !p.prompt.to_ascii_lowercase().contains("password") {
                        at.tried.push(format!(
                            "keyboard-interactive (the server asked {:?}, which is not a \
                             password prompt pgplay can answer)",
                            p.prompt.trim()
                        ));
                        return false;
                    }
                    answers.push(password.expose().to_string());
                }
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await;
            }
            Err(e) => {
                at.tried.push(format!("{label}: error: {e}"));
                return false;
            }
        }
    }
    at.tried
        .push(format!("{label}: the server kept asking; gave up"));
    false
}

/// Best RSA signature hash the server accepts (asked once per connection).
/// Without `server-sig-algs` we assume rsa-sha2-256, supported by every
/// OpenSSH since 7.2 and required by those that disabled SHA-1 signatures.
async fn best_rsa_hash(
    handle: &Handle<Client>,
    cache: &mut Option<Option<HashAlg>>,
) -> Option<HashAlg> {
    if let Some(hash) = *cache {
        return hash;
    }
    let hash = match handle.best_supported_rsa_hash().await {
        Ok(Some(hash)) => hash,
        _ => Some(HashAlg::Sha256),
    };
    *cache = Some(hash);
    hash
}

fn auth_failed(opts: &ConnectOptions, tried: Vec<String>) -> TransportError {
    TransportError::AuthFailed {
        host: opts.host.clone(),
        user: opts.user.clone(),
        tried,
    }
}
