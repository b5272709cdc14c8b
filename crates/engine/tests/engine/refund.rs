//! Refunds: success, local REFUND_AMOUNT_EXCEED check, idempotent replay.

use alipay::model::{Amount, Scope};
use engine::{EngineError, OperationStatus, RefundCommand};

use crate::harness::{Env, agreement_pay, each_backend, new_id};

fn refund(id: &str, payment: &str, value: u64) -> RefundCommand {
    RefundCommand {
        refund_request_id: id.into(),
        payment_request_id: payment.into(),
        amount: Amount::new("PHP", value),
        reason: Some("customer asked".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_succeed_replay_and_cannot_exceed_the_payment() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let pay_id = new_id("pay-r");
        env.engine
            .pay(agreement_pay(&pay_id, &binding.id, 1000))
            .await
            .expect("pay");
        let first_id = new_id("ref");
        let first = env
            .engine
            .refund(refund(&first_id, &pay_id, 600))
            .await
            .expect("refund");
        assert_eq!(first.status, OperationStatus::Success, "[{backend}]");
        assert!(first.alipay_refund_id.is_some());
        let again = env
            .engine
            .refund(refund(&first_id, &pay_id, 600))
            .await
            .expect("replay");
        assert_eq!(again.id, first.id);
        assert!(matches!(
            env.engine.refund(refund(&first_id, &pay_id, 500)).await,
            Err(EngineError::RequestMismatch { .. })
        ));
        match env
            .engine
            .refund(refund(&new_id("ref"), &pay_id, 401))
            .await
        {
            Err(EngineError::IllegalState { reason, .. }) => {
                assert_eq!(reason, engine::reasons::REFUND_AMOUNT_EXCEED)
            }
            other => panic!("[{backend}] expected REFUND_AMOUNT_EXCEED, got {other:?}"),
        }
        let rest = env
            .engine
            .refund(refund(&new_id("ref"), &pay_id, 400))
            .await
            .expect("rest");
        assert_eq!(rest.status, OperationStatus::Success);
        assert_eq!(
            env.stats().endpoint_calls("payments/refund"),
            2,
            "replays and local declines never call Alipay"
        );
        let inquired = env.engine.inquire_refund(&first_id).await.expect("inquire");
        assert_eq!(inquired.status, OperationStatus::Success);
        assert!(matches!(
            env.engine
                .refund(refund(&new_id("ref"), "no-such-payment", 100))
                .await,
            Err(EngineError::NotFound { .. })
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaid_payments_are_not_refundable_and_totals_count_only_successful_refunds() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let processing = new_id("pay-proc");
        env.engine
            .pay(agreement_pay(&processing, &binding.id, 93200))
            .await
            .expect("accepted");
        match env
            .engine
            .refund(refund(&new_id("ref"), &processing, 100))
            .await
        {
            Err(EngineError::IllegalState { reason, .. }) => {
                assert_eq!(
                    reason,
                    engine::reasons::PAYMENT_NOT_REFUNDABLE,
                    "[{backend}]"
                )
            }
            other => panic!("[{backend}] expected PAYMENT_NOT_REFUNDABLE, got {other:?}"),
        }
        let paid_id = new_id("pay-tot");
        let paid = env
            .engine
            .pay(agreement_pay(&paid_id, &binding.id, 1000))
            .await
            .expect("pay");
        let none = env.engine.payment_totals(&paid.id).await.expect("totals");
        assert_eq!(none, engine::PaymentTotals::default());
        env.engine
            .refund(refund(&new_id("ref"), &paid_id, 300))
            .await
            .expect("refund");
        let totals = env.engine.payment_totals(&paid.id).await.expect("totals");
        assert_eq!((totals.refunded, totals.captured), (300, 0), "[{backend}]");
        assert!(
            matches!(
                env.engine.payment_totals(&paid_id).await,
                Err(EngineError::NotFound { .. })
            ),
            "the gateway id, not the request id"
        );
        assert_eq!(env.stats().endpoint_calls("payments/refund"), 1);
    })
    .await;
}
