//! One connection per host for the whole run: opened on the first task that needs it,
//! reused by every later task (and by tasks delegated to that host), closed at the end.
//!
//! How to reach a host is computed once, here, from its connection variables (which win, as
//! in Ansible) and the command line: user, port, keys, password (`ansible_password` over
//! `-k`), timeouts, host key checking, and what the russh transport does itself of the
//! inventory's ssh options (jump hosts, known_hosts, identities, compression, keepalives);
//! the openssh transport gets those options as written.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::Options;
use crate::base::user::expand_home;
use crate::inventory::{ConnVars, HostId, Inventory};
use crate::transport::ssh_args::Meaning;
use crate::transport::{ConnectOptions, Connection, HostKeyPolicy};

pub use crate::inventory::Transport;

enum Slot {
    Empty,
    Ready(Arc<Connection>),
    Failed(crate::transport::TransportError),
}

pub struct Pool {
    slots: Vec<Mutex<Slot>>,
    local: Mutex<Option<Arc<Connection>>>,
    settings: Vec<Settings>,
}

/// How to reach one host, computed once.
struct Settings {
    local: bool,
    transport: Transport,
    /// openssh only: let ~/.ssh/config decide user, port, keys and host keys.
    config_only: bool,
    connect: ConnectOptions,
    /// What russh cannot honour of the host's settings. The run refuses it before connecting
    /// when the host is in play (`inventory::check_connections`); a host reached only through
    /// `delegate_to` is refused here, when first used, rather than connected without it.
    unsupported: Option<String>,
}

fn default_keys() -> Vec<PathBuf> {
    let Some(home) = dirs::home_dir() else {
        return Vec::new();
    };
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|k| home.join(".ssh").join(k))
        .filter(|p| p.exists())
        .collect()
}

impl Pool {
    pub fn new(inv: &Inventory, opts: &Options) -> Pool {
        let default_user = crate::base::user::current_user().to_owned();
        let default_known = dirs::home_dir()
            .unwrap_or_default()
            .join(".ssh")
            .join("known_hosts");
        let keys = default_keys();
        let settings = inv
            .hosts
            .iter()
            .map(|h| {
                let c = &h.conn;
                let transport = c.transport(opts.transport);
                let explicit = c.explicit
                    || opts.user.is_some()
                    || opts.private_key.is_some()
                    || opts.known_hosts.is_some()
                    || opts.accept_new_host_keys;
                let key_files = match (&c.key_file, &opts.private_key) {
                    (Some(k), _) => vec![k.clone()],
                    (None, Some(k)) => vec![k.clone()],
                    (None, None) => keys.clone(),
                };
                let mut connect = ConnectOptions {
                    host: h.name.clone(),
                    address: c.address.clone(),
                    port: c.port,
                    user: c
                        .user
                        .clone()
                        .or_else(|| opts.user.clone())
                        .unwrap_or_else(|| default_user.clone()),
                    key_files,
                    known_hosts: c
                        .known_hosts
                        .clone()
                        .or_else(|| opts.known_hosts.clone())
                        .map(expand_home)
                        .unwrap_or_else(|| default_known.clone()),
                    host_key_policy: if opts.accept_new_host_keys {
                        HostKeyPolicy::AcceptNew
                    } else {
                        HostKeyPolicy::Strict
                    },
                    connect_timeout: opts.timeout,
                    use_agent: true,
                    // As Ansible: the host's ansible_password beats -k.
                    password: c.password.clone().or_else(|| opts.conn_password.clone()),
                    ssh_program: c.ssh_executable.clone(),
                    ..ConnectOptions::default()
                };
                apply_ssh_options(&mut connect, c, transport);
                Settings {
                    local: transport == Transport::Local,
                    transport,
                    config_only: !explicit,
                    connect,
                    unsupported: (transport == Transport::Russh)
                        .then(|| russh_cannot(c))
                        .flatten(),
                }
            })
            .collect();
        Pool {
            slots: inv.hosts.iter().map(|_| Mutex::new(Slot::Empty)).collect(),
            local: Mutex::new(None),
            settings,
        }
    }

    /// The login user for a host (to skip become when it is already that user).
    pub fn login_user(&self, host: HostId) -> String {
        if self.settings[host.0].local {
            return crate::base::user::current_user().to_owned();
        }
        self.settings[host.0].connect.user.clone()
    }

    /// This machine, for `delegate_to: localhost`.
    pub async fn local(&self) -> Arc<Connection> {
        let mut guard = self.local.lock().await;
        guard
            .get_or_insert_with(|| Arc::new(Connection::local()))
            .clone()
    }

    /// The host's connection, opening it on first use; the same error for every later use
    /// when it cannot be opened.
    pub async fn get(
        &self,
        host: HostId,
    ) -> Result<Arc<Connection>, crate::transport::TransportError> {
        if self.settings[host.0].local {
            return Ok(self.local().await);
        }
        let mut slot = self.slots[host.0].lock().await;
        match &*slot {
            Slot::Ready(c) => return Ok(c.clone()),
            Slot::Failed(e) => return Err(e.clone()),
            Slot::Empty => {}
        }
        let settings = &self.settings[host.0];
        if let Some(what) = &settings.unsupported {
            let e = crate::transport::TransportError::Unsupported {
                host: settings.connect.host.clone(),
                setting: what.clone(),
            };
            *slot = Slot::Failed(e.clone());
            return Err(e);
        }
        let connected = match settings.transport {
            Transport::Openssh => {
                Connection::connect_openssh(&settings.connect, settings.config_only).await
            }
            _ => Connection::connect_russh(&settings.connect).await,
        };
        match connected {
            Ok(c) => {
                let c = Arc::new(c);
                *slot = Slot::Ready(c.clone());
                Ok(c)
            }
            Err(e) => {
                *slot = Slot::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Close one host's connection (its work is done); a later use would reconnect.
    pub async fn close(&self, host: HostId) {
        let taken = std::mem::replace(&mut *self.slots[host.0].lock().await, Slot::Empty);
        if let Slot::Ready(c) = taken {
            if let Ok(c) = Arc::try_unwrap(c) {
                c.close().await;
            }
        }
    }

    pub async fn close_all(&self) {
        for host in 0..self.slots.len() {
            self.close(HostId(host)).await;
        }
    }
}

/// The first setting of the host that only the openssh transport honours, if any.
fn russh_cannot(c: &ConnVars) -> Option<String> {
    c.ssh_options()
        .find(|(_, o)| o.meaning == Meaning::OpensshOnly)
        .map(|(var, o)| format!("{var}: {}", o.text))
        .or_else(|| {
            c.ssh_executable
                .as_ref()
                .map(|_| "ansible_ssh_executable".into())
        })
        .or_else(|| {
            c.pkcs11_provider
                .as_ref()
                .map(|_| "ansible_ssh_pkcs11_provider".into())
        })
}

/// The inventory's ssh options and connection variables that bear on the connect options.
/// ssh takes the first value of an option, so the first one written wins here too (identity
/// files add up). The openssh transport gets the options as written (ssh honours them
/// itself); the fields set here make its messages and known_hosts handling agree.
fn apply_ssh_options(connect: &mut ConnectOptions, c: &ConnVars, transport: Transport) {
    let mut jump = None;
    let mut known_hosts = None;
    let mut policy = None;
    let mut timeout = None;
    let mut identities_only = None;
    let mut compression = None;
    let mut interval = None;
    let mut count = None;
    let mut identities = Vec::new();
    for (_, option) in c.ssh_options() {
        match &option.meaning {
            Meaning::Jump(hops) => {
                jump.get_or_insert_with(|| hops.clone());
            }
            Meaning::HostKeys(p) => {
                policy.get_or_insert(*p);
            }
            Meaning::KnownHosts(path) => {
                known_hosts.get_or_insert_with(|| expand_home(path));
            }
            Meaning::ConnectTimeout(d) => {
                timeout.get_or_insert(*d);
            }
            Meaning::Identity(path) => identities.push(expand_home(path)),
            Meaning::IdentitiesOnly(b) => {
                identities_only.get_or_insert(*b);
            }
            Meaning::Compression(b) => {
                compression.get_or_insert(*b);
            }
            Meaning::AliveInterval(d) => {
                interval.get_or_insert(*d);
            }
            Meaning::AliveCountMax(n) => {
                count.get_or_insert(*n);
            }
            Meaning::PgplayOwn | Meaning::OpensshOnly => {}
        }
    }
    // ansible_host_key_checking: false is Ansible's StrictHostKeyChecking=no, given before
    // the user's options; pgplay still refuses a changed key.
    if let Some(p) = c
        .host_key_checking
        .map(|check| {
            if check {
                HostKeyPolicy::Strict
            } else {
                HostKeyPolicy::AcceptNew
            }
        })
        .or(policy)
    {
        connect.host_key_policy = p;
    }
    if let Some(path) = known_hosts {
        connect.known_hosts = path;
    }
    if let Some(t) = c.timeout.or(timeout) {
        connect.connect_timeout = t;
    }
    match transport {
        Transport::Openssh => {
            connect.ssh_args = c
                .ssh_args
                .iter()
                .flat_map(|a| a.words.iter().cloned())
                .collect();
            if let Some(provider) = &c.pkcs11_provider {
                connect.ssh_args.push("-o".into());
                connect.ssh_args.push(format!("PKCS11Provider={provider}"));
            }
        }
        Transport::Russh | Transport::Local => {
            connect.jump = jump.unwrap_or_default();
            connect.key_files.extend(identities);
            connect.use_agent = !identities_only.unwrap_or(false);
            connect.compression = compression.unwrap_or(false);
            if interval.is_some() || count.is_some() {
                connect.keepalive = Some((
                    interval.unwrap_or(std::time::Duration::from_secs(15)),
                    count.unwrap_or(4),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::JumpHost;
    use std::time::Duration;

    fn conn(vars: &str) -> ConnVars {
        let text = format!("all:\n  hosts:\n    db1:\n{vars}");
        match crate::inventory::load_str("inv.yml", &text, &[]) {
            Ok(inv) => inv.hosts[0].conn.clone(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn russh_takes_what_it_understands_first_one_wins() {
        let c = conn(
            "      ansible_ssh_common_args: '-o ProxyJump=a@gw1 -J gw2 -o UserKnownHostsFile=/kh \
             -o ConnectTimeout=7 -i /k1 -C -o IdentitiesOnly=yes'\n      \
             ansible_ssh_extra_args: '-o ConnectTimeout=9 -i /k2'\n",
        );
        let mut o = ConnectOptions::default();
        apply_ssh_options(&mut o, &c, Transport::Russh);
        assert_eq!(
            o.jump,
            vec![JumpHost {
                user: Some("a".into()),
                host: "gw1".into(),
                port: 22
            }]
        );
        assert_eq!(o.known_hosts, PathBuf::from("/kh"));
        assert_eq!(o.connect_timeout, Duration::from_secs(7));
        assert_eq!(
            o.key_files,
            vec![PathBuf::from("/k1"), PathBuf::from("/k2")]
        );
        assert!(o.compression && !o.use_agent);
        assert!(o.ssh_args.is_empty());
        assert_eq!(russh_cannot(&c), None);
        let c = conn("      ansible_ssh_common_args: '-o ProxyCommand=nc'\n");
        assert_eq!(
            russh_cannot(&c).as_deref(),
            Some("ansible_ssh_common_args: -o ProxyCommand=nc")
        );
    }

    #[test]
    fn openssh_gets_the_words_and_variables_win() {
        let c = conn(
            "      ansible_ssh_args: '-C'\n      ansible_ssh_common_args: '-o \"StrictHostKeyChecking yes\" \
             -o ConnectTimeout=7'\n      ansible_host_key_checking: false\n      ansible_ssh_timeout: 30\n      \
             ansible_ssh_pkcs11_provider: /lib/p11.so\n",
        );
        let mut o = ConnectOptions::default();
        apply_ssh_options(&mut o, &c, Transport::Openssh);
        assert_eq!(
            o.ssh_args,
            vec![
                "-C",
                "-o",
                "StrictHostKeyChecking yes",
                "-o",
                "ConnectTimeout=7",
                "-o",
                "PKCS11Provider=/lib/p11.so"
            ]
        );
        assert_eq!(o.host_key_policy, HostKeyPolicy::AcceptNew);
        assert_eq!(o.connect_timeout, Duration::from_secs(30));
        assert!(o.jump.is_empty());
    }
}
