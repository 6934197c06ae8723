//! Opening an authenticated russh session: TCP (or a jump host's forwarded stream), SSH
//! handshake with host key verification, authentication.
//!
//! The handshake runs over any byte stream, so the same code serves a direct TCP connection
//! and a `direct-tcpip` channel of a jump host (see `jump`).

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::russh::client::{self, Handle};
use ::russh::keys::known_hosts::known_host_keys_path;
use ::russh::keys::Algorithm;
use ::russh::{compression, kex, Preferred};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::auth::authenticate;
use super::host_keys::{Client, HostKeyCheck};
use crate::transport::{expand_tilde, ConnectOptions, TransportError};

/// Keepalive: probe after this much silence, give up after `KEEPALIVE_MAX`
/// unanswered probes (about a minute for a dead peer).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVE_MAX: usize = 4;

/// An authenticated session, and the jump host sessions it runs through (kept open while it
/// is used, closed after it).
pub(super) struct Session {
    pub handle: Handle<Client>,
    pub jumps: Vec<Handle<Client>>,
}

/// Connect to `opts.address` directly (`jump.rs` goes through `opts.jump`).
pub(super) async fn open_direct(opts: &ConnectOptions) -> Result<Session, TransportError> {
    let stream = tcp_connect(opts).await?;
    let handle = login(opts, stream).await?;
    Ok(Session {
        handle,
        jumps: Vec::new(),
    })
}

/// SSH handshake (host key checked) and authentication over `stream`.
pub(super) async fn login<S>(
    opts: &ConnectOptions,
    stream: S,
) -> Result<Handle<Client>, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let known_hosts = expand_tilde(&opts.known_hosts);
    let verdict = Arc::new(Mutex::new(None));
    let handler = Client {
        check: HostKeyCheck {
            host: opts.host.clone(),
            address: opts.address.clone(),
            port: opts.port,
            known_hosts: known_hosts.clone(),
            policy: opts.host_key_policy,
        },
        verdict: Arc::clone(&verdict),
    };
    let config = Arc::new(client_config(opts, &known_hosts));
    let mut handle = match client::connect_stream(config, stream, handler).await {
        Ok(handle) => handle,
        Err(e) => {
            let stored = verdict.lock().unwrap_or_else(|p| p.into_inner()).take();
            return Err(
                stored.unwrap_or_else(|| unreachable(opts, format!("SSH handshake failed: {e}")))
            );
        }
    };
    authenticate(&mut handle, opts).await?;
    Ok(handle)
}

pub(super) fn unreachable(opts: &ConnectOptions, reason: String) -> TransportError {
    TransportError::Unreachable {
        host: opts.host.clone(),
        address: opts.address.clone(),
        port: opts.port,
        reason,
    }
}

/// Resolve and connect, trying each resolved address in turn.
pub(super) async fn tcp_connect(opts: &ConnectOptions) -> Result<TcpStream, TransportError> {
    let addrs = tokio::net::lookup_host((opts.address.as_str(), opts.port))
        .await
        .map_err(|e| unreachable(opts, format!("cannot resolve address: {e}")))?;
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Small request/reply packets: latency matters more than
                // packet count.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            // The error names the address already; a name's resolved address is worth saying.
            Err(e) if addr.ip().to_string() == opts.address => last_error = Some(e.to_string()),
            Err(e) => last_error = Some(format!("{addr}: {e}")),
        }
    }
    Err(unreachable(
        opts,
        last_error.unwrap_or_else(|| "address resolved to nothing".into()),
    ))
}

/// Client configuration: fast key exchange first, no compression (unless `-C`), the host's
/// already-known key types first, keepalives on.
fn client_config(opts: &ConnectOptions, known_hosts: &Path) -> client::Config {
    let defaults = Preferred::default();

    let first = [kex::CURVE25519, kex::CURVE25519_PRE_RFC_8731];
    let kexes: Vec<kex::Name> = first
        .iter()
        .chain(defaults.kex.iter().filter(|k| !first.contains(k)))
        .cloned()
        .collect();

    let known: Vec<Algorithm> = known_host_keys_path(&opts.address, opts.port, known_hosts)
        .map(|entries| entries.into_iter().map(|(_, k)| k.algorithm()).collect())
        .unwrap_or_default();
    let mut keys = defaults.key.to_vec();
    keys.sort_by_key(|a| !known.iter().any(|k| same_key_type(k, a)));

    // `Preferred::default()` lists "none" first already; zlib is then only used if a server
    // insisted on it.
    let compression = if opts.compression {
        Cow::Owned(vec![
            compression::ZLIB_LEGACY,
            compression::ZLIB,
            compression::NONE,
        ])
    } else {
        defaults.compression.clone()
    };
    let (interval, max) = opts
        .keepalive
        .unwrap_or((KEEPALIVE_INTERVAL, KEEPALIVE_MAX));
    client::Config {
        preferred: Preferred {
            kex: Cow::Owned(kexes),
            key: Cow::Owned(keys),
            compression,
            ..defaults
        },
        keepalive_interval: (!interval.is_zero()).then_some(interval),
        keepalive_max: max,
        inactivity_timeout: None,
        nodelay: true,
        ..Default::default()
    }
}

fn same_key_type(a: &Algorithm, b: &Algorithm) -> bool {
    matches!((a, b), (Algorithm::Rsa { .. }, Algorithm::Rsa { .. })) || a == b
}
