//! The `ssh` command line of the openssh transport, and what `ssh -G` says it resolves to.
//!
//! ssh takes the first value it gets for an option, and the command line comes before any
//! configuration file. So the order says who wins: pgplay's own settings first (batch mode,
//! no persistence, its log level, the connect timeout), then the inventory's user, port and
//! keys (Ansible passes these before the user's arguments too), then the user's own ssh
//! arguments (`ansible_ssh_args`, `ansible_ssh_common_args`, `ansible_ssh_extra_args`), then
//! pgplay's defaults that those may override (keepalives, known_hosts and host key checking).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio as ProcessStdio;
use std::time::Duration;

use tokio::process::Command;

use super::{KEEPALIVE_INTERVAL_SECS, KEEPALIVE_MAX};
use crate::transport::{expand_tilde, ConnectOptions, HostKeyPolicy};

/// The OpenSSH client binary (looked up in `PATH`) unless `ansible_ssh_executable` names one.
pub(super) fn program(opts: &ConnectOptions) -> &str {
    opts.ssh_program.as_deref().unwrap_or("ssh")
}

/// Options common to `ssh -G` and the master (not `-M -N -S`).
pub(super) fn ssh_args(
    opts: &ConnectOptions,
    use_config_only: bool,
    ssh_config: Option<&Path>,
) -> Vec<OsString> {
    fn option(args: &mut Vec<OsString>, value: String) {
        args.push("-o".into());
        args.push(value.into());
    }
    let mut args: Vec<OsString> = Vec::new();
    if let Some(config) = ssh_config {
        args.push("-F".into());
        args.push(config.as_os_str().to_owned());
    }
    let timeout = opts.connect_timeout.as_secs_f64().ceil().max(1.0);
    let password = opts.password.is_some();
    let mut own = vec![
        // With a password ssh must ask for it: through the askpass program (see
        // `transport::askpass`), once; anything else it might ask is refused there.
        format!("BatchMode={}", if password { "no" } else { "yes" }),
        "ControlPersist=no".to_owned(),
        "ClearAllForwardings=yes".to_owned(),
        // Read back on failure (host key fingerprint, offered keys); the
        // log goes to a pipe that is drained, never to disk.
        "LogLevel=DEBUG1".to_owned(),
        format!("ConnectTimeout={timeout}"),
    ];
    if password {
        own.push("NumberOfPasswordPrompts=1".to_owned());
    }
    for value in own {
        option(&mut args, value);
    }
    if !use_config_only {
        if !opts.user.is_empty() {
            args.push("-l".into());
            args.push(opts.user.clone().into());
        }
        if opts.port != 22 {
            args.push("-p".into());
            args.push(opts.port.to_string().into());
        }
        for key in &opts.key_files {
            args.push("-i".into());
            args.push(ssh_path(&expand_tilde(key)).into());
        }
    }
    args.extend(opts.ssh_args.iter().map(OsString::from));
    let (interval, max) = opts.keepalive.unwrap_or((
        Duration::from_secs(KEEPALIVE_INTERVAL_SECS),
        KEEPALIVE_MAX as usize,
    ));
    option(
        &mut args,
        format!("ServerAliveInterval={}", interval.as_secs()),
    );
    option(&mut args, format!("ServerAliveCountMax={max}"));
    if use_config_only {
        return args;
    }
    if !opts.use_agent {
        option(&mut args, "IdentitiesOnly=yes".into());
        option(&mut args, "IdentityAgent=none".into());
    }
    option(
        &mut args,
        format!(
            "UserKnownHostsFile={}",
            ssh_path(&expand_tilde(&opts.known_hosts))
        ),
    );
    let policy = match opts.host_key_policy {
        HostKeyPolicy::Strict => "yes",
        HostKeyPolicy::AcceptNew => "accept-new",
    };
    option(&mut args, format!("StrictHostKeyChecking={policy}"));
    args
}

/// Make sure ssh can record a new host key: create the known_hosts file's
/// directory (0700) and the file itself (0600, like the russh transport) when
/// missing; ssh only creates `~/.ssh` by itself.
pub(super) fn prepare_known_hosts(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

/// A path as an ssh option value: `%` escaped (ssh expands `%` tokens in
/// file names), double quotes around names with blanks.
pub(super) fn ssh_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('%', "%%");
    if text.chars().any(char::is_whitespace) {
        format!("\"{text}\"")
    } else {
        text
    }
}

/// What `ssh -G` says the connection will use.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Resolved {
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub known_hosts: Option<PathBuf>,
}

pub(super) async fn resolve(program: &str, args: &[OsString], destination: &str) -> Resolved {
    let output = Command::new(program)
        .arg("-G")
        .args(args)
        .arg("--")
        .arg(destination)
        .stdin(ProcessStdio::null())
        .stderr(ProcessStdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(10), output).await {
        Ok(Ok(out)) if out.status.success() => {
            parse_resolved(&String::from_utf8_lossy(&out.stdout))
        }
        // The master reports the problem (bad configuration, no ssh).
        _ => Resolved::default(),
    }
}

fn parse_resolved(text: &str) -> Resolved {
    let mut resolved = Resolved::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        match key {
            "user" => resolved.user = Some(value.to_owned()),
            "hostname" => resolved.hostname = Some(value.to_owned()),
            "port" => resolved.port = value.parse().ok(),
            "userknownhostsfile" => {
                resolved.known_hosts = value
                    .split_whitespace()
                    .next()
                    .map(|p| expand_tilde(Path::new(p.trim_matches('"'))));
            }
            _ => {}
        }
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_g_output() {
        let text = "user postgres\nhostname 127.0.56.1\nport 2301\n\
                    userknownhostsfile /tmp/kh /tmp/kh2\nidentityfile ~/.ssh/id_rsa\n";
        assert_eq!(
            parse_resolved(text),
            Resolved {
                user: Some("postgres".into()),
                hostname: Some("127.0.56.1".into()),
                port: Some(2301),
                known_hosts: Some(PathBuf::from("/tmp/kh")),
            }
        );
    }

    #[test]
    fn option_paths() {
        assert_eq!(ssh_path(Path::new("/a/b")), "/a/b");
        assert_eq!(ssh_path(Path::new("/a b/100%")), "\"/a b/100%%\"");
    }

    #[test]
    fn user_arguments_sit_between_the_inventory_and_the_defaults() {
        let opts = ConnectOptions {
            host: "db1".into(),
            address: "127.0.0.25".into(),
            user: "alice".into(),
            password: Some(crate::transport::Secret::new("pw-never-in-argv")),
            ssh_args: vec!["-o".into(), "StrictHostKeyChecking=no".into()],
            ..ConnectOptions::default()
        };
        let args: Vec<String> = ssh_args(&opts, false, None)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(!args.iter().any(|a| a.contains("pw-never")), "{args:?}");
        let at = |w: &str| args.iter().position(|a| a == w);
        assert!(at("BatchMode=no").is_some(), "{args:?}");
        assert!(at("NumberOfPasswordPrompts=1").is_some(), "{args:?}");
        let (Some(login), Some(theirs), Some(ours)) = (
            at("-l"),
            at("StrictHostKeyChecking=no"),
            at("StrictHostKeyChecking=yes"),
        ) else {
            panic!("{args:?}")
        };
        assert!(login < theirs && theirs < ours, "{args:?}");
        let plain = ConnectOptions {
            password: None,
            ..opts
        };
        let args = ssh_args(&plain, true, None);
        assert!(args.iter().any(|a| a == "BatchMode=yes"));
        assert!(!args.iter().any(|a| a == "-l"));
    }
}
