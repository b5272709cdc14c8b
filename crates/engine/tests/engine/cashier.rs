//! Cashier payments: PAYMENT_IN_PROCESS with the cashier URL, the buyer acting on the sandbox cashier page, the
//! reconciler learning the result, and the automatic refund of a payment that succeeded after its cancel was refused.

use std::time::Duration;

use engine::{OperationStatus, PaymentStatus, auto_refund_request_id};
use store::jobs::JobKind;

use crate::harness::{
    Env, cashier_pay, each_backend, eventually, fast_config, new_id, press_cashier_button,
    sandbox_config, settled, stored_id,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cashier_payment_without_env_or_os_is_refused_before_alipay() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let mut no_env = cashier_pay(&new_id("pay-cashier"), 1000);
        no_env.env = None;
        let mut app_without_os = cashier_pay(&new_id("pay-cashier"), 1000);
        app_without_os.env = Some(alipay::model::Env::new(alipay::model::TerminalType::App));
        for (cmd, field) in [
            (no_env, "cashier.env"),
            (app_without_os, "cashier.env.os_type"),
        ] {
            match env.engine.pay(cmd).await {
                Err(engine::EngineError::InvalidArgument(v)) => {
                    assert_eq!(v.len(), 1, "[{backend}] {v:?}");
                    assert_eq!(v[0].field, field);
                }
                other => panic!("[{backend}] expected InvalidArgument, got {other:?}"),
            }
        }
        assert_eq!(env.stats().endpoint_calls("payments/pay"), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buyer_pays_or_fails_on_the_cashier_page_and_the_reconciler_learns_it() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        for (action, expected) in [
            ("pay", PaymentStatus::Success),
            ("fail", PaymentStatus::Fail),
        ] {
            let id = new_id("pay-cashier");
            let accepted = env.engine.pay(cashier_pay(&id, 1000)).await.expect("pay");
            assert_eq!(
                accepted.payment.status,
                PaymentStatus::Processing,
                "[{backend}]"
            );
            assert_eq!(accepted.payment.result_code(), Some("PAYMENT_IN_PROCESS"));
            assert_eq!(
                press_cashier_button(&accepted, action).await,
                303,
                "[{backend}]"
            );

            let reconciler = Env::reconcile(&env.engine);
            let done = settled(&env, &id, Duration::from_secs(10)).await;
            reconciler.stop().await;
            assert_eq!(done.status, expected, "[{backend}] {action}");
            assert!(
                done.next_action.is_none(),
                "nothing left for the buyer to do"
            );
            if expected == PaymentStatus::Fail {
                assert_eq!(done.result_code(), Some("PROCESS_FAIL"));
            } else {
                assert!(done.payment_time.is_some());
            }
            let stats = env.stats();
            assert_eq!(stats.request_calls("payments/pay", &id), 1);
            assert!(stats.request_calls("payments/inquiryPayment", &id) >= 1);
            assert_eq!(stats.request_calls("payments/cancel", &id), 0);
        }
    })
    .await;
}

/// Nobody pays on the cashier page, its (short) buyer window passes, and the cancel is refused (the sandbox's cancel
/// window is zero). The reconciler then waits for a final status; when the buyer pays after all, it refunds the full
/// amount with the deterministic auto-refund id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_that_succeeds_after_a_refused_cancel_is_refunded_automatically() {
    each_backend(|backend, url| async move {
        let config = engine::EngineConfig {
            max_inquiries: 3,
            max_job_attempts: 10_000,
            buyer_action_window: Duration::from_millis(300),
            buyer_action_grace: Duration::ZERO,
            ..fast_config()
        };
        let env = Env::with(
            &url,
            sandbox_config().with_cancel_window(Duration::ZERO),
            config,
        )
        .await;
        let id = new_id("pay-late");
        let accepted = env.engine.pay(cashier_pay(&id, 2500)).await.expect("pay");
        assert_eq!(accepted.payment.status, PaymentStatus::Processing);
        let reconciler = Env::reconcile(&env.engine);

        // The refused cancel hands the payment to a REFUND_PAYMENT job.
        let stored = stored_id(&env, &id).await;
        eventually(
            Duration::from_secs(10),
            "the REFUND_PAYMENT job",
            || async {
                env.store
                    .jobs()
                    .find_active(JobKind::RefundPayment, &stored)
                    .await
                    .ok()
                    .flatten()
            },
        )
        .await;
        assert_eq!(env.stats().request_calls("payments/cancel", &id), 1);
        let waiting = env.engine.get_payment(&id).await.expect("payment");
        assert_eq!(
            waiting.payment.status,
            PaymentStatus::Processing,
            "[{backend}] cancel was refused"
        );
        assert_eq!(
            env.stats().endpoint_calls("payments/refund"),
            0,
            "[{backend}] nothing is refunded before the payment succeeded"
        );

        assert_eq!(press_cashier_button(&accepted, "pay").await, 303);
        let refund_id = auto_refund_request_id(&id);
        let refund = eventually(Duration::from_secs(10), "the automatic refund", || async {
            let refund = env
                .store
                .refunds()
                .get_by_request_id(&refund_id)
                .await
                .ok()
                .flatten()?;
            (refund.status == OperationStatus::Success).then_some(refund)
        })
        .await;
        reconciler.stop().await;
        assert_eq!(refund.amount_value, 2500, "[{backend}] full amount");
        assert_eq!(refund.payment_id, stored);
        let paid = env.engine.get_payment(&id).await.expect("payment");
        assert_eq!(paid.payment.status, PaymentStatus::Success, "[{backend}]");
        assert_eq!(paid.totals.refunded, 2500);
        let stats = env.stats();
        assert_eq!(
            stats.request_calls("payments/refund", &refund_id),
            1,
            "[{backend}]"
        );
        assert_eq!(stats.endpoint_calls("payments/refund"), 1);
        assert_eq!(stats.charges_for(&id), 1);
    })
    .await;
}
