use crate::common::{each_backend, inquire_at, new_payment};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use store::captures::NewCapture;
use store::events::{EventFilter, EventSubject, EventType, PaymentEvent, cursor};
use store::payments::PaymentUpdate;
use store::refunds::NewRefund;
use store::{OperationStatus, OperationUpdate, PaymentStatus, Store, StoreError, Transition};

/// Everything after `after`, read the way a stream does (to the head, in commit order).
async fn all_after(store: &Store, after: i64, filter: &EventFilter) -> Vec<PaymentEvent> {
    let head = store.events().head().await.expect("head");
    store
        .events()
        .read(after, head.last_seq, filter, 10_000)
        .await
        .expect("read")
}

fn status_of(event: &PaymentEvent) -> String {
    match &event.subject {
        EventSubject::Payment { payment, .. } => format!("payment {:?}", payment.status),
        EventSubject::Refund { refund, .. } => format!("refund {:?}", refund.status),
        EventSubject::Capture { capture, .. } => format!("capture {:?}", capture.status),
    }
}

fn processing(update_action: Option<serde_json::Value>) -> PaymentUpdate {
    PaymentUpdate {
        next_action: update_action
            .as_ref()
            .and_then(store::NextAction::from_alipay),
        ..Default::default()
    }
}

#[tokio::test]
async fn every_state_change_appends_one_event_with_the_state_at_that_moment() {
    each_backend(|store| async move {
        let start = store.events().head().await?.last_seq;
        let payments = store.payments();
        let p = payments
            .insert_intent(new_payment(1), inquire_at())
            .await?
            .into_inner();
        let p = payments
            .transition(
                &p.id,
                1,
                Transition::new(PaymentStatus::Processing, "pay_response"),
                processing(Some(serde_json::json!({"normalUrl": "https://cashier/1"}))),
            )
            .await?;
        // The same status with nothing new for the buyer (an inquiry that learned nothing): no event.
        let p = payments
            .transition(
                &p.id,
                2,
                Transition::new(PaymentStatus::Processing, "inquiry"),
                PaymentUpdate::default(),
            )
            .await?;
        // A new next action is news for the buyer's app: an event although the status stays.
        let p = payments
            .transition(
                &p.id,
                3,
                Transition::new(PaymentStatus::Processing, "inquiry"),
                processing(Some(serde_json::json!({"normalUrl": "https://cashier/2"}))),
            )
            .await?;
        let p = payments
            .transition(
                &p.id,
                4,
                Transition::new(PaymentStatus::Success, "reconciler"),
                PaymentUpdate::default(),
            )
            .await?;
        let refund = store
            .refunds()
            .insert_intent(
                NewRefund {
                    refund_request_id: "REF-1".into(),
                    payment_id: p.id.clone(),
                    amount_value: 400,
                    currency: "PHP".into(),
                    reason: None,
                    request_fingerprint: "fp-r".into(),
                },
                inquire_at(),
            )
            .await?
            .into_inner();
        store
            .refunds()
            .transition(
                &refund.id,
                1,
                Transition::new(OperationStatus::Success, "refund_response"),
                OperationUpdate::default(),
            )
            .await?;
        let capture = store
            .captures()
            .insert_intent(
                NewCapture {
                    capture_request_id: "CAP-1".into(),
                    payment_id: p.id.clone(),
                    amount_value: 100,
                    currency: "PHP".into(),
                    is_last_capture: true,
                    request_fingerprint: "fp-c".into(),
                },
                inquire_at(),
            )
            .await?
            .into_inner();
        store
            .captures()
            .transition(
                &capture.id,
                1,
                Transition::new(OperationStatus::Fail, "capture_response"),
                OperationUpdate::default(),
            )
            .await?;
        // A second payment that fails, and a third that is cancelled.
        for (n, to) in [(2, PaymentStatus::Fail), (3, PaymentStatus::Cancelled)] {
            let q = payments
                .insert_intent(new_payment(n), inquire_at())
                .await?
                .into_inner();
            payments
                .transition(
                    &q.id,
                    1,
                    Transition::new(to, "pay_response"),
                    PaymentUpdate::default(),
                )
                .await?;
        }
        // A refused transition appends nothing.
        let refused = payments
            .transition(
                &p.id,
                5,
                Transition::new(PaymentStatus::Processing, "late"),
                PaymentUpdate::default(),
            )
            .await;
        assert!(matches!(refused, Err(StoreError::IllegalTransition { .. })));

        let events = all_after(&store, start, &EventFilter::default()).await;
        let seen: Vec<_> = events.iter().map(status_of).collect();
        assert_eq!(
            seen,
            [
                "payment Created",
                "payment Processing",
                "payment Processing",
                "payment Success",
                "refund Created",
                "refund Success",
                "capture Created",
                "capture Fail",
                "payment Created",
                "payment Fail",
                "payment Created",
                "payment Cancelled",
            ]
        );
        assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
        let ids: std::collections::HashSet<_> = events.iter().map(|e| &e.event_id).collect();
        assert_eq!(ids.len(), events.len(), "event ids are unique");
        // Snapshots are the state at the event, not the current state.
        let EventSubject::Payment { payment, .. } = &events[1].subject else {
            panic!("payment event expected")
        };
        assert_eq!(payment.version, 2);
        assert_eq!(
            payment.next_action,
            store::NextAction::from_alipay(&serde_json::json!({"normalUrl": "https://cashier/1"}))
        );
        let EventSubject::Refund { refund, payment } = &events[5].subject else {
            panic!("refund event expected")
        };
        assert_eq!(
            (refund.status, payment.payment_request_id.as_str()),
            (OperationStatus::Success, "REQ-1")
        );
        assert!(events[..8].iter().all(|e| e.payment_request_id == "REQ-1"));
        assert_eq!(events[4].event_type, EventType::Refund);
        assert_eq!(events[6].event_type, EventType::Capture);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn filters_select_by_customer_product_and_type() {
    each_backend(|store| async move {
        let mut other = new_payment(2);
        other.customer_id = Some("CUST-2".into());
        other.product_code = store::ProductCode::CashierPayment;
        let a = store
            .payments()
            .insert_intent(new_payment(1), inquire_at())
            .await?
            .into_inner();
        store.payments().insert_intent(other, inquire_at()).await?;
        store
            .payments()
            .insert_intent(new_payment(3), inquire_at())
            .await?;
        store
            .refunds()
            .insert_intent(
                NewRefund {
                    refund_request_id: "REF-F".into(),
                    payment_id: a.id.clone(),
                    amount_value: 1,
                    currency: "PHP".into(),
                    reason: None,
                    request_fingerprint: "fp".into(),
                },
                inquire_at(),
            )
            .await?;
        let ids = |events: Vec<PaymentEvent>| {
            events
                .into_iter()
                .map(|e| (e.event_type, e.payment_request_id))
                .collect::<Vec<_>>()
        };
        let by_customer = EventFilter {
            customer_id: Some("CUST-2".into()),
            ..Default::default()
        };
        assert_eq!(
            ids(all_after(&store, 0, &by_customer).await),
            [(EventType::Payment, "REQ-2".to_owned())]
        );
        let by_product = EventFilter {
            product_code: Some(store::ProductCode::AgreementPayment),
            ..Default::default()
        };
        assert_eq!(
            ids(all_after(&store, 0, &by_product).await),
            [
                (EventType::Payment, "REQ-1".to_owned()),
                (EventType::Payment, "REQ-3".to_owned()),
                (EventType::Refund, "REQ-1".to_owned()),
            ]
        );
        let refunds_of_cust_1 = EventFilter {
            customer_id: Some("CUST-1".into()),
            types: vec![EventType::Refund, EventType::Capture],
            ..Default::default()
        };
        assert_eq!(
            ids(all_after(&store, 0, &refunds_of_cust_1).await),
            [(EventType::Refund, "REQ-1".to_owned())]
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn resuming_from_a_cursor_misses_and_repeats_nothing() {
    each_backend(|store| async move {
        for n in 1..=6 {
            store
                .payments()
                .insert_intent(new_payment(n), inquire_at())
                .await?;
        }
        let all = all_after(&store, 0, &EventFilter::default()).await;
        assert_eq!(all.len(), 6);
        let since = Utc::now() - chrono::Duration::days(7);
        let from = store
            .events()
            .resume_position(&all[2].cursor, since)
            .await?;
        let rest = all_after(&store, from, &EventFilter::default()).await;
        assert_eq!(rest, all[3..].to_vec());
        // The head's cursor is valid and has nothing after it.
        let last = store
            .events()
            .resume_position(&all[5].cursor, since)
            .await?;
        assert!(
            all_after(&store, last, &EventFilter::default())
                .await
                .is_empty()
        );
        // Malformed, or naming a position the stream never reached: not a cursor of ours.
        for bad in [
            "not base64 !".to_owned(),
            "ZTE6eA".to_owned(),
            cursor(all[5].seq + 1000),
        ] {
            assert!(matches!(
                store.events().resume_position(&bad, since).await,
                Err(StoreError::InvalidCursor)
            ));
        }
        Ok(())
    })
    .await;
}

/// Moves every event at or below `through` back by eight days, as if they were committed a week ago.
async fn age_events(store: &Store, through: i64) {
    let db = store.connection();
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => "UPDATE payment_events SET created_at = ?1 WHERE seq <= ?2",
        _ => "UPDATE payment_events SET created_at = $1 WHERE seq <= $2",
    };
    let old = Utc::now() - chrono::Duration::days(8);
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [old.into(), through.into()],
    ))
    .await
    .expect("age events");
}

#[tokio::test]
async fn cursors_older_than_retention_are_expired_before_and_after_pruning() {
    each_backend(|store| async move {
        for n in 1..=4 {
            store
                .payments()
                .insert_intent(new_payment(n), inquire_at())
                .await?;
        }
        let all = all_after(&store, 0, &EventFilter::default()).await;
        age_events(&store, all[1].seq).await;
        let week = Utc::now() - chrono::Duration::days(7);
        // Events after the first cursor are past retention: expired even before any pruning ran.
        assert!(matches!(
            store.events().resume_position(&all[0].cursor, week).await,
            Err(StoreError::CursorExpired)
        ));
        // The second event's successors are all recent: resumable.
        assert_eq!(
            store.events().resume_position(&all[1].cursor, week).await?,
            all[1].seq
        );
        assert_eq!(store.events().prune(week).await?, 2);
        assert_eq!(
            store.events().prune(week).await?,
            0,
            "pruning is idempotent"
        );
        let head = store.events().head().await?;
        assert_eq!(head.pruned_through, all[1].seq);
        assert!(matches!(
            store.events().resume_position(&all[0].cursor, week).await,
            Err(StoreError::CursorExpired)
        ));
        assert_eq!(
            all_after(&store, all[1].seq, &EventFilter::default()).await,
            all[2..].to_vec()
        );
        // Pruning everything keeps positions: the head does not go back, new events continue after it.
        age_events(&store, head.last_seq).await;
        store.events().prune(week).await?;
        let emptied = store.events().head().await?;
        assert_eq!(emptied.last_seq, head.last_seq);
        store
            .payments()
            .insert_intent(new_payment(9), inquire_at())
            .await?;
        let next = all_after(&store, emptied.last_seq, &EventFilter::default()).await;
        assert_eq!(next.len(), 1);
        assert!(next[0].seq > head.last_seq, "numbers are never reused");
        Ok(())
    })
    .await;
}

/// Many writers commit concurrently while a reader follows the stream the way `StreamPaymentEvents` does (read up
/// to the head, move to the head). On PostgreSQL a trigger makes some appends linger between drawing their number
/// and committing, so that with plain serial numbers later numbers would commit first and the reader would move
/// past the lingering ones for good (this test fails when the outbox's commit-order lock is removed); the outbox's
/// commit ordering makes the reader's copy equal to the table.
#[tokio::test]
async fn a_concurrent_reader_never_skips_an_event_committed_out_of_order() {
    each_backend(|store| async move {
        let writers = 16;
        let per_writer = 20;
        if store.backend() == DbBackend::Postgres {
            let db = store.connection();
            db.execute_unprepared(
                "CREATE FUNCTION linger() RETURNS trigger AS $$ BEGIN \
                 IF NEW.payment_request_id LIKE 'SLOW-%' THEN PERFORM pg_sleep(0.03); END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER linger AFTER INSERT ON payment_events \
                 FOR EACH ROW EXECUTE FUNCTION linger()",
            )
            .await?;
        }
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let store = store.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut position = 0;
                let mut seen = Vec::new();
                loop {
                    // Read the flag first: once it is set, a head read afterwards includes every event.
                    let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                    let head = store.events().head().await?;
                    let batch = store
                        .events()
                        .read(position, head.last_seq, &EventFilter::default(), 100_000)
                        .await?;
                    seen.extend(batch.into_iter().map(|e| e.seq));
                    position = head.last_seq;
                    if finished {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                Ok::<_, StoreError>(seen)
            })
        };
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per_writer {
                    let mut new = new_payment(1000 + w * 100 + i);
                    if i % 10 == 3 {
                        new.payment_request_id = format!("SLOW-{w}-{i}");
                    }
                    let p = store
                        .payments()
                        .insert_intent(new, inquire_at())
                        .await?
                        .into_inner();
                    store
                        .payments()
                        .transition(
                            &p.id,
                            1,
                            Transition::new(PaymentStatus::Success, "pay_response"),
                            PaymentUpdate::default(),
                        )
                        .await?;
                }
                Ok::<_, StoreError>(())
            }));
        }
        for t in tasks {
            t.await.expect("writer")?;
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let seen = reader.await.expect("reader")?;
        let stored: Vec<i64> = all_after(&store, 0, &EventFilter::default())
            .await
            .into_iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(stored.len(), (writers * per_writer * 2) as usize);
        assert_eq!(
            seen, stored,
            "the concurrent reader saw every event once, in order"
        );
        Ok(())
    })
    .await;
}
