//! POSIX `sh` quoting.
//!
//! Every command line that pgplay sends to a host is interpreted by a shell
//! (the remote login shell, then `/bin/sh`, possibly through `sudo`/`su`), so
//! anything derived from inventory or user data must be quoted before it is
//! spliced into a script. Single quotes are the only POSIX quoting form with
//! no special characters inside, which makes them safe for arbitrary text:
//! the one character that cannot appear inside them, `'`, is emitted as
//! `'\''` (close quote, escaped quote, reopen quote).
//!
//! NUL cannot be carried by any shell command line (argv strings are C
//! strings); a string containing NUL is still quoted, and the consumer either
//! rejects it (local spawn) or truncates it inside an unterminated quote,
//! which is a syntax error rather than an injection.

/// Characters that never need quoting in a shell word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '.' | '/' | '=' | ':' | ',' | '+' | '@' | '%' | '-')
}

/// `NAME=...` as the first word of a command would be parsed as a variable
/// assignment instead of a command name, so such words are always quoted.
fn looks_like_assignment(s: &str) -> bool {
    match s.split_once('=') {
        Some((name, _)) => is_env_name(name),
        None => false,
    }
}

/// True for a valid POSIX shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Quote `s` so that a POSIX shell reads it back as exactly one word equal
/// to `s`. Plain words (`[A-Za-z0-9_./=:,+@%-]+`, not shaped like an
/// assignment) are returned unchanged for readable logs.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(is_plain) && !looks_like_assignment(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Quote every element of `argv` and join them with single spaces.
pub fn join_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_unquoted() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("/usr/bin/pgbackrest"), "/usr/bin/pgbackrest");
        assert_eq!(quote("--stanza=pg-meta"), "--stanza=pg-meta");
        assert_eq!(quote("user@host:5432,x+y%z"), "user@host:5432,x+y%z");
    }

    #[test]
    fn special_words_are_quoted() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote("a\nb"), "'a\nb'");
        assert_eq!(quote("~"), "'~'");
        assert_eq!(quote("*"), "'*'");
        assert_eq!(quote("FOO=bar"), "'FOO=bar'");
        assert_eq!(quote("=bar"), "=bar");
    }

    #[test]
    fn join() {
        assert_eq!(join_argv(&["echo", "a b", "c"]), "echo 'a b' c");
        assert_eq!(join_argv::<&str>(&[]), "");
        assert_eq!(join_argv(&[String::from("x'y")]), "'x'\\''y'");
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("PGDATA"));
        assert!(is_env_name("_x1"));
        assert!(!is_env_name(""));
        assert!(!is_env_name("1A"));
        assert!(!is_env_name("A-B"));
        assert!(!is_env_name("A B"));
    }
}
