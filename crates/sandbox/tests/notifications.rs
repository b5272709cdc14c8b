//! Notifications over real HTTP: a receiver verifies each one with the `alipay` crate (an independent RSA
//! implementation), records it and acknowledges or not on demand. Covers every kind, the URL rules, the
//! scaled redelivery schedule and its switches, the listing, tampered resends and TOKEN_CANCELED.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::Duration;

use alipay::model::Notification;
use chrono::{DateTime, Utc};
use common::receiver::{Receiver, Reply};
use common::*;
use sandbox::{RunningSandbox, SandboxConfig, dev};
use serde_json::{Value, json};

/// Redelivery scaled so the whole 24 h schedule takes well under a second.
const FAST: f64 = 0.00001;

/// A receiver that verifies with the development Alipay key the sandboxes below sign with.
async fn receiver() -> Receiver {
    Receiver::start(dev::ALIPAY_PUBLIC_KEY_PEM, dev::CLIENT_ID).await
}

async fn setup(config: SandboxConfig) -> (RunningSandbox, Merchant, Receiver) {
    let receiver = receiver().await;
    let sandbox = start(config).await;
    let merchant = Merchant::new(&sandbox);
    (sandbox, merchant, receiver)
}

/// `GET /sandbox/notifications`.
async fn deliveries(m: &Merchant) -> Vec<Value> {
    let list: Value = m
        .get_page(&format!("{}/sandbox/notifications", m.base))
        .await
        .json()
        .await
        .unwrap();
    list["notifications"].as_array().unwrap().clone()
}

/// Waits until delivery `id` leaves PENDING and returns it.
async fn settled_delivery(m: &Merchant, id: u64) -> Value {
    let wait = async {
        loop {
            let found = deliveries(m)
                .await
                .into_iter()
                .find(|d| d["id"] == json!(id))
                .unwrap();
            if found["status"] != "PENDING" {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("the delivery never settled")
}

async fn resend(m: &Merchant, id: u64, query: &str) -> reqwest::Response {
    m.http
        .post(format!(
            "{}/sandbox/notifications/{id}/resend{query}",
            m.base
        ))
        .send()
        .await
        .unwrap()
}

fn with_notify_url(mut body: Value, field: &str, url: &str) -> Value {
    body[field] = json!(url);
    body
}

fn parses_as(received: &common::receiver::Received) -> Notification {
    Notification::parse(&received.body).expect("the gateway's model parses the notification")
}

async fn complete_on_cashier(m: &Merchant, answer: &Answer, action: &str) {
    let page = m
        .post_form(answer.field("normalUrl"), &format!("action={action}"))
        .await;
    assert!(page.status().is_success() || page.status() == 303);
}

#[tokio::test]
async fn cashier_payments_notify_their_result_when_the_buyer_acts() {
    let (sandbox, m, rx) = setup(SandboxConfig::development()).await;
    let paid_id = unique("paid");
    let paid = m
        .call(
            "payments/pay",
            &with_notify_url(
                cashier_pay(&paid_id, "1000"),
                "paymentNotifyUrl",
                &rx.url("/notify/pay"),
            ),
        )
        .await;
    paid.expect("U", "PAYMENT_IN_PROCESS");
    assert!(
        deliveries(&m).await.is_empty(),
        "nothing before the buyer acts"
    );
    complete_on_cashier(&m, &paid, "pay").await;
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].path, "/notify/pay");
    assert_eq!(got[0].header("client-id"), dev::CLIENT_ID);
    assert_eq!(
        got[0].header("content-type"),
        "application/json; charset=UTF-8"
    );
    let time = got[0].header("request-time");
    assert!(
        time.len() == 20 && time.ends_with('Z') && time.parse::<DateTime<Utc>>().is_ok(),
        "{time}"
    );
    let body = got[0].assert_verified();
    assert_eq!(body["notifyType"], "PAYMENT_RESULT");
    assert_eq!(body["result"]["resultStatus"], "S");
    assert_eq!(body["paymentRequestId"], json!(paid_id));
    assert_eq!(body["paymentId"], json!(paid.field("paymentId")));
    assert_eq!(
        body["paymentAmount"],
        json!({"currency": "PHP", "value": "1000"})
    );
    assert!(body["paymentCreateTime"].is_string() && body["paymentTime"].is_string());
    let Notification::Payment(n) = parses_as(&got[0]) else {
        panic!("not a payment notification")
    };
    assert!(n.is_paid());

    m.cashier_settled(Some(&rx.url("/notify/pay")), "fail")
        .await;
    let body = rx.wait_for(2).await[1].assert_verified();
    assert_eq!(body["notifyType"], "PAYMENT_RESULT");
    assert_eq!(
        (
            &body["result"]["resultStatus"],
            &body["result"]["resultCode"]
        ),
        (&json!("F"), &json!("PROCESS_FAIL"))
    );
    assert!(body.get("paymentTime").is_none(), "paymentTime only on S");
    sandbox.shutdown().await;
}

fn in_store(id: &str, value: &str, notify: &str) -> Value {
    json!({
        "productCode": "IN_STORE_PAYMENT",
        "paymentRequestId": id,
        "paymentAmount": {"currency": "PHP", "value": value},
        "order": {"referenceOrderId": "r", "orderDescription": "coffee"},
        "paymentMethod": {"paymentMethodType": "CONNECT_WALLET", "paymentMethodId": "281234567890123456"},
        "paymentNotifyUrl": notify,
    })
}

#[tokio::test]
async fn in_store_payments_notify_pending_then_result_and_cancel_closes() {
    let (sandbox, m, rx) = setup(SandboxConfig::development()).await;
    let later = m
        .call(
            "payments/pay",
            &in_store(&unique("later"), "93001", &rx.url("/n")),
        )
        .await;
    later.expect("U", "PAYMENT_IN_PROCESS");
    let pending = rx.wait_for(1).await[0].assert_verified();
    assert_eq!(pending["notifyType"], "PAYMENT_PENDING");
    assert_eq!(pending["result"]["resultStatus"], "S");
    let Notification::Payment(n) = parses_as(&rx.received()[0]) else {
        panic!("not a payment notification")
    };
    assert!(!n.is_paid(), "PAYMENT_PENDING with S is not a success");
    let inquiry = json!({"paymentId": later.field("paymentId")});
    m.call("payments/inquiryPayment", &inquiry).await;
    assert_eq!(deliveries(&m).await.len(), 1, "still processing");
    m.call("payments/inquiryPayment", &inquiry).await;
    let result = rx.wait_for(2).await[1].assert_verified();
    assert_eq!(result["notifyType"], "PAYMENT_RESULT");
    assert_eq!(result["result"]["resultStatus"], "S");

    let immediate = m
        .call(
            "payments/pay",
            &in_store(&unique("now"), "500", &rx.url("/n")),
        )
        .await;
    immediate.expect("S", "SUCCESS");
    assert_eq!(
        deliveries(&m).await.len(),
        2,
        "a synchronous in-store result is not notified"
    );

    let stuck = m
        .call(
            "payments/pay",
            &in_store(&unique("stuck"), "93200", &rx.url("/n")),
        )
        .await;
    rx.wait_for(3).await;
    m.call(
        "payments/cancel",
        &json!({"paymentId": stuck.field("paymentId")}),
    )
    .await
    .expect("S", "SUCCESS");
    let closed = rx.wait_for(4).await[3].assert_verified();
    assert_eq!(closed["notifyType"], "PAYMENT_RESULT");
    assert_eq!(
        (
            &closed["result"]["resultStatus"],
            &closed["result"]["resultCode"]
        ),
        (&json!("F"), &json!("ORDER_IS_CANCELED"))
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn refunds_notify_success_at_once_and_processing_ones_when_they_settle() {
    let (sandbox, m, rx) = setup(SandboxConfig::development()).await;
    let paid = m
        .call(
            "payments/pay",
            &in_store(&unique("p"), "500000", &rx.url("/pay")),
        )
        .await;
    paid.expect("S", "SUCCESS");
    let payment_id = paid.field("paymentId").to_owned();
    let request_id = unique("r");
    m.call(
        "payments/refund",
        &with_notify_url(
            refund_body(&request_id, &payment_id, "1000"),
            "refundNotifyUrl",
            &rx.url("/refund"),
        ),
    )
    .await
    .expect("S", "SUCCESS");
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].path, "/refund");
    let body = got[0].assert_verified();
    assert_eq!(body["notifyType"], "REFUND_RESULT");
    assert_eq!(body["refundStatus"], "SUCCESS");
    assert_eq!(body["refundRequestId"], json!(request_id));
    assert_eq!(body["paymentId"], json!(payment_id));
    assert!(body["refundId"].is_string() && body["refundTime"].is_string());
    assert_eq!(
        body["refundAmount"],
        json!({"currency": "PHP", "value": "1000"})
    );
    assert!(matches!(parses_as(&got[0]), Notification::Refund(_)));

    let slow_id = unique("slow");
    let slow = m
        .call(
            "payments/refund",
            &with_notify_url(
                refund_body(&slow_id, &payment_id, "93101"),
                "refundNotifyUrl",
                &rx.url("/refund"),
            ),
        )
        .await;
    slow.expect("U", "REFUND_IN_PROCESS");
    assert_eq!(deliveries(&m).await.len(), 1, "nothing while PROCESSING");
    let inquiry = json!({"refundRequestId": slow_id});
    m.call("payments/inquiryRefund", &inquiry).await;
    m.call("payments/inquiryRefund", &inquiry).await;
    let body = rx.wait_for(2).await[1].assert_verified();
    assert_eq!(body["refundStatus"], "FAIL");
    assert_eq!(body["result"]["resultStatus"], "F");
    assert!(body.get("refundTime").is_none(), "refundTime only on S");
    m.call("payments/inquiryRefund", &inquiry).await;
    assert_eq!(deliveries(&m).await.len(), 2, "one notification per refund");
    sandbox.shutdown().await;
}

fn authorization(id: &str, mode: &str, notify: &str) -> Value {
    let mut body = with_notify_url(cashier_pay(id, "2000"), "paymentNotifyUrl", notify);
    body["paymentFactor"] = json!({"isAuthorization": true, "captureMode": mode});
    body
}

#[tokio::test]
async fn captures_notify_including_the_automatic_one_the_merchant_never_requested() {
    let (sandbox, m, rx) = setup(SandboxConfig::development()).await;
    let manual = m
        .call(
            "payments/pay",
            &authorization(&unique("manual"), "MANUAL", &rx.url("/pay")),
        )
        .await;
    complete_on_cashier(&m, &manual, "pay").await;
    rx.wait_for(1).await;
    let capture_id = unique("cap");
    m.call(
        "payments/capture",
        &json!({
            "captureRequestId": capture_id,
            "paymentId": manual.field("paymentId"),
            "captureAmount": {"currency": "PHP", "value": "2000"},
        }),
    )
    .await
    .expect("S", "SUCCESS");
    let got = rx.wait_for(2).await;
    let body = got[1].assert_verified();
    assert_eq!(
        got[1].path, "/pay",
        "notifyCapture goes to paymentNotifyUrl"
    );
    assert_eq!(body["notifyType"], "CAPTURE_RESULT");
    assert_eq!(body["result"]["resultStatus"], "S");
    assert_eq!(body["captureRequestId"], json!(capture_id));
    assert_eq!(body["paymentId"], json!(manual.field("paymentId")));
    assert!(body["captureId"].is_string());
    assert_eq!(
        body["captureAmount"],
        json!({"currency": "PHP", "value": "2000"})
    );
    assert!(matches!(parses_as(&got[1]), Notification::Capture(_)));

    let automatic = m
        .call(
            "payments/pay",
            &authorization(&unique("auto"), "AUTOMATIC", &rx.url("/pay")),
        )
        .await;
    complete_on_cashier(&m, &automatic, "pay").await;
    let capture = rx
        .wait_for_match(|b| {
            b["notifyType"] == "CAPTURE_RESULT"
                && b["paymentId"] == json!(automatic.field("paymentId"))
        })
        .await;
    let body = capture.assert_verified();
    let generated = body["captureRequestId"].as_str().unwrap();
    assert!(!generated.is_empty() && generated != capture_id);
    assert!(body["captureId"].is_string());
    assert_eq!(
        body["captureAmount"],
        json!({"currency": "PHP", "value": "2000"})
    );
    sandbox.shutdown().await;
}

async fn consult_and_login(m: &Merchant, notify: Option<&str>) -> (String, String) {
    let mut consult = json!({
        "customerBelongsTo": "GCASH",
        "authRedirectUrl": "https://merchant.example/back",
        "scopes": ["AGREEMENT_PAY"],
        "authState": "state-42",
        "terminalType": "WEB",
    });
    if let Some(url) = notify {
        consult["authNotifyUrl"] = json!(url);
    }
    let answer = m.call("authorizations/consult", &consult).await;
    answer.expect("S", "SUCCESS");
    let page = m.post_form(answer.field("authUrl"), "otp=1234").await;
    let location = url::Url::parse(page.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "authCode")
        .unwrap()
        .1
        .into_owned();
    let token = m
        .call(
            "authorizations/applyToken",
            &json!({"grantType": "AUTHORIZATION_CODE", "customerBelongsTo": "GCASH", "authCode": code}),
        )
        .await;
    token.expect("S", "SUCCESS");
    (code, token.field("accessToken").to_owned())
}

#[tokio::test]
async fn authorization_notifies_authcode_created_and_token_canceled() {
    let (sandbox, m, rx) = setup(SandboxConfig::development()).await;
    let (code, token) = consult_and_login(&m, Some(&rx.url("/auth"))).await;
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].path, "/auth");
    let created = got[0].assert_verified();
    assert_eq!(created["authorizationNotifyType"], "AUTHCODE_CREATED");
    assert_eq!(created["authCode"], json!(code));
    assert_eq!(created["authState"], "state-42");
    assert_eq!(created["result"]["resultStatus"], "S");
    assert!(matches!(parses_as(&got[0]), Notification::Authorization(_)));

    let cancel = |body: Value| {
        let m = &m;
        async move {
            m.http
                .post(format!("{}/sandbox/tokens/cancel", m.base))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let answer = cancel(json!({"accessToken": token})).await;
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert!(answer["notificationId"].is_u64());
    let canceled = rx.wait_for(2).await[1].assert_verified();
    assert_eq!(canceled["authorizationNotifyType"], "TOKEN_CANCELED");
    assert_eq!(canceled["accessToken"], json!(token));
    assert_eq!(canceled["result"]["resultStatus"], "S");

    m.call(
        "payments/pay",
        &agreement_pay(&unique("after"), &token, "1000"),
    )
    .await
    .expect("F", "INVALID_ACCESS_TOKEN");
    assert_eq!(cancel(json!({"accessToken": token})).await.status(), 409);
    assert_eq!(cancel(json!({"accessToken": "nope"})).await.status(), 404);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_url_in_the_request_wins_over_the_configured_one() {
    let rx = receiver().await;
    let sandbox =
        start(SandboxConfig::development().with_notify_url(rx.url("/configured/notify"))).await;
    let m = Merchant::new(&sandbox);
    let explicit = m
        .cashier_settled(Some(&rx.url("/from/request")), "pay")
        .await;
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].path, "/from/request");
    got[0].assert_verified();

    m.cashier_settled(None, "pay").await;
    let got = rx.wait_for(2).await;
    assert_eq!(got[1].path, "/configured/notify");
    got[1].assert_verified();

    // A refund without refundNotifyUrl goes to the configured URL, not to the payment's paymentNotifyUrl.
    m.call(
        "payments/refund",
        &refund_body(&unique("r"), explicit.field("paymentId"), "100"),
    )
    .await
    .expect("S", "SUCCESS");
    let got = rx.wait_for(3).await;
    assert_eq!(got[2].path, "/configured/notify");
    assert_eq!(got[2].assert_verified()["notifyType"], "REFUND_RESULT");

    let bad = m
        .call(
            "payments/refund",
            &with_notify_url(
                refund_body(&unique("r"), explicit.field("paymentId"), "100"),
                "refundNotifyUrl",
                "not a url",
            ),
        )
        .await;
    bad.expect("F", "PARAM_ILLEGAL");
    sandbox.shutdown().await;
}

fn attempt_times(delivery: &Value) -> Vec<DateTime<Utc>> {
    delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["time"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn an_unacknowledged_notification_is_redelivered_on_the_scaled_schedule_eight_times_at_most()
{
    let (sandbox, m, rx) = setup(SandboxConfig::development().with_notify_time_scale(FAST)).await;
    rx.answer(Reply::retry());
    m.cashier_settled(Some(&rx.url("/n")), "pay").await;
    let delivery = settled_delivery(&m, 1).await;
    assert_eq!(delivery["status"], "FAILED");
    assert!(delivery["nextAttemptAt"].is_null());
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 8);
    assert!(
        attempts
            .iter()
            .all(|a| a["statusCode"] == 200 && a["ack"] == false)
    );
    let times = attempt_times(&delivery);
    // The waits after attempt 1..7 are 2 min, 10 min, 10 min, 1 h, 2 h, 6 h, 15 h, times the scale.
    let waits = [120.0, 600.0, 600.0, 3600.0, 7200.0, 21600.0, 54000.0];
    for (i, wait) in waits.iter().enumerate() {
        let gap = (times[i + 1] - times[i]).to_std().unwrap();
        let scaled = Duration::from_secs_f64(wait * FAST);
        assert!(
            gap + Duration::from_micros(1) >= scaled,
            "gap {i}: {gap:?} < {scaled:?}"
        );
    }
    let received = rx.received();
    assert_eq!(received.len(), 8, "nothing after the eighth attempt");
    assert!(
        received
            .windows(2)
            .all(|w| w[0].body == w[1].body && w[0].verified.is_ok()),
        "every attempt sends the same bytes, each signed"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn redelivery_stops_at_the_exact_acknowledgement_and_wrong_200s_do_not_count() {
    let (sandbox, m, rx) = setup(SandboxConfig::development().with_notify_time_scale(FAST)).await;
    rx.script([
        Reply::with(200, "success"),
        Reply::with(
            200,
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"}}"#,
        ),
        Reply::with(
            200,
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"Success"}}"#,
        ),
        Reply::with(
            201,
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#,
        ),
        Reply::with(
            500,
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#,
        ),
        Reply::retry(),
    ]);
    // JSON-equal counts: whitespace and key order are free.
    rx.answer(Reply::with(
        200,
        "{\n  \"result\": {\"resultMessage\": \"success\", \"resultStatus\": \"S\", \"resultCode\": \"SUCCESS\"}\n}",
    ));
    m.cashier_settled(Some(&rx.url("/n")), "pay").await;
    let delivery = settled_delivery(&m, 1).await;
    assert_eq!(delivery["status"], "DELIVERED");
    let acks: Vec<_> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ack"].as_bool().unwrap())
        .collect();
    assert_eq!(acks, [false, false, false, false, false, false, true]);
    assert_eq!(rx.received().len(), 7, "nothing after the acknowledgement");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn agreement_payments_notify_only_with_the_switch() {
    for switch in [false, true] {
        let (sandbox, m, rx) =
            setup(SandboxConfig::development().with_notify_agreement_payments(switch)).await;
        let token = m.access_token("GCASH").await;
        let request_id = unique("ad");
        m.call(
            "payments/pay",
            &with_notify_url(
                agreement_pay(&request_id, &token, "1000"),
                "paymentNotifyUrl",
                &rx.url("/ad"),
            ),
        )
        .await
        .expect("S", "SUCCESS");
        let payment_notifications = deliveries(&m)
            .await
            .into_iter()
            .filter(|d| d["kind"] == "notifyPayment")
            .count();
        assert_eq!(
            payment_notifications,
            usize::from(switch),
            "switch {switch}"
        );
        if switch {
            let body = rx.wait_for(1).await[0].assert_verified();
            assert_eq!(body["notifyType"], "PAYMENT_RESULT");
            assert_eq!(body["paymentRequestId"], json!(request_id));
        }
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn with_redelivery_off_one_attempt_is_listed_and_resends_can_be_tampered() {
    let (sandbox, m, rx) = setup(
        SandboxConfig::development()
            .with_notify_time_scale(FAST)
            .with_notify_redelivery(false),
    )
    .await;
    rx.answer(Reply::retry());
    m.cashier_settled(Some(&rx.url("/n")), "pay").await;
    let delivery = settled_delivery(&m, 1).await;
    assert_eq!(delivery["kind"], "notifyPayment");
    assert_eq!(delivery["url"], json!(rx.url("/n")));
    assert_eq!(delivery["clientId"], dev::CLIENT_ID);
    assert_eq!(delivery["body"]["notifyType"], "PAYMENT_RESULT");
    assert_eq!(
        delivery["status"], "FAILED",
        "one unacknowledged attempt ends it"
    );
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(rx.received().len(), 1);
    let first = &delivery["attempts"][0];
    assert_eq!(
        (&first["statusCode"], &first["ack"], &first["resend"]),
        (&json!(200), &json!(false), &json!(false))
    );

    // The receiver now acknowledges everything, verified or not: a tampered resend still must not count.
    rx.answer(Reply::ack());
    let original = rx.received()[0].body.clone();
    for tamper in ["body", "signature"] {
        let answer = resend(&m, 1, &format!("?tamper={tamper}")).await;
        assert_eq!(answer.status(), 200);
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["attempt"]["tamper"], tamper);
        assert_eq!(answer["attempt"]["ack"], true);
        let received = rx.received().pop().unwrap();
        assert!(
            received.verified.is_err(),
            "tamper={tamper} must not verify"
        );
        let differing = received
            .body
            .iter()
            .zip(&original)
            .filter(|(a, b)| a != b)
            .count();
        let expected = usize::from(tamper == "body");
        assert_eq!(
            (received.body.len(), differing),
            (original.len(), expected),
            "tamper={tamper}"
        );
        assert_eq!(
            settled_delivery(&m, 1).await["status"],
            "FAILED",
            "a tampered resend changes nothing"
        );
    }

    let answer: Value = resend(&m, 1, "").await.json().await.unwrap();
    assert_eq!(answer["attempt"]["ack"], true);
    assert!(answer["attempt"]["tamper"].is_null());
    let last = rx.received().pop().unwrap();
    last.assert_verified();
    assert_eq!(last.body, original, "a resend sends the same bytes");
    let delivery = settled_delivery(&m, 1).await;
    assert_eq!(delivery["status"], "DELIVERED");
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 4);

    assert_eq!(resend(&m, 99, "").await.status(), 404);
    assert_eq!(resend(&m, 1, "?tamper=bogus").await.status(), 400);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn redeliveries_run_on_the_sandbox_clock() {
    let clock = sandbox::Clock::new();
    let (sandbox, m, rx) = setup(SandboxConfig::development().with_clock(clock.clone())).await;
    rx.answer(Reply::retry());
    m.cashier_settled(Some(&rx.url("/n")), "pay").await;
    rx.wait_for(1).await;
    // Real time: the second attempt is 2 minutes away. Moving the sandbox clock brings it now.
    clock.advance(Duration::from_secs(120));
    rx.wait_for(2).await;
    clock.advance(Duration::from_secs(600));
    rx.wait_for(3).await;
    let delivery = deliveries(&m).await.remove(0);
    let times = attempt_times(&delivery);
    assert!(times[1] - times[0] >= chrono::Duration::seconds(120));
    assert!(times[2] - times[1] >= chrono::Duration::seconds(600));
    assert_eq!(delivery["status"], "PENDING");
    let next: DateTime<Utc> = delivery["nextAttemptAt"].as_str().unwrap().parse().unwrap();
    assert!(next - times[2] >= chrono::Duration::seconds(600));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_receiver_is_an_attempt_without_a_status() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/gone", closed.local_addr().unwrap());
    drop(closed);
    let (sandbox, m, _rx) = setup(
        SandboxConfig::development()
            .with_notify_url(url)
            .with_notify_time_scale(FAST),
    )
    .await;
    m.cashier_settled(None, "pay").await;
    let delivery = settled_delivery(&m, 1).await;
    assert_eq!(delivery["status"], "FAILED");
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 8);
    assert!(
        attempts
            .iter()
            .all(|a| a["statusCode"].is_null() && a["error"].is_string() && a["ack"] == false)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_notification_settings_stop_the_start() {
    for config in [
        SandboxConfig::development().with_notify_url("/relative"),
        SandboxConfig::development().with_notify_url("ftp://merchant.example/n"),
        SandboxConfig::development().with_notify_time_scale(-1.0),
        SandboxConfig::development().with_notify_time_scale(f64::NAN),
    ] {
        let error = sandbox::Sandbox::start(config.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect_err("must not start");
        assert!(
            matches!(
                error,
                sandbox::SandboxError::NotifyUrl(_) | sandbox::SandboxError::NotifyTimeScale(_)
            ),
            "{config:?}: {error}"
        );
    }
}
