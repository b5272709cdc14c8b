//! `StreamPaymentEvents` against the real binary on every backend: one event per state change whatever caused it,
//! commit order, filters, resuming from a cursor, cursor errors, two replicas on one store, graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use common::*;
use tonic::Streaming;

/// Generous bound for anything the stream promises "within 1 s" (a functional check, not a benchmark).
const PROMPTLY: Duration = Duration::from_secs(5);

async fn open(
    gateway: &GatewayProcess,
    request: pb::StreamPaymentEventsRequest,
) -> Result<Streaming<pb::StreamPaymentEventsResponse>, tonic::Status> {
    gateway
        .payments()
        .await
        .stream_payment_events(request)
        .await
        .map(tonic::Response::into_inner)
}

fn from(cursor: &str) -> pb::StreamPaymentEventsRequest {
    pb::StreamPaymentEventsRequest {
        cursor: cursor.into(),
        ..Default::default()
    }
}

async fn next_event(
    stream: &mut Streaming<pb::StreamPaymentEventsResponse>,
    within: Duration,
) -> pb::PaymentEvent {
    tokio::time::timeout(within, stream.message())
        .await
        .expect("an event in time")
        .expect("the stream is healthy")
        .expect("the stream is open")
        .event
        .expect("event")
}

async fn take(
    stream: &mut Streaming<pb::StreamPaymentEventsResponse>,
    n: usize,
) -> Vec<pb::PaymentEvent> {
    let mut events = Vec::new();
    for _ in 0..n {
        events.push(next_event(stream, Duration::from_secs(30)).await);
    }
    events
}

/// `(record, status)` of an event, e.g. `("refund R", "SUCCESS")`, for comparing sequences.
fn describe(event: &pb::PaymentEvent) -> (String, String) {
    use pb::payment_event::Subject;
    let (key, status) = match event.subject.as_ref().expect("subject") {
        Subject::Payment(p) => {
            assert_eq!(
                event.event_type,
                pb::PaymentEventType::PaymentUpdated as i32
            );
            (
                format!("payment {}", p.payment_request_id),
                pb::PaymentStatus::try_from(p.status).map(|s| s.as_str_name()),
            )
        }
        Subject::Refund(r) => {
            assert_eq!(event.event_type, pb::PaymentEventType::RefundUpdated as i32);
            (
                format!("refund {}", r.refund_request_id),
                pb::RefundStatus::try_from(r.status).map(|s| s.as_str_name()),
            )
        }
        Subject::Capture(c) => {
            assert_eq!(
                event.event_type,
                pb::PaymentEventType::CaptureUpdated as i32
            );
            (
                format!("capture {}", c.capture_request_id),
                pb::CaptureStatus::try_from(c.status).map(|s| s.as_str_name()),
            )
        }
    };
    (key, status.expect("known status").to_owned())
}

fn field_violations(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_change_is_streamed_once_in_commit_order_whatever_caused_it() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let binding = bind_wallet(&gateway, "customer-events").await;
        let mut stream = open(&gateway, Default::default()).await.expect("open");
        let mut payments = gateway.payments().await;
        let pay = |id: &str, value: i64| agreement_pay(id, &binding.binding_id, value);

        let paid = request_id("paid");
        payments.pay(pay(&paid, 1000)).await.expect("pay");
        // PROCESSING, then SUCCESS found by the reconciler's inquiries.
        let reconciled = request_id("reconciled");
        payments.pay(pay(&reconciled, 93002)).await.expect("pay");
        let declined = request_id("declined");
        payments
            .pay(pay(&declined, 91001))
            .await
            .expect_err("declined");
        let cancelled = request_id("cancelled");
        payments.pay(pay(&cancelled, 93200)).await.expect("pay");
        payments
            .cancel_payment(pb::CancelPaymentRequest {
                payment_request_id: cancelled.clone(),
            })
            .await
            .expect("cancel");
        let refund = request_id("refund");
        payments
            .refund(pb::RefundRequest {
                refund_request_id: refund.clone(),
                payment_request_id: paid.clone(),
                refund_amount: Some(pb::Amount {
                    currency: "PHP".into(),
                    value: 400,
                }),
                ..Default::default()
            })
            .await
            .expect("refund");
        let authorized = request_id("authorized");
        let mut authorization = pay(&authorized, 1000);
        authorization.is_authorization = true;
        authorization.capture_mode = pb::CaptureMode::Manual as i32;
        payments.pay(authorization).await.expect("authorize");
        let capture = request_id("capture");
        payments
            .capture(pb::CaptureRequest {
                capture_request_id: capture.clone(),
                payment_request_id: authorized.clone(),
                capture_amount: Some(pb::Amount {
                    currency: "PHP".into(),
                    value: 600,
                }),
                is_last_capture: true,
            })
            .await
            .expect("capture");

        let expected: BTreeMap<String, Vec<&str>> = [
            (
                format!("payment {paid}"),
                vec!["PAYMENT_STATUS_CREATED", "PAYMENT_STATUS_SUCCESS"],
            ),
            (
                format!("payment {reconciled}"),
                vec![
                    "PAYMENT_STATUS_CREATED",
                    "PAYMENT_STATUS_PROCESSING",
                    "PAYMENT_STATUS_SUCCESS",
                ],
            ),
            (
                format!("payment {declined}"),
                vec!["PAYMENT_STATUS_CREATED", "PAYMENT_STATUS_FAIL"],
            ),
            (
                format!("payment {cancelled}"),
                vec![
                    "PAYMENT_STATUS_CREATED",
                    "PAYMENT_STATUS_PROCESSING",
                    "PAYMENT_STATUS_CANCELLED",
                ],
            ),
            (
                format!("refund {refund}"),
                vec!["REFUND_STATUS_PROCESSING", "REFUND_STATUS_SUCCESS"],
            ),
            (
                format!("payment {authorized}"),
                vec!["PAYMENT_STATUS_CREATED", "PAYMENT_STATUS_SUCCESS"],
            ),
            (
                format!("capture {capture}"),
                vec!["CAPTURE_STATUS_PROCESSING", "CAPTURE_STATUS_SUCCESS"],
            ),
        ]
        .into_iter()
        .collect();
        let total = expected.values().map(Vec::len).sum();
        let events = take(&mut stream, total).await;
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for event in &events {
            let (key, status) = describe(event);
            seen.entry(key).or_default().push(status);
        }
        let seen: BTreeMap<String, Vec<&str>> = seen
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(seen, expected, "one event per change\n{}", gateway.log());
        let ids: HashSet<_> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids.len(), events.len(), "event ids are unique");
        let cursors: HashSet<_> = events.iter().map(|e| e.cursor.as_str()).collect();
        assert_eq!(cursors.len(), events.len(), "cursors are unique");
        // Snapshots are the state at each event; a refund or capture names its payment.
        for event in &events {
            match event.subject.as_ref().expect("subject") {
                pb::payment_event::Subject::Refund(r) => {
                    assert_eq!(r.payment_request_id, paid);
                    assert_eq!(event.payment_request_id, paid);
                }
                pb::payment_event::Subject::Capture(c) => {
                    assert_eq!(c.payment_request_id, authorized)
                }
                pb::payment_event::Subject::Payment(p) => {
                    assert_eq!(p.payment_request_id, event.payment_request_id);
                    assert_eq!(p.customer_id, "customer-events");
                }
            }
            assert!(event.event_time.is_some());
        }
        // The stream's order is the commit order: replaying from the start of this run gives the same list.
        let replay = take(
            &mut open(&gateway, from(&events[0].cursor))
                .await
                .expect("resume"),
            total - 1,
        )
        .await;
        assert_eq!(replay, events[1..].to_vec());
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_resume_and_cursor_errors() {
    for_each_backend(|db| async move {
        let (sandbox, gateway) = start_default(&db).await;
        let one = bind_wallet(&gateway, "customer-one").await;
        let two = bind_wallet(&gateway, "customer-two").await;
        let mut all = open(&gateway, Default::default()).await.expect("open");
        let mut payments = gateway.payments().await;
        let (a, b) = (request_id("a"), request_id("b"));
        payments
            .pay(agreement_pay(&a, &one.binding_id, 1000))
            .await
            .expect("pay a");
        payments
            .pay(agreement_pay(&b, &two.binding_id, 1000))
            .await
            .expect("pay b");
        let events = take(&mut all, 4).await;

        // Resume: everything after the cursor, nothing before it, and then the live tail.
        let mut resumed = open(&gateway, from(&events[1].cursor))
            .await
            .expect("resume");
        assert_eq!(take(&mut resumed, 2).await, events[2..].to_vec());
        let c = request_id("c");
        payments
            .pay(agreement_pay(&c, &two.binding_id, 1000))
            .await
            .expect("pay c");
        let live = take(&mut resumed, 2).await;
        assert_eq!(
            live,
            take(&mut all, 2).await,
            "resumed and live streams agree"
        );
        assert!(live.iter().all(|e| e.payment_request_id == c));

        // Filters: customer two's payment events since the start; then the next match is c's, not a's.
        let mut filtered = open(
            &gateway,
            pb::StreamPaymentEventsRequest {
                cursor: events[0].cursor.clone(),
                customer_id: "customer-two".into(),
                product_code: pb::ProductCode::AgreementPayment as i32,
                event_types: vec![pb::PaymentEventType::PaymentUpdated as i32],
            },
        )
        .await
        .expect("filtered");
        let matched: Vec<_> = take(&mut filtered, 4)
            .await
            .iter()
            .map(|e| e.payment_request_id.clone())
            .collect();
        assert_eq!(matched, [b.clone(), b.clone(), c.clone(), c.clone()]);
        let mut refunds_only = open(
            &gateway,
            pb::StreamPaymentEventsRequest {
                cursor: events[0].cursor.clone(),
                event_types: vec![pb::PaymentEventType::RefundUpdated as i32],
                ..Default::default()
            },
        )
        .await
        .expect("refunds only");
        let refund = request_id("refund");
        payments
            .refund(pb::RefundRequest {
                refund_request_id: refund.clone(),
                payment_request_id: a.clone(),
                refund_amount: Some(pb::Amount {
                    currency: "PHP".into(),
                    value: 100,
                }),
                ..Default::default()
            })
            .await
            .expect("refund");
        let first = next_event(&mut refunds_only, PROMPTLY).await;
        assert_eq!(
            describe(&first),
            (
                format!("refund {refund}"),
                "REFUND_STATUS_PROCESSING".into()
            )
        );

        // Malformed cursors and filters are INVALID_ARGUMENT with the field named.
        for (request, field) in [
            (from("not a cursor!"), "cursor"),
            (from(&"x".repeat(200)), "cursor"),
            (
                pb::StreamPaymentEventsRequest {
                    event_types: vec![0],
                    ..Default::default()
                },
                "event_types[0]",
            ),
            (
                pb::StreamPaymentEventsRequest {
                    product_code: 99,
                    ..Default::default()
                },
                "product_code",
            ),
        ] {
            let status = open(&gateway, request).await.expect_err("invalid");
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
            assert_eq!(field_violations(&status), [field]);
        }

        // Older than retention: OUT_OF_RANGE. The newest cursor has nothing old after it and still resumes.
        let newest = take(&mut all, 2).await.pop().expect("the refund's SUCCESS");
        assert_eq!(
            describe(&newest),
            (format!("refund {refund}"), "REFUND_STATUS_SUCCESS".into())
        );
        age_all_events(&db).await;
        let status = open(&gateway, from(&events[0].cursor))
            .await
            .expect_err("expired");
        assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
        assert_eq!(error_info(&status).0, "CURSOR_EXPIRED");
        let mut tail = open(&gateway, from(&newest.cursor))
            .await
            .expect("a cursor with nothing after it is still valid");
        let d = request_id("d");
        payments
            .pay(agreement_pay(&d, &one.binding_id, 1000))
            .await
            .expect("pay d");
        assert_eq!(next_event(&mut tail, PROMPTLY).await.payment_request_id, d);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_made_on_one_replica_reach_streams_on_another_and_shutdown_ends_streams() {
    for_each_backend(|db| async move {
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let options = GatewayOptions::default();
        let a = GatewayProcess::start(&db, &sandbox, &options);
        let b = GatewayProcess::start(&db, &sandbox, &options);
        let binding = bind_wallet(&a, "customer-replicas").await;
        let mut on_b = open(&b, Default::default()).await.expect("open on b");
        let mut on_a = open(&a, Default::default()).await.expect("open on a");
        let mut payments_a = a.payments().await;
        let mut payments_b = b.payments().await;
        for round in 0..4 {
            let id = request_id(&format!("replica-{round}"));
            let origin = if round % 2 == 0 {
                &mut payments_a
            } else {
                &mut payments_b
            };
            origin
                .pay(agreement_pay(&id, &binding.binding_id, 1000))
                .await
                .expect("pay");
            // The SUCCESS event committed before Pay answered: both replicas' streams have it promptly, the
            // origin's from its own commit, the other's from its poll of the shared store.
            for stream in [&mut on_a, &mut on_b] {
                let mut statuses = Vec::new();
                while statuses.len() < 2 {
                    let event = next_event(stream, PROMPTLY).await;
                    assert_eq!(event.payment_request_id, id);
                    statuses.push(describe(&event).1);
                }
                assert_eq!(
                    statuses,
                    ["PAYMENT_STATUS_CREATED", "PAYMENT_STATUS_SUCCESS"]
                );
            }
        }
        drop(on_a);
        // Graceful shutdown ends open streams with UNAVAILABLE instead of waiting for them.
        b.send_sigterm();
        let status = tokio::time::timeout(Duration::from_secs(10), on_b.message())
            .await
            .expect("the stream ends on shutdown")
            .expect_err("with an error");
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert_eq!(error_info(&status).0, "SHUTTING_DOWN");
        let exit = tokio::task::spawn_blocking(move || b.wait())
            .await
            .expect("join");
        assert!(exit.success(), "graceful exit: {exit:?}");
        drop(a);
        sandbox.shutdown().await;
    })
    .await;
}
