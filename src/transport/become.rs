//! Privilege escalation ("become") for remote and local commands.
//!
//! Pigsty backup tasks log in as an admin user and then act as `postgres`
//! (or root), exactly like Ansible's `become`. Escalation is done by wrapping
//! the task's `/bin/sh` script in one `sudo` or `su` command line, so that
//! the script (including the environment exports that pgplay prepends to it)
//! runs entirely as the target user, and the login shell only ever sees one
//! simple, fully quoted command.
//!
//! A become password (`ansible_become_password`, `-K`) never goes into the command line: sudo
//! reads it from stdin (`-S`) after printing pgplay's own prompt (`-p`), su reads it from stdin
//! after PAM's `Password: ` (in the C locale, so the prompt is known). The escalated script
//! first writes a marker to stderr; the transport answers the prompt and feeds the task's own
//! stdin only after that marker (see `dialog`), so the password can never reach the script,
//! and a wrong one is reported instead of being retried with the task's input.

use super::secret::Secret;
use crate::base::shell::quote;

/// How to switch to the become user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BecomeMethod {
    /// `sudo -n` (non-interactive: fails instead of prompting), or `sudo -S` with a password.
    #[default]
    Sudo,
    /// `su`; needs the become user's password unless the login user is root.
    Su,
}

impl BecomeMethod {
    pub fn name(self) -> &'static str {
        match self {
            BecomeMethod::Sudo => "sudo",
            BecomeMethod::Su => "su",
        }
    }
}

/// Run as `user` using `method`.
#[derive(Clone, Debug, Default)]
pub struct Become {
    pub user: String,
    pub method: BecomeMethod,
    /// The program (`ansible_become_exe`); `sudo` or `su` when unset.
    pub exe: Option<String>,
    /// Its flags (`ansible_become_flags`, split); sudo's default is `-H`, su's none. sudo's
    /// `-n`/`-S` are pgplay's to choose and are dropped from these.
    pub flags: Option<Vec<String>>,
    /// The password sudo (the login user's) or su (the become user's) asks for.
    pub password: Option<Secret>,
}

impl Become {
    pub fn new(user: impl Into<String>, method: BecomeMethod) -> Become {
        Become {
            user: user.into(),
            method,
            ..Become::default()
        }
    }

    fn exe(&self) -> String {
        quote(self.exe.as_deref().unwrap_or(self.method.name()))
    }

    fn flags(&self) -> String {
        let Some(given) = &self.flags else {
            return match self.method {
                BecomeMethod::Sudo => " -H".into(),
                BecomeMethod::Su => String::new(),
            };
        };
        let mut out = String::new();
        for f in given {
            let ours = self.method == BecomeMethod::Sudo
                && matches!(f.as_str(), "-n" | "-S" | "--non-interactive" | "--stdin");
            if !ours {
                out.push(' ');
                out.push_str(&quote(f));
            }
        }
        out
    }

    /// Whether a password dialog runs for this escalation.
    pub(crate) fn asks_password(&self) -> bool {
        self.password.as_ref().is_some_and(|p| !p.is_empty())
    }
}

/// The prompt pgplay gives sudo (`-p`), recognised on stderr and never shown.
pub(crate) const SUDO_PROMPT: &str = "[pgplay-sudo-password]:";
/// The prompt su (PAM) prints in the C locale.
pub(crate) const SU_PROMPT: &str = "Password: ";
/// Written to stderr by the escalated script before anything else (then removed).
pub(crate) const BECOME_OK: &[u8] = b"\x1epgplay-become-ok\x1e\n";

/// Wrap a shell script so it runs as `become.user` under /bin/sh:
/// `sudo -n -H -u USER -- /bin/sh -c '<script>'` or
/// `su -s /bin/sh USER -c '<script>'`.
/// When the login user already is `become.user` (caller passes
/// `login_user`), no wrapping. Always produce one command line for the
/// remote login shell. With a password: `sudo -S -p PROMPT ...` / `LC_ALL=C su ...`, and the
/// script starts by writing [`BECOME_OK`].
pub fn wrap(script: &str, r#become: Option<&Become>, login_user: &str) -> String {
    let Some(b) = r#become.filter(|b| b.user != login_user) else {
        return script.to_owned();
    };
    let asks = b.asks_password();
    let ready = "printf '\\036pgplay-become-ok\\036\\n' >&2\n";
    match b.method {
        BecomeMethod::Sudo if asks => format!(
            "{} -S -p {}{} -u {} -- /bin/sh -c {}",
            b.exe(),
            quote(SUDO_PROMPT),
            b.flags(),
            quote(&b.user),
            quote(&format!("{ready}{script}"))
        ),
        BecomeMethod::Sudo => format!(
            "{} -n{} -u {} -- /bin/sh -c {}",
            b.exe(),
            b.flags(),
            quote(&b.user),
            quote(script)
        ),
        // su's PAM prompt is only known in the C locale; the script gets the caller's LC_ALL
        // back (or none) before it runs.
        BecomeMethod::Su if asks => format!(
            "PGPLAY_LC_ALL=\"${{LC_ALL-}}\" PGPLAY_LC_SET=\"${{LC_ALL+1}}\" LC_ALL=C {}{} -s /bin/sh {} -c {}",
            b.exe(),
            b.flags(),
            quote(&b.user),
            quote(&format!(
                "{ready}if [ -n \"${{PGPLAY_LC_SET-}}\" ]; then LC_ALL=\"$PGPLAY_LC_ALL\"; export LC_ALL; \
                 else unset LC_ALL; fi; unset PGPLAY_LC_ALL PGPLAY_LC_SET\n{script}"
            ))
        ),
        BecomeMethod::Su => format!(
            "{}{} -s /bin/sh {} -c {}",
            b.exe(),
            b.flags(),
            quote(&b.user),
            quote(script)
        ),
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
        Become::new(user, method)
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

    #[test]
    fn exe_and_flags() {
        let mut s = b("root", BecomeMethod::Sudo);
        s.exe = Some("/opt/my sudo".into());
        s.flags = Some(vec!["-H".into(), "-S".into(), "-n".into(), "-E".into()]);
        assert_eq!(
            wrap("true", Some(&s), "admin"),
            "'/opt/my sudo' -n -H -E -u root -- /bin/sh -c true"
        );
        let mut su = b("root", BecomeMethod::Su);
        su.flags = Some(vec!["-l".into()]);
        assert_eq!(
            wrap("true", Some(&su), "admin"),
            "su -l -s /bin/sh root -c true"
        );
    }

    #[test]
    fn the_password_never_is_in_the_command() {
        let mut s = b("root", BecomeMethod::Sudo);
        s.password = Some(Secret::new("pa55-word'$(x)"));
        let cmd = wrap("id -un", Some(&s), "admin");
        assert!(!cmd.contains("pa55"), "{cmd}");
        assert!(
            cmd.starts_with("sudo -S -p '[pgplay-sudo-password]:' -H -u root -- /bin/sh -c "),
            "{cmd}"
        );
        assert!(cmd.contains("pgplay-become-ok"), "{cmd}");
        s.method = BecomeMethod::Su;
        let cmd = wrap("id -un", Some(&s), "admin");
        assert!(!cmd.contains("pa55"), "{cmd}");
        assert!(cmd.contains("LC_ALL=C su -s /bin/sh root -c "), "{cmd}");
    }
}
