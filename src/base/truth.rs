//! Ansible's boolean spellings: the one table pgplay reads `yes`/`no`/`on`/`off` by.
//!
//! Inventory variables, playbook keywords (`become: yes`), module arguments, `-e` values and
//! the template engine's `bool` filter all accept Ansible's spellings. This is Ansible's
//! `module_utils/parsing/convert_bool.py`: a string is lower-cased and trimmed, then matched
//! against `y yes on 1 true t` and `n no off 0 false f`; the numbers 1 and 0 are booleans too,
//! any other number is not (`2` is not true: Ansible's strict `boolean()` refuses it and its
//! lenient one, the `bool` filter, reads it as false). Strict callers refuse a `None`;
//! lenient ones read it as false.

use serde_json::Value;

const TRUE: [&str; 6] = ["y", "yes", "on", "1", "true", "t"];
const FALSE: [&str; 6] = ["n", "no", "off", "0", "false", "f"];

/// Ansible's `boolean(text, strict=True)`: `None` when `text` is not a boolean spelling.
pub fn text_boolean(text: &str) -> Option<bool> {
    let normal = text.trim().to_lowercase();
    if TRUE.contains(&normal.as_str()) {
        Some(true)
    } else if FALSE.contains(&normal.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Ansible's `boolean(number, strict=True)`: 1 and 0 (or 1.0 and 0.0), nothing else.
pub fn number_boolean(number: f64) -> Option<bool> {
    if number == 1.0 {
        Some(true)
    } else if number == 0.0 {
        Some(false)
    } else {
        None
    }
}

/// Ansible's `boolean(value, strict=True)` for a variable's value: booleans as they are,
/// spellings and the numbers 1/0 converted, anything else (`null`, `2`, `"maybe"`, lists)
/// `None`, for the caller to refuse.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().and_then(number_boolean),
        Value::String(s) => text_boolean(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ansible_spellings() {
        for yes in ["y", "Yes", " on ", "1", "TRUE", "t"] {
            assert_eq!(text_boolean(yes), Some(true), "{yes:?}");
        }
        for no in ["n", "NO", "off", "0", "false", "F"] {
            assert_eq!(text_boolean(no), Some(false), "{no:?}");
        }
        for neither in ["", "2", "maybe", "yess", "none"] {
            assert_eq!(text_boolean(neither), None, "{neither:?}");
        }
    }

    #[test]
    fn only_one_and_zero_are_boolean_numbers() {
        assert_eq!(boolean(&json!(1)), Some(true));
        assert_eq!(boolean(&json!(1.0)), Some(true));
        assert_eq!(boolean(&json!(0)), Some(false));
        assert_eq!(boolean(&json!(0.0)), Some(false));
        assert_eq!(boolean(&json!(2)), None);
        assert_eq!(boolean(&json!(-1)), None);
        assert_eq!(boolean(&json!(0.5)), None);
    }

    #[test]
    fn other_values_are_not_booleans() {
        assert_eq!(boolean(&json!(true)), Some(true));
        assert_eq!(boolean(&json!(false)), Some(false));
        assert_eq!(boolean(&json!(null)), None);
        assert_eq!(boolean(&json!([])), None);
        assert_eq!(boolean(&json!({"a": 1})), None);
    }
}
