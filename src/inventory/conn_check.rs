//! Connection variables against the transport each host of a run uses, before the first
//! connection.
//!
//! Which transport a host uses is only known with the command line (`-c`, unless the host
//! says `ansible_connection`), so this runs after loading: a setting the host's transport
//! cannot honour (an ssh option russh cannot do, `ansible_ssh_executable` under russh) refuses
//! the run when the host is in play — naming the host, the variable, where it was set and the
//! transport that honours it — and is a warning, said once, when it is not. Variables pgplay
//! does not support, and names that look like a misspelt connection variable, are warnings
//! for the hosts in play.

use std::collections::HashSet;

use super::conn::{ConnVars, Transport, Use, VARIABLES};
use super::{HostId, Inventory};
use crate::error::{did_you_mean, Error, Result};
use crate::transport::ssh_args::Meaning;
use crate::vars::Problem;

/// What russh does with ssh options itself (for messages).
const RUSSH_OPTIONS: &str = "ProxyJump/-J, StrictHostKeyChecking, UserKnownHostsFile, \
     ConnectTimeout, IdentityFile/-i, IdentitiesOnly, Compression/-C, ServerAliveInterval, \
     ServerAliveCountMax";

const USE_OPENSSH: &str =
    "run with -c openssh (or set ansible_connection: ssh for this host), which hands it to ssh";

/// Refuse what a host in play cannot be connected with; the rest as warnings, each once.
pub fn check(inv: &Inventory, in_play: &[HostId], default: Transport) -> Result<Vec<String>> {
    let played: HashSet<HostId> = in_play.iter().copied().collect();
    let mut shown: Vec<Problem> = Vec::new();
    let mut out = Vec::new();
    let mut warn = |p: Problem, why: &str, out: &mut Vec<String>| {
        if !shown.iter().any(|s| s.same_as(&p)) {
            out.push(p.warning(why));
            shown.push(p);
        }
    };
    for id in inv.host_ids() {
        let host = inv.host(id);
        let transport = host.conn.transport(default);
        for p in refusals(inv, id, transport) {
            if played.contains(&id) {
                let e = p.error();
                return Err(match e {
                    Error::Invalid {
                        span,
                        key,
                        message,
                        hint,
                    } => Error::Invalid {
                        span,
                        key,
                        message: format!("host {}: {message}", host.name),
                        hint,
                    },
                    other => other,
                });
            }
            let why = format!(
                "not used by this run ({} is not in it); a run that connects to it is refused",
                host.name
            );
            warn(p, &why, &mut out);
        }
        if played.contains(&id) {
            for p in unsupported(inv, id) {
                warn(p, "the run goes on without it", &mut out);
            }
        }
    }
    Ok(out)
}

fn problem(inv: &Inventory, id: HostId, key: &str, message: String, hint: &str) -> Problem {
    let host = inv.host(id);
    let span = host
        .var_nodes
        .get(key)
        .map(|n| &n.span)
        .unwrap_or(&host.span);
    Problem::new(
        Error::invalid(span, key, message).with_hint(hint),
        &host.span,
        &[],
    )
}

/// What the host's transport cannot honour.
fn refusals(inv: &Inventory, id: HostId, transport: Transport) -> Vec<Problem> {
    if transport != Transport::Russh {
        return Vec::new();
    }
    let c: &ConnVars = &inv.host(id).conn;
    let mut out = Vec::new();
    for (var, option) in c.ssh_options() {
        if option.meaning != Meaning::OpensshOnly {
            continue;
        }
        let text = &option.text;
        let proxy_command = text.to_ascii_lowercase().contains("proxycommand");
        let (message, hint) = if proxy_command {
            (
                format!(
                    "{text}: a ProxyCommand runs a program to reach the host, which only the \
                     openssh transport can do (-c openssh); this run uses russh"
                ),
                "run with -c openssh, or use -o ProxyJump=user@bastion, which russh does itself"
                    .to_string(),
            )
        } else {
            (
                format!(
                    "{text} is honoured by the openssh transport (-c openssh); this run uses \
                     russh, which understands only {RUSSH_OPTIONS}"
                ),
                USE_OPENSSH.to_string(),
            )
        };
        out.push(problem(inv, id, var, message, &hint));
    }
    for (key, set) in [
        ("ansible_ssh_executable", c.ssh_executable.is_some()),
        ("ansible_ssh_pkcs11_provider", c.pkcs11_provider.is_some()),
    ] {
        if set {
            let message = "honoured by the openssh transport (-c openssh); this run uses russh, \
                           which runs no ssh program"
                .to_string();
            out.push(problem(inv, id, key, message, USE_OPENSSH));
        }
    }
    out
}

/// Variables set on the host that pgplay does not support, and likely misspellings.
fn unsupported(inv: &Inventory, id: HostId) -> Vec<Problem> {
    let host = inv.host(id);
    let known: Vec<&str> = VARIABLES.iter().map(|(n, _)| *n).collect();
    let mut out = Vec::new();
    for (name, value) in &host.vars {
        if value.is_null() || !name.starts_with("ansible_") {
            continue;
        }
        match VARIABLES.iter().find(|(n, _)| n == name) {
            Some((_, Use::Unsupported(why))) => out.push(problem(
                inv,
                id,
                name,
                format!("not supported: {why}"),
                "remove it, or keep it for Ansible: pgplay does not use it",
            )),
            Some(_) => {}
            None => {
                let connection_like = [
                    "ansible_ssh_",
                    "ansible_become",
                    "ansible_sudo_",
                    "ansible_su_",
                ]
                .iter()
                .any(|p| name.starts_with(p));
                let close = known
                    .iter()
                    .find(|k| strsim::damerau_levenshtein(name, k) <= 2);
                if connection_like || close.is_some() {
                    let guess = did_you_mean(name, known.iter().copied())
                        .map(|g| format!(" ({g})"))
                        .unwrap_or_default();
                    out.push(problem(
                        inv,
                        id,
                        name,
                        format!("not a connection variable pgplay knows, so it is not used{guess}"),
                        "see \"Connection variables\" in the README",
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(vars: &str) -> Inventory {
        let text = format!(
            "all:\n  hosts:\n    db1: {{}}\n    db2: {{ ansible_connection: ssh }}\n  vars:\n{vars}"
        );
        match crate::inventory::load_str("inv.yml", &text, &[]) {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn russh_refuses_what_only_openssh_does() {
        let i = inv("    ansible_ssh_common_args: '-o ProxyCommand=\"ssh -W %h:%p gw\"'\n");
        let db1 = HostId(0);
        let err = check(&i, &[db1], Transport::Russh)
            .err()
            .map(|e| e.render());
        let err = err.unwrap_or_default();
        assert!(err.contains("inv.yml:6:"), "{err}");
        assert!(err.contains("ansible_ssh_common_args"), "{err}");
        assert!(err.contains("host db1"), "{err}");
        assert!(err.contains("-c openssh"), "{err}");
        // db2 says ansible_connection: ssh; under -c openssh nobody is refused.
        assert!(check(&i, &[HostId(1)], Transport::Russh).is_ok());
        assert!(check(&i, &[db1], Transport::Openssh).is_ok());
        // Not in play: a warning.
        let w = check(&i, &[HostId(1)], Transport::Russh).unwrap_or_default();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("db1 is not in it"), "{w:?}");
    }

    #[test]
    fn russh_keeps_what_it_does_itself() {
        let i = inv(
            "    ansible_ssh_common_args: '-o ProxyJump=root@gw -o StrictHostKeyChecking=no -C'\n\
             \x20   ansible_ssh_args: '-o ControlMaster=auto -o ControlPersist=60s'\n",
        );
        assert_eq!(
            check(&i, &[HostId(0)], Transport::Russh).ok(),
            Some(Vec::new())
        );
        let i = inv("    ansible_ssh_executable: /opt/ssh\n");
        assert!(check(&i, &[HostId(0)], Transport::Russh).is_err());
        assert!(check(&i, &[HostId(0)], Transport::Local).is_ok());
    }

    #[test]
    fn unsupported_and_misspelt_are_warned() {
        let i = inv(
            "    ansible_ssh_retries: 3\n    ansible_ssh_passwd: x\n    ansible_python_interpreter: /usr/bin/python3\n    ansible_hostname: db\n",
        );
        let w = check(&i, &[HostId(0)], Transport::Russh).unwrap_or_default();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w
            .iter()
            .any(|l| l.contains("ansible_ssh_retries: not supported")));
        assert!(w
            .iter()
            .any(|l| l.contains("did you mean 'ansible_ssh_pass'")));
    }
}
