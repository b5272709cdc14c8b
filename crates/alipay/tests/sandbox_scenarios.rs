//! The brief's test-data scenarios (chosen by `paymentAmount.value`), each driven through the real client and
//! sandbox: F codes, U codes with retry, in-process payments with inquiry, and the transport failures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::Duration;

use alipay::model::*;
use alipay::{CallError, Outcome, ResultCode, SignatureError};
use common::*;
use sandbox::SandboxConfig;

#[tokio::test]
async fn f_scenarios_give_their_codes_and_charge_nothing_twice() {
    let env = start().await;
    let (token, _) = bind_wallet(&env.client, "state-f").await;
    let cases = [
        (91001, ResultCode::UserBalanceNotEnough),
        (91002, ResultCode::RiskReject),
        (91003, ResultCode::UserAmountExceedLimit),
        (91004, ResultCode::PaymentAmountExceedLimit),
        (91005, ResultCode::PaymentCountExceedLimit),
        (91006, ResultCode::UserStatusAbnormal),
        (91007, ResultCode::UserNotExist),
        (91008, ResultCode::ProcessFail),
    ];
    for (value, expected) in cases {
        let id = format!("f-{value}");
        let reply = env
            .client
            .pay(&agreement_pay(&id, value, &token))
            .await
            .unwrap();
        match &reply.outcome {
            Outcome::Failed { code, .. } => assert_eq!(code, &expected, "{value}"),
            other => panic!("{value}: expected F, got {other:?}"),
        }
        assert!(env.sandbox.stats().charges_for(&id) <= 1);
    }
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn u_on_first_attempt_then_success_on_retry() {
    let env = start().await;
    let (token, _) = bind_wallet(&env.client, "state-u").await;
    for (value, code) in [
        (92001, ResultCode::UnknownException),
        (92003, ResultCode::RequestTrafficExceedLimit),
    ] {
        let id = format!("u-{value}");
        let request = agreement_pay(&id, value, &token);
        let first = env.client.pay(&request).await.unwrap();
        assert_eq!(
            first.outcome,
            Outcome::Unknown {
                code: code.clone(),
                message: first.body.result.result_message.clone().unwrap_or_default()
            },
            "{value}"
        );
        let retry = env.client.pay(&request).await.unwrap();
        assert_eq!(retry.outcome, Outcome::Success, "{value}");
        assert_eq!(env.sandbox.stats().charges_for(&id), 1, "{value}");
        assert_eq!(env.sandbox.stats().request_calls("payments/pay", &id), 2);
    }
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn always_unknown_creates_nothing() {
    let env = start().await;
    let (token, _) = bind_wallet(&env.client, "state-u2").await;
    let request = agreement_pay("u-92002", 92002, &token);
    for _ in 0..2 {
        let reply = env.client.pay(&request).await.unwrap();
        assert!(
            matches!(
                &reply.outcome,
                Outcome::Unknown {
                    code: ResultCode::UnknownException,
                    ..
                }
            ),
            "{:?}",
            reply.outcome
        );
    }
    let inquiry = env
        .client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("u-92002"))
        .await
        .unwrap();
    assert!(matches!(
        &inquiry.outcome,
        Outcome::Failed {
            code: ResultCode::OrderNotExist,
            ..
        }
    ));
    assert_eq!(env.sandbox.stats().charges_for("u-92002"), 0);
    env.sandbox.shutdown().await;
}

async fn inquire_until_final(env: &TestEnv, id: &str) -> (InquiryPaymentResponse, usize) {
    for processing in 0..20 {
        let reply = env
            .client
            .inquiry_payment(&InquiryPaymentRequest::by_request_id(id))
            .await
            .unwrap();
        assert_eq!(
            reply.outcome,
            Outcome::Success,
            "the inquiry itself succeeds"
        );
        if reply.body.payment_status != Some(PaymentStatus::Processing) {
            return (reply.body, processing);
        }
    }
    panic!("{id} never left PROCESSING");
}

#[tokio::test]
async fn in_process_then_success_or_fail_after_n_inquiries() {
    let env = start().await;
    let (token, _) = bind_wallet(&env.client, "state-ip").await;

    let pay = env
        .client
        .pay(&agreement_pay("ip-93002", 93002, &token))
        .await
        .unwrap();
    assert_eq!(pay.outcome, Outcome::InProcess);
    let (final_state, processing) = inquire_until_final(&env, "ip-93002").await;
    assert_eq!(processing, 2);
    assert_eq!(final_state.payment_status, Some(PaymentStatus::Success));

    let pay = env
        .client
        .pay(&agreement_pay("ip-93101", 93101, &token))
        .await
        .unwrap();
    assert_eq!(pay.outcome, Outcome::InProcess);
    let (final_state, processing) = inquire_until_final(&env, "ip-93101").await;
    assert_eq!(processing, 1);
    assert_eq!(final_state.payment_status, Some(PaymentStatus::Fail));
    assert_eq!(
        final_state.payment_result_code,
        Some(ResultCode::UserBalanceNotEnough)
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn processing_forever_until_cancelled() {
    let env = start().await;
    let (token, _) = bind_wallet(&env.client, "state-cancel").await;
    let pay = env
        .client
        .pay(&agreement_pay("ip-93200", 93200, &token))
        .await
        .unwrap();
    assert_eq!(pay.outcome, Outcome::InProcess);
    for _ in 0..3 {
        let inquiry = env
            .client
            .inquiry_payment(&InquiryPaymentRequest::by_request_id("ip-93200"))
            .await
            .unwrap();
        assert_eq!(inquiry.body.payment_status, Some(PaymentStatus::Processing));
    }
    let cancel = env
        .client
        .cancel(&CancelRequest::by_request_id("ip-93200"))
        .await
        .unwrap();
    assert_eq!(cancel.outcome, Outcome::Success);
    assert_eq!(cancel.body.payment_request_id.as_deref(), Some("ip-93200"));
    let inquiry = env
        .client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("ip-93200"))
        .await
        .unwrap();
    assert_eq!(inquiry.body.payment_status, Some(PaymentStatus::Cancelled));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn slow_answer_is_a_timeout_with_unknown_outcome_and_the_retry_gets_the_result() {
    let env =
        start_with(SandboxConfig::development().with_slow_response(Duration::from_secs(5))).await;
    let (token, _) = bind_wallet(&env.client, "state-slow").await;
    let request = agreement_pay("slow-94001", 94001, &token);
    let impatient = env.client.with_request_timeout(Duration::from_millis(500));
    let err = impatient.pay(&request).await.unwrap_err();
    assert!(
        matches!(err, CallError::Timeout(d) if d == Duration::from_millis(500)),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    let retry = env.client.pay(&request).await.unwrap();
    assert_eq!(retry.outcome, Outcome::Success);
    assert_eq!(env.sandbox.stats().charges_for("slow-94001"), 1);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn dropped_connection_is_unknown_and_the_retry_gets_the_result() {
    let env = start().await;
    let (token, _) = bind_wallet(&env.client, "state-drop").await;
    let request = agreement_pay("drop-94002", 94002, &token);
    let err = env.client.pay(&request).await.unwrap_err();
    assert!(matches!(err, CallError::Transport(_)), "{err:?}");
    assert!(err.outcome_unknown());
    let retry = env.client.pay(&request).await.unwrap();
    assert_eq!(retry.outcome, Outcome::Success);
    assert_eq!(env.sandbox.stats().charges_for("drop-94002"), 1);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_response_signature_is_unknown_and_inquiry_tells_the_truth() {
    let env = start().await;
    let (token, _) = bind_wallet(&env.client, "state-badsig").await;
    let err = env
        .client
        .pay(&agreement_pay("badsig-94003", 94003, &token))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Signature(SignatureError::Invalid)),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    let inquiry = env
        .client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("badsig-94003"))
        .await
        .unwrap();
    assert_eq!(inquiry.body.payment_status, Some(PaymentStatus::Success));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn refused_connection_is_known_not_sent() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = start().await;
    let mut config = client_config(&env.sandbox);
    config.base_url = format!("http://127.0.0.1:{port}");
    let client = alipay::AlipayClient::new(config).unwrap();
    let err = client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Connect(_)), "{err:?}");
    assert!(!err.outcome_unknown());
    env.sandbox.shutdown().await;
}
