//! The one list of every connection variable Ansible's ssh connection and sudo/su become
//! plugins read, with what pgplay does with each (README and `conn_check` read it from here).

/// What pgplay does with a connection variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// Honoured on every transport.
    Both,
    /// ssh options: passed to ssh by the openssh transport; russh honours the ones it can do
    /// itself and refuses the others (see `transport::ssh_args`).
    SshArgs,
    /// Honoured by the openssh transport; refused for a host that would use russh.
    Openssh,
    /// Meaningless for pgplay (the reason says why): accepted and not used.
    Irrelevant(&'static str),
    /// Not supported: a warning says why.
    Unsupported(&'static str),
}

/// Every connection variable pgplay knows, in one place.
pub const VARIABLES: &[(&str, Use)] = &[
    ("ansible_connection", Use::Both),
    ("ansible_host", Use::Both),
    ("ansible_ssh_host", Use::Both),
    ("ansible_port", Use::Both),
    ("ansible_ssh_port", Use::Both),
    ("ansible_user", Use::Both),
    ("ansible_ssh_user", Use::Both),
    ("ansible_private_key_file", Use::Both),
    ("ansible_ssh_private_key_file", Use::Both),
    ("ansible_password", Use::Both),
    ("ansible_ssh_pass", Use::Both),
    ("ansible_ssh_password", Use::Both),
    ("ansible_timeout", Use::Both),
    ("ansible_ssh_timeout", Use::Both),
    ("ansible_host_key_checking", Use::Both),
    ("ansible_ssh_host_key_checking", Use::Both),
    ("pgplay_known_hosts", Use::Both),
    ("ansible_ssh_args", Use::SshArgs),
    ("ansible_ssh_common_args", Use::SshArgs),
    ("ansible_ssh_extra_args", Use::SshArgs),
    ("ansible_ssh_executable", Use::Openssh),
    ("ansible_ssh_pkcs11_provider", Use::Openssh),
    ("ansible_become", Use::Both),
    ("ansible_become_method", Use::Both),
    ("ansible_become_user", Use::Both),
    ("ansible_become_password", Use::Both),
    ("ansible_become_pass", Use::Both),
    ("ansible_become_exe", Use::Both),
    ("ansible_become_flags", Use::Both),
    ("ansible_sudo_user", Use::Both),
    ("ansible_sudo_pass", Use::Both),
    ("ansible_sudo_exe", Use::Both),
    ("ansible_sudo_flags", Use::Both),
    ("ansible_su_user", Use::Both),
    ("ansible_su_pass", Use::Both),
    ("ansible_su_exe", Use::Both),
    ("ansible_su_flags", Use::Both),
    (
        "ansible_python_interpreter",
        Use::Irrelevant("pgplay runs no Python on hosts"),
    ),
    (
        "ansible_pipelining",
        Use::Irrelevant("commands always go over the one open session"),
    ),
    (
        "ansible_ssh_pipelining",
        Use::Irrelevant("commands always go over the one open session"),
    ),
    (
        "ansible_ssh_transfer_method",
        Use::Irrelevant("files travel over the session, never with scp or sftp"),
    ),
    (
        "ansible_scp_if_ssh",
        Use::Irrelevant("files travel over the session, never with scp or sftp"),
    ),
    (
        "ansible_scp_extra_args",
        Use::Irrelevant("files travel over the session, never with scp or sftp"),
    ),
    (
        "ansible_sftp_extra_args",
        Use::Irrelevant("files travel over the session, never with scp or sftp"),
    ),
    (
        "ansible_sftp_batch_mode",
        Use::Irrelevant("files travel over the session, never with scp or sftp"),
    ),
    (
        "ansible_scp_executable",
        Use::Irrelevant("files travel over the session, never with scp or sftp"),
    ),
    (
        "ansible_sftp_executable",
        Use::Irrelevant("files travel over the session, never with scp or sftp"),
    ),
    (
        "ansible_control_path",
        Use::Irrelevant("pgplay keeps one session per host itself"),
    ),
    (
        "ansible_control_path_dir",
        Use::Irrelevant("pgplay keeps one session per host itself"),
    ),
    (
        "ansible_sshpass_prompt",
        Use::Irrelevant("pgplay does not use sshpass"),
    ),
    (
        "ansible_ssh_use_tty",
        Use::Irrelevant("become passwords go through stdin: no terminal is needed"),
    ),
    (
        "ansible_module_compression",
        Use::Irrelevant("no modules are copied to hosts"),
    ),
    (
        "ansible_shell_type",
        Use::Unsupported("pgplay runs every command with /bin/sh"),
    ),
    (
        "ansible_shell_executable",
        Use::Unsupported("pgplay runs every command with /bin/sh"),
    ),
    (
        "ansible_ssh_retries",
        Use::Unsupported("pgplay connects once per host and reports a host it cannot reach"),
    ),
];

/// The ssh option variables, in the order Ansible adds them to ssh's command line.
pub const SSH_ARG_VARS: [&str; 3] = [
    "ansible_ssh_args",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
];
