//! A payment waiting for the buyer (cashier page) is inquired until its expiry — Alipay's default window or the
//! caller's `payment_expiry_time` — plus a grace, however many inquiries that takes, and only then cancelled; the
//! auto-debit inquiry budget does not apply to it.

use std::time::Duration;

use chrono::Utc;
use engine::{EngineConfig, EngineError, PaymentStatus};

use crate::harness::{
    Env, cashier_pay, each_backend, eventually, fast_config, new_id, press_cashier_button,
    sandbox_config, settled,
};

/// Inquiry budget of an auto-debit payment in these tests: a cashier payment must outlive it.
const MAX_INQUIRIES: u32 = 3;

fn buyer_config(window: Duration, grace: Duration) -> EngineConfig {
    EngineConfig {
        max_inquiries: MAX_INQUIRIES,
        buyer_action_window: window,
        buyer_action_grace: grace,
        buyer_inquiry_max_interval: Duration::from_millis(150),
        ..fast_config()
    }
}

/// Waits until the reconciler has inquired `id` more often than the auto-debit budget allows.
async fn past_the_inquiry_budget(env: &Env, id: &str) -> u64 {
    let beyond = u64::from(MAX_INQUIRIES) + 2;
    eventually(
        Duration::from_secs(10),
        "more inquiries than max_inquiries",
        || async {
            let n = env.stats().request_calls("payments/inquiryPayment", id);
            (n >= beyond).then_some(n)
        },
    )
    .await
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_cashier_payment_is_kept_for_its_window_and_cancelled_after_it() {
    let window = Duration::from_secs(4);
    let grace = Duration::from_millis(500);
    each_backend(move |backend, url| async move {
        let env = Env::with(&url, sandbox_config(), buyer_config(window, grace)).await;
        let id = new_id("pay-buyer");
        let accepted = env.engine.pay(cashier_pay(&id, 1000)).await.expect("pay");
        assert_eq!(
            accepted.payment.status,
            PaymentStatus::Processing,
            "[{backend}]"
        );
        assert!(
            accepted.payment.next_action.is_some(),
            "[{backend}] buyer must act"
        );
        let reconciler = Env::reconcile(&env.engine);

        let inquiries = past_the_inquiry_budget(&env, &id).await;
        let waiting = env.engine.get_payment(&id).await.expect("payment");
        let still_inside = Utc::now() < accepted.payment.created_at + chrono_of(window);
        assert!(
            still_inside,
            "[{backend}] the test must look inside the window"
        );
        assert_eq!(
            waiting.payment.status,
            PaymentStatus::Processing,
            "[{backend}] not cancelled after {inquiries} inquiries inside the window"
        );
        assert_eq!(env.stats().request_calls("payments/cancel", &id), 0);

        let done = settled(&env, &id, Duration::from_secs(20)).await;
        reconciler.stop().await;
        assert_eq!(done.status, PaymentStatus::Cancelled, "[{backend}]");
        assert!(
            done.updated_at >= accepted.payment.created_at + chrono_of(window + grace),
            "[{backend}] cancelled at {} before the window and grace ended (created {})",
            done.updated_at,
            accepted.payment.created_at
        );
        let stats = env.stats();
        assert_eq!(
            stats.request_calls("payments/cancel", &id),
            1,
            "[{backend}]"
        );
        // Back-off: far fewer inquiries than one per inquiry_interval over the window.
        let total = stats.request_calls("payments/inquiryPayment", &id);
        let fixed_cadence =
            (window + grace).as_millis() / fast_config().inquiry_interval.as_millis();
        assert!(
            u128::from(total) < fixed_cadence,
            "[{backend}] {total} inquiries"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_who_pays_late_inside_the_window_ends_success() {
    each_backend(|backend, url| async move {
        let config = buyer_config(Duration::from_secs(30), Duration::from_secs(1));
        let env = Env::with(&url, sandbox_config(), config).await;
        let id = new_id("pay-late-buyer");
        let accepted = env.engine.pay(cashier_pay(&id, 1000)).await.expect("pay");
        let reconciler = Env::reconcile(&env.engine);
        past_the_inquiry_budget(&env, &id).await;
        assert_eq!(
            env.engine
                .get_payment(&id)
                .await
                .expect("payment")
                .payment
                .status,
            PaymentStatus::Processing,
            "[{backend}]"
        );

        assert_eq!(press_cashier_button(&accepted, "pay").await, 303);
        let done = settled(&env, &id, Duration::from_secs(10)).await;
        reconciler.stop().await;
        assert_eq!(done.status, PaymentStatus::Success, "[{backend}]");
        let stats = env.stats();
        assert_eq!(
            stats.request_calls("payments/cancel", &id),
            0,
            "[{backend}]"
        );
        assert_eq!(stats.charges_for(&id), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_payment_expiry_is_sent_to_alipay_and_ends_the_wait() {
    let grace = Duration::from_millis(300);
    each_backend(move |backend, url| async move {
        // The default window is long: only the caller's expiry can end this wait in time.
        let config = buyer_config(Duration::from_secs(600), grace);
        let env = Env::with(&url, sandbox_config(), config).await;
        let id = new_id("pay-expiry");
        let expiry = Utc::now() + chrono::Duration::seconds(2);
        let accepted = env
            .engine
            .pay(engine::PayCommand {
                payment_expiry_time: Some(expiry),
                ..cashier_pay(&id, 1000)
            })
            .await
            .expect("pay");
        let stored = accepted.payment.payment_expiry_time.expect("expiry stored");
        assert!(
            (stored - expiry).num_milliseconds().abs() < 5,
            "[{backend}] stored {stored}, asked {expiry}"
        );
        let calls = env.call_log(&id).await;
        let sent = calls
            .iter()
            .find(|c| c.endpoint.contains("pay"))
            .and_then(|c| c.request_json.clone())
            .unwrap_or_default();
        let wire = expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        assert!(
            sent.contains(&format!("\"paymentExpiryTime\":\"{wire}\"")),
            "[{backend}] {sent}"
        );

        let reconciler = Env::reconcile(&env.engine);
        let done = settled(&env, &id, Duration::from_secs(15)).await;
        reconciler.stop().await;
        assert_eq!(done.status, PaymentStatus::Cancelled, "[{backend}]");
        assert!(
            done.updated_at >= expiry + chrono_of(grace),
            "[{backend}] cancelled at {} before expiry {expiry} + grace",
            done.updated_at
        );
        assert_eq!(env.stats().request_calls("payments/cancel", &id), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_expiry_outside_the_documented_limits_is_refused_before_alipay() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let now = Utc::now();
        let cases = [
            (
                cashier_pay(&new_id("pay-expiry"), 1000),
                now + chrono::Duration::minutes(11),
                "must be at most 10 minutes ahead",
            ),
            (
                cashier_pay(&new_id("pay-expiry"), 1000),
                now - chrono::Duration::seconds(1),
                "must be in the future",
            ),
            (
                crate::harness::agreement_pay(&new_id("pay-expiry"), "binding", 1000),
                now + chrono::Duration::minutes(5),
                "is only allowed for a cashier payment",
            ),
        ];
        for (cmd, expiry, description) in cases {
            let id = cmd.payment_request_id.clone();
            let cmd = engine::PayCommand {
                payment_expiry_time: Some(expiry),
                ..cmd
            };
            match env.engine.pay(cmd).await {
                Err(EngineError::InvalidArgument(v)) => {
                    assert_eq!(v.len(), 1, "[{backend}] {v:?}");
                    assert_eq!(v[0].field, "payment_expiry_time");
                    assert_eq!(v[0].description, description);
                }
                other => panic!("[{backend}] expected InvalidArgument, got {other:?}"),
            }
            assert!(
                matches!(
                    env.engine.get_payment(&id).await,
                    Err(EngineError::NotFound { .. })
                ),
                "[{backend}] nothing stored"
            );
        }
        assert_eq!(env.stats().endpoint_calls("payments/pay"), 0);
    })
    .await;
}
