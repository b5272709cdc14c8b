use crate::common::{each_backend, inquire_at, new_payment};
use store::Spelled;
use store::captures::NewCapture;
use store::jobs::JobKind;
use store::refunds::NewRefund;
use store::{EntityKind, OperationStatus, OperationUpdate, ResultInfo, StoreError, Transition};

fn refund(n: u32, payment_id: &str, amount: i64) -> NewRefund {
    NewRefund {
        refund_request_id: format!("RF-{n}"),
        payment_id: payment_id.into(),
        amount_value: amount,
        currency: "PHP".into(),
        reason: Some("customer asked".into()),
        request_fingerprint: format!("rf-fp-{n}"),
    }
}

pub(crate) fn capture(n: u32, payment_id: &str, amount: i64) -> NewCapture {
    NewCapture {
        capture_request_id: format!("CAP-{n}"),
        payment_id: payment_id.into(),
        amount_value: amount,
        currency: "PHP".into(),
        is_last_capture: true,
        request_fingerprint: format!("cap-fp-{n}"),
    }
}

/// Alipay's answer as a transition writes it.
fn answer(
    alipay_id: Option<&str>,
    status: &str,
    code: &str,
    message: Option<&str>,
) -> OperationUpdate {
    OperationUpdate {
        alipay_id: alipay_id.map(Into::into),
        result: Some(ResultInfo {
            status: store::ResultStatus::parse(status).expect("S, F or U"),
            code: code.into(),
            message: message.map(Into::into),
        }),
    }
}

#[tokio::test]
async fn refunds_are_written_ahead_and_transition_like_payments() {
    each_backend(|store| async move {
        let missing = store
            .refunds()
            .insert_intent(refund(1, "no-such-payment", 100), inquire_at())
            .await;
        assert!(matches!(missing, Err(StoreError::UnknownPayment(_))));

        let p = store
            .payments()
            .insert_intent(new_payment(1), inquire_at())
            .await?
            .into_inner();
        let r1 = store
            .refunds()
            .insert_intent(refund(1, &p.id, 300), inquire_at())
            .await?;
        assert!(r1.is_created());
        let r1 = r1.into_inner();
        assert_eq!(
            store
                .refunds()
                .insert_intent(refund(1, &p.id, 999), inquire_at())
                .await?
                .into_inner(),
            r1
        );
        let r2 = store
            .refunds()
            .insert_intent(refund(2, &p.id, 200), inquire_at())
            .await?
            .into_inner();

        let r1 = store
            .refunds()
            .transition(
                &r1.id,
                1,
                Transition::new(OperationStatus::Success, "refund_response"),
                answer(Some("ALI-RF-1"), "S", "SUCCESS", None),
            )
            .await?;
        assert_eq!((r1.status, r1.version), (OperationStatus::Success, 2));
        assert_eq!(r1.alipay_refund_id.as_deref(), Some("ALI-RF-1"));
        store
            .refunds()
            .transition(
                &r2.id,
                1,
                Transition::new(OperationStatus::Fail, "refund_response"),
                Default::default(),
            )
            .await?;
        let late = store
            .refunds()
            .transition(
                &r1.id,
                2,
                Transition::new(OperationStatus::Processing, "inquiry"),
                Default::default(),
            )
            .await;
        assert!(matches!(
            late,
            Err(StoreError::IllegalTransition {
                entity: EntityKind::Refund,
                ..
            })
        ));

        assert_eq!(
            store.refunds().committed_amount(&p.id).await?,
            300,
            "failed refund excluded"
        );
        assert_eq!(store.refunds().list_for_payment(&p.id).await?.len(), 2);
        assert_eq!(
            store
                .refunds()
                .get_by_request_id("RF-2")
                .await?
                .map(|r| r.status),
            Some(OperationStatus::Fail)
        );
        let audit = store.audit().list_for(EntityKind::Refund, &r1.id).await?;
        assert_eq!(audit.len(), 2);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn captures_are_written_ahead_and_transition() {
    each_backend(|store| async move {
        let mut auth = new_payment(2);
        auth.is_authorization = true;
        auth.capture_mode = Some(store::CaptureMode::Manual);
        let p = store
            .payments()
            .insert_intent(auth, inquire_at())
            .await?
            .into_inner();
        assert!(p.is_authorization);
        let new = capture(1, &p.id, p.amount_value);
        let c = store
            .captures()
            .insert_intent(new.clone(), inquire_at())
            .await?
            .into_inner();
        assert!(
            !store
                .captures()
                .insert_intent(new, inquire_at())
                .await?
                .is_created()
        );
        let c = store
            .captures()
            .transition(
                &c.id,
                1,
                Transition::new(OperationStatus::Processing, "capture_response"),
                OperationUpdate {
                    alipay_id: Some("ALI-CAP".into()),
                    result: None,
                },
            )
            .await?;
        let c = store
            .captures()
            .transition(
                &c.id,
                2,
                Transition::new(OperationStatus::Success, "notification"),
                Default::default(),
            )
            .await?;
        assert_eq!(c.status, OperationStatus::Success);
        assert_eq!(c.alipay_capture_id.as_deref(), Some("ALI-CAP"));
        assert!(c.is_last_capture);
        assert_eq!(
            store.captures().committed_amount(&p.id).await?,
            p.amount_value
        );
        assert_eq!(store.captures().get(&c.id).await?, Some(c));
        Ok(())
    })
    .await;
}

/// The shared write-ahead code fills every column of both kinds the same way; a column it forgot
/// or mixed up would show here.
#[tokio::test]
async fn operation_intents_write_every_column() {
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(3), inquire_at())
            .await?
            .into_inner();
        let r = store
            .refunds()
            .insert_intent(refund(7, &p.id, 250), inquire_at())
            .await?
            .into_inner();
        assert_eq!(
            (
                r.refund_request_id.as_str(),
                r.payment_id.as_str(),
                r.amount_value,
                r.currency.as_str(),
                r.reason.as_deref(),
                r.request_fingerprint.as_str(),
            ),
            (
                "RF-7",
                p.id.as_str(),
                250,
                "PHP",
                Some("customer asked"),
                "rf-fp-7"
            )
        );
        assert_eq!(
            (r.status, r.version, r.alipay_refund_id.as_deref()),
            (OperationStatus::Created, 1, None)
        );
        assert_eq!(
            (
                r.last_result_status
                    .map(store::Spelled::spelling)
                    .as_deref(),
                r.last_result_code.as_deref(),
                r.last_result_message.as_deref()
            ),
            (None, None, None)
        );
        assert_eq!(r.created_at, r.updated_at);
        assert_eq!(store.refunds().get(&r.id).await?, Some(r.clone()));

        let c = store
            .captures()
            .insert_intent(
                NewCapture {
                    is_last_capture: false,
                    ..capture(7, &p.id, 40)
                },
                inquire_at(),
            )
            .await?
            .into_inner();
        assert_eq!(
            (
                c.capture_request_id.as_str(),
                c.payment_id.as_str(),
                c.amount_value,
                c.is_last_capture,
                c.request_fingerprint.as_str(),
                c.status,
                c.version,
                c.alipay_capture_id.as_deref(),
                c.last_result_code.as_deref(),
            ),
            (
                "CAP-7",
                p.id.as_str(),
                40,
                false,
                "cap-fp-7",
                OperationStatus::Created,
                1,
                None,
                None
            )
        );
        assert_eq!(store.captures().get_by_request_id("CAP-7").await?, Some(c));
        Ok(())
    })
    .await;
}

/// A result envelope is written whole: a later result without a message clears the old one,
/// while an update without an Alipay id keeps the stored id.
#[tokio::test]
async fn operation_results_replace_the_last_envelope() {
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(4), inquire_at())
            .await?
            .into_inner();
        let r = store
            .refunds()
            .insert_intent(refund(8, &p.id, 100), inquire_at())
            .await?
            .into_inner();
        let r = store
            .refunds()
            .transition(
                &r.id,
                1,
                Transition::new(OperationStatus::Processing, "refund_response"),
                answer(
                    Some("ALI-RF-8"),
                    "U",
                    "UNKNOWN_EXCEPTION",
                    Some("try later"),
                ),
            )
            .await?;
        assert_eq!(r.last_result_message.as_deref(), Some("try later"));
        let r = store
            .refunds()
            .transition(
                &r.id,
                2,
                Transition::new(OperationStatus::Success, "inquiry"),
                answer(None, "S", "SUCCESS", None),
            )
            .await?;
        assert_eq!(
            (
                r.alipay_refund_id.as_deref(),
                r.last_result_status
                    .map(store::Spelled::spelling)
                    .as_deref(),
                r.last_result_code.as_deref(),
                r.last_result_message.as_deref()
            ),
            (Some("ALI-RF-8"), Some("S"), Some("SUCCESS"), None)
        );
        Ok(())
    })
    .await;
}

/// The field an insert was refused for.
fn invalid_field<T: std::fmt::Debug>(result: Result<T, StoreError>) -> &'static str {
    match result {
        Err(StoreError::Invalid { field, .. }) => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// Bad input is refused with the offending field named, before the payment is even looked up.
#[tokio::test]
async fn operation_intents_name_the_invalid_field() {
    each_backend(|store| async move {
        let mut bad = refund(9, "no-such-payment", 100);
        bad.refund_request_id = String::new();
        assert_eq!(
            invalid_field(store.refunds().insert_intent(bad, inquire_at()).await),
            "refund_request_id"
        );
        let mut bad = refund(9, "no-such-payment", 100);
        bad.reason = Some("x".repeat(257));
        assert_eq!(
            invalid_field(store.refunds().insert_intent(bad, inquire_at()).await),
            "reason"
        );
        let mut bad = refund(9, "no-such-payment", 0);
        bad.reason = Some("x".repeat(257));
        assert_eq!(
            invalid_field(store.refunds().insert_intent(bad, inquire_at()).await),
            "amount_value"
        );
        let bad = NewCapture {
            capture_request_id: "c".repeat(65),
            ..capture(9, "no-such-payment", 100)
        };
        assert_eq!(
            invalid_field(store.captures().insert_intent(bad, inquire_at()).await),
            "capture_request_id"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn refund_and_capture_intents_commit_with_their_inquiry_jobs_and_are_swept_when_stale() {
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(50), inquire_at())
            .await?
            .into_inner();
        let r = store
            .refunds()
            .insert_intent(refund(50, &p.id, 100), inquire_at())
            .await?
            .into_inner();
        let c = store
            .captures()
            .insert_intent(capture(50, &p.id, 100), inquire_at())
            .await?
            .into_inner();
        for (subject, kind) in [
            (&r.id, JobKind::InquireRefund),
            (&c.id, JobKind::InquireCapture),
        ] {
            let jobs = store.jobs().list_for_subject(subject).await?;
            assert_eq!(jobs.len(), 1, "{kind:?}: {jobs:?}");
            assert_eq!(jobs[0].kind, kind);
        }
        let cutoff = chrono::Utc::now() + chrono::Duration::seconds(1);
        let stale_refunds = store.refunds().list_stale_unfinished(cutoff, 10).await?;
        assert_eq!(stale_refunds, vec![r.clone()]);
        store
            .captures()
            .transition(
                &c.id,
                1,
                Transition::new(OperationStatus::Fail, "capture_response"),
                answer(None, "F", "PROCESS_FAIL", None),
            )
            .await?;
        assert!(
            store
                .captures()
                .list_stale_unfinished(cutoff, 10)
                .await?
                .is_empty(),
            "a final capture is not stale"
        );
        let before = r.updated_at - chrono::Duration::seconds(1);
        assert!(
            store
                .refunds()
                .list_stale_unfinished(before, 10)
                .await?
                .is_empty()
        );
        Ok(())
    })
    .await;
}

/// Totals are the sums of SUCCESS refunds and captures only, per payment, for every payment asked about at once.
#[tokio::test]
async fn totals_sum_successful_operations_per_payment() {
    each_backend(|store| async move {
        let mut ids = Vec::new();
        for n in [30, 31, 32] {
            let mut new = new_payment(n);
            new.is_authorization = true;
            new.capture_mode = Some(store::CaptureMode::Manual);
            let p = store
                .payments()
                .insert_intent(new, inquire_at())
                .await?
                .into_inner();
            ids.push(p.id);
        }
        let settle = |to: OperationStatus| Transition::new(to, "inquiry");
        // Payment 30: two successful refunds, one pending, one failed.
        for (n, amount, to) in [
            (30, 100, Some(OperationStatus::Success)),
            (31, 250, Some(OperationStatus::Success)),
            (32, 1_000, None),
            (33, 4_000, Some(OperationStatus::Fail)),
        ] {
            let r = store
                .refunds()
                .insert_intent(refund(n, &ids[0], amount), inquire_at())
                .await?
                .into_inner();
            if let Some(to) = to {
                store
                    .refunds()
                    .transition(
                        &r.id,
                        r.version,
                        settle(to),
                        answer(None, "S", "SUCCESS", None),
                    )
                    .await?;
            }
        }
        // Payment 30 has one successful capture; payment 31 captures only (one successful, one pending).
        for (n, payment, amount, success) in [
            (40, &ids[0], 700, true),
            (41, &ids[1], 50, false),
            (42, &ids[1], 600, true),
        ] {
            let c = store
                .captures()
                .insert_intent(capture(n, payment, amount), inquire_at())
                .await?
                .into_inner();
            if success {
                store
                    .captures()
                    .transition(
                        &c.id,
                        c.version,
                        settle(OperationStatus::Success),
                        answer(None, "S", "SUCCESS", None),
                    )
                    .await?;
            }
        }

        let asked: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .chain(["no-such-payment"])
            .collect();
        let totals = store.payments().totals(&asked).await?;
        assert_eq!(
            totals.get(&ids[0]).copied(),
            Some(store::payments::PaymentTotals {
                refunded: 350,
                captured: 700
            })
        );
        assert_eq!(
            totals.get(&ids[1]).copied(),
            Some(store::payments::PaymentTotals {
                refunded: 0,
                captured: 600
            })
        );
        assert!(
            !totals.contains_key(&ids[2]),
            "nothing moved: absent (zero)"
        );
        assert!(!totals.contains_key("no-such-payment"));
        assert!(store.payments().totals(&[]).await?.is_empty());
        Ok(())
    })
    .await;
}
