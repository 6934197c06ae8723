//! Patroni's REST API as the modules read it (`pg_leader`, the PITR's preflight and steps):
//! one shell function to GET from it on a host, and the readings of its `GET /cluster`.
//! python3 does the GET: it is Patroni's own interpreter, so it is there.

use serde_json::Value;

/// Shell: `api URL` prints the body of a GET (also of an error status); exit 7 when the
/// connection is refused (nothing listens), 28 for any other failure (a timeout, a dead host).
pub const API: &str = r#"api() { python3 -c '
import sys, urllib.request, urllib.error
try:
    sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode())
except Exception as e:
    sys.exit(7 if isinstance(getattr(e, "reason", e), ConnectionRefusedError) else 28)
' "$1"; }
"#;

/// The running leader of a `GET /cluster` answer: (member name, host).
pub fn running_leader(cluster: &Value) -> Option<(String, String)> {
    cluster["members"].as_array()?.iter().find_map(|m| {
        (m["role"] == "leader" && m["state"] == "running").then(|| {
            (
                m["name"].as_str().unwrap_or("").to_string(),
                m["host"].as_str().unwrap_or("").to_string(),
            )
        })
    })
}

/// The Patroni name of the member at `host` in a `GET /cluster` answer.
pub fn member_at(cluster: &Value, host: &str) -> Option<String> {
    cluster["members"]
        .as_array()?
        .iter()
        .find(|m| m["host"] == host)
        .and_then(|m| m["name"].as_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_leader_and_a_members_name() {
        let v = serde_json::json!({"members": [
            {"name": "pg-test-1", "role": "replica", "state": "running", "host": "127.0.50.1"},
            {"name": "pg-test-2", "role": "leader", "state": "running", "host": "127.0.50.2"},
        ]});
        assert_eq!(
            running_leader(&v),
            Some(("pg-test-2".into(), "127.0.50.2".into()))
        );
        assert_eq!(member_at(&v, "127.0.50.1").as_deref(), Some("pg-test-1"));
        let stopped = serde_json::json!({"members": [
            {"name": "a", "role": "leader", "state": "stopped", "host": "h"}]});
        assert_eq!(running_leader(&stopped), None);
        assert_eq!(running_leader(&Value::Null), None);
    }
}
