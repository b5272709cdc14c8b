//! Lenient deserialisers: the docs ask for every scalar as a JSON string while the SDKs send native values, so
//! both must be accepted.

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrString {
    Bool(bool),
    Str(String),
}

/// `true`, `"true"` (any case) → true; `false`, `"false"` → false; null → None.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<BoolOrString>::deserialize(d)? {
        None => Ok(None),
        Some(BoolOrString::Bool(b)) => Ok(Some(b)),
        Some(BoolOrString::Str(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(BoolOrString::Str(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(BoolOrString::Str(s)) => Err(serde::de::Error::custom(format!(
            "expected a boolean or \"true\"/\"false\", got {s:?}"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    Str(String),
    Int(u64),
}

/// A minor-unit amount given as `"100"` or `100`.
pub(crate) fn minor_units<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match StringOrNumber::deserialize(d)? {
        StringOrNumber::Str(s) => Ok(s),
        StringOrNumber::Int(n) => Ok(n.to_string()),
    }
}

/// A count or size given as `"10"` or `10`.
pub(crate) fn opt_string_or_number<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<StringOrNumber>::deserialize(d)?.map(|v| match v {
        StringOrNumber::Str(s) => s,
        StringOrNumber::Int(n) => n.to_string(),
    }))
}
