//! A task's arguments read into its module's typed `Args` (serde, `deny_unknown_fields`).
//!
//! Read twice, because a value may be a template until the task runs on a host:
//! - when the playbook loads, `names` checks the argument *names* only (every value stands
//!   for "not known yet"), so a misspelt argument is refused with its place before anything
//!   runs, while `mode: "{{ m }}"` waits for its host;
//! - when the task runs, `read` reads the rendered values with Ansible's leniency: a string
//!   argument takes a number or boolean as text, a boolean takes `yes`/`no`/`1`/`0`, a
//!   number takes a numeric string; a wrong type fails the task naming the argument.
//!
//! Hence every field of an `Args` is an `Option` (whether one is required, and what its value
//! means together with the others, is the module's to say when it runs, as in Ansible).
//! A field written `Option<IgnoredAny>` is an argument Ansible has and pgplay accepts without
//! acting on it (`backup`, `verbosity`, ...).

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Failure;

/// An argument name the module does not have, with the ones it has.
#[derive(Debug, PartialEq)]
pub struct Unknown {
    pub name: String,
    pub expected: Vec<&'static str>,
}

/// Check the names of `args` against `T` (load time).
pub fn names<T: DeserializeOwned>(args: &Map<String, Value>) -> Result<(), Unknown> {
    match T::deserialize(Args {
        args,
        values: false,
    }) {
        Ok(_) => Ok(()),
        Err(ArgError::Unknown(u)) => Err(u),
        // Values are not read here, so nothing else can fail.
        Err(ArgError::Message(_)) => Ok(()),
    }
}

/// Read rendered `args` into `T` (run time).
pub fn read<T: DeserializeOwned>(args: &Map<String, Value>) -> Result<T, Failure> {
    T::deserialize(Args { args, values: true }).map_err(|e| match e {
        ArgError::Unknown(u) => Failure::Args(format!("unknown argument '{}'", u.name)),
        ArgError::Message(m) => Failure::Args(m),
    })
}

/// For a field whose presence matters even when it is null (`content: null` is an empty
/// file, a missing `content` is an error): `#[serde(default, deserialize_with = "present")]`.
pub fn present<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The first given of an argument and its aliases, which must be an absolute path
/// (`path`, `dest`, `name` of `file`): `[("path", &a.path), ...]`.
pub fn abs_path(names: &[(&str, &Option<String>)]) -> Result<String, Failure> {
    for (n, v) in names {
        if let Some(v) = v {
            if !v.starts_with('/') {
                return Err(Failure::Args(format!(
                    "'{n}' must be an absolute path, got '{v}'"
                )));
            }
            return Ok(v.clone());
        }
    }
    Err(missing(names.first().map_or("path", |(n, _)| n)))
}

/// A required argument.
pub fn required<T: Clone>(name: &str, value: &Option<T>) -> Result<T, Failure> {
    value.clone().ok_or_else(|| missing(name))
}

fn missing(name: &str) -> Failure {
    Failure::Args(format!("missing required argument '{name}'"))
}

/// A file mode: an integer (YAML `0644` is already 420) or an octal string ("0644", "644").
/// Symbolic modes are refused rather than guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode(pub u32);

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Mode, D::Error> {
        let v = Value::deserialize(d)?;
        let bad = || {
            de::Error::custom(format!(
                "mode {v} is not an octal file mode; write it quoted, e.g. mode: '0644'"
            ))
        };
        match &v {
            // YAML 1.1 already read `0644` as 420; a bare `644` is decimal (0o1204) in
            // Ansible too, which is never what anyone means: refuse it.
            Value::Number(n) => match n.as_u64() {
                Some(m) if m <= 0o777 => Ok(Mode(m as u32)),
                _ => Err(bad()),
            },
            Value::String(s) => {
                let s = s.trim();
                if s.is_empty() || !s.chars().all(|c| ('0'..='7').contains(&c)) || s.len() > 5 {
                    return Err(bad());
                }
                u32::from_str_radix(s, 8).map(Mode).map_err(|_| bad())
            }
            _ => Err(bad()),
        }
    }
}

#[derive(Debug)]
enum ArgError {
    Unknown(Unknown),
    Message(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Unknown(u) => write!(f, "unknown argument '{}'", u.name),
            ArgError::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ArgError {}

impl de::Error for ArgError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ArgError::Message(msg.to_string())
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        ArgError::Unknown(Unknown {
            name: field.to_string(),
            expected: expected.to_vec(),
        })
    }
}

/// The arguments as a map; `values: false` hands out no value (load time).
struct Args<'a> {
    args: &'a Map<String, Value>,
    values: bool,
}

impl<'de> de::Deserializer<'de> for Args<'de> {
    type Error = ArgError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgError> {
        visitor.visit_map(Entries {
            iter: self.args.iter(),
            pending: None,
            values: self.values,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct Entries<'a> {
    iter: serde_json::map::Iter<'a>,
    pending: Option<(&'a str, &'a Value)>,
    values: bool,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = ArgError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ArgError> {
        let Some((k, v)) = self.iter.next() else {
            return Ok(None);
        };
        self.pending = Some((k, v));
        seed.deserialize(de::value::BorrowedStrDeserializer::new(k))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, ArgError> {
        let Some((key, value)) = self.pending.take() else {
            return Err(ArgError::Message("a value without a name".into()));
        };
        seed.deserialize(Arg {
            key,
            value: self.values.then_some(value),
        })
    }
}

/// One argument's value (`None`: not read, at load time).
struct Arg<'a> {
    key: &'a str,
    value: Option<&'a Value>,
}

impl Arg<'_> {
    fn wrong(&self, v: &Value, want: &str) -> ArgError {
        ArgError::Message(format!("argument '{}' must be {want}, got {v}", self.key))
    }
}

impl<'de> de::Deserializer<'de> for Arg<'de> {
    type Error = ArgError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgError> {
        match self.value {
            None => visitor.visit_unit(),
            Some(v) => de::Deserializer::deserialize_any(v, visitor)
                .map_err(|e| ArgError::Message(format!("argument '{}': {e}", self.key))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgError> {
        match self.value {
            None | Some(Value::Null) => visitor.visit_none(),
            Some(_) => visitor.visit_some(self),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgError> {
        match self.value {
            None => visitor.visit_unit(),
            Some(Value::String(s)) => visitor.visit_borrowed_str(s),
            Some(Value::Number(n)) => visitor.visit_string(n.to_string()),
            Some(Value::Bool(b)) => visitor.visit_string(b.to_string()),
            Some(v) => Err(self.wrong(v, "a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgError> {
        match self.value {
            None => visitor.visit_unit(),
            Some(v) => match crate::base::truth::boolean(v) {
                Some(b) => visitor.visit_bool(b),
                None => Err(self.wrong(v, "true or false")),
            },
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ArgError> {
        let key = self.key;
        match self.value {
            None => visitor.visit_unit(),
            Some(Value::Number(n)) => visitor.visit_f64(n.as_f64().unwrap_or_default()),
            Some(Value::String(s)) => match s.trim().parse() {
                Ok(x) => visitor.visit_f64(x),
                Err(_) => Err(ArgError::Message(format!(
                    "argument '{key}' must be a number, got {s:?}"
                ))),
            },
            Some(v) => Err(self.wrong(v, "a number")),
        }
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 char bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::de::IgnoredAny;
    use serde::Deserialize;
    use serde_json::{json, Map, Value};

    use super::{names, present, read, Mode, Unknown};
    use crate::modules::Failure;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct T {
        text: Option<String>,
        flag: Option<bool>,
        num: Option<f64>,
        mode: Option<Mode>,
        #[serde(default, deserialize_with = "present")]
        content: Option<Value>,
        #[allow(dead_code)] // accepted whatever it holds, never read
        backup: Option<IgnoredAny>,
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn got(v: Value) -> String {
        match read::<T>(&map(v)) {
            Ok(t) => format!(
                "{:?} {:?} {:?} {:?} {:?}",
                t.text,
                t.flag,
                t.num,
                t.mode.map(|m| m.0),
                t.content
            ),
            Err(Failure::Args(m)) => format!("ERR {m}"),
            Err(Failure::Transport(e)) => format!("ERR {e}"),
        }
    }

    #[test]
    fn values_are_read_with_ansible_leniency() {
        for (args, want) in [
            (json!({}), "None None None None None"),
            (
                json!({"text": 5, "flag": "yes", "num": "2.5"}),
                "Some(\"5\") Some(true) Some(2.5) None None",
            ),
            (
                json!({"text": true, "flag": 0, "mode": "0644"}),
                "Some(\"true\") Some(false) None Some(420) None",
            ),
            (
                json!({"text": null, "mode": 420, "content": null}),
                "None None None Some(420) Some(Null)",
            ),
            (json!({"backup": [1, {"x": 2}]}), "None None None None None"),
            (
                json!({"text": [1]}),
                "ERR argument 'text' must be a string, got [1]",
            ),
            (
                json!({"flag": "maybe"}),
                "ERR argument 'flag' must be true or false, got \"maybe\"",
            ),
            (
                json!({"num": "many"}),
                "ERR argument 'num' must be a number, got \"many\"",
            ),
            (
                json!({"num": [1]}),
                "ERR argument 'num' must be a number, got [1]",
            ),
            (
                json!({"mode": 644}),
                "ERR mode 644 is not an octal file mode; write it quoted, e.g. mode: '0644'",
            ),
            (
                json!({"mode": "u+x"}),
                "ERR mode \"u+x\" is not an octal file mode; write it quoted, e.g. mode: '0644'",
            ),
        ] {
            assert_eq!(got(args.clone()), want, "{args}");
        }
    }

    #[test]
    fn names_are_checked_whatever_the_values() {
        let templated =
            json!({"text": "{{ x }}", "flag": "{{ y }}", "mode": "{{ m }}", "num": [1]});
        assert_eq!(names::<T>(&map(templated)), Ok(()));
        assert_eq!(
            names::<T>(&map(json!({"txt": 1}))),
            Err(Unknown {
                name: "txt".into(),
                expected: vec!["text", "flag", "num", "mode", "content", "backup"]
            })
        );
    }
}
