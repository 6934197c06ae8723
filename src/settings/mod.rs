//! The command line and the configuration lowered once into what a run uses ("low" args in
//! `cli.rs`, these "high" settings here): each value from its flag, else `PGPLAY_*`, else
//! `ANSIBLE_*`, else ansible.cfg, else pgplay's default — see `config.rs`. Which inventory
//! files that makes, read into one inventory: `inventories.rs`.

mod inventories;

pub use inventories::load_inventories;

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::PlaybookArgs;
use crate::config::{Config, Source};
use crate::error::{Error, Result};
use crate::inventory::Transport;

/// One inventory to read: a file or a host list (`a,b,`), and where it was named.
#[derive(Clone, Debug)]
pub struct InventorySource {
    pub value: String,
    pub from: Source,
}

/// The connection and output settings of a run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Empty: ./pigsty.yml, then ~/pigsty/pigsty.yml.
    pub inventories: Vec<InventorySource>,
    pub forks: usize,
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    pub accept_new_host_keys: bool,
    pub timeout: Duration,
    /// The log file and what named it (`--log`, `ANSIBLE_LOG_PATH`, `ansible.cfg:7: ...`).
    pub log: Option<(PathBuf, String)>,
    pub connection: Transport,
    pub r#become: bool,
    pub become_user: Option<String>,
    /// `[ssh_connection] ssh_args` / `ANSIBLE_SSH_ARGS`, and where it came from.
    pub ssh_args: Option<(String, Source)>,
    pub color: Color,
}

/// Whether output is coloured: on a terminal unless NO_COLOR, nocolor or --no-color; off
/// elsewhere unless force_color.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Auto,
    Never,
    Always,
}

impl Color {
    /// Colour for a stream that is (or is not) a terminal.
    pub fn on(self, terminal: bool) -> bool {
        match self {
            Color::Auto => terminal,
            Color::Never => false,
            Color::Always => true,
        }
    }
}

/// What the command line says about the settings (both subcommands share these).
#[derive(Default)]
pub struct Flags<'a> {
    pub inventory: &'a [PathBuf],
    pub forks: Option<u32>,
    pub user: Option<&'a str>,
    pub private_key: Option<&'a PathBuf>,
    pub accept_new_host_keys: bool,
    pub timeout: Option<u64>,
    pub log: Option<&'a PathBuf>,
    pub connection: Option<Transport>,
    pub r#become: bool,
    pub become_user: Option<&'a str>,
    pub no_color: bool,
}

impl<'a> Flags<'a> {
    /// What `pgplay <PLAYBOOK> ...` says about the settings.
    pub fn of_playbook(a: &'a PlaybookArgs) -> Flags<'a> {
        Flags {
            inventory: &a.inventory,
            forks: a.forks,
            user: a.user.as_deref(),
            private_key: a.private_key.as_ref(),
            accept_new_host_keys: a.accept_new_host_keys,
            timeout: a.timeout,
            log: a.log.as_ref(),
            connection: a.connection,
            r#become: a.r#become,
            become_user: a.become_user.as_deref(),
            no_color: a.no_color,
        }
    }
}

/// Lower the flags over the configuration.
pub fn lower(f: &Flags, cfg: &Config, no_color_env: bool) -> Result<Settings> {
    let inventories = if f.inventory.is_empty() {
        cfg.value("inventory")
            .map(|(v, src)| {
                split_list(v)
                    .into_iter()
                    .map(|value| InventorySource {
                        value,
                        from: src.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        f.inventory
            .iter()
            .map(|p| InventorySource {
                value: p.to_string_lossy().into_owned(),
                from: Source::Flag("-i"),
            })
            .collect()
    };
    let forks = match f.forks {
        Some(n) => n as u64,
        None => cfg.number("forks", 1, 10_000)?.unwrap_or(50),
    };
    let timeout = match f.timeout {
        Some(n) => n,
        None => cfg.number("timeout", 1, 86_400)?.unwrap_or(10),
    };
    let accept_new_host_keys =
        f.accept_new_host_keys || cfg.boolean("host_key_checking")? == Some(false);
    let connection = match f.connection {
        Some(c) => c,
        None => match cfg.value("transport") {
            None => Transport::Russh,
            Some((v, source)) => connection(v).ok_or_else(|| {
                Error::usage(format!(
                    "{source}: transport = '{v}' is not a connection pgplay has"
                ))
                .with_hint(
                    "use russh (native; also for Ansible's paramiko/smart), openssh (ssh) or local",
                )
            })?,
        },
    };
    let log = match f.log {
        Some(p) => Some((p.clone(), "--log".to_string())),
        None => cfg
            .value("log_path")
            .map(|(v, src)| (PathBuf::from(v), src.to_string())),
    };
    let color = if f.no_color || no_color_env || cfg.boolean("nocolor")? == Some(true) {
        Color::Never
    } else if cfg.boolean("force_color")? == Some(true) {
        Color::Always
    } else {
        Color::Auto
    };
    Ok(Settings {
        inventories,
        forks: forks as usize,
        user: f
            .user
            .map(str::to_string)
            .or_else(|| cfg.value("remote_user").map(|(v, _)| v.to_string())),
        private_key: f
            .private_key
            .cloned()
            .or_else(|| cfg.value("private_key_file").map(|(v, _)| PathBuf::from(v))),
        accept_new_host_keys,
        timeout: Duration::from_secs(timeout.max(1)),
        log,
        connection,
        r#become: f.r#become || cfg.boolean("become")? == Some(true),
        become_user: f
            .become_user
            .map(str::to_string)
            .or_else(|| cfg.value("become_user").map(|(v, _)| v.to_string())),
        ssh_args: cfg
            .value("ssh_args")
            .map(|(v, s)| (v.to_string(), s.clone())),
        color,
    })
}

/// Ansible's transport names too: `ssh` is OpenSSH; `paramiko` and `smart` are served by
/// the native client.
fn connection(v: &str) -> Option<Transport> {
    match v.trim().to_lowercase().as_str() {
        "russh" | "paramiko" | "smart" => Some(Transport::Russh),
        "openssh" | "ssh" => Some(Transport::Openssh),
        "local" => Some(Transport::Local),
        _ => None,
    }
}

/// A comma-separated list of inventories: a value that ends with a comma or names no file
/// but has commas is one host list (`a,b,`), as Ansible reads `-i`.
fn split_list(v: &str) -> Vec<String> {
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    if parts
        .iter()
        .all(|p| p.is_empty() || std::path::Path::new(p).exists())
    {
        parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    } else {
        vec![v.to_string()]
    }
}

/// `[ssh_connection] ssh_args` / `ANSIBLE_SSH_ARGS` is Ansible's default for the variable
/// `ansible_ssh_args`: hosts that do not set that variable get it. Checked here, naming where
/// it was set: its words must be ssh options, and an option only the openssh transport can
/// honour is refused when a host in play connects with russh. (Pigsty's own
/// `-o ControlMaster=auto -o ControlPersist=60s` is about multiplexing, which pgplay does
/// itself on either transport.)
pub fn apply_ssh_args(
    s: &Settings,
    inv: &mut crate::inventory::Inventory,
    in_play: &[crate::inventory::HostId],
    default: Transport,
) -> Result<()> {
    use crate::transport::ssh_args::{self, Meaning};
    let Some((text, source)) = &s.ssh_args else {
        return Ok(());
    };
    let bad = |e: String| {
        Error::usage(format!("{source}: ssh_args = {text}: {e}"))
            .with_hint("ssh_args holds ssh options, e.g. -o ServerAliveInterval=30")
    };
    let words = ssh_args::split(text).map_err(bad)?;
    let options = ssh_args::parse(&words).map_err(bad)?;
    let russh_host = in_play
        .iter()
        .map(|h| inv.host(*h))
        .find(|h| h.conn.transport(default) == Transport::Russh);
    if let (Some(host), Some(o)) = (
        russh_host,
        options.iter().find(|o| o.meaning == Meaning::OpensshOnly),
    ) {
        return Err(Error::usage(format!(
            "{source}: ssh_args: {} is honoured by the openssh transport only, and {} connects with russh",
            o.text, host.name
        ))
        .with_hint("run with -c openssh (or transport = ssh in ansible.cfg), or remove the option from ssh_args"));
    }
    for host in &mut inv.hosts {
        if !host
            .conn
            .ssh_args
            .iter()
            .any(|a| a.var == "ansible_ssh_args")
        {
            host.conn.ssh_args.insert(
                0,
                crate::inventory::SshArgVar {
                    var: "ansible_ssh_args",
                    words: words.clone(),
                    options: options.clone(),
                },
            );
        }
    }
    Ok(())
}

/// `NO_COLOR` (no-color.org): present and not empty.
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}
