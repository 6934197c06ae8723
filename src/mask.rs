//! Masking secrets before anything is printed, logged or sent as JSON.
//!
//! A secret is the value of a variable whose name says so (`cipher_pass`, `s3_key_secret`,
//! `*password*`, `*token*`), from any source: inventory, playbook defaults and vars, registered
//! facts, `-e`. It is masked in three ways, all applied to every text pgplay shows:
//!
//! - **by structure**: a line `key=value`, `key: value`, `export KEY=value`, a diff line of such a
//!   file, `--key=value` inside a command and `"key": "value"` inside JSON hide the value whenever
//!   the key is secret-named, whatever the value is and however short. This is what hides the old
//!   secret on the before side of a diff, which no variable holds any more.
//! - **as a known value after its key**: a known secret standing as the value of a secret-named key
//!   anywhere in a line (`... cipher-pass=abc`, `PASSWORD 'abc'`).
//! - **as free text**: a known secret of at least [`FREE_TEXT_MIN`] characters that is not also an
//!   ordinary word of the output is replaced wherever it appears (a command that echoes it, an
//!   error that quotes it). A secret that is such a word (Pigsty's default `cipher_pass` is
//!   "pgBackRest", the name of the tool in every line of its log) is masked only by the two rules
//!   above, so that the rest of the text keeps its words.
//!
//! All known secrets are matched at once, longest first (aho-corasick, leftmost-longest), so a
//! secret that contains another is hidden whole.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use serde_json::{Map, Value};

pub const MASK: &str = "********";

/// Secrets shorter than this are masked only where they stand as a secret key's value.
pub const FREE_TEXT_MIN: usize = 6;

/// A key whose value is a secret in JSON results (`key` included: `s3_key`, `private_key`).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    (k.contains("pass") || k.contains("secret") || k.contains("token") || k.contains("key"))
        && !is_excluded(&k)
}

/// A key whose string value is collected as a secret and masked inside text.
pub fn is_text_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    (k.contains("pass") || k.contains("secret") || k.contains("token")) && !is_excluded(&k)
}

/// Names that contain a secret word but hold no secret: a file name, a type, a method
/// (`ansible_ssh_private_key_file`, `s3_key_type`, `password_encryption`).
fn is_excluded(lower: &str) -> bool {
    const SUFFIXES: &[&str] = &["file", "type", "path", "dir", "method", "encryption"];
    SUFFIXES.iter().any(|s| {
        lower
            .strip_suffix(s)
            .is_some_and(|rest| rest.ends_with('_') || rest.ends_with('-'))
    })
}

#[derive(Debug, Clone)]
struct Known {
    value: String,
    /// Masked wherever it appears (long enough and not an ordinary word).
    free: bool,
}

/// The secrets known for one host, with their matcher.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    known: Vec<Known>,
    matcher: Option<AhoCorasick>,
}

impl Secrets {
    /// Learn the secrets held by `vars` (nested maps and lists of maps included). `vocabulary`
    /// holds texts whose words are ordinary (pgplay's own playbooks and templates); a secret that
    /// is one of their words, or a word of a non-secret value of `vars`, is not masked as free
    /// text. Returns whether a new secret was learnt.
    pub fn learn(&mut self, vars: &Map<String, Value>, vocabulary: &[&str]) -> bool {
        let mut found = Vec::new();
        let mut plain = Vec::new();
        walk(vars, &mut found, Some(&mut plain));
        let mut learnt = false;
        for s in found {
            let s = s.as_ref();
            if s.is_empty() || self.known.iter().any(|k| k.value == s) {
                continue;
            }
            let ordinary =
                vocabulary.iter().any(|t| has_word(t, s)) || plain.iter().any(|t| has_word(t, s));
            let free = s.chars().count() >= FREE_TEXT_MIN && !ordinary;
            self.known.push(Known {
                value: s.to_string(),
                free,
            });
            learnt = true;
        }
        if learnt {
            // Longest first; a match's pattern index is its place in `known`.
            self.known.sort_by_key(|k| std::cmp::Reverse(k.value.len()));
            self.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(self.known.iter().map(|k| k.value.as_str()))
                .ok();
        }
        learnt
    }

    /// Whether `vars` hold a secret not known yet (cheap: nothing is copied).
    pub fn has_new(&self, vars: &Map<String, Value>) -> bool {
        let mut found = Vec::new();
        walk(vars, &mut found, None);
        found
            .iter()
            .any(|s| !s.is_empty() && !self.known.iter().any(|k| k.value == s.as_ref()))
    }

    /// Mask a text: structure first, then known secrets.
    pub fn text(&self, s: &str) -> String {
        let structured = structural(s, false);
        let Some(matcher) = &self.matcher else {
            return structured;
        };
        let mut out = String::with_capacity(structured.len());
        let mut last = 0;
        for m in matcher.find_iter(&structured) {
            let Some(known) = self.known.get(m.pattern().as_usize()) else {
                continue;
            };
            let hide = known.free || stands_as_value(&structured, m.start(), m.end());
            if hide {
                out.push_str(&structured[last..m.start()]);
                out.push_str(MASK);
                last = m.end();
            }
        }
        out.push_str(&structured[last..]);
        out
    }

    /// Mask a JSON value: secret-named keys by structure, strings as text.
    pub fn value(&self, v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let masked = match v {
                            Value::String(_) | Value::Number(_) if is_secret_key(k) => {
                                Value::String(MASK.into())
                            }
                            other => self.value(other),
                        };
                        (k.clone(), masked)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            Value::String(s) => Value::String(self.text(s)),
            other => other.clone(),
        }
    }
}

/// A shared, cheaply cloned set of secrets (a host's, as of a step).
pub type Shared = Arc<Secrets>;

/// Collect secret values (under secret-named keys) and, when `plain` is given, the other
/// strings, from nested maps and lists.
fn walk<'a>(
    vars: &'a Map<String, Value>,
    found: &mut Vec<Cow<'a, str>>,
    mut plain: Option<&mut Vec<&'a str>>,
) {
    for (k, v) in vars {
        match v {
            Value::String(s) if is_text_secret_key(k) => found.push(Cow::Borrowed(s)),
            Value::Number(n) if is_text_secret_key(k) => found.push(Cow::Owned(n.to_string())),
            Value::String(s) => plain.iter_mut().for_each(|p| p.push(s)),
            Value::Object(m) => walk(m, found, plain.as_deref_mut()),
            Value::Array(items) => {
                for i in items {
                    match i {
                        Value::Object(m) => walk(m, found, plain.as_deref_mut()),
                        Value::String(s) => plain.iter_mut().for_each(|p| p.push(s)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `word` occurs in `text` with no word character on either side.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// Whether the match at `start..end` stands as the value of a secret-named key:
/// `key=`, `key: `, `"key": "`, `--key=`, `PASSWORD '` right before it, and no word character
/// right after it.
fn stands_as_value(text: &str, start: usize, end: usize) -> bool {
    if text[end..].chars().next().is_some_and(is_word_char) {
        return false;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..start];
    static BEFORE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r#"([A-Za-z0-9_.\-]+)["']?[ \t]*[=:][ \t]*["']?$|([A-Za-z0-9_.\-]+)[ \t]+["']$"#)
            .ok()
    });
    let Some(re) = BEFORE.as_ref() else {
        return false;
    };
    re.captures(prefix).is_some_and(|c| {
        c.get(1)
            .or_else(|| c.get(2))
            .is_some_and(|k| is_text_secret_key(k.as_str()))
    })
}

static SECRET_WORD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)pass|secret|token").ok());

/// Lines of `key=value` / `key: value` (INI, env, YAML, a diff of them) with a secret-named key.
static LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"^([+\- ]?[ \t]*(?:export[ \t]+)?["']?([A-Za-z_][A-Za-z0-9_.\-]*)["']?[ \t]*[=:][ \t]*)(\S.*)$"#,
    )
    .ok()
});

/// `key=value` inside a line (a command's `--repo1-cipher-pass=x`).
static ASSIGN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z0-9_.\-]*(?i:pass|secret|token)[A-Za-z0-9_.\-]*)=([^\s"',;&|]+)"#).ok()
});

/// `"key": "value"` inside a line (JSON).
static JSON_PAIR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#""([^"\\]*(?i:pass|secret|token)[^"\\]*)"[ \t]*:[ \t]*"((?:[^"\\]|\\.)*)""#).ok()
});

/// `key: value` inside a YAML flow mapping (`{ s3_key_secret: x, ... }`), for source lines.
static FLOW_PAIR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z0-9_.\-]*(?i:pass|secret|token)[A-Za-z0-9_.\-]*)["']?[ \t]*:[ \t]+([^,}\]\s#][^,}\]#]*)"#)
        .ok()
});

/// Mask secret-named keys' values by structure alone, with no known secret. `source` adds the
/// YAML flow-mapping rule, for showing a line of an inventory or playbook.
pub fn structural(s: &str, source: bool) -> String {
    if !SECRET_WORD.as_ref().is_some_and(|r| r.is_match(s)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&mask_line(line, source));
    }
    out
}

fn mask_line(line: &str, source: bool) -> String {
    if !SECRET_WORD.as_ref().is_some_and(|r| r.is_match(line)) {
        return line.to_string();
    }
    if let Some(c) = LINE.as_ref().and_then(|r| r.captures(line)) {
        if let (Some(pre), Some(key), Some(_)) = (c.get(1), c.get(2), c.get(3)) {
            if is_text_secret_key(key.as_str()) {
                return format!("{}{MASK}", pre.as_str());
            }
        }
    }
    let mut text = line.to_string();
    let mut rules: Vec<&Regex> = Vec::new();
    rules.extend(ASSIGN.as_ref());
    rules.extend(JSON_PAIR.as_ref());
    if source {
        rules.extend(FLOW_PAIR.as_ref());
    }
    for re in rules {
        text = replace_values(re, &text);
    }
    text
}

/// Replace capture group 2 of every match of `re` whose group 1 is a secret-named key.
fn replace_values(re: &Regex, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for c in re.captures_iter(text) {
        let (Some(key), Some(val)) = (c.get(1), c.get(2)) else {
            continue;
        };
        if !is_text_secret_key(key.as_str()) || val.as_str().trim().is_empty() {
            continue;
        }
        out.push_str(&text[last..val.start()]);
        out.push_str(MASK);
        last = val.end();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const VOCABULARY: &[&str] = &["# pgBackRest configuration, written by pgplay\n"];

    fn secrets(vars: Value) -> Secrets {
        let mut s = Secrets::default();
        if let Value::Object(m) = &vars {
            s.learn(m, VOCABULARY);
        }
        s
    }

    #[test]
    fn masks_keys_and_text() {
        let s = secrets(
            json!({"pgbackrest_repo": {"minio": {"cipher_pass": "pgBackRest.Secret", "s3_key_secret": "S3User.Backup"}}, "pg_port": 5432}),
        );
        let shown = s.value(
            &json!({"stdout": "pass is pgBackRest.Secret and S3User.Backup", "s3_key_secret": "x", "ansible_ssh_private_key_file": "/k", "s3_key_type": "shared"}),
        );
        let text = shown.to_string();
        assert!(
            !text.contains("pgBackRest.Secret") && !text.contains("S3User.Backup"),
            "{text}"
        );
        assert!(text.contains("/k") && text.contains("shared"), "{text}");
    }

    #[test]
    fn an_ordinary_word_is_masked_only_as_a_value() {
        let s = secrets(
            json!({"cipher_pass": "pgBackRest", "s3_endpoint": "sss.pigsty", "grafana_admin_password": "pigsty"}),
        );
        let out = s.text(
            "P00 INFO: pgBackRest 2.45 start\nrepo1-cipher-pass=pgBackRest\nrun --repo1-cipher-pass=pgBackRest now\nhost sss.pigsty\npassword: pigsty",
        );
        assert!(out.contains("P00 INFO: pgBackRest 2.45 start"), "{out}");
        assert!(out.contains("host sss.pigsty"), "{out}");
        assert!(out.contains("repo1-cipher-pass=********"), "{out}");
        assert!(out.contains("--repo1-cipher-pass=******** now"), "{out}");
        assert!(out.contains("password: ********"), "{out}");
    }

    #[test]
    fn short_secrets_are_masked_as_values() {
        let s = secrets(json!({"db_password": "ab1"}));
        let out = s.text("PGPASSWORD=ab1 psql\nALTER USER x PASSWORD 'ab1';\nlab1 ab1x");
        assert_eq!(
            out,
            "PGPASSWORD=********\nALTER USER x PASSWORD '********';\nlab1 ab1x"
        );
    }

    #[test]
    fn diff_lines_hide_any_value_of_a_secret_key() {
        let out = Secrets::default().text(
            "--- before: /etc/pgbackrest/pgbackrest.conf\n+++ after\n@@ -1,3 +1,3 @@\n-repo1-cipher-pass=OldSecret\n+repo1-cipher-pass=x\n repo1-cipher-type=aes-256-cbc\n export PGPASSWORD=q\n",
        );
        assert!(
            !out.contains("OldSecret") && !out.contains("=x\n") && !out.contains("=q"),
            "{out}"
        );
        assert!(out.contains("repo1-cipher-type=aes-256-cbc"), "{out}");
        assert!(
            out.contains("--- before: /etc/pgbackrest/pgbackrest.conf"),
            "{out}"
        );
    }

    #[test]
    fn json_text_and_source_lines() {
        let out = Secrets::default().text(r#"{"cipher_pass": "a\"b", "cipher_type": "aes"}"#);
        assert_eq!(out, r#"{"cipher_pass": "********", "cipher_type": "aes"}"#);
        let src = structural(
            "      s3: { type: s3, s3_key_secret: Hidden.1, s3_bucket: 1 }",
            true,
        );
        assert_eq!(
            src,
            "      s3: { type: s3, s3_key_secret: ********, s3_bucket: 1 }"
        );
        assert_eq!(
            structural("  cipher_pass: x  # comment", true),
            "  cipher_pass: ********"
        );
    }

    #[test]
    fn longest_secret_first() {
        let s = secrets(json!({"a_pass": "Secret.One", "b_pass": "Secret.One.Two"}));
        assert_eq!(s.text("x Secret.One.Two y"), "x ******** y");
    }

    #[test]
    fn non_secret_names() {
        for k in [
            "s3_key_type",
            "cipher_type",
            "ansible_ssh_private_key_file",
            "password_encryption",
        ] {
            assert!(!is_text_secret_key(k), "{k}");
        }
        for k in [
            "cipher_pass",
            "s3_key_secret",
            "ansible_become_password",
            "PGPASSWORD",
            "api_token",
        ] {
            assert!(is_text_secret_key(k), "{k}");
        }
    }
}
