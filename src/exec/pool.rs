//! One connection per host for the whole run: opened on the first task that needs it,
//! reused by every later task (and by tasks delegated to that host), closed at the end.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::Options;
use crate::inventory::{expand_home, ConnKind, HostId, Inventory};
use crate::transport::{ConnectOptions, Connection, HostKeyPolicy};

/// Which transport to use for hosts whose inventory does not say (`-c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Russh,
    Openssh,
    Local,
}

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
        let default_user = std::env::var("USER").unwrap_or_else(|_| "root".into());
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
                let key_files = match (&c.key_file, &opts.private_key) {
                    (Some(k), _) => vec![k.clone()],
                    (None, Some(k)) => vec![k.clone()],
                    (None, None) => keys.clone(),
                };
                // As in Ansible, the inventory's ansible_connection wins over -c.
                let transport = match c.kind {
                    ConnKind::Default => opts.transport,
                    ConnKind::Openssh => Transport::Openssh,
                    ConnKind::Russh => Transport::Russh,
                    ConnKind::Local => Transport::Local,
                };
                let explicit = c.explicit
                    || opts.user.is_some()
                    || opts.private_key.is_some()
                    || opts.known_hosts.is_some()
                    || opts.accept_new_host_keys;
                Settings {
                    local: transport == Transport::Local,
                    transport,
                    config_only: !explicit,
                    connect: ConnectOptions {
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
                            .map(|p| expand_home(&p.to_string_lossy()))
                            .unwrap_or_else(|| default_known.clone()),
                        host_key_policy: if opts.accept_new_host_keys {
                            HostKeyPolicy::AcceptNew
                        } else {
                            HostKeyPolicy::Strict
                        },
                        connect_timeout: opts.timeout,
                        use_agent: true,
                    },
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
            return std::env::var("USER").unwrap_or_else(|_| "root".into());
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
