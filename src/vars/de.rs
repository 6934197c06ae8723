//! A serde `Deserializer` over loaded nodes, so typed structs (with `deny_unknown_fields`)
//! can be read straight from YAML while errors keep the file, line, column and key path.
//!
//! Why a hand-written one: a structured variable of the inventory (`pg_pitr`, read into
//! `pg::pitr::spec`'s typed `Raw`) is refused at the place it was written, key by key
//! (`pg_pitr.tme` at `inventory.yml:12:7`, "did you mean 'time'"), and read with the meaning
//! Ansible gives its values — no YAML crate's deserializer keeps our positions or Ansible's
//! leniency. Scalars keep the YAML 1.1 meaning the loader gave them; on top of that, like
//! Ansible, a boolean field accepts "yes"/"no"/"true"/"false" strings, a string field accepts
//! a number or boolean as text, and a number field accepts a numeric string. It lives with
//! the inventory, whose variables it reads (and whose notion of a boolean it shares), above
//! the YAML loader that knows nothing of either.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Error as _, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;

use crate::error::did_you_mean;
use crate::yaml::{Kind, Node, Span};

/// A deserialization error with its place.
#[derive(Debug, Clone)]
pub struct DeError {
    pub span: Option<Span>,
    /// Keys from the root to the failing value (`pg_pitr.time`, `[2]`).
    pub path: Vec<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl DeError {
    pub fn key(&self) -> String {
        let mut out = String::new();
        for p in &self.path {
            if p.starts_with('[') || out.is_empty() {
                out.push_str(p);
            } else {
                out.push('.');
                out.push_str(p);
            }
        }
        out
    }

    fn at(mut self, node: &Node, segment: Option<String>) -> DeError {
        if self.span.is_none() {
            self.span = Some(node.span.clone());
        }
        if let Some(s) = segment {
            self.path.insert(0, s);
        }
        self
    }
}

impl DeError {
    /// The crate's error for a value read under `root` (`pg_pitr`, `pg_databases[1]`): its
    /// key is `root.path`, its place the failing value's (else `whole`'s).
    pub fn into_error(self, root: &str, whole: &Node) -> crate::error::Error {
        let span = self.span.clone().unwrap_or_else(|| whole.span.clone());
        let key = if self.path.is_empty() {
            root.to_string()
        } else {
            format!("{root}.{}", self.key())
        };
        let err = crate::error::Error::invalid(&span, key, self.message);
        match self.hint {
            Some(h) => err.with_hint(h),
            None => err,
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.key())?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            span: None,
            path: Vec::new(),
            message: msg.to_string(),
            hint: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut e = DeError::custom(format!(
            "unknown key '{field}' (expected one of: {})",
            expected.join(", ")
        ));
        e.hint = did_you_mean(field, expected.iter().copied());
        e
    }
}

/// Deserialize a typed value from a node.
pub fn from_node<'de, T: Deserialize<'de>>(node: &'de Node) -> Result<T, DeError> {
    T::deserialize(NodeDe(node)).map_err(|e| e.at(node, None))
}

struct NodeDe<'a>(&'a Node);

fn type_error(node: &Node, want: &str) -> DeError {
    DeError::custom(format!("expected {want}, found {}", node.type_name())).at(node, None)
}

macro_rules! number {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let node = self.0;
            let parsed: Option<$ty> = match &node.kind {
                Kind::Int(i) => <$ty>::try_from(*i).ok(),
                Kind::Str(s) => s.trim().parse::<$ty>().ok(),
                _ => None,
            };
            match parsed {
                Some(n) => visitor.$visit(n),
                None => Err(type_error(
                    node,
                    concat!("a whole number (", stringify!($ty), ")"),
                )),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = self.0;
        match &node.kind {
            Kind::Null => visitor.visit_unit(),
            Kind::Bool(b) => visitor.visit_bool(*b),
            Kind::Int(i) => visitor.visit_i64(*i),
            Kind::Float(x) => visitor.visit_f64(*x),
            Kind::Str(s) => visitor.visit_borrowed_str(s),
            Kind::Seq(items) => visitor.visit_seq(Seq { items, index: 0 }),
            Kind::Map(entries) => visitor.visit_map(Entries {
                entries,
                index: 0,
                pending: None,
            }),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            Kind::Bool(b) => visitor.visit_bool(*b),
            Kind::Str(s) => match crate::base::truth::text_boolean(s) {
                Some(b) => visitor.visit_bool(b),
                None => Err(type_error(self.0, "true or false")),
            },
            _ => Err(type_error(self.0, "true or false")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            Kind::Str(s) => visitor.visit_borrowed_str(s),
            Kind::Int(i) => visitor.visit_string(i.to_string()),
            Kind::Float(x) => visitor.visit_string(x.to_string()),
            Kind::Bool(b) => visitor.visit_string(b.to_string()),
            _ => Err(type_error(self.0, "a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            Kind::Float(x) => visitor.visit_f64(*x),
            Kind::Int(i) => visitor.visit_f64(*i as f64),
            Kind::Str(s) => match s.trim().parse::<f64>() {
                Ok(x) => visitor.visit_f64(x),
                Err(_) => Err(type_error(self.0, "a number")),
            },
            _ => Err(type_error(self.0, "a number")),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    number!(deserialize_i8, visit_i8, i8);
    number!(deserialize_i16, visit_i16, i16);
    number!(deserialize_i32, visit_i32, i32);
    number!(deserialize_i64, visit_i64, i64);
    number!(deserialize_u8, visit_u8, u8);
    number!(deserialize_u16, visit_u16, u16);
    number!(deserialize_u32, visit_u32, u32);
    number!(deserialize_u64, visit_u64, u64);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0.kind {
            Kind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            Kind::Seq(items) => visitor.visit_seq(Seq { items, index: 0 }),
            _ => Err(type_error(self.0, "a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.kind {
            Kind::Map(entries) => visitor.visit_map(Entries {
                entries,
                index: 0,
                pending: None,
            }),
            Kind::Null => visitor.visit_map(Entries {
                entries: &[],
                index: 0,
                pending: None,
            }),
            _ => Err(type_error(self.0, "a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.0.kind {
            Kind::Str(s) => {
                let de: de::value::StrDeserializer<'_, DeError> = s.as_str().into_deserializer();
                visitor.visit_enum(de).map_err(|mut e| {
                    e.message = format!("'{s}' is not one of: {}", variants.join(", "));
                    e.hint = did_you_mean(s, variants.iter().copied());
                    e.at(self.0, None)
                })
            }
            _ => Err(type_error(
                self.0,
                &format!("one of: {}", variants.join(", ")),
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct identifier ignored_any
    }
}

struct Seq<'a> {
    items: &'a [Node],
    index: usize,
}

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.get(self.index) else {
            return Ok(None);
        };
        let i = self.index;
        self.index += 1;
        seed.deserialize(NodeDe(node))
            .map(Some)
            .map_err(|e| e.at(node, Some(format!("[{i}]"))))
    }
}

struct Entries<'a> {
    entries: &'a [(Node, Node)],
    index: usize,
    pending: Option<&'a (Node, Node)>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.get(self.index) else {
            return Ok(None);
        };
        self.index += 1;
        self.pending = Some(entry);
        let key = entry.0.key_text();
        seed.deserialize(key.as_str().into_deserializer())
            .map(Some)
            .map_err(|e: DeError| e.at(&entry.0, Some(key.clone())))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((k, v)) = self.pending.take() else {
            return Err(DeError::custom("a value without a key"));
        };
        seed.deserialize(NodeDe(v))
            .map_err(|e| e.at(v, Some(k.key_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::from_node;
    use crate::yaml::load;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Repo {
        path: String,
        #[serde(default)]
        retention_full: Option<u32>,
        #[serde(default)]
        bundle: Option<bool>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Posix,
        S3,
    }

    fn parse(text: &str) -> Result<Repo, String> {
        let node = load("repo.yml", text).map_err(|e| e.message)?;
        from_node::<Repo>(&node).map_err(|e| format!("{e} | hint: {:?}", e.hint))
    }

    #[test]
    fn typed_values_with_ansible_leniency() {
        let r = parse("path: /pg/backup\nretention_full: '2'\nbundle: 'yes'\nkind: s3\n");
        assert_eq!(
            r,
            Ok(Repo {
                path: "/pg/backup".into(),
                retention_full: Some(2),
                bundle: Some(true),
                kind: Some(Kind::S3)
            })
        );
    }

    #[test]
    fn errors_name_the_place_and_key() {
        let e = parse("path: /x\nretention_ful: 2\n")
            .err()
            .unwrap_or_default();
        assert!(
            e.starts_with("repo.yml:2:1: retention_ful: unknown key"),
            "{e}"
        );
        assert!(e.contains("did you mean 'retention_full'"), "{e}");
        let e = parse("path: /x\nretention_full: many\n")
            .err()
            .unwrap_or_default();
        assert!(
            e.starts_with("repo.yml:2:17: retention_full: expected a whole number"),
            "{e}"
        );
        let e = parse("path: /x\nkind: nfs\n").err().unwrap_or_default();
        assert!(
            e.contains("repo.yml:2:7: kind: 'nfs' is not one of: posix, s3"),
            "{e}"
        );
        let e = parse("path: [1]\n").err().unwrap_or_default();
        assert!(e.contains("path: expected a string, found a list"), "{e}");
    }
}
