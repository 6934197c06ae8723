//! `ProxyJump` destinations: `[user@]host[:port]` hops, as OpenSSH writes them.
//!
//! Read from the inventory's ssh options (`-J`, `-o ProxyJump=`) by `ssh_args`, carried in
//! [`super::ConnectOptions::jump`], walked by the russh transport (`russh/jump.rs`) and shown
//! in its messages ("the jump host root@gw:22"); the openssh transport hands the option to ssh.

use std::fmt;

/// One hop of a `ProxyJump` chain: `[user@]host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JumpHost {
    pub user: Option<String>,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for JumpHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// `ProxyJump`'s value: `none`, or hops separated by commas (`ssh://` URIs accepted).
pub fn parse_jump(value: &str) -> Result<Vec<JumpHost>, String> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    value.split(',').map(parse_hop).collect()
}

fn parse_hop(hop: &str) -> Result<JumpHost, String> {
    let bad = |why: &str| format!("'{hop}' is not a jump host ([user@]host[:port]): {why}");
    let rest = hop.trim();
    let rest = rest.strip_prefix("ssh://").unwrap_or(rest);
    let (user, rest) = match rest.rsplit_once('@') {
        Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
        Some(_) => return Err(bad("the user is empty")),
        None => (None, rest),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (h, after) = inner.split_once(']').ok_or_else(|| bad("no closing ]"))?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(bad("unexpected text after ]")),
        }
    } else if rest.matches(':').count() == 1 {
        let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
        (h, Some(p))
    } else {
        (rest, None)
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(bad("no host"));
    }
    let port = match port {
        None => 22,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("the port is not 1-65535"))?,
    };
    Ok(JumpHost {
        user,
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_hosts() {
        assert_eq!(
            parse_jump("root@127.0.0.21:2222,ssh://b@[::1]:23,gw").ok(),
            Some(vec![
                JumpHost {
                    user: Some("root".into()),
                    host: "127.0.0.21".into(),
                    port: 2222
                },
                JumpHost {
                    user: Some("b".into()),
                    host: "::1".into(),
                    port: 23
                },
                JumpHost {
                    user: None,
                    host: "gw".into(),
                    port: 22
                },
            ])
        );
        assert_eq!(parse_jump("none").ok(), Some(vec![]));
        assert!(parse_jump("a@").is_err());
        assert!(parse_jump("h:99999").is_err());
        assert!(parse_jump("@h").is_err());
        assert_eq!(
            parse_jump("u@h:2").map(|j| j[0].to_string()).ok(),
            Some("u@h:2".into())
        );
    }
}
