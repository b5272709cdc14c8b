//! The engine answers views: a payment with its refunded and captured totals. ListPayments renders every payment
//! of a page with its own totals (read for the whole page in one grouped query), the same as GetPayment, on both
//! stores, through the real binary and the sandbox.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use alipay_gateway::pb::v1 as pb;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_page_carries_each_payments_own_refunded_and_captured_totals() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let customer = request_id("customer-views");
        let binding = bind_wallet(&gateway, &customer).await;
        let mut payments = gateway.payments().await;
        let pay = |id: &str, authorization: bool| {
            let mut request = agreement_pay(id, &binding.binding_id, 1000);
            if authorization {
                request.is_authorization = true;
                request.capture_mode = pb::CaptureMode::Manual as i32;
            }
            request
        };
        let refund = |payment: &str, value: i64| pb::RefundRequest {
            refund_request_id: request_id("refund"),
            payment_request_id: payment.to_owned(),
            refund_amount: php(value),
            refund_reason: String::new(),
        };

        // A sale refunded twice, an authorization captured twice and refunded once, an untouched sale.
        let sale = request_id("sale");
        let auth = request_id("auth");
        let plain = request_id("plain");
        for (id, authorization) in [(&sale, false), (&auth, true), (&plain, false)] {
            payments
                .pay(pay(id, authorization))
                .await
                .unwrap_or_else(|s| panic!("pay {id}: {s:?}\n{}", gateway.log()));
        }
        for (payment, value) in [(&sale, 300), (&sale, 200)] {
            payments
                .refund(refund(payment, value))
                .await
                .unwrap_or_else(|s| panic!("refund: {s:?}\n{}", gateway.log()));
        }
        for value in [600, 150] {
            payments
                .capture(pb::CaptureRequest {
                    capture_request_id: request_id("capture"),
                    payment_request_id: auth.clone(),
                    capture_amount: php(value),
                    is_last_capture: false,
                })
                .await
                .unwrap_or_else(|s| panic!("capture: {s:?}\n{}", gateway.log()));
        }
        payments
            .refund(refund(&auth, 100))
            .await
            .unwrap_or_else(|s| panic!("refund of a capture: {s:?}\n{}", gateway.log()));

        // Two pages (page size 2), newest first.
        let mut listed = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = payments
                .list_payments(pb::ListPaymentsRequest {
                    customer_id: customer.clone(),
                    page_size: 2,
                    page_token: page_token.clone(),
                    ..Default::default()
                })
                .await
                .expect("list payments")
                .into_inner();
            listed.extend(page.payments);
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let totals = |p: &pb::Payment| {
            (
                p.payment_request_id.clone(),
                p.refunded_amount.clone(),
                p.captured_amount.clone(),
            )
        };
        assert_eq!(
            listed.iter().map(totals).collect::<Vec<_>>(),
            [
                (plain.clone(), php(0), None),
                (auth.clone(), php(100), php(750)),
                (sale.clone(), php(500), None),
            ],
            "a sale reports no captured amount; each payment its own sums"
        );
        // The list renders each payment exactly as GetPayment does.
        for listed in &listed {
            let got = get_payment(&gateway, &listed.payment_request_id).await;
            assert_eq!(totals(&got), totals(listed));
            assert_eq!(got.status, listed.status);
        }
        sandbox.shutdown().await;
    })
    .await;
}
