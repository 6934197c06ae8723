//! Reading a failed ssh master's messages back into pgplay's transport errors.
//!
//! The master runs with `LogLevel=DEBUG1` into a pipe: when it exits before it is ready, its
//! log says why (a refused connection, an unknown, changed or revoked host key, the keys and
//! password it tried), and the errors are the same as the russh transport's.

use std::path::PathBuf;

use crate::transport::TransportError;

/// Where a connection goes, as ssh resolved it, for error messages.
pub(super) struct Target {
    pub host: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub known_hosts: PathBuf,
    /// A password was given (the askpass program answered ssh's prompt).
    pub password: bool,
}

impl Target {
    pub(super) fn unreachable(&self, reason: String) -> TransportError {
        // ssh says "connect to host A port P: why"; the error already names A and P.
        let said = format!("connect to host {} port {}: ", self.address, self.port);
        let reason = match reason.find(&said) {
            Some(at) => reason[at + said.len()..].to_string(),
            None => reason,
        };
        TransportError::Unreachable {
            host: self.host.clone(),
            address: self.address.clone(),
            port: self.port,
            reason,
        }
    }
}

/// Turn the log of a master that exited before it was ready into an error.
pub(super) fn classify(
    log: &str,
    target: &Target,
    status: std::process::ExitStatus,
) -> TransportError {
    let messages: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("debug"))
        .collect();
    let said = |needle: &str| messages.iter().any(|l| l.contains(needle));
    let offered_fingerprint = log
        .lines()
        .find_map(|l| l.strip_prefix("debug1: Server host key: "))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .map(str::to_owned);

    // Through a ProxyJump (or ProxyCommand) whose own ssh failed: the messages are the hop's,
    // not the target's (the target's key exchange never began).
    let proxied = log
        .lines()
        .any(|l| l.starts_with("debug1: Executing proxy command:"));
    if proxied && offered_fingerprint.is_none() {
        let said: Vec<&str> = messages
            .iter()
            .copied()
            .filter(|l| {
                !l.starts_with("kex_exchange_identification") && !l.contains("UNKNOWN port")
            })
            .collect();
        let said = match said.is_empty() {
            true => format!("ssh exited with {status}"),
            false => said.join("; "),
        };
        return target.unreachable(format!(
            "the ProxyJump / ProxyCommand hop failed: {said} (ssh runs that hop with its own \
             configuration only: the jump host's key, known_hosts and identity come from \
             ~/.ssh/config of the user running pgplay, or from -F FILE in the ssh arguments)"
        ));
    }

    if said("REVOKED HOST KEY") || said("was revoked") {
        let (known_hosts, line) =
            offending_entry(&messages).unwrap_or_else(|| (target.known_hosts.clone(), 0));
        return TransportError::HostKeyRevoked {
            host: target.host.clone(),
            address: target.address.clone(),
            fingerprint: offered_fingerprint.unwrap_or_else(|| "its key".into()),
            known_hosts,
            line,
        };
    }
    if said("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || said("has changed and you have requested strict checking")
    {
        let (known_hosts, line) =
            offending_entry(&messages).unwrap_or_else(|| (target.known_hosts.clone(), 0));
        return TransportError::HostKeyChanged {
            host: target.host.clone(),
            address: target.address.clone(),
            fingerprint: offered_fingerprint
                .or_else(|| changed_fingerprint(&messages))
                .unwrap_or_else(|| "a different key".into()),
            known_hosts,
            line,
        };
    }
    if said("Host key verification failed") || said("host key is known for") {
        return TransportError::HostKeyUnknown {
            host: target.host.clone(),
            address: target.address.clone(),
            fingerprint: offered_fingerprint.unwrap_or_else(|| "an unknown key".into()),
            known_hosts: target.known_hosts.clone(),
        };
    }
    if said("Permission denied (")
        || said("Too many authentication failures")
        || said("No more authentication methods")
    {
        let mut tried = tried_keys(log);
        if target.password {
            tried.push(password_tried(log));
        }
        return TransportError::AuthFailed {
            host: target.host.clone(),
            user: target.user.clone(),
            tried,
        };
    }
    let reason = match messages.iter().rev().take(3).collect::<Vec<_>>() {
        last if !last.is_empty() => last
            .into_iter()
            .rev()
            .map(|l| l.trim_start_matches("ssh: "))
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!("ssh exited with {status} before the connection was set up"),
    };
    target.unreachable(reason)
}

/// What became of the password, from ssh's debug log.
fn password_tried(log: &str) -> String {
    let methods = ["password", "keyboard-interactive"];
    let offered = log.lines().any(|l| {
        methods
            .iter()
            .any(|m| l.trim() == format!("debug1: Next authentication method: {m}"))
    });
    if offered {
        "password: rejected".into()
    } else {
        "password (not tried: the server does not accept password authentication)".into()
    }
}

/// `Offending ED25519 key in /path/known_hosts:3` → (path, 3).
fn offending_entry(messages: &[&str]) -> Option<(PathBuf, usize)> {
    messages.iter().find_map(|l| {
        let rest = l.strip_prefix("Offending ")?;
        let (_, location) = rest.split_once(" in ")?;
        let (path, line) = location.rsplit_once(':')?;
        Some((PathBuf::from(path), line.trim().parse().ok()?))
    })
}

/// The line after "The fingerprint for the ... key sent by the remote host is".
fn changed_fingerprint(messages: &[&str]) -> Option<String> {
    let at = messages
        .iter()
        .position(|l| l.contains("key sent by the remote host is"))?;
    messages
        .get(at + 1)
        .map(|fp| fp.trim_end_matches('.').to_owned())
}

/// The keys ssh tried, from its debug log, in order.
fn tried_keys(log: &str) -> Vec<String> {
    let mut tried: Vec<String> = Vec::new();
    // Index into `tried` of the key last offered, with its label.
    let mut last_offer: Option<(usize, String)> = None;
    for line in log.lines().map(str::trim) {
        if let Some(label) = line.strip_prefix("debug1: Offering public key: ") {
            let label = key_label(label);
            tried.push(format!("{label}: rejected"));
            last_offer = Some((tried.len() - 1, label));
        } else if let Some(label) = line.strip_prefix("debug1: Server accepts key: ") {
            // Accepted, yet authentication failed: ssh could not sign with
            // it, i.e. the private key needs a passphrase (batch mode).
            let label = key_label(label);
            let path = label.split(" (").next().unwrap_or(&label).to_owned();
            let text = format!(
                "{label}: accepted by the server but not usable (protected by a passphrase, \
                 which pgplay cannot ask for; load it into ssh-agent with `ssh-add {path}` and \
                 use the agent)"
            );
            match &last_offer {
                Some((index, offered)) if *offered == label => tried[*index] = text,
                _ => tried.push(text),
            }
        } else if line.starts_with("Warning: Identity file ")
            || line.starts_with("Load key ")
            || line.starts_with("no such identity")
        {
            tried.push(line.to_owned());
        }
    }
    if tried.is_empty() {
        tried.push("no key was offered (ssh found no usable identity or agent key)".into());
    }
    tried
}

/// `path ED25519 SHA256:xx explicit` → `path (ED25519 SHA256:xx)`.
fn key_label(raw: &str) -> String {
    let words: Vec<&str> = raw.split_whitespace().collect();
    // From the end: [source] fingerprint type; the rest is the name.
    let fp_at = words.iter().rposition(|w| w.starts_with("SHA256:"));
    match fp_at {
        Some(fp) if fp >= 2 => format!(
            "{} ({} {})",
            words[..fp - 1].join(" "),
            words[fp - 1],
            words[fp]
        ),
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn target() -> Target {
        Target {
            host: "pg-test".into(),
            address: "127.0.99.1".into(),
            port: 2222,
            user: "admin".into(),
            known_hosts: PathBuf::from("/home/u/.ssh/known_hosts"),
            password: false,
        }
    }

    fn failed() -> std::process::ExitStatus {
        std::process::ExitStatus::from_raw(255 << 8)
    }

    #[test]
    fn unknown_host_key() {
        let log = "debug1: Server host key: ssh-ed25519 SHA256:abc\n\
                   No ED25519 host key is known for [127.0.99.1]:2222 and you have requested strict checking.\n\
                   Host key verification failed.";
        match classify(log, &target(), failed()) {
            TransportError::HostKeyUnknown {
                fingerprint,
                known_hosts,
                ..
            } => {
                assert_eq!(fingerprint, "SHA256:abc");
                assert_eq!(known_hosts, PathBuf::from("/home/u/.ssh/known_hosts"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn changed_host_key() {
        let log = "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                   The fingerprint for the ED25519 key sent by the remote host is\n\
                   SHA256:xyz.\n\
                   Offending ECDSA key in /tmp/kh:3\n\
                   Host key verification failed.";
        match classify(log, &target(), failed()) {
            TransportError::HostKeyChanged {
                fingerprint,
                known_hosts,
                line,
                ..
            } => {
                assert_eq!(fingerprint, "SHA256:xyz");
                assert_eq!(known_hosts, PathBuf::from("/tmp/kh"));
                assert_eq!(line, 3);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn auth_failure_lists_keys() {
        let log = "Warning: Identity file /nope not accessible: No such file or directory.\n\
                   debug1: Offering public key: /k/wrong ED25519 SHA256:w explicit\n\
                   debug1: Offering public key: /k/locked ED25519 SHA256:l explicit\n\
                   debug1: Server accepts key: /k/locked ED25519 SHA256:l explicit\n\
                   root@127.0.99.1: Permission denied (publickey).";
        match classify(log, &target(), failed()) {
            TransportError::AuthFailed { tried, user, .. } => {
                assert_eq!(user, "admin");
                assert_eq!(tried.len(), 3, "{tried:?}");
                assert!(tried[0].contains("/nope"));
                assert_eq!(tried[1], "/k/wrong (ED25519 SHA256:w): rejected");
                assert!(tried[2].contains("passphrase") && tried[2].contains("ssh-add /k/locked"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connection_refused() {
        let log = "debug1: Connecting to 127.0.99.1 [127.0.99.1] port 2222.\n\
                   ssh: connect to host 127.0.99.1 port 2222: Connection refused";
        match classify(log, &target(), failed()) {
            e @ TransportError::Unreachable { .. } => {
                assert!(e.to_string().contains("Connection refused"), "{e}");
                assert!(e.is_unreachable());
            }
            other => panic!("{other:?}"),
        }
        let e = classify("", &target(), failed());
        assert!(e.to_string().contains("ssh exited"), "{e}");
    }

    #[test]
    fn a_failed_jump_hop_is_not_the_target() {
        let log = "debug1: Executing proxy command: exec ssh -l root -W '[x]:22' gw\n\
                   Host key verification failed.\n\
                   kex_exchange_identification: Connection closed by remote host\n\
                   Connection closed by UNKNOWN port 65535";
        match classify(log, &target(), failed()) {
            e @ TransportError::Unreachable { .. } => {
                let msg = e.to_string();
                assert!(
                    msg.contains("hop failed: Host key verification failed."),
                    "{msg}"
                );
                assert!(!msg.contains("UNKNOWN"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refused_password_is_said() {
        let log = "debug1: Next authentication method: password\n\
                   alice@127.0.99.1: Permission denied (publickey,password).";
        let t = Target {
            password: true,
            ..target()
        };
        match classify(log, &t, failed()) {
            TransportError::AuthFailed { tried, .. } => {
                assert_eq!(tried.last().map(String::as_str), Some("password: rejected"))
            }
            other => panic!("{other:?}"),
        }
    }
}
