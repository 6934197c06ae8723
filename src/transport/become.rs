//! Privilege escalation ("become") for remote and local commands.
//!
//! Pigsty backup tasks log in as an admin user and then act as `postgres`
//! (or root), exactly like Ansible's `become`. Escalation is done by wrapping
//! the task's `/bin/sh` script in one `sudo` or `su` command line, so that
//! the script (including the environment exports that pgplay prepends to it)
//! runs entirely as the target user, and the login shell only ever sees one
//! simple, fully quoted command.

use super::quote::quote;

/// How to switch to the become user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BecomeMethod {
    /// `sudo -n` (non-interactive: fails instead of prompting for a password).
    #[default]
    Sudo,
    /// `su`; only works without a password when the login user is root.
    Su,
}

/// Run as `user` using `method`.
#[derive(Clone, Debug)]
pub struct Become {
    pub user: String,
    pub method: BecomeMethod,
}

/// Wrap a shell script so it runs as `become.user` under /bin/sh:
/// `sudo -n -H -u USER -- /bin/sh -c '<script>'` or
/// `su -s /bin/sh USER -c '<script>'`.
/// When the login user already is `become.user` (caller passes
/// `login_user`), no wrapping. Always produce one command line for the
/// remote login shell.
pub fn wrap(script: &str, r#become: Option<&Become>, login_user: &str) -> String {
    match r#become {
        Some(b) if b.user != login_user => match b.method {
            BecomeMethod::Sudo => format!(
                "sudo -n -H -u {} -- /bin/sh -c {}",
                quote(&b.user),
                quote(script)
            ),
            BecomeMethod::Su => format!("su -s /bin/sh {} -c {}", quote(&b.user), quote(script)),
        },
        _ => script.to_owned(),
    }
}

/// True when [`wrap`] would change the script (escalation is needed).
pub(crate) fn needs_wrap(r#become: Option<&Become>, login_user: &str) -> bool {
    matches!(r#become, Some(b) if b.user != login_user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(user: &str, method: BecomeMethod) -> Become {
        Become {
            user: user.into(),
            method,
        }
    }

    #[test]
    fn no_become_is_identity() {
        assert_eq!(wrap("echo hi", None, "admin"), "echo hi");
        let pg = b("postgres", BecomeMethod::Sudo);
        assert_eq!(wrap("echo hi", Some(&pg), "postgres"), "echo hi");
        assert!(!needs_wrap(Some(&pg), "postgres"));
        assert!(needs_wrap(Some(&pg), "admin"));
    }

    #[test]
    fn sudo_and_su() {
        let pg = b("postgres", BecomeMethod::Sudo);
        assert_eq!(
            wrap("echo 'x'", Some(&pg), "admin"),
            "sudo -n -H -u postgres -- /bin/sh -c 'echo '\\''x'\\'''"
        );
        let pg = b("postgres", BecomeMethod::Su);
        assert_eq!(
            wrap("id -un", Some(&pg), "root"),
            "su -s /bin/sh postgres -c 'id -un'"
        );
        let odd = b("a b", BecomeMethod::Sudo);
        assert_eq!(
            wrap("true", Some(&odd), "root"),
            "sudo -n -H -u 'a b' -- /bin/sh -c true"
        );
    }
}
