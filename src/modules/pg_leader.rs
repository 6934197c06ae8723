//! `pg_leader`: which member of this host's cluster leads now — the one backups run on — so
//! that a play follows the leader after a failover instead of the inventory's `pg_role`.
//!
//! How it is found, on the member itself, in one exchange:
//! - PostgreSQL: `pg_is_in_recovery()`, and for a standby the address it streams from
//!   (`pg_stat_wal_receiver.sender_host`);
//! - with `patroni_enabled`: Patroni's REST API on the member's own address
//!   (`GET /cluster`), which names the cluster's running leader.
//!
//! This member leads when it is writable (not in recovery) and, under Patroni, Patroni names
//! it the leader. The facts set: `pg_leader` (bool), `pg_leader_host` (the leader's address,
//! '' when unknown), `pg_leader_name` (its inventory name, '' when it is not in the
//! inventory), `pg_leader_how` (how it was found, or why it could not be). When Patroni does
//! not answer, PostgreSQL alone decides and the message says so; when neither answers, the
//! member is not the leader and the leader is unknown — the play refuses then, it never
//! guesses.

use serde_json::Value;

use super::{patroni_api, Ctx, Failure, Outcome};
use crate::transport::quote;

/// What one member saw.
#[derive(Debug, PartialEq)]
pub struct Seen {
    /// `pg_is_in_recovery()`: Some(false) writable, Some(true) standby, None unreachable.
    pub recovery: Option<bool>,
    /// The address a standby streams from.
    pub upstream: Option<String>,
    /// Patroni's running leader (name, host), when Patroni answered.
    pub patroni_leader: Option<(String, String)>,
    /// Patroni answered at all (with or without a leader).
    pub patroni_answered: bool,
}

/// The decision: (this member leads, the leader's address, how it was found).
pub fn decide(seen: &Seen, me: &str, patroni: bool) -> (bool, Option<String>, String) {
    match (patroni, &seen.patroni_leader, seen.recovery) {
        (true, Some((name, host)), rec) => {
            let mine = host == me;
            let leads = mine && rec == Some(false);
            let how = match (mine, rec) {
                (true, Some(false)) => format!("Patroni's leader ({name}), writable"),
                (true, _) => format!(
                    "Patroni names this member ({name}) the leader, but PostgreSQL here is {}: not used",
                    if rec == Some(true) { "in recovery" } else { "not reachable" }
                ),
                (false, _) => format!("Patroni's leader is {name} ({host})"),
            };
            (leads, Some(host.clone()), how)
        }
        (true, None, _) if seen.patroni_answered => (
            false,
            None,
            "Patroni answers but names no running leader (paused with the leader down, or electing one)".into(),
        ),
        (_, _, Some(false)) => (
            true,
            Some(me.to_string()),
            if patroni {
                "Patroni does not answer here; PostgreSQL is writable (pg_is_in_recovery() = f)".into()
            } else {
                "writable (pg_is_in_recovery() = f)".into()
            },
        ),
        (_, _, Some(true)) => (
            false,
            seen.upstream.clone(),
            match &seen.upstream {
                Some(u) => format!("a standby streaming from {u}{}", if patroni { " (Patroni does not answer here)" } else { "" }),
                None => "a standby that streams from no one now".into(),
            },
        ),
        (_, _, None) => (
            false,
            None,
            format!(
                "PostgreSQL does not answer here{}",
                if patroni { ", nor does Patroni" } else { "" }
            ),
        ),
    }
}

/// No arguments: the member's identity comes from its variables.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {}

pub async fn run(ctx: &Ctx<'_>, _args: Args) -> Result<Outcome, Failure> {
    // the member's identity and settings, read as the PITR reads them
    let m = crate::pg::pitr::Member::from_vars(ctx.vars).map_err(Failure::Args)?;
    let me = m.address.as_str();
    let script = format!(
        r#"{api}cd /
out=$(runuser -u {dbsu} -- psql -p {port} -d postgres -AXtwq -F '|' -c "select pg_is_in_recovery(), coalesce((select sender_host from pg_stat_wal_receiver limit 1), '')" 2>/dev/null) && echo "pg=$out"
if [ {patroni} = 1 ]; then echo "==patroni"; api {url}; fi
"#,
        api = patroni_api::API,
        dbsu = quote(&m.dbsu),
        port = m.port,
        patroni = u8::from(m.patroni),
        url = quote(&format!("http://{me}:{}/cluster", m.patroni_port)),
    );
    let out = ctx.exec(&script, None).await?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, api) = text.split_once("==patroni\n").unwrap_or((&text, ""));
    let pg = head
        .lines()
        .find_map(|l| l.strip_prefix("pg="))
        .map(|l| l.split('|').map(str::to_string).collect::<Vec<_>>());
    let api: Option<Value> = serde_json::from_str(api.trim()).ok();
    let seen = Seen {
        recovery: pg
            .as_ref()
            .and_then(|p| match p.first().map(String::as_str) {
                Some("t") => Some(true),
                Some("f") => Some(false),
                _ => None,
            }),
        upstream: pg
            .as_ref()
            .and_then(|p| p.get(1).cloned())
            .filter(|u| !u.is_empty()),
        patroni_leader: api.as_ref().and_then(patroni_api::running_leader),
        patroni_answered: api.is_some(),
    };
    let cluster = m.cluster.as_str();
    let patroni = m.patroni;
    let (leads, host, how) = decide(&seen, me, patroni);
    // The leader's name in the inventory: a member of the same cluster with that address.
    let name = host.as_deref().and_then(|addr| {
        ctx.inv.hosts.iter().find_map(|h| {
            let pg = h.domain.pg.as_ref()?;
            (pg.cluster == cluster && (h.conn.address == addr || h.name == addr))
                .then(|| h.name.clone())
        })
    });
    let mut o = Outcome::ok(false);
    let say = format!(
        "{}: {how}",
        if leads {
            "the leader"
        } else {
            "not the leader"
        }
    );
    // shown on the result line: which member backs up, and why, is the point of the step
    o.data
        .insert("pgplay_show".into(), Value::String(format!("  {say}")));
    o.msg = Some(say);
    let facts = [
        ("pg_leader", Value::Bool(leads)),
        (
            "pg_leader_host",
            Value::String(host.clone().unwrap_or_default()),
        ),
        ("pg_leader_name", Value::String(name.unwrap_or_default())),
        ("pg_leader_how", Value::String(how)),
    ];
    for (k, v) in facts {
        o.data.insert(k.into(), v.clone());
        o.facts.insert(k.into(), v);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(recovery: Option<bool>, upstream: Option<&str>, leader: Option<&str>) -> Seen {
        Seen {
            recovery,
            upstream: upstream.map(String::from),
            patroni_leader: leader.map(|h| (format!("m-{h}"), h.to_string())),
            patroni_answered: leader.is_some(),
        }
    }

    #[test]
    fn patroni_names_the_leader_and_postgres_must_agree() {
        let me = "127.0.50.2";
        // after a failover: this member, the inventory's replica, leads
        let (leads, host, _) = decide(&seen(Some(false), None, Some(me)), me, true);
        assert!(leads);
        assert_eq!(host.as_deref(), Some(me));
        // the inventory's primary, now a replica
        let (leads, host, how) = decide(&seen(Some(true), Some(me), Some(me)), "127.0.50.1", true);
        assert!(!leads);
        assert_eq!(host.as_deref(), Some(me));
        assert!(how.contains("Patroni's leader is m-127.0.50.2"), "{how}");
        // Patroni says leader, PostgreSQL still in recovery (promoting): not used
        let (leads, _, how) = decide(&seen(Some(true), None, Some(me)), me, true);
        assert!(!leads, "{how}");
    }

    #[test]
    fn without_patroni_postgres_decides_and_unknown_is_said() {
        let (leads, host, _) = decide(&seen(Some(false), None, None), "a", false);
        assert!(leads && host.as_deref() == Some("a"));
        let (leads, host, how) = decide(&seen(Some(true), Some("b"), None), "a", true);
        assert!(!leads && host.as_deref() == Some("b"));
        assert!(how.contains("Patroni does not answer"), "{how}");
        let (leads, host, how) = decide(&seen(None, None, None), "a", true);
        assert!(!leads && host.is_none());
        assert!(how.contains("nor does Patroni"), "{how}");
        let s = Seen {
            recovery: Some(false),
            upstream: None,
            patroni_leader: None,
            patroni_answered: true,
        };
        let (leads, host, _) = decide(&s, "a", true);
        assert!(
            !leads && host.is_none(),
            "no leader in Patroni: nobody is used"
        );
    }
}
