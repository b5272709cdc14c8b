//! Every test-data amount of the scenario table, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::{Duration, Instant};

use common::*;
use sandbox::SandboxConfig;
use serde_json::json;

async fn setup(config: SandboxConfig) -> (sandbox::RunningSandbox, Merchant, String) {
    let sandbox = start(config).await;
    let m = Merchant::new(&sandbox);
    let token = m.access_token("GCASH").await;
    (sandbox, m, token)
}

#[tokio::test]
async fn final_failures_91001_to_91008() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    let table = [
        ("91001", "USER_BALANCE_NOT_ENOUGH"),
        ("91002", "RISK_REJECT"),
        ("91003", "USER_AMOUNT_EXCEED_LIMIT"),
        ("91004", "PAYMENT_AMOUNT_EXCEED_LIMIT"),
        ("91005", "PAYMENT_COUNT_EXCEED_LIMIT"),
        ("91006", "USER_STATUS_ABNORMAL"),
        ("91007", "USER_NOT_EXIST"),
        ("91008", "PROCESS_FAIL"),
    ];
    for (value, code) in table {
        let id = unique(value);
        m.call("payments/pay", &agreement_pay(&id, &token, value))
            .await
            .expect("F", code);
        m.call("payments/pay", &cashier_pay(&unique(value), value))
            .await
            .expect("F", code);
        let inquiry = m
            .call("payments/inquiryPayment", &json!({"paymentRequestId": id}))
            .await;
        assert_eq!(inquiry.field("paymentStatus"), "FAIL");
        assert_eq!(inquiry.field("paymentResultCode"), code);
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_first_attempt_then_success_92001_and_92003() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    for (value, code) in [
        ("92001", "UNKNOWN_EXCEPTION"),
        ("92003", "REQUEST_TRAFFIC_EXCEED_LIMIT"),
    ] {
        let id = unique(value);
        let body = agreement_pay(&id, &token, value);
        m.call("payments/pay", &body).await.expect("U", code);
        assert_eq!(sandbox.stats().charges_for(&id), 0);
        m.call("payments/inquiryPayment", &json!({"paymentRequestId": id}))
            .await
            .expect("F", "ORDER_NOT_EXIST");
        let retry = m.call("payments/pay", &body).await;
        retry.expect("S", "SUCCESS");
        let third = m.call("payments/pay", &body).await;
        assert_eq!(third.field("paymentId"), retry.field("paymentId"));
        assert_eq!(sandbox.stats().charges_for(&id), 1);
        assert_eq!(sandbox.stats().request_calls("payments/pay", &id), 3);
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn always_unknown_92002_never_creates_anything() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    let id = unique("92002");
    for _ in 0..3 {
        m.call("payments/pay", &agreement_pay(&id, &token, "92002"))
            .await
            .expect("U", "UNKNOWN_EXCEPTION");
    }
    m.call("payments/inquiryPayment", &json!({"paymentRequestId": id}))
        .await
        .expect("F", "ORDER_NOT_EXIST");
    m.call("payments/cancel", &json!({"paymentRequestId": id}))
        .await
        .expect("F", "ORDER_NOT_EXIST");
    assert_eq!(sandbox.stats().charges_for(&id), 0);
    sandbox.shutdown().await;
}

async fn statuses(m: &Merchant, payment_id: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let inquiry = m
            .call("payments/inquiryPayment", &json!({"paymentId": payment_id}))
            .await;
        inquiry.expect("S", "SUCCESS");
        out.push(inquiry.field("paymentStatus").to_owned());
    }
    out
}

#[tokio::test]
async fn processing_for_nn_inquiries_930nn_and_931nn() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    let pay = m
        .call(
            "payments/pay",
            &agreement_pay(&unique("930"), &token, "93002"),
        )
        .await;
    pay.expect("U", "PAYMENT_IN_PROCESS");
    let id = pay.field("paymentId").to_owned();
    assert_eq!(
        statuses(&m, &id, 4).await,
        ["PROCESSING", "PROCESSING", "SUCCESS", "SUCCESS"]
    );

    let pay = m
        .call(
            "payments/pay",
            &agreement_pay(&unique("931"), &token, "93101"),
        )
        .await;
    pay.expect("U", "PAYMENT_IN_PROCESS");
    let id = pay.field("paymentId").to_owned();
    assert_eq!(statuses(&m, &id, 3).await, ["PROCESSING", "FAIL", "FAIL"]);
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentId": id}))
        .await;
    assert_eq!(
        inquiry.field("paymentResultCode"),
        "USER_BALANCE_NOT_ENOUGH"
    );

    let pay = m
        .call(
            "payments/pay",
            &agreement_pay(&unique("930"), &token, "93000"),
        )
        .await;
    assert_eq!(statuses(&m, pay.field("paymentId"), 1).await, ["SUCCESS"]);

    // Cancelled while processing: the later "success" never happens.
    let pay = m
        .call(
            "payments/pay",
            &agreement_pay(&unique("930"), &token, "93001"),
        )
        .await;
    let id = pay.field("paymentId").to_owned();
    m.call("payments/cancel", &json!({"paymentId": id}))
        .await
        .expect("S", "SUCCESS");
    assert_eq!(
        statuses(&m, &id, 3).await,
        ["CANCELLED", "CANCELLED", "CANCELLED"]
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn processing_forever_93200_until_cancelled() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    let request_id = unique("932");
    let pay = m
        .call("payments/pay", &agreement_pay(&request_id, &token, "93200"))
        .await;
    pay.expect("U", "PAYMENT_IN_PROCESS");
    let id = pay.field("paymentId").to_owned();
    assert!(
        statuses(&m, &id, 25)
            .await
            .iter()
            .all(|s| s == "PROCESSING")
    );
    m.call("payments/cancel", &json!({"paymentRequestId": request_id}))
        .await
        .expect("S", "SUCCESS");
    assert_eq!(statuses(&m, &id, 1).await, ["CANCELLED"]);
    assert_eq!(
        sandbox
            .stats()
            .request_calls("payments/inquiryPayment", &id),
        26
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn slow_first_answer_94001() {
    let (sandbox, m, token) =
        setup(SandboxConfig::development().with_slow_response(Duration::from_secs(5))).await;
    let id = unique("94001");
    let body = agreement_pay(&id, &token, "94001");
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let fast = Merchant {
        http: impatient,
        ..Merchant::new(&sandbox)
    };
    let error = fast
        .send(&format!("{PROD}payments/pay"), &body.to_string(), |_, _| {})
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(sandbox.stats().charges_for(&id), 1);

    let started = Instant::now();
    let retry = m.call("payments/pay", &body).await;
    retry.expect("S", "SUCCESS");
    assert!(started.elapsed() < Duration::from_secs(2));
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentRequestId": id}))
        .await;
    assert_eq!(inquiry.field("paymentStatus"), "SUCCESS");
    assert_eq!(inquiry.field("paymentId"), retry.field("paymentId"));

    // A patient client gets the delayed answer.
    let patient_id = unique("94001");
    let started = Instant::now();
    m.call("payments/pay", &agreement_pay(&patient_id, &token, "94001"))
        .await
        .expect("S", "SUCCESS");
    assert!(started.elapsed() >= Duration::from_secs(5));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn dropped_connection_94002() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    let id = unique("94002");
    let body = agreement_pay(&id, &token, "94002");
    let error = m
        .send(&format!("{PROD}payments/pay"), &body.to_string(), |_, _| {})
        .await
        .unwrap_err();
    assert!(!error.is_timeout(), "{error}");
    assert!(
        error.is_request() || error.is_connect() || error.is_body(),
        "{error:?}"
    );
    assert_eq!(sandbox.stats().charges_for(&id), 1);
    let retry = m.call("payments/pay", &body).await;
    retry.expect("S", "SUCCESS");
    assert_eq!(sandbox.stats().charges_for(&id), 1);
    // The sandbox keeps serving other connections.
    m.call("payments/inquiryPayment", &json!({"paymentRequestId": id}))
        .await
        .expect("S", "SUCCESS");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_response_signature_94003() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    let id = unique("94003");
    let body = agreement_pay(&id, &token, "94003");
    for _ in 0..2 {
        let answer = m.call("payments/pay", &body).await;
        assert_eq!(answer.result(), ("S", "SUCCESS"));
        assert!(answer.headers.contains_key("signature"));
        assert!(!answer.signature_valid, "the pay signature must not verify");
    }
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentRequestId": id}))
        .await;
    inquiry.expect("S", "SUCCESS");
    assert_eq!(inquiry.field("paymentStatus"), "SUCCESS");
    assert_eq!(sandbox.stats().charges_for(&id), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn shutdown_cuts_a_slow_answer_short() {
    let (sandbox, _m, token) =
        setup(SandboxConfig::development().with_slow_response(Duration::from_secs(600))).await;
    let m = Merchant::new(&sandbox);
    let body = agreement_pay(&unique("94001"), &token, "94001").to_string();
    let pending = tokio::spawn(async move {
        m.send(&format!("{PROD}payments/pay"), &body, |_, _| {})
            .await
    });
    // Wait until the slow request has been counted, then shut down.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sandbox.stats().endpoint_calls("payments/pay") == 0 {
        assert!(Instant::now() < deadline, "the pay call never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    sandbox.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let answer = pending.await.unwrap().unwrap();
    assert_eq!(answer.result(), ("S", "SUCCESS"));
}

/// A successful payment of 1000.00 PHP: large enough to refund any scenario amount.
async fn paid(m: &Merchant, token: &str) -> String {
    let pay = m
        .call(
            "payments/pay",
            &agreement_pay(&unique("pay"), token, "100000"),
        )
        .await;
    pay.expect("S", "SUCCESS");
    pay.field("paymentId").to_owned()
}

/// `n` inquiries of a refund by its request id: the `refundStatus` of each. Every answer carries `refundTime`
/// exactly when the refund is SUCCESS.
async fn refund_statuses(m: &Merchant, refund_request_id: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let inquiry = m
            .call(
                "payments/inquiryRefund",
                &json!({"refundRequestId": refund_request_id}),
            )
            .await;
        inquiry.expect("S", "SUCCESS");
        let status = inquiry.field("refundStatus").to_owned();
        assert_eq!(
            inquiry.body.get("refundTime").is_some(),
            status == "SUCCESS",
            "{}",
            inquiry.raw
        );
        out.push(status);
    }
    out
}

/// The REFUND entries of a payment's `transactions`, each as "transactionStatus resultStatus resultCode".
async fn refund_transactions(m: &Merchant, payment_id: &str) -> Vec<String> {
    let inquiry = m
        .call("payments/inquiryPayment", &json!({"paymentId": payment_id}))
        .await;
    inquiry.expect("S", "SUCCESS");
    inquiry.body["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .filter(|t| t["transactionType"] == "REFUND")
        .map(|t| {
            let result = &t["transactionResult"];
            format!(
                "{} {} {}",
                t["transactionStatus"].as_str().unwrap_or_default(),
                result["resultStatus"].as_str().unwrap_or_default(),
                result["resultCode"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// A refund of `value` under a fresh refundRequestId.
async fn new_refund(m: &Merchant, payment_id: &str, value: &str) -> Answer {
    m.call(
        "payments/refund",
        &refund_body(&unique("r"), payment_id, value),
    )
    .await
}

#[tokio::test]
async fn refund_unknown_on_the_first_attempt_92001() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    let payment_id = paid(&m, &token).await;
    let id = unique("r92001");
    let body = refund_body(&id, &payment_id, "92001");
    m.call("payments/refund", &body)
        .await
        .expect("U", "UNKNOWN_EXCEPTION");
    // Nothing was recorded: Alipay does not know the refund, and the amount is still whole.
    m.call("payments/inquiryRefund", &json!({"refundRequestId": id}))
        .await
        .expect("F", "ORDER_NOT_EXIST");
    assert!(refund_transactions(&m, &payment_id).await.is_empty());
    let mut other = body.clone();
    other["refundReason"] = json!("another reason");
    m.call("payments/refund", &other)
        .await
        .expect("F", "REPEAT_REQ_INCONSISTENT");

    let retry = m.call("payments/refund", &body).await;
    retry.expect("S", "SUCCESS");
    let replay = m.call("payments/refund", &body).await;
    replay.expect("S", "SUCCESS");
    assert_eq!(replay.field("refundId"), retry.field("refundId"));
    assert_eq!(refund_statuses(&m, &id, 1).await, ["SUCCESS"]);
    assert_eq!(
        refund_transactions(&m, &payment_id).await,
        ["SUCCESS S SUCCESS"],
        "one refund"
    );
    assert_eq!(sandbox.stats().request_calls("payments/refund", &id), 4);

    // A refund that fails its checks never reaches the scenario: 92001 more is more than is left.
    new_refund(&m, &payment_id, "92001")
        .await
        .expect("F", "REFUND_AMOUNT_EXCEED");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn refund_in_process_for_nn_inquiries_then_success_930nn() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    let payment_id = paid(&m, &token).await;
    let id = unique("r930");
    let body = refund_body(&id, &payment_id, "93002");
    let accepted = m.call("payments/refund", &body).await;
    accepted.expect("U", "REFUND_IN_PROCESS");
    let refund_id = accepted.field("refundId").to_owned();
    let repeat = m.call("payments/refund", &body).await;
    repeat.expect("U", "REFUND_IN_PROCESS");
    assert_eq!(repeat.field("refundId"), refund_id);
    assert_eq!(
        refund_transactions(&m, &payment_id).await,
        ["PROCESSING U REFUND_IN_PROCESS"]
    );

    // The pending refund holds its amount: 93002 + 6999 is more than the 100000 paid, 93002 + 6998 is not.
    new_refund(&m, &payment_id, "6999")
        .await
        .expect("F", "REFUND_AMOUNT_EXCEED");
    new_refund(&m, &payment_id, "6998")
        .await
        .expect("S", "SUCCESS");

    assert_eq!(
        refund_statuses(&m, &id, 4).await,
        ["PROCESSING", "PROCESSING", "SUCCESS", "SUCCESS"]
    );
    let settled = m.call("payments/refund", &body).await;
    settled.expect("S", "SUCCESS");
    assert_eq!(settled.field("refundId"), refund_id);
    let by_id = m
        .call("payments/inquiryRefund", &json!({"refundId": refund_id}))
        .await;
    assert_eq!(by_id.field("refundStatus"), "SUCCESS");
    assert_eq!(
        refund_transactions(&m, &payment_id).await,
        ["SUCCESS S SUCCESS", "SUCCESS S SUCCESS"]
    );
    let stats = sandbox.stats();
    assert_eq!(stats.request_calls("payments/refund", &id), 3);
    assert_eq!(stats.request_calls("payments/inquiryRefund", &id), 4);

    // NN = 00: the first inquiry already sees the outcome.
    let quick = unique("r930");
    let other_payment = paid(&m, &token).await;
    m.call(
        "payments/refund",
        &refund_body(&quick, &other_payment, "93000"),
    )
    .await
    .expect("U", "REFUND_IN_PROCESS");
    assert_eq!(refund_statuses(&m, &quick, 1).await, ["SUCCESS"]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn refund_in_process_for_nn_inquiries_then_fail_931nn() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    let payment_id = paid(&m, &token).await;
    let id = unique("r931");
    let body = refund_body(&id, &payment_id, "93101");
    m.call("payments/refund", &body)
        .await
        .expect("U", "REFUND_IN_PROCESS");
    // While it is pending, the whole payment cannot be refunded.
    new_refund(&m, &payment_id, "100000")
        .await
        .expect("F", "REFUND_AMOUNT_EXCEED");
    assert_eq!(
        refund_statuses(&m, &id, 3).await,
        ["PROCESSING", "FAIL", "FAIL"]
    );
    m.call("payments/refund", &body)
        .await
        .expect("F", "PROCESS_FAIL");
    assert_eq!(
        refund_transactions(&m, &payment_id).await,
        ["FAIL F PROCESS_FAIL"]
    );
    // The failed refund moved nothing: the whole payment is refundable again.
    new_refund(&m, &payment_id, "100000")
        .await
        .expect("S", "SUCCESS");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn pay_only_amounts_refund_at_once() {
    let (sandbox, m, token) = setup(SandboxConfig::development()).await;
    for value in [
        "91001", "92002", "92003", "93200", "94001", "94002", "94003",
    ] {
        let payment_id = paid(&m, &token).await;
        new_refund(&m, &payment_id, value)
            .await
            .expect("S", "SUCCESS");
        assert_eq!(
            refund_transactions(&m, &payment_id).await,
            ["SUCCESS S SUCCESS"],
            "{value}"
        );
    }
    sandbox.shutdown().await;
}
