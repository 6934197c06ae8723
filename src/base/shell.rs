//! POSIX `sh` words: quoting them, and splitting a command line into them.
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
//!
//! Splitting is the reverse, for text written in shell syntax that pgplay runs without a shell
//! (the `command` module's free form, `ansible_ssh_args`): Ansible splits both with Python's
//! `shlex.split`, and so does [`split`]. The template engine's `quote` filter is [`quote`] too:
//! one quoting rule for everything that reaches a host.

use super::text::is_identifier;

/// Characters that never need quoting in a shell word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '.' | '/' | '=' | ':' | ',' | '+' | '@' | '%' | '-')
}

/// `NAME=...` as the first word of a command would be parsed as a variable
/// assignment instead of a command name, so such words are always quoted.
fn looks_like_assignment(s: &str) -> bool {
    match s.split_once('=') {
        Some((name, _)) => is_identifier(name),
        None => false,
    }
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

/// Python's `shlex.split` (POSIX mode, no comments), which Ansible uses: space, tab, CR and LF
/// separate words; `'...'` is literal; `"..."` keeps blanks and honours `\"` and `\\` only; a
/// backslash outside quotes escapes the next character. An unclosed quote or a trailing lone
/// backslash is an error, as in Python.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
                None => return Err("it ends with a lone backslash".into()),
            },
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
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

    fn words(s: &str) -> Vec<String> {
        split(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn splits_like_python_shlex() {
        assert_eq!(
            words(r#"-o 'ProxyCommand=ssh -W %h:%p bastion' -o "User=a b" x\ y"#),
            vec![
                "-o",
                "ProxyCommand=ssh -W %h:%p bastion",
                "-o",
                "User=a b",
                "x y"
            ]
        );
        assert_eq!(words(r#""a\"b\\c\d" '' "#), vec![r#"a"b\c\d"#, ""]);
        assert_eq!(
            words(r#"echo 'a b' "c \"d\"" e\ f ;rm"#),
            vec!["echo", "a b", "c \"d\"", "e f", ";rm"]
        );
        assert_eq!(words("a\tb\r\nc  #d"), vec!["a", "b", "c", "#d"]);
        assert_eq!(words(r#""\$HOME" a"b"c"#), vec![r"\$HOME", "abc"]);
        assert!(split("-o 'x").is_err());
        assert!(split("-o \"x").is_err());
        assert!(split("x\\").is_err());
        assert!(words("  ").is_empty());
    }

    #[test]
    fn split_reads_back_what_quote_writes() {
        let hostile = [
            "a'b; $(rm -rf /)",
            "",
            "x y",
            "FOO=bar",
            "\\\"'",
            "new\nline",
        ];
        let line = join_argv(&hostile);
        assert_eq!(words(&line), hostile);
    }
}
