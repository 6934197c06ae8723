//! ssh command-line options from the inventory (`ansible_ssh_args`, `ansible_ssh_common_args`,
//! `ansible_ssh_extra_args`), read once for both SSH transports.
//!
//! Ansible splits these strings with shell-words rules and hands them to `ssh`. The openssh
//! transport does the same, so everything OpenSSH understands works there natively
//! (`ProxyJump`, `ProxyCommand`, ciphers, `-F`, ...). The russh transport has no `ssh` to hand
//! them to: it honours the options it can do itself (a `ProxyJump` chain, host key checking,
//! known_hosts, timeouts, identities, compression, keepalives) and a run that would use russh
//! with any other option is refused before the first connection, naming `-c openssh`
//! (see `inventory::conn`). Options that control how pgplay runs ssh (`ControlMaster`,
//! `ControlPersist`, `ControlPath`, `BatchMode`, `LogLevel`, `-v`) are pgplay's own on both
//! transports: one session per host is kept for the whole run anyway. Flags that would break
//! that session (`-f`, `-N`, `-W`, `-q`, ...) are refused on both.

use std::path::PathBuf;
use std::time::Duration;

use super::jump_host::{parse_jump, JumpHost};
use super::HostKeyPolicy;

pub use crate::base::shell::split;

/// What one option asks for, as far as pgplay is concerned.
#[derive(Clone, Debug, PartialEq)]
pub enum Meaning {
    /// `-J` / `ProxyJump` (empty: `none`).
    Jump(Vec<JumpHost>),
    /// `StrictHostKeyChecking`; `no` is read as accept-new (a changed key is still refused).
    HostKeys(HostKeyPolicy),
    KnownHosts(PathBuf),
    ConnectTimeout(Duration),
    Identity(PathBuf),
    IdentitiesOnly(bool),
    Compression(bool),
    AliveInterval(Duration),
    AliveCountMax(usize),
    /// Set by pgplay itself on both transports (multiplexing, batch mode, its log level).
    PgplayOwn,
    /// An OpenSSH option the russh transport cannot honour (`ProxyCommand`, ciphers, ...).
    OpensshOnly,
}

/// One option as written (`-o ProxyJump=x`, `-J x`, `-C`) and its meaning.
#[derive(Clone, Debug, PartialEq)]
pub struct SshOption {
    pub text: String,
    pub meaning: Meaning,
}

/// Flags that take a value (ssh(1)).
const WITH_VALUE: &str = "BbcDEeFIiJLlmOoPpQRSWw";
/// Flags without one.
const WITHOUT_VALUE: &str = "46AaCfGgKkMNnqsTtVvXxYy";
/// Flags that would break the session pgplay runs ssh as (a multiplexing master whose
/// messages it reads).
const BREAKING: &str = "fGMNnOQSsTtVWEq";

/// Parse split words into options; refused: words that are not options, flags pgplay cannot
/// run ssh with, malformed values of the options pgplay reads.
pub fn parse(words: &[String]) -> Result<Vec<SshOption>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let Some(flags) = word.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(format!(
                "'{word}' is not an ssh option (only options go here, e.g. -o ProxyJump=user@bastion)"
            ));
        };
        for (at, flag) in flags.char_indices() {
            if BREAKING.contains(flag) {
                return Err(format!(
                    "-{flag} cannot be used: pgplay runs ssh itself (one multiplexing master \
                     per host, whose messages it reads)"
                ));
            }
            if WITHOUT_VALUE.contains(flag) {
                out.push(flag_meaning(flag));
                continue;
            }
            if !WITH_VALUE.contains(flag) {
                return Err(format!("-{flag} is not an ssh option"));
            }
            let attached = &flags[at + flag.len_utf8()..];
            let value = if attached.is_empty() {
                let v = words
                    .get(i)
                    .ok_or_else(|| format!("-{flag} needs a value"))?;
                i += 1;
                v.clone()
            } else {
                attached.to_string()
            };
            out.push(value_meaning(flag, &value)?);
            break;
        }
    }
    Ok(out)
}

fn flag_meaning(flag: char) -> SshOption {
    let meaning = match flag {
        'C' => Meaning::Compression(true),
        'v' => Meaning::PgplayOwn,
        _ => Meaning::OpensshOnly,
    };
    SshOption {
        text: format!("-{flag}"),
        meaning,
    }
}

fn value_meaning(flag: char, value: &str) -> Result<SshOption, String> {
    let text = if value.contains(char::is_whitespace) {
        format!("-{flag} '{value}'")
    } else {
        format!("-{flag} {value}")
    };
    let meaning = match flag {
        'J' => Meaning::Jump(parse_jump(value).map_err(|e| format!("-J: {e}"))?),
        'i' => Meaning::Identity(PathBuf::from(value)),
        'o' => return option_meaning(value).map(|meaning| SshOption { text, meaning }),
        _ => Meaning::OpensshOnly,
    };
    Ok(SshOption { text, meaning })
}

/// `-o Key=Value` (or `Key Value`); keywords are case-insensitive as in ssh_config.
fn option_meaning(option: &str) -> Result<Meaning, String> {
    let option = option.trim();
    let (key, value) = match option.find(|c: char| c == '=' || c.is_whitespace()) {
        Some(at) => (
            &option[..at],
            option[at..].trim_start_matches(|c: char| c == '=' || c.is_whitespace()),
        ),
        None => (option, ""),
    };
    let value = value.trim();
    if key.is_empty() || value.is_empty() {
        return Err(format!("-o {option}: expected -o Key=Value"));
    }
    let bad = |what: &str| format!("-o {key}={value}: {what}");
    let yes_no = |v: &str| match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(bad("expected yes or no")),
    };
    let seconds = |v: &str| {
        v.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| bad("expected a number of seconds"))
    };
    Ok(match key.to_ascii_lowercase().as_str() {
        "proxyjump" => Meaning::Jump(parse_jump(value).map_err(|e| bad(&e))?),
        "stricthostkeychecking" => match value.to_ascii_lowercase().as_str() {
            "yes" | "true" | "ask" => Meaning::HostKeys(HostKeyPolicy::Strict),
            "accept-new" | "no" | "off" | "false" => Meaning::HostKeys(HostKeyPolicy::AcceptNew),
            _ => return Err(bad("expected yes, accept-new, no or ask")),
        },
        "userknownhostsfile" => match value.split_whitespace().collect::<Vec<_>>()[..] {
            [one] => Meaning::KnownHosts(PathBuf::from(one.trim_matches('"'))),
            _ => Meaning::OpensshOnly,
        },
        "connecttimeout" => match seconds(value)? {
            d if d.is_zero() => return Err(bad("expected at least one second")),
            d => Meaning::ConnectTimeout(d),
        },
        "identityfile" => Meaning::Identity(PathBuf::from(value.trim_matches('"'))),
        "identitiesonly" => Meaning::IdentitiesOnly(yes_no(value)?),
        "compression" => Meaning::Compression(yes_no(value)?),
        "serveraliveinterval" => Meaning::AliveInterval(seconds(value)?),
        "serveralivecountmax" => Meaning::AliveCountMax(
            value
                .parse()
                .map_err(|_| bad("expected a number of probes"))?,
        ),
        "controlmaster" | "controlpath" | "controlpersist" | "batchmode" | "loglevel" => {
            Meaning::PgplayOwn
        }
        _ => Meaning::OpensshOnly,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        split(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn meanings(s: &str) -> Result<Vec<Meaning>, String> {
        parse(&words(s)).map(|o| o.into_iter().map(|o| o.meaning).collect())
    }

    #[test]
    fn options_pgplay_reads() {
        let m = meanings(
            "-C -o ProxyJump=root@gw -J x -oStrictHostKeyChecking=no -o 'UserKnownHostsFile /dev/null' \
             -o ConnectTimeout=30 -i ~/k -o controlpersist=60s -v -o ProxyCommand=nc -p 2",
        );
        let jump = |u: Option<&str>, h: &str| JumpHost {
            user: u.map(str::to_string),
            host: h.into(),
            port: 22,
        };
        assert_eq!(
            m.ok(),
            Some(vec![
                Meaning::Compression(true),
                Meaning::Jump(vec![jump(Some("root"), "gw")]),
                Meaning::Jump(vec![jump(None, "x")]),
                Meaning::HostKeys(HostKeyPolicy::AcceptNew),
                Meaning::KnownHosts(PathBuf::from("/dev/null")),
                Meaning::ConnectTimeout(Duration::from_secs(30)),
                Meaning::Identity(PathBuf::from("~/k")),
                Meaning::PgplayOwn,
                Meaning::PgplayOwn,
                Meaning::OpensshOnly,
                Meaning::OpensshOnly,
            ])
        );
        let texts: Vec<String> = parse(&words("-o 'ProxyCommand=ssh -W %h:%p gw' -4C"))
            .map(|o| o.into_iter().map(|o| o.text).collect())
            .unwrap_or_default();
        assert_eq!(texts, vec!["-o 'ProxyCommand=ssh -W %h:%p gw'", "-4", "-C"]);
    }

    #[test]
    fn refused_everywhere() {
        for bad in [
            "host",
            "-q",
            "-N",
            "-o",
            "-o ConnectTimeout=x",
            "-o StrictHostKeyChecking=maybe",
            "-o Compression",
            "-J a@",
            "-Z",
            "-W h:1",
            "-E /tmp/log",
        ] {
            assert!(meanings(bad).is_err(), "{bad}");
        }
    }
}
