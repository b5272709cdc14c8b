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
            Err(EngineError::Declined { code, .. }) => assert_eq!(code, "REFUND_AMOUNT_EXCEED"),
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
