//! The sandbox as card issuer over real HTTP with real signatures: the gateway's own `alipay` client (aws-lc-rs)
//! calls it, the 3DS and hosted card pages are driven by posting their forms, and notifications are received and
//! verified by a real HTTP receiver. Covers every row of the card table, every AVS/CVV rule, the 3DS challenge,
//! the hosted page, tokenization with customer- and merchant-initiated stored-card charges, and capture, refund
//! and cancel on card payments.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use alipay::model::{
    Address, Amount, CaptureMode, CaptureRequest, CardNumber, CardPaymentMethodMetaData,
    InquiryPaymentRequest, MpiData, Notification, PayRequest, PaymentFactor, PaymentMethod,
    PaymentResultInfo, PaymentStatus, RecurringType, RefundRequest, Secret,
};
use alipay::{AlipayClient, Outcome, ResultCode};
use common::receiver::Receiver;
use sandbox::{RunningSandbox, SandboxConfig, dev};

const RETURN_URL: &str = "https://merchant.example/return";
const OTHER_CLIENT: &str = "OTHER_CARD_CLIENT";

/// A sandbox, the merchant's signed client, a browser-like HTTP client (no redirects followed) and a verifying
/// notification receiver.
struct Bank {
    sandbox: RunningSandbox,
    client: AlipayClient,
    browser: reqwest::Client,
    receiver: Receiver,
}

impl Bank {
    async fn start() -> Self {
        let receiver = Receiver::start(dev::ALIPAY_PUBLIC_KEY_PEM, dev::CLIENT_ID).await;
        let config = SandboxConfig::development()
            .with_merchant(OTHER_CLIENT, dev::MERCHANT_PUBLIC_KEY_PEM)
            .with_notify_redelivery(false);
        let sandbox = common::start(config).await;
        let client = common::card::client(&sandbox, dev::CLIENT_ID);
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            sandbox,
            client,
            browser,
            receiver,
        }
    }

    /// A card pay request: CASHIER_PAYMENT, CARD, a MANUAL authorization, a buyer environment, the return and
    /// notify URLs.
    fn request(&self, value: u64, method: PaymentMethod) -> PayRequest {
        let mut request =
            common::card::pay_request(Amount::new("USD", value), CaptureMode::Manual, method);
        request.payment_redirect_url = Some(RETURN_URL.into());
        request.payment_notify_url = Some(self.receiver.url("/alipay/notify"));
        request
    }

    async fn pay(&self, request: &PayRequest) -> alipay::Reply<alipay::model::PayResponse> {
        self.client.pay(request).await.unwrap()
    }

    async fn inquire(&self, request_id: &str) -> alipay::model::InquiryPaymentResponse {
        let reply = self
            .client
            .inquiry_payment(&InquiryPaymentRequest::by_request_id(request_id))
            .await
            .unwrap();
        assert_eq!(reply.outcome, Outcome::Success);
        reply.body
    }

    async fn get(&self, url: &str) -> (u16, String) {
        let response = self.browser.get(url).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts a page's form; returns the status and the `location` header.
    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> (u16, Option<String>) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .browser
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (response.status().as_u16(), location)
    }

    /// The PAYMENT_RESULT notification of a payment, parsed by the `alipay` crate.
    async fn notification(&self, request_id: &str) -> alipay::model::NotifyPayment {
        let received = self
            .receiver
            .wait_for_match(|n| {
                n["paymentRequestId"] == request_id && n["notifyType"] == "PAYMENT_RESULT"
            })
            .await;
        let Notification::Payment(notice) = Notification::parse(&received.body).unwrap() else {
            panic!("not a payment notification")
        };
        received.assert_verified();
        *notice
    }
}

fn card(number: &str) -> CardPaymentMethodMetaData {
    CardPaymentMethodMetaData {
        card_no: Some(CardNumber::new(number)),
        cvv: Some(Secret::new(if number.len() == 15 { "1234" } else { "123" })),
        expiry_month: Some("12".into()),
        expiry_year: Some("30".into()),
        ..CardPaymentMethodMetaData::default()
    }
}

fn with_3ds(mut meta: CardPaymentMethodMetaData) -> CardPaymentMethodMetaData {
    meta.is_3ds_authentication = Some(true);
    meta
}

fn facts(body: &alipay::model::PayResponse) -> PaymentResultInfo {
    body.payment_result_info.clone().expect("paymentResultInfo")
}

/// The expected pay outcome of a card-table row.
#[derive(Debug)]
enum Expect {
    Approved,
    Challenge,
    Declined(ResultCode, Option<&'static str>),
}

#[tokio::test]
async fn every_row_of_the_card_table() {
    let bank = Bank::start().await;
    let rows: Vec<(&str, CardPaymentMethodMetaData, Expect)> = vec![
        ("VISA approved", card("4111111111111111"), Expect::Approved),
        ("MC approved", card("5555555555554444"), Expect::Approved),
        ("AMEX approved", card("378282246310005"), Expect::Approved),
        (
            "3063 without 3DS",
            card("4000000000003063"),
            Expect::Approved,
        ),
        (
            "3063 with 3DS",
            with_3ds(card("4000000000003063")),
            Expect::Challenge,
        ),
        (
            "3220 without 3DS",
            card("4000000000003220"),
            Expect::Declined(ResultCode::AuthenticationRequired, None),
        ),
        (
            "3220 with 3DS",
            with_3ds(card("4000000000003220")),
            Expect::Challenge,
        ),
        (
            "3220 with upgrade",
            CardPaymentMethodMetaData {
                enable_authentication_upgrade: Some(true),
                ..card("4000000000003220")
            },
            Expect::Challenge,
        ),
        (
            "3220 with external 3DS",
            CardPaymentMethodMetaData {
                mpi_data: Some(MpiData {
                    three_ds_version: Some("2.2.0".into()),
                    eci: Some("05".into()),
                    cavv: Some(Secret::new("AAABBB")),
                    ds_transaction_id: Some("ds-1".into()),
                }),
                ..card("4000000000003220")
            },
            Expect::Approved,
        ),
        (
            "do not honor",
            card("4000000000000002"),
            Expect::Declined(ResultCode::DoNotHonor, Some("05")),
        ),
        (
            "insufficient funds",
            with_3ds(card("4000000000009995")),
            Expect::Declined(ResultCode::UserBalanceNotEnough, Some("51")),
        ),
        (
            "expired",
            card("4000000000000069"),
            Expect::Declined(ResultCode::CardExpired, None),
        ),
        (
            "invalid cvv",
            card("4000000000000127"),
            Expect::Declined(ResultCode::InvalidCvv, None),
        ),
        (
            "fraud",
            card("4100000000000019"),
            Expect::Declined(ResultCode::FraudReject, None),
        ),
        (
            "not supported",
            card("6200000000000005"),
            Expect::Declined(ResultCode::CardNotSupported, None),
        ),
        (
            "fails Luhn",
            card("4111111111111112"),
            Expect::Declined(ResultCode::InvalidCardNumber, None),
        ),
    ];
    for (name, meta, expect) in rows {
        let number = meta.card_no.clone().unwrap();
        let request = bank.request(1000, PaymentMethod::card(meta));
        let reply = bank.pay(&request).await;
        match expect {
            Expect::Approved => {
                assert_eq!(reply.outcome, Outcome::Success, "{name}: {:?}", reply.body);
                let info = facts(&reply.body);
                assert_eq!(info.last_four.as_deref(), Some(number.last4()), "{name}");
                assert!(info.network_transaction_id.is_some(), "{name}");
                assert!(info.authorization_code.is_some(), "{name}");
                assert!(reply.body.auth_expiry_time.is_some(), "{name}");
            }
            Expect::Challenge => {
                assert_eq!(reply.outcome, Outcome::InProcess, "{name}");
                let url = reply.body.normal_url.clone().unwrap();
                assert!(url.contains("/sandbox/3ds/"), "{name}: {url}");
                let form = reply.body.redirect_action_form.clone().unwrap();
                assert_eq!(form.redirect_url.as_deref(), Some(url.as_str()));
            }
            Expect::Declined(code, refusal) => {
                assert_eq!(
                    reply.outcome,
                    Outcome::Failed {
                        code: code.clone(),
                        message: reply.body.result.result_message.clone().unwrap_or_default()
                    },
                    "{name}"
                );
                let info = facts(&reply.body);
                assert!(info.refusal_code_raw.is_some(), "{name}");
                if let Some(refusal) = refusal {
                    assert_eq!(info.refusal_code_raw.as_deref(), Some(refusal), "{name}");
                }
                if code == ResultCode::InvalidCvv {
                    assert_eq!(info.cvv_result_raw.as_deref(), Some("N"));
                }
            }
        }
    }

    // 3DS asked of an approving card: frictionless, ECI 05 for VISA and 02 otherwise.
    for (number, brand, eci) in [
        ("4111111111111111", "VISA", "05"),
        ("5555555555554444", "MASTERCARD", "02"),
        ("378282246310005", "AMEX", "02"),
    ] {
        let reply = bank
            .pay(&bank.request(1000, PaymentMethod::card(with_3ds(card(number)))))
            .await;
        assert_eq!(reply.outcome, Outcome::Success);
        let info = facts(&reply.body);
        assert_eq!(info.card_brand.as_deref(), Some(brand));
        let three_ds = info.three_ds_result.unwrap();
        assert_eq!(three_ds.authentication.eci.as_deref(), Some(eci));
        assert_eq!(three_ds.challenged, Some(false));
        assert!(three_ds.authentication.cavv.is_some());
    }

    // The amount scenarios apply after the card table.
    let reply = bank
        .pay(&bank.request(91002, PaymentMethod::card(card("4111111111111111"))))
        .await;
    assert!(matches!(
        reply.outcome,
        Outcome::Failed {
            code: ResultCode::RiskReject,
            ..
        }
    ));
    let reply = bank
        .pay(&bank.request(91002, PaymentMethod::card(card("4000000000000002"))))
        .await;
    assert!(matches!(
        reply.outcome,
        Outcome::Failed {
            code: ResultCode::DoNotHonor,
            ..
        }
    ));
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn avs_by_postal_code_and_cvv_rules() {
    let bank = Bank::start().await;
    let with_zip = |zip: Option<&str>| CardPaymentMethodMetaData {
        billing_address: Some(Address {
            region: "US".into(),
            zip_code: zip.map(str::to_owned),
            ..Address::default()
        }),
        ..card("4111111111111111")
    };
    for (zip, letter) in [
        (Some("99990"), "N"),
        (Some("99991"), "A"),
        (Some("99992"), "Z"),
        (Some("99993"), "U"),
        (Some("99994"), "R"),
        (Some("10001"), "Y"),
        (None, "Y"),
    ] {
        let reply = bank
            .pay(&bank.request(1000, PaymentMethod::card(with_zip(zip))))
            .await;
        assert_eq!(reply.outcome, Outcome::Success, "{zip:?}");
        let info = facts(&reply.body);
        assert_eq!(info.avs_result_raw.as_deref(), Some(letter), "{zip:?}");
        assert_eq!(info.cvv_result_raw.as_deref(), Some("Y"));
    }
    let reply = bank
        .pay(&bank.request(1000, PaymentMethod::card(card("4111111111111111"))))
        .await;
    assert_eq!(
        facts(&reply.body).avs_result_raw,
        None,
        "no address, no AVS"
    );

    let cvv_000 = CardPaymentMethodMetaData {
        cvv: Some(Secret::new("000")),
        ..card("4111111111111111")
    };
    let reply = bank
        .pay(&bank.request(1000, PaymentMethod::card(cvv_000)))
        .await;
    assert_eq!(reply.outcome, Outcome::Success);
    assert_eq!(facts(&reply.body).cvv_result_raw.as_deref(), Some("N"));
    let no_cvv = CardPaymentMethodMetaData {
        cvv: None,
        ..card("4111111111111111")
    };
    let reply = bank
        .pay(&bank.request(1000, PaymentMethod::card(no_cvv)))
        .await;
    assert_eq!(facts(&reply.body).cvv_result_raw, None);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_3ds_challenge_passes_fails_and_cancels_by_its_form() {
    let bank = Bank::start().await;
    for (form, status, eci, cancel) in [
        (
            vec![("otp", "1234"), ("action", "submit")],
            PaymentStatus::Success,
            "05",
            None,
        ),
        (
            vec![("otp", "9999"), ("action", "submit")],
            PaymentStatus::Fail,
            "07",
            None,
        ),
        (
            vec![("otp", ""), ("action", "cancel")],
            PaymentStatus::Fail,
            "07",
            Some("01"),
        ),
    ] {
        let request = bank.request(
            1000,
            PaymentMethod::card(with_3ds(card("4000000000003063"))),
        );
        let reply = bank.pay(&request).await;
        assert_eq!(reply.outcome, Outcome::InProcess);
        let url = reply.body.normal_url.clone().unwrap();
        let (code, html) = bank.get(&url).await;
        assert_eq!(code, 200);
        assert!(html.contains("name=\"otp\"") && !html.contains("<script"));
        assert!(html.contains("VISA ending in 3063"));

        let (code, location) = bank.post_form(&url, &form).await;
        assert_eq!((code, location.as_deref()), (303, Some(RETURN_URL)));
        let (code, _) = bank.post_form(&url, &form).await;
        assert_eq!(code, 409, "a challenge is answered once");

        let inquiry = bank.inquire(&request.payment_request_id).await;
        assert_eq!(inquiry.payment_status, Some(status));
        let info = inquiry.card_facts().unwrap();
        let three_ds = info.three_ds_result.clone().unwrap();
        assert_eq!(three_ds.challenged, Some(true));
        assert_eq!(three_ds.authentication.eci.as_deref(), Some(eci));
        assert_eq!(three_ds.challenge_cancel.as_deref(), cancel);
        assert_eq!(
            three_ds.authentication.cavv.is_some(),
            status == PaymentStatus::Success
        );
        if status == PaymentStatus::Fail {
            assert_eq!(
                inquiry.payment_result_code,
                Some(ResultCode::UserPaymentVerificationFailed)
            );
        }

        let notice = bank.notification(&request.payment_request_id).await;
        assert_eq!(notice.is_paid(), status == PaymentStatus::Success);
        let notified = notice.card_facts().unwrap();
        assert_eq!(
            notified
                .three_ds_result
                .unwrap()
                .challenge_cancel
                .as_deref(),
            cancel
        );
        assert_eq!(notified.last_four.as_deref(), Some("3063"));
    }
    bank.sandbox.shutdown().await;
}

/// Pays on the hosted page with `number`, ticking "save card"; follows the 3DS page when it comes.
async fn pay_on_hosted_page(bank: &Bank, request: &PayRequest, number: &str) {
    let reply = bank.pay(request).await;
    assert_eq!(reply.outcome, Outcome::InProcess, "hosted mode answers U");
    let url = reply.body.normal_url.clone().unwrap();
    assert!(url.contains("/sandbox/card/"), "{url}");
    let (code, html) = bank.get(&url).await;
    assert_eq!(code, 200);
    assert!(
        html.contains("name=\"saveCard\""),
        "tokenize shows the save box"
    );
    assert!(!html.contains("<script") && !html.contains("src=\"http"));
    let (code, location) = bank
        .post_form(
            &url,
            &[
                ("cardNo", number),
                ("expiryMonth", "12"),
                ("expiryYear", "30"),
                ("cvv", "123"),
                ("cardholderName", "Jane Roe"),
                ("zipCode", "99992"),
                ("saveCard", "on"),
                ("action", "pay"),
            ],
        )
        .await;
    assert_eq!(code, 303);
    let location = location.unwrap();
    if location.contains("/sandbox/3ds/") {
        let (code, back) = bank
            .post_form(&location, &[("otp", "1234"), ("action", "submit")])
            .await;
        assert_eq!((code, back.as_deref()), (303, Some(RETURN_URL)));
    } else {
        assert_eq!(location, RETURN_URL);
    }
}

fn hosted(bank: &Bank, value: u64) -> PayRequest {
    bank.request(
        value,
        PaymentMethod::card(CardPaymentMethodMetaData {
            is_3ds_authentication: Some(true),
            tokenize: Some(true),
            ..CardPaymentMethodMetaData::default()
        }),
    )
}

#[tokio::test]
async fn hosted_page_tokenizes_then_stored_card_cit_and_mit() {
    let bank = Bank::start().await;
    let request = hosted(&bank, 1000);
    pay_on_hosted_page(&bank, &request, "4000000000003220").await;

    let inquiry = bank.inquire(&request.payment_request_id).await;
    assert_eq!(inquiry.payment_status, Some(PaymentStatus::Success));
    let card_info = inquiry.card_info.clone().unwrap();
    let token = card_info.card_token.clone().unwrap();
    assert_eq!(card_info.card_brand.as_deref(), Some("VISA"));
    assert_eq!(card_info.card_no.as_deref(), Some("400000******3220"));
    let info = inquiry.payment_result_info.clone().unwrap();
    assert_eq!(info.avs_check(), alipay::model::AvsCheck::Partial);
    assert_eq!(info.cvv_check(), alipay::model::CvvCheck::Match);
    assert_eq!(
        (info.expiry_month.as_deref(), info.expiry_year.as_deref()),
        (Some("12"), Some("30"))
    );
    assert_eq!(info.three_ds_result.unwrap().challenged, Some(true));
    let notice = bank.notification(&request.payment_request_id).await;
    assert_eq!(
        notice.card_facts().unwrap().card_token.as_ref(),
        Some(&token),
        "the notification carries the token"
    );

    // A customer-initiated stored-card charge asking for 3DS meets the challenge again.
    let cit = bank.request(
        2000,
        PaymentMethod::stored_card(
            token.clone(),
            with_3ds(CardPaymentMethodMetaData::default()),
        ),
    );
    let reply = bank.pay(&cit).await;
    assert_eq!(reply.outcome, Outcome::InProcess);
    let url = reply.body.normal_url.clone().unwrap();
    assert!(url.contains("/sandbox/3ds/"));
    bank.post_form(&url, &[("otp", "1234"), ("action", "submit")])
        .await;
    let inquiry = bank.inquire(&cit.payment_request_id).await;
    assert_eq!(inquiry.payment_status, Some(PaymentStatus::Success));
    assert_eq!(
        inquiry.card_facts().unwrap().card_token,
        Some(token.clone())
    );

    // A merchant-initiated charge skips 3DS, even on a card that requires it.
    let mit = bank.request(
        3000,
        PaymentMethod::stored_card(
            token.clone(),
            CardPaymentMethodMetaData {
                recurring_type: Some(RecurringType::Unscheduled),
                network_transaction_id: info.network_transaction_id.clone(),
                ..CardPaymentMethodMetaData::default()
            },
        ),
    );
    let reply = bank.pay(&mit).await;
    assert_eq!(reply.outcome, Outcome::Success, "{:?}", reply.body);
    let mit_facts = facts(&reply.body);
    assert_eq!(mit_facts.last_four.as_deref(), Some("3220"));
    assert!(mit_facts.three_ds_result.is_none());

    // The leak scans of the gateway's logs look for the token the sandbox issued.
    let credentials = bank.sandbox.credentials_probe().credentials();
    assert!(credentials.iter().any(|c| c == token.expose()));

    // The token is bound to the client that created it.
    let other = common::card::client(&bank.sandbox, OTHER_CLIENT);
    let reply = other
        .pay(&bank.request(
            1000,
            PaymentMethod::stored_card(token.clone(), CardPaymentMethodMetaData::default()),
        ))
        .await
        .unwrap();
    assert!(matches!(
        reply.outcome,
        Outcome::Failed {
            code: ResultCode::InvalidToken,
            ..
        }
    ));
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_tokens_are_declined_and_unticked_boxes_save_nothing() {
    let bank = Bank::start().await;
    let reply = bank
        .pay(&bank.request(
            1000,
            PaymentMethod::stored_card("SBXCARDnot-issued", CardPaymentMethodMetaData::default()),
        ))
        .await;
    assert!(matches!(
        reply.outcome,
        Outcome::Failed {
            code: ResultCode::InvalidToken,
            ..
        }
    ));

    // Hosted without tokenize: no save box, no token.
    let request = bank.request(1000, PaymentMethod::of_type("CARD"));
    let reply = bank.pay(&request).await;
    let url = reply.body.normal_url.clone().unwrap();
    let (_, html) = bank.get(&url).await;
    assert!(!html.contains("saveCard"));
    let (code, location) = bank
        .post_form(
            &url,
            &[
                ("cardNo", "4111 1111 1111 1111"),
                ("expiryMonth", "12"),
                ("expiryYear", "30"),
                ("saveCard", "on"),
            ],
        )
        .await;
    assert_eq!((code, location.as_deref()), (303, Some(RETURN_URL)));
    let inquiry = bank.inquire(&request.payment_request_id).await;
    assert_eq!(inquiry.payment_status, Some(PaymentStatus::Success));
    assert!(inquiry.card_facts().unwrap().card_token.is_none());

    // A declined card on the hosted page fails the payment.
    let request = hosted(&bank, 1000);
    let reply = bank.pay(&request).await;
    let url = reply.body.normal_url.clone().unwrap();
    let (code, _) = bank
        .post_form(&url, &[("cardNo", "4000000000000002"), ("saveCard", "on")])
        .await;
    assert_eq!(code, 303);
    let notice = bank.notification(&request.payment_request_id).await;
    assert_eq!(notice.result.result_code, ResultCode::DoNotHonor);
    assert!(notice.card_facts().unwrap().card_token.is_none());
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn capture_refund_and_cancel_work_on_card_payments() {
    let bank = Bank::start().await;
    let auth = bank.request(5000, PaymentMethod::card(card("5555555555554444")));
    let reply = bank.pay(&auth).await;
    assert_eq!(reply.outcome, Outcome::Success);
    let payment_id = reply.body.payment_id.clone().unwrap();
    let capture = bank
        .client
        .capture(&CaptureRequest {
            capture_request_id: common::unique("cap"),
            payment_id: payment_id.clone(),
            capture_amount: Amount::new("USD", 5000),
            is_last_capture: None,
        })
        .await
        .unwrap();
    assert_eq!(capture.outcome, Outcome::Success);
    let refund = bank
        .client
        .refund(&RefundRequest::new(
            common::unique("ref"),
            payment_id,
            Amount::new("USD", 2000),
        ))
        .await
        .unwrap();
    assert_eq!(refund.outcome, Outcome::Success);

    let void = bank.request(5000, PaymentMethod::card(card("4111111111111111")));
    bank.pay(&void).await;
    let cancel = bank
        .client
        .cancel(&alipay::model::CancelRequest::by_request_id(
            void.payment_request_id.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(cancel.outcome, Outcome::Success);
    let inquiry = bank.inquire(&void.payment_request_id).await;
    assert_eq!(inquiry.payment_status, Some(PaymentStatus::Cancelled));
    assert!(
        inquiry.card_facts().is_some(),
        "a voided card keeps its facts"
    );

    // AUTOMATIC capture: captured at once, reported by notifyCapture.
    let mut automatic = bank.request(4000, PaymentMethod::card(card("4111111111111111")));
    automatic.payment_factor = Some(PaymentFactor {
        is_authorization: Some(true),
        capture_mode: Some(CaptureMode::Automatic),
        ..PaymentFactor::default()
    });
    let reply = bank.pay(&automatic).await;
    let payment_id = reply.body.payment_id.clone().unwrap();
    bank.receiver
        .wait_for_match(|n| {
            n["notifyType"] == "CAPTURE_RESULT" && n["paymentId"] == payment_id.as_str()
        })
        .await;
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn full_card_numbers_never_leave_the_issuer() {
    let bank = Bank::start().await;
    let request = bank.request(
        1000,
        PaymentMethod::card(with_3ds(card("4000000000003063"))),
    );
    let reply = bank.pay(&request).await;
    let url = reply.body.normal_url.clone().unwrap();
    let (_, page) = bank.get(&url).await;
    bank.post_form(&url, &[("otp", "1234"), ("action", "submit")])
        .await;
    bank.notification(&request.payment_request_id).await;
    let listing = bank
        .browser
        .get(format!("{}/sandbox/notifications", bank.sandbox.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let inquiry = serde_json::to_string(&bank.inquire(&request.payment_request_id).await).unwrap();
    for text in [&page, &listing, &inquiry] {
        assert!(!text.contains("4000000000003063"));
    }
    assert!(page.contains("ending in 3063") && inquiry.contains("400000******3063"));
    // A replay is recognised without the body being kept, and a changed card is a different request.
    let replay = bank.pay(&request).await;
    assert_eq!(replay.body.payment_id, reply.body.payment_id);
    let mut changed = request.clone();
    changed.payment_method = PaymentMethod::card(with_3ds(card("4111111111111111")));
    let reply = bank.pay(&changed).await;
    assert!(matches!(
        reply.outcome,
        Outcome::Failed {
            code: ResultCode::RepeatReqInconsistent,
            ..
        }
    ));
    bank.sandbox.shutdown().await;
}
