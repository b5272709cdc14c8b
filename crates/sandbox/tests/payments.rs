//! pay / inquiryPayment / cancel / refund / inquiryRefund / capture over real HTTP: validation,
//! idempotency, products, minimums, windows and the cashier page.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::Duration;

use common::*;
use sandbox::{Clock, SandboxConfig};
use serde_json::json;

#[tokio::test]
async fn pay_validates_required_fields_and_names_them() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let base = cashier_pay("v-1", "800");
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("/productCode", json!("CARD_PAYMENT"), "productCode"),
        (
            "/paymentRequestId",
            json!("x".repeat(65)),
            "paymentRequestId",
        ),
        (
            "/paymentAmount/currency",
            json!("php"),
            "paymentAmount.currency",
        ),
        ("/paymentAmount/value", json!("8.00"), "paymentAmount.value"),
        ("/paymentAmount/value", json!(800), "paymentAmount.value"),
        (
            "/order/referenceOrderId",
            json!("r".repeat(65)),
            "order.referenceOrderId",
        ),
        (
            "/order/orderDescription",
            json!("d".repeat(257)),
            "order.orderDescription",
        ),
        (
            "/paymentMethod/paymentMethodType",
            json!(""),
            "paymentMethod.paymentMethodType",
        ),
        ("/env/terminalType", json!("TV"), "env.terminalType"),
    ];
    for (pointer, value, mention) in cases {
        let mut body = base.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        let answer = m.call("payments/pay", &body).await;
        answer.expect("F", "PARAM_ILLEGAL");
        let message = answer.body["result"]["resultMessage"].as_str().unwrap();
        assert!(message.contains(mention), "{pointer}: {message}");
    }
    let mut no_order = base.clone();
    no_order.as_object_mut().unwrap().remove("order");
    m.call("payments/pay", &no_order)
        .await
        .expect("F", "PARAM_ILLEGAL");
    let mut agreement_without_token = agreement_pay("v-2", "t", "800");
    agreement_without_token["paymentMethod"]
        .as_object_mut()
        .unwrap()
        .remove("paymentMethodId");
    m.call("payments/pay", &agreement_without_token)
        .await
        .expect("F", "PARAM_ILLEGAL");
    // Nothing was created by invalid requests.
    assert!(sandbox.stats().charges.is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn agreement_payment_is_idempotent_and_inquirable() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let token = m.access_token("GCASH").await;
    let id = unique("pay");
    let body = agreement_pay(&id, &token, "800");
    let first = m.call("payments/pay", &body).await;
    first.expect("S", "SUCCESS");
    let payment_id = first.field("paymentId").to_owned();
    assert_eq!(
        first.body["paymentAmount"],
        json!({"currency": "PHP", "value": "800"})
    );
    assert_eq!(first.body["pspCustomerInfo"]["pspName"], "GCASH");

    // Same content, pretty-printed: the same request (content is the JSON value, not the bytes).
    let pretty = serde_json::to_string_pretty(&body).unwrap();
    let again = m
        .post_raw(&format!("{SANDBOX_PREFIX}payments/pay"), &pretty)
        .await;
    again.expect("S", "SUCCESS");
    assert_eq!(again.field("paymentId"), payment_id);

    let mut changed = body.clone();
    changed["order"]["orderDescription"] = json!("something else");
    m.call("payments/pay", &changed)
        .await
        .expect("F", "REPEAT_REQ_INCONSISTENT");
    assert_eq!(sandbox.stats().charges_for(&id), 1);
    assert_eq!(sandbox.stats().request_calls("payments/pay", &id), 3);

    for lookup in [
        json!({"paymentId": payment_id}),
        json!({"paymentRequestId": id}),
        json!({"paymentId": payment_id, "paymentRequestId": "other"}),
    ] {
        let inquiry = m.call("payments/inquiryPayment", &lookup).await;
        inquiry.expect("S", "SUCCESS");
        assert_eq!(inquiry.field("paymentStatus"), "SUCCESS");
        assert_eq!(inquiry.field("paymentResultCode"), "SUCCESS");
        assert_eq!(inquiry.field("paymentId"), payment_id);
        assert_eq!(inquiry.body["transactions"], json!([]));
    }
    m.call("payments/inquiryPayment", &json!({"paymentId": "nope"}))
        .await
        .expect("F", "ORDER_NOT_EXIST");
    m.call("payments/inquiryPayment", &json!({}))
        .await
        .expect("F", "PARAM_ILLEGAL");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn agreement_payment_checks_the_token_and_wallet() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    m.call(
        "payments/pay",
        &agreement_pay(&unique("p"), "not-a-token", "800"),
    )
    .await
    .expect("F", "INVALID_ACCESS_TOKEN");
    let dana = m.access_token("DANA").await;
    m.call("payments/pay", &agreement_pay(&unique("p"), &dana, "800"))
        .await
        .expect("F", "INVALID_ACCESS_TOKEN");
    // A failed payment is final for its id: a retry replays the failure, inquiry reports FAIL.
    let id = unique("p");
    m.call("payments/pay", &agreement_pay(&id, "not-a-token", "800"))
        .await
        .expect("F", "INVALID_ACCESS_TOKEN");
    m.call("payments/pay", &agreement_pay(&id, "not-a-token", "800"))
        .await
        .expect("F", "INVALID_ACCESS_TOKEN");
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentRequestId": id}))
        .await;
    assert_eq!(inquiry.field("paymentStatus"), "FAIL");
    assert_eq!(inquiry.field("paymentResultCode"), "INVALID_ACCESS_TOKEN");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn per_wallet_minimum_amounts() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let token = m.access_token("GCASH").await;
    m.call("payments/pay", &agreement_pay(&unique("p"), &token, "99"))
        .await
        .expect("F", "PAYMENT_AMOUNT_EXCEED_LIMIT");
    m.call("payments/pay", &agreement_pay(&unique("p"), &token, "100"))
        .await
        .expect("S", "SUCCESS");
    let mut usd = agreement_pay(&unique("p"), &token, "1");
    usd["paymentAmount"]["currency"] = json!("USD");
    m.call("payments/pay", &usd).await.expect("S", "SUCCESS");
    sandbox.shutdown().await;
}

fn in_store(id: &str, code: &str) -> serde_json::Value {
    json!({
        "productCode": "IN_STORE_PAYMENT",
        "paymentRequestId": id,
        "paymentAmount": {"currency": "PHP", "value": "500"},
        "order": {"referenceOrderId": "r", "orderDescription": "coffee"},
        "paymentMethod": {"paymentMethodType": "CONNECT_WALLET", "paymentMethodId": code},
        "paymentFactor": {"inStorePaymentScenario": "PaymentCode"},
    })
}

#[tokio::test]
async fn in_store_payment_codes_follow_the_payment_code_rule() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    m.call(
        "payments/pay",
        &in_store(&unique("s"), "281234567890123456"),
    )
    .await
    .expect("S", "SUCCESS");
    for bad in [
        "241234567890123456",
        "2812345",
        "31123456789012345678",
        "28123456789012345a",
    ] {
        m.call("payments/pay", &in_store(&unique("s"), bad))
            .await
            .expect("F", "INVALID_CODE");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn cashier_payment_completes_on_the_cashier_page() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);

    let mut with_redirect = cashier_pay(&unique("c"), "800");
    with_redirect["paymentRedirectUrl"] = json!("https://merchant.example/paid");
    let pay = m.call("payments/pay", &with_redirect).await;
    pay.expect("U", "PAYMENT_IN_PROCESS");
    let payment_id = pay.field("paymentId").to_owned();
    assert!(!pay.field("paymentCreateTime").is_empty());
    let url = pay.field("normalUrl").to_owned();
    assert_eq!(
        url,
        format!("{}/sandbox/cashier/{payment_id}", sandbox.base_url())
    );
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentId": payment_id}))
        .await;
    assert_eq!(inquiry.field("paymentStatus"), "PROCESSING");

    let page = m.get_page(&url).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("value=\"pay\"") && html.contains("value=\"fail\""),
        "{html}"
    );
    assert_eq!(m.post_form(&url, "action=maybe").await.status(), 400);
    let done = m.post_form(&url, "action=pay").await;
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "https://merchant.example/paid");
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentId": payment_id}))
        .await;
    assert_eq!(inquiry.field("paymentStatus"), "SUCCESS");
    assert!(!inquiry.field("paymentTime").is_empty());
    assert_eq!(m.post_form(&url, "action=fail").await.status(), 409);
    // A pay retry after completion answers the final result.
    m.call("payments/pay", &with_redirect)
        .await
        .expect("S", "SUCCESS");

    let failing = m
        .call("payments/pay", &cashier_pay(&unique("c"), "800"))
        .await;
    let fail_url = failing.field("normalUrl").to_owned();
    let shown = m.post_form(&fail_url, "action=fail").await;
    assert_eq!(shown.status(), 200);
    assert!(shown.text().await.unwrap().contains("FAIL"));
    let inquiry = m
        .call(
            "payments/inquiryPayment",
            &json!({"paymentId": failing.field("paymentId")}),
        )
        .await;
    assert_eq!(inquiry.field("paymentStatus"), "FAIL");
    assert_eq!(
        m.get_page(&format!("{}/sandbox/cashier/nope", sandbox.base_url()))
            .await
            .status(),
        404
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn cancel_rules_and_window() {
    let clock = Clock::new();
    let sandbox = start(
        SandboxConfig::development()
            .with_clock(clock.clone())
            .with_cancel_window(Duration::from_secs(3600)),
    )
    .await;
    let m = Merchant::new(&sandbox);
    let token = m.access_token("GCASH").await;

    // A successful payment is cancelled (fully refunded), and a later cashier success cannot undo it.
    let paid = m
        .call("payments/pay", &agreement_pay(&unique("p"), &token, "800"))
        .await;
    let paid_id = paid.field("paymentId").to_owned();
    let cancel = m
        .call("payments/cancel", &json!({"paymentId": paid_id}))
        .await;
    cancel.expect("S", "SUCCESS");
    assert!(!cancel.field("cancelTime").is_empty());
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentId": paid_id}))
        .await;
    assert_eq!(inquiry.field("paymentStatus"), "CANCELLED");
    assert_eq!(inquiry.body["transactions"][0]["transactionType"], "CANCEL");
    // Cancelling twice is S with the same time.
    let again = m
        .call("payments/cancel", &json!({"paymentId": paid_id}))
        .await;
    again.expect("S", "SUCCESS");
    assert_eq!(again.field("cancelTime"), cancel.field("cancelTime"));

    let cashier_id = unique("c");
    let cashier = m
        .call("payments/pay", &cashier_pay(&cashier_id, "800"))
        .await;
    m.call("payments/cancel", &json!({"paymentRequestId": cashier_id}))
        .await
        .expect("S", "SUCCESS");
    assert_eq!(
        m.post_form(cashier.field("normalUrl"), "action=pay")
            .await
            .status(),
        409
    );
    m.call("payments/pay", &cashier_pay(&cashier_id, "800"))
        .await
        .expect("F", "ORDER_IS_CANCELED");

    m.call("payments/cancel", &json!({"paymentRequestId": "unknown"}))
        .await
        .expect("F", "ORDER_NOT_EXIST");

    let late = m
        .call("payments/pay", &agreement_pay(&unique("p"), &token, "800"))
        .await;
    clock.advance(Duration::from_secs(3601));
    m.call(
        "payments/cancel",
        &json!({"paymentId": late.field("paymentId")}),
    )
    .await
    .expect("F", "CANCEL_WINDOW_EXCEED");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn refunds_are_idempotent_bounded_and_windowed() {
    let clock = Clock::new();
    let sandbox = start(
        SandboxConfig::development()
            .with_clock(clock.clone())
            .with_refund_window(Duration::from_secs(86_400)),
    )
    .await;
    let m = Merchant::new(&sandbox);
    let token = m.access_token("GCASH").await;
    let paid = m
        .call("payments/pay", &agreement_pay(&unique("p"), &token, "1000"))
        .await;
    let payment_id = paid.field("paymentId").to_owned();

    let r1 = unique("r");
    let first = m
        .call("payments/refund", &refund_body(&r1, &payment_id, "600"))
        .await;
    first.expect("S", "SUCCESS");
    let refund_id = first.field("refundId").to_owned();
    assert!(!first.field("refundTime").is_empty());
    let replay = m
        .call("payments/refund", &refund_body(&r1, &payment_id, "600"))
        .await;
    replay.expect("S", "SUCCESS");
    assert_eq!(replay.field("refundId"), refund_id);
    m.call("payments/refund", &refund_body(&r1, &payment_id, "500"))
        .await
        .expect("F", "REPEAT_REQ_INCONSISTENT");

    m.call(
        "payments/refund",
        &refund_body(&unique("r"), &payment_id, "500"),
    )
    .await
    .expect("F", "REFUND_AMOUNT_EXCEED");
    m.call(
        "payments/refund",
        &refund_body(&unique("r"), &payment_id, "99"),
    )
    .await
    .expect("F", "PARAM_ILLEGAL");
    let mut usd = refund_body(&unique("r"), &payment_id, "100");
    usd["refundAmount"]["currency"] = json!("USD");
    m.call("payments/refund", &usd)
        .await
        .expect("F", "PARAM_ILLEGAL");
    m.call("payments/refund", &refund_body(&unique("r"), "nope", "100"))
        .await
        .expect("F", "ORDER_NOT_EXIST");
    m.call(
        "payments/refund",
        &refund_body(&unique("r"), &payment_id, "400"),
    )
    .await
    .expect("S", "SUCCESS");

    for lookup in [
        json!({"refundId": refund_id}),
        json!({"refundRequestId": r1}),
    ] {
        let inquiry = m.call("payments/inquiryRefund", &lookup).await;
        inquiry.expect("S", "SUCCESS");
        assert_eq!(inquiry.field("refundStatus"), "SUCCESS");
        assert_eq!(inquiry.field("refundId"), refund_id);
        assert_eq!(inquiry.body["refundAmount"]["value"], "600");
    }
    m.call(
        "payments/inquiryRefund",
        &json!({"refundRequestId": "nope"}),
    )
    .await
    .expect("F", "ORDER_NOT_EXIST");
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentId": payment_id}))
        .await;
    assert_eq!(inquiry.body["transactions"].as_array().unwrap().len(), 2);
    // A refunded payment can no longer be cancelled.
    m.call("payments/cancel", &json!({"paymentId": payment_id}))
        .await
        .expect("F", "ORDER_STATUS_INVALID");

    // Only SUCCESS payments are refundable; and only within the window.
    let processing = m
        .call("payments/pay", &cashier_pay(&unique("c"), "800"))
        .await;
    m.call(
        "payments/refund",
        &refund_body(&unique("r"), processing.field("paymentId"), "100"),
    )
    .await
    .expect("F", "ORDER_STATUS_INVALID");
    let old = m
        .call("payments/pay", &agreement_pay(&unique("p"), &token, "1000"))
        .await;
    clock.advance(Duration::from_secs(86_401));
    m.call(
        "payments/refund",
        &refund_body(&unique("r"), old.field("paymentId"), "100"),
    )
    .await
    .expect("F", "REFUND_WINDOW_EXCEED");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn manual_capture_of_an_authorization() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let token = m.access_token("GCASH").await;
    let mut auth = agreement_pay(&unique("a"), &token, "1000");
    auth["paymentFactor"] = json!({"isAuthorization": "true", "captureMode": "MANUAL"});
    let authorized = m.call("payments/pay", &auth).await;
    authorized.expect("S", "SUCCESS");
    assert!(!authorized.field("authExpiryTime").is_empty());
    let payment_id = authorized.field("paymentId").to_owned();
    let capture = |id: &str, value: &str| json!({"captureRequestId": id, "paymentId": payment_id, "captureAmount": {"currency": "PHP", "value": value}});
    // Nothing captured yet: nothing to refund.
    m.call(
        "payments/refund",
        &refund_body(&unique("r"), &payment_id, "100"),
    )
    .await
    .expect("F", "REFUND_AMOUNT_EXCEED");
    let c1 = unique("cap");
    let first = m.call("payments/capture", &capture(&c1, "700")).await;
    first.expect("S", "SUCCESS");
    let again = m.call("payments/capture", &capture(&c1, "700")).await;
    assert_eq!(again.field("captureId"), first.field("captureId"));
    m.call("payments/capture", &capture(&c1, "600"))
        .await
        .expect("F", "REPEAT_REQ_INCONSISTENT");
    m.call("payments/capture", &capture(&unique("cap"), "301"))
        .await
        .expect("F", "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT");
    m.call("payments/capture", &capture(&unique("cap"), "300"))
        .await
        .expect("S", "SUCCESS");
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentId": payment_id}))
        .await;
    let kinds: Vec<_> = inquiry.body["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transactionType"].clone())
        .collect();
    assert_eq!(kinds, vec![json!("CAPTURE"), json!("CAPTURE")]);
    assert_eq!(
        inquiry.body["transactions"][0]["transactionRequestId"],
        json!(c1)
    );

    // Plain payments cannot be captured.
    let plain = m
        .call("payments/pay", &agreement_pay(&unique("p"), &token, "1000"))
        .await;
    m.call(
        "payments/capture",
        &json!({"captureRequestId": unique("cap"), "paymentId": plain.field("paymentId"), "captureAmount": {"currency": "PHP", "value": "100"}}),
    )
    .await
    .expect("F", "ORDER_STATUS_INVALID");
    sandbox.shutdown().await;
}
