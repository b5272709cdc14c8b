//! Request fingerprints: a SHA-256 over a canonical JSON rendering of a command, stored with the idempotency key so
//! a repeated key with different content is recognised (REPEAT_REQ_INCONSISTENT) without keeping the content.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Hex SHA-256 of the canonical JSON (object keys sorted, no whitespace, nulls dropped) of `command`.
///
/// Canonicalising ourselves keeps the fingerprint stable whether or not some crate in the build turns on
/// serde_json's `preserve_order`, and dropping nulls makes "field absent" and "field null" the same request.
pub fn fingerprint<T: Serialize>(command: &T) -> String {
    // Serialising plain data structs to a Value cannot fail (no non-string map keys in our commands); fall back to
    // Null so the function stays total.
    let value = serde_json::to_value(command).unwrap_or(Value::Null);
    let mut canonical = String::new();
    write_canonical(&value, &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().filter(|(_, v)| !v.is_null()).collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_nulls_do_not_matter() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}, "n": null});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).len(), 64);
    }

    #[test]
    fn content_matters() {
        let a = json!({"amount": {"currency": "PHP", "value": "100"}});
        let b = json!({"amount": {"currency": "PHP", "value": "101"}});
        let c = json!({"amount": [{"currency": "PHP"}, {"value": "100"}]});
        let d = json!({"amount": [{"value": "100"}, {"currency": "PHP"}]});
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&c), fingerprint(&d), "array order is content");
    }
}
