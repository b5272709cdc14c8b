//! The pay path: S, F, same-id retries of U and transport failures, and what is recorded.

use alipay::model::Scope;
use engine::{EngineError, Metadata, PaymentStatus};

use crate::harness::{Env, agreement_pay, checked, each_backend, new_id};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agreement_pay_succeeds_is_recorded_and_replays_without_a_second_call() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let id = new_id("pay-ok");
        let cmd = agreement_pay(&id, &binding.id, 1000);
        let paid = env.engine.pay(cmd.clone()).await.expect("pay");
        assert_eq!(paid.payment.status, PaymentStatus::Success, "[{backend}]");
        assert!(paid.payment.alipay_payment_id.is_some());
        assert_eq!(paid.payment.customer_id.as_deref(), Some("cust-1"));
        let again = env.engine.pay(cmd).await.expect("replay");
        assert_eq!(again, paid, "the replay is the recorded payment");
        let stats = env.stats();
        assert_eq!(
            stats.request_calls("payments/pay", &id),
            1,
            "replay must not call Alipay"
        );
        assert_eq!(stats.charges_for(&id), 1);
        // Every outbound call is in the call log.
        let calls = env.call_log(&id).await;
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].result_status, Some(engine::ResultStatus::Success));
        let logged = calls[0].request_json.as_deref().unwrap_or_default();
        assert!(
            !logged.contains(&crate::harness::access_token(&env, &binding.id).await),
            "the access token must be masked in the call log"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_f_scenario_is_declined_with_its_code_and_recorded_as_fail() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let cases = [
            (91001, "USER_BALANCE_NOT_ENOUGH"),
            (91002, "RISK_REJECT"),
            (91003, "USER_AMOUNT_EXCEED_LIMIT"),
            (91004, "PAYMENT_AMOUNT_EXCEED_LIMIT"),
            (91005, "PAYMENT_COUNT_EXCEED_LIMIT"),
            (91006, "USER_STATUS_ABNORMAL"),
            (91007, "USER_NOT_EXIST"),
            (91008, "PROCESS_FAIL"),
        ];
        for (value, expected) in cases {
            let id = new_id("pay-f");
            let cmd = agreement_pay(&id, &binding.id, value);
            match env.engine.pay(cmd.clone()).await {
                Err(EngineError::Declined { code, .. }) => assert_eq!(code, expected, "[{backend}] {value}"),
                other => panic!("[{backend}] {value}: expected Declined, got {other:?}"),
            }
            let stored = env.engine.get_payment(&id).await.expect("stored");
            assert_eq!(stored.payment.status, PaymentStatus::Fail);
            assert_eq!(stored.payment.result_code(), Some(expected));
            // A replay answers the same decline without calling Alipay again.
            assert!(matches!(env.engine.pay(cmd).await, Err(EngineError::Declined { code, .. }) if code == expected));
            assert_eq!(env.stats().request_calls("payments/pay", &id), 1, "F is final: no retry");
        }
    })
    .await;
}

/// U, rate-limit, slow and dropped first answers are all retried with the same paymentRequestId and charge once.
/// The U and rate-limit scenarios answer normally on the first retry, so exactly two calls; a slow or dropped first
/// answer may overlap a retry, so at least two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_answers_are_retried_with_the_same_id_and_charge_once() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let cases = [
            (92001, Some(2)),
            (92003, Some(2)),
            (94001, None),
            (94002, None),
        ];
        for (value, exact_calls) in cases {
            let id = new_id("pay-retry");
            let paid = env
                .engine
                .pay(agreement_pay(&id, &binding.id, value))
                .await
                .expect("pay");
            assert_eq!(
                paid.payment.status,
                PaymentStatus::Success,
                "[{backend}] {value}"
            );
            let stats = env.stats();
            let calls = stats.request_calls("payments/pay", &id);
            match exact_calls {
                Some(expected) => assert_eq!(calls, expected, "[{backend}] {value}: one retry"),
                None => assert!(calls >= 2, "[{backend}] {value}: retried"),
            }
            assert_eq!(stats.charges_for(&id), 1, "[{backend}] {value}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_response_signature_is_never_success_until_an_inquiry_confirms_it() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let id = new_id("pay-sig");
        let answer = env.engine.pay(agreement_pay(&id, &binding.id, 94003)).await;
        crate::harness::assert_pending_view(backend, answer);
        let stored = env.engine.get_payment(&id).await.expect("stored");
        assert_eq!(
            stored.payment.status,
            PaymentStatus::Processing,
            "an unverifiable S is not a confirmation"
        );
        assert_eq!(
            env.stats().request_calls("payments/pay", &id),
            3,
            "bounded same-id retries"
        );
        let reconciler = Env::reconcile(&env.engine);
        let settled = crate::harness::eventually(
            std::time::Duration::from_secs(10),
            "inquiry result",
            || async {
                let p = env.engine.get_payment(&id).await.ok()?;
                (p.payment.status != PaymentStatus::Processing).then_some(p)
            },
        )
        .await;
        reconciler.stop().await;
        assert_eq!(settled.payment.status, PaymentStatus::Success);
        let stats = env.stats();
        assert_eq!(stats.charges_for(&id), 1);
        assert!(stats.request_calls("payments/inquiryPayment", &id) >= 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_mismatch_and_invalid_input_never_reach_alipay() {
    each_backend(|_backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let id = new_id("pay-mm");
        env.engine
            .pay(agreement_pay(&id, &binding.id, 1000))
            .await
            .expect("pay");
        let different = agreement_pay(&id, &binding.id, 1001);
        assert!(matches!(
            env.engine.pay(different).await,
            Err(EngineError::RequestMismatch { request_id }) if request_id == id
        ));
        // Fields are valid by construction; what spans fields is the engine's rule, all reported at once.
        let mut bad = agreement_pay(&new_id("pay-bad"), &binding.id, 1000);
        bad.capture_mode = Some(alipay::model::CaptureMode::Manual);
        bad.payment_expiry_time = Some(chrono::Utc::now() + chrono::Duration::minutes(5));
        bad.env = Some(alipay::model::Env::new(alipay::model::TerminalType::App));
        match env.engine.pay(bad).await {
            Err(EngineError::InvalidArgument(violations)) => {
                let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
                assert_eq!(
                    fields,
                    [
                        "agreement.env.os_type",
                        "capture_mode",
                        "payment_expiry_time"
                    ]
                );
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
        assert_eq!(
            env.stats().endpoint_calls("payments/pay"),
            1,
            "only the first pay reached Alipay"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_region_are_stored_not_sent_and_limits_are_enforced() {
    use engine::limits::{MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LEN, MAX_METADATA_VALUE_LEN};
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let id = new_id("pay-meta");
        let mut cmd = agreement_pay(&id, &binding.id, 1000);
        cmd.metadata = Metadata::new([("cart", "c-42"), ("channel", "kiosk-unique-marker")])
            .expect("metadata");
        cmd.merchant_region = Some(checked("SG"));
        let paid = env.engine.pay(cmd.clone()).await.expect("pay");
        assert_eq!(paid.payment.metadata, *cmd.metadata, "[{backend}]");
        assert_eq!(paid.payment.merchant_region.as_deref(), Some("SG"));
        let read = env.engine.get_payment(&id).await.expect("read");
        assert_eq!(read.payment.metadata, *cmd.metadata);
        // Metadata is part of the request: the same id with other metadata is a different request.
        let mut other = cmd.clone();
        other.metadata = Metadata::new([("cart", "c-43"), ("channel", "kiosk-unique-marker")])
            .expect("metadata");
        assert!(matches!(
            env.engine.pay(other).await,
            Err(EngineError::RequestMismatch { .. })
        ));
        let calls = env.call_log(&id).await;
        assert_eq!(calls.len(), 1);
        let sent = calls[0].request_json.as_deref().unwrap_or_default();
        assert!(sent.contains("\"merchantRegion\":\"SG\""), "{sent}");
        assert!(
            !sent.contains("kiosk-unique-marker"),
            "metadata never goes to Alipay"
        );

        // Over-limit metadata, a malformed region or request id cannot be put in a command at all.
        let mut bad: std::collections::BTreeMap<String, String> = (0..=MAX_METADATA_ENTRIES)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        bad.insert("k".repeat(MAX_METADATA_KEY_LEN + 1), "v".into());
        bad.insert("k0".into(), "v".repeat(MAX_METADATA_VALUE_LEN + 1));
        match Metadata::new(&bad) {
            Err(EngineError::InvalidArgument(v)) => {
                let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
                assert_eq!(fields, ["metadata[k0]", "metadata", "metadata"], "{v:?}");
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
        assert!(alipay::checked::RegionCode::new("sgp").is_err());
        for bad_id in ["pay/1", "pay 1", "pay#1", "päy"] {
            assert!(alipay::checked::RequestId::new(bad_id).is_err(), "{bad_id}");
        }
        assert_eq!(env.stats().endpoint_calls("payments/pay"), 1);
    })
    .await;
}

/// The live inquiry always asks Alipay, also for a final payment, and never moves a final state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_inquiry_asks_alipay_even_for_final_payments() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let ok = new_id("pay-live");
        let failed = new_id("pay-live-f");
        let paid = env
            .engine
            .pay(agreement_pay(&ok, &binding.id, 1000))
            .await
            .expect("pay");
        assert!(
            env.engine
                .pay(agreement_pay(&failed, &binding.id, 91001))
                .await
                .is_err()
        );
        for (id, status) in [
            (&ok, PaymentStatus::Success),
            (&failed, PaymentStatus::Fail),
        ] {
            let inquired = env.engine.inquire_payment(id).await.expect("inquire");
            assert_eq!(inquired.payment.status, status, "[{backend}]");
            assert_eq!(
                env.stats().request_calls("payments/inquiryPayment", id),
                1,
                "[{backend}] a live call for a final payment"
            );
        }
        let inquired = env.engine.inquire_payment(&ok).await.expect("inquire");
        assert_eq!(
            inquired.payment.updated_at, paid.payment.updated_at,
            "a final payment is not rewritten"
        );
        assert!(matches!(
            env.engine.inquire_payment("no-such-payment").await,
            Err(EngineError::NotFound { .. })
        ));
    })
    .await;
}

/// The store work of one successful auto-debit Pay, counted call by call (issue 8's shape): no read before the call
/// once the binding is known in memory, the write-ahead transaction, and one result transaction that also writes the
/// call-log row; the answer is built from what they wrote. A count, not a timing: each call is a round trip (on SQLite a
/// hand-off to the connection's thread and back), so this is what the gateway's CPU and latency per Pay follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_auto_debit_pay_runs_few_statements() {
    each_backend(|backend, url| async move {
        let counted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<&'static str>::new()));
        let sandbox = crate::harness::start_sandbox(crate::harness::sandbox_config()).await;
        let mut store = store::Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let sink = counted.clone();
        store.observe_statements(move |info| sink.lock().unwrap().push(info.operation));
        let engine = engine::Engine::new(
            store.clone(),
            crate::harness::client(&sandbox),
            crate::harness::fast_config(),
        );
        let env = Env {
            sandbox,
            store,
            engine,
        };
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        // A first Pay reads the binding and keeps it in memory; the one counted is a customer's next.
        env.engine
            .pay(agreement_pay(&new_id("pay-first"), &binding.id, 1000))
            .await
            .expect("first pay");
        env.engine.flush_call_records().await;
        counted.lock().unwrap().clear();
        let id = new_id("pay-count");
        let paid = env
            .engine
            .pay(agreement_pay(&id, &binding.id, 1000))
            .await
            .expect("pay");
        assert_eq!(paid.payment.status, PaymentStatus::Success, "[{backend}]");
        env.engine.flush_call_records().await;
        let statements = counted.lock().unwrap().clone();
        // Each counted call is one round trip to the store: the write-ahead batch (payment, audit row, event and
        // inquiry job, written only while the binding kept in memory is still the stored version; a replay is found
        // by the insert's unique request id) and the result batch (the guarded UPDATE ... RETURNING that checks and
        // writes the move, its audit row, its event and the pay call's call-log row). Each batch is one statement on
        // PostgreSQL and one call holding BEGIN IMMEDIATE and COMMIT on SQLite. The answer's refund and capture
        // totals are known without a read (this Pay's own move wrote the status). It was 15 on SQLite and 17 on
        // PostgreSQL, then 10, then 6 (with begin and commit not counted), then 4 and 3.
        assert!(
            statements.len() <= 2,
            "[{backend}] {} statements: {statements:?}",
            statements.len()
        );
        let reads = statements.iter().filter(|s| **s == "SELECT").count();
        assert_eq!(reads, 0, "[{backend}] {reads} reads: {statements:?}");
    })
    .await;
}
