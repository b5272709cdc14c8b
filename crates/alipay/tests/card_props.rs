//! Generated card facts: whatever Alipay puts in `paymentResultInfo`, `cardInfo` or `threeDSResult`, a payment
//! notification still parses with its result and `card_facts` never fails; and the AVS/CVV verdicts of arbitrary
//! codes are NOT_CHECKED unless the code is one the mapping names.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

use alipay::model::{AvsCheck, CvvCheck, Notification};
use proptest::prelude::*;
use serde_json::{Value, json};

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[A-Za-z0-9*]{0,20}".prop_map(Value::from),
    ]
}

/// A card-facts object with real keys holding anything, nested `threeDSResult` included.
fn card_facts() -> impl Strategy<Value = Value> {
    let keys = prop_oneof![
        Just("cardToken"),
        Just("cardNo"),
        Just("cardBrand"),
        Just("lastFour"),
        Just("avsResultRaw"),
        Just("cvvResultRaw"),
        Just("refusalCodeRaw"),
        Just("networkTransactionId"),
        Just("expiryMonth"),
    ];
    let three_ds_keys = prop_oneof![
        Just("eci"),
        Just("cavv"),
        Just("challengeCancel"),
        Just("challenged"),
        Just("threeDSOffered"),
        Just("threeDStransactionStatusReason"),
    ];
    (
        prop::collection::btree_map(keys, scalar(), 0..6),
        prop::option::of(prop::collection::btree_map(three_ds_keys, scalar(), 0..5)),
    )
        .prop_map(|(fields, three_ds)| {
            let mut object: serde_json::Map<String, Value> =
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            if let Some(three_ds) = three_ds {
                object.insert(
                    "threeDSResult".into(),
                    Value::Object(
                        three_ds
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect(),
                    ),
                );
            }
            Value::Object(object)
        })
}

proptest! {
    #[test]
    fn odd_card_facts_never_cost_a_payment_result(
        result_info in prop::option::of(card_facts()),
        card_info in prop::option::of(card_facts()),
    ) {
        let mut body = json!({
            "notifyType": "PAYMENT_RESULT",
            "result": {"resultCode": "SUCCESS", "resultStatus": "S"},
            "paymentRequestId": "p-1",
        });
        if let Some(info) = result_info {
            body["paymentResultInfo"] = info;
        }
        if let Some(info) = card_info {
            body["cardInfo"] = info;
        }
        let parsed = Notification::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
        let Notification::Payment(notice) = parsed else {
            return Err(TestCaseError::fail("not parsed as a payment"));
        };
        prop_assert!(notice.is_paid());
        let facts = notice.card_facts();
        // When both objects parse, the merge keeps the primary's known values.
        if let (Some(primary), Some(facts)) = (&notice.payment_result_info, &facts) {
            prop_assert_eq!(&primary.card_brand.as_ref().or(facts.card_brand.as_ref()), &facts.card_brand.as_ref());
            prop_assert_eq!(&primary.avs_result_raw.as_ref().or(facts.avs_result_raw.as_ref()), &facts.avs_result_raw.as_ref());
        }
    }

    #[test]
    fn unknown_codes_are_not_checked(code in "[A-Za-z ]{0,3}") {
        let letter = code.trim().to_ascii_uppercase();
        let avs_named = ["Y", "X", "D", "F", "M", "A", "B", "W", "Z", "P", "N", "E", "R"].contains(&letter.as_str());
        let cvv_named = ["M", "Y", "N"].contains(&letter.as_str());
        prop_assert_eq!(AvsCheck::from_raw(Some(&code)) == AvsCheck::NotChecked, !avs_named);
        prop_assert_eq!(CvvCheck::from_raw(Some(&code)) == CvvCheck::NotChecked, !cvv_named);
    }
}
