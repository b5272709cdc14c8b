//! The auto-debit journey end to end through the real binary, the real sandbox and a real store, plus the error
//! model at the gRPC edge: Alipay declines, idempotency clashes and validation.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use alipay_gateway::pb::v1 as pb;
use common::*;
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consult_bind_pay_inquire_refund() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;

        let binding = bind_wallet(&gateway, "customer-1").await;
        assert_eq!(binding.status, pb::BindingStatus::Active as i32);
        assert_eq!(binding.customer_id, "customer-1");
        assert_eq!(binding.wallet, pb::Wallet::Gcash as i32);

        let mut auth = gateway.auth().await;
        let listed = auth
            .list_bindings(pb::ListBindingsRequest {
                customer_id: "customer-1".into(),
                ..Default::default()
            })
            .await
            .expect("list bindings")
            .into_inner();
        assert_eq!(listed.bindings.len(), 1);
        assert_eq!(listed.bindings[0].binding_id, binding.binding_id);
        assert_eq!(listed.bindings[0].merchant_region, BINDING_REGION);

        let mut payments = gateway.payments().await;
        let pay_id = request_id("pay");
        let paid = payments
            .pay(agreement_pay(&pay_id, &binding.binding_id, 1000))
            .await
            .unwrap_or_else(|s| panic!("pay failed: {s:?}\n{}", gateway.log()))
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(paid.status, pb::PaymentStatus::Success as i32, "{paid:?}");
        assert!(!paid.payment_id.is_empty(), "Alipay's payment id is echoed");
        assert_eq!(paid.binding_id, binding.binding_id);
        assert_eq!(paid.customer_id, "customer-1");
        assert_eq!(sandbox.stats().charges_for(&pay_id), 1);

        // Same request again: the recorded answer, no second Alipay call.
        let replay = payments
            .pay(agreement_pay(&pay_id, &binding.binding_id, 1000))
            .await
            .expect("replay")
            .into_inner();
        assert_eq!(replay.payment.expect("payment").payment_id, paid.payment_id);
        assert_eq!(sandbox.stats().request_calls("payments/pay", &pay_id), 1);

        // Same id, different content: ALREADY_EXISTS, still one call.
        let clash = payments
            .pay(agreement_pay(&pay_id, &binding.binding_id, 2000))
            .await
            .expect_err("clash");
        assert_eq!(clash.code(), Code::AlreadyExists);
        assert_eq!(error_info(&clash).0, "REPEAT_REQ_INCONSISTENT");
        assert_eq!(sandbox.stats().request_calls("payments/pay", &pay_id), 1);

        let stored = get_payment(&gateway, &pay_id).await;
        assert_eq!(stored.status, pb::PaymentStatus::Success as i32);
        let inquired = payments
            .inquire_payment(pb::InquirePaymentRequest {
                payment_request_id: pay_id.clone(),
            })
            .await
            .expect("inquire")
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(inquired.status, pb::PaymentStatus::Success as i32);

        let refund_id = request_id("refund");
        let refund = payments
            .refund(pb::RefundRequest {
                refund_request_id: refund_id.clone(),
                payment_request_id: pay_id.clone(),
                refund_amount: Some(pb::Amount {
                    currency: "PHP".into(),
                    value: 400,
                }),
                refund_reason: "partial".into(),
            })
            .await
            .unwrap_or_else(|s| panic!("refund failed: {s:?}\n{}", gateway.log()))
            .into_inner()
            .refund
            .expect("refund");
        assert_eq!(refund.payment_request_id, pay_id);
        assert_ne!(refund.status, pb::RefundStatus::Fail as i32, "{refund:?}");
        let refund = payments
            .inquire_refund(pb::InquireRefundRequest {
                refund_request_id: refund_id.clone(),
            })
            .await
            .expect("inquire refund")
            .into_inner()
            .refund
            .expect("refund");
        assert_eq!(
            refund.status,
            pb::RefundStatus::Success as i32,
            "{refund:?}"
        );
        assert_eq!(
            refund.refund_amount,
            Some(pb::Amount {
                currency: "PHP".into(),
                value: 400
            })
        );

        let listed = payments
            .list_payments(pb::ListPaymentsRequest {
                customer_id: "customer-1".into(),
                statuses: vec![pb::PaymentStatus::Success as i32],
                ..Default::default()
            })
            .await
            .expect("list payments")
            .into_inner();
        assert_eq!(
            listed
                .payments
                .iter()
                .map(|p| p.payment_request_id.as_str())
                .collect::<Vec<_>>(),
            [pay_id.as_str()]
        );

        let terminated = gateway.terminate();
        assert!(terminated.success(), "graceful shutdown exits 0");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_declines_are_failed_precondition_with_the_alipay_code() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let binding = bind_wallet(&gateway, "customer-declines").await;
        let mut payments = gateway.payments().await;
        let mut last_declined = String::new();
        for (value, code) in [
            (91001, "USER_BALANCE_NOT_ENOUGH"),
            (91002, "RISK_REJECT"),
            (91003, "USER_AMOUNT_EXCEED_LIMIT"),
            (91004, "PAYMENT_AMOUNT_EXCEED_LIMIT"),
            (91005, "PAYMENT_COUNT_EXCEED_LIMIT"),
            (91006, "USER_STATUS_ABNORMAL"),
            (91007, "USER_NOT_EXIST"),
            (91008, "PROCESS_FAIL"),
        ] {
            let id = request_id("declined");
            last_declined.clone_from(&id);
            let status = payments
                .pay(agreement_pay(&id, &binding.binding_id, value))
                .await
                .expect_err(code);
            assert_eq!(
                status.code(),
                Code::FailedPrecondition,
                "{value}: {status:?}"
            );
            assert_eq!(
                error_info(&status),
                (code.to_owned(), "alipay.com".to_owned()),
                "{value}"
            );
            let info = status
                .get_error_details()
                .error_info()
                .cloned()
                .expect("ErrorInfo");
            assert_eq!(
                info.metadata.get("result_status").map(String::as_str),
                Some("F")
            );
            assert_eq!(info.metadata.get("payment_request_id"), Some(&id));
            // The record is kept and readable.
            let stored = get_payment(&gateway, &id).await;
            assert_eq!(stored.status, pb::PaymentStatus::Fail as i32);
            assert_eq!(stored.last_alipay_result.expect("result").result_code, code);
        }

        // Unknown payment: NOT_FOUND; refund of a failed payment: FAILED_PRECONDITION.
        let missing = payments
            .get_payment(pb::GetPaymentRequest {
                payment_request_id: "no-such-payment".into(),
            })
            .await
            .expect_err("missing");
        assert_eq!(missing.code(), Code::NotFound);

        // A revoked binding cannot be charged, and Alipay is not asked.
        let mut auth = gateway.auth().await;
        let revoked = auth
            .revoke_binding(pb::RevokeBindingRequest {
                binding_id: binding.binding_id.clone(),
            })
            .await
            .expect("revoke")
            .into_inner()
            .binding
            .expect("binding");
        assert_eq!(revoked.status, pb::BindingStatus::Revoked as i32);
        let calls_before = sandbox.stats().endpoint_calls("payments/pay");
        let refused = payments
            .pay(agreement_pay(
                &request_id("revoked"),
                &binding.binding_id,
                1000,
            ))
            .await
            .expect_err("revoked");
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert_eq!(error_info(&refused).0, "BINDING_NOT_ACTIVE");
        assert_eq!(sandbox.stats().endpoint_calls("payments/pay"), calls_before);

        // CardService serves: a wallet payment is no card payment, and an empty request is refused.
        let mut cards = alipay_gateway::pb::v1::card_service_client::CardServiceClient::connect(
            gateway.endpoint(),
        )
        .await
        .expect("connect");
        let empty = cards
            .get_card_payment(pb::GetCardPaymentRequest::default())
            .await
            .expect_err("no id");
        assert_eq!(empty.code(), Code::InvalidArgument);
        let wallet = cards
            .get_card_payment(pb::GetCardPaymentRequest {
                payment_request_id: last_declined.clone(),
            })
            .await
            .expect_err("a wallet payment");
        assert_eq!(wallet.code(), Code::NotFound);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_rejected_with_every_violation_and_never_reaches_alipay() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let mut payments = gateway.payments().await;
        let mut auth = gateway.auth().await;

        let violations = |status: tonic::Status| -> Vec<String> {
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            status
                .get_error_details()
                .bad_request()
                .cloned()
                .expect("BadRequest details")
                .field_violations
                .into_iter()
                .map(|v| v.field)
                .collect()
        };

        let mut bad = agreement_pay("has space", "", 0);
        bad.payment_amount = Some(pb::Amount {
            currency: "PESO".into(),
            value: -5,
        });
        bad.order = Some(pb::Order {
            order_description: "x".repeat(257),
            ..Default::default()
        });
        let fields = violations(payments.pay(bad).await.expect_err("invalid"));
        for expected in [
            "payment_request_id",
            "payment_amount.currency",
            "payment_amount.value",
            "order.reference_order_id",
            "order.order_description",
            "agreement.binding_id",
        ] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected} missing from {fields:?}"
            );
        }

        let mut in_store = agreement_pay(&request_id("instore"), "", 1000);
        in_store.source = Some(pb::pay_request::Source::InStore(pb::InStorePaymentSource {
            payment_code: "1234567890".into(),
        }));
        let fields = violations(payments.pay(in_store).await.expect_err("bad code"));
        assert!(
            fields.contains(&"in_store.payment_code".to_owned()),
            "{fields:?}"
        );
        assert!(fields.contains(&"order.merchant".to_owned()), "{fields:?}");

        let mut cashier = agreement_pay(&request_id("cashier"), "", 99);
        cashier.source = Some(pb::pay_request::Source::Cashier(pb::CashierPaymentSource {
            wallet: pb::Wallet::Gcash as i32,
            payment_redirect_url: "https://merchant.example/back".into(),
            env: Some(pb::Env {
                terminal_type: pb::TerminalType::Web as i32,
                ..Default::default()
            }),
        }));
        let fields = violations(
            payments
                .pay(cashier)
                .await
                .expect_err("below the GCASH minimum"),
        );
        assert_eq!(fields, ["payment_amount.value"]);

        let fields = violations(
            auth.consult(pb::ConsultRequest {
                wallet: 0,
                auth_redirect_url: "ftp://nope".into(),
                scopes: vec![1, 2, 3, 4, 5],
                ..Default::default()
            })
            .await
            .expect_err("bad consult"),
        );
        for expected in [
            "wallet",
            "auth_redirect_url",
            "auth_state",
            "scopes",
            "terminal_type",
        ] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected} missing from {fields:?}"
            );
        }

        let fields = violations(
            payments
                .refund(pb::RefundRequest {
                    refund_request_id: String::new(),
                    payment_request_id: "p".into(),
                    refund_amount: Some(pb::Amount {
                        currency: "PHP".into(),
                        value: 0,
                    }),
                    refund_reason: String::new(),
                })
                .await
                .expect_err("bad refund"),
        );
        assert_eq!(fields, ["refund_request_id", "refund_amount.value"]);

        let fields = violations(
            payments
                .list_payments(pb::ListPaymentsRequest {
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .expect_err("page too large"),
        );
        assert_eq!(fields, ["page_size"]);

        let stats = sandbox.stats();
        assert_eq!(
            stats.calls.values().sum::<u64>(),
            0,
            "nothing reached the sandbox: {stats:?}"
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inquire_user_info_follows_the_scopes_recorded_at_apply_token() {
    for_each_backend(|db| async move {
        use pb::AuthScope::{AgreementPay, UserInfo};
        let (sandbox, gateway) = start_default(&db).await;
        let mut auth = gateway.auth().await;
        let inquire = |binding_id: &str| pb::InquireUserInfoRequest {
            binding_id: binding_id.to_owned(),
        };
        let calls = || sandbox.stats().endpoint_calls("users/inquiryUserInfo");

        // USER_INFO requested and recorded: Alipay is asked and answers.
        let with_user_info = bind_wallet(&gateway, "customer-info").await;
        assert_eq!(
            with_user_info.scopes,
            [AgreementPay as i32, UserInfo as i32],
            "the binding records the scopes ApplyToken named"
        );
        let info = auth
            .inquire_user_info(inquire(&with_user_info.binding_id))
            .await
            .unwrap_or_else(|s| panic!("inquire user info: {s:?}\n{}", gateway.log()))
            .into_inner();
        assert!(!info.user_id.is_empty(), "{info:?}");
        assert_eq!(calls(), 1);

        // Only AGREEMENT_PAY: refused by the gateway, Alipay never asked.
        let pay_only = bind_wallet_with(
            &gateway,
            "customer-pay-only",
            &[AgreementPay],
            &[AgreementPay],
        )
        .await;
        assert_eq!(pay_only.scopes, [AgreementPay as i32]);
        let refused = auth
            .inquire_user_info(inquire(&pay_only.binding_id))
            .await
            .expect_err("no user-info scope");
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert_eq!(
            error_info(&refused),
            (
                engine::reasons::SCOPE_NOT_GRANTED.to_owned(),
                "gateway.alipay-gateway".to_owned()
            )
        );
        assert_eq!(calls(), 1, "the refusal happened before Alipay");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_without_recorded_scopes_lets_alipay_decide_on_user_info() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        // The consult granted USER_INFO, but ApplyToken did not say so: the gateway cannot know, so it asks.
        let unrecorded =
            bind_wallet_with(&gateway, "customer-unrecorded", DEFAULT_SCOPES, &[]).await;
        assert!(unrecorded.scopes.is_empty(), "{unrecorded:?}");
        let info = gateway
            .auth()
            .await
            .inquire_user_info(pb::InquireUserInfoRequest {
                binding_id: unrecorded.binding_id.clone(),
            })
            .await
            .unwrap_or_else(|s| panic!("Alipay decides: {s:?}\n{}", gateway.log()))
            .into_inner();
        assert!(!info.user_id.is_empty(), "{info:?}");
        assert_eq!(sandbox.stats().endpoint_calls("users/inquiryUserInfo"), 1);

        // Here the user granted auto debit only, and nobody told the gateway: Alipay refuses.
        let pay_only = [pb::AuthScope::AgreementPay];
        let unknown = bind_wallet_with(&gateway, "customer-pay-only", &pay_only, &[]).await;
        let refused = gateway
            .auth()
            .await
            .inquire_user_info(pb::InquireUserInfoRequest {
                binding_id: unknown.binding_id.clone(),
            })
            .await
            .expect_err("Alipay refuses the missing scope");
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        let info = refused.get_error_details().error_info().cloned();
        let info = info.expect("ErrorInfo");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("ACCESS_DENIED", "alipay.com")
        );
        assert_eq!(sandbox.stats().endpoint_calls("users/inquiryUserInfo"), 2);
        sandbox.shutdown().await;
    })
    .await;
}
