//! Connection variables: every `ansible_*` variable that says how to reach and log in to a
//! host, typed once at load time.
//!
//! Nothing a user sets is silently ignored: [`VARIABLES`] is the one list of what Ansible's
//! ssh connection and sudo/su become plugins read, with what pgplay does with each — honoured
//! on every transport, honoured by the openssh transport only (a host that would use russh is
//! refused before the first connection, see `conn_check`), meaningless for pgplay (accepted;
//! the README lists them and why), or not supported (a warning). Aliases follow Ansible: when
//! several names of one setting are set, the one Ansible lists last wins
//! (`ansible_ssh_pass` over `ansible_password`, `ansible_ssh_host` over `ansible_host`).
//!
//! Values must be literal: pgplay does not render templates in connection variables (a
//! password `{{ vault_pw }}` would be sent as written), so a template there is refused.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

mod variables;

pub use variables::{Use, SSH_ARG_VARS, VARIABLES};

use crate::base::user::expand_home;
use crate::error::Result;
use crate::transport::ssh_args::{self, SshOption};
use crate::transport::{BecomeMethod, Secret};
use crate::vars::{is_template, HostVars};
use crate::yaml::{Node, Span};

/// How a host is reached: the one answer of `-c`, ansible.cfg's `transport` and a host's
/// `ansible_connection` (the variable wins over the other two, as in Ansible). Its doc
/// comments are the help of `-c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// Native SSH (russh): key files and ssh-agent, known_hosts checked.
    Russh,
    /// The system's OpenSSH client (multiplexed, one master per host): honours ~/.ssh/config.
    #[value(alias = "ssh")]
    Openssh,
    /// Run on this machine.
    Local,
}

/// Escalation settings of one method: the generic `ansible_become_*` with the method's own
/// `ansible_sudo_*` / `ansible_su_*` over them (Ansible lists those last).
#[derive(Clone, Debug, Default)]
pub struct BecomeVars {
    pub user: Option<String>,
    pub exe: Option<String>,
    pub flags: Option<Vec<String>>,
    pub password: Option<Secret>,
}

/// One ssh option variable, split and read.
#[derive(Clone, Debug)]
pub struct SshArgVar {
    pub var: &'static str,
    pub words: Vec<String>,
    pub options: Vec<SshOption>,
}

#[derive(Clone, Debug)]
pub struct ConnVars {
    /// `ansible_connection` (`ssh` is OpenSSH, `paramiko` russh); `None` when unset or
    /// `smart`: the run's transport.
    pub connection: Option<Transport>,
    pub address: String,
    pub port: u16,
    pub user: Option<String>,
    pub key_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub r#become: bool,
    pub become_method: Option<String>,
    /// Whether the inventory set any of user, port, key file, known_hosts or host key checking
    /// (for the openssh transport: otherwise `~/.ssh/config` alone decides them).
    pub explicit: bool,
    /// Login password (`ansible_password`, `ansible_ssh_pass`, `ansible_ssh_password`).
    pub password: Option<Secret>,
    /// `ansible_become_*` with `ansible_sudo_*` over them.
    pub sudo: BecomeVars,
    /// `ansible_become_*` with `ansible_su_*` over them.
    pub su: BecomeVars,
    /// Connect timeout (`ansible_ssh_timeout`, `ansible_timeout`).
    pub timeout: Option<Duration>,
    /// `ansible_host_key_checking: false` accepts (and records) unknown host keys.
    pub host_key_checking: Option<bool>,
    /// `ansible_ssh_executable` (openssh transport).
    pub ssh_executable: Option<String>,
    /// `ansible_ssh_pkcs11_provider` (openssh transport: `-o PKCS11Provider=`).
    pub pkcs11_provider: Option<String>,
    /// The ssh option variables that are set, in Ansible's order.
    pub ssh_args: Vec<SshArgVar>,
}

impl ConnVars {
    /// The transport: the inventory's `ansible_connection` wins over -c, as in Ansible.
    pub fn transport(&self, default: Transport) -> Transport {
        self.connection.unwrap_or(default)
    }

    /// The escalation settings for `method`.
    pub fn become_vars(&self, method: BecomeMethod) -> &BecomeVars {
        match method {
            BecomeMethod::Sudo => &self.sudo,
            BecomeMethod::Su => &self.su,
        }
    }

    /// Every ssh option, in order.
    pub fn ssh_options(&self) -> impl Iterator<Item = (&'static str, &SshOption)> {
        self.ssh_args
            .iter()
            .flat_map(|a| a.options.iter().map(move |o| (a.var, o)))
    }

    /// What a host with wrong connection variables gets until the run refuses it: its name as
    /// the address, port 22 (it is never connected to: a wrong `ansible_*` of a host in play
    /// always stops the run).
    pub fn fallback(name: &str) -> ConnVars {
        ConnVars {
            connection: None,
            address: name.to_string(),
            port: 22,
            user: None,
            key_file: None,
            known_hosts: None,
            r#become: false,
            become_method: None,
            explicit: false,
            password: None,
            sudo: BecomeVars::default(),
            su: BecomeVars::default(),
            timeout: None,
            host_key_checking: None,
            ssh_executable: None,
            pkcs11_provider: None,
            ssh_args: Vec::new(),
        }
    }
}

/// What only connection variables need of the one reader: literal values (a template is
/// refused: it would be used as written), read by Ansible's alias lists.
trait ConnReads {
    fn literal(&self, names: &[&str]) -> Result<Option<(String, String)>>;
    fn text(&self, names: &[&str]) -> Result<Option<String>>;
    fn secret(&self, names: &[&str]) -> Result<Option<Secret>>;
    fn words(&self, names: &[&str]) -> Result<Option<Vec<String>>>;
    fn seconds(&self, names: &[&str]) -> Result<Option<Duration>>;
    fn become_vars(&self, method: &str) -> Result<BecomeVars>;
}

impl ConnReads for HostVars<'_> {
    /// A literal string (a template is refused: it would be used as written).
    fn literal(&self, names: &[&str]) -> Result<Option<(String, String)>> {
        let Some((name, value)) = self.last(names) else {
            return Ok(None);
        };
        if is_template(value) {
            return Err(self
                .invalid(
                    name,
                    "pgplay does not render templates in connection variables; it would use \
                     the text as written"
                        .into(),
                )
                .with_hint("write the value itself (for a password, or use -k / -K)"));
        }
        match self.opt_string(name)? {
            Some(s) => Ok(Some((name.to_string(), s))),
            None => Ok(None),
        }
    }

    fn text(&self, names: &[&str]) -> Result<Option<String>> {
        Ok(self.literal(names)?.map(|(_, s)| s))
    }

    fn secret(&self, names: &[&str]) -> Result<Option<Secret>> {
        Ok(self
            .literal(names)?
            .map(|(_, s)| Secret::new(s))
            .filter(|s| !s.is_empty()))
    }

    fn words(&self, names: &[&str]) -> Result<Option<Vec<String>>> {
        match self.literal(names)? {
            None => Ok(None),
            Some((name, text)) => ssh_args::split(&text)
                .map(Some)
                .map_err(|e| self.invalid(&name, format!("cannot split {text:?}: {e}"))),
        }
    }

    fn seconds(&self, names: &[&str]) -> Result<Option<Duration>> {
        let Some((name, text)) = self.literal(names)? else {
            return Ok(None);
        };
        match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(Duration::from_secs(n))),
            _ => Err(self.invalid(
                &name,
                format!("expected a number of seconds (at least 1), found {text:?}"),
            )),
        }
    }

    fn become_vars(&self, method: &str) -> Result<BecomeVars> {
        let own = |what: &str| format!("ansible_{method}_{what}");
        let (user, exe, flags, pass) = (own("user"), own("exe"), own("flags"), own("pass"));
        Ok(BecomeVars {
            user: self.text(&["ansible_become_user", &user])?,
            exe: self.text(&["ansible_become_exe", &exe])?,
            flags: self.words(&["ansible_become_flags", &flags])?,
            password: self.secret(&["ansible_become_password", "ansible_become_pass", &pass])?,
        })
    }
}

/// Read the `ansible_*` connection variables of a host.
pub fn conn_vars(
    name: &str,
    host: &Span,
    vars: &Map<String, Value>,
    nodes: &HashMap<String, Arc<Node>>,
) -> Result<ConnVars> {
    let r = HostVars { vars, nodes, host };
    let connection = match r.text(&["ansible_connection"])?.as_deref() {
        None | Some("smart") => None,
        Some("ssh") | Some("openssh") => Some(Transport::Openssh),
        Some("russh") | Some("paramiko") => Some(Transport::Russh),
        Some("local") => Some(Transport::Local),
        Some(other) => {
            return Err(r.invalid(
                "ansible_connection",
                format!("unsupported connection '{other}' (pgplay speaks ssh, russh and local)"),
            ))
        }
    };
    let port = match r.last(&["ansible_port", "ansible_ssh_port"]) {
        None => 22,
        Some((key, v)) => {
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            match n.and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0) {
                Some(n) => n,
                None => {
                    return Err(r.invalid(key, format!("expected a port number 1-65535, found {v}")))
                }
            }
        }
    };
    let address = r
        .text(&["ansible_host", "ansible_ssh_host"])?
        .unwrap_or_else(|| name.to_string());
    let key_file = r
        .text(&["ansible_private_key_file", "ansible_ssh_private_key_file"])?
        .map(|p| expand_home(&p));
    let become_method = r.text(&["ansible_become_method"])?;
    if let Some(m) = &become_method {
        if m != "sudo" && m != "su" {
            return Err(r.invalid(
                "ansible_become_method",
                format!("unsupported become method '{m}' (use sudo or su)"),
            ));
        }
    }
    let host_key_checking =
        match r.last(&["ansible_host_key_checking", "ansible_ssh_host_key_checking"]) {
            None => None,
            Some((key, _)) => Some(r.bool(key, true)?),
        };
    let mut ssh_args = Vec::new();
    for var in SSH_ARG_VARS {
        let Some(words) = r.words(&[var])? else {
            continue;
        };
        let options = ssh_args::parse(&words).map_err(|e| r.invalid(var, e))?;
        ssh_args.push(SshArgVar {
            var,
            words,
            options,
        });
    }
    let explicit = [
        "ansible_user",
        "ansible_ssh_user",
        "ansible_port",
        "ansible_ssh_port",
        "ansible_ssh_private_key_file",
        "ansible_private_key_file",
        "pgplay_known_hosts",
        "ansible_host_key_checking",
        "ansible_ssh_host_key_checking",
    ]
    .iter()
    .any(|k| vars.get(*k).is_some_and(|v| !v.is_null()));
    Ok(ConnVars {
        explicit,
        connection,
        address,
        port,
        user: r.text(&["ansible_user", "ansible_ssh_user"])?,
        key_file,
        known_hosts: r.text(&["pgplay_known_hosts"])?.map(|p| expand_home(&p)),
        r#become: r.bool("ansible_become", false)?,
        become_method,
        password: r.secret(&[
            "ansible_password",
            "ansible_ssh_pass",
            "ansible_ssh_password",
        ])?,
        sudo: r.become_vars("sudo")?,
        su: r.become_vars("su")?,
        timeout: r.seconds(&["ansible_timeout", "ansible_ssh_timeout"])?,
        host_key_checking,
        ssh_executable: r.text(&["ansible_ssh_executable"])?,
        pkcs11_provider: r.text(&["ansible_ssh_pkcs11_provider"])?,
        ssh_args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(vars: &str) -> std::result::Result<ConnVars, String> {
        let text = format!("all:\n  hosts:\n    db1:\n{vars}");
        let inv = crate::inventory::load_str("inv.yml", &text, &[]).map_err(|e| e.render())?;
        match inv.first_problem() {
            Some(e) => Err(e.render()),
            None => Ok(inv.hosts[0].conn.clone()),
        }
    }

    #[test]
    fn aliases_follow_ansible() {
        let c = host(
            "      ansible_host: a\n      ansible_ssh_host: b\n      ansible_password: p1\n      \
             ansible_ssh_pass: p2\n      ansible_ssh_timeout: '30'\n",
        );
        let Ok(c) = c else { panic!("{c:?}") };
        assert_eq!(c.address, "b");
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("p2"));
        assert_eq!(c.timeout, Some(Duration::from_secs(30)));
    }

    #[test]
    fn become_settings_per_method() {
        let c = host(
            "      ansible_become_password: generic\n      ansible_su_pass: root-pw\n      \
             ansible_become_flags: '-H -E'\n      ansible_sudo_exe: /opt/sudo\n",
        );
        let Ok(c) = c else { panic!("{c:?}") };
        let sudo = c.become_vars(BecomeMethod::Sudo);
        let su = c.become_vars(BecomeMethod::Su);
        assert_eq!(sudo.password.as_ref().map(Secret::expose), Some("generic"));
        assert_eq!(su.password.as_ref().map(Secret::expose), Some("root-pw"));
        assert_eq!(sudo.exe.as_deref(), Some("/opt/sudo"));
        assert_eq!(su.exe, None);
        assert_eq!(sudo.flags, Some(vec!["-H".into(), "-E".into()]));
    }

    #[test]
    fn refused_at_load() {
        for (vars, says) in [
            ("      ansible_password: '{{ vault_pw }}'\n", "templates"),
            ("      ansible_ssh_common_args: '-o \"x'\n", "not closed"),
            ("      ansible_ssh_extra_args: '-N'\n", "-N cannot be used"),
            (
                "      ansible_ssh_common_args: 'bastion'\n",
                "not an ssh option",
            ),
            ("      ansible_ssh_timeout: soon\n", "seconds"),
            ("      ansible_become_method: doas\n", "use sudo or su"),
        ] {
            match host(vars) {
                Err(e) => assert!(e.contains(says), "{vars}: {e}"),
                Ok(_) => panic!("{vars}: accepted"),
            }
        }
    }

    #[test]
    fn the_password_never_shows() {
        let c = host("      ansible_password: hunter2-xyz\n");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
