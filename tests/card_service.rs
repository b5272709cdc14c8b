//! CardService end to end: the real gateway binary over gRPC, the sandbox as card issuer over real signed HTTP, and
//! both stores. The card table and the AVS/CVV rules, MANUAL then Capture, AUTOMATIC, Void, the `card_void_on`
//! policy, tokenize then stored-card charges (customer- and merchant-initiated), DeleteCardToken, the card summary of
//! GetPayment and ListPayments, a 3DS challenge and the hosted page passed by posting the sandbox's forms and again
//! in a real headless browser (tests/browser/card_checkout.js; skipped locally without playwright-core and Chromium,
//! failing under CI), and bad card input that never reaches the sandbox. Every scenario ends by checking that the
//! store and the gateway log hold no card number, CVV or plaintext cardToken.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;
#[path = "browser/driver.rs"]
mod driver;

use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;
use pb::{AvsCheck, CvvCheck, PaymentStatus};
use sea_orm::ConnectionTrait;
use tonic::Code;
use tonic_types::StatusExt;

/// (billing postal code, CVV, avsResultRaw, AVS verdict, cvvResultRaw, CVV verdict)
type AvsRow = (
    Option<&'static str>,
    &'static str,
    &'static str,
    AvsCheck,
    &'static str,
    CvvCheck,
);

fn three_ds(ask: bool, upgrade: bool) -> Option<pb::ThreeDsOptions> {
    Some(pb::ThreeDsOptions {
        is_3ds_authentication: ask,
        enable_authentication_upgrade: upgrade,
    })
}

async fn authorize_ok(
    gateway: &GatewayProcess,
    request: pb::AuthorizeCardRequest,
) -> pb::CardPayment {
    gateway
        .cards()
        .await
        .authorize_card(request)
        .await
        .unwrap_or_else(|s| panic!("authorize failed: {s:?}\n{}", gateway.log()))
        .into_inner()
        .card_payment
        .expect("card payment")
}

async fn get_card(gateway: &GatewayProcess, id: &str) -> pb::CardPayment {
    gateway
        .cards()
        .await
        .get_card_payment(pb::GetCardPaymentRequest {
            payment_request_id: id.into(),
        })
        .await
        .expect("get card payment")
        .into_inner()
        .card_payment
        .expect("card payment")
}

fn status_of(c: &pb::CardPayment) -> i32 {
    c.payment.as_ref().expect("payment").status
}

fn summary(c: &pb::CardPayment) -> &pb::CardSummary {
    c.payment
        .as_ref()
        .and_then(|p| p.card.as_ref())
        .unwrap_or_else(|| panic!("no card summary in {c:?}"))
}

async fn wait_for_card(
    gateway: &GatewayProcess,
    id: &str,
    status: PaymentStatus,
) -> pb::CardPayment {
    eventually(
        &format!("card payment {id} to become {status:?}"),
        Duration::from_secs(20),
        || async move {
            let c = get_card(gateway, id).await;
            (status_of(&c) == status as i32).then_some(c)
        },
    )
    .await
}

/// The pay request the gateway sent for `id`, as the call log recorded it (credentials masked).
async fn pay_request_sent(db: &TestDb, id: &str) -> serde_json::Value {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use store::entity::alipay_call::{Column, Entity};
    eventually(
        "the pay call in the call log",
        Duration::from_secs(10),
        || async {
            let store = db.store().await;
            let rows = Entity::find()
                .filter(Column::RequestId.eq(id))
                .all(store.connection())
                .await
                .expect("read the call log");
            store.close().await.expect("close");
            rows.into_iter()
                .find(|r| r.endpoint.ends_with("payments/pay"))
                .and_then(|r| r.request_json)
                .map(|json| serde_json::from_str(&json).expect("request JSON"))
        },
    )
    .await
}

/// The gateway of the card tests: logging at trace level, so the log scan sees everything it could log.
async fn start_card_gateway(db: &TestDb) -> (sandbox::RunningSandbox, GatewayProcess) {
    let sandbox = start_sandbox(Duration::from_secs(10)).await;
    let gateway = start_card_gateway_on(db, &sandbox, None);
    (sandbox, gateway)
}

/// [`start_card_gateway`]'s gateway against a given sandbox, with `card_void_on` set when given.
fn start_card_gateway_on(
    db: &TestDb,
    sandbox: &sandbox::RunningSandbox,
    card_void_on: Option<&str>,
) -> GatewayProcess {
    let mut extra_env = vec![("ALIPAY_GATEWAY_LOG", "trace".to_owned())];
    extra_env.extend(card_void_on.map(|policy| ("ALIPAY_GATEWAY_CARD_VOID_ON", policy.to_owned())));
    let options = GatewayOptions {
        extra_env,
        ..GatewayOptions::default()
    };
    GatewayProcess::start(db, sandbox, &options)
}

/// What the store and the log hold, as text: every row of every table (PostgreSQL), the database files (SQLite),
/// and the gateway's log.
async fn everything_kept(db: &TestDb, gateway: &GatewayProcess) -> Vec<(String, String)> {
    let mut kept = vec![("gateway log".to_owned(), gateway.log())];
    if db.postgres_name().is_some() {
        let store = db.store().await;
        let conn = store.connection();
        let backend = conn.get_database_backend();
        let tables = conn
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = 'public'",
            ))
            .await
            .expect("list tables");
        for table in tables {
            let name: String = table.try_get("", "name").expect("table name");
            let rows = conn
                .query_all_raw(sea_orm::Statement::from_string(
                    backend,
                    format!("SELECT CAST(t AS text) AS row FROM \"{name}\" t"),
                ))
                .await
                .expect("dump table");
            let text: Vec<String> = rows
                .iter()
                .map(|r| r.try_get::<String>("", "row").expect("row text"))
                .collect();
            kept.push((format!("table {name}"), text.join("\n")));
        }
        store.close().await.expect("close");
    } else {
        for entry in std::fs::read_dir(db.dir.path()).expect("read dir") {
            let path = entry.expect("entry").path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("gateway.db"))
            {
                let bytes = std::fs::read(&path).expect("read db file");
                kept.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    kept
}

/// No card number, CVV key, cardholder name or plaintext cardToken in the store or the log.
async fn assert_no_card_data(db: &TestDb, gateway: &GatewayProcess) {
    let kept = everything_kept(db, gateway).await;
    assert!(kept.len() > 1 && !kept[0].1.is_empty(), "nothing to scan");
    for (what, text) in &kept {
        for secret in sandbox::TEST_CARDS
            .iter()
            .copied()
            .chain(["SBXCARD", "Jane", "Springfield"])
        {
            assert!(!text.contains(secret), "{secret} found in {what}");
        }
        // The call log keeps the request's keys, never the CVV's value.
        for after in text.split("\"cvv\":").skip(1) {
            assert!(after.trim_start().starts_with("\"***\""), "a CVV in {what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_table_and_the_avs_and_cvv_rules() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_card_gateway(&db).await;
        // (card, 3DS asked, upgrade, status, Alipay's code, refusalCodeRaw, brand)
        let rows: &[(&str, bool, bool, PaymentStatus, &str, &str, &str)] = &[
            (
                "4111111111111111",
                false,
                false,
                PaymentStatus::Success,
                "SUCCESS",
                "",
                "VISA",
            ),
            (
                "5555555555554444",
                false,
                false,
                PaymentStatus::Success,
                "SUCCESS",
                "",
                "MASTERCARD",
            ),
            (
                "378282246310005",
                false,
                false,
                PaymentStatus::Success,
                "SUCCESS",
                "",
                "AMEX",
            ),
            (
                "4111111111111111",
                true,
                false,
                PaymentStatus::Success,
                "SUCCESS",
                "",
                "VISA",
            ),
            (
                "4000000000003063",
                false,
                false,
                PaymentStatus::Success,
                "SUCCESS",
                "",
                "VISA",
            ),
            (
                "4000000000003063",
                true,
                false,
                PaymentStatus::Processing,
                "PAYMENT_IN_PROCESS",
                "",
                "",
            ),
            (
                "4000000000003220",
                false,
                false,
                PaymentStatus::Fail,
                "AUTHENTICATION_REQUIRED",
                "1A",
                "VISA",
            ),
            (
                "4000000000003220",
                false,
                true,
                PaymentStatus::Processing,
                "PAYMENT_IN_PROCESS",
                "",
                "",
            ),
            (
                "4000000000000002",
                false,
                false,
                PaymentStatus::Fail,
                "DO_NOT_HONOR",
                "05",
                "VISA",
            ),
            (
                "4000000000009995",
                false,
                false,
                PaymentStatus::Fail,
                "USER_BALANCE_NOT_ENOUGH",
                "51",
                "VISA",
            ),
            (
                "4000000000000069",
                false,
                false,
                PaymentStatus::Fail,
                "CARD_EXPIRED",
                "54",
                "VISA",
            ),
            (
                "4000000000000127",
                false,
                false,
                PaymentStatus::Fail,
                "INVALID_CVV",
                "N7",
                "VISA",
            ),
            (
                "4100000000000019",
                false,
                false,
                PaymentStatus::Fail,
                "FRAUD_REJECT",
                "59",
                "VISA",
            ),
            (
                "6200000000000005",
                false,
                false,
                PaymentStatus::Fail,
                "CARD_NOT_SUPPORTED",
                "57",
                "CUP",
            ),
        ];
        for (i, &(number, ask, upgrade, status, code, refusal, brand)) in rows.iter().enumerate() {
            let id = request_id(&format!("row{i}"));
            let mut request = with_card(&id, card(number));
            request.three_ds = three_ds(ask, upgrade);
            let got = authorize_ok(&gateway, request).await;
            let row = format!("row {i} ({number}, 3DS {ask}, upgrade {upgrade}): {got:?}");
            assert_eq!(status_of(&got), status as i32, "{row}");
            let payment = got.payment.as_ref().unwrap();
            assert_eq!(payment.payment_method_type, "CARD", "{row}");
            assert_eq!(
                payment.last_alipay_result.as_ref().unwrap().result_code,
                code,
                "{row}"
            );
            assert_eq!(got.refusal_code_raw, refusal, "{row}");
            if status == PaymentStatus::Processing {
                assert!(card_redirect_url(&got).contains("/sandbox/3ds/"), "{row}");
                continue;
            }
            assert_eq!(summary(&got).card_brand, brand, "{row}");
            assert_eq!(summary(&got).last_four, number[number.len() - 4..], "{row}");
            if status == PaymentStatus::Success {
                assert!(!got.authorization_code.is_empty(), "{row}");
                assert!(!summary(&got).network_transaction_id.is_empty(), "{row}");
            }
            if ask {
                let result = got.three_ds_result.as_ref().expect("3DS result");
                assert!(!result.challenged, "frictionless: {row}");
                assert_eq!(result.eci, "05", "{row}");
            }
            if number == "4000000000000127" {
                let checks = got.card_check_results.as_ref().unwrap();
                assert_eq!(
                    (checks.cvv_result_raw.as_str(), checks.cvv_check),
                    ("N", CvvCheck::NoMatch as i32)
                );
            }
            // GetCardPayment reads the same from the store.
            let stored = get_card(&gateway, &id).await;
            assert_eq!(stored.refusal_code_raw, got.refusal_code_raw, "{row}");
            assert_eq!(summary(&stored).last_four, summary(&got).last_four, "{row}");
        }

        // A decline replayed is the recorded answer (no second Alipay call); other content is ALREADY_EXISTS.
        let declined = request_id("replay");
        let first = authorize_ok(&gateway, with_card(&declined, card("4000000000000002"))).await;
        let again = authorize_ok(&gateway, with_card(&declined, card("4000000000000002"))).await;
        assert_eq!(first, again);
        assert_eq!(status_of(&again), PaymentStatus::Fail as i32);
        let clash = gateway
            .cards()
            .await
            .authorize_card(with_card(&declined, card("4111111111111111")))
            .await
            .expect_err("other card, same id");
        assert_eq!(clash.code(), Code::AlreadyExists);
        assert_eq!(sandbox.stats().request_calls("payments/pay", &declined), 1);

        // AVS by billing postal code, CVV by value; no address and no CVV: no codes.
        let avs_rows: &[AvsRow] = &[
            (
                Some("99990"),
                "123",
                "N",
                AvsCheck::NoMatch,
                "Y",
                CvvCheck::Match,
            ),
            (
                Some("99991"),
                "123",
                "A",
                AvsCheck::Partial,
                "Y",
                CvvCheck::Match,
            ),
            (
                Some("99992"),
                "123",
                "Z",
                AvsCheck::Partial,
                "Y",
                CvvCheck::Match,
            ),
            (
                Some("99993"),
                "123",
                "U",
                AvsCheck::NotChecked,
                "Y",
                CvvCheck::Match,
            ),
            (
                Some("99994"),
                "123",
                "R",
                AvsCheck::Error,
                "Y",
                CvvCheck::Match,
            ),
            (
                Some("10001"),
                "000",
                "Y",
                AvsCheck::Match,
                "N",
                CvvCheck::NoMatch,
            ),
            (None, "123", "", AvsCheck::NotChecked, "Y", CvvCheck::Match),
            (
                Some("10001"),
                "",
                "Y",
                AvsCheck::Match,
                "",
                CvvCheck::NotChecked,
            ),
        ];
        for (i, &(zip, cvv, avs_raw, avs, cvv_raw, cvv_check)) in avs_rows.iter().enumerate() {
            let id = request_id(&format!("avs{i}"));
            let mut details = card("4111111111111111");
            details.cvv = cvv.into();
            details.billing_address = zip.map(|zip| pb::Address {
                region: "US".into(),
                city: "Springfield".into(),
                zip_code: zip.into(),
                ..Default::default()
            });
            let got = authorize_ok(&gateway, with_card(&id, details)).await;
            let row = format!("AVS row {i}: {got:?}");
            assert_eq!(status_of(&got), PaymentStatus::Success as i32, "{row}");
            let checks = got.card_check_results.as_ref().expect("check results");
            assert_eq!(checks.avs_result_raw, avs_raw, "{row}");
            assert_eq!(checks.avs_check, avs as i32, "{row}");
            assert_eq!(checks.cvv_result_raw, cvv_raw, "{row}");
            assert_eq!(checks.cvv_check, cvv_check as i32, "{row}");
        }
        let mut bare = card("4111111111111111");
        bare.cvv.clear();
        let got = authorize_ok(&gateway, with_card(&request_id("bare"), bare)).await;
        assert_eq!(got.card_check_results, None, "no address, no CVV: no codes");
        assert!(sandbox.stats().endpoint_calls("payments/pay") >= 23);
        assert_no_card_data(&db, &gateway).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_then_capture_automatic_and_void() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_card_gateway(&db).await;
        let mut payments = gateway.payments().await;
        let mut client = gateway.cards().await;

        // MANUAL: authorized, not captured; Capture through PaymentService, then Void is refused.
        let manual = request_id("manual");
        let mut request = with_card(&manual, card("4111111111111111"));
        request.capture_mode = pb::CaptureMode::Manual as i32;
        let authorized = authorize_ok(&gateway, request).await;
        let p = authorized.payment.as_ref().unwrap();
        assert_eq!(p.status, PaymentStatus::Success as i32);
        assert_eq!(p.capture_mode, pb::CaptureMode::Manual as i32);
        assert_eq!(p.captured_amount.as_ref().unwrap().value, 0);
        let capture = payments
            .capture(pb::CaptureRequest {
                capture_request_id: request_id("cap"),
                payment_request_id: manual.clone(),
                capture_amount: php(1000),
                is_last_capture: true,
            })
            .await
            .unwrap_or_else(|s| panic!("capture: {s:?}\n{}", gateway.log()))
            .into_inner()
            .capture
            .expect("capture");
        assert_eq!(capture.payment_request_id, manual);
        let captured = eventually("the capture to count", Duration::from_secs(20), || async {
            let c = get_card(&gateway, &manual).await;
            (c.payment.as_ref()?.captured_amount.as_ref()?.value == 1000).then_some(c)
        })
        .await;
        assert_eq!(summary(&captured).card_brand, "VISA");
        let refused = client
            .void_card_authorization(pb::VoidCardAuthorizationRequest {
                payment_request_id: manual.clone(),
            })
            .await
            .expect_err("captured");
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert_eq!(error_info(&refused).0, "PAYMENT_ALREADY_CAPTURED");

        // AUTOMATIC: captured at once; Void refused; Refund and Inquire work on it.
        let automatic = request_id("auto");
        let auto = authorize_ok(&gateway, with_card(&automatic, card("5555555555554444"))).await;
        assert_eq!(status_of(&auto), PaymentStatus::Success as i32);
        assert_eq!(
            auto.payment.as_ref().unwrap().capture_mode,
            pb::CaptureMode::Automatic as i32
        );
        let refused = client
            .void_card_authorization(pb::VoidCardAuthorizationRequest {
                payment_request_id: automatic.clone(),
            })
            .await
            .expect_err("automatic is captured");
        assert_eq!(error_info(&refused).0, "PAYMENT_ALREADY_CAPTURED");
        let refund = payments
            .refund(pb::RefundRequest {
                refund_request_id: request_id("refund"),
                payment_request_id: automatic.clone(),
                refund_amount: php(400),
                refund_reason: "returned".into(),
            })
            .await
            .unwrap_or_else(|s| panic!("refund: {s:?}\n{}", gateway.log()))
            .into_inner()
            .refund
            .expect("refund");
        assert_eq!(refund.payment_request_id, automatic);
        let inquired = payments
            .inquire_payment(pb::InquirePaymentRequest {
                payment_request_id: automatic.clone(),
            })
            .await
            .expect("inquire")
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(inquired.status, PaymentStatus::Success as i32);

        // Void of an uncaptured MANUAL authorization: CANCELLED at Alipay, then idempotent.
        let voided_id = request_id("void");
        let mut request = with_card(&voided_id, card("378282246310005"));
        request.capture_mode = pb::CaptureMode::Manual as i32;
        authorize_ok(&gateway, request).await;
        for _ in 0..2 {
            let voided = client
                .void_card_authorization(pb::VoidCardAuthorizationRequest {
                    payment_request_id: voided_id.clone(),
                })
                .await
                .unwrap_or_else(|s| panic!("void: {s:?}\n{}", gateway.log()))
                .into_inner()
                .card_payment
                .expect("card payment");
            assert_eq!(status_of(&voided), PaymentStatus::Cancelled as i32);
        }
        assert_eq!(
            sandbox.stats().request_calls("payments/cancel", &voided_id),
            1
        );

        // PaymentService.CancelPayment works on a card payment waiting for the buyer (3DS challenge).
        let waiting = request_id("cancel");
        let mut request = with_card(&waiting, card("4000000000003063"));
        request.three_ds = three_ds(true, false);
        authorize_ok(&gateway, request).await;
        let cancelled = payments
            .cancel_payment(pb::CancelPaymentRequest {
                payment_request_id: waiting.clone(),
            })
            .await
            .unwrap_or_else(|s| panic!("cancel: {s:?}\n{}", gateway.log()))
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(cancelled.status, PaymentStatus::Cancelled as i32);

        // An unknown payment: NOT_FOUND (a wallet payment too: tests/wallet_flow.rs).
        let missing = client
            .get_card_payment(pb::GetCardPaymentRequest {
                payment_request_id: "never-paid".into(),
            })
            .await
            .expect_err("unknown");
        assert_eq!(missing.code(), Code::NotFound);
        assert_no_card_data(&db, &gateway).await;
    })
    .await;
}

/// A MANUAL authorization of a VISA test card with this billing postal code and CVV.
fn manual_with_checks(id: &str, zip: &str, cvv: &str) -> pb::AuthorizeCardRequest {
    let mut details = card("4111111111111111");
    details.cvv = cvv.into();
    details.billing_address = Some(pb::Address {
        region: "US".into(),
        city: "Springfield".into(),
        zip_code: zip.into(),
        ..Default::default()
    });
    let mut request = with_card(id, details);
    request.capture_mode = pb::CaptureMode::Manual as i32;
    request
}

fn result_code(c: &pb::CardPayment) -> &str {
    c.payment
        .as_ref()
        .and_then(|p| p.last_alipay_result.as_ref())
        .map_or("", |r| r.result_code.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_void_on_voids_manual_authorizations_with_a_named_verdict() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;

        // Without the policy an AVS N authorization stays SUCCESS and nothing is cancelled.
        let gateway = start_card_gateway_on(&db, &sandbox, None);
        let kept = request_id("avs-kept");
        let got = authorize_ok(&gateway, manual_with_checks(&kept, "99990", "123")).await;
        assert_eq!(status_of(&got), PaymentStatus::Success as i32, "{got:?}");
        assert_eq!(got.card_check_results.as_ref().unwrap().avs_result_raw, "N");
        assert_eq!(sandbox.stats().request_calls("payments/cancel", &kept), 0);
        assert!(gateway.terminate().success());

        let gateway = start_card_gateway_on(&db, &sandbox, Some("avs:NO_MATCH,cvv:NO_MATCH"));
        // (postal code, CVV, capture mode, status, result code, cancels at Alipay)
        #[rustfmt::skip]
        let rows: &[(&str, &str, pb::CaptureMode, PaymentStatus, &str, u64)] = &[
            ("99990", "123", pb::CaptureMode::Manual, PaymentStatus::Cancelled, "AVS_REJECTED", 1),
            ("12345", "000", pb::CaptureMode::Manual, PaymentStatus::Cancelled, "CVV_REJECTED", 1),
            ("99990", "000", pb::CaptureMode::Manual, PaymentStatus::Cancelled, "AVS_REJECTED", 1),
            ("99991", "123", pb::CaptureMode::Manual, PaymentStatus::Success, "SUCCESS", 0),
            ("12345", "123", pb::CaptureMode::Manual, PaymentStatus::Success, "SUCCESS", 0),
            // Money already captured is never voided by the policy.
            ("99990", "000", pb::CaptureMode::Automatic, PaymentStatus::Success, "SUCCESS", 0),
        ];
        for (i, &(zip, cvv, mode, status, code, cancels)) in rows.iter().enumerate() {
            let id = request_id("void-on");
            let mut request = manual_with_checks(&id, zip, cvv);
            request.capture_mode = mode as i32;
            let got = authorize_ok(&gateway, request.clone()).await;
            let row = format!("row {i}: {got:?}");
            assert_eq!(status_of(&got), status as i32, "{row}");
            assert_eq!(result_code(&got), code, "{row}");
            assert_eq!(get_card(&gateway, &id).await, got, "{row}");
            // A replay answers the same payment and cancels nothing more.
            let replayed = authorize_ok(&gateway, request).await;
            assert_eq!(status_of(&replayed), status as i32, "{row}");
            assert_eq!(
                sandbox.stats().request_calls("payments/cancel", &id),
                cancels,
                "{row}"
            );
        }
        // Approved later, after a 3DS challenge: the AVS result comes with the approval (by notification or
        // inquiry), and the void planned with it is a job committed in the same transaction.
        let challenged = request_id("void-on-3ds");
        let mut request = manual_with_checks(&challenged, "99990", "123");
        if let Some(pb::authorize_card_request::CardSource::Card(card)) = &mut request.card_source {
            card.card_no = "4000000000003063".into();
        }
        request.three_ds = three_ds(true, false);
        let got = authorize_ok(&gateway, request).await;
        assert_eq!(status_of(&got), PaymentStatus::Processing as i32, "{got:?}");
        submit_sandbox_page(&card_redirect_url(&got), "otp=1234&action=submit").await;
        let voided = wait_for_card(&gateway, &challenged, PaymentStatus::Cancelled).await;
        assert_eq!(result_code(&voided), "AVS_REJECTED", "{voided:?}");
        assert_eq!(
            voided.card_check_results.as_ref().unwrap().avs_result_raw,
            "N"
        );
        assert_eq!(
            sandbox
                .stats()
                .request_calls("payments/cancel", &challenged),
            1
        );
        // The payment kept before the policy was set is left alone.
        assert_eq!(
            status_of(&get_card(&gateway, &kept).await),
            PaymentStatus::Success as i32
        );
        assert_no_card_data(&db, &gateway).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_list_payments_show_the_card_summary() {
    for_each_backend(|db| async move {
        let (_sandbox, gateway) = start_card_gateway(&db).await;
        let customer = request_id("card-customer");
        // (card, tokenize, brand, last four)
        let rows = [
            ("4111111111111111", true, "VISA", "1111"),
            ("5555555555554444", false, "MASTERCARD", "4444"),
            ("378282246310005", false, "AMEX", "0005"),
        ];
        let mut expected = Vec::new();
        for (number, tokenize, brand, last_four) in rows {
            let id = request_id("summary");
            let mut request = with_card(&id, card(number));
            request.tokenize = tokenize;
            request.customer_id = customer.clone();
            let authorized = authorize_ok(&gateway, request).await;
            let token = summary(&authorized).card_token.clone();
            assert_eq!(token.is_empty(), !tokenize, "{authorized:?}");
            expected.push((id, brand, last_four, token));
        }
        let mut payments = gateway.payments().await;
        let listed = payments
            .list_payments(pb::ListPaymentsRequest {
                customer_id: customer.clone(),
                page_size: 10,
                ..Default::default()
            })
            .await
            .expect("list payments")
            .into_inner()
            .payments;
        assert_eq!(listed.len(), expected.len(), "{listed:?}");
        for (id, brand, last_four, token) in &expected {
            let got = get_payment(&gateway, id).await;
            let in_list = listed
                .iter()
                .find(|p| &p.payment_request_id == id)
                .unwrap_or_else(|| panic!("{id} not listed: {listed:?}"));
            for p in [&got, in_list] {
                let card = p
                    .card
                    .as_ref()
                    .unwrap_or_else(|| panic!("no card summary: {p:?}"));
                assert_eq!(card.card_brand, *brand, "{p:?}");
                assert_eq!(card.last_four, *last_four, "{p:?}");
                assert_eq!(
                    (card.expiry_month.as_str(), card.expiry_year.as_str()),
                    ("12", "39"),
                    "{p:?}"
                );
                assert_eq!(card.card_token, *token, "{p:?}");
            }
            // The card service and the payment service show the same summary.
            assert_eq!(
                get_card(&gateway, id).await.payment.and_then(|p| p.card),
                got.card
            );
        }
        // A wallet payment has none.
        let wallet = request_id("wallet");
        payments
            .pay(cashier_pay(&wallet, 1000))
            .await
            .unwrap_or_else(|s| panic!("pay: {s:?}\n{}", gateway.log()));
        assert_eq!(get_payment(&gateway, &wallet).await.card, None);
        assert_no_card_data(&db, &gateway).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokenize_then_stored_card_charges_then_delete() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_card_gateway(&db).await;
        let mut client = gateway.cards().await;

        let first = request_id("tok");
        let mut request = with_card(&first, card("4111111111111111"));
        request.tokenize = true;
        request.customer_id = "customer-7".into();
        let tokenized = authorize_ok(&gateway, request).await;
        assert_eq!(status_of(&tokenized), PaymentStatus::Success as i32);
        let token = summary(&tokenized).card_token.clone();
        assert!(!token.is_empty(), "{tokenized:?}");
        assert!(
            !token.starts_with("SBXCARD"),
            "callers hold the gateway's id, not Alipay's token"
        );
        let network_id = summary(&tokenized).network_transaction_id.clone();

        // A second card, so the listing has an order to check.
        let second = request_id("tok2");
        let mut request = with_card(&second, card("5555555555554444"));
        request.tokenize = true;
        request.customer_id = "customer-7".into();
        let second_token = summary(&authorize_ok(&gateway, request).await)
            .card_token
            .clone();

        let listed = client
            .list_card_tokens(pb::ListCardTokensRequest {
                customer_id: "customer-7".into(),
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(listed.card_tokens.len(), 1);
        assert_eq!(
            listed.card_tokens[0].card_token, second_token,
            "newest first"
        );
        assert!(!listed.next_page_token.is_empty());
        let next = client
            .list_card_tokens(pb::ListCardTokensRequest {
                customer_id: "customer-7".into(),
                page_size: 1,
                page_token: listed.next_page_token,
            })
            .await
            .expect("list page 2")
            .into_inner();
        assert_eq!(next.card_tokens.len(), 1);
        let stored = &next.card_tokens[0];
        assert_eq!(stored.card_token, token);
        assert_eq!(stored.first_payment_request_id, first);
        assert_eq!(stored.card.as_ref().unwrap().last_four, "1111");
        assert_eq!(stored.network_transaction_id, network_id);
        assert_eq!(stored.last_use_time, None, "saved, never charged since");

        // Customer-initiated charge with the stored card.
        let stored_card = |recurring: pb::RecurringType| {
            pb::authorize_card_request::CardSource::StoredCard(pb::StoredCard {
                card_token: token.clone(),
                recurring_type: recurring as i32,
                ..Default::default()
            })
        };
        let cit = request_id("cit");
        let mut request = authorize(&cit, stored_card(pb::RecurringType::Unspecified));
        request.customer_id = "customer-7".into();
        let charged = authorize_ok(&gateway, request).await;
        assert_eq!(
            status_of(&charged),
            PaymentStatus::Success as i32,
            "{charged:?}"
        );
        assert_eq!(summary(&charged).card_token, token);

        // Merchant-initiated: no buyer, no return URL; recurringType and the first networkTransactionId are sent.
        let mit = request_id("mit");
        let mut request = authorize(&mit, stored_card(pb::RecurringType::Unscheduled));
        request.customer_id = "customer-7".into();
        request.payment_redirect_url.clear();
        let charged = authorize_ok(&gateway, request).await;
        assert_eq!(
            status_of(&charged),
            PaymentStatus::Success as i32,
            "{charged:?}"
        );
        let sent = pay_request_sent(&db, &mit).await;
        let method = &sent["paymentMethod"];
        assert_eq!(
            method["paymentMethodMetaData"]["isCardOnFile"], true,
            "{sent}"
        );
        assert_eq!(
            method["paymentMethodMetaData"]["recurringType"], "UNSCHEDULED",
            "{sent}"
        );
        assert_eq!(
            method["paymentMethodMetaData"]["networkTransactionId"], network_id,
            "the first charge's scheme id chains the MIT: {sent}"
        );
        assert!(
            method["paymentMethodId"]
                .as_str()
                .is_some_and(|t| t.starts_with('*')),
            "{sent}"
        );
        let listed = client
            .list_card_tokens(pb::ListCardTokensRequest {
                customer_id: "customer-7".into(),
                ..Default::default()
            })
            .await
            .expect("list after the charges")
            .into_inner();
        let charged_card = listed
            .card_tokens
            .iter()
            .find(|c| c.card_token == token)
            .expect("the charged card is listed");
        let used = charged_card.last_use_time.expect("last use recorded");
        let created = charged_card.create_time.expect("create time");
        assert!(
            listed
                .card_tokens
                .iter()
                .filter(|c| c.card_token != token)
                .all(|c| c.last_use_time.is_none()),
            "only the charged card was used: {listed:?}"
        );
        assert!(
            (used.seconds, used.nanos) > (created.seconds, created.nanos),
            "{listed:?}"
        );

        // Another customer cannot use it.
        let stolen = request_id("other");
        let mut request = authorize(&stolen, stored_card(pb::RecurringType::Unspecified));
        request.customer_id = "customer-8".into();
        let refused = client
            .authorize_card(request)
            .await
            .expect_err("not theirs");
        assert_eq!(refused.code(), Code::NotFound);
        assert_eq!(sandbox.stats().request_calls("payments/pay", &stolen), 0);

        // Deleted: idempotent, then NOT_FOUND before any Alipay call.
        for _ in 0..2 {
            client
                .delete_card_token(pb::DeleteCardTokenRequest {
                    customer_id: "customer-7".into(),
                    card_token: token.clone(),
                })
                .await
                .expect("delete");
        }
        let after = request_id("after");
        let mut request = authorize(&after, stored_card(pb::RecurringType::Unspecified));
        request.customer_id = "customer-7".into();
        let refused = client.authorize_card(request).await.expect_err("deleted");
        assert_eq!(refused.code(), Code::NotFound);
        assert_eq!(sandbox.stats().request_calls("payments/pay", &after), 0);
        let left = client
            .list_card_tokens(pb::ListCardTokensRequest {
                customer_id: "customer-7".into(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(left.card_tokens.len(), 1);
        assert_eq!(left.card_tokens[0].card_token, second_token);
        assert_no_card_data(&db, &gateway).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3ds_challenge_and_the_hosted_page_passed_by_posting_the_forms() {
    for_each_backend(|db| async move {
        let (_sandbox, gateway) = start_card_gateway(&db).await;

        let id = request_id("3ds");
        let mut request = with_card(&id, card("4000000000003063"));
        request.three_ds = three_ds(true, false);
        let challenged = authorize_ok(&gateway, request).await;
        assert_eq!(status_of(&challenged), PaymentStatus::Processing as i32);
        let back = submit_sandbox_page(&card_redirect_url(&challenged), "otp=1234&action=submit").await;
        assert!(back.starts_with(CARD_RETURN_URL), "{back}");
        let done = wait_for_card(&gateway, &id, PaymentStatus::Success).await;
        let result = done.three_ds_result.as_ref().expect("3DS result");
        assert!(result.challenged);
        assert_eq!(result.eci, "05");
        assert_eq!(summary(&done).last_four, "3063");

        // A wrong code: FAIL.
        let wrong = request_id("3ds-wrong");
        let mut request = with_card(&wrong, card("4000000000003220"));
        request.three_ds = three_ds(true, false);
        let challenged = authorize_ok(&gateway, request).await;
        submit_sandbox_page(&card_redirect_url(&challenged), "otp=9999&action=submit").await;
        let failed = wait_for_card(&gateway, &wrong, PaymentStatus::Fail).await;
        assert_eq!(
            failed.payment.unwrap().last_alipay_result.unwrap().result_code,
            "USER_PAYMENT_VERIFICATION_FAILED"
        );

        // The hosted page: the card entered there, saved; facts and token arrive by notification or inquiry.
        let hosted = request_id("hosted");
        let page = gateway.cards()
            .await
            .create_hosted_card_payment(pb::CreateHostedCardPaymentRequest {
                payment_request_id: hosted.clone(),
                payment_amount: php(1500),
                order: Some(pb::Order {
                    reference_order_id: "order-hosted".into(),
                    order_description: "Hat".into(),
                    ..Default::default()
                }),
                customer_id: "customer-h".into(),
                tokenize: true,
                env: Some(pb::Env {
                    terminal_type: pb::TerminalType::Web as i32,
                    client_ip: "203.0.113.7".into(),
                    ..Default::default()
                }),
                payment_redirect_url: CARD_RETURN_URL.into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|s| panic!("hosted: {s:?}\n{}", gateway.log()))
            .into_inner()
            .card_payment
            .expect("card payment");
        assert_eq!(status_of(&page), PaymentStatus::Processing as i32);
        let back = submit_sandbox_page(
            &card_redirect_url(&page),
            "cardNo=5555555555554444&expiryMonth=12&expiryYear=39&cvv=123&zipCode=10001&saveCard=on&action=pay",
        )
        .await;
        assert!(back.starts_with(CARD_RETURN_URL), "{back}");
        let paid = eventually("the hosted card's token", Duration::from_secs(20), || async {
            let c = get_card(&gateway, &hosted).await;
            let card = c.payment.as_ref()?.card.as_ref()?;
            (status_of(&c) == PaymentStatus::Success as i32 && !card.card_token.is_empty()).then_some(c)
        })
        .await;
        assert_eq!(summary(&paid).card_brand, "MASTERCARD");
        assert_eq!(summary(&paid).last_four, "4444");
        assert_eq!(paid.card_check_results.as_ref().unwrap().avs_check, AvsCheck::Match as i32);
        assert_no_card_data(&db, &gateway).await;
    })
    .await;
}

/// The merchant's return page in the browser tests: an https URL (as the gateway demands), served by the local
/// [`driver::ReturnServer`] through the driver's `returnServer`.
const BROWSER_RETURN_URL: &str = "https://merchant.example/return";

/// One run of the browser driver for `order`, landing back on [`BROWSER_RETURN_URL`] served by `merchant`.
async fn in_browser(
    (modules, chromium): &(String, String),
    merchant: &driver::ReturnServer,
    mut order: serde_json::Value,
) -> serde_json::Value {
    order["returnUrlPrefix"] = BROWSER_RETURN_URL.into();
    order["returnServer"] = merchant.base.clone().into();
    driver::checkout(modules, chromium, order).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_pays_through_the_gateway_in_a_real_browser() {
    let Some(browser) = driver::prerequisites() else {
        return;
    };
    for_each_backend(|db| {
        let browser = browser.clone();
        async move {
            let (sandbox, gateway) = start_card_gateway(&db).await;
            let merchant = driver::ReturnServer::start().await;
            let mut client = gateway.cards().await;
            let customer = request_id("browser-customer");

            // The hosted page with 3DS asked: the buyer enters 3220, saves the card and passes the OTP.
            let hosted = request_id("browser-hosted");
            let page = client
                .create_hosted_card_payment(pb::CreateHostedCardPaymentRequest {
                    payment_request_id: hosted.clone(),
                    payment_amount: php(2500),
                    order: Some(pb::Order {
                        reference_order_id: format!("order-{hosted}"),
                        order_description: "Boots".into(),
                        ..Default::default()
                    }),
                    customer_id: customer.clone(),
                    three_ds: three_ds(true, false),
                    tokenize: true,
                    env: Some(pb::Env {
                        terminal_type: pb::TerminalType::Web as i32,
                        client_ip: "203.0.113.7".into(),
                        ..Default::default()
                    }),
                    payment_redirect_url: format!("{BROWSER_RETURN_URL}?order={hosted}"),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|s| panic!("hosted: {s:?}\n{}", gateway.log()))
                .into_inner()
                .card_payment
                .expect("card payment");
            assert_eq!(status_of(&page), PaymentStatus::Processing as i32);
            let report = in_browser(
                &browser,
                &merchant,
                driver::save_3220_with_3ds(&card_redirect_url(&page), "39"),
            )
            .await;
            merchant.assert_landed(
                &report,
                &["Card payment", "3D Secure verification"],
                &format!("/return?order={hosted}"),
            );
            let paid = eventually(
                "the hosted card's token",
                Duration::from_secs(20),
                || async {
                    let c = get_card(&gateway, &hosted).await;
                    let card = c.payment.as_ref()?.card.as_ref()?;
                    (status_of(&c) == PaymentStatus::Success as i32 && !card.card_token.is_empty())
                        .then_some(c)
                },
            )
            .await;
            let saved = summary(&paid);
            assert_eq!(
                (saved.card_brand.as_str(), saved.last_four.as_str()),
                ("VISA", "3220")
            );
            assert_eq!(
                (saved.expiry_month.as_str(), saved.expiry_year.as_str()),
                ("12", "39")
            );
            assert!(
                paid.three_ds_result.as_ref().unwrap().challenged,
                "{paid:?}"
            );
            let token = saved.card_token.clone();
            let listed = client
                .list_card_tokens(pb::ListCardTokensRequest {
                    customer_id: customer.clone(),
                    ..Default::default()
                })
                .await
                .expect("list")
                .into_inner();
            assert_eq!(
                listed
                    .card_tokens
                    .iter()
                    .map(|t| t.card_token.as_str())
                    .collect::<Vec<_>>(),
                [token.as_str()]
            );

            // The saved card pays again with no page: a merchant-initiated charge (3220 asks a buyer who is
            // present for 3DS).
            let again = request_id("browser-stored");
            let mut request = authorize(
                &again,
                pb::authorize_card_request::CardSource::StoredCard(pb::StoredCard {
                    card_token: token.clone(),
                    recurring_type: pb::RecurringType::Scheduled as i32,
                    ..Default::default()
                }),
            );
            request.customer_id = customer.clone();
            let charged = authorize_ok(&gateway, request).await;
            assert_eq!(
                status_of(&charged),
                PaymentStatus::Success as i32,
                "{charged:?}"
            );
            assert_eq!(charged.payment.as_ref().unwrap().next_action, None);

            // A wrong OTP: FAIL, and the buyer still returns to the merchant.
            let wrong = request_id("browser-wrong");
            let mut request = with_card(&wrong, card("4000000000003220"));
            request.three_ds = three_ds(true, false);
            request.payment_redirect_url = format!("{BROWSER_RETURN_URL}?order={wrong}");
            let challenged = authorize_ok(&gateway, request).await;
            in_browser(
                &browser,
                &merchant,
                serde_json::json!({"url": card_redirect_url(&challenged), "otp": "9999"}),
            )
            .await;
            wait_for_card(&gateway, &wrong, PaymentStatus::Fail).await;

            // An AuthorizeCard 3DS challenge passed in the browser.
            let direct = request_id("browser-3ds");
            let mut request = with_card(&direct, card("4000000000003063"));
            request.three_ds = three_ds(true, false);
            request.payment_redirect_url = format!("{BROWSER_RETURN_URL}?order={direct}");
            let challenged = authorize_ok(&gateway, request).await;
            assert_eq!(status_of(&challenged), PaymentStatus::Processing as i32);
            let report = in_browser(
                &browser,
                &merchant,
                serde_json::json!({"url": card_redirect_url(&challenged), "otp": "1234"}),
            )
            .await;
            merchant.assert_landed(
                &report,
                &["3D Secure verification"],
                &format!("/return?order={direct}"),
            );
            let done = wait_for_card(&gateway, &direct, PaymentStatus::Success).await;
            assert_eq!(summary(&done).last_four, "3063");
            assert_eq!(merchant.hits.lock().unwrap().len(), 3);
            assert_eq!(sandbox.stats().endpoint_calls("payments/pay"), 4);
            assert_no_card_data(&db, &gateway).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_card_input_names_the_field_and_never_reaches_the_sandbox() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_card_gateway(&db).await;
        let mut client = gateway.cards().await;
        let cases: Vec<(pb::AuthorizeCardRequest, &str)> = vec![
            (with_card("bad-1", card("4111111111111112")), "card.card_no"),
            (with_card("bad-2", card("41111111111")), "card.card_no"),
            (
                with_card(
                    "bad-3",
                    pb::CardDetails {
                        expiry_month: "13".into(),
                        ..card("4111111111111111")
                    },
                ),
                "card.expiry_month",
            ),
            (
                with_card(
                    "bad-4",
                    pb::CardDetails {
                        expiry_year: "20".into(),
                        ..card("4111111111111111")
                    },
                ),
                "card.expiry_year",
            ),
            (
                with_card(
                    "bad-5",
                    pb::CardDetails {
                        cvv: "123".into(),
                        ..card("378282246310005")
                    },
                ),
                "card.cvv",
            ),
            (
                pb::AuthorizeCardRequest {
                    env: Some(pb::Env {
                        terminal_type: pb::TerminalType::Web as i32,
                        ..Default::default()
                    }),
                    ..with_card("bad-6", card("4111111111111111"))
                },
                "env.client_ip",
            ),
            (
                pb::AuthorizeCardRequest {
                    payment_redirect_url: String::new(),
                    ..with_card("bad-7", card("4111111111111111"))
                },
                "payment_redirect_url",
            ),
            (
                pb::AuthorizeCardRequest {
                    three_ds: three_ds(true, false),
                    external_three_ds: Some(pb::ExternalThreeDs {
                        three_ds_version: "2.2.0".into(),
                        eci: "05".into(),
                        ..Default::default()
                    }),
                    ..with_card("bad-8", card("4111111111111111"))
                },
                "external_three_ds",
            ),
            (
                pb::AuthorizeCardRequest {
                    tokenize: true,
                    ..with_card("bad-9", card("4111111111111111"))
                },
                "customer_id",
            ),
        ];
        for (request, field) in cases {
            let status = client
                .authorize_card(request.clone())
                .await
                .expect_err(field);
            assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
            let violations = status
                .get_error_details()
                .bad_request()
                .cloned()
                .expect("BadRequest");
            assert!(
                violations.field_violations.iter().any(|v| v.field == field),
                "{field}: {violations:?}"
            );
            if let Some(pb::authorize_card_request::CardSource::Card(c)) = &request.card_source {
                assert!(
                    !format!("{status:?}").contains(&c.card_no),
                    "the number is never echoed"
                );
            }
        }
        assert_eq!(sandbox.stats().endpoint_calls("payments/pay"), 0);
        assert_no_card_data(&db, &gateway).await;
    })
    .await;
}

mod generated {
    //! Generated bad card input: every request is INVALID_ARGUMENT naming a card field, none reaches the sandbox.
    use super::*;
    use proptest::prelude::*;

    /// A number that is wrong in one of the ways the contract names.
    fn bad_number() -> impl Strategy<Value = String> {
        prop_oneof![
            // Luhn fails: change the check digit of a valid number.
            (0u8..9).prop_map(|d| format!("411111111111111{}", (d + 2) % 10)),
            // Too short or too long.
            "[0-9]{1,11}",
            "[0-9]{20,24}",
            // Not only digits.
            "[0-9]{6}[ a-z-][0-9]{8}",
        ]
    }

    fn bad_expiry() -> impl Strategy<Value = (String, String)> {
        prop_oneof![
            ("(0|1[3-9]|[2-9][0-9]|00)", Just("39".to_owned())),
            (Just("12".to_owned()), "[0-9]{1}|[0-9]{3}|1[0-9]|2[0-4]"),
        ]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn generated_bad_cards_never_reach_the_sandbox() {
        for_each_backend(|db| async move {
            let (sandbox, gateway) = start_card_gateway(&db).await;
            let client = gateway.cards().await;
            let rt = tokio::runtime::Handle::current();
            tokio::task::block_in_place(|| {
                proptest!(ProptestConfig::with_cases(48), |(number in bad_number(), (month, year) in bad_expiry(), which in 0..2usize)| {
                    let details = if which == 0 {
                        card(&number)
                    } else {
                        pb::CardDetails { expiry_month: month.clone(), expiry_year: year.clone(), ..card("4111111111111111") }
                    };
                    let mut client = client.clone();
                    let status = rt
                        .block_on(client.authorize_card(with_card("gen", details)))
                        .expect_err("bad card accepted");
                    prop_assert_eq!(status.code(), Code::InvalidArgument);
                    let violations = status.get_error_details().bad_request().cloned().expect("BadRequest");
                    prop_assert!(violations.field_violations.iter().any(|v| v.field.starts_with("card.")));
                    if which == 0 && number.len() > 4 {
                        let shown = format!("{:?}", status);
                        prop_assert!(!shown.contains(&number));
                    }
                });
            });
            assert_eq!(sandbox.stats().endpoint_calls("payments/pay"), 0);
        })
        .await;
    }
}
