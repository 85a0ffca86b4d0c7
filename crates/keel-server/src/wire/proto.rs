//! Proto3-JSON number rules: int64 accepted as JSON numbers or strings (emitted as numbers);
//! doubles accept and emit "NaN", "Infinity" and "-Infinity"; repeated fields from a query
//! string may arrive as one value.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serializer};

struct I64Visitor;

impl Visitor<'_> for I64Visitor {
    type Value = i64;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a 64-bit integer (number or string)")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("{v} is out of range for int64")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
            Ok(v as i64)
        } else {
            Err(E::custom(format!("{v} is not an integer")))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom(format!("\"{v}\" is not a valid int64")))
    }
}

/// An optional int64 field.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<I64Wire>::deserialize(d).map(|o| o.map(|w| w.0))
}

/// An int64 wrapper usable inside `Option` and `Vec`.
#[derive(Debug, Clone, Copy)]
pub struct I64Wire(pub i64);

impl<'de> Deserialize<'de> for I64Wire {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(I64Visitor).map(I64Wire)
    }
}

struct F64Visitor;

impl Visitor<'_> for F64Visitor {
    type Value = f64;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a double (number, or \"NaN\", \"Infinity\", \"-Infinity\")")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            other => other
                .trim()
                .parse()
                .map_err(|_| E::custom(format!("\"{v}\" is not a valid double"))),
        }
    }
}

/// A double wrapper accepting proto3-JSON's special values.
#[derive(Debug, Clone, Copy)]
pub struct F64Wire(pub f64);

impl<'de> Deserialize<'de> for F64Wire {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(F64Visitor).map(F64Wire)
    }
}

pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<F64Wire>::deserialize(d).map(|o| o.map(|w| w.0))
}

/// Emits a double as a JSON number, or as proto3-JSON's string for NaN and the infinities.
pub fn ser_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v == f64::INFINITY {
        s.serialize_str("Infinity")
    } else if *v == f64::NEG_INFINITY {
        s.serialize_str("-Infinity")
    } else {
        s.serialize_f64(*v)
    }
}

/// A string field that may arrive as a JSON number or bool (clients stringify loosely).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Stringish>::deserialize(d).map(|o| o.map(|s| s.0))
}

/// A repeated field that a query string may carry as one value.
pub fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize, schemars::JsonSchema)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(v)) => vec![v],
    })
}

/// A string that also accepts numbers and booleans, stringified.
#[derive(Debug, Clone)]
pub struct Stringish(pub String);

impl<'de> Deserialize<'de> for Stringish {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = String;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        d.deserialize_any(V).map(Stringish)
    }
}

/// The schemas of the proto3-JSON readers above for the OpenAPI description: the canonical form
/// a client should send (the readers also accept the looser forms).
mod schemas {
    use std::borrow::Cow;

    use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

    use super::{F64Wire, I64Wire, Stringish};

    impl JsonSchema for I64Wire {
        fn schema_name() -> Cow<'static, str> {
            "Int64".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({"type": "integer", "format": "int64",
                          "minimum": i64::MIN, "maximum": i64::MAX})
        }
    }

    impl JsonSchema for F64Wire {
        fn schema_name() -> Cow<'static, str> {
            "Double".into()
        }
        fn json_schema(g: &mut SchemaGenerator) -> Schema {
            ProtoDouble::json_schema(g)
        }
    }

    impl JsonSchema for Stringish {
        fn schema_name() -> Cow<'static, str> {
            "String".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({"type": "string"})
        }
    }

    /// A double as proto3-JSON writes it: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    pub struct ProtoDouble;

    impl JsonSchema for ProtoDouble {
        fn schema_name() -> Cow<'static, str> {
            "ProtoDouble".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({"anyOf": [
                {"type": "number"},
                {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}
            ]})
        }
    }
}

pub use schemas::ProtoDouble;
