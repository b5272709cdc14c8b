//! Unknown outcomes end to end: PROCESSING payments reconciled to their final state, payments that never resolve
//! cancelled, lost answers retried with the same request id (charged once), a gateway killed with SIGKILL while a
//! pay call is in flight, and 50 concurrent duplicates producing one Alipay call.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;

const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_payments_are_reconciled_or_cancelled() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let options = GatewayOptions {
            max_inquiries: 6,
            ..GatewayOptions::default()
        };
        let gateway = GatewayProcess::start(&db, &sandbox, &options);
        let binding = bind_wallet(&gateway, "customer-reconcile").await;
        let mut payments = gateway.payments().await;

        // (amount, final status): 93003 succeeds after 3 PROCESSING inquiries, 93102 fails after 2, 93200 never
        // resolves and is cancelled once the inquiries run out.
        let cases = [
            (93003, pb::PaymentStatus::Success),
            (93102, pb::PaymentStatus::Fail),
            (93200, pb::PaymentStatus::Cancelled),
        ];
        let mut ids = Vec::new();
        for (value, _) in cases {
            let id = request_id(&format!("u{value}"));
            let answer = payments
                .pay(agreement_pay(&id, &binding.binding_id, value))
                .await
                .unwrap_or_else(|s| {
                    panic!(
                        "{value}: an unknown outcome is not an error: {s:?}\n{}",
                        gateway.log()
                    )
                })
                .into_inner()
                .payment
                .expect("payment");
            assert_eq!(
                answer.status,
                pb::PaymentStatus::Processing as i32,
                "{value}: {answer:?}"
            );
            ids.push(id);
        }
        for ((value, status), id) in cases.iter().zip(&ids) {
            let done = wait_for_status(&gateway, id, *status, DEADLINE).await;
            assert_eq!(
                sandbox.stats().charges_for(id),
                1,
                "{value}: one payment at Alipay"
            );
            if *status == pb::PaymentStatus::Fail {
                assert_eq!(
                    done.last_alipay_result.expect("result").result_code,
                    "USER_BALANCE_NOT_ENOUGH"
                );
            }
        }
        assert!(
            sandbox.stats().endpoint_calls("payments/cancel") >= 1,
            "the unresolved payment was cancelled"
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_pay_is_retried_with_the_same_id_and_charged_once() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(5)).await;
        let options = GatewayOptions {
            request_timeout: "500ms",
            write_ahead_grace: "3s",
            ..GatewayOptions::default()
        };
        let gateway = GatewayProcess::start(&db, &sandbox, &options);
        let binding = bind_wallet(&gateway, "customer-slow").await;
        let id = request_id("slow");
        let answer = gateway
            .payments()
            .await
            .pay(agreement_pay(&id, &binding.binding_id, 94001))
            .await
            .unwrap_or_else(|s| panic!("pay: {s:?}\n{}", gateway.log()))
            .into_inner()
            .payment
            .expect("payment");
        if answer.status != pb::PaymentStatus::Success as i32 {
            wait_for_status(&gateway, &id, pb::PaymentStatus::Success, DEADLINE).await;
        }
        let stats = sandbox.stats();
        assert!(
            stats.request_calls("payments/pay", &id) >= 2,
            "the lost answer was retried: {stats:?}"
        );
        assert_eq!(stats.charges_for(&id), 1, "charged exactly once");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_call_finishes_the_payment_after_restart() {
    for_each_backend(|db| async move {
        // The sandbox runs here, so it outlives the killed gateway and keeps the charge.
        let sandbox = start_sandbox(Duration::from_secs(20)).await;
        let options = GatewayOptions {
            request_timeout: "3s",
            call_attempts: 1,
            write_ahead_grace: "3s",
            ..GatewayOptions::default()
        };
        let gateway = GatewayProcess::start(&db, &sandbox, &options);
        let binding = bind_wallet(&gateway, "customer-crash").await;
        let id = request_id("crash");
        let mut client = gateway.payments().await;
        let request = agreement_pay(&id, &binding.binding_id, 94001);
        let in_flight = tokio::spawn(async move { client.pay(request).await });

        // Wait for the write-ahead row and for Alipay to have the request, then pull the plug.
        let store = db.store().await;
        eventually("the write-ahead payment row", DEADLINE, || {
            let store = store.clone();
            let id = id.clone();
            async move { store.payments().get_by_request_id(&id).await.ok().flatten() }
        })
        .await;
        eventually("the pay call to reach the sandbox", DEADLINE, || {
            let charged = sandbox.stats().charges_for(&id) == 1;
            async move { charged.then_some(()) }
        })
        .await;
        gateway.kill_hard();
        assert!(
            in_flight.await.expect("join").is_err(),
            "the caller saw the connection die"
        );
        let row = store
            .payments()
            .get_by_request_id(&id)
            .await
            .expect("read")
            .expect("row survives");
        assert_eq!(
            row.status,
            store::PaymentStatus::Created,
            "nothing was concluded before the crash"
        );

        let restarted = GatewayProcess::start(&db, &sandbox, &options);
        let done = wait_for_status(&restarted, &id, pb::PaymentStatus::Success, DEADLINE).await;
        assert!(!done.payment_id.is_empty());
        assert_eq!(sandbox.stats().charges_for(&id), 1, "charged exactly once");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_identical_pays_make_one_alipay_call() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let binding = bind_wallet(&gateway, "customer-burst").await;
        let id = request_id("burst");
        let client = gateway.payments().await;
        let started = std::time::Instant::now();
        let calls: Vec<_> = (0..50)
            .map(|_| {
                let mut client = client.clone();
                let request = agreement_pay(&id, &binding.binding_id, 1500);
                tokio::spawn(async move { client.pay(request).await })
            })
            .collect();
        let mut payment_ids = std::collections::BTreeSet::new();
        for call in calls {
            let payment = call
                .await
                .expect("join")
                .expect("every duplicate succeeds")
                .into_inner()
                .payment
                .expect("payment");
            assert_eq!(payment.status, pb::PaymentStatus::Success as i32);
            payment_ids.insert(payment.payment_id);
        }
        eprintln!(
            "50 concurrent identical pays on {}: {:?}",
            db.backend,
            started.elapsed()
        );
        assert_eq!(payment_ids.len(), 1, "one payment: {payment_ids:?}");
        let stats = sandbox.stats();
        assert_eq!(stats.request_calls("payments/pay", &id), 1, "{stats:?}");
        assert_eq!(stats.charges_for(&id), 1);
        sandbox.shutdown().await;
    })
    .await;
}
