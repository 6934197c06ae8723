//! Template errors: what failed and where, and, for an undefined variable, which one (found
//! by `diagnose`).

/// A template failed to parse or render.
///
/// `Display` gives `template <name> line <n>: <message>` (the line part is left
/// out when unknown).  When the failure is an undefined variable, `undefined`
/// holds its name (a dotted path such as `pg_cluster` or `result.stdout`) and
/// `message` starts with `undefined variable '<name>'`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {name}{}: {message}", line_suffix(.line))]
pub struct TemplateError {
    pub name: String,
    pub line: Option<usize>,
    pub undefined: Option<String>,
    pub message: String,
}

fn line_suffix(line: &Option<usize>) -> String {
    match line {
        Some(n) => format!(" line {n}"),
        None => String::new(),
    }
}

impl TemplateError {
    pub(super) fn plain(name: &str, message: impl Into<String>) -> TemplateError {
        TemplateError {
            name: name.to_string(),
            line: None,
            undefined: None,
            message: message.into(),
        }
    }
}

pub(super) fn undefined_error(
    name: &str,
    line: Option<usize>,
    missing: Option<String>,
    extra: Option<String>,
) -> TemplateError {
    let message = match (&missing, extra) {
        (Some(m), Some(x)) => format!("undefined variable '{m}': {x}"),
        (Some(m), None) => format!("undefined variable '{m}'"),
        (None, Some(x)) => x,
        (None, None) => "expression evaluated to an undefined value".to_string(),
    };
    TemplateError {
        name: name.to_string(),
        line,
        undefined: missing,
        message,
    }
}
