//! `ProxyJump` for the russh transport: reach a host through one or more jump hosts.
//!
//! Many fleets are only reachable through a bastion (`ansible_ssh_common_args:
//! '-o ProxyJump=admin@bastion'`). As OpenSSH's `ProxyJump` does, each hop is a full SSH
//! login (same key files, agent and known_hosts policy as the target; the hop's user is the
//! one written, else the local user, as with ssh), and the next hop's TCP connection is a
//! `direct-tcpip` channel that the previous hop opens: the jump host resolves and connects to
//! the next address, so a target only the bastion can reach works. The target's SSH session
//! then runs over that channel, end to end encrypted; the jump sessions stay open underneath
//! it. The target's password (`ansible_password`) is never offered to a jump host.

use ::russh::client::Handle;

use super::connect::{login, tcp_connect, unreachable, Session};
use super::host_keys::Client;
use crate::transport::{ConnectOptions, JumpHost, TransportError};

/// Log in to every hop in turn, then to the target through the last one.
pub(super) async fn open(opts: &ConnectOptions) -> Result<Session, TransportError> {
    let mut hops = opts.jump.iter();
    let Some(first) = hops.next() else {
        return Err(unreachable(opts, "internal error: no jump host".into()));
    };
    let (first, mut through) = hop_options(opts, first);
    let stream = tcp_connect(&first).await?;
    let mut handle = login(&first, stream).await?;
    let mut jumps = Vec::new();
    for hop in hops {
        let (next, label) = hop_options(opts, hop);
        let stream = forward(&handle, &through, &next).await?;
        jumps.push(handle);
        handle = login(&next, stream).await?;
        through = label;
    }
    let stream = forward(&handle, &through, opts).await?;
    jumps.push(handle);
    let handle = login(opts, stream).await?;
    Ok(Session { handle, jumps })
}

/// Connect options for a hop (the target's keys, agent and host key policy; no password), and
/// how messages name it.
fn hop_options(target: &ConnectOptions, hop: &JumpHost) -> (ConnectOptions, String) {
    let user = hop
        .user
        .clone()
        .unwrap_or_else(|| crate::base::user::current_user().to_owned());
    let shown = JumpHost {
        user: Some(user.clone()),
        ..hop.clone()
    };
    let opts = ConnectOptions {
        host: format!("{} (jump host {shown})", target.host),
        address: hop.host.clone(),
        port: hop.port,
        user,
        password: None,
        jump: Vec::new(),
        ssh_args: Vec::new(),
        ..target.clone()
    };
    (opts, format!("the jump host {shown}"))
}

/// A `direct-tcpip` channel from `via` to `to`, as a byte stream.
async fn forward(
    handle: &Handle<Client>,
    via: &str,
    to: &ConnectOptions,
) -> Result<::russh::ChannelStream<::russh::client::Msg>, TransportError> {
    match handle
        .channel_open_direct_tcpip(to.address.as_str(), u32::from(to.port), "127.0.0.1", 0)
        .await
    {
        Ok(channel) => Ok(channel.into_stream()),
        Err(e) => Err(unreachable(
            to,
            format!(
                "{via} could not connect to it: {e} (is the address right from there, and does \
                 its sshd allow TCP forwarding?)"
            ),
        )),
    }
}
