//! Scalars resolved by YAML 1.1, as PyYAML (Ansible's loader) resolves them: `yes`/`no`/
//! `on`/`off` are booleans, `0755` is octal, `1:30` is base 60, `1_000` is a thousand, while
//! `y`/`n` and `1e3` stay strings, and quoted scalars are always strings. Explicit tags
//! (`!!str`, `!unsafe`, ...) are honoured.

use yaml_rust2::parser::Tag;
use yaml_rust2::scanner::TScalarStyle;

use super::Kind;

/// Resolve a scalar by YAML 1.1 (PyYAML) rules. Quoted scalars are always strings.
pub(super) fn resolve_scalar(
    text: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
) -> Result<Kind, String> {
    if let Some(tag) = tag {
        let name = if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
            tag.suffix.as_str()
        } else {
            match (tag.handle.as_str(), tag.suffix.as_str()) {
                ("!", "unsafe") => return Ok(Kind::Str(text.to_string())),
                ("!", "vault") => {
                    return Err("Ansible Vault values (!vault) are not supported; \
                         put the secret in the inventory in plain text or pass it with -e @file"
                        .into())
                }
                (h, s) => return Err(format!("unknown YAML tag {h}{s}")),
            }
        };
        return match name {
            "str" => Ok(Kind::Str(text.to_string())),
            "int" => resolve_int(text)
                .map(Kind::Int)
                .ok_or_else(|| format!("!!int value {text:?} is not an integer")),
            "float" => resolve_float(text)
                .or_else(|| resolve_int(text).map(|i| i as f64))
                .map(Kind::Float)
                .ok_or_else(|| format!("!!float value {text:?} is not a number")),
            "bool" => resolve_bool(text)
                .map(Kind::Bool)
                .ok_or_else(|| format!("!!bool value {text:?} is not a boolean")),
            "null" => Ok(Kind::Null),
            other => Err(format!("unsupported YAML tag !!{other}")),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Kind::Str(text.to_string()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Kind::Null);
    }
    if let Some(b) = resolve_bool(text) {
        return Ok(Kind::Bool(b));
    }
    if let Some(i) = resolve_int(text) {
        return Ok(Kind::Int(i));
    }
    if let Some(x) = resolve_float(text) {
        return Ok(Kind::Float(x));
    }
    Ok(Kind::Str(text.to_string()))
}

/// PyYAML's booleans: no `y`/`n` (those stay strings).
fn resolve_bool(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// PyYAML's integers: `0b1010`, `0755` (octal), `0x1F`, `1_000`, and base 60 `1:30`.
fn resolve_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.starts_with('_') {
        return None;
    }
    let digits = |s: &str, radix: u32| -> Option<i64> {
        let clean: String = s.chars().filter(|c| *c != '_').collect();
        if clean.is_empty() {
            return None;
        }
        i64::from_str_radix(&clean, radix).ok()
    };
    let value = if let Some(bin) = body.strip_prefix("0b") {
        if !bin.chars().all(|c| c == '0' || c == '1' || c == '_') {
            return None;
        }
        digits(bin, 2)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        if !hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_') {
            return None;
        }
        digits(hex, 16)?
    } else if body == "0" {
        0
    } else if let Some(oct) = body.strip_prefix('0') {
        if !oct.chars().all(|c| ('0'..='7').contains(&c) || c == '_') {
            return None;
        }
        digits(oct, 8)?
    } else if body.contains(':') {
        // Base 60: [1-9][0-9_]*(:[0-5]?[0-9])+
        let mut parts = body.split(':');
        let head = parts.next()?;
        if !head.starts_with(|c: char| ('1'..='9').contains(&c))
            || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        let mut value = digits(head, 10)?;
        for part in parts {
            let ok = matches!(part.len(), 1 | 2)
                && part.chars().all(|c| c.is_ascii_digit())
                && (part.len() == 1 || part.as_bytes()[0] <= b'5');
            if !ok {
                return None;
            }
            value = value
                .checked_mul(60)?
                .checked_add(part.parse::<i64>().ok()?)?;
        }
        value
    } else {
        if !body.starts_with(|c: char| ('1'..='9').contains(&c))
            || !body.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        digits(body, 10)?
    };
    Some(if neg { -value } else { value })
}

/// PyYAML's floats need a dot (or are .inf/.nan): `1.5`, `-1.5e+3`, `.5`.
fn resolve_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = mantissa.split_once('.')?;
    let int_ok = int_part.is_empty()
        || (int_part.starts_with(|c: char| c.is_ascii_digit())
            && int_part.chars().all(|c| c.is_ascii_digit() || c == '_'));
    let frac_ok = frac.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !int_ok || !frac_ok || (int_part.is_empty() && frac.is_empty()) {
        return None;
    }
    if let Some(exp) = exponent {
        let digits = exp.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    clean.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::super::load;

    fn scalar(text: &str) -> Value {
        load("t.yml", &format!("v: {text}\n"))
            .map(|n| n.to_json()["v"].clone())
            .unwrap_or(Value::String("<error>".into()))
    }

    #[test]
    fn yaml11_scalars_resolve_like_pyyaml() {
        let table: &[(&str, Value)] = &[
            ("yes", Value::Bool(true)),
            ("No", Value::Bool(false)),
            ("on", Value::Bool(true)),
            ("OFF", Value::Bool(false)),
            ("y", Value::String("y".into())),
            ("n", Value::String("n".into())),
            ("0755", 493.into()),
            ("0", 0.into()),
            ("08", Value::String("08".into())),
            ("0x1F", 31.into()),
            ("0b101", 5.into()),
            ("1_000", 1000.into()),
            ("-42", (-42).into()),
            ("1:30", 90.into()),
            ("1.5", serde_json::json!(1.5)),
            ("1e3", Value::String("1e3".into())),
            ("~", Value::Null),
            ("'0755'", Value::String("0755".into())),
            ("\"yes\"", Value::String("yes".into())),
            ("10.10.10.10", Value::String("10.10.10.10".into())),
            ("!!str 0755", Value::String("0755".into())),
            ("20MiB", Value::String("20MiB".into())),
        ];
        for (text, want) in table {
            assert_eq!(&scalar(text), want, "scalar {text}");
        }
    }
}
