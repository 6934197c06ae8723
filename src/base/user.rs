//! The user running pgplay: their name and their home directory.
//!
//! The default SSH login user, the local transport's "do I need to become someone" check and a
//! jump host without a user all need the name of the user running pgplay, and must agree (the
//! login user decides whether `become` is skipped). Paths in the inventory, ansible.cfg and ssh
//! options start with `~`. Each has one answer here.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

/// Name of the user running this process, computed once: `id -un` (the name of our uid, as ssh
/// itself picks its default login user), else `$USER`, else `$LOGNAME`, else `root`.
pub fn current_user() -> &'static str {
    static USER: OnceLock<String> = OnceLock::new();
    USER.get_or_init(|| {
        let from_id = std::process::Command::new("id")
            .arg("-un")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned());
        let from_env = |name| std::env::var(name).ok();
        [from_id, from_env("USER"), from_env("LOGNAME")]
            .into_iter()
            .flatten()
            .find(|name| !name.is_empty())
            .unwrap_or_else(|| "root".to_owned())
    })
}

/// `~` and `~/x` under this process's home directory; anything else (and everything when
/// there is no home) unchanged.
pub fn expand_home(path: impl AsRef<Path>) -> PathBuf {
    expand_home_in(path, dirs::home_dir().as_deref())
}

/// `~` and `~/x` under `home` (settings resolution passes the home it was given, so that it
/// can be tested without touching the process's environment). `~user/x` is left alone.
pub fn expand_home_in(path: impl AsRef<Path>, home: Option<&Path>) -> PathBuf {
    let path = path.as_ref();
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) if rest.as_os_str().is_empty() => home.to_path_buf(),
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_expansion() {
        let home = Some(Path::new("/home/u"));
        assert_eq!(
            expand_home_in("~/.ssh/k", home),
            PathBuf::from("/home/u/.ssh/k")
        );
        assert_eq!(expand_home_in("~", home), PathBuf::from("/home/u"));
        assert_eq!(expand_home_in("~/", home), PathBuf::from("/home/u"));
        assert_eq!(expand_home_in("/etc/x", home), PathBuf::from("/etc/x"));
        assert_eq!(expand_home_in("~other/x", home), PathBuf::from("~other/x"));
        assert_eq!(expand_home_in("a/~/b", home), PathBuf::from("a/~/b"));
        assert_eq!(expand_home_in("~/x", None), PathBuf::from("~/x"));
    }

    #[test]
    fn process_home() {
        assert_eq!(expand_home("/etc/x"), PathBuf::from("/etc/x"));
        if let Some(home) = dirs::home_dir() {
            assert_eq!(expand_home("~/.ssh/k"), home.join(".ssh/k"));
        }
    }

    #[test]
    fn someone_runs_this() {
        assert!(!current_user().is_empty());
    }
}
