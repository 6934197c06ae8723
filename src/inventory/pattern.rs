//! Ansible host patterns, as used by `-l/--limit` and a play's `hosts:`.
//!
//! A pattern is terms joined by `,` (or `:` when there is no comma). A term is a group name, a
//! host name, a glob (`pg-*`, `127.0.10.1?`) or a regex (`~pg-(meta|test)`); prefixed with `&`
//! it intersects, with `!` it excludes. As in Ansible, unions are applied first, then
//! intersections, then exclusions. Unlike Ansible, a term that matches nothing is an error
//! when `strict` (for `-l`): a mistyped exclusion would otherwise act on hosts the user meant
//! to leave alone.

use super::{HostId, Inventory};
use crate::error::{did_you_mean, Error, Result};

/// The hosts a pattern selects, in inventory order.
pub fn select(inv: &Inventory, pattern: &str, strict: bool) -> Result<Vec<HostId>> {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Err(Error::usage("the host pattern is empty"));
    }
    let terms: Vec<&str> = if pattern.contains(',') {
        pattern.split(',').collect()
    } else {
        pattern.split(':').collect()
    };
    let mut union: Vec<HostId> = Vec::new();
    let mut intersections: Vec<Vec<HostId>> = Vec::new();
    let mut exclusions: Vec<HostId> = Vec::new();
    let mut any_union = false;
    for raw in terms {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (op, term) = match raw.as_bytes()[0] {
            b'&' => ('&', &raw[1..]),
            b'!' => ('!', &raw[1..]),
            _ => ('+', raw),
        };
        let hosts = matches(inv, term)?;
        if hosts.is_empty() && strict {
            let names = inv
                .groups
                .iter()
                .map(|g| g.name.as_str())
                .chain(inv.hosts.iter().map(|h| h.name.as_str()));
            let mut err = Error::usage(format!(
                "host pattern '{raw}' matches no host or group in {}",
                inv.source
            ));
            err = match did_you_mean(term, names) {
                Some(h) => err.with_hint(h),
                None => {
                    err.with_hint("list the inventory with: pgplay inventory --graph (or --list)")
                }
            };
            return Err(err);
        }
        match op {
            '&' => intersections.push(hosts),
            '!' => exclusions.extend(hosts),
            _ => {
                any_union = true;
                for h in hosts {
                    if !union.contains(&h) {
                        union.push(h);
                    }
                }
            }
        }
    }
    if !any_union {
        union = inv.host_ids().collect();
    }
    let mut out: Vec<HostId> = union
        .into_iter()
        .filter(|h| intersections.iter().all(|set| set.contains(h)))
        .filter(|h| !exclusions.contains(h))
        .collect();
    out.sort();
    Ok(out)
}

/// Hosts matched by one term (no operator).
fn matches(inv: &Inventory, term: &str) -> Result<Vec<HostId>> {
    if term == "all" || term == "*" {
        return Ok(inv.host_ids().collect());
    }
    if let Some(g) = inv.find_group(term) {
        return Ok(inv.group_hosts(g));
    }
    if let Some(h) = inv.find_host(term) {
        return Ok(vec![h]);
    }
    let test: Box<dyn Fn(&str) -> bool> = if let Some(re) = term.strip_prefix('~') {
        let re = regex::Regex::new(re)
            .map_err(|e| Error::usage(format!("host pattern '{term}': bad regex: {e}")))?;
        Box::new(move |s: &str| re.is_match(s))
    } else if term.contains(['*', '?', '[']) {
        let t = term.to_string();
        Box::new(move |s: &str| glob(&t, s))
    } else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, g) in inv.groups.iter().enumerate() {
        if test(&g.name) {
            out.extend(inv.group_hosts(super::GroupId(i)));
        }
    }
    for h in inv.host_ids() {
        if test(&inv.host(h).name) {
            out.push(h);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Shell-style glob: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|i| glob_at(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && glob_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(1).position(|c| *c == ']').map(|i| i + 1) else {
                return t.first() == Some(&'[') && glob_at(&p[1..], &t[1..]);
            };
            let Some(&c) = t.first() else { return false };
            let mut set = &p[1..close];
            let negate = matches!(set.first(), Some('!') | Some('^'));
            if negate {
                set = &set[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob_at(&p[close + 1..], &t[1..])
        }
        Some(&ch) => t.first() == Some(&ch) && glob_at(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::load::load_str;

    const INV: &str = "all:
  children:
    pg-meta: { hosts: { 127.0.10.10: {pg_seq: 1} } }
    pg-test:
      hosts:
        127.0.10.11: {pg_seq: 1}
        127.0.10.12: {pg_seq: 2}
        127.0.10.13: {pg_seq: 3}
    etcd: { hosts: { 127.0.10.10: {}, 127.0.10.11: {} } }
";

    fn names(pattern: &str) -> String {
        let inv = match load_str("inv.yml", INV, &[]) {
            Ok(i) => i,
            Err(e) => return e.to_string(),
        };
        match select(&inv, pattern, true) {
            Ok(hosts) => hosts
                .iter()
                .map(|h| {
                    inv.host(*h)
                        .name
                        .rsplit('.')
                        .next()
                        .unwrap_or("")
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(","),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn table() {
        for (pattern, want) in [
            ("all", "10,11,12,13"),
            ("pg-meta", "10"),
            ("pg-test", "11,12,13"),
            ("127.0.10.12", "12"),
            ("pg-*", "10,11,12,13"),
            ("127.0.10.1[23]", "12,13"),
            ("pg-meta,pg-test", "10,11,12,13"),
            ("pg-meta:pg-test", "10,11,12,13"),
            ("pg-test:&etcd", "11"),
            ("pg-test:!etcd", "12,13"),
            ("all,!127.0.10.13", "10,11,12"),
            ("~pg-(meta|x)", "10"),
            ("!pg-test", "10"),
        ] {
            assert_eq!(names(pattern), want, "pattern {pattern}");
        }
    }

    #[test]
    fn no_match_is_an_error_with_a_suggestion() {
        let got = names("pg-tset");
        assert!(got.starts_with("ERR"), "{got}");
        assert!(got.contains("did you mean 'pg-test'"), "{got}");
        assert!(names("pg-test:!nosuch").starts_with("ERR"));
    }
}
