//! The payment products and the payment read model end to end through the real binary, the real sandbox and a
//! real store: cashier payments completed on the sandbox's cashier page, in-store payment codes, multi-status
//! pagination, caller metadata, refund totals and the gateway's own refund ceiling.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;
use tonic::Code;

const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cashier_payment_succeeds_once_the_buyer_pays_on_the_cashier_page() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        // The default test budget (5 inquiries at 100 ms) is long spent before the buyer pays: a payment waiting
        // for the buyer is kept until its expiry (Alipay's ~14-minute default) instead.
        let gateway = GatewayProcess::start(&db, &sandbox, &GatewayOptions::default());
        let mut payments = gateway.payments().await;
        let id = request_id("cashier");
        let mut request = cashier_pay(&id, 1000);
        let expiry = prost_types::Timestamp {
            seconds: chrono::Utc::now().timestamp() + 300,
            nanos: 0,
        };
        request.payment_expiry_time = Some(expiry);
        let answer = payments
            .pay(request)
            .await
            .unwrap_or_else(|s| panic!("cashier pay: {s:?}\n{}", gateway.log()))
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(
            answer.status,
            pb::PaymentStatus::Processing as i32,
            "{answer:?}"
        );
        assert_eq!(answer.product_code, pb::ProductCode::CashierPayment as i32);
        assert_eq!(
            answer.payment_expiry_time,
            Some(expiry),
            "stored and echoed"
        );
        let Some(pb::NextAction {
            action: Some(pb::next_action::Action::Redirect(redirect)),
        }) = answer.next_action
        else {
            panic!("a cashier payment carries a redirect next_action: {answer:?}");
        };
        assert_eq!(redirect.method, pb::RedirectMethod::Get as i32);
        assert!(
            redirect.url.starts_with(&sandbox.base_url()),
            "{} is the sandbox's cashier page",
            redirect.url
        );

        // The buyer takes longer than the auto-debit inquiry budget: the payment must still be payable.
        let budget = u64::from(GatewayOptions::default().max_inquiries);
        eventually("inquiries beyond max_inquiries", DEADLINE, || async {
            (sandbox
                .stats()
                .request_calls("payments/inquiryPayment", &id)
                > budget)
                .then_some(())
        })
        .await;
        assert_eq!(
            get_payment(&gateway, &id).await.status,
            pb::PaymentStatus::Processing as i32,
            "not cancelled while the buyer may still pay"
        );

        // What the buyer's browser does: open the page, press Pay, follow the 303 back to the merchant.
        assert_eq!(
            submit_sandbox_page(&redirect.url, "action=pay").await,
            "https://merchant.example/paid"
        );

        let done = wait_for_status(&gateway, &id, pb::PaymentStatus::Success, DEADLINE).await;
        assert!(!done.payment_id.is_empty());
        assert!(
            done.next_action.is_none(),
            "a final payment has nothing to do"
        );
        let stats = sandbox.stats();
        assert_eq!(stats.charges_for(&id), 1);
        assert_eq!(stats.request_calls("payments/pay", &id), 1, "{stats:?}");
        assert_eq!(stats.request_calls("payments/cancel", &id), 0, "{stats:?}");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_store_payment_codes_are_charged_or_refused_before_alipay() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let mut payments = gateway.payments().await;

        let id = request_id("instore");
        let paid = payments
            .pay(in_store_pay(&id, "281234567890123456", 1000))
            .await
            .unwrap_or_else(|s| panic!("in-store pay: {s:?}\n{}", gateway.log()))
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(paid.status, pb::PaymentStatus::Success as i32, "{paid:?}");
        assert_eq!(paid.product_code, pb::ProductCode::InStorePayment as i32);
        assert!(!paid.payment_id.is_empty());
        assert_eq!(sandbox.stats().charges_for(&id), 1);

        // A code outside Alipay's rule (prefix 24) is the caller's mistake: named, not echoed, never sent.
        let calls_before = sandbox.stats().endpoint_calls("payments/pay");
        let refused = payments
            .pay(in_store_pay(
                &request_id("instore-bad"),
                "241234567890123456",
                1000,
            ))
            .await
            .expect_err("bad payment code");
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        let violations = field_violations(&refused);
        assert_eq!(
            violations
                .iter()
                .map(|(field, _)| field.as_str())
                .collect::<Vec<_>>(),
            ["in_store.payment_code"]
        );
        assert!(
            !violations[0].1.contains("241234567890123456")
                && !refused.message().contains("2412345"),
            "the code is not echoed: {refused:?}"
        );
        assert_eq!(
            sandbox.stats().endpoint_calls("payments/pay"),
            calls_before,
            "nothing reached Alipay"
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_payments_pages_through_several_statuses_without_gaps_or_duplicates() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let customer = "customer-list";
        let binding = bind_wallet(&gateway, customer).await;
        let mut payments = gateway.payments().await;

        // Three successes and two declines match the filter; a payment left PROCESSING (93200, then cancelled
        // by the reconciler) must never appear.
        let mut expected = BTreeSet::new();
        for value in [1000, 91001, 1100, 91002, 1200] {
            let id = request_id(&format!("list{value}"));
            let answer = payments
                .pay(agreement_pay(&id, &binding.binding_id, value))
                .await;
            let declined = value > 90000;
            assert_eq!(answer.is_err(), declined, "{value}: {answer:?}");
            expected.insert(id);
        }
        let pending = request_id("list-pending");
        let answer = payments
            .pay(agreement_pay(&pending, &binding.binding_id, 93200))
            .await
            .expect("an unknown outcome is answered OK")
            .into_inner();
        assert_eq!(
            answer.payment.expect("payment").status,
            pb::PaymentStatus::Processing as i32
        );

        let mut seen = Vec::new();
        let mut page_sizes = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = payments
                .list_payments(pb::ListPaymentsRequest {
                    statuses: vec![
                        pb::PaymentStatus::Success as i32,
                        pb::PaymentStatus::Fail as i32,
                    ],
                    customer_id: customer.into(),
                    page_size: 2,
                    page_token: page_token.clone(),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|s| panic!("list: {s:?}\n{}", gateway.log()))
                .into_inner();
            page_sizes.push(page.payments.len());
            for p in &page.payments {
                assert!(
                    p.status == pb::PaymentStatus::Success as i32
                        || p.status == pb::PaymentStatus::Fail as i32,
                    "{p:?}"
                );
            }
            seen.extend(page.payments.into_iter().map(|p| p.payment_request_id));
            if page.next_page_token.is_empty() {
                break;
            }
            assert!(page_sizes.len() < 10, "pagination does not end");
            page_token = page.next_page_token;
        }
        assert_eq!(page_sizes, [2, 2, 1]);
        let unique: BTreeSet<_> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no duplicates: {seen:?}");
        assert_eq!(unique, expected, "no gaps");

        // One status alone still filters.
        let failed = payments
            .list_payments(pb::ListPaymentsRequest {
                statuses: vec![pb::PaymentStatus::Fail as i32],
                customer_id: customer.into(),
                ..Default::default()
            })
            .await
            .expect("list failed")
            .into_inner();
        assert_eq!(failed.payments.len(), 2, "{failed:?}");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_round_trips_and_refunds_are_totalled_and_capped() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let customer = "customer-refunds";
        let binding = bind_wallet(&gateway, customer).await;
        let mut payments = gateway.payments().await;

        let metadata: HashMap<String, String> = [
            ("order_ref", "A-1001"),
            ("channel", "mobile app"),
            ("note", "café ☕"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let id = request_id("meta");
        let mut request = agreement_pay(&id, &binding.binding_id, 1000);
        request.metadata = metadata.clone();
        let paid = payments
            .pay(request)
            .await
            .unwrap_or_else(|s| panic!("pay: {s:?}\n{}", gateway.log()))
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(paid.metadata, metadata, "Pay echoes the metadata");
        assert_eq!(get_payment(&gateway, &id).await.metadata, metadata);
        let listed = payments
            .list_payments(pb::ListPaymentsRequest {
                customer_id: customer.into(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(listed.payments.len(), 1);
        assert_eq!(listed.payments[0].metadata, metadata);
        assert_eq!(paid.refunded_amount.unwrap_or_default().value, 0);

        let refund = |refund_id: &str, value: i64| pb::RefundRequest {
            refund_request_id: refund_id.to_owned(),
            payment_request_id: id.clone(),
            refund_amount: php(value),
            refund_reason: "changed mind".into(),
        };
        let first = payments
            .refund(refund(&request_id("refund"), 400))
            .await
            .unwrap_or_else(|s| panic!("refund: {s:?}\n{}", gateway.log()))
            .into_inner()
            .refund
            .expect("refund");
        assert_eq!(first.status, pb::RefundStatus::Success as i32, "{first:?}");
        assert_eq!(
            get_payment(&gateway, &id).await.refunded_amount,
            php(400),
            "refunded_amount after a partial refund"
        );

        // 700 > the 600 left: the gateway refuses it itself; Alipay never sees the refund.
        let refunds_before = sandbox.stats().endpoint_calls("payments/refund");
        let too_much = request_id("refund-over");
        let refused = payments
            .refund(refund(&too_much, 700))
            .await
            .expect_err("over the remainder");
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert_eq!(
            error_info(&refused),
            (
                engine::reasons::REFUND_AMOUNT_EXCEED.to_owned(),
                "gateway.alipay-gateway".to_owned()
            )
        );
        let stats = sandbox.stats();
        assert_eq!(stats.request_calls("payments/refund", &too_much), 0);
        assert_eq!(stats.endpoint_calls("payments/refund"), refunds_before);

        // The exact remainder is fine and completes the refund.
        payments
            .refund(refund(&request_id("refund-rest"), 600))
            .await
            .unwrap_or_else(|s| panic!("refund the rest: {s:?}\n{}", gateway.log()));
        let payment = get_payment(&gateway, &id).await;
        assert_eq!(payment.refunded_amount, php(1000));
        assert_eq!(payment.metadata, metadata, "refunds leave metadata alone");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_authorization_is_captured_up_to_the_authorized_amount() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let binding = bind_wallet(&gateway, "customer-capture").await;
        let mut payments = gateway.payments().await;

        let id = request_id("auth");
        let mut request = agreement_pay(&id, &binding.binding_id, 1000);
        request.is_authorization = true;
        request.capture_mode = pb::CaptureMode::Manual as i32;
        let authorized = payments
            .pay(request)
            .await
            .unwrap_or_else(|s| panic!("authorize: {s:?}\n{}", gateway.log()))
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(authorized.status, pb::PaymentStatus::Success as i32);
        assert!(authorized.is_authorization);
        assert_eq!(authorized.capture_mode, pb::CaptureMode::Manual as i32);
        assert_eq!(authorized.captured_amount, php(0));

        let capture = |capture_id: &str, value: i64, last: bool| pb::CaptureRequest {
            capture_request_id: capture_id.to_owned(),
            payment_request_id: id.clone(),
            capture_amount: php(value),
            is_last_capture: last,
        };
        let first = payments
            .capture(capture(&request_id("capture"), 600, false))
            .await
            .unwrap_or_else(|s| panic!("capture: {s:?}\n{}", gateway.log()))
            .into_inner()
            .capture
            .expect("capture");
        assert_eq!(first.status, pb::CaptureStatus::Success as i32, "{first:?}");
        assert_eq!(first.payment_request_id, id);
        assert_eq!(get_payment(&gateway, &id).await.captured_amount, php(600));

        // 500 > the 400 left: refused by the gateway, never sent.
        let captures_before = sandbox.stats().endpoint_calls("payments/capture");
        let refused = payments
            .capture(capture(&request_id("capture-over"), 500, true))
            .await
            .expect_err("over the authorization");
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert_eq!(
            error_info(&refused).0,
            engine::reasons::CAPTURE_AMOUNT_EXCEED
        );
        assert_eq!(
            sandbox.stats().endpoint_calls("payments/capture"),
            captures_before
        );

        // A sale cannot be captured at all.
        let sale = request_id("sale");
        payments
            .pay(agreement_pay(&sale, &binding.binding_id, 1000))
            .await
            .expect("sale");
        let mut not_capturable = capture(&request_id("capture-sale"), 100, true);
        not_capturable.payment_request_id = sale;
        let refused = payments
            .capture(not_capturable)
            .await
            .expect_err("a sale is not an authorization");
        assert_eq!(
            (refused.code(), error_info(&refused).0.as_str()),
            (
                Code::FailedPrecondition,
                engine::reasons::PAYMENT_NOT_CAPTURABLE
            )
        );
        assert_eq!(
            sandbox.stats().endpoint_calls("payments/capture"),
            captures_before
        );
        sandbox.shutdown().await;
    })
    .await;
}

/// `(field, description)` of every BadRequest violation of `status`.
fn field_violations(status: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .cloned()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}
