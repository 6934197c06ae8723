//! What a module did (`Outcome`), with the diff it shows under `--diff`, shaped as Ansible
//! registers it (`to_json`), so every module reports the same way and `register` sees what
//! an Ansible user expects (`rc`, `stdout_lines`, `changed`, ...).

use serde_json::{Map, Value};

/// A text diff for check/diff mode.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Diff {
    pub path: String,
    pub before: String,
    pub after: String,
}

impl Diff {
    /// Unified diff text.
    pub fn unified(&self) -> String {
        let diff = similar::TextDiff::from_lines(&self.before, &self.after);
        diff.unified_diff()
            .context_radius(3)
            .header(
                &format!("before: {}", self.path),
                &format!("after: {}", self.path),
            )
            .to_string()
    }
}

/// What a module did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    pub msg: Option<String>,
    pub diff: Option<Diff>,
    /// Extra result fields (rc, stdout, stderr, state, ...), available to `register`.
    pub data: Map<String, Value>,
    /// Variables set for the host (set_fact).
    pub facts: Map<String, Value>,
}

impl Outcome {
    pub fn ok(changed: bool) -> Outcome {
        Outcome {
            changed,
            ..Outcome::default()
        }
    }

    pub fn failed(msg: impl Into<String>) -> Outcome {
        Outcome {
            failed: true,
            msg: Some(msg.into()),
            ..Outcome::default()
        }
    }

    /// The registered value, as Ansible shapes it.
    pub fn to_json(&self) -> Value {
        let mut m = self.data.clone();
        m.insert("changed".into(), Value::Bool(self.changed));
        m.insert("failed".into(), Value::Bool(self.failed));
        if self.skipped {
            m.insert("skipped".into(), Value::Bool(true));
        }
        if let Some(msg) = &self.msg {
            m.insert("msg".into(), Value::String(msg.clone()));
        }
        for key in ["stdout", "stderr"] {
            if let Some(Value::String(s)) = m.get(key) {
                let lines: Vec<Value> = s.lines().map(|l| Value::String(l.into())).collect();
                m.insert(format!("{key}_lines"), Value::Array(lines));
            }
        }
        Value::Object(m)
    }
}
