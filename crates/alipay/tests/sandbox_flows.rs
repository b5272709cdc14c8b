//! Every endpoint against the real sandbox over loopback HTTP with real signatures: the happy paths, the
//! auth-token lifecycle, after-payment operations and the naturally arising failures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use alipay::model::*;
use alipay::{CallError, CallOutcome, Endpoint, Outcome, ResponseSignature, ResultCode};
use common::*;

fn failed_code(outcome: &Outcome) -> &ResultCode {
    match outcome {
        Outcome::Failed { code, .. } => code,
        other => panic!("expected F, got {other:?}"),
    }
}

#[tokio::test]
async fn full_consult_h5_token_pay_refund_revoke_flow() {
    let env = start().await;
    let client = &env.client;
    let (access_token, refresh_token) = bind_wallet(client, "state-flow-1").await;

    let user = client
        .inquiry_user_info(&InquiryUserInfoRequest::new(access_token.clone()))
        .await
        .unwrap();
    assert_eq!(user.outcome, Outcome::Success);
    assert!(user.body.user_id().is_some_and(|id| !id.is_empty()));

    let pay = client
        .pay(&agreement_pay("flow-pay-1", 1000, &access_token))
        .await
        .unwrap();
    assert_eq!(pay.outcome, Outcome::Success);
    assert_eq!(pay.signature, ResponseSignature::Verified);
    let payment_id = pay.body.payment_id.clone().expect("paymentId on S");
    assert_eq!(pay.body.payment_request_id.as_deref(), Some("flow-pay-1"));

    let inquiry = client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("flow-pay-1"))
        .await
        .unwrap();
    assert_eq!(inquiry.outcome, Outcome::Success);
    assert_eq!(inquiry.body.payment_status, Some(PaymentStatus::Success));
    assert_eq!(
        inquiry.body.payment_id.as_deref(),
        Some(payment_id.as_str())
    );

    let refund = client
        .refund(&RefundRequest::new(
            "flow-refund-1",
            &payment_id,
            Amount::new("PHP", 400),
        ))
        .await
        .unwrap();
    assert!(
        matches!(refund.outcome, Outcome::Success | Outcome::InProcess),
        "{:?}",
        refund.outcome
    );
    let refund_inquiry = client
        .inquiry_refund(&InquiryRefundRequest::by_request_id("flow-refund-1"))
        .await
        .unwrap();
    assert_eq!(refund_inquiry.outcome, Outcome::Success);
    assert_eq!(
        refund_inquiry.body.refund_status,
        Some(RefundStatus::Success)
    );
    assert_eq!(
        refund_inquiry.body.refund_amount,
        Some(Amount::new("PHP", 400))
    );

    // Over-refunding is refused.
    let too_much = client
        .refund(&RefundRequest::new(
            "flow-refund-2",
            &payment_id,
            Amount::new("PHP", 700),
        ))
        .await
        .unwrap();
    assert_eq!(
        failed_code(&too_much.outcome),
        &ResultCode::RefundAmountExceed
    );

    // The refresh token yields a new access token.
    if let Some(refresh) = refresh_token {
        let refreshed = client
            .apply_token(&ApplyTokenRequest::refresh_token(WALLET, refresh))
            .await
            .unwrap();
        assert_eq!(refreshed.outcome, Outcome::Success);
        assert!(refreshed.body.access_token.is_some());
    }

    let revoke = client
        .revoke(&RevokeRequest::new(access_token.clone()))
        .await
        .unwrap();
    assert_eq!(revoke.outcome, Outcome::Success);
    let after = client
        .pay(&agreement_pay("flow-pay-2", 1000, &access_token))
        .await
        .unwrap();
    assert_eq!(failed_code(&after.outcome), &ResultCode::InvalidAccessToken);

    assert_eq!(env.sandbox.stats().charges_for("flow-pay-1"), 1);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn auth_codes_are_single_use_and_unknown_tokens_are_rejected() {
    let env = start().await;
    let client = &env.client;
    let code = authorize(client, "state-single-use").await;
    let first = client
        .apply_token(&ApplyTokenRequest::authorization_code(
            WALLET,
            code.as_str(),
        ))
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::Success);
    let reused = client
        .apply_token(&ApplyTokenRequest::authorization_code(
            WALLET,
            code.as_str(),
        ))
        .await
        .unwrap();
    assert_eq!(failed_code(&reused.outcome), &ResultCode::InvalidCode);
    let bogus = client
        .apply_token(&ApplyTokenRequest::authorization_code(
            WALLET,
            "no-such-code",
        ))
        .await
        .unwrap();
    assert_eq!(failed_code(&bogus.outcome), &ResultCode::InvalidCode);
    let user = client
        .inquiry_user_info(&InquiryUserInfoRequest::new("no-such-token"))
        .await
        .unwrap();
    assert_eq!(failed_code(&user.outcome), &ResultCode::InvalidAccessToken);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn observer_records_every_call_with_secrets_masked() {
    let env = start().await;
    let (token, _) = bind_wallet(&env.client, "state-observer").await;
    env.client
        .pay(&agreement_pay("obs-pay-1", 1000, &token))
        .await
        .unwrap();
    let records = env.recorder.records();
    let endpoints: Vec<Endpoint> = records.iter().map(|r| r.endpoint).collect();
    assert_eq!(
        endpoints,
        vec![Endpoint::Consult, Endpoint::ApplyToken, Endpoint::Pay]
    );
    assert_eq!(records[0].request_id.as_deref(), Some("state-observer"));
    let pay = &records[2];
    assert_eq!(pay.request_id.as_deref(), Some("obs-pay-1"));
    assert_eq!(pay.http_status, Some(200));
    assert_eq!(pay.outcome, CallOutcome::Answered(Outcome::Success));
    assert!(pay.latency.as_nanos() > 0);
    assert!(
        pay.request_time.parse::<i64>().is_ok(),
        "epoch-ms request-time"
    );
    let everything = format!("{records:?}");
    assert!(
        !everything.contains(token.expose()),
        "access token leaked into a record"
    );
    assert_eq!(records[1].response.as_ref().unwrap()["accessToken"], "***");
    let sent_id = pay.request["paymentMethod"]["paymentMethodId"]
        .as_str()
        .unwrap();
    assert!(
        sent_id.starts_with('*') && sent_id.ends_with(&token.expose()[token.expose().len() - 4..])
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn cashier_payment_is_in_process_then_paid_on_the_cashier_page() {
    let env = start().await;
    let client = &env.client;
    let pay = client.pay(&cashier_pay("cashier-1", 1500)).await.unwrap();
    assert_eq!(pay.outcome, Outcome::InProcess);
    let url = pay
        .body
        .normal_url
        .clone()
        .expect("normalUrl for cashier payments");
    let before = client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("cashier-1"))
        .await
        .unwrap();
    assert_eq!(before.body.payment_status, Some(PaymentStatus::Processing));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = browser
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .unwrap();
    assert!(
        paid.status().is_success() || paid.status().is_redirection(),
        "{}",
        paid.status()
    );
    let after = client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("cashier-1"))
        .await
        .unwrap();
    assert_eq!(after.body.payment_status, Some(PaymentStatus::Success));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn manual_capture_of_an_authorization() {
    let env = start().await;
    let client = &env.client;
    let (token, _) = bind_wallet(client, "state-capture").await;
    let mut pay = agreement_pay("auth-pay-1", 2000, &token);
    pay.payment_factor = Some(PaymentFactor {
        is_authorization: Some(true),
        capture_mode: Some(CaptureMode::Manual),
        ..PaymentFactor::default()
    });
    let authorized = client.pay(&pay).await.unwrap();
    assert_eq!(authorized.outcome, Outcome::Success);
    let payment_id = authorized.body.payment_id.unwrap();
    let too_much = client
        .capture(&CaptureRequest {
            capture_request_id: "cap-0".into(),
            payment_id: payment_id.clone(),
            capture_amount: Amount::new("PHP", 2001),
            is_last_capture: None,
        })
        .await
        .unwrap();
    assert!(
        matches!(too_much.outcome, Outcome::Failed { .. }),
        "{:?}",
        too_much.outcome
    );
    let capture = client
        .capture(&CaptureRequest {
            capture_request_id: "cap-1".into(),
            payment_id: payment_id.clone(),
            capture_amount: Amount::new("PHP", 2000),
            is_last_capture: Some(true),
        })
        .await
        .unwrap();
    assert!(
        matches!(capture.outcome, Outcome::Success | Outcome::InProcess),
        "{:?}",
        capture.outcome
    );
    assert_eq!(capture.body.capture_request_id.as_deref(), Some("cap-1"));
    let inquiry = client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("auth-pay-1"))
        .await
        .unwrap();
    let transactions = inquiry.body.transactions.unwrap_or_default();
    assert!(
        transactions
            .iter()
            .any(|t| t.transaction_type == TransactionType::Capture
                && t.transaction_request_id.as_deref() == Some("cap-1")),
        "{transactions:?}"
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn repeat_request_with_different_content_is_inconsistent() {
    let env = start().await;
    let (token, _) = bind_wallet(&env.client, "state-repeat").await;
    let first = env
        .client
        .pay(&agreement_pay("repeat-1", 1000, &token))
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::Success);
    let again = env
        .client
        .pay(&agreement_pay("repeat-1", 1000, &token))
        .await
        .unwrap();
    assert_eq!(again.outcome, Outcome::Success);
    assert_eq!(again.body.payment_id, first.body.payment_id);
    let different = env
        .client
        .pay(&agreement_pay("repeat-1", 1001, &token))
        .await
        .unwrap();
    assert_eq!(
        failed_code(&different.outcome),
        &ResultCode::RepeatReqInconsistent
    );
    assert_eq!(env.sandbox.stats().charges_for("repeat-1"), 1);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn inquiries_and_cancel_of_unknown_orders_fail() {
    let env = start().await;
    let client = &env.client;
    let missing = client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("never-sent"))
        .await
        .unwrap();
    assert_eq!(failed_code(&missing.outcome), &ResultCode::OrderNotExist);
    let missing_refund = client
        .inquiry_refund(&InquiryRefundRequest::by_request_id("never-sent"))
        .await
        .unwrap();
    assert_eq!(
        failed_code(&missing_refund.outcome),
        &ResultCode::OrderNotExist
    );
    let cancel = client
        .cancel(&CancelRequest::by_request_id("never-sent"))
        .await
        .unwrap();
    assert!(
        matches!(cancel.outcome, Outcome::Failed { .. }),
        "{:?}",
        cancel.outcome
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn invalid_requests_never_reach_the_sandbox() {
    let env = start().await;
    let token = Secret::new("irrelevant");
    let mut bad = agreement_pay("bad-1", 1000, &token);
    bad.payment_amount.value = "10.00".into();
    let err = env.client.pay(&bad).await.unwrap_err();
    assert!(
        matches!(err, CallError::Invalid(ref v) if v.field == "paymentAmount.value"),
        "{err:?}"
    );
    assert!(!err.outcome_unknown());
    assert_eq!(env.sandbox.stats().endpoint_calls("payments/pay"), 0);
    let records = env.recorder.records();
    assert!(matches!(
        records[0].outcome,
        CallOutcome::Error {
            kind: "invalid",
            outcome_unknown: false,
            ..
        }
    ));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_wrong_alipay_public_key_makes_every_answer_untrusted() {
    let env = start().await;
    let mut config = client_config(&env.sandbox);
    config.alipay_public_key = include_str!("vectors/vector-public.TEST-ONLY.pem").into();
    let client = alipay::AlipayClient::new(config).unwrap();
    let err = client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Signature(alipay::SignatureError::Invalid)),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_wrong_merchant_key_is_rejected_by_the_sandbox_unsigned_or_signed_as_f() {
    let env = start().await;
    let mut config = client_config(&env.sandbox);
    config.merchant_private_key = include_str!("vectors/vector-private.TEST-ONLY.pem").into();
    let client = alipay::AlipayClient::new(config).unwrap();
    let reply = client
        .inquiry_payment(&InquiryPaymentRequest::by_request_id("x"))
        .await
        .unwrap();
    let code = failed_code(&reply.outcome);
    assert!(
        matches!(
            code,
            ResultCode::SignatureInvalid | ResultCode::InvalidSignature
        ),
        "{code:?}"
    );
    env.sandbox.shutdown().await;
}
