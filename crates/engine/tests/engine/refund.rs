//! Refunds: success, local REFUND_AMOUNT_EXCEED check, idempotent replay, and the outcomes that are not immediate
//! (the sandbox's refund scenarios: 92001 unknown once, 930NN / 931NN REFUND_IN_PROCESS then SUCCESS / FAIL).

use alipay::model::{InquiryPaymentRequest, Scope, TransactionType};
use engine::{EngineError, OperationStatus, RefundCommand};

use crate::harness::{Env, agreement_pay, checked, each_backend, new_id, php, reconcile_refund};

/// What every scenario test pays: 1000.00 PHP, enough to refund any scenario amount, and not a scenario itself.
const PAID: u64 = 100_000;

fn refund(id: &str, payment: &str, value: u64) -> RefundCommand {
    RefundCommand {
        refund_request_id: checked(id),
        payment_request_id: checked(payment),
        amount: php(value),
        reason: Some(checked("customer asked")),
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
        assert_eq!(
            first.refund.operation.status,
            OperationStatus::Success,
            "[{backend}]"
        );
        assert!(first.refund.operation.alipay_id.is_some());
        let again = env
            .engine
            .refund(refund(&first_id, &pay_id, 600))
            .await
            .expect("replay");
        assert_eq!(again, first, "the replay is the recorded refund");
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
        assert_eq!(rest.refund.operation.status, OperationStatus::Success);
        assert_eq!(
            env.stats().endpoint_calls("payments/refund"),
            2,
            "replays and local declines never call Alipay"
        );
        let inquired = env.engine.inquire_refund(&first_id).await.expect("inquire");
        assert_eq!(inquired.refund.operation.status, OperationStatus::Success);
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
        assert_eq!(paid.totals, engine::PaymentTotals::default());
        env.engine
            .refund(refund(&new_id("ref"), &paid_id, 300))
            .await
            .expect("refund");
        let totals = env
            .engine
            .get_payment(&paid_id)
            .await
            .expect("payment")
            .totals;
        assert_eq!((totals.refunded, totals.captured), (300, 0), "[{backend}]");
        assert_eq!(env.stats().endpoint_calls("payments/refund"), 1);
    })
    .await;
}

/// Pays [`PAID`] with a fresh binding; returns the payment request id.
async fn paid(env: &Env) -> String {
    let binding = env.bind(vec![Scope::AgreementPay]).await;
    let pay_id = new_id("pay-r");
    let payment = env
        .engine
        .pay(agreement_pay(&pay_id, &binding.id, PAID))
        .await
        .expect("pay");
    assert_eq!(payment.payment.status, engine::PaymentStatus::Success);
    pay_id
}

/// What the engine counts as refunded of a payment (its SUCCESS refunds).
async fn refunded(env: &Env, pay_id: &str) -> i64 {
    env.engine
        .get_payment(pay_id)
        .await
        .expect("payment")
        .totals
        .refunded
}

/// The payment's REFUND transactions as Alipay (the sandbox) records them, read with a live inquiryPayment.
async fn refunds_at_alipay(env: &Env, pay_id: &str) -> usize {
    let reply = crate::harness::client(&env.sandbox)
        .inquiry_payment(&InquiryPaymentRequest::by_request_id(pay_id))
        .await
        .expect("inquiryPayment");
    reply
        .body
        .transactions
        .unwrap_or_default()
        .iter()
        .filter(|t| t.transaction_type == TransactionType::Refund)
        .count()
}

/// A refund Alipay answers U REFUND_IN_PROCESS: the engine returns it PROCESSING, as accepted, not as an error.
async fn accepted(env: &Env, refund_id: &str, pay_id: &str, value: u64) -> engine::RefundRecord {
    let refund = env
        .engine
        .refund(refund(refund_id, pay_id, value))
        .await
        .expect("accepted");
    assert_eq!(refund.refund.operation.status, OperationStatus::Processing);
    assert_eq!(
        refund.refund.operation.result_code(),
        Some("REFUND_IN_PROCESS")
    );
    assert!(refund.retry_after.is_none(), "accepted, not pending");
    refund.refund
}

fn refused_locally(result: Result<engine::RefundView, EngineError>) -> &'static str {
    match result {
        Err(EngineError::IllegalState { reason, .. }) => reason,
        other => panic!("expected a local refusal, got {other:?}"),
    }
}

/// Alipay accepts a 930NN refund with U REFUND_IN_PROCESS: the caller gets it back PROCESSING (not an error), the
/// reconciler's INQUIRE_REFUND job settles it, and the refund request itself reaches Alipay exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_process_refund_is_accepted_then_settled_by_the_reconciler() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let pay_id = paid(&env).await;
        let refund_id = new_id("ref-930");
        let accepted = accepted(&env, &refund_id, &pay_id, 93002).await;
        assert!(accepted.operation.alipay_id.is_some(), "[{backend}]");
        let replay = env
            .engine
            .refund(refund(&refund_id, &pay_id, 93002))
            .await
            .expect("replay while processing");
        assert_eq!(
            (
                replay.refund.operation.request_id.as_str(),
                replay.refund.operation.status
            ),
            (
                accepted.operation.request_id.as_str(),
                OperationStatus::Processing
            )
        );
        assert_eq!(
            refunded(&env, &pay_id).await,
            0,
            "[{backend}] a pending refund moved no money yet"
        );

        let settled = reconcile_refund(&env, &refund_id).await;
        assert_eq!(settled.status, OperationStatus::Success, "[{backend}]");
        assert_eq!(settled.refund_request_id, accepted.operation.request_id);
        assert_eq!(
            refunded(&env, &pay_id).await,
            93002,
            "[{backend}] counted once"
        );
        let stats = env.stats();
        assert_eq!(
            stats.request_calls("payments/refund", &refund_id),
            1,
            "[{backend}] the replay and the inquiries never re-send the refund"
        );
        assert!(
            stats.request_calls("payments/inquiryRefund", &refund_id) >= 3,
            "[{backend}] 2 PROCESSING answers, then SUCCESS"
        );
        assert_eq!(refunds_at_alipay(&env, &pay_id).await, 1);
    })
    .await;
}

/// A 931NN refund is accepted, then Alipay reports it FAIL: the refund ends FAIL with the result recorded, a replay
/// of it is declined with that code, and its amount is refundable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_that_fails_after_processing_frees_its_amount() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let pay_id = paid(&env).await;
        let refund_id = new_id("ref-931");
        accepted(&env, &refund_id, &pay_id, 93102).await;
        let failed = reconcile_refund(&env, &refund_id).await;
        assert_eq!(failed.status, OperationStatus::Fail, "[{backend}]");
        assert_eq!(failed.last_result_status, Some(engine::ResultStatus::Fail));
        // inquiryRefund only says FAIL: the reason is Alipay's, from the refund's entry in inquiryPayment.
        assert_eq!(failed.last_result_code.as_deref(), Some("PROCESS_FAIL"));
        let reason = failed.last_result_message.clone().unwrap_or_default();
        assert!(
            reason.contains("general business failure"),
            "[{backend}] Alipay's message, not a placeholder: {reason:?}"
        );
        assert!(
            env.stats()
                .request_calls("payments/inquiryPayment", &pay_id)
                >= 1
        );
        match env.engine.refund(refund(&refund_id, &pay_id, 93102)).await {
            Err(EngineError::Declined { code, message }) => {
                assert_eq!(code, "PROCESS_FAIL", "[{backend}]");
                assert_eq!(message, reason);
            }
            other => panic!("[{backend}] expected the recorded decline, got {other:?}"),
        }
        assert!(
            env.stats()
                .request_calls("payments/inquiryRefund", &refund_id)
                >= 3,
            "[{backend}] 2 PROCESSING answers, then FAIL"
        );

        // The whole payment only fits if the failed refund no longer counts. (Refunding 93102 again would act out
        // the 931NN scenario once more.)
        let whole = env
            .engine
            .refund(refund(&new_id("ref-all"), &pay_id, PAID))
            .await
            .expect("the failed amount is refundable again");
        assert_eq!(
            whole.refund.operation.status,
            OperationStatus::Success,
            "[{backend}]"
        );
        assert_eq!(
            refunded(&env, &pay_id).await,
            i64::try_from(PAID).expect("fits"),
            "[{backend}]"
        );
        assert_eq!(env.stats().request_calls("payments/refund", &refund_id), 1);
    })
    .await;
}

/// 92001: the first refund attempt is answered U UNKNOWN_EXCEPTION with nothing recorded; the engine's bounded
/// same-id retry gets the S. Two refund calls, one refund.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_refund_outcome_is_retried_with_the_same_id() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let pay_id = paid(&env).await;
        let refund_id = new_id("ref-920");
        let done = env
            .engine
            .refund(refund(&refund_id, &pay_id, 92001))
            .await
            .expect("refund");
        assert_eq!(
            done.refund.operation.status,
            OperationStatus::Success,
            "[{backend}]"
        );
        assert_eq!(
            env.stats().request_calls("payments/refund", &refund_id),
            2,
            "[{backend}] U, then the same refundRequestId again"
        );
        assert_eq!(env.stats().endpoint_calls("payments/refund"), 2);
        let payment = env
            .store
            .payments()
            .get_by_request_id(&pay_id)
            .await
            .expect("read")
            .expect("payment");
        let stored = env
            .store
            .refunds()
            .list_for_payment(&payment.id)
            .await
            .expect("refunds");
        assert_eq!(stored.len(), 1, "[{backend}]");
        assert_eq!(refunds_at_alipay(&env, &pay_id).await, 1, "[{backend}]");
        assert_eq!(refunded(&env, &pay_id).await, 92001);
    })
    .await;
}

/// A PROCESSING refund holds its amount: a second refund that would exceed the payment is refused by the engine
/// itself, without calling Alipay; the exact remainder still goes through (and Alipay, which counts the pending
/// refund too, agrees).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_refund_counts_toward_the_refund_ceiling() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let pay_id = paid(&env).await;
        accepted(&env, &new_id("ref-930"), &pay_id, 93050).await;
        let calls_before = env.stats().endpoint_calls("payments/refund");
        let too_much = new_id("ref-over");
        assert_eq!(
            refused_locally(env.engine.refund(refund(&too_much, &pay_id, 6951)).await),
            engine::reasons::REFUND_AMOUNT_EXCEED,
            "[{backend}]"
        );
        assert_eq!(env.stats().request_calls("payments/refund", &too_much), 0);
        assert_eq!(
            env.stats().endpoint_calls("payments/refund"),
            calls_before,
            "[{backend}] refused without an Alipay call"
        );
        let rest = env
            .engine
            .refund(refund(&new_id("ref-rest"), &pay_id, 6950))
            .await
            .expect("the exact remainder");
        assert_eq!(
            rest.refund.operation.status,
            OperationStatus::Success,
            "[{backend}]"
        );
    })
    .await;
}
