//! Concurrent duplicates: exactly one Alipay pay call, whether the duplicates share an engine or not.

use alipay::model::Scope;
use engine::PaymentStatus;

use crate::harness::{Env, agreement_pay, each_backend, fast_config, new_id};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_identical_pays_make_one_alipay_call() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let other_replica = env.replica(fast_config());
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let id = new_id("pay-dup");
        let mut tasks = Vec::new();
        for i in 0..50 {
            let engine = if i % 2 == 0 {
                env.engine.clone()
            } else {
                other_replica.clone()
            };
            let cmd = agreement_pay(&id, &binding.id, 1000);
            tasks.push(tokio::spawn(async move { engine.pay(cmd).await }));
        }
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            let paid = task.await.expect("task").expect("pay");
            assert_eq!(paid.payment.status, PaymentStatus::Success, "[{backend}]");
            ids.insert(paid.payment.created_at);
        }
        assert_eq!(ids.len(), 1, "one payment record");
        let stats = env.stats();
        assert_eq!(
            stats.request_calls("payments/pay", &id),
            1,
            "[{backend}] exactly one Alipay pay call"
        );
        assert_eq!(stats.charges_for(&id), 1);
    })
    .await;
}

/// A duplicate of a pay call still on the wire in this process answers UNAVAILABLE within its retry hint instead of
/// queueing behind the original for the length of its (slow) call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_of_an_in_flight_pay_answers_pending_without_waiting_for_it() {
    each_backend(|backend, url| async move {
        let config = engine::EngineConfig {
            duplicate_wait: std::time::Duration::from_millis(100),
            ..fast_config()
        };
        let env = Env::with(&url, crate::harness::sandbox_config(), config).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let id = new_id("pay-slow-dup");
        // Scenario 94001 answers after 2 s, past the client timeout: the original retries for about a second.
        let original = {
            let engine = env.engine.clone();
            let cmd = agreement_pay(&id, &binding.id, 94001);
            tokio::spawn(async move { engine.pay(cmd).await })
        };
        crate::harness::intent_written(&env, &id).await;
        let duplicate = env.engine.pay(agreement_pay(&id, &binding.id, 94001)).await;
        assert!(
            matches!(duplicate, Err(engine::EngineError::Unavailable { .. })),
            "[{backend}] {duplicate:?}"
        );
        assert!(
            !original.is_finished(),
            "[{backend}] answered before the original's call ended"
        );
        let _ = original.await.expect("original task");
        assert_eq!(env.stats().charges_for(&id), 1, "[{backend}] charged once");
    })
    .await;
}
