//! What a string is: Jinja markup to render later, or an identifier.
//!
//! Every stage asks "does this value still hold a template?" (inventory checks skip such values
//! until they are rendered, the playbook loader refuses templates where Ansible resolves names
//! at load time, the engine renders only what needs it), and three places check that a key is a
//! variable or shell name. One answer each keeps them from drifting: a value with only `{%`
//! markup is a template as much as one with `{{`.

/// True when `s` contains Jinja markup (`{{` or `{%`) and so needs rendering.
pub fn contains_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// True for a variable name Ansible accepts and a POSIX shell variable name alike:
/// `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_markup() {
        assert!(contains_template("{{ x }}"));
        assert!(contains_template("a {% if x %}b{% endif %}"));
        assert!(!contains_template("echo ${#arr[@]} {x}"));
        assert!(!contains_template("plain"));
    }

    #[test]
    fn identifiers() {
        for ok in ["PGDATA", "_x1", "pg_cluster", "a"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "é", "a.b"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
