//! Every error that a PaymentService, AuthorizationService or CardService RPC documents in its proto comment, provoked over
//! gRPC on SQLite and PostgreSQL.
//!
//! The documented errors are read from the proto comments themselves: every gRPC code named after `Errors:` and
//! every UPPER_CASE reason in backticks. The walk records the code, `ErrorInfo.reason` and `ErrorInfo.metadata`
//! values of every answer it provokes; at the end each documented token must have been seen on that RPC, or be
//! listed in [`NOT_PRODUCIBLE`] with the reason the sandbox cannot produce it. A new documented error with no
//! provocation therefore fails this test, and so does an exemption for something that is no longer documented.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;
use tonic::Code;
use tonic_types::StatusExt;

/// Documented tokens the sandbox cannot make the gateway answer, with why.
const NOT_PRODUCIBLE: &[(&str, &str, &str)] = &[
    (
        "Consult",
        "FAILED_PRECONDITION",
        "the sandbox's consult refuses only ill-formed requests, which the gateway rejects before calling it",
    ),
    (
        "Consult",
        "INVALID_CONTRACT",
        "the sandbox keeps no merchant contracts, so every consult of a registered client is accepted",
    ),
    (
        "ApplyToken",
        "INTERNAL",
        "only for UPSTREAM_INCOMPLETE_ANSWER, below",
    ),
    (
        "ApplyToken",
        "UPSTREAM_INCOMPLETE_ANSWER",
        "the sandbox always returns both tokens with a success (the engine's tests cover the missing-token answer)",
    ),
    (
        "Refund",
        "PAYMENT_ID_UNKNOWN",
        "a SUCCESS payment always carries Alipay's paymentId: success answers, inquiries and notifications all have it",
    ),
    (
        "Capture",
        "PAYMENT_ID_UNKNOWN",
        "as for Refund: an authorization is SUCCESS only with Alipay's paymentId",
    ),
    (
        "Refund",
        "ABORTED",
        "a lost optimistic-version race between two replicas; one gateway serialises a payment's changes (the \
         store tests provoke CONCURRENT_MODIFICATION)",
    ),
    ("Refund", "CONCURRENT_MODIFICATION", "as ABORTED"),
    ("Capture", "ABORTED", "as for Refund"),
    ("Capture", "CONCURRENT_UPDATE", "as ABORTED"),
    ("Capture", "CONCURRENT_MODIFICATION", "as ABORTED"),
    (
        "CancelPayment",
        "ORDER_STATUS_INVALID",
        "the sandbox answers it only for a SUCCESS payment with refunds or captures; the gateway refuses to cancel a \
         payment it knows is SUCCESS, and one it still sees PROCESSING has none (the sandbox does not record \
         Alipay's automatic capture as an operation)",
    ),
];

const GRPC_CODES: &[&str] = &[
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

fn is_reason(word: &str) -> bool {
    word.len() > 3
        && word.contains('_')
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `rpc name → documented tokens` of one proto file's services.
fn documented(proto: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let mut comment: Vec<&str> = Vec::new();
    for line in proto.lines() {
        let line = line.trim();
        if let Some(text) = line.strip_prefix("//") {
            comment.push(text.trim());
            continue;
        }
        if let Some(rest) = line.strip_prefix("rpc ") {
            let name = rest.split('(').next().unwrap_or_default().trim().to_owned();
            let text = comment.join(" ");
            let mut tokens = BTreeSet::new();
            for (i, span) in text.split('`').enumerate() {
                if i % 2 == 1 {
                    tokens.extend(
                        span.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .filter(|w| is_reason(w))
                            .map(str::to_owned),
                    );
                }
            }
            if let Some((_, errors)) = text.split_once("Errors:") {
                tokens.extend(
                    errors
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .filter(|w| GRPC_CODES.contains(w))
                        .map(str::to_owned),
                );
            }
            out.insert(name, tokens);
        }
        comment.clear();
    }
    out
}

/// What the walk has seen, per RPC.
#[derive(Default)]
struct Ledger {
    seen: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Ledger {
    /// Records `status` as an answer of `rpc`, checks it is `code` with `reason` (when given), and returns it.
    fn expect<T: std::fmt::Debug>(
        &mut self,
        rpc: &'static str,
        answer: Result<T, tonic::Status>,
        code: Code,
        reason: Option<&str>,
    ) -> tonic::Status {
        let status = match answer {
            Ok(ok) => panic!("{rpc}: expected {code:?} {reason:?}, got OK {ok:?}"),
            Err(status) => status,
        };
        assert_eq!(status.code(), code, "{rpc}: {status:?}");
        let info = status.get_error_details().error_info().cloned();
        if let Some(reason) = reason {
            assert_eq!(
                info.as_ref().map(|i| i.reason.as_str()),
                Some(reason),
                "{rpc}: {status:?}"
            );
        }
        let seen = self.seen.entry(rpc).or_default();
        seen.insert(
            format!("{:?}", status.code())
                .chars()
                .fold(String::new(), |mut s, c| {
                    if c.is_uppercase() && !s.is_empty() {
                        s.push('_');
                    }
                    s.push(c.to_ascii_uppercase());
                    s
                }),
        );
        if let Some(info) = info {
            seen.insert(info.reason);
            seen.extend(info.metadata.into_values());
        }
        status
    }
}

/// The walk's processes and clients.
struct Walk {
    sandbox: sandbox::RunningSandbox,
    gateway: GatewayProcess,
    /// A second gateway on the same store whose upstream is a closed port.
    cut_off: GatewayProcess,
    ledger: Ledger,
}

impl Walk {
    async fn payments(
        &self,
    ) -> pb::payment_service_client::PaymentServiceClient<tonic::transport::Channel> {
        self.gateway.payments().await
    }

    async fn auth(
        &self,
    ) -> pb::authorization_service_client::AuthorizationServiceClient<tonic::transport::Channel>
    {
        self.gateway.auth().await
    }

    /// An auth code for a GCASH binding consulted with `scopes`.
    async fn auth_code(&self, scopes: &[pb::AuthScope]) -> String {
        let state = request_id("state");
        let consult = self
            .auth()
            .await
            .consult(consult_request(&state, scopes))
            .await
            .expect("consult")
            .into_inner();
        follow_auth_page(&consult.auth_url, &state).await
    }

    async fn revoked_binding(&self, customer: &str) -> pb::Binding {
        let binding = bind_wallet(&self.gateway, customer).await;
        self.auth()
            .await
            .revoke_binding(pb::RevokeBindingRequest {
                binding_id: binding.binding_id.clone(),
            })
            .await
            .expect("revoke");
        binding
    }

    async fn paid(&self, binding: &pb::Binding, value: i64) -> String {
        let id = request_id("paid");
        let payment = self
            .payments()
            .await
            .pay(agreement_pay(&id, &binding.binding_id, value))
            .await
            .unwrap_or_else(|s| panic!("pay: {s:?}\n{}", self.gateway.log()))
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(payment.status, pb::PaymentStatus::Success as i32);
        id
    }

    async fn authorized(&self, binding: &pb::Binding, value: i64) -> String {
        let id = request_id("authorized");
        let mut request = agreement_pay(&id, &binding.binding_id, value);
        request.is_authorization = true;
        request.capture_mode = pb::CaptureMode::Manual as i32;
        let payment = self
            .payments()
            .await
            .pay(request)
            .await
            .expect("authorize")
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!(payment.status, pb::PaymentStatus::Success as i32);
        id
    }
}

fn refund(payment: &str, refund_id: &str, value: i64) -> pb::RefundRequest {
    pb::RefundRequest {
        refund_request_id: refund_id.into(),
        payment_request_id: payment.into(),
        refund_amount: php(value),
        ..Default::default()
    }
}

fn capture(payment: &str, capture_id: &str, value: i64) -> pb::CaptureRequest {
    pb::CaptureRequest {
        capture_request_id: capture_id.into(),
        payment_request_id: payment.into(),
        capture_amount: php(value),
        is_last_capture: false,
    }
}

fn get(id: &str) -> pb::GetPaymentRequest {
    pb::GetPaymentRequest {
        payment_request_id: id.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_error_is_provoked() {
    for_each_backend(|db| async move {
        // 94001 holds the first pay answer this long: long enough to see the in-flight answers, short enough for
        // the walk.
        let sandbox = start_sandbox(Duration::from_secs(8)).await;
        let options = GatewayOptions {
            request_timeout: "15s",
            write_ahead_grace: "60s",
            ..GatewayOptions::default()
        };
        let gateway = GatewayProcess::start(&db, &sandbox, &options);
        let cut_off = GatewayProcess::start(
            &db,
            &sandbox,
            &GatewayOptions {
                call_attempts: 1,
                extra_env: vec![("ALIPAY_GATEWAY_UPSTREAM", "http://127.0.0.1:9".to_owned())],
                ..GatewayOptions::default()
            },
        );
        let mut walk = Walk {
            sandbox,
            gateway,
            cut_off,
            ledger: Ledger::default(),
        };
        authorization_errors(&mut walk).await;
        payment_errors(&mut walk).await;
        in_flight_errors(&mut walk).await;
        stalled_operations(&mut walk, &db).await;
        card_errors(&mut walk).await;
        // Shuts the cut-off gateway down.
        stream_errors(&mut walk, &db).await;
        // Last, because they move the sandbox's clock forward.
        clock_errors(&mut walk).await;
        store_outage_errors(&mut walk, &db).await;

        let mut missing = Vec::new();
        let mut exemptions_used = BTreeSet::new();
        for proto in [
            include_str!("../proto/alipay/gateway/v1/payment.proto"),
            include_str!("../proto/alipay/gateway/v1/authorization.proto"),
            include_str!("../proto/alipay/gateway/v1/card.proto"),
        ] {
            for (rpc, tokens) in documented(proto) {
                let seen = walk
                    .ledger
                    .seen
                    .get(rpc.as_str())
                    .cloned()
                    .unwrap_or_default();
                for token in tokens {
                    if seen.contains(&token) {
                        continue;
                    }
                    if NOT_PRODUCIBLE
                        .iter()
                        .any(|(r, t, _)| *r == rpc && *t == token)
                    {
                        exemptions_used.insert((rpc.clone(), token));
                        continue;
                    }
                    missing.push(format!("{rpc}: {token} (seen {seen:?})"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "documented but never provoked:\n{}",
            missing.join("\n")
        );
        for (rpc, token, why) in NOT_PRODUCIBLE {
            assert!(
                exemptions_used.contains(&((*rpc).to_owned(), (*token).to_owned())),
                "{rpc} {token} is exempt ({why}) but is no longer documented, or is now provoked"
            );
        }
        walk.cut_off.wait();
        walk.gateway.terminate();
        walk.sandbox.shutdown().await;
    })
    .await;
}

async fn authorization_errors(walk: &mut Walk) {
    let mut auth = walk.auth().await;
    let mut cut_off = walk.cut_off.auth().await;

    // Consult.
    let mut bad = consult_request("state", &[pb::AuthScope::AgreementPay]);
    bad.auth_redirect_url.clear();
    walk.ledger.expect(
        "Consult",
        auth.consult(bad).await,
        Code::InvalidArgument,
        None,
    );
    walk.ledger.expect(
        "Consult",
        cut_off
            .consult(consult_request("state", &[pb::AuthScope::AgreementPay]))
            .await,
        Code::Unavailable,
        Some("ALIPAY_UNREACHABLE"),
    );

    // ApplyToken.
    let apply = |code: String| pb::ApplyTokenRequest {
        auth_code: code,
        wallet: pb::Wallet::Gcash as i32,
        customer_id: "cust-errors".into(),
        ..Default::default()
    };
    walk.ledger.expect(
        "ApplyToken",
        auth.apply_token(apply(String::new())).await,
        Code::InvalidArgument,
        None,
    );
    let code = walk.auth_code(&[pb::AuthScope::AgreementPay]).await;
    auth.apply_token(apply(code.clone()))
        .await
        .expect("first exchange");
    walk.ledger.expect(
        "ApplyToken",
        auth.apply_token(apply(code)).await,
        Code::FailedPrecondition,
        Some("INVALID_CODE"),
    );
    let code = walk.auth_code(&[pb::AuthScope::AgreementPay]).await;
    walk.ledger.expect(
        "ApplyToken",
        cut_off.apply_token(apply(code)).await,
        Code::Unavailable,
        None,
    );

    // The binding-keyed RPCs.
    let unknown = "binding-that-does-not-exist".to_owned();
    walk.ledger.expect(
        "RefreshBinding",
        auth.refresh_binding(pb::RefreshBindingRequest {
            binding_id: unknown.clone(),
        })
        .await,
        Code::NotFound,
        Some("BINDING_NOT_FOUND"),
    );
    walk.ledger.expect(
        "RevokeBinding",
        auth.revoke_binding(pb::RevokeBindingRequest {
            binding_id: unknown.clone(),
        })
        .await,
        Code::NotFound,
        Some("BINDING_NOT_FOUND"),
    );
    walk.ledger.expect(
        "InquireUserInfo",
        auth.inquire_user_info(pb::InquireUserInfoRequest {
            binding_id: unknown.clone(),
        })
        .await,
        Code::NotFound,
        Some("BINDING_NOT_FOUND"),
    );
    walk.ledger.expect(
        "GetBinding",
        auth.get_binding(pb::GetBindingRequest {
            binding_id: unknown,
        })
        .await,
        Code::NotFound,
        Some("BINDING_NOT_FOUND"),
    );
    walk.ledger.expect(
        "ListBindings",
        auth.list_bindings(pb::ListBindingsRequest {
            page_size: 101,
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        None,
    );

    let revoked = walk.revoked_binding("cust-revoked").await;
    walk.ledger.expect(
        "RefreshBinding",
        auth.refresh_binding(pb::RefreshBindingRequest {
            binding_id: revoked.binding_id.clone(),
        })
        .await,
        Code::FailedPrecondition,
        Some("BINDING_NOT_ACTIVE"),
    );
    walk.ledger.expect(
        "InquireUserInfo",
        auth.inquire_user_info(pb::InquireUserInfoRequest {
            binding_id: revoked.binding_id.clone(),
        })
        .await,
        Code::FailedPrecondition,
        Some("BINDING_NOT_ACTIVE"),
    );

    // Scopes: recorded without user info (refused locally), and not recorded at all (Alipay refuses).
    let pay_only = bind_wallet_with(
        &walk.gateway,
        "cust-pay-only",
        &[pb::AuthScope::AgreementPay],
        &[pb::AuthScope::AgreementPay],
    )
    .await;
    walk.ledger.expect(
        "InquireUserInfo",
        auth.inquire_user_info(pb::InquireUserInfoRequest {
            binding_id: pay_only.binding_id.clone(),
        })
        .await,
        Code::FailedPrecondition,
        Some("SCOPE_NOT_GRANTED"),
    );
    let unrecorded = bind_wallet_with(
        &walk.gateway,
        "cust-unrecorded",
        &[pb::AuthScope::AgreementPay],
        &[],
    )
    .await;
    walk.ledger.expect(
        "InquireUserInfo",
        auth.inquire_user_info(pb::InquireUserInfoRequest {
            binding_id: unrecorded.binding_id.clone(),
        })
        .await,
        Code::PermissionDenied,
        Some("ACCESS_DENIED"),
    );

    // Alipay unreachable, on an ACTIVE binding.
    let active = bind_wallet(&walk.gateway, "cust-cut-off").await;
    walk.ledger.expect(
        "RefreshBinding",
        cut_off
            .refresh_binding(pb::RefreshBindingRequest {
                binding_id: active.binding_id.clone(),
            })
            .await,
        Code::Unavailable,
        None,
    );
    walk.ledger.expect(
        "InquireUserInfo",
        cut_off
            .inquire_user_info(pb::InquireUserInfoRequest {
                binding_id: active.binding_id.clone(),
            })
            .await,
        Code::Unavailable,
        None,
    );
    walk.ledger.expect(
        "RevokeBinding",
        cut_off
            .revoke_binding(pb::RevokeBindingRequest {
                binding_id: active.binding_id.clone(),
            })
            .await,
        Code::Unavailable,
        None,
    );
}

async fn payment_errors(walk: &mut Walk) {
    let mut payments = walk.payments().await;
    let mut cut_off = walk.cut_off.payments().await;
    let binding = bind_wallet(&walk.gateway, "cust-payments").await;

    // Pay.
    walk.ledger.expect(
        "Pay",
        payments
            .pay(agreement_pay("", &binding.binding_id, 1000))
            .await,
        Code::InvalidArgument,
        None,
    );
    walk.ledger.expect(
        "Pay",
        payments
            .pay(agreement_pay(
                &request_id("no-binding"),
                "binding-that-does-not-exist",
                1000,
            ))
            .await,
        Code::NotFound,
        Some("BINDING_NOT_FOUND"),
    );
    let revoked = walk.revoked_binding("cust-pay-revoked").await;
    walk.ledger.expect(
        "Pay",
        payments
            .pay(agreement_pay(
                &request_id("revoked"),
                &revoked.binding_id,
                1000,
            ))
            .await,
        Code::FailedPrecondition,
        Some("BINDING_NOT_ACTIVE"),
    );
    for (value, reason) in [(91001, "USER_BALANCE_NOT_ENOUGH"), (91002, "RISK_REJECT")] {
        walk.ledger.expect(
            "Pay",
            payments
                .pay(agreement_pay(
                    &request_id("declined"),
                    &binding.binding_id,
                    value,
                ))
                .await,
            Code::FailedPrecondition,
            Some(reason),
        );
    }
    let paid = walk.paid(&binding, 2000).await;
    walk.ledger.expect(
        "Pay",
        payments
            .pay(agreement_pay(&paid, &binding.binding_id, 2001))
            .await,
        Code::AlreadyExists,
        Some("REPEAT_REQ_INCONSISTENT"),
    );
    // Alipay never receives it (92002): PROCESSING, then FAIL once the inquiry finds no order; the retry says so.
    let lost = request_id("lost");
    let answer = payments
        .pay(in_store_pay(&lost, "281234567890123456", 92002))
        .await
        .expect("an unknown outcome is PROCESSING")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!(answer.status, pb::PaymentStatus::Processing as i32);
    wait_for_status(
        &walk.gateway,
        &lost,
        pb::PaymentStatus::Fail,
        Duration::from_secs(30),
    )
    .await;
    walk.ledger.expect(
        "Pay",
        payments
            .pay(in_store_pay(&lost, "281234567890123456", 92002))
            .await,
        Code::FailedPrecondition,
        Some("PAYMENT_NOT_RECEIVED"),
    );

    // GetPayment, InquirePayment, CancelPayment, Refund, Capture of an unknown payment.
    let unknown = "payment-that-does-not-exist";
    walk.ledger.expect(
        "GetPayment",
        payments.get_payment(get(unknown)).await,
        Code::NotFound,
        Some("PAYMENT_NOT_FOUND"),
    );
    walk.ledger.expect(
        "InquirePayment",
        payments
            .inquire_payment(pb::InquirePaymentRequest {
                payment_request_id: unknown.into(),
            })
            .await,
        Code::NotFound,
        Some("PAYMENT_NOT_FOUND"),
    );
    walk.ledger.expect(
        "CancelPayment",
        payments
            .cancel_payment(pb::CancelPaymentRequest {
                payment_request_id: unknown.into(),
            })
            .await,
        Code::NotFound,
        Some("PAYMENT_NOT_FOUND"),
    );
    walk.ledger.expect(
        "Refund",
        payments
            .refund(refund(unknown, &request_id("r"), 100))
            .await,
        Code::NotFound,
        Some("PAYMENT_NOT_FOUND"),
    );
    walk.ledger.expect(
        "Capture",
        payments
            .capture(capture(unknown, &request_id("c"), 100))
            .await,
        Code::NotFound,
        Some("PAYMENT_NOT_FOUND"),
    );
    walk.ledger.expect(
        "InquireRefund",
        payments
            .inquire_refund(pb::InquireRefundRequest {
                refund_request_id: "refund-that-does-not-exist".into(),
            })
            .await,
        Code::NotFound,
        Some("REFUND_NOT_FOUND"),
    );

    // InquirePayment with Alipay unreachable.
    walk.ledger.expect(
        "InquirePayment",
        cut_off
            .inquire_payment(pb::InquirePaymentRequest {
                payment_request_id: paid.clone(),
            })
            .await,
        Code::Unavailable,
        Some("ALIPAY_UNREACHABLE"),
    );

    // CancelPayment of a SUCCESS payment.
    walk.ledger.expect(
        "CancelPayment",
        payments
            .cancel_payment(pb::CancelPaymentRequest {
                payment_request_id: paid.clone(),
            })
            .await,
        Code::FailedPrecondition,
        Some("PAYMENT_NOT_CANCELLABLE"),
    );

    // Refund.
    walk.ledger.expect(
        "Refund",
        payments.refund(refund(&paid, "", 100)).await,
        Code::InvalidArgument,
        None,
    );
    let processing = request_id("processing");
    processing_payment(&walk.gateway, &processing).await;
    walk.ledger.expect(
        "Refund",
        payments
            .refund(refund(&processing, &request_id("r"), 100))
            .await,
        Code::FailedPrecondition,
        Some("PAYMENT_NOT_REFUNDABLE"),
    );
    walk.ledger.expect(
        "Refund",
        payments.refund(refund(&paid, &request_id("r"), 2001)).await,
        Code::FailedPrecondition,
        Some("REFUND_AMOUNT_EXCEED"),
    );
    let refund_id = request_id("r");
    payments
        .refund(refund(&paid, &refund_id, 100))
        .await
        .expect("refund");
    walk.ledger.expect(
        "Refund",
        payments.refund(refund(&paid, &refund_id, 200)).await,
        Code::AlreadyExists,
        None,
    );
    // A refund Alipay keeps PROCESSING (930NN), inquired with Alipay unreachable.
    let large = walk.paid(&binding, 200_000).await;
    let slow_refund = request_id("r");
    let pending = payments.refund(refund(&large, &slow_refund, 93050)).await;
    let pending_refund = match pending {
        Ok(answer) => answer.into_inner().refund.expect("refund"),
        Err(status) => panic!("a refund Alipay is processing: {status:?}"),
    };
    assert_eq!(pending_refund.status, pb::RefundStatus::Processing as i32);
    walk.ledger.expect(
        "InquireRefund",
        cut_off
            .inquire_refund(pb::InquireRefundRequest {
                refund_request_id: slow_refund,
            })
            .await,
        Code::Unavailable,
        Some("ALIPAY_UNREACHABLE"),
    );

    // ListPayments.
    walk.ledger.expect(
        "ListPayments",
        payments
            .list_payments(pb::ListPaymentsRequest {
                page_size: 101,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        None,
    );

    // Capture.
    let authorized = walk.authorized(&binding, 1000).await;
    walk.ledger.expect(
        "Capture",
        payments.capture(capture(&authorized, "", 100)).await,
        Code::InvalidArgument,
        None,
    );
    walk.ledger.expect(
        "Capture",
        payments
            .capture(capture(&paid, &request_id("c"), 100))
            .await,
        Code::FailedPrecondition,
        Some("PAYMENT_NOT_CAPTURABLE"),
    );
    walk.ledger.expect(
        "Capture",
        payments
            .capture(capture(&authorized, &request_id("c"), 1001))
            .await,
        Code::FailedPrecondition,
        Some("CAPTURE_AMOUNT_EXCEED"),
    );
    let capture_id = request_id("c");
    payments
        .capture(capture(&authorized, &capture_id, 100))
        .await
        .expect("capture");
    walk.ledger.expect(
        "Capture",
        payments
            .capture(capture(&authorized, &capture_id, 200))
            .await,
        Code::AlreadyExists,
        None,
    );
}

/// A refund or capture retried while its first call still waits on Alipay: UNAVAILABLE `OUTCOME_PENDING` (the
/// first call answers PROCESSING once its own attempt times out). The upstream of this gateway accepts connections
/// and never answers.
async fn stalled_operations(walk: &mut Walk, db: &TestDb) {
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hole_addr = hole.local_addr().expect("addr");
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let holder = tokio::spawn({
        let accepted = accepted.clone();
        async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = hole.accept().await {
                held.push(socket);
                accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    let stalled = GatewayProcess::start(
        db,
        &walk.sandbox,
        &GatewayOptions {
            request_timeout: "6s",
            call_attempts: 1,
            extra_env: vec![("ALIPAY_GATEWAY_UPSTREAM", format!("http://{hole_addr}"))],
            ..GatewayOptions::default()
        },
    );
    let binding = bind_wallet(&walk.gateway, "cust-stalled").await;
    let paid = walk.paid(&binding, 2000).await;
    let authorized = walk.authorized(&binding, 1000).await;
    let client = stalled.payments().await;
    for rpc in ["Refund", "Capture"] {
        let id = request_id("stalled");
        let call =
            |mut c: pb::payment_service_client::PaymentServiceClient<tonic::transport::Channel>| {
                let (paid, authorized, id) = (paid.clone(), authorized.clone(), id.clone());
                async move {
                    if rpc == "Refund" {
                        c.refund(refund(&paid, &id, 100))
                            .await
                            .map(|r| r.into_inner().refund.expect("refund").status)
                    } else {
                        c.capture(capture(&authorized, &id, 100))
                            .await
                            .map(|r| r.into_inner().capture.expect("capture").status)
                    }
                }
            };
        // The retry goes once the first call is at "Alipay": its row is written ahead and its request is waiting.
        let before = accepted.load(std::sync::atomic::Ordering::SeqCst);
        let (original, retry) = tokio::join!(call(client.clone()), async {
            eventually(
                "the first call reaches Alipay",
                Duration::from_secs(5),
                || {
                    let accepted = accepted.clone();
                    async move {
                        (accepted.load(std::sync::atomic::Ordering::SeqCst) > before).then_some(())
                    }
                },
            )
            .await;
            call(client.clone()).await
        });
        let original =
            original.unwrap_or_else(|s| panic!("{rpc}: an unknown outcome is OK: {s:?}"));
        let processing = if rpc == "Refund" {
            pb::RefundStatus::Processing as i32
        } else {
            pb::CaptureStatus::Processing as i32
        };
        assert_eq!(
            original, processing,
            "{rpc}: the first call answers PROCESSING"
        );
        walk.ledger
            .expect(rpc, retry, Code::Unavailable, Some("OUTCOME_PENDING"));
    }
    stalled.terminate();
    holder.abort();
}

/// The gateway's own store goes away: the generic UNAVAILABLE (`STORE_UNAVAILABLE`, retry) of the RPCs that
/// document it. SQLite: another connection holds the write lock past the busy timeout; PostgreSQL: the database
/// refuses connections and the gateway's are ended.
async fn store_outage_errors(walk: &mut Walk, db: &TestDb) {
    let binding = bind_wallet(&walk.gateway, "cust-outage").await;
    let paid = walk.paid(&binding, 2000).await;
    let authorized = walk.authorized(&binding, 1000).await;
    let mut payments = walk.payments().await;
    let mut auth = walk.auth().await;
    let gone = DatabaseGone::begin(db).await;
    let outage = if gone.is_none() {
        Some(StoreOutage::begin(db).await)
    } else {
        None
    };
    walk.ledger.expect(
        "Refund",
        payments.refund(refund(&paid, &request_id("r"), 100)).await,
        Code::Unavailable,
        Some("STORE_UNAVAILABLE"),
    );
    walk.ledger.expect(
        "Capture",
        payments
            .capture(capture(&authorized, &request_id("c"), 100))
            .await,
        Code::Unavailable,
        Some("STORE_UNAVAILABLE"),
    );
    walk.ledger.expect(
        "RevokeBinding",
        auth.revoke_binding(pb::RevokeBindingRequest {
            binding_id: binding.binding_id.clone(),
        })
        .await,
        Code::Unavailable,
        Some("STORE_UNAVAILABLE"),
    );
    if let Some(outage) = outage {
        outage.end().await;
    }
    if let Some(gone) = gone {
        gone.restore().await;
    }
}

/// Answers given while the first pay call of a request id is still waiting on Alipay (94001 holds it).
async fn in_flight_errors(walk: &mut Walk) {
    let binding = bind_wallet(&walk.gateway, "cust-in-flight").await;
    let id = request_id("in-flight");
    let request = agreement_pay(&id, &binding.binding_id, 94001);
    let mut first = walk.payments().await;
    let original = tokio::spawn({
        let request = request.clone();
        async move { first.pay(request).await }
    });
    let mut payments = walk.payments().await;
    eventually("the first pay is recorded", Duration::from_secs(10), || {
        let mut payments = payments.clone();
        let id = id.clone();
        async move { payments.get_payment(get(&id)).await.ok().map(|_| ()) }
    })
    .await;
    walk.ledger.expect(
        "Pay",
        payments.pay(request).await,
        Code::Unavailable,
        Some("OUTCOME_PENDING"),
    );
    walk.ledger.expect(
        "InquirePayment",
        payments
            .inquire_payment(pb::InquirePaymentRequest {
                payment_request_id: id.clone(),
            })
            .await,
        Code::Unavailable,
        Some("OUTCOME_PENDING"),
    );
    walk.ledger.expect(
        "CancelPayment",
        payments
            .cancel_payment(pb::CancelPaymentRequest {
                payment_request_id: id.clone(),
            })
            .await,
        Code::Unavailable,
        Some("OUTCOME_PENDING"),
    );
    let answer = original
        .await
        .expect("join")
        .expect("the first pay gets its answer")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!(answer.status, pb::PaymentStatus::Success as i32);
}

async fn stream_errors(walk: &mut Walk, db: &TestDb) {
    let mut payments = walk.payments().await;
    walk.ledger.expect(
        "StreamPaymentEvents",
        payments
            .stream_payment_events(pb::StreamPaymentEventsRequest {
                cursor: "not a cursor!".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        Code::InvalidArgument,
        None,
    );
    let mut stream = payments
        .stream_payment_events(pb::StreamPaymentEventsRequest::default())
        .await
        .expect("stream")
        .into_inner();
    let binding = bind_wallet(&walk.gateway, "cust-stream").await;
    walk.paid(&binding, 1000).await;
    let first = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("an event in time")
        .expect("healthy")
        .expect("open")
        .event
        .expect("event");
    drop(stream);
    age_all_events(db).await;
    let old = payments
        .stream_payment_events(pb::StreamPaymentEventsRequest {
            cursor: first.cursor,
            ..Default::default()
        })
        .await;
    let answer = match old {
        Ok(response) => response.into_inner().message().await.map(|_| ()),
        Err(status) => Err(status),
    };
    walk.ledger.expect(
        "StreamPaymentEvents",
        answer,
        Code::OutOfRange,
        Some("CURSOR_EXPIRED"),
    );

    // Shutdown ends a live stream with UNAVAILABLE: on the cut-off replica, which the walk no longer needs.
    let mut live = walk
        .cut_off
        .payments()
        .await
        .stream_payment_events(pb::StreamPaymentEventsRequest::default())
        .await
        .expect("stream")
        .into_inner();
    walk.cut_off.send_sigterm();
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match live.message().await {
                Ok(Some(_)) => continue,
                other => return other.map(|_| ()),
            }
        }
    })
    .await
    .expect("the stream ends on shutdown");
    walk.ledger.expect(
        "StreamPaymentEvents",
        ended,
        Code::Unavailable,
        Some("SHUTTING_DOWN"),
    );
}

/// Errors that need Alipay's clock to have moved on: expired auth codes and access tokens, closed windows.
async fn clock_errors(walk: &mut Walk) {
    let mut auth = walk.auth().await;
    let mut payments = walk.payments().await;
    let clock = walk.sandbox.clock();

    let code = walk.auth_code(&[pb::AuthScope::AgreementPay]).await;
    let binding = bind_wallet(&walk.gateway, "cust-clock").await;
    let paid = walk.paid(&binding, 3000).await;
    let authorized = walk.authorized(&binding, 1000).await;
    let processing = request_id("processing");
    processing_payment(&walk.gateway, &processing).await;

    // 11 minutes: the auth code (10 minutes) has expired.
    clock.advance(Duration::from_secs(11 * 60));
    walk.ledger.expect(
        "ApplyToken",
        auth.apply_token(pb::ApplyTokenRequest {
            auth_code: code,
            wallet: pb::Wallet::Gcash as i32,
            customer_id: "cust-expired-code".into(),
            ..Default::default()
        })
        .await,
        Code::FailedPrecondition,
        Some("EXPIRED_CODE"),
    );

    // 25 hours: the cancel window (24 hours) has closed.
    clock.advance(Duration::from_secs(25 * 3600));
    walk.ledger.expect(
        "CancelPayment",
        payments
            .cancel_payment(pb::CancelPaymentRequest {
                payment_request_id: processing,
            })
            .await,
        Code::FailedPrecondition,
        Some("CANCEL_WINDOW_EXCEED"),
    );

    // 8 days: the access token (7 days) and the authorization (7 days) have expired.
    clock.advance(Duration::from_secs(8 * 24 * 3600));
    walk.ledger.expect(
        "InquireUserInfo",
        auth.inquire_user_info(pb::InquireUserInfoRequest {
            binding_id: binding.binding_id.clone(),
        })
        .await,
        Code::FailedPrecondition,
        Some("INVALID_ACCESS_TOKEN"),
    );
    walk.ledger.expect(
        "Capture",
        payments
            .capture(capture(&authorized, &request_id("c"), 100))
            .await,
        Code::FailedPrecondition,
        Some("ORDER_STATUS_INVALID"),
    );

    // 366 days: the refund window (365 days) has closed.
    clock.advance(Duration::from_secs(366 * 24 * 3600));
    walk.ledger.expect(
        "Refund",
        payments.refund(refund(&paid, &request_id("r"), 100)).await,
        Code::FailedPrecondition,
        Some("REFUND_WINDOW_EXCEED"),
    );
}

type CardClient = pb::card_service_client::CardServiceClient<tonic::transport::Channel>;

/// The duplicates of one card pay RPC (`call` of `request(id, amount)`): ALREADY_EXISTS for a request id reused with
/// another amount, and UNAVAILABLE `OUTCOME_PENDING` for a duplicate while the original's call is in flight (94001
/// makes the sandbox hold its answer). Returns the id of the first, answered, payment.
async fn card_pay_duplicates<R, T, Fut>(
    walk: &mut Walk,
    rpc: &'static str,
    request: impl Fn(&str, i64) -> R,
    call: impl Fn(CardClient, R) -> Fut,
) -> String
where
    Fut: Future<Output = Result<T, tonic::Status>> + Send + 'static,
    T: std::fmt::Debug + Send + 'static,
{
    let mut cards = walk.gateway.cards().await;
    let id = request_id("card-pay");
    call(cards.clone(), request(&id, 1000))
        .await
        .unwrap_or_else(|s| panic!("{rpc}: {s:?}"));
    walk.ledger.expect(
        rpc,
        call(cards.clone(), request(&id, 2000)).await,
        Code::AlreadyExists,
        None,
    );
    let slow = request_id("card-in-flight");
    let original = tokio::spawn(call(cards.clone(), request(&slow, 94001)));
    card_recorded(&mut cards, &slow).await;
    walk.ledger.expect(
        rpc,
        call(cards, request(&slow, 94001)).await,
        Code::Unavailable,
        Some("OUTCOME_PENDING"),
    );
    original
        .await
        .expect("join")
        .unwrap_or_else(|s| panic!("{rpc}: the original's answer: {s:?}"));
    id
}

/// Waits until the card payment `id` is recorded (its original call is then in flight).
async fn card_recorded(cards: &mut CardClient, id: &str) {
    eventually(
        "the card payment is recorded",
        Duration::from_secs(10),
        || {
            let mut cards = cards.clone();
            let id = id.to_owned();
            async move {
                cards
                    .get_card_payment(pb::GetCardPaymentRequest {
                        payment_request_id: id,
                    })
                    .await
                    .ok()
                    .map(|_| ())
            }
        },
    )
    .await;
}

async fn card_errors(walk: &mut Walk) {
    let mut cards = walk.gateway.cards().await;
    let mut cut_off = walk.cut_off.cards().await;
    let approving = || card("4111111111111111");

    // AuthorizeCard.
    let bad = with_card(&request_id("luhn"), card("4111111111111112"));
    let status = walk.ledger.expect(
        "AuthorizeCard",
        cards.authorize_card(bad).await,
        Code::InvalidArgument,
        None,
    );
    assert!(
        status
            .get_error_details()
            .bad_request()
            .is_some_and(|b| b.field_violations.iter().any(|v| v.field == "card.card_no")),
        "{status:?}"
    );
    let mut unknown_card = authorize(
        &request_id("no-such-card"),
        pb::authorize_card_request::CardSource::StoredCard(pb::StoredCard {
            card_token: "00000000-0000-4000-8000-000000000000".into(),
            ..Default::default()
        }),
    );
    unknown_card.customer_id = "customer-cardless".into();
    walk.ledger.expect(
        "AuthorizeCard",
        cards.authorize_card(unknown_card).await,
        Code::NotFound,
        None,
    );
    let sale = card_pay_duplicates(
        walk,
        "AuthorizeCard",
        |id, value| {
            let mut request = with_card(id, card("4111111111111111"));
            request.payment_amount = php(value);
            request
        },
        |mut cards, request| async move { cards.authorize_card(request).await },
    )
    .await;

    // CreateHostedCardPayment.
    let mut no_env = hosted_card(&request_id("hosted-bad"));
    no_env.env = None;
    walk.ledger.expect(
        "CreateHostedCardPayment",
        cards.create_hosted_card_payment(no_env).await,
        Code::InvalidArgument,
        None,
    );
    card_pay_duplicates(
        walk,
        "CreateHostedCardPayment",
        |id, value| pb::CreateHostedCardPaymentRequest {
            payment_amount: php(value),
            ..hosted_card(id)
        },
        |mut cards, request| async move { cards.create_hosted_card_payment(request).await },
    )
    .await;

    // GetCardPayment: unknown, and a payment that is not a card payment.
    walk.ledger.expect(
        "GetCardPayment",
        cards
            .get_card_payment(pb::GetCardPaymentRequest {
                payment_request_id: request_id("never"),
            })
            .await,
        Code::NotFound,
        None,
    );
    let binding = bind_wallet(&walk.gateway, "customer-card-walk").await;
    let wallet = walk.paid(&binding, 100).await;
    walk.ledger.expect(
        "GetCardPayment",
        cards
            .get_card_payment(pb::GetCardPaymentRequest {
                payment_request_id: wallet,
            })
            .await,
        Code::NotFound,
        None,
    );

    // VoidCardAuthorization.
    let void = |id: &str| pb::VoidCardAuthorizationRequest {
        payment_request_id: id.into(),
    };
    walk.ledger.expect(
        "VoidCardAuthorization",
        cards
            .void_card_authorization(void(&request_id("never")))
            .await,
        Code::NotFound,
        None,
    );
    walk.ledger.expect(
        "VoidCardAuthorization",
        cards.void_card_authorization(void(&sale)).await,
        Code::FailedPrecondition,
        Some("PAYMENT_ALREADY_CAPTURED"),
    );
    let held = request_id("card-manual");
    let mut manual = with_card(&held, approving());
    manual.capture_mode = pb::CaptureMode::Manual as i32;
    cards
        .authorize_card(manual)
        .await
        .expect("an approved MANUAL authorization");
    walk.ledger.expect(
        "VoidCardAuthorization",
        cut_off.void_card_authorization(void(&held)).await,
        Code::Unavailable,
        None,
    );

    // ListCardTokens and DeleteCardToken.
    walk.ledger.expect(
        "ListCardTokens",
        cards
            .list_card_tokens(pb::ListCardTokensRequest::default())
            .await,
        Code::InvalidArgument,
        None,
    );
    walk.ledger.expect(
        "ListCardTokens",
        cards
            .list_card_tokens(pb::ListCardTokensRequest {
                customer_id: "customer-7".into(),
                page_size: 101,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        None,
    );
    walk.ledger.expect(
        "DeleteCardToken",
        cards
            .delete_card_token(pb::DeleteCardTokenRequest {
                customer_id: "customer-7".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        None,
    );
}
