//! A typed variable of a host that is wrong, kept until the run says whether it matters.
//!
//! A real inventory has corners a given run never touches (a sample crontab line on a host
//! that `pgsql-backup` only backs up). So loading never fails on a domain value: it records a
//! `Problem` with the variables whose use makes it matter, and the run (`scope.rs`) refuses
//! it when a selected task reads one of them on a host in play — before any connection — and
//! prints it once as a warning otherwise. YAML that does not parse, and inventory structure,
//! still fail at load time.

use crate::error::Error;
use crate::yaml::Span;

#[derive(Debug, Clone)]
pub struct Problem {
    /// The variables whose use makes this problem blocking: the one written wrong, and those
    /// that cannot be known without it (a bad `pg_seq` leaves the host's identity unknown).
    pub vars: Vec<String>,
    pub span: Span,
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    /// From a load-time error; the variable is the error's key up to the first `.` or `[`
    /// (`pgbackrest_repo.local.path` → `pgbackrest_repo`), plus `also`.
    pub fn new(error: Error, host: &Span, also: &[&str]) -> Problem {
        let (span, key, message, hint) = match error {
            Error::Invalid {
                span,
                key,
                message,
                hint,
            } => (span, key, message, hint),
            Error::Usage { message, hint } => (host.clone(), String::new(), message, hint),
            other => (host.clone(), String::new(), other.to_string(), None),
        };
        let var: String = key.split(['.', '[']).next().unwrap_or_default().to_string();
        let mut vars: Vec<String> = std::iter::once(var)
            .chain(also.iter().map(|s| s.to_string()))
            .filter(|v| !v.is_empty())
            .collect();
        vars.dedup();
        Problem {
            vars,
            span,
            key,
            message,
            hint,
        }
    }

    pub fn error(&self) -> Error {
        let e = Error::invalid(&self.span, self.key.clone(), self.message.clone());
        match &self.hint {
            Some(h) => e.with_hint(h.clone()),
            None => e,
        }
    }

    /// Whether connecting to the host needs the variable (`ansible_*`).
    pub fn is_connection(&self) -> bool {
        self.vars
            .iter()
            .any(|v| v.starts_with("ansible_") || v == "pgplay_known_hosts")
    }

    /// The warning printed when the run does not read the variable: one line with the place
    /// and what is wrong, and why it does not stop this run.
    pub fn warning(&self, why: &str) -> String {
        let key = if self.key.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.key)
        };
        format!(
            "warning: {}: {key}{}\n  note: {why}\n",
            self.span, self.message
        )
    }

    /// Identity of the problem for printing it once (group variables repeat on every host).
    pub fn same_as(&self, other: &Problem) -> bool {
        self.span.file == other.span.file
            && self.span.line == other.span.line
            && self.span.col == other.span.col
            && self.key == other.key
            && self.message == other.message
    }
}
