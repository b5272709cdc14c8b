//! Captures of manual-capture authorizations: success, idempotent replay, mismatch, the local over-capture check,
//! and refusals for payments that cannot be captured — all before Alipay where the rules allow.

use alipay::model::{CaptureMode, Scope};
use engine::{CaptureCommand, EngineError, OperationStatus, PaymentStatus, RefundCommand, reasons};

use crate::harness::{Env, agreement_pay, checked, each_backend, new_id, php};

fn capture(id: &str, payment: &str, value: u64, last: bool) -> CaptureCommand {
    CaptureCommand {
        capture_request_id: checked(id),
        payment_request_id: checked(payment),
        amount: php(value),
        is_last_capture: last,
    }
}

/// Binds a wallet and authorizes `value` with manual capture; returns the payment request id and the payment.
async fn authorize(env: &Env, value: u64) -> (String, engine::PaymentRecord) {
    let binding = env.bind(vec![Scope::AgreementPay]).await;
    let pay_id = new_id("pay-auth");
    let mut authorize = agreement_pay(&pay_id, &binding.id, value);
    authorize.is_authorization = true;
    authorize.capture_mode = Some(CaptureMode::Manual);
    let authorized = env.engine.pay(authorize).await.expect("authorize");
    (pay_id, authorized.payment)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_captures_succeed_replay_and_cannot_exceed_the_authorization() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let (pay_id, authorized) = authorize(&env, 1000).await;
        assert_eq!(authorized.status, PaymentStatus::Success, "[{backend}]");
        assert!(authorized.is_authorization);
        assert_eq!(authorized.capture_mode, Some(engine::CaptureMode::Manual));

        let first_id = new_id("cap");
        let first = env
            .engine
            .capture(capture(&first_id, &pay_id, 600, false))
            .await
            .expect("capture");
        assert_eq!(
            first.capture.operation.status,
            OperationStatus::Success,
            "[{backend}]"
        );
        assert!(first.capture.operation.alipay_id.is_some());
        let again = env
            .engine
            .capture(capture(&first_id, &pay_id, 600, false))
            .await
            .expect("replay");
        assert_eq!(again, first, "the replay is the recorded capture");
        assert!(matches!(
            env.engine.capture(capture(&first_id, &pay_id, 500, false)).await,
            Err(EngineError::RequestMismatch { request_id }) if request_id == first_id
        ));
        match env
            .engine
            .capture(capture(&new_id("cap"), &pay_id, 401, true))
            .await
        {
            Err(EngineError::IllegalState { reason, .. }) => {
                assert_eq!(reason, reasons::CAPTURE_AMOUNT_EXCEED, "[{backend}]")
            }
            other => panic!("[{backend}] expected CAPTURE_AMOUNT_EXCEED, got {other:?}"),
        }
        let rest = env
            .engine
            .capture(capture(&new_id("cap"), &pay_id, 400, true))
            .await
            .expect("rest");
        assert_eq!(rest.capture.operation.status, OperationStatus::Success);
        assert_eq!(
            env.stats().endpoint_calls("payments/capture"),
            2,
            "[{backend}] replays, mismatches and local refusals never call Alipay"
        );
        let totals = env
            .engine
            .get_payment(&pay_id)
            .await
            .expect("payment")
            .totals;
        assert_eq!(
            totals,
            engine::PaymentTotals {
                refunded: 0,
                captured: 1000
            }
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_and_unfinished_payments_are_not_capturable() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let sale_id = new_id("pay-sale");
        env.engine
            .pay(agreement_pay(&sale_id, &binding.id, 1000))
            .await
            .expect("sale");
        let processing_id = new_id("pay-proc");
        let mut processing = agreement_pay(&processing_id, &binding.id, 93200);
        processing.is_authorization = true;
        processing.capture_mode = Some(CaptureMode::Manual);
        env.engine.pay(processing).await.expect("accepted");
        for pay_id in [&sale_id, &processing_id] {
            match env
                .engine
                .capture(capture(&new_id("cap"), pay_id, 100, true))
                .await
            {
                Err(EngineError::IllegalState { reason, .. }) => {
                    assert_eq!(reason, reasons::PAYMENT_NOT_CAPTURABLE, "[{backend}]")
                }
                other => panic!("[{backend}] expected PAYMENT_NOT_CAPTURABLE, got {other:?}"),
            }
        }
        let mut mode_without_authorization = agreement_pay(&new_id("pay-mode"), &binding.id, 1000);
        mode_without_authorization.capture_mode = Some(CaptureMode::Manual);
        match env.engine.pay(mode_without_authorization).await {
            Err(EngineError::InvalidArgument(v)) => assert_eq!(v[0].field, "capture_mode"),
            other => panic!("[{backend}] expected InvalidArgument, got {other:?}"),
        }
        assert_eq!(env.stats().endpoint_calls("payments/capture"), 0);
        assert_eq!(env.stats().endpoint_calls("payments/pay"), 2);
    })
    .await;
}

/// A manual-capture authorization moved only what was captured, so that is all a refund may return: nothing
/// before the first capture (the authorization is cancelled instead), and at most the captured sum after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_of_a_manual_authorization_are_capped_at_what_was_captured() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let (pay_id, _) = authorize(&env, 1000).await;
        let refund = |value: u64| RefundCommand {
            refund_request_id: checked(&new_id("refund")),
            payment_request_id: checked(&pay_id),
            amount: php(value),
            reason: None,
        };
        let refused = |result: Result<engine::RefundView, EngineError>| match result {
            Err(EngineError::IllegalState { reason, .. }) => reason,
            other => panic!("[{backend}] expected a refusal, got {other:?}"),
        };

        assert_eq!(
            refused(env.engine.refund(refund(100)).await),
            reasons::PAYMENT_NOT_REFUNDABLE,
            "[{backend}] nothing captured yet"
        );
        env.engine
            .capture(capture(&new_id("cap"), &pay_id, 600, false))
            .await
            .expect("capture");
        assert_eq!(
            refused(env.engine.refund(refund(601)).await),
            reasons::REFUND_AMOUNT_EXCEED,
            "[{backend}] more than captured"
        );
        let refunded = env.engine.refund(refund(600)).await.expect("refund");
        assert_eq!(
            refunded.refund.operation.status,
            OperationStatus::Success,
            "[{backend}]"
        );
        assert_eq!(
            env.stats().endpoint_calls("payments/refund"),
            1,
            "[{backend}] refusals never reach Alipay"
        );
    })
    .await;
}
