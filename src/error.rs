//! The one error type of pgplay, its exit codes, and the single place errors are rendered.
//!
//! Every error says where it happened (file:line:col and key for inputs, host and task for
//! execution) and what to do next. Exit codes follow ansible-playbook so existing wrappers keep
//! working: 1 generic error, 2 a host failed, 4 a host was unreachable or the input did not
//! parse, 5 bad command-line options, 99 interrupted.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::yaml::Span;

#[derive(Debug)]
pub enum Error {
    /// The file is not valid YAML.
    Syntax { span: Span, message: String },
    /// Valid YAML whose content is wrong (unknown key, wrong type, bad value).
    Invalid {
        span: Span,
        key: String,
        message: String,
        hint: Option<String>,
    },
    /// A command-line value is wrong (bad -e, unknown tag, limit that matches nothing).
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A file could not be read or written.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Anything else, already worded for the user.
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes, as ansible-playbook uses them.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const HOST_FAILED: i32 = 2;
    pub const UNREACHABLE: i32 = 4;
    pub const PARSE: i32 = 4;
    pub const OPTIONS: i32 = 5;
    pub const INTERRUPTED: i32 = 99;
}

impl Error {
    pub fn invalid(span: &Span, key: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            span: span.clone(),
            key: key.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    /// Attach (or replace) the "what to do" line.
    pub fn with_hint(mut self, text: impl Into<String>) -> Error {
        match &mut self {
            Error::Invalid { hint, .. } | Error::Usage { hint, .. } => *hint = Some(text.into()),
            _ => {}
        }
        self
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Syntax { .. } | Error::Invalid { .. } => exit::PARSE,
            Error::Usage { .. } => exit::OPTIONS,
            Error::Io { .. } | Error::Other(_) => exit::ERROR,
        }
    }

    /// Render for a terminal: message, place, the source line with a caret, and the hint.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Error::Syntax { span, message } => {
                let _ = writeln!(out, "error: {span}: YAML syntax error: {message}");
                out.push_str(&snippet(span));
                out.push_str("  hint: check the indentation and quoting around this line\n");
            }
            Error::Invalid {
                span,
                key,
                message,
                hint,
            } => {
                if key.is_empty() {
                    let _ = writeln!(out, "error: {span}: {message}");
                } else {
                    let _ = writeln!(out, "error: {span}: {key}: {message}");
                }
                out.push_str(&snippet(span));
                if let Some(h) = hint {
                    let _ = writeln!(out, "  hint: {h}");
                }
            }
            Error::Usage { message, hint } => {
                let _ = writeln!(out, "error: {message}");
                if let Some(h) = hint {
                    let _ = writeln!(out, "  hint: {h}");
                }
            }
            Error::Io { path, source } => {
                let _ = writeln!(out, "error: {}: {source}", path.display());
            }
            Error::Other(message) => {
                let _ = writeln!(out, "error: {message}");
            }
        }
        out
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.render().trim_end())
    }
}

impl std::error::Error for Error {}

/// The source line under a span with a caret, when the span names a readable file or a
/// built-in one (compiled into the binary: shown from there).
fn snippet(span: &Span) -> String {
    let text = match crate::builtin::text_of(&span.file) {
        Some(t) => t.to_string(),
        None => match std::fs::read_to_string(&*span.file) {
            Ok(t) => t,
            Err(_) => return String::new(),
        },
    };
    let Some(line) = text.lines().nth(span.line.saturating_sub(1)) else {
        return String::new();
    };
    // The line may hold a secret (`cipher_pass: x`, `{ s3_key_secret: x }`): never echo it.
    // The caret goes under the same place of the masked line (the masked text before it).
    let before: String = line.chars().take(span.col.saturating_sub(1)).collect();
    let line = &crate::mask::structural(line, true);
    let num = span.line.to_string();
    let pad = " ".repeat(num.len());
    let caret_pad: String = crate::mask::structural(&before, true)
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("{pad} |\n{num} | {line}\n{pad} | {caret_pad}^\n")
}

/// "did you mean" for a misspelt name, from a list of valid ones.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean '{c}'?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_in_playbook_shows_its_line_too() {
        let span = Span {
            file: crate::builtin::display("playbooks", "node.yml").into(),
            line: 3,
            col: 3,
        };
        let text = Error::invalid(&span, "x", "something is wrong").render();
        assert!(
            text.contains("<builtin>/playbooks/node.yml:3:3")
                && text.contains("3 | # node.yml — node-level tasks of Pigsty that pgplay runs."),
            "{text}"
        );
    }
}
