//! `Debug` of the generated messages never prints a credential or card data.
//!
//! The check is driven by the descriptors, not by a list of types: every message of the contract is filled with
//! marker values (secret-looking fields get a secret marker, every other string a visible one, nested messages
//! recursively, each oneof member in turn), decoded into its generated Rust type and formatted with `{:?}`. A new
//! message or field that holds a secret is therefore covered the day it is added.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

use alipay_gateway::pb::v1::debug_by_name;
use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value,
};

const PACKAGE: &str = "alipay.gateway.v1";
const SECRET_MARKER: &str = "s3cr3t-marker";
const VISIBLE_MARKER: &str = "visible-marker";

/// What the contract's comments and the PCI rules call secret, written as a rule rather than a list so that a
/// field named differently from the ones build.rs knows still fails this test.
fn is_secret(field: &str) -> bool {
    let token = field.ends_with("token") && !field.ends_with("page_token");
    token
        || field.ends_with("payment_code")
        || field.ends_with("auth_code")
        || field.starts_with("card_no")
        || field.starts_with("card_number")
        || field == "cvv"
        || field == "cavv"
        || field.starts_with("cardholder")
        || field.starts_with("billing_address")
}

fn pool() -> DescriptorPool {
    DescriptorPool::decode(alipay_gateway::FILE_DESCRIPTOR_SET).expect("descriptor set decodes")
}

/// Fills `message`: strings with markers, enums with their first non-zero value, nested messages recursively
/// (to `depth`), and of each oneof only the member at `choice` (modulo its size).
fn fill(desc: &MessageDescriptor, depth: usize, choice: usize) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    for field in desc.fields() {
        if let Some(oneof) = field.containing_oneof()
            && !oneof.is_synthetic()
        {
            let members: Vec<FieldDescriptor> = oneof.fields().collect();
            if members[choice % members.len()].number() != field.number() {
                continue;
            }
        }
        if let Some(value) = value_for(&field, depth, choice) {
            message.set_field(&field, value);
        }
    }
    message
}

fn value_for(field: &FieldDescriptor, depth: usize, choice: usize) -> Option<Value> {
    let single = match field.kind() {
        Kind::String => Value::String(if is_secret(field.name()) {
            format!("{SECRET_MARKER}-{}", field.name())
        } else {
            format!("{VISIBLE_MARKER}-{}", field.name())
        }),
        Kind::Message(_) if field.is_map() => return None,
        Kind::Message(inner) if depth > 0 => {
            if inner.full_name().starts_with("google.") {
                return None;
            }
            Value::Message(fill(&inner, depth - 1, choice))
        }
        Kind::Enum(e) => Value::EnumNumber(e.values().nth(1).map_or(0, |v| v.number())),
        _ => return None,
    };
    Some(if field.is_list() {
        Value::List(vec![single])
    } else {
        single
    })
}

#[test]
fn no_message_prints_a_secret() {
    let pool = pool();
    let mut checked = 0;
    let mut with_secrets = Vec::new();
    // Map entries are not types of their own: they are checked through the message holding the map.
    for desc in pool
        .all_messages()
        .filter(|m| m.package_name() == PACKAGE && !m.is_map_entry())
    {
        let oneof_widths = desc.oneofs().map(|o| o.fields().len()).max().unwrap_or(1);
        for choice in 0..oneof_widths {
            let message = fill(&desc, 3, choice);
            let bytes = message.encode_to_vec();
            let printed = debug_by_name(desc.full_name(), &bytes)
                .unwrap_or_else(|| panic!("{} has no generated type", desc.full_name()));
            assert!(
                !printed.contains(SECRET_MARKER),
                "Debug of {} prints a secret: {printed}",
                desc.full_name()
            );
            let encoded_secret = String::from_utf8_lossy(&bytes).contains(SECRET_MARKER);
            if encoded_secret {
                assert!(
                    printed.contains("[REDACTED]"),
                    "{} hides the secret without saying so: {printed}",
                    desc.full_name()
                );
                with_secrets.push(desc.name().to_owned());
            }
            if String::from_utf8_lossy(&bytes).contains(VISIBLE_MARKER) {
                assert!(
                    printed.contains(VISIBLE_MARKER),
                    "Debug of {} hides non-secret fields too: {printed}",
                    desc.full_name()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} messages checked");
    // The messages the contract documents as carrying secrets are among those exercised.
    for expected in [
        "InStorePaymentSource",
        "PayRequest",
        "ApplyTokenRequest",
        "CardDetails",
        "StoredCard",
        "AuthorizeCardRequest",
        "ExternalThreeDS",
        "ThreeDSResult",
        "CardSummary",
        "CardToken",
        "DeleteCardTokenRequest",
    ] {
        assert!(
            with_secrets.iter().any(|m| m == expected),
            "{expected} was not exercised with a secret (exercised: {with_secrets:?})"
        );
    }
}

#[test]
fn the_rule_finds_the_documented_secret_fields() {
    let pool = pool();
    for (message, field) in [
        ("InStorePaymentSource", "payment_code"),
        ("ApplyTokenRequest", "auth_code"),
        ("CardDetails", "card_no"),
        ("CardDetails", "cvv"),
        ("CardDetails", "cardholder_name"),
        ("CardDetails", "billing_address"),
        ("StoredCard", "cvv"),
        ("StoredCard", "card_token"),
        ("ExternalThreeDS", "cavv"),
        ("ThreeDSResult", "cavv"),
        ("CardSummary", "card_token"),
        ("CardToken", "card_token"),
        ("DeleteCardTokenRequest", "card_token"),
    ] {
        let desc = pool
            .get_message_by_name(&format!("{PACKAGE}.{message}"))
            .unwrap_or_else(|| panic!("{message} is in the contract"));
        let f = desc
            .get_field_by_name(field)
            .unwrap_or_else(|| panic!("{message}.{field} is in the contract"));
        assert!(
            is_secret(f.name()),
            "{message}.{field} must count as secret"
        );
    }
    assert!(!is_secret("page_token") && !is_secret("next_page_token"));
    assert!(!is_secret("payment_request_id") && !is_secret("customer_id"));
    // The issuer's approval code is printed on receipts; it is not a credential. Nor are the masked number, the
    // check verdicts and the 3DS cancel reason, which support staff must see.
    assert!(!is_secret("authorization_code"));
    for visible in [
        "masked_card_no",
        "avs_result_raw",
        "cvv_result_raw",
        "avs_check",
        "cvv_check",
        "challenge_cancel_code",
        "network_transaction_id",
        "last_four",
    ] {
        assert!(!is_secret(visible), "{visible}");
    }
}

#[test]
fn a_redacted_message_still_prints_its_other_fields() {
    use alipay_gateway::pb::v1::{ApplyTokenRequest, Wallet};
    let request = ApplyTokenRequest {
        auth_code: "663A8FA9-D836-48EE-8AA1-1FF682989DC7".into(),
        wallet: Wallet::Gcash as i32,
        customer_id: "cust-42".into(),
        ..Default::default()
    };
    let printed = format!("{request:?}");
    assert!(!printed.contains("663A8FA9"), "{printed}");
    assert!(printed.contains("auth_code: [REDACTED]"), "{printed}");
    assert!(printed.contains("cust-42"), "{printed}");
    assert!(printed.contains("WALLET_GCASH"), "{printed}");
}
