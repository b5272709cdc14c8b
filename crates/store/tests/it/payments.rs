use crate::common::{each_backend, inquire_at, new_payment};
use chrono::SubsecRound;
use store::Spelled;
use store::jobs::{JobKind, NewJob};
use store::payments::{PaymentFilter, PaymentUpdate};
use store::{
    EntityKind, Inserted, Lifecycle, PageRequest, PaymentStatus, ResultInfo, StoreError, Transition,
};

fn result(status: &str, code: &str) -> Option<ResultInfo> {
    Some(ResultInfo {
        status: store::ResultStatus::parse(status).expect("S, F or U"),
        code: code.into(),
        message: Some(format!("{code} message")),
    })
}

#[tokio::test]
async fn intent_is_written_once_per_request_id() {
    each_backend(|store| async move {
        let first = store
            .payments()
            .insert_intent(new_payment(1), inquire_at())
            .await?;
        let Inserted::Created(created) = first else {
            panic!("first insert must create");
        };
        assert_eq!(created.status, PaymentStatus::Created);
        assert_eq!(created.version, 1);
        assert_eq!(created.request_fingerprint, "fp-1");

        let mut again = new_payment(1);
        again.request_fingerprint = "different".into();
        again.amount_value = 1;
        let Inserted::Existing(existing) =
            store.payments().insert_intent(again, inquire_at()).await?
        else {
            panic!("second insert must not create a row");
        };
        assert_eq!(existing, created, "the stored row is returned unchanged");

        let page = store
            .payments()
            .list(&PaymentFilter::default(), &PageRequest::default())
            .await?;
        assert_eq!(page.items.len(), 1);
        let audit = store
            .audit()
            .list_for(EntityKind::Payment, &created.id)
            .await?;
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].from_status, None);
        assert_eq!(audit[0].to_status, "CREATED");
        assert_eq!(audit[0].source, "intent");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn concurrent_intents_for_one_request_id_create_one_row() {
    each_backend(|store| async move {
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .payments()
                    .insert_intent(new_payment(7), inquire_at())
                    .await
            }));
        }
        let mut created = 0;
        let mut ids = std::collections::HashSet::new();
        for t in tasks {
            let outcome = t.await.expect("join")?;
            created += usize::from(outcome.is_created());
            ids.insert(outcome.into_inner().id);
        }
        assert_eq!(created, 1);
        assert_eq!(ids.len(), 1, "every caller sees the same row");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn transitions_write_fields_bump_version_and_audit() {
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(2), inquire_at())
            .await?
            .into_inner();
        let action = store::NextAction::from_alipay(
            &serde_json::json!({"normalUrl": "https://sandbox/cashier/1"}),
        )
        .expect("a redirect");
        let p = store
            .payments()
            .transition(
                &p.id,
                1,
                Transition::new(PaymentStatus::Processing, "pay_response")
                    .with_reason("PAYMENT_IN_PROCESS"),
                PaymentUpdate {
                    alipay_payment_id: Some("ALI-1".into()),
                    result: result("U", "PAYMENT_IN_PROCESS"),
                    next_action: Some(action.clone()),
                    ..Default::default()
                },
            )
            .await?;
        assert_eq!(p.status, PaymentStatus::Processing);
        assert_eq!(p.version, 2);
        assert_eq!(p.next_action, Some(action));
        assert_eq!(p.alipay_payment_id.as_deref(), Some("ALI-1"));

        // Same non-final status: details recorded, no audit row.
        let p = store
            .payments()
            .transition(
                &p.id,
                2,
                Transition::new(PaymentStatus::Processing, "inquiry"),
                PaymentUpdate {
                    result: result("S", "SUCCESS"),
                    ..Default::default()
                },
            )
            .await?;
        assert_eq!(p.version, 3);

        let paid_at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let p = store
            .payments()
            .transition(
                &p.id,
                3,
                Transition::new(PaymentStatus::Success, "notification"),
                PaymentUpdate {
                    result: result("S", "SUCCESS"),
                    payment_time: Some(paid_at),
                    ..Default::default()
                },
            )
            .await?;
        assert_eq!(p.status, PaymentStatus::Success);
        assert_eq!(p.version, 4);
        assert_eq!(p.next_action, None, "cleared on a final status");
        assert_eq!(p.alipay_payment_id.as_deref(), Some("ALI-1"), "kept");
        assert_eq!(p.payment_time, Some(paid_at));
        assert_eq!(p.last_result_code.as_deref(), Some("SUCCESS"));
        assert_eq!(store.payments().get(&p.id).await?, Some(p.clone()));
        assert_eq!(
            store.payments().get_by_request_id("REQ-2").await?,
            Some(p.clone())
        );

        let audit = store.audit().list_for(EntityKind::Payment, &p.id).await?;
        let trail: Vec<_> = audit
            .iter()
            .map(|c| {
                (
                    c.from_status.as_deref(),
                    c.to_status.as_str(),
                    c.source.as_str(),
                )
            })
            .collect();
        assert_eq!(
            trail,
            [
                (None, "CREATED", "intent"),
                (Some("CREATED"), "PROCESSING", "pay_response"),
                (Some("PROCESSING"), "SUCCESS", "notification"),
            ]
        );
        assert_eq!(audit[1].reason.as_deref(), Some("PAYMENT_IN_PROCESS"));
        Ok(())
    })
    .await;
}

/// Every (from, to) pair of the matrix, enforced by the database path, not only the table.
#[tokio::test]
async fn store_enforces_the_whole_transition_matrix() {
    each_backend(|store| async move {
        let mut n = 100;
        for &from in PaymentStatus::ALL {
            for &to in PaymentStatus::ALL {
                n += 1;
                let p = store
                    .payments()
                    .insert_intent(new_payment(n), inquire_at())
                    .await?
                    .into_inner();
                let mut version = 1;
                if from != PaymentStatus::Created {
                    version = store
                        .payments()
                        .transition(&p.id, 1, Transition::new(from, "setup"), Default::default())
                        .await?
                        .version;
                }
                let outcome = store
                    .payments()
                    .transition(
                        &p.id,
                        version,
                        Transition::new(to, "test"),
                        Default::default(),
                    )
                    .await;
                match outcome {
                    Ok(row) => {
                        assert!(from.can_transition_to(to), "{from:?} -> {to:?} was allowed");
                        assert_eq!(row.status, to);
                        assert_eq!(row.version, version + 1);
                    }
                    Err(StoreError::IllegalTransition { from: f, to: t, .. }) => {
                        assert!(
                            !from.can_transition_to(to),
                            "{from:?} -> {to:?} was refused"
                        );
                        assert_eq!((f, t), (from.as_str(), to.as_str()));
                        let row = store.payments().get(&p.id).await?.expect("row");
                        assert_eq!((row.status, row.version), (from, version), "unchanged");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn stale_version_is_a_conflict() {
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(3), inquire_at())
            .await?
            .into_inner();
        store
            .payments()
            .transition(
                &p.id,
                1,
                Transition::new(PaymentStatus::Processing, "pay_response"),
                Default::default(),
            )
            .await?;
        let err = store
            .payments()
            .transition(
                &p.id,
                1,
                Transition::new(PaymentStatus::Success, "inquiry"),
                Default::default(),
            )
            .await
            .expect_err("stale version");
        assert!(
            matches!(
                err,
                StoreError::VersionConflict {
                    expected: 1,
                    actual: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        let missing = store
            .payments()
            .transition(
                "nope",
                1,
                Transition::new(PaymentStatus::Success, "inquiry"),
                Default::default(),
            )
            .await
            .expect_err("missing");
        assert!(matches!(
            missing,
            StoreError::NotFound {
                entity: EntityKind::Payment,
                ..
            }
        ));
        Ok(())
    })
    .await;
}

/// A move of the row as the caller read it (`transition_from`) is written by one guarded batch. When the row moved
/// on since that read, the batch's update matches nothing and its audit row, event and follow-up job are not
/// written either, on both stores; the row as it stands decides the error. When it matches, the event (built before
/// the write) shows exactly the row written.
#[tokio::test]
async fn a_move_of_a_stale_row_writes_nothing() {
    each_backend(|store| async move {
        let payments = store.payments();
        let created = payments
            .insert_intent(new_payment(4), inquire_at())
            .await?
            .into_inner();
        let start = store.events().head().await?.last_seq;
        let processing = payments
            .transition_from(
                &created,
                Transition::new(PaymentStatus::Processing, "pay_response"),
                PaymentUpdate {
                    alipay_payment_id: Some("2026120100000001".into()),
                    result: result("U", "PAYMENT_IN_PROCESS"),
                    ..Default::default()
                },
            )
            .await?;
        assert_eq!(
            (processing.version, processing.status),
            (2, PaymentStatus::Processing)
        );
        let head = store.events().head().await?.last_seq;
        let events = store
            .events()
            .read(start, head, &Default::default(), 10)
            .await?;
        assert_eq!(events.len(), 1);
        match &events[0].subject {
            store::events::EventSubject::Payment { payment } => assert_eq!(payment, &processing),
            other => panic!("a payment event, not {other:?}"),
        }

        let written = |store: store::Store, id: String| async move {
            let audit = store
                .audit()
                .list_for(EntityKind::Payment, &id)
                .await?
                .len();
            let jobs = store.jobs().list_for_subject(&id).await?.len();
            let head = store.events().head().await?.last_seq;
            Ok::<_, StoreError>((audit, jobs, head))
        };
        let before = written(store.clone(), created.id.clone()).await?;
        let follow_up = NewJob::new(JobKind::CancelPayment, &created.id, inquire_at());
        // Read at version 1 in CREATED; the row is now PROCESSING at version 2, which allows the move: a conflict.
        let stale = payments
            .transition_from(
                &created,
                Transition::new(PaymentStatus::Success, "inquiry")
                    .with_follow_up(follow_up.clone()),
                PaymentUpdate::default(),
            )
            .await
            .expect_err("stale row");
        assert!(
            matches!(
                stale,
                StoreError::VersionConflict {
                    expected: 1,
                    actual: 2,
                    ..
                }
            ),
            "{stale:?}"
        );
        let failed = payments
            .transition_from(
                &processing,
                Transition::new(PaymentStatus::Fail, "inquiry"),
                PaymentUpdate::default(),
            )
            .await?;
        let after_fail = written(store.clone(), created.id.clone()).await?;
        // Read in PROCESSING; the row is now FAIL, which allows nothing: illegal, whatever the version says.
        let late = payments
            .transition_from(
                &processing,
                Transition::new(PaymentStatus::Success, "pay_response").with_follow_up(follow_up),
                PaymentUpdate::default(),
            )
            .await
            .expect_err("final row");
        assert!(
            matches!(
                late,
                StoreError::IllegalTransition {
                    from: "FAIL",
                    to: "SUCCESS",
                    ..
                }
            ),
            "{late:?}"
        );
        assert_eq!(
            written(store.clone(), created.id.clone()).await?,
            after_fail,
            "a refused move writes nothing"
        );
        assert_eq!(
            (after_fail.0, after_fail.1, after_fail.2),
            (before.0 + 1, before.1, before.2 + 1),
            "only the FAIL move wrote its audit row and event"
        );
        assert_eq!(
            payments.get(&created.id).await?.expect("stored"),
            failed,
            "the row is the one the last move wrote"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn racing_results_exactly_one_wins() {
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(4), inquire_at())
            .await?
            .into_inner();
        let mut tasks = Vec::new();
        for i in 0..12 {
            let store = store.clone();
            let id = p.id.clone();
            let to = if i % 2 == 0 {
                PaymentStatus::Success
            } else {
                PaymentStatus::Fail
            };
            tasks.push(tokio::spawn(async move {
                store
                    .payments()
                    .transition(
                        &id,
                        1,
                        Transition::new(to, format!("racer-{i}")),
                        Default::default(),
                    )
                    .await
            }));
        }
        let mut wins = Vec::new();
        for t in tasks {
            match t.await.expect("join") {
                Ok(row) => wins.push(row),
                Err(StoreError::VersionConflict { .. } | StoreError::IllegalTransition { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        assert_eq!(wins.len(), 1);
        let stored = store.payments().get(&p.id).await?.expect("row");
        assert_eq!(stored.status, wins[0].status);
        assert_eq!(stored.version, 2);
        let audit = store.audit().list_for(EntityKind::Payment, &p.id).await?;
        assert_eq!(audit.len(), 2, "creation + the one winning change");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn follow_up_job_commits_with_the_transition() {
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(5), inquire_at())
            .await?
            .into_inner();
        let intent_job_at = store.jobs().list_for_subject(&p.id).await?[0].next_run_at;
        let job = NewJob::new(JobKind::InquirePayment, &p.id, chrono::Utc::now());
        // A refused transition must not leave its job behind.
        store
            .payments()
            .transition(
                &p.id,
                1,
                Transition::new(PaymentStatus::Fail, "pay_response"),
                Default::default(),
            )
            .await?;
        let p2 = store
            .payments()
            .insert_intent(new_payment(6), inquire_at())
            .await?
            .into_inner();
        let err = store
            .payments()
            .transition(
                &p.id,
                2,
                Transition::new(PaymentStatus::Processing, "late").with_follow_up(job),
                Default::default(),
            )
            .await
            .expect_err("final payment");
        assert!(matches!(err, StoreError::IllegalTransition { .. }));
        let jobs = store.jobs().list_for_subject(&p.id).await?;
        assert_eq!(jobs.len(), 1, "only the write-ahead job: {jobs:?}");
        assert_eq!(
            jobs[0].next_run_at, intent_job_at,
            "the refused job did not replace it"
        );

        let job2 = NewJob::new(JobKind::InquirePayment, &p2.id, chrono::Utc::now());
        let p2 = store
            .payments()
            .transition(
                &p2.id,
                1,
                Transition::new(PaymentStatus::Processing, "pay_response")
                    .with_follow_up(job2.clone()),
                Default::default(),
            )
            .await?;
        store
            .payments()
            .transition(
                &p2.id,
                2,
                Transition::new(PaymentStatus::Processing, "inquiry").with_follow_up(job2),
                Default::default(),
            )
            .await?;
        let jobs = store.jobs().list_for_subject(&p2.id).await?;
        assert_eq!(jobs.len(), 1, "one poller per payment");
        assert_eq!(jobs[0].kind, JobKind::InquirePayment);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn list_filters_and_pages_without_gaps() {
    each_backend(|store| async move {
        let mut ids = Vec::new();
        for n in 0..7u32 {
            let mut new = new_payment(200 + n);
            new.customer_id = Some(if n % 2 == 0 { "EVEN" } else { "ODD" }.into());
            if n == 3 {
                new.product_code = store::ProductCode::CashierPayment;
            }
            let p = store
                .payments()
                .insert_intent(new, inquire_at())
                .await?
                .into_inner();
            if n < 2 {
                store
                    .payments()
                    .transition(
                        &p.id,
                        1,
                        Transition::new(PaymentStatus::Success, "pay_response"),
                        Default::default(),
                    )
                    .await?;
            }
            ids.push(p.id);
        }
        // Page through everything, 3 at a time.
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = store
                .payments()
                .list(
                    &PaymentFilter::default(),
                    &PageRequest {
                        page_size: store::PageSize::new(3).expect("page size"),
                        page_token: token.clone(),
                    },
                )
                .await?;
            assert!(page.items.len() <= 3);
            seen.extend(page.items.iter().map(|p| (p.created_at, p.id.clone())));
            match page.next_page_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7);
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "newest first, no repeats");

        let f = |filter: PaymentFilter| {
            let store = store.clone();
            async move {
                Ok::<_, StoreError>(
                    store
                        .payments()
                        .list(&filter, &PageRequest::default())
                        .await?
                        .items
                        .len(),
                )
            }
        };
        assert_eq!(
            f(PaymentFilter {
                customer_id: Some("EVEN".into()),
                ..Default::default()
            })
            .await?,
            4
        );
        assert_eq!(
            f(PaymentFilter {
                statuses: vec![PaymentStatus::Success],
                ..Default::default()
            })
            .await?,
            2
        );
        assert_eq!(
            f(PaymentFilter {
                statuses: vec![PaymentStatus::Created, PaymentStatus::Fail],
                ..Default::default()
            })
            .await?,
            5,
            "several statuses match any of them"
        );
        assert_eq!(
            f(PaymentFilter {
                statuses: vec![PaymentStatus::Success, PaymentStatus::Created],
                customer_id: Some("EVEN".into()),
                ..Default::default()
            })
            .await?,
            4
        );
        assert_eq!(
            f(PaymentFilter {
                product_code: Some(store::ProductCode::CashierPayment),
                ..Default::default()
            })
            .await?,
            1
        );
        assert_eq!(
            f(PaymentFilter {
                binding_id: Some("none".into()),
                ..Default::default()
            })
            .await?,
            0
        );
        let all = store
            .payments()
            .list(&PaymentFilter::default(), &PageRequest::default())
            .await?;
        let oldest = all.items.last().expect("rows").created_at;
        assert_eq!(
            f(PaymentFilter {
                created_to: Some(oldest),
                ..Default::default()
            })
            .await?,
            0
        );
        assert_eq!(
            f(PaymentFilter {
                created_from: Some(oldest),
                ..Default::default()
            })
            .await?,
            7
        );

        let bad = store
            .payments()
            .list(
                &PaymentFilter::default(),
                &PageRequest {
                    page_size: store::PageSize::new(3).expect("page size"),
                    page_token: Some("garbage".into()),
                },
            )
            .await;
        assert!(matches!(bad, Err(StoreError::InvalidPageToken)));
        // More than the limit cannot even be asked for: the size is checked once, where it is parsed.
        assert_eq!(store::PageSize::new(101), None);
        assert_eq!(
            store::PageSize::new(0).map(store::PageSize::rows),
            Some(50),
            "0 asks for the default"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn metadata_and_merchant_region_round_trip() {
    each_backend(|store| async move {
        let mut new = new_payment(300);
        new.metadata = [
            ("order-line".to_owned(), "3 × strap, ünïcode".to_owned()),
            ("empty".to_owned(), String::new()),
        ]
        .into_iter()
        .collect();
        new.merchant_region = Some("SG".into());
        let expected = new.metadata.clone();
        let created = store
            .payments()
            .insert_intent(new, inquire_at())
            .await?
            .into_inner();
        assert_eq!(created.metadata_map(), expected);
        assert_eq!(created.merchant_region.as_deref(), Some("SG"));

        // Survives a status transition and a fresh read.
        let moved = store
            .payments()
            .transition(
                &created.id,
                created.version,
                Transition::new(PaymentStatus::Success, "pay_response"),
                Default::default(),
            )
            .await?;
        assert_eq!(moved.metadata_map(), expected);
        let read = store
            .payments()
            .get_by_request_id("REQ-300")
            .await?
            .expect("row");
        assert_eq!(read.metadata_map(), expected);

        // No metadata is stored as NULL and reads as an empty map.
        let plain = store
            .payments()
            .insert_intent(new_payment(301), inquire_at())
            .await?
            .into_inner();
        assert_eq!(plain.metadata, None);
        assert!(plain.metadata_map().is_empty());
        assert_eq!(plain.merchant_region, None);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_the_database() {
    each_backend(|store| async move {
        let cases = [
            ("amount_value", {
                let mut p = new_payment(1);
                p.amount_value = 0;
                p
            }),
            ("currency", {
                let mut p = new_payment(1);
                p.currency = "php".into();
                p
            }),
            ("payment_request_id", {
                let mut p = new_payment(1);
                p.payment_request_id = "x".repeat(65);
                p
            }),
            ("order_description", {
                let mut p = new_payment(1);
                p.order_description = Some("d".repeat(257));
                p
            }),
            ("merchant_region", {
                let mut p = new_payment(1);
                p.merchant_region = Some("r".repeat(17));
                p
            }),
        ];
        for (field, new) in cases {
            let err = store
                .payments()
                .insert_intent(new, inquire_at())
                .await
                .expect_err(field);
            assert!(
                matches!(err, StoreError::Invalid { field: f, .. } if f == field),
                "{err:?}"
            );
        }
        assert!(store.payments().get_by_request_id("REQ-1").await?.is_none());
        Ok(())
    })
    .await;
}

#[test]
fn payments_have_no_pan_or_cvv_column() {
    use sea_orm::{IdenStatic, Iterable};
    for col in store::entity::payment::Column::iter() {
        let name = col.as_str();
        assert!(!name.contains("pan"), "{name}");
        assert!(name == "cvv_result_raw" || !name.contains("cvv"), "{name}");
        assert!(
            name == "card_masked_no" || !name.contains("card_no"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_intent_commits_with_its_inquiry_job_and_a_repeat_adds_neither() {
    each_backend(|store| async move {
        let at = inquire_at().trunc_subsecs(6);
        let p = store
            .payments()
            .insert_intent(new_payment(40), at)
            .await?
            .into_inner();
        let again = store.payments().insert_intent(new_payment(40), at).await?;
        assert!(!again.is_created());
        let jobs = store.jobs().list_for_subject(&p.id).await?;
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert_eq!(jobs[0].kind, JobKind::InquirePayment);
        assert_eq!(jobs[0].status, store::jobs::JobStatus::Pending);
        assert_eq!(jobs[0].next_run_at, at);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_stale_sweep_lists_only_old_unfinished_payments() {
    each_backend(|store| async move {
        let old = store
            .payments()
            .insert_intent(new_payment(41), inquire_at())
            .await?
            .into_inner();
        let done = store
            .payments()
            .insert_intent(new_payment(42), inquire_at())
            .await?
            .into_inner();
        store
            .payments()
            .transition(
                &done.id,
                1,
                Transition::new(PaymentStatus::Success, "pay_response"),
                Default::default(),
            )
            .await?;
        let cutoff = chrono::Utc::now() + chrono::Duration::seconds(1);
        let stale = store.payments().list_stale_unfinished(cutoff, 10).await?;
        assert_eq!(
            stale.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            [old.id.as_str()]
        );
        let before = old.updated_at - chrono::Duration::seconds(1);
        assert!(
            store
                .payments()
                .list_stale_unfinished(before, 10)
                .await?
                .is_empty()
        );
        Ok(())
    })
    .await;
}

/// Rows written before the gateway stored its own `NextAction` hold Alipay's answer fields; they still read, as
/// the same action, and a new action is stored in the gateway's own shape.
#[tokio::test]
async fn next_action_rows_in_the_old_alipay_shape_still_read() {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use store::entity::payment::{Column, Entity};
    use store::next_action::{NextAction, RedirectMethod};
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(60), inquire_at())
            .await?
            .into_inner();
        let p = store
            .payments()
            .transition(
                &p.id,
                1,
                Transition::new(PaymentStatus::Processing, "pay_response"),
                PaymentUpdate {
                    next_action: NextAction::from_alipay(&serde_json::json!({"normalUrl": "https://new"})),
                    ..Default::default()
                },
            )
            .await?;
        let raw = |db: &sea_orm::DatabaseConnection| {
            let id = p.id.clone();
            let db = db.clone();
            async move {
                let stmt = sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT CAST(next_action AS TEXT) AS a FROM payments WHERE id = '{id}'"),
                );
                let row = sea_orm::ConnectionTrait::query_one_raw(&db, stmt).await?.expect("row");
                row.try_get::<String>("", "a")
            }
        };
        let stored: serde_json::Value =
            serde_json::from_str(&raw(store.connection()).await?).expect("json");
        assert_eq!(stored["redirect"]["url"], "https://new", "our own shape: {stored}");

        // What an older gateway wrote: Alipay's fields, camelCase.
        let old = serde_json::json!({
            "normalUrl": "https://sandbox/cashier/9",
            "redirectActionForm": {"method": "POST", "redirectUrl": "https://3ds/9", "parameters": "{\"PaReq\":\"x\"}"}
        });
        Entity::update_many()
            .col_expr(Column::NextAction, Expr::value(old))
            .filter(Column::Id.eq(p.id.as_str()))
            .exec(store.connection())
            .await?;
        let read = store.payments().get(&p.id).await?.expect("payment");
        let Some(NextAction::Redirect(redirect)) = read.next_action else {
            panic!("a redirect, got {:?}", read.next_action)
        };
        assert_eq!(
            (redirect.url.as_str(), redirect.method, redirect.normal_url.as_str()),
            ("https://3ds/9", RedirectMethod::Post, "https://sandbox/cashier/9")
        );
        assert_eq!(redirect.form_parameters["PaReq"], "x");
        Ok(())
    })
    .await;
}

/// What generated input a write-ahead and two moves carry: caller text, metadata and times at any precision.
#[derive(Debug, Clone)]
struct WrittenCase {
    description: String,
    metadata: std::collections::BTreeMap<String, String>,
    expiry_nanos: u32,
    message: String,
    create_nanos: u32,
    paid_nanos: u32,
}

/// `count` cases drawn by proptest (deterministically, so a failure is reproducible).
fn written_cases(count: usize) -> Vec<WrittenCase> {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    let strategy = (
        "\\PC{0,60}",
        proptest::collection::btree_map("[a-z_]{1,16}", "\\PC{0,40}", 0..6),
        0..1_000_000_000u32,
        "\\PC{0,80}",
        0..1_000_000_000u32,
        0..1_000_000_000u32,
    )
        .prop_map(
            |(description, metadata, expiry_nanos, message, create_nanos, paid_nanos)| {
                WrittenCase {
                    description,
                    metadata,
                    expiry_nanos,
                    message,
                    create_nanos,
                    paid_nanos,
                }
            },
        );
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).expect("a case").current())
        .collect()
}

/// A write-ahead and a move answer the row they wrote without sending it back or reading it (see
/// `store::transition`): that answer must be exactly the row a later read finds, on both stores, whatever the
/// caller's text and metadata and whatever the precision of the times a caller or Alipay gave (both stores keep
/// microseconds; the answer must not show finer ones the stored row lacks).
#[tokio::test]
async fn a_write_answers_exactly_the_row_a_read_finds() {
    each_backend(|store| async move {
        let payments = store.payments();
        let whole_micros = |time: Option<chrono::DateTime<chrono::Utc>>| {
            time.is_none_or(|t| t == t.trunc_subsecs(6))
        };
        for (n, case) in written_cases(24).into_iter().enumerate() {
            let at = |nanos: u32| {
                chrono::DateTime::from_timestamp(1_900_000_000 + n as i64, nanos).expect("a time")
            };
            let mut new = new_payment(900 + n as u32);
            new.order_description = Some(case.description.clone());
            new.metadata = case.metadata.clone();
            new.payment_expiry_time = Some(at(case.expiry_nanos));
            let created = payments
                .insert_intent(new, inquire_at())
                .await?
                .into_inner();
            let read = payments.get(&created.id).await?.expect("stored");
            assert_eq!(created, read, "intent of {case:?}");
            assert!(whole_micros(created.payment_expiry_time));
            assert_eq!(
                created
                    .payment_expiry_time
                    .map(|t| t.timestamp_subsec_micros()),
                Some(case.expiry_nanos / 1_000),
                "cut, not rounded, on both stores"
            );

            let processing = payments
                .transition_from(
                    &created,
                    Transition::new(PaymentStatus::Processing, "pay_response"),
                    PaymentUpdate {
                        alipay_payment_id: Some(format!("2026120200{n:06}")),
                        result: Some(ResultInfo {
                            status: store::ResultStatus::parse("U").expect("U"),
                            code: "PAYMENT_IN_PROCESS".into(),
                            message: Some(case.message.clone()),
                        }),
                        payment_create_time: Some(at(case.create_nanos)),
                        ..Default::default()
                    },
                )
                .await?;
            let read = payments.get(&created.id).await?.expect("stored");
            assert_eq!(processing, read, "move to PROCESSING of {case:?}");
            assert!(whole_micros(processing.payment_create_time));

            let paid = payments
                .transition_from(
                    &processing,
                    Transition::new(PaymentStatus::Success, "inquiry"),
                    PaymentUpdate {
                        payment_time: Some(at(case.paid_nanos)),
                        ..Default::default()
                    },
                )
                .await?;
            let read = payments.get(&created.id).await?.expect("stored");
            assert_eq!(paid, read, "move to SUCCESS of {case:?}");
            assert_eq!((paid.version, paid.status), (3, PaymentStatus::Success));
            assert!(whole_micros(paid.payment_time));
        }
        Ok(())
    })
    .await;
}
