//! Generated malformed notifications: parsing never fails on JSON and never panics on anything, and no single
//! changed byte of a signed notification still verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

use alipay::model::Notification;
use alipay::signing::{Signer, Verifier};
use alipay::webhook::{AlipayWebhook, IncomingWebhook, WebhookRequest};
use proptest::prelude::*;
use reqwest::header::HeaderMap;

const PRIVATE: &str = include_str!("vectors/vector-private.TEST-ONLY.pem");
const PUBLIC: &str = include_str!("vectors/vector-public.TEST-ONLY.pem");

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[A-Z_]{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("notifyType".to_owned()),
                    Just("authorizationNotifyType".to_owned()),
                    Just("result".to_owned()),
                    Just("resultStatus".to_owned()),
                    Just("paymentRequestId".to_owned()),
                    Just("refundRequestId".to_owned()),
                    Just("refundStatus".to_owned()),
                    Just("accessToken".to_owned()),
                    Just("cardInfo".to_owned()),
                    "[a-zA-Z]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_json_parses_to_some_kind(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        prop_assert!(Notification::parse(&body).is_ok());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Notification::parse(&bytes);
    }

    #[test]
    fn no_changed_byte_verifies(index in 0usize..200, bit in 0u8..8) {
        let body = br#"{"notifyType":"PAYMENT_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"paymentRequestId":"p-1","paymentId":"a-1","paymentAmount":{"value":"1000","currency":"PHP"},"paymentTime":"2026-11-30T10:00:00+08:00"}"#;
        let webhook = AlipayWebhook::new(
            Verifier::from_text(PUBLIC).unwrap(),
            "M1",
            "/alipay/notify",
            vec!["1".into()],
            AlipayWebhook::DEFAULT_MAX_AGE,
        );
        let time = chrono::Utc::now().timestamp_millis().to_string();
        let signature = Signer::from_text(PRIVATE)
            .unwrap()
            .header_value(1, "POST", "/alipay/notify", "M1", &time, body)
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("client-id", "M1".parse().unwrap());
        headers.insert("request-time", time.parse().unwrap());
        headers.insert("signature", signature.parse().unwrap());
        let original = WebhookRequest { headers: &headers, body };
        prop_assert!(webhook.verify_source(&original).is_ok());
        let mut tampered = body.to_vec();
        let i = index % tampered.len();
        tampered[i] ^= 1 << bit;
        let changed = WebhookRequest { headers: &headers, body: &tampered };
        prop_assert!(webhook.verify_source(&changed).is_err());
    }
}
