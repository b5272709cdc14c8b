//! The reconciler: inquiries at the configured interval, cancel after the budget, ORDER_NOT_EXIST handling, crash
//! recovery and several replicas on one store.

use std::time::Duration;

use alipay::model::Scope;
use engine::PaymentStatus;

use crate::harness::{Env, agreement_pay, each_backend, eventually, fast_config, new_id};

async fn settled(env: &Env, id: &str) -> engine::PaymentRecord {
    crate::harness::settled(env, id, Duration::from_secs(15)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_payments_are_resolved_by_inquiry() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let ok_id = new_id("pay-930");
        let fail_id = new_id("pay-931");
        let processing = env
            .engine
            .pay(agreement_pay(&ok_id, &binding.id, 93003))
            .await
            .expect("accepted");
        assert_eq!(
            processing.payment.status,
            PaymentStatus::Processing,
            "[{backend}]"
        );
        let processing = env
            .engine
            .pay(agreement_pay(&fail_id, &binding.id, 93102))
            .await
            .expect("accepted");
        assert_eq!(processing.payment.status, PaymentStatus::Processing);
        let reconciler = Env::reconcile(&env.engine);
        let ok = settled(&env, &ok_id).await;
        let failed = settled(&env, &fail_id).await;
        reconciler.stop().await;
        assert_eq!(ok.status, PaymentStatus::Success, "[{backend}]");
        assert_eq!(failed.status, PaymentStatus::Fail);
        assert_eq!(failed.result_code(), Some("USER_BALANCE_NOT_ENOUGH"));
        let stats = env.stats();
        assert_eq!(
            stats.request_calls("payments/inquiryPayment", &ok_id),
            4,
            "3 PROCESSING + SUCCESS"
        );
        assert_eq!(
            stats.request_calls("payments/inquiryPayment", &fail_id),
            3,
            "2 PROCESSING + FAIL"
        );
        assert_eq!(stats.endpoint_calls("payments/cancel"), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_ending_processing_is_cancelled_after_the_inquiry_budget_even_with_two_replicas() {
    each_backend(|backend, url| async move {
        let config = engine::EngineConfig {
            max_inquiries: 5,
            ..fast_config()
        };
        let env = Env::with(&url, crate::harness::sandbox_config(), config.clone()).await;
        let second = env.replica(config);
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let ids: Vec<String> = (0..3).map(|_| new_id("pay-932")).collect();
        for id in &ids {
            env.engine
                .pay(agreement_pay(id, &binding.id, 93200))
                .await
                .expect("accepted");
        }
        let first_reconciler = Env::reconcile(&env.engine);
        let second_reconciler = Env::reconcile(&second);
        for id in &ids {
            let p = settled(&env, id).await;
            assert_eq!(p.status, PaymentStatus::Cancelled, "[{backend}] {id}");
        }
        first_reconciler.stop().await;
        second_reconciler.stop().await;
        let stats = env.stats();
        for id in &ids {
            assert_eq!(
                stats.request_calls("payments/inquiryPayment", id),
                5,
                "[{backend}] exactly the budget"
            );
            assert_eq!(
                stats.request_calls("payments/cancel", id),
                1,
                "[{backend}] one cancel"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_alipay_never_created_ends_as_fail_order_not_exist() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let id = new_id("pay-922");
        let answer = env.engine.pay(agreement_pay(&id, &binding.id, 92002)).await;
        crate::harness::assert_pending_view(backend, answer);
        let reconciler = Env::reconcile(&env.engine);
        let p = settled(&env, &id).await;
        reconciler.stop().await;
        assert_eq!(p.status, PaymentStatus::Fail, "[{backend}]");
        assert_eq!(p.result_code(), Some("ORDER_NOT_EXIST"));
        let stats = env.stats();
        assert_eq!(stats.charges_for(&id), 0);
        assert_eq!(stats.request_calls("payments/pay", &id), 3);
        assert_eq!(
            stats.request_calls("payments/cancel", &id),
            1,
            "cancel with the same id, to be safe"
        );
    })
    .await;
}

/// The process dies after the intent is committed and the request sent, before the answer is recorded: a fresh
/// engine's reconciler finds the intent through its write-ahead job and resolves it, charging once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_the_write_ahead_intent_is_recovered_by_a_new_engine() {
    each_backend(|backend, url| async move {
        let mut slow_client = fast_config();
        slow_client.call_attempts = 1;
        let env = Env::with(&url, crate::harness::sandbox_config(), slow_client).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        for value in [94001, 1000] {
            let id = new_id("pay-crash");
            let doomed = env.engine.clone();
            let cmd = agreement_pay(&id, &binding.id, value);
            let call = tokio::spawn(async move { doomed.pay(cmd).await });
            // Wait for the write-ahead intent, then kill the "process" mid-call.
            crate::harness::intent_written(&env, &id).await;
            if value == 94001 {
                // The slow scenario charges before it answers: crash only once Alipay has acted.
                eventually(
                    Duration::from_secs(5),
                    "the slow pay to reach Alipay",
                    || async { (env.stats().charges_for(&id) == 1).then_some(()) },
                )
                .await;
            }
            call.abort();
            let _ = call.await;
            let stored = env.engine.get_payment(&id).await.expect("intent survives");
            assert!(
                matches!(
                    stored.payment.status,
                    PaymentStatus::Created | PaymentStatus::Success
                ),
                "[{backend}] {value}: {:?}",
                stored.payment.status
            );
            let jobs = env
                .store
                .jobs()
                .list_for_subject(&crate::harness::stored_id(&env, &id).await)
                .await
                .expect("jobs");
            assert_eq!(
                jobs.len(),
                1,
                "[{backend}] the inquiry job was written ahead of the call"
            );
            let restarted = env.replica(fast_config());
            let reconciler = Env::reconcile(&restarted);
            let p = settled(&env, &id).await;
            reconciler.stop().await;
            let charges = env.stats().charges_for(&id);
            match p.status {
                PaymentStatus::Success => assert_eq!(charges, 1, "[{backend}] {value}"),
                PaymentStatus::Fail => {
                    assert_eq!(charges, 0, "[{backend}] {value}");
                    assert_eq!(p.result_code(), Some("ORDER_NOT_EXIST"));
                }
                other => panic!("[{backend}] {value}: unexpected {other:?}"),
            }
            if value == 94001 {
                assert_eq!(
                    p.status,
                    PaymentStatus::Success,
                    "the slow scenario charged before the crash"
                );
            }
        }
    })
    .await;
}

/// The write-ahead grace only guards a call still on the wire: once pay answered PAYMENT_IN_PROCESS (or U after the
/// bounded retries), the first inquiry follows the inquiry interval. With a 30 s grace, a 930NN payment settles after
/// NN + 1 inquiries within a few seconds, and an unknown outcome is cancelled just as soon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_inquiry_follows_the_interval_not_the_write_ahead_grace() {
    each_backend(|backend, url| async move {
        let config = engine::EngineConfig {
            write_ahead_grace: Duration::from_secs(30),
            ..fast_config()
        };
        let env = Env::with(&url, crate::harness::sandbox_config(), config).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let in_process = new_id("pay-pull");
        let unknown = new_id("pay-pull-u");
        env.engine
            .pay(agreement_pay(&in_process, &binding.id, 93005))
            .await
            .expect("accepted");
        let pending = env
            .engine
            .pay(agreement_pay(&unknown, &binding.id, 92002))
            .await
            .expect("a pending view");
        assert!(pending.retry_after.is_some(), "{pending:?}");
        let reconciler = Env::reconcile(&env.engine);
        let ok = crate::harness::settled(&env, &in_process, Duration::from_secs(5)).await;
        let never_created = crate::harness::settled(&env, &unknown, Duration::from_secs(5)).await;
        reconciler.stop().await;
        assert_eq!(ok.status, PaymentStatus::Success, "[{backend}]");
        assert_eq!(
            env.stats()
                .request_calls("payments/inquiryPayment", &in_process),
            6,
            "[{backend}] 5 PROCESSING + SUCCESS"
        );
        assert_eq!(never_created.status, PaymentStatus::Fail, "[{backend}]");
        assert_eq!(never_created.result_code(), Some("ORDER_NOT_EXIST"));
    })
    .await;
}
