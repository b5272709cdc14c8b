//! Notifications end to end: the sandbox delivers signed notifications to the gateway's listener over real HTTP,
//! with Alipay's redelivery schedule (scaled down), and the gateway applies them without inquiring.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;
/// The engine tests' fault injection by database trigger, shared rather than repeated.
#[path = "../crates/engine/tests/engine/fault.rs"]
#[allow(dead_code)] // this binary arms only the card writes
mod fault;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;
use serde_json::Value;
use tonic::Code;

const DEADLINE: Duration = Duration::from_secs(30);

/// A port free right now on loopback, for a listener whose URL the sandbox must know before the gateway starts.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Settings under which only a notification can finish a payment quickly: the reconciler's first inquiry is
/// ten minutes away.
fn notified_gateway(notify_port: u16) -> GatewayOptions {
    let base = format!("http://127.0.0.1:{notify_port}");
    GatewayOptions {
        inquiry_interval: "10m",
        extra_env: vec![
            (
                "ALIPAY_GATEWAY_BUYER_INQUIRY_MAX_INTERVAL",
                "10m".to_owned(),
            ),
            (
                "ALIPAY_GATEWAY_NOTIFY_LISTEN",
                format!("127.0.0.1:{notify_port}"),
            ),
            ("ALIPAY_GATEWAY_NOTIFY_PUBLIC_BASE_URL", base),
        ],
        ..GatewayOptions::default()
    }
}

/// The buyer pays on the sandbox's cashier page.
async fn buyer_pays(cashier_url: &str) {
    submit_sandbox_page(cashier_url, "action=pay").await;
}

/// A cashier payment's redirect URL.
fn cashier_url(payment: &pb::Payment) -> String {
    match &payment.next_action {
        Some(pb::NextAction {
            action: Some(pb::next_action::Action::Redirect(redirect)),
        }) => redirect.url.clone(),
        other => panic!("a cashier payment carries a redirect: {other:?}"),
    }
}

/// The sandbox's deliveries (`GET /sandbox/notifications`) of notifyPayment for `payment_request_id`.
async fn deliveries(sandbox_base: &str, payment_request_id: &str) -> Vec<Value> {
    let all: Value = reqwest::get(format!("{sandbox_base}/sandbox/notifications"))
        .await
        .expect("GET notifications")
        .json()
        .await
        .expect("notifications JSON");
    let list = all
        .as_array()
        .cloned()
        .or_else(|| all.get("notifications").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    list.into_iter()
        .filter(|d| d.to_string().contains(payment_request_id))
        .collect()
}

async fn inquiries(sandbox_base: &str, payment_request_id: &str) -> u64 {
    let stats: Value = reqwest::get(format!("{sandbox_base}/sandbox/stats"))
        .await
        .expect("GET stats")
        .json()
        .await
        .expect("stats JSON");
    stats["callsByRequestId"]["payments/inquiryPayment"][payment_request_id]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_serve_completes_a_cashier_payment_by_notification() {
    // The README's run command, as a new user types it (plus loopback ports and a slow reconciler, so that only a
    // notification can finish the payment within the test).
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr, log) = spawn_default_serve(
        dir.path(),
        &[
            ("ALIPAY_GATEWAY_INQUIRY_INTERVAL", "10m"),
            ("ALIPAY_GATEWAY_BUYER_INQUIRY_MAX_INTERVAL", "10m"),
        ],
    );
    let mut payments =
        pb::payment_service_client::PaymentServiceClient::connect(format!("http://{addr}"))
            .await
            .expect("connect");
    let id = request_id("default-cashier");
    let payment = payments
        .pay(cashier_pay(&id, 1000))
        .await
        .expect("cashier pay")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!(payment.status, pb::PaymentStatus::Processing as i32);
    let url = cashier_url(&payment);
    let sandbox_base = url
        .find("/sandbox/")
        .map(|i| url[..i].to_owned())
        .expect("the built-in sandbox's cashier page");
    buyer_pays(&url).await;

    let done = eventually("SUCCESS by notification", DEADLINE, || {
        let (mut payments, id) = (payments.clone(), id.clone());
        async move {
            let p = payments
                .get_payment(pb::GetPaymentRequest {
                    payment_request_id: id,
                })
                .await
                .ok()?
                .into_inner()
                .payment?;
            (p.status == pb::PaymentStatus::Success as i32).then_some(p)
        }
    })
    .await;
    assert!(!done.payment_id.is_empty());
    assert_eq!(
        inquiries(&sandbox_base, &id).await,
        0,
        "no inquiry: the notification did it"
    );
    let sent = deliveries(&sandbox_base, &id).await;
    assert!(
        sent.iter().any(|d| d.to_string().contains("DELIVERED")),
        "the sandbox saw its notification acknowledged: {sent:?}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_redelivers_until_the_store_commits_and_the_ack_never_comes_first() {
    for_each_backend(|db| async move {
        let port = free_port();
        // Alipay's schedule at 1/1000: 0 s, 120 ms, 600 ms, 600 ms, 3.6 s, ...
        let sandbox = sandbox::Sandbox::start(
            sandbox::SandboxConfig::development().with_notify_time_scale(0.001),
            "127.0.0.1:0".parse().expect("addr"),
        )
        .await
        .expect("sandbox");
        let gateway = GatewayProcess::start(&db, &sandbox, &notified_gateway(port));
        let mut payments = gateway.payments().await;
        let id = request_id("outage-redelivery");
        let payment = payments
            .pay(cashier_pay(&id, 1000))
            .await
            .expect("cashier pay")
            .into_inner()
            .payment
            .expect("payment");

        let outage = StoreOutage::begin(&db).await;
        buyer_pays(&cashier_url(&payment)).await;
        let base = sandbox.base_url();
        two_unacknowledged_attempts(&base, &id).await;
        assert_eq!(
            get_payment_while_down(&gateway, &id).await,
            None,
            "not SUCCESS while the notification cannot commit"
        );
        outage.end().await;

        let done = wait_for_status(&gateway, &id, pb::PaymentStatus::Success, DEADLINE).await;
        assert!(!done.payment_id.is_empty());
        eventually("the redelivery acknowledged", DEADLINE, || {
            let (base, id) = (base.clone(), id.clone());
            async move {
                deliveries(&base, &id)
                    .await
                    .iter()
                    .any(|d| d.to_string().contains("DELIVERED"))
                    .then_some(())
            }
        })
        .await;
        assert_eq!(
            sandbox
                .stats()
                .request_calls("payments/inquiryPayment", &id),
            0,
            "applied by the redelivered notification, not by an inquiry"
        );

        // Resends of that notification: tampered ones are refused (401) and change nothing; an intact one is a
        // duplicate, acknowledged without being applied again.
        let delivery = deliveries(&base, &id)
            .await
            .into_iter()
            .find(|d| d["kind"] == "notifyPayment")
            .expect("the notifyPayment delivery");
        let delivery_id = delivery["id"].as_u64().expect("delivery id");
        let resend = |tamper: &'static str| {
            let url = format!("{base}/sandbox/notifications/{delivery_id}/resend{tamper}");
            async move {
                let answer: Value = reqwest::Client::new()
                    .post(url)
                    .send()
                    .await
                    .expect("resend")
                    .json()
                    .await
                    .expect("resend JSON");
                answer["attempt"].clone()
            }
        };
        let before = get_payment(&gateway, &id).await;
        for tamper in ["?tamper=body", "?tamper=signature"] {
            let attempt = resend(tamper).await;
            assert_eq!(attempt["statusCode"], 401, "{tamper}: {attempt}");
            assert_eq!(attempt["ack"], false, "{tamper}: {attempt}");
        }
        let intact = resend("").await;
        assert_eq!(intact["statusCode"], 200, "{intact}");
        assert_eq!(intact["ack"], true, "{intact}");
        let after = get_payment(&gateway, &id).await;
        assert_eq!(after.status, pb::PaymentStatus::Success as i32);
        assert_eq!(
            after.update_time, before.update_time,
            "no resend changed the payment"
        );
        drop(gateway);
        sandbox.shutdown().await;
    })
    .await;
}

/// GetPayment with a short deadline: `None` while the store does not answer.
/// A card payment's notification brings its card facts and stored card with its status, or nothing: while the
/// stored card cannot be written (a trigger fails it), the notification is neither stored nor acknowledged and the
/// payment stays PROCESSING; Alipay's redelivery after the fault applies all of it at once, with no inquiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_notification_records_its_card_with_its_status_or_nothing() {
    for_each_backend(|db| async move {
        let port = free_port();
        let sandbox = sandbox::Sandbox::start(
            sandbox::SandboxConfig::development().with_notify_time_scale(0.001),
            "127.0.0.1:0".parse().expect("addr"),
        )
        .await
        .expect("sandbox");
        let gateway = GatewayProcess::start(&db, &sandbox, &notified_gateway(port));
        let id = request_id("card-notified");
        let customer = request_id("customer");
        let page = gateway
            .cards()
            .await
            .create_hosted_card_payment(pb::CreateHostedCardPaymentRequest {
                tokenize: true,
                customer_id: customer.clone(),
                ..hosted_card(&id)
            })
            .await
            .expect("the hosted card page")
            .into_inner()
            .card_payment
            .expect("card payment");

        let store = db.store().await;
        let card_write = &fault::CARD_WRITES[0];
        fault::arm(&store, card_write).await;
        submit_sandbox_page(
            &card_redirect_url(&page),
            "cardNo=5555555555554444&expiryMonth=12&expiryYear=39&cvv=123&saveCard=on&action=pay",
        )
        .await;
        let base = sandbox.base_url();
        two_unacknowledged_attempts(&base, &id).await;
        let mut cards = gateway.cards().await;
        let get = || pb::GetCardPaymentRequest {
            payment_request_id: id.clone(),
        };
        let during = cards
            .get_card_payment(get())
            .await
            .expect("get")
            .into_inner()
            .card_payment
            .expect("card payment");
        assert_eq!(
            during.payment.as_ref().map(|p| p.status),
            Some(pb::PaymentStatus::Processing as i32),
            "not SUCCESS without its card: {during:?}"
        );
        fault::disarm(&store, card_write).await;

        let paid = eventually("SUCCESS with its stored card", DEADLINE, || {
            let (mut cards, request) = (cards.clone(), get());
            async move {
                let c = cards
                    .get_card_payment(request)
                    .await
                    .ok()?
                    .into_inner()
                    .card_payment?;
                (c.payment.as_ref()?.status == pb::PaymentStatus::Success as i32).then_some(c)
            }
        })
        .await;
        let summary = paid
            .payment
            .as_ref()
            .and_then(|p| p.card.clone())
            .expect("card summary");
        assert_eq!(summary.last_four, "4444", "{paid:?}");
        assert!(!summary.card_token.is_empty(), "the stored card: {paid:?}");
        let stored = cards
            .list_card_tokens(pb::ListCardTokensRequest {
                customer_id: customer.clone(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner()
            .card_tokens;
        assert_eq!(
            stored
                .iter()
                .map(|c| c.card_token.as_str())
                .collect::<Vec<_>>(),
            [summary.card_token.as_str()]
        );
        assert_eq!(
            sandbox
                .stats()
                .request_calls("payments/inquiryPayment", &id),
            0,
            "applied by the redelivered notification, not by an inquiry"
        );
        gateway.terminate();
        sandbox.shutdown().await;
    })
    .await;
}

/// Waits until the sandbox has sent the notifications of `id` at least twice, and checks none was acknowledged.
async fn two_unacknowledged_attempts(base: &str, id: &str) {
    eventually("two unacknowledged attempts", DEADLINE, || async move {
        let attempts = deliveries(base, id)
            .await
            .iter()
            .flat_map(|d| d["attempts"].as_array().cloned().unwrap_or_default())
            .count();
        (attempts >= 2).then_some(())
    })
    .await;
    let sent = deliveries(base, id).await;
    assert!(
        sent.iter().all(|d| !d.to_string().contains("DELIVERED")),
        "nothing acknowledged while the notification cannot commit: {sent:?}"
    );
}

async fn get_payment_while_down(gateway: &GatewayProcess, id: &str) -> Option<i32> {
    let mut payments = gateway.payments().await;
    let mut request = tonic::Request::new(pb::GetPaymentRequest {
        payment_request_id: id.to_owned(),
    });
    request.set_timeout(Duration::from_millis(300));
    let answer = payments.get_payment(request).await.ok()?;
    answer
        .into_inner()
        .payment
        .filter(|p| p.status == pb::PaymentStatus::Success as i32)
        .map(|p| p.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_wallet_cancels_revokes_the_binding() {
    for_each_backend(|db| async move {
        let port = free_port();
        // notifyAuthorization goes to the merchant's dashboard URL: the sandbox's configured notify_url.
        let sandbox = sandbox::Sandbox::start(
            sandbox::SandboxConfig::development()
                .with_notify_url(format!("http://127.0.0.1:{port}/alipay/notify")),
            "127.0.0.1:0".parse().expect("addr"),
        )
        .await
        .expect("sandbox");
        let gateway = GatewayProcess::start(&db, &sandbox, &notified_gateway(port));
        let binding = bind_wallet(&gateway, "customer-unbinds").await;
        let access_token = stored_access_token(&db, &binding.binding_id).await;

        // The user unbinds in the wallet app.
        let cancelled = reqwest::Client::new()
            .post(format!("{}/sandbox/tokens/cancel", sandbox.base_url()))
            .json(&serde_json::json!({ "accessToken": access_token }))
            .send()
            .await
            .expect("cancel token");
        assert!(cancelled.status().is_success(), "{}", cancelled.status());

        let auth = gateway.auth().await;
        eventually("the binding REVOKED by TOKEN_CANCELED", DEADLINE, || {
            let (mut auth, binding_id) = (auth.clone(), binding.binding_id.clone());
            async move {
                let b = auth
                    .get_binding(pb::GetBindingRequest { binding_id })
                    .await
                    .ok()?
                    .into_inner()
                    .binding?;
                (b.status == pb::BindingStatus::Revoked as i32).then_some(())
            }
        })
        .await;
        let pays_before = sandbox.stats().endpoint_calls("payments/pay");
        let status = gateway
            .payments()
            .await
            .pay(agreement_pay(
                &request_id("after-unbind"),
                &binding.binding_id,
                1000,
            ))
            .await
            .expect_err("a revoked binding cannot pay");
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert_eq!(error_info(&status).0, "BINDING_NOT_ACTIVE");
        assert_eq!(
            sandbox.stats().endpoint_calls("payments/pay"),
            pays_before,
            "refused before Alipay"
        );
        drop(gateway);
        sandbox.shutdown().await;
    })
    .await;
}
