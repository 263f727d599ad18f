//! A `serde_json::Value` deserializer that refuses a JSON array where an
//! object is expected.
//!
//! Serde lets a struct be read from a sequence of its fields in order, so
//! `"logConfiguration": [{"logDriver": …}]` would be read positionally and fail
//! with a misleading message inside `[0]`. ECS reads JSON objects only; so do we.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

/// Wraps a [`Value`] so that structs are only read from objects.
pub struct Strict(pub Value);

impl IntoDeserializer<'_, serde_json::Error> for Strict {
    type Deserializer = Strict;

    fn into_deserializer(self) -> Strict {
        self
    }
}

impl<'de> de::Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(Strict));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(map) => {
                let mut map = MapDeserializer::new(map.into_iter().map(|(k, v)| (k, Strict(v))));
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(_) => Err(de::Error::invalid_type(Unexpected::Seq, &visitor)),
            other => Strict(other).deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict(other)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Our enums are unit variants named by strings: nothing nested to guard.
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        a: i64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        inner: Option<Inner>,
        list: Vec<Inner>,
    }

    fn read(json: &str) -> Result<Outer, serde_json::Error> {
        Outer::deserialize(Strict(serde_json::from_str(json).unwrap()))
    }

    #[test]
    fn objects_read_as_usual() {
        assert_eq!(
            read(r#"{"inner":{"a":1},"list":[{"a":2}]}"#).unwrap(),
            Outer {
                inner: Some(Inner { a: 1 }),
                list: vec![Inner { a: 2 }]
            }
        );
        assert_eq!(read(r#"{"inner":null,"list":[]}"#).unwrap().inner, None);
    }

    #[test]
    fn arrays_are_not_structs() {
        let err = read(r#"{"inner":[1],"list":[]}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid type: sequence, expected struct Inner"),
            "{err}"
        );
        assert!(read(r#"{"list":[[2]]}"#).is_err());
        assert!(read(r#"{"list":{"a":2}}"#).is_err());
    }
}
