//! Request-field checks. Every failure is an `F PARAM_ILLEGAL` whose message names the field by its JSON
//! path (e.g. `paymentAmount.value`), because that is what a developer needs to fix the request.

use serde_json::{Map, Value, json};

use crate::reply::Reply;

/// A money amount in minor units, as on the wire (`{"currency":"PHP","value":"800"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amount {
    /// ISO 4217 code, three upper-case letters.
    pub currency: String,
    /// Minor units.
    pub value: u64,
}

impl Amount {
    /// The wire form.
    pub fn to_json(&self) -> Value {
        json!({"currency": self.currency, "value": self.value.to_string()})
    }
}

/// A JSON object being validated, with the path that leads to it.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: Option<&'a str>,
}

/// A validation result: the error is the complete reply to send.
pub type Checked<T> = Result<T, Box<Reply>>;

fn illegal(message: String) -> Box<Reply> {
    Box::new(Reply::param_illegal(message))
}

impl<'a> Fields<'a> {
    /// The request body; it must be a JSON object.
    pub fn root(body: &'a Value) -> Checked<Self> {
        match body {
            Value::Object(obj) => Ok(Self { obj, prefix: None }),
            _ => Err(illegal("the request body must be a JSON object".to_owned())),
        }
    }

    /// The full path of a field, for messages.
    pub fn path(&self, name: &str) -> String {
        match self.prefix {
            Some(prefix) => format!("{prefix}.{name}"),
            None => name.to_owned(),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    /// An optional nested object; `path` is its full path (the caller knows it, which keeps lifetimes simple).
    pub fn object(&self, name: &str, path: &'a str) -> Checked<Option<Fields<'a>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(obj)) => Ok(Some(Fields {
                obj,
                prefix: Some(path),
            })),
            Some(_) => Err(illegal(format!("{} must be an object", self.path(name)))),
        }
    }

    /// A required nested object.
    pub fn required_object(&self, name: &str, path: &'a str) -> Checked<Fields<'a>> {
        self.object(name, path)?
            .ok_or_else(|| illegal(format!("{} is required", self.path(name))))
    }

    /// An optional string of at most `max` characters; an empty string counts as absent.
    pub fn str(&self, name: &str, max: usize) -> Checked<Option<&'a str>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) if s.chars().count() > max => Err(illegal(format!(
                "{} is longer than {max} characters",
                self.path(name)
            ))),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(illegal(format!("{} must be a string", self.path(name)))),
        }
    }

    /// A required, non-empty string of at most `max` characters.
    pub fn required_str(&self, name: &str, max: usize) -> Checked<&'a str> {
        self.str(name, max)?
            .ok_or_else(|| illegal(format!("{} is required", self.path(name))))
    }

    /// An optional string that must be one of `allowed`.
    pub fn enum_str(&self, name: &str, allowed: &[&str]) -> Checked<Option<&'a str>> {
        match self.str(name, 64)? {
            Some(v) if !allowed.contains(&v) => Err(illegal(format!(
                "{} must be one of {}",
                self.path(name),
                allowed.join(", ")
            ))),
            other => Ok(other),
        }
    }

    /// A required string that must be one of `allowed`.
    pub fn required_enum(&self, name: &str, allowed: &[&str]) -> Checked<&'a str> {
        self.enum_str(name, allowed)?
            .ok_or_else(|| illegal(format!("{} is required", self.path(name))))
    }

    /// An optional boolean, as `true` or `"true"` (the docs ask for strings, the SDKs send booleans).
    pub fn bool(&self, name: &str) -> Checked<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" => Ok(Some(false)),
            Some(_) => Err(illegal(format!(
                "{} must be true or false",
                self.path(name)
            ))),
        }
    }

    /// An optional array of strings.
    pub fn str_array(&self, name: &str) -> Checked<Option<Vec<&'a str>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| illegal(format!("{} must hold strings", self.path(name))))
                })
                .collect::<Checked<Vec<_>>>()
                .map(Some),
            Some(_) => Err(illegal(format!("{} must be an array", self.path(name)))),
        }
    }

    /// An optional amount: `currency` three upper-case letters, `value` a positive integer string of minor
    /// units without leading zeros.
    pub fn amount(&self, name: &str) -> Checked<Option<Amount>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let path = self.path(name);
        let Value::Object(obj) = value else {
            return Err(illegal(format!("{path} must be an object")));
        };
        let currency = match obj.get("currency") {
            Some(Value::String(c)) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => {
                c
            }
            Some(_) => {
                return Err(illegal(format!(
                    "{path}.currency must be 3 upper-case letters"
                )));
            }
            None => return Err(illegal(format!("{path}.currency is required"))),
        };
        let digits = match obj.get("value") {
            Some(Value::String(v)) => v,
            Some(_) => return Err(illegal(format!("{path}.value must be a string of digits"))),
            None => return Err(illegal(format!("{path}.value is required"))),
        };
        let well_formed = !digits.is_empty()
            && digits.len() <= 16
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        match digits.parse::<u64>() {
            Ok(value) if well_formed => Ok(Some(Amount {
                currency: currency.clone(),
                value,
            })),
            _ => Err(illegal(format!(
                "{path}.value must be a positive integer of minor units (at most 16 digits)"
            ))),
        }
    }

    /// A required amount.
    pub fn required_amount(&self, name: &str) -> Checked<Amount> {
        self.amount(name)?
            .ok_or_else(|| illegal(format!("{} is required", self.path(name))))
    }
}

/// Checks that `url` is an absolute http(s) URL.
pub fn absolute_url(field: &str, url: &str) -> Checked<()> {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(()),
        _ => Err(illegal(format!("{field} must be an absolute http(s) URL"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(err: &Reply) -> String {
        err.message.clone()
    }

    #[test]
    fn strings_lengths_and_enums_name_the_field() {
        let body = json!({"a": "x".repeat(65), "b": 3, "e": "NOPE", "o": {"inner": ""}});
        let f = Fields::root(&body).unwrap();
        assert!(message(&f.required_str("a", 64).unwrap_err()).contains("a is longer than 64"));
        assert!(f.required_str("a", 65).is_ok());
        assert!(message(&f.str("b", 5).unwrap_err()).contains("b must be a string"));
        assert!(
            message(&f.required_str("missing", 5).unwrap_err()).contains("missing is required")
        );
        assert!(
            message(&f.enum_str("e", &["A", "B"]).unwrap_err()).contains("e must be one of A, B")
        );
        let o = f.required_object("o", "o").unwrap();
        assert!(message(&o.required_str("inner", 5).unwrap_err()).contains("o.inner is required"));
        assert!(Fields::root(&json!([1])).is_err());
    }

    #[test]
    fn amounts_are_strict_minor_units() {
        let ok = json!({"m": {"currency": "PHP", "value": "800"}});
        let f = Fields::root(&ok).unwrap();
        assert_eq!(
            f.required_amount("m").unwrap(),
            Amount {
                currency: "PHP".into(),
                value: 800
            }
        );
        for bad in [
            json!({"m": {"currency": "php", "value": "1"}}),
            json!({"m": {"currency": "PHP", "value": 1}}),
            json!({"m": {"currency": "PHP", "value": "1.5"}}),
            json!({"m": {"currency": "PHP", "value": "0"}}),
            json!({"m": {"currency": "PHP", "value": "-1"}}),
            json!({"m": {"currency": "PHP"}}),
            json!({"m": {"value": "1"}}),
        ] {
            let f = Fields::root(&bad).unwrap();
            let msg = message(&f.required_amount("m").unwrap_err());
            assert!(msg.starts_with("m."), "{msg}");
        }
    }

    #[test]
    fn booleans_accept_strings() {
        let body = json!({"t": "true", "f": false, "x": "yes"});
        let f = Fields::root(&body).unwrap();
        assert_eq!(f.bool("t").unwrap(), Some(true));
        assert_eq!(f.bool("f").unwrap(), Some(false));
        assert!(f.bool("x").is_err());
        assert_eq!(f.bool("none").unwrap(), None);
    }
}
