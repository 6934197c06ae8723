//! `command`: run a program with arguments, no shell: `argv` (a list) or a command line
//! split into words like a shell would (quotes and backslashes), each word then quoted, so
//! `;`, `$()`, `|` and globs in values are passed literally.

use serde::Deserialize;
use serde_json::Value;

use super::args::present;
use super::shell::{execute, Common};
use super::{Ctx, Failure, Outcome};
use crate::transport::join_argv;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The free-form command line (`command: /bin/true`).
    #[serde(rename = "_raw_params")]
    raw: Option<String>,
    cmd: Option<String>,
    #[serde(default, deserialize_with = "present")]
    argv: Option<Value>,
    chdir: Option<String>,
    creates: Option<String>,
    removes: Option<String>,
    stdin: Option<String>,
}

pub async fn run(ctx: &Ctx<'_>, a: Args) -> Result<Outcome, Failure> {
    let argv: Vec<String> = match a.argv {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(other) => return Err(Failure::Args(format!("argv must be a list, got {other}"))),
        None => {
            let line = a
                .raw
                .or(a.cmd)
                .ok_or_else(|| Failure::Args("command needs a command line or argv".into()))?;
            split_words(&line)?
        }
    };
    if argv.is_empty() {
        return Err(Failure::Args("command: the command is empty".into()));
    }
    let common = Common {
        chdir: a.chdir,
        creates: a.creates,
        removes: a.removes,
        stdin: a.stdin,
    };
    execute(ctx, common, &format!("exec {}", join_argv(&argv))).await
}

/// Split a command line into words: single quotes, double quotes and backslashes as in sh.
pub fn split_words(line: &str) -> Result<Vec<String>, Failure> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(Failure::Args(format!("unterminated ' in: {line}"))),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => {
                                return Err(Failure::Args(format!("unterminated \" in: {line}")))
                            }
                        },
                        Some(x) => cur.push(x),
                        None => return Err(Failure::Args(format!("unterminated \" in: {line}"))),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    cur.push(x);
                }
            }
            other => {
                in_word = true;
                cur.push(other);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn splits_like_sh() {
        let got = split_words(r#"echo 'a b' "c \"d\"" e\ f ;rm"#).unwrap_or_default();
        assert_eq!(got, vec!["echo", "a b", "c \"d\"", "e f", ";rm"]);
        assert!(split_words("echo 'oops").is_err());
    }
}
