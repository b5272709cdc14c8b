//! Masking of request/response JSON before it is recorded or logged.
//!
//! Records of every call are persisted for audit; they must not become a store of credentials or card data. The
//! masking works on JSON keys, wherever they occur, so new nesting in Alipay's payloads stays covered.

use serde_json::Value;

/// How a key's value is masked.
enum Rule {
    /// Replace entirely.
    Full,
    /// Keep the last four characters (card numbers, tokens used as references).
    KeepLast4,
    /// Mask every string inside (objects such as cardholder names).
    Deep,
}

fn rule_for(key: &str) -> Option<Rule> {
    match key {
        "accessToken" | "refreshToken" | "authCode" | "cvv" | "cavv" | "cardPasswordDigest"
        | "expiryYear" | "expiryMonth" | "cpf" | "dateOfBirth" | "payerEmail" | "payerName"
        | "businessNo" | "paymentCode" => Some(Rule::Full),
        "cardNo" | "paymentMethodId" | "cardToken" => Some(Rule::KeepLast4),
        // Personal data the AVS check reads: never recorded, like the cardholder's name.
        "cardholderName" | "billingAddress" => Some(Rule::Deep),
        _ => None,
    }
}

const MASK: &str = "***";

fn mask_string(s: &str, keep_last4: bool) -> String {
    let chars: Vec<char> = s.chars().collect();
    if keep_last4 && chars.len() >= 8 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{}{tail}", "*".repeat(chars.len() - 4))
    } else {
        MASK.to_owned()
    }
}

fn mask_all(value: &mut Value) {
    match value {
        Value::String(s) => *s = MASK.to_owned(),
        Value::Number(_) => *value = Value::String(MASK.to_owned()),
        Value::Array(items) => items.iter_mut().for_each(mask_all),
        Value::Object(map) => map.values_mut().for_each(mask_all),
        Value::Bool(_) | Value::Null => {}
    }
}

/// Masks secrets in place: tokens, authCode, CVV and card-verification data fully; card numbers, card tokens and
/// `paymentMethodId` (an access token, card token or payment code) down to their last four characters; cardholder
/// names and billing addresses entirely.
pub fn mask_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (rule_for(key), &mut *v) {
                    (Some(Rule::Full), Value::String(s)) => *s = MASK.to_owned(),
                    (Some(Rule::Full), Value::Number(_)) => *v = Value::String(MASK.to_owned()),
                    (Some(Rule::KeepLast4), Value::String(s)) => *s = mask_string(s, true),
                    (Some(Rule::Deep), _) => mask_all(v),
                    _ => mask_json(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
}

/// Parses and masks a raw body. A body that is not JSON is not echoed (it could hold anything), only described.
pub fn mask_body(body: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            mask_json(&mut v);
            v
        }
        Err(_) => Value::String(format!("<non-JSON body, {} bytes>", body.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn card_data_is_masked() {
        let mut v = json!({"paymentMethod": {"paymentMethodType": "CARD", "paymentMethodMetaData": {
            "cardNo": "4117347806156383", "cvv": "850", "expiryYear": "29", "expiryMonth": "12",
            "cardholderName": {"firstName": "Tom", "lastName": "Jay"}, "is3DSAuthentication": false,
            "billingAddress": {"region": "US", "zipCode": "99990", "address1": "1 Main St"},
            "mpiData": {"cavv": "abc", "eci": "05"}}}});
        mask_json(&mut v);
        let meta = &v["paymentMethod"]["paymentMethodMetaData"];
        assert_eq!(meta["cardNo"], "************6383");
        assert_eq!(meta["cvv"], "***");
        assert_eq!(meta["expiryYear"], "***");
        assert_eq!(meta["cardholderName"]["firstName"], "***");
        assert_eq!(meta["mpiData"]["cavv"], "***");
        assert_eq!(meta["billingAddress"]["address1"], "***");
        assert_eq!(meta["billingAddress"]["zipCode"], "***");
        assert_eq!(meta["mpiData"]["eci"], "05");
        assert_eq!(meta["is3DSAuthentication"], false);
        assert_eq!(v["paymentMethod"]["paymentMethodType"], "CARD");
        assert!(!v.to_string().contains("4117347806156383"));
        // In results the cardholder name is a plain string; the token keeps only its last four.
        let mut result = json!({"paymentResultInfo": {"cardholderName": "Tom Jay",
            "cardToken": "ALIPAYtoken-0123456789", "cardNo": "411734******6383"}});
        mask_json(&mut result);
        let info = &result["paymentResultInfo"];
        assert_eq!(info["cardholderName"], "***");
        assert_eq!(info["cardToken"], "******************6789");
    }

    #[test]
    fn tokens_and_codes_are_masked_anywhere() {
        let mut v = json!({"accessToken": "AT-1234567890", "refreshToken": "RT-1", "authCode": "code",
            "items": [{"authCode": "nested"}], "paymentMethod": {"paymentMethodId": "281234567890123456"},
            "paymentRequestId": "pay-1"});
        mask_json(&mut v);
        assert_eq!(v["accessToken"], "***");
        assert_eq!(v["refreshToken"], "***");
        assert_eq!(v["authCode"], "***");
        assert_eq!(v["items"][0]["authCode"], "***");
        assert_eq!(v["paymentMethod"]["paymentMethodId"], "**************3456");
        assert_eq!(v["paymentRequestId"], "pay-1");
    }

    #[test]
    fn short_values_are_masked_fully_and_non_json_is_not_echoed() {
        let mut v = json!({"cardNo": "4111", "cvv": 123});
        mask_json(&mut v);
        assert_eq!(v["cardNo"], "***");
        assert_eq!(v["cvv"], "***");
        assert_eq!(mask_body(b"cvv=123"), json!("<non-JSON body, 7 bytes>"));
    }
}
