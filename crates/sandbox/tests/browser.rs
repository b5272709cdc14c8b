//! The sandbox's card pages in a real headless browser (Debian `chromium`, driven by Node playwright-core through
//! the shared driver `tests/browser/card_checkout.js`): a hosted payment with 3DS where the buyer enters
//! 4000000000003220, ticks "save card" and passes the OTP, landing on a local return server; a wrong OTP; and a
//! direct 3DS challenge. playwright-core comes from the `node_modules` directory named by
//! `ALIPAY_GATEWAY_NODE_MODULES`; without it (or without Chromium) the test is skipped locally and fails under CI.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;
#[path = "../../../tests/browser/driver.rs"]
mod driver;

use alipay::Outcome;
use alipay::model::{
    Amount, CaptureMode, CardNumber, CardPaymentMethodMetaData, InquiryPaymentRequest, PayRequest,
    PaymentMethod, PaymentStatus, RecurringType,
};
use driver::{ReturnServer, checkout, prerequisites, save_3220_with_3ds};
use sandbox::{SandboxConfig, dev};
use serde_json::json;

fn pay_request(return_url: &str, method: PaymentMethod) -> PayRequest {
    let mut request =
        common::card::pay_request(Amount::new("EUR", 2500), CaptureMode::Automatic, method);
    request.payment_redirect_url =
        Some(format!("{return_url}?order={}", request.payment_request_id));
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_pays_on_the_hosted_page_with_3ds_in_a_real_browser() {
    let Some((modules, chromium)) = prerequisites() else {
        return;
    };
    let sandbox = common::start(SandboxConfig::development()).await;
    let client = common::card::client(&sandbox, dev::CLIENT_ID);
    let merchant = ReturnServer::start().await;
    let return_url = format!("{}/return", merchant.base);
    let status_of = |request_id: String| {
        let client = client.clone();
        async move {
            client
                .inquiry_payment(&InquiryPaymentRequest::by_request_id(request_id))
                .await
                .unwrap()
                .body
        }
    };

    // Hosted page, 3DS asked, tokenize: 3220 needs the challenge; the buyer saves the card and passes it.
    let hosted = pay_request(
        &return_url,
        PaymentMethod::card(CardPaymentMethodMetaData {
            is_3ds_authentication: Some(true),
            tokenize: Some(true),
            ..CardPaymentMethodMetaData::default()
        }),
    );
    let reply = client.pay(&hosted).await.unwrap();
    assert_eq!(reply.outcome, Outcome::InProcess);
    let report = checkout(&modules, &chromium, {
        let mut order = save_3220_with_3ds(&reply.body.normal_url.clone().unwrap(), "30");
        order["returnUrlPrefix"] = merchant.base.clone().into();
        order
    })
    .await;
    merchant.assert_landed(
        &report,
        &["Card payment", "3D Secure verification"],
        &format!("/return?order={}", hosted.payment_request_id),
    );
    assert_eq!(merchant.hits.lock().unwrap().len(), 1);
    let inquiry = status_of(hosted.payment_request_id.clone()).await;
    assert_eq!(inquiry.payment_status, Some(PaymentStatus::Success));
    let facts = inquiry.card_facts().unwrap();
    assert_eq!(
        (facts.card_brand.as_deref(), facts.last_four.as_deref()),
        (Some("VISA"), Some("3220"))
    );
    assert_eq!(
        (facts.expiry_month.as_deref(), facts.expiry_year.as_deref()),
        (Some("12"), Some("30"))
    );
    assert_eq!(facts.three_ds_result.unwrap().challenged, Some(true));
    let token = facts.card_token.expect("the saved card's token");

    // The saved card pays again with no page: a merchant-initiated charge.
    let mit = pay_request(
        &return_url,
        PaymentMethod::stored_card(
            token,
            CardPaymentMethodMetaData {
                recurring_type: Some(RecurringType::Scheduled),
                ..CardPaymentMethodMetaData::default()
            },
        ),
    );
    assert_eq!(client.pay(&mit).await.unwrap().outcome, Outcome::Success);

    // A wrong OTP fails the payment, and the buyer still returns to the merchant.
    let wrong = pay_request(
        &return_url,
        PaymentMethod::card(CardPaymentMethodMetaData {
            is_3ds_authentication: Some(true),
            ..CardPaymentMethodMetaData::default()
        }),
    );
    let reply = client.pay(&wrong).await.unwrap();
    checkout(
        &modules,
        &chromium,
        json!({
            "url": reply.body.normal_url.clone().unwrap(),
            "returnUrlPrefix": merchant.base,
            "card": {"cardNo": "4000000000003220", "expiryMonth": "12", "expiryYear": "30"},
            "otp": "9999",
        }),
    )
    .await;
    let inquiry = status_of(wrong.payment_request_id.clone()).await;
    assert_eq!(inquiry.payment_status, Some(PaymentStatus::Fail));

    // Card data sent by the merchant, 3DS challenge in the browser.
    let challenged = pay_request(
        &return_url,
        PaymentMethod::card(CardPaymentMethodMetaData {
            card_no: Some(CardNumber::new("4000000000003063")),
            expiry_month: Some("01".into()),
            expiry_year: Some("31".into()),
            is_3ds_authentication: Some(true),
            ..CardPaymentMethodMetaData::default()
        }),
    );
    let reply = client.pay(&challenged).await.unwrap();
    assert_eq!(reply.outcome, Outcome::InProcess);
    let report = checkout(
        &modules,
        &chromium,
        json!({"url": reply.body.normal_url.clone().unwrap(), "returnUrlPrefix": merchant.base, "otp": "1234"}),
    )
    .await;
    assert_eq!(report["pages"], json!(["3D Secure verification"]));
    let inquiry = status_of(challenged.payment_request_id.clone()).await;
    assert_eq!(inquiry.payment_status, Some(PaymentStatus::Success));
    sandbox.shutdown().await;
}
