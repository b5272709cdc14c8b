//! Crash recovery at every write: a fault injected at each write of Pay (each product), Refund, Capture and
//! ApplyToken fails it, then that engine is dropped (its process dies) and another starts on the same store with its
//! reconciler. Every payment, refund, capture and binding then reaches the final state Alipay (the sandbox, asked
//! through its API) reports, within the write-ahead job's schedule, and every caller retry gets, without blocking,
//! an answer the contract lists.

use std::future::Future;
use std::time::Duration;

use alipay::checked::{Scopes, Wallet};
use alipay::model::{
    CaptureMode, InquiryPaymentRequest, InquiryRefundRequest, InquiryUserInfoRequest,
    PaymentStatus as AlipayStatus, RefundStatus, Scope, TransactionType,
};
use alipay::{Outcome, ResultCode};
use engine::{
    ApplyTokenCommand, CaptureCommand, Engine, EngineConfig, EngineError, OperationStatus,
    PayCommand, PaymentStatus, RefundCommand,
};
use sea_orm::{ConnectionTrait, Statement};

use crate::fault::{self, FaultPoint};
use crate::harness::{
    Env, ReconcilerGuard, agreement_pay, card_pay, cashier_pay, checked, client, each_backend,
    eventually, fast_config, in_store_pay, new_id, php, press_cashier_button, settled,
};

/// The doomed engine makes one attempt per call (300 ms client timeout), so the write-ahead jobs it commits can be
/// due 400 ms later; duplicates wait at most 200 ms for an original; a payment nobody acts on is cancelled after 5
/// inquiries, and one waiting for the buyer is polled at least every 200 ms.
fn config() -> EngineConfig {
    EngineConfig {
        call_attempts: 1,
        write_ahead_grace: Duration::from_millis(400),
        duplicate_wait: Duration::from_millis(200),
        max_inquiries: 5,
        buyer_inquiry_max_interval: Duration::from_millis(200),
        ..fast_config()
    }
}

/// A caller retry must be answered within its retry hint; this bound only catches a retry that blocks.
const ANSWER_BOUND: Duration = Duration::from_secs(3);

/// How long the restarted engine may take to finish what the crash left: the write-ahead job's grace plus its
/// inquiries (and, for an unknown pay outcome, the inquiry budget and the cancel).
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

/// Runs `attempt` on an engine while writes matching `point` fail, then drops that engine as a crash would and
/// starts another one, with its reconciler, on the same store and sandbox.
async fn crash_at<T: std::fmt::Debug, F: Future<Output = Result<T, EngineError>>>(
    env: &Env,
    point: &FaultPoint,
    attempt: impl FnOnce(Engine) -> F,
) -> (Result<T, EngineError>, Engine, ReconcilerGuard) {
    let doomed = env.replica(config());
    fault::arm(&env.store, point).await;
    let first = attempt(doomed.clone()).await;
    match (&first, point.on_request_path) {
        (Err(EngineError::StoreUnavailable(error)), true) => assert!(
            error.to_string().contains("injected fault"),
            "{}: failed otherwise: {error}",
            point.name
        ),
        (Ok(_), false) => {}
        (other, _) => panic!(
            "{}: the fault did not bite as expected: {other:?}",
            point.name
        ),
    }
    // The call log is written in the background: let it meet the fault too.
    doomed.flush_call_records().await;
    fault::disarm(&env.store, point).await;
    drop(doomed);
    let restarted = env.replica(config());
    let reconciler = Env::reconcile(&restarted);
    (first, restarted, reconciler)
}

/// A caller's (retry's) answer, which must come without blocking. Boxed, as every engine future these tests hold:
/// in a debug build each one moved by value costs its whole size in every frame it passes through, and the worker
/// threads' stacks are 2 MiB.
async fn answered<T, F: Future<Output = T>>(call: std::pin::Pin<Box<F>>) -> T {
    tokio::time::timeout(ANSWER_BOUND, call)
        .await
        .expect("a retry is answered within its retry hint, never blocked")
}

/// Asserts that `answer` is one the contract lists: OK with a record `ok` accepts, an Alipay decline, or
/// UNAVAILABLE `OUTCOME_PENDING`; the attempt whose write failed may also answer INTERNAL `STORE_FAILURE` (the
/// contract's "the record, if any, is kept and reconciled in the background").
fn assert_in_contract<T: std::fmt::Debug>(
    answer: &Result<T, EngineError>,
    ok: impl Fn(&T) -> bool,
    write_failed: bool,
    what: &str,
) {
    match answer {
        Ok(record) => assert!(ok(record), "{what}: OK with {record:?}"),
        Err(EngineError::Unavailable { .. } | EngineError::Declined { .. }) => {}
        Err(EngineError::StoreUnavailable(_)) if write_failed => {}
        Err(other) => panic!("{what}: answered {other:?}"),
    }
}

/// SUCCESS or PROCESSING, as Pay promises; a payment the gateway had to cancel (its pay answer was lost and it
/// never became final) replays as recorded.
fn pay_ok(p: &engine::PaymentView) -> bool {
    matches!(
        p.payment.status,
        PaymentStatus::Success | PaymentStatus::Processing | PaymentStatus::Cancelled
    )
}

fn operation_ok(status: OperationStatus) -> bool {
    matches!(
        status,
        OperationStatus::Success | OperationStatus::Processing
    )
}

/// What Alipay says about a payment, in the store's words: a payment Alipay never created is a FAIL (nothing charged).
async fn alipay_payment(env: &Env, id: &str, in_store: bool) -> PaymentStatus {
    let mut request = InquiryPaymentRequest::by_request_id(id);
    request.in_store = in_store;
    let reply = client(&env.sandbox)
        .inquiry_payment(&request)
        .await
        .expect("inquiryPayment");
    match (&reply.outcome, reply.body.payment_status) {
        (Outcome::Success, Some(AlipayStatus::Success)) => PaymentStatus::Success,
        (Outcome::Success, Some(AlipayStatus::Fail)) => PaymentStatus::Fail,
        (Outcome::Success, Some(AlipayStatus::Cancelled)) => PaymentStatus::Cancelled,
        (Outcome::Failed { code, .. }, _) if *code == ResultCode::OrderNotExist => {
            PaymentStatus::Fail
        }
        (outcome, status) => panic!("Alipay has no final answer for {id}: {outcome:?} {status:?}"),
    }
}

/// One Pay through a crash at `point`; `cmd` builds the same command for the original and every retry.
async fn pay_through(
    env: &Env,
    point: &FaultPoint,
    cmd: impl Fn(&str) -> PayCommand,
    in_store: bool,
    what: &str,
) -> String {
    let id = new_id("pay-crash");
    let (first, restarted, reconciler) = Box::pin(crash_at(env, point, |engine| {
        let cmd = cmd(&id);
        async move { Box::pin(engine.pay(cmd)).await }
    }))
    .await;
    assert_in_contract(&first, pay_ok, true, what);
    let retry = answered(Box::pin(restarted.pay(cmd(&id)))).await;
    assert_in_contract(&retry, pay_ok, false, what);
    // A buyer shown the cashier page pays there.
    let recorded = eventually(RECOVERY_BOUND, "the payment past CREATED", || async {
        let p = env.engine.get_payment(&id).await.ok()?;
        (p.payment.status != PaymentStatus::Created).then_some(p)
    })
    .await;
    if recorded.payment.status == PaymentStatus::Processing
        && recorded.payment.next_action.is_some()
    {
        assert_eq!(press_cashier_button(&recorded, "pay").await, 303, "{what}");
    }
    let settled = settled(env, &id, RECOVERY_BOUND).await;
    reconciler.stop().await;
    assert_eq!(
        settled.status,
        alipay_payment(env, &id, in_store).await,
        "{what}: the store agrees with Alipay"
    );
    assert!(
        env.stats().charges_for(&id) <= 1,
        "{what}: charged at most once"
    );
    let replay = answered(Box::pin(restarted.pay(cmd(&id)))).await;
    assert_in_contract(&replay, pay_ok, false, what);
    match (&replay, settled.status) {
        (Ok(p), PaymentStatus::Success | PaymentStatus::Cancelled) => {
            assert_eq!(p.payment.status, settled.status, "{what}")
        }
        (Err(EngineError::Declined { .. }), PaymentStatus::Fail) => {}
        (other, status) => panic!("{what}: replay of a {status:?} payment answered {other:?}"),
    }
    id
}

/// Pay of `product` through a crash at each of its writes.
async fn pay_at_every_write(product: &'static str) {
    each_backend(|backend, url| async move {
        let env = Env::with(&url, crate::harness::sandbox_config(), config()).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        for point in &fault::PAYMENT_WRITES {
            let what = format!("[{backend}] {product} pay, fault at {}", point.name);
            match product {
                "agreement" => {
                    Box::pin(pay_through(
                        &env,
                        point,
                        |id| agreement_pay(id, &binding.id, 1000),
                        false,
                        &what,
                    ))
                    .await;
                }
                "cashier" => {
                    Box::pin(pay_through(
                        &env,
                        point,
                        |id| cashier_pay(id, 1000),
                        false,
                        &what,
                    ))
                    .await;
                }
                _ => {
                    Box::pin(pay_through(
                        &env,
                        point,
                        |id| in_store_pay(id, "2812345678901234", 1000),
                        true,
                        &what,
                    ))
                    .await;
                }
            }
        }
    })
    .await;
}

/// A card authorization that saves the card, through a crash at each write, its card writes included: the card
/// facts and the stored card are recorded with the status that brought them (from the pay answer, or from the
/// restarted engine's inquiry), so whoever sees the payment SUCCESS also sees its card and token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_pay_records_its_card_with_its_status_at_every_write() {
    each_backend(|backend, url| async move {
        let env = Env::with(&url, crate::harness::sandbox_config(), config()).await;
        for point in fault::PAYMENT_WRITES.iter().chain(&fault::CARD_WRITES) {
            let what = format!("[{backend}] card pay, fault at {}", point.name);
            let customer = new_id("card-crash");
            let id = Box::pin(pay_through(
                &env,
                point,
                |id| card_pay(id, &customer, 1000),
                false,
                &what,
            ))
            .await;
            let card = env
                .engine
                .get_card_payment(&id)
                .await
                .expect("card payment");
            assert_eq!(
                card.payment.payment.status,
                PaymentStatus::Success,
                "{what}: an approving card"
            );
            let facts = card
                .facts
                .unwrap_or_else(|| panic!("{what}: SUCCESS without card facts"));
            assert_eq!(facts.card.last_four.as_deref(), Some("1111"), "{what}");
            let token_id = facts
                .card_token_id
                .unwrap_or_else(|| panic!("{what}: SUCCESS without its stored card"));
            let stored = env
                .engine
                .list_card_tokens(&customer, store::PageRequest::default())
                .await
                .expect("stored cards");
            assert_eq!(
                stored
                    .items
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>(),
                [token_id.as_str()],
                "{what}: the one stored card"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agreement_pay_recovers_from_a_crash_at_every_write() {
    pay_at_every_write("agreement").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cashier_pay_recovers_from_a_crash_at_every_write() {
    pay_at_every_write("cashier").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_store_pay_recovers_from_a_crash_at_every_write() {
    pay_at_every_write("in_store").await;
}

/// A refund or capture through a crash at `point`: `send` makes the call with the same command on any engine,
/// `stored` reads its status from the store and `at_alipay` asks the sandbox for it.
async fn operation_through<T, SendF, StoredF, AlipayF>(
    env: &Env,
    point: &FaultPoint,
    what: &str,
    send: impl Fn(Engine) -> SendF,
    status: impl Fn(&T) -> OperationStatus,
    stored: impl Fn() -> StoredF,
    at_alipay: impl FnOnce() -> AlipayF,
) where
    T: std::fmt::Debug,
    SendF: Future<Output = Result<T, EngineError>>,
    StoredF: Future<Output = Option<OperationStatus>>,
    AlipayF: Future<Output = OperationStatus>,
{
    let ok = |row: &T| operation_ok(status(row));
    let (first, restarted, reconciler) = crash_at(env, point, &send).await;
    assert_in_contract(&first, ok, true, what);
    assert_in_contract(
        &answered(Box::pin(send(restarted.clone()))).await,
        ok,
        false,
        what,
    );
    let settled = eventually(RECOVERY_BOUND, "a final status", || async {
        stored()
            .await
            .filter(|s| matches!(s, OperationStatus::Success | OperationStatus::Fail))
    })
    .await;
    reconciler.stop().await;
    assert_eq!(
        settled,
        at_alipay().await,
        "{what}: the store agrees with Alipay"
    );
    assert_in_contract(&answered(Box::pin(send(restarted))).await, ok, false, what);
}

/// An operation status as Alipay words it, for refunds and captures alike.
fn alipay_operation(status: Option<AlipayStatus>, what: &str) -> OperationStatus {
    match status {
        Some(AlipayStatus::Success) => OperationStatus::Success,
        Some(AlipayStatus::Fail) => OperationStatus::Fail,
        other => panic!("{what}: Alipay has no final answer: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_recover_from_a_crash_at_every_write() {
    each_backend(|backend, url| async move {
        let env = Env::with(&url, crate::harness::sandbox_config(), config()).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        let pay_id = new_id("pay-refunded");
        env.engine
            .pay(agreement_pay(&pay_id, &binding.id, 100_000))
            .await
            .expect("paid");
        for point in &fault::REFUND_WRITES {
            let what = format!("[{backend}] refund, fault at {}", point.name);
            let id = new_id("refund-crash");
            let cmd = || RefundCommand {
                refund_request_id: checked(&id),
                payment_request_id: checked(&pay_id),
                amount: php(100),
                reason: None,
            };
            operation_through(
                &env,
                point,
                &what,
                |engine| {
                    let cmd = cmd();
                    async move { engine.refund(cmd).await }
                },
                |r| r.refund.operation.status,
                || async {
                    Some(
                        env.store
                            .refunds()
                            .get_by_request_id(&id)
                            .await
                            .ok()??
                            .status,
                    )
                },
                || async {
                    let reply = client(&env.sandbox)
                        .inquiry_refund(&InquiryRefundRequest::by_request_id(&id))
                        .await
                        .expect("inquiryRefund");
                    let status = match reply.body.refund_status {
                        Some(RefundStatus::Success) => Some(AlipayStatus::Success),
                        Some(RefundStatus::Fail) => Some(AlipayStatus::Fail),
                        _ => None,
                    };
                    alipay_operation(status, &what)
                },
            )
            .await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captures_recover_from_a_crash_at_every_write() {
    each_backend(|backend, url| async move {
        let env = Env::with(&url, crate::harness::sandbox_config(), config()).await;
        let binding = env.bind(vec![Scope::AgreementPay]).await;
        for point in &fault::CAPTURE_WRITES {
            let what = format!("[{backend}] capture, fault at {}", point.name);
            let pay_id = new_id("pay-authorized");
            let mut authorize = agreement_pay(&pay_id, &binding.id, 1000);
            authorize.is_authorization = true;
            authorize.capture_mode = Some(CaptureMode::Manual);
            env.engine.pay(authorize).await.expect("authorized");
            let id = new_id("capture-crash");
            let cmd = || CaptureCommand {
                capture_request_id: checked(&id),
                payment_request_id: checked(&pay_id),
                amount: php(1000),
                is_last_capture: true,
            };
            operation_through(
                &env,
                point,
                &what,
                |engine| {
                    let cmd = cmd();
                    async move { engine.capture(cmd).await }
                },
                |c| c.capture.operation.status,
                || async {
                    Some(
                        env.store
                            .captures()
                            .get_by_request_id(&id)
                            .await
                            .ok()??
                            .status,
                    )
                },
                || async {
                    let reply = client(&env.sandbox)
                        .inquiry_payment(&InquiryPaymentRequest::by_request_id(&pay_id))
                        .await
                        .expect("inquiryPayment");
                    let status = reply
                        .body
                        .transactions
                        .unwrap_or_default()
                        .into_iter()
                        .find(|t| {
                            t.transaction_type == TransactionType::Capture
                                && t.transaction_request_id.as_deref() == Some(id.as_str())
                        })
                        .and_then(|t| t.transaction_status);
                    alipay_operation(status, &what)
                },
            )
            .await;
        }
    })
    .await;
}

/// The REVOKE_TOKENS jobs in the store: their status and sealed access token.
async fn revoke_jobs(env: &Env) -> Vec<(String, String)> {
    let backend = env.store.backend();
    let rows = env
        .store
        .connection()
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT status, payload FROM reconciliation_jobs WHERE kind = 'REVOKE_TOKENS'",
        ))
        .await
        .expect("revoke jobs");
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("", "status").expect("status");
            let payload: serde_json::Value = row.try_get("", "payload").expect("payload");
            let sealed = payload["sealed_access_token"]
                .as_str()
                .expect("sealed token")
                .to_owned();
            (status, sealed)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_token_records_or_revokes_what_alipay_issued_at_every_write() {
    each_backend(|backend, url| async move {
        let env = Env::with(&url, crate::harness::sandbox_config(), config()).await;
        for point in &fault::APPLY_TOKEN_WRITES {
            let what = format!("[{backend}] applyToken, fault at {}", point.name);
            let code = env.authorize(&[Scope::AgreementPay]).await;
            let customer = new_id("cust");
            let cmd = || ApplyTokenCommand {
                customer_id: checked(&customer),
                wallet: Wallet::Gcash,
                auth_code: checked(&code),
                scopes: Scopes::new(vec![Scope::AgreementPay]).expect("scopes"),
                merchant_region: None,
            };
            let revokes = env.stats().endpoint_calls("authorizations/revoke");
            let jobs_before = revoke_jobs(&env).await.len();
            let (first, restarted, reconciler) =
                crash_at(&env, point, |engine| {
                    let cmd = cmd();
                    async move { engine.apply_token(cmd).await }
                }).await;
            assert_in_contract(&first, |_| true, true, &what);
            let retry = answered(Box::pin(restarted.apply_token(cmd()))).await;
            let stored = restarted
                .list_bindings(
                    engine::BindingFilter {
                        customer_id: Some(customer.clone()),
                        ..Default::default()
                    },
                    Default::default(),
                )
                .await
                .expect("bindings")
                .items;
            // An authCode is single-use: the retry either makes the exchange itself (the first attempt failed before
            // Alipay issued anything) or learns INVALID_CODE; the store then tells whether the tokens were recorded.
            let recorded = match &retry {
                Ok(binding) => {
                    assert_eq!(stored.first().map(|b| &b.id), Some(&binding.id), "{what}");
                    true
                }
                Err(EngineError::Declined { code, .. }) if code == "INVALID_CODE" => !stored.is_empty(),
                other => panic!("{what}: retry answered {other:?}"),
            };
            if recorded {
                // Recorded: the one binding of the code, and its token works at Alipay.
                assert_eq!(stored.len(), 1, "{what}");
                let pay_id = new_id("pay-bound");
                let paid = restarted
                    .pay(agreement_pay(&pay_id, &stored[0].id, 1000))
                    .await
                    .expect("the recorded binding pays");
                assert_eq!(paid.payment.status, PaymentStatus::Success, "{what}");
                assert_eq!(env.stats().endpoint_calls("authorizations/revoke"), revokes, "{what}");
            } else {
                    // Not recorded: revoked at Alipay, by the job or at once.
                assert!(stored.is_empty(), "{what}: {stored:?}");
                eventually(RECOVERY_BOUND, "the unstored tokens revoked", || async {
                    (env.stats().endpoint_calls("authorizations/revoke") == revokes + 1).then_some(())
                })
                .await;
                let jobs = revoke_jobs(&env).await;
                for (_, sealed) in &jobs[jobs_before..] {
                    let token = config().token_cipher.decrypt(sealed).expect("sealed token");
                    let reply = client(&env.sandbox)
                        .inquiry_user_info(&InquiryUserInfoRequest::new(token.expose().to_owned()))
                        .await
                        .expect("inquiryUserInfo");
                    assert!(
                        matches!(&reply.outcome, Outcome::Failed { code, .. } if *code == ResultCode::InvalidAccessToken),
                        "{what}: {:?}",
                        reply.outcome
                    );
                }
                eventually(RECOVERY_BOUND, "the revoke job done", || async {
                    revoke_jobs(&env).await.iter().all(|(status, _)| status == "DONE").then_some(())
                })
                .await;
            }
            reconciler.stop().await;
            // The answer is definite: a second retry gets the same one (INVALID_CODE once a binding exists).
            let again = answered(Box::pin(restarted.apply_token(cmd()))).await;
            match (&retry, &again) {
                // A code that made a binding is spent: repeating it says so.
                (Ok(_), Err(EngineError::Declined { code, .. })) => assert_eq!(code, "INVALID_CODE", "{what}"),
                (Err(EngineError::Declined { code: a, .. }), Err(EngineError::Declined { code: b, .. })) => {
                    assert_eq!(a, b, "{what}")
                }
                (a, b) => panic!("{what}: {a:?} then {b:?}"),
            }
        }
    })
    .await;
}
