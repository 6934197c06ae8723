//! The `etcd` step of a PITR's `up` (delegated to the first etcd host): the cluster's keys in
//! Patroni's DCS cleared, its configuration put back without `pause`, so that Patroni takes
//! the restored data as the cluster's new start.

use serde_json::Value;

use super::patroni::{api_url, not_patroni};
use super::{kv, rerun, sh, skip, stderr, stdout, stuck, Ctx, Failure, Job, Outcome};
use crate::modules::patroni_api::API;
use crate::transport::quote;

/// The etcd endpoints of the inventory's `etcd` group (`https://<address>:<etcd_port>`).
fn etcd_endpoints(ctx: &Ctx<'_>) -> Vec<String> {
    let Some(g) = ctx.inv.find_group("etcd") else {
        return Vec::new();
    };
    ctx.inv
        .group_hosts(g)
        .into_iter()
        .map(|h| {
            let host = ctx.inv.host(h);
            let port = host
                .vars
                .get("etcd_port")
                .and_then(|v| {
                    v.as_u64()
                        .map(|n| n.to_string())
                        .or_else(|| v.as_str().map(String::from))
                })
                .unwrap_or_else(|| "2379".into());
            format!("https://{}:{port}", host.conn.address)
        })
        .collect()
}

/// Shell: etcdctl's settings as Pigsty's etcd role lays them out (v3 API, the root user with
/// the password read into `$pw`, TLS with /etc/etcd's CA and, when present, its certificate).
fn etcdctl_env(endpoints: &[String]) -> String {
    format!(
        r#"export ETCDCTL_API=3 ETCDCTL_ENDPOINTS={} ETCDCTL_USER="root:$pw" ETCDCTL_DIAL_TIMEOUT=5s ETCDCTL_COMMAND_TIMEOUT=15s
[ -r /etc/etcd/ca.crt ] && export ETCDCTL_CACERT=/etc/etcd/ca.crt
[ -r /etc/etcd/server.crt ] && [ -r /etc/etcd/server.key ] && export ETCDCTL_CERT=/etc/etcd/server.crt ETCDCTL_KEY=/etc/etcd/server.key
"#,
        quote(&endpoints.join(","))
    )
}

/// `etcd` (delegated to the first etcd host): clear `<pg_namespace>/<pg_cluster>/` so that
/// Patroni takes the restored data as the cluster's start (a clone has another system id; the
/// old leader, members and history describe data that is gone). The cluster's Patroni
/// configuration (`config`: archive_command and the rest of `patronictl edit-config`) is put
/// back, without `pause` (a paused Patroni would not start PostgreSQL). Nothing outside the
/// prefix is touched; a Patroni that leads the restored primary already means an earlier
/// `up` got this far, and the keys are left as they are.
pub async fn run(ctx: &Ctx<'_>, job: &Job) -> Result<Outcome, Failure> {
    if let Some(o) = not_patroni(job) {
        return Ok(o);
    }
    let endpoints = etcd_endpoints(ctx);
    if endpoints.is_empty() {
        return Ok(skip(format!(
            "no etcd group in the inventory: the DCS keys of {} are not cleared (Patroni's DCS is not etcd, or is managed elsewhere)",
            job.member.cluster
        )));
    }
    let prefix = job.member.dcs_prefix().map_err(Failure::Args)?;
    let password = ctx
        .vars
        .get("etcd_root_password")
        .and_then(Value::as_str)
        .unwrap_or("Etcd.Root")
        .to_string();
    let primary_api = api_url(job, "patroni");
    // Every member's REST API: a Patroni still running elsewhere would take the cleared
    // cluster for itself.
    let members: Vec<String> = ctx
        .inv
        .hosts
        .iter()
        .filter(|h| {
            h.domain
                .pg
                .as_ref()
                .is_some_and(|p| p.cluster == job.member.cluster)
                && h.conn.address != job.member.address
        })
        .map(|h| {
            format!(
                "http://{}:{}/patroni",
                h.conn.address, job.member.patroni_port
            )
        })
        .collect();
    let state_here = format!(
        "the restored primary {} is as 'pitr' left it (PostgreSQL at the target, not under Patroni); the DCS was not changed",
        job.member.host
    );
    // Read: the keys, the config, and whether the restored primary's Patroni leads already.
    let read = format!(
        r#"{api}cd /
IFS= read -r pw
{etcdctl}command -v etcdctl > /dev/null || {{ echo "etcdctl is not installed on this etcd host" >&2; exit 10; }}
keys=$(etcdctl get {prefix} --prefix --keys-only 2>&1) || {{ printf 'etcd at %s does not answer (%s)\n' "$ETCDCTL_ENDPOINTS" "$(printf '%s\n' "$keys" | grep -v '^{{' | tail -1)" >&2; exit 11; }}
printf '%s\n' "$keys" | grep -v '^$' | sed 's/^/key=/'
for u in {members}; do api "$u" > /dev/null 2>&1 && echo "alive=$u"; done
echo "==patroni"; api {primary_api}; echo
echo "==config"; etcdctl get {config} --print-value-only
"#,
        api = API,
        etcdctl = etcdctl_env(&endpoints),
        prefix = quote(&prefix),
        config = quote(&format!("{prefix}config")),
        primary_api = quote(&primary_api),
        members = members
            .iter()
            .map(|m| quote(m))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let out = sh(ctx, &read, Some(format!("{password}\n").as_bytes())).await?;
    if out.status != 0 {
        return Ok(stuck(
            format!(
                "cannot clear {}'s keys in etcd ({}): {}",
                job.member.cluster,
                endpoints.join(","),
                stderr(&out)
            ),
            &state_here,
            &format!(
                "bring etcd back (systemctl status etcd on the etcd hosts), then {}",
                rerun(ctx, "up")
            ),
        ));
    }
    let text = stdout(&out);
    let (head, rest) = text.split_once("==patroni\n").unwrap_or((&text, ""));
    let (patroni, config) = rest.split_once("==config\n").unwrap_or((rest, ""));
    let keys: Vec<&str> = head
        .lines()
        .filter_map(|l| l.strip_prefix("key="))
        .collect();
    let leads = serde_json::from_str::<Value>(patroni.trim())
        .ok()
        .is_some_and(|v| {
            v["state"] == "running" && matches!(v["role"].as_str(), Some("master" | "primary"))
        });
    // (check mode: `down` only said what it would do, so Patroni still runs everywhere)
    if leads && !ctx.check {
        let mut o = Outcome::ok(false);
        o.msg = Some(format!(
            "Patroni already leads {} on {}: its keys in etcd are current and stay",
            job.member.cluster, job.member.host
        ));
        return Ok(o);
    }
    let alive: Vec<&str> = head
        .lines()
        .filter_map(|l| l.strip_prefix("alive="))
        .collect();
    if !alive.is_empty() && !ctx.check {
        return Ok(stuck(
            format!(
                "Patroni still runs on another member of {} ({}): with the cluster's keys cleared it would take the cluster for itself, so nothing was cleared",
                job.member.cluster,
                alive.join(", ")
            ),
            &state_here,
            &format!(
                "stop it (systemctl stop patroni there, or {}), then {}",
                rerun(ctx, "stop_patroni"),
                rerun(ctx, "up")
            ),
        ));
    }
    // The configuration put back: Patroni's settings for the cluster, minus the pause.
    let config = config.trim();
    let kept = if config.is_empty() {
        None
    } else {
        match serde_json::from_str::<Value>(config) {
            Ok(Value::Object(mut m)) => {
                m.remove("pause");
                Some(Value::Object(m).to_string())
            }
            _ => {
                return Ok(stuck(
                    format!(
                        "{prefix}config in etcd is not Patroni's JSON configuration: nothing was cleared"
                    ),
                    &state_here,
                    &format!(
                        "look at it (etcdctl get {prefix}config), then {}",
                        rerun(ctx, "up")
                    ),
                ))
            }
        }
    };
    if ctx.check || keys.is_empty() {
        let mut o = Outcome::ok(!keys.is_empty());
        o.msg = Some(if keys.is_empty() {
            format!("no keys under {prefix} in etcd: nothing to clear")
        } else {
            format!(
                "would delete {} key(s) under {prefix} in etcd{}",
                keys.len(),
                if kept.is_some() {
                    " and put Patroni's configuration back (without pause)"
                } else {
                    ""
                }
            )
        });
        return Ok(o);
    }
    let write = format!(
        r#"cd /
IFS= read -r pw; IFS= read -r config
{etcdctl}n=$(etcdctl del {prefix} --prefix) || exit 12
echo "deleted=$n"
if [ -n "$config" ]; then printf '%s' "$config" | etcdctl put {config} > /dev/null || exit 13; echo "config=1"; fi
"#,
        etcdctl = etcdctl_env(&endpoints),
        prefix = quote(&prefix),
        config = quote(&format!("{prefix}config")),
    );
    let stdin = format!("{password}\n{}\n", kept.clone().unwrap_or_default());
    let out = sh(ctx, &write, Some(stdin.as_bytes())).await?;
    let m = kv(&stdout(&out));
    if out.status != 0 {
        let state = if out.status == 13 {
            format!(
                "the keys under {prefix} were deleted; Patroni's configuration could not be put back (it was: {})",
                kept.unwrap_or_default()
            )
        } else {
            state_here
        };
        return Ok(stuck(
            format!("clearing {prefix} in etcd failed: {}", stderr(&out)),
            &state,
            &rerun(ctx, "up"),
        ));
    }
    let mut o = Outcome::ok(true);
    o.msg = Some(format!(
        "deleted {} key(s) under {prefix} in etcd{}",
        m.get("deleted").map(String::as_str).unwrap_or("0"),
        if m.contains_key("config") {
            "; Patroni's configuration put back without pause"
        } else {
            ""
        }
    ));
    Ok(o)
}
