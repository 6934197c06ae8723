//! The sandbox's Patroni mode (issue 10, item 1): the same four hosts as Pigsty runs them with
//! `patroni_enabled: true` — etcd on meta over TLS with an RBAC root user, Patroni on every
//! host. Runs last: it stops the plain sandbox and starts the Patroni one.

use crate::support::{ok, ssh, META, TEST1, TEST2};

const ETCDCTL: &str = "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.10.10:2379 --cacert=/etc/pki/ca.crt --dial-timeout=3s";

pub fn patroni_sandbox_comes_up() {
    crate::support::down();
    let up = crate::run::sandbox(
        "sandbox/cluster",
        &["up"],
        &[("PGPLAY_CLUSTER_PATRONI", "1".to_string())],
    );
    if let Err(e) = up {
        panic!("{e}");
    }
    // One leader and two running replicas of pg-test, on one timeline.
    let list = ok(
        TEST1,
        "patronictl -c /etc/patroni/patroni.yml list -f json pg-test",
    );
    let members: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap_or_default();
    let role = |r: &str| members.iter().filter(|m| m["Role"] == r).count();
    assert_eq!((role("Leader"), role("Replica")), (1, 2), "{list}");
    assert!(
        members.iter().all(|m| m["TL"] == members[0]["TL"]),
        "{list}"
    );
    let leader = members
        .iter()
        .find(|m| m["Role"] == "Leader")
        .and_then(|m| m["Host"].as_str())
        .unwrap_or_default();
    assert_eq!(leader, TEST1, "{list}");
    // The REST API answers on the host's own address.
    let api = ok(
        TEST2,
        "curl -s --max-time 5 http://127.0.10.12:8008/patroni",
    );
    assert!(
        api.contains("\"role\": \"replica\"") || api.contains("\"role\":\"replica\""),
        "{api}"
    );
    // etcd: TLS and RBAC — anonymous reads are refused, root sees the cluster's keys.
    let (code, _, err) = ssh(META, &format!("{ETCDCTL} get --prefix --keys-only /pg/"));
    assert!(
        code != 0 && err.contains("user name is empty"),
        "anonymous read allowed: {err}"
    );
    let keys = ok(
        META,
        &format!("{ETCDCTL} --user root:Etcd.Root get --prefix --keys-only /pg/pg-test/"),
    );
    assert!(
        keys.contains("/pg/pg-test/leader") && keys.contains("/pg/pg-test/members/pg-test-3"),
        "{keys}"
    );
    // PostgreSQL under Patroni: the unit postgres is not what runs it.
    let units = ok(
        TEST1,
        "systemctl is-active patroni; systemctl is-enabled postgres || true",
    );
    assert!(
        units.starts_with("active") && units.contains("disabled"),
        "{units}"
    );
}
