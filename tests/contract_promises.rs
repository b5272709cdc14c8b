//! Promises of the contract that the gateway once broke, each provoked over gRPC on SQLite and PostgreSQL:
//! single-use auth codes, the binding's customer, Alipay's own times on the payment, UNAVAILABLE
//! `ALIPAY_UNREACHABLE` when Alipay cannot be asked, and the answer to a retried payment Alipay never received.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;
use tonic::Code;
use tonic_types::StatusExt;

fn seconds(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref().map(|t| t.seconds).expect("timestamp is set")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_code_is_single_use_whoever_repeats_it() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let mut auth = gateway.auth().await;
        let state = request_id("state");
        let consult = auth
            .consult(consult_request(&state, &[pb::AuthScope::AgreementPay]))
            .await
            .expect("consult")
            .into_inner();
        let auth_code = follow_auth_page(&consult.auth_url, &state).await;
        let request = pb::ApplyTokenRequest {
            auth_code,
            wallet: pb::Wallet::Gcash as i32,
            customer_id: "cust-code".into(),
            ..Default::default()
        };
        let binding = auth
            .apply_token(request.clone())
            .await
            .expect("first exchange")
            .into_inner()
            .binding
            .expect("binding");
        let mut other_customer = request.clone();
        other_customer.customer_id = "cust-other".into();
        for (what, again) in [("identical", request), ("other customer", other_customer)] {
            let status = auth.apply_token(again).await.expect_err(what);
            assert_eq!(
                status.code(),
                Code::FailedPrecondition,
                "{what}: {status:?}"
            );
            assert_eq!(error_info(&status).0, "INVALID_CODE", "{what}");
        }
        assert_eq!(
            sandbox.stats().endpoint_calls("authorizations/applyToken"),
            1,
            "the repeats never reached Alipay"
        );
        // The first attempt's binding is where the contract says: ListBindings(customer_id).
        let listed = auth
            .list_bindings(pb::ListBindingsRequest {
                customer_id: "cust-code".into(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(listed.bindings.len(), 1);
        assert_eq!(listed.bindings[0].binding_id, binding.binding_id);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_belongs_to_the_callers_customer() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let binding = bind_wallet(&gateway, "cust-owner").await;
        let mut payments = gateway.payments().await;

        let mut foreign = agreement_pay(&request_id("foreign"), &binding.binding_id, 1000);
        foreign.customer_id = "cust-intruder".into();
        let status = payments
            .pay(foreign)
            .await
            .expect_err("another customer's binding");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let bad = status
            .get_error_details()
            .bad_request()
            .cloned()
            .expect("BadRequest");
        assert!(
            bad.field_violations
                .iter()
                .any(|v| v.field == "customer_id"),
            "{bad:?}"
        );
        assert_eq!(
            sandbox.stats().endpoint_calls("payments/pay"),
            0,
            "nothing sent"
        );

        let mut own = agreement_pay(&request_id("own"), &binding.binding_id, 1000);
        own.customer_id = "cust-owner".into();
        let paid = payments
            .pay(own)
            .await
            .expect("the binding's own customer")
            .into_inner();
        assert_eq!(paid.payment.expect("payment").customer_id, "cust-owner");

        // A cashier payment keeps the caller's customer, so ListPayments finds it by customer.
        let id = request_id("cashier-customer");
        let mut cashier = cashier_pay(&id, 1000);
        cashier.customer_id = "cust-cashier".into();
        payments.pay(cashier).await.expect("cashier pay");
        let listed = payments
            .list_payments(pb::ListPaymentsRequest {
                customer_id: "cust-cashier".into(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(listed.payments.len(), 1);
        assert_eq!(listed.payments[0].payment_request_id, id);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_carries_alipays_times() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        // Alipay's clock runs two hours ahead of the gateway's, so its times cannot be mistaken for ours.
        let ahead = Duration::from_secs(2 * 3600);
        sandbox.clock().advance(ahead);
        let binding = bind_wallet(&gateway, "cust-times").await;
        let mut payments = gateway.payments().await;
        let now = chrono::Utc::now().timestamp();
        let alipay_now = now + ahead.as_secs() as i64;

        let mut request = agreement_pay(&request_id("times"), &binding.binding_id, 1000);
        request.is_authorization = true;
        request.capture_mode = pb::CaptureMode::Manual as i32;
        let authorized = payments
            .pay(request)
            .await
            .expect("authorize")
            .into_inner()
            .payment
            .expect("payment");
        let created = seconds(&authorized.payment_create_time);
        assert!(
            (created - alipay_now).abs() < 600,
            "paymentCreateTime is Alipay's: {created} vs {alipay_now}"
        );
        let expiry = seconds(&authorized.auth_expiry_time);
        assert!(
            expiry > alipay_now + 86_400,
            "authExpiryTime is days ahead: {expiry}"
        );
        let stored = get_payment(&gateway, &authorized.payment_request_id).await;
        assert_eq!(
            stored.auth_expiry_time, authorized.auth_expiry_time,
            "kept in the store"
        );

        let id = request_id("times-cancel");
        payments
            .pay(cashier_pay(&id, 1000))
            .await
            .expect("cashier pay");
        let cancelled = payments
            .cancel_payment(pb::CancelPaymentRequest {
                payment_request_id: id.clone(),
            })
            .await
            .expect("cancel")
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(cancelled.status, pb::PaymentStatus::Cancelled as i32);
        let cancel_time = seconds(&cancelled.cancel_time);
        assert!(
            (cancel_time - alipay_now).abs() < 600,
            "cancelTime is Alipay's: {cancel_time} vs {alipay_now}"
        );
        assert_eq!(
            get_payment(&gateway, &id).await.cancel_time,
            cancelled.cancel_time
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_alipay_is_unavailable_not_a_stale_answer() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let binding = bind_wallet(&gateway, "cust-down").await;
        let mut payments = gateway.payments().await;
        let id = request_id("down");
        payments
            .pay(agreement_pay(&id, &binding.binding_id, 1000))
            .await
            .expect("pay while Alipay is up");
        sandbox.shutdown().await;

        let mut auth = gateway.auth().await;
        let consult = auth
            .consult(consult_request(
                "state-down",
                &[pb::AuthScope::AgreementPay],
            ))
            .await
            .expect_err("consult with Alipay down");
        let inquiry = payments
            .inquire_payment(pb::InquirePaymentRequest {
                payment_request_id: id.clone(),
            })
            .await
            .expect_err("live inquiry with Alipay down");
        for (what, status) in [("Consult", consult), ("InquirePayment", inquiry)] {
            assert_eq!(status.code(), Code::Unavailable, "{what}: {status:?}");
            assert_eq!(
                error_info(&status),
                (
                    "ALIPAY_UNREACHABLE".to_owned(),
                    "gateway.alipay-gateway".to_owned()
                ),
                "{what}"
            );
            assert!(
                status.get_error_details().retry_info().is_some(),
                "{what}: RetryInfo"
            );
        }
        // The stored record is still there for GetPayment.
        assert_eq!(
            get_payment(&gateway, &id).await.status,
            pb::PaymentStatus::Success as i32
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_of_a_payment_alipay_never_received_says_so() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let gateway = GatewayProcess::start(&db, &sandbox, &GatewayOptions::default());
        let mut payments = gateway.payments().await;
        // 92002: every pay attempt answers U and nothing is ever created; inquiry and cancel say ORDER_NOT_EXIST.
        let id = request_id("never");
        let request = in_store_pay(&id, "281234567890123456", 92002);
        match payments.pay(request.clone()).await {
            Ok(answer) => assert_eq!(
                answer.into_inner().payment.map(|p| p.status),
                Some(pb::PaymentStatus::Processing as i32),
                "an unknown outcome is PROCESSING"
            ),
            Err(status) => assert_eq!(
                status.code(),
                Code::Unavailable,
                "or UNAVAILABLE: {status:?}"
            ),
        }
        wait_for_status(
            &gateway,
            &id,
            pb::PaymentStatus::Fail,
            Duration::from_secs(30),
        )
        .await;
        let status = payments.pay(request).await.expect_err("the retry");
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert_eq!(
            error_info(&status),
            (
                "PAYMENT_NOT_RECEIVED".to_owned(),
                "gateway.alipay-gateway".to_owned()
            )
        );
        assert_eq!(
            sandbox.stats().charges.get(&id).copied().unwrap_or(0),
            0,
            "nothing charged"
        );
        sandbox.shutdown().await;
    })
    .await;
}
