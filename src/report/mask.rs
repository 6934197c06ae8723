//! Masking secrets before anything is printed or logged.
//!
//! Two rules: values of keys whose name contains `pass`, `secret`, `key` or `token` are
//! replaced structurally wherever a result is shown; and the string values of such variables
//! (of `pass`, `secret`, `token` names, at least 4 characters) are replaced wherever they
//! appear inside text such as a command's output. A `no_log` task's result is replaced whole.

use serde_json::{Map, Value};

pub const MASK: &str = "********";

pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("pass") || k.contains("secret") || k.contains("token") || k.contains("key")
}

fn is_text_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("pass") || k.contains("secret") || k.contains("token")
}

/// Collect the secret strings found in a host's variables (nested maps included).
pub fn collect(vars: &Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in vars {
        match v {
            Value::String(s)
                if is_text_secret_key(k) && s.chars().count() >= 4 && !out.contains(s) =>
            {
                out.push(s.clone());
            }
            Value::Object(m) => collect(m, out),
            Value::Array(items) => {
                for i in items {
                    if let Value::Object(m) = i {
                        collect(m, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Replace every known secret inside a text.
pub fn text(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_string();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// Mask a JSON value: secret-named keys structurally, secrets inside strings textually.
pub fn value(v: &Value, secrets: &[String]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let masked = match v {
                        Value::String(_) | Value::Number(_)
                            if is_secret_key(k) && !k.ends_with("_file") =>
                        {
                            Value::String(MASK.into())
                        }
                        other => value(other, secrets),
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|i| value(i, secrets)).collect()),
        Value::String(s) => Value::String(text(s, secrets)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_keys_and_text() {
        let vars = json!({"pgbackrest_repo": {"minio": {"cipher_pass": "pgBackRest.Secret", "s3_key_secret": "S3User.Backup"}}, "pg_port": 5432});
        let mut secrets = Vec::new();
        if let Value::Object(m) = &vars {
            collect(m, &mut secrets);
        }
        assert_eq!(secrets.len(), 2);
        let shown = value(
            &json!({"stdout": "pass is pgBackRest.Secret and S3User.Backup", "s3_key_secret": "x", "ansible_ssh_private_key_file": "/k"}),
            &secrets,
        );
        let text = shown.to_string();
        assert!(
            !text.contains("pgBackRest.Secret") && !text.contains("S3User.Backup"),
            "{text}"
        );
        assert!(text.contains("/k"), "{text}");
    }
}
