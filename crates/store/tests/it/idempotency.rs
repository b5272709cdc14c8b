use crate::common::each_backend;
use std::time::Duration;
use store::StoreError;
use store::idempotency::{Begin, key};
use store::jobs::{JobKind, NewJob};

const LEASE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn fifty_concurrent_begins_exactly_one_fresh() {
    each_backend(|store| async move {
        let k = key("pay", "REQ-RACE");
        let mut tasks = Vec::new();
        for i in 0..50 {
            let store = store.clone();
            let k = k.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .idempotency()
                    .begin(&k, "fp", &format!("owner-{i}"), LEASE)
                    .await
            }));
        }
        let (mut fresh, mut in_progress) = (0, 0);
        for t in tasks {
            match t.await.expect("join")? {
                Begin::Fresh { taken_over: false } => fresh += 1,
                Begin::InProgress { .. } => in_progress += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((fresh, in_progress), (1, 49));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn begin_complete_replay_and_mismatch() {
    each_backend(|store| async move {
        let idem = store.idempotency();
        let k = key("pay", "REQ-1");
        assert_eq!(k, "pay:REQ-1");
        assert_eq!(
            idem.begin(&k, "fp-1", "a", LEASE).await?,
            Begin::Fresh { taken_over: false }
        );
        assert!(matches!(
            idem.begin(&k, "fp-1", "b", LEASE).await?,
            Begin::InProgress { owner, .. } if owner == "a"
        ));
        assert_eq!(idem.begin(&k, "fp-2", "b", LEASE).await?, Begin::Mismatch);
        let err = idem
            .complete(&k, "b", b"nope")
            .await
            .expect_err("not the owner");
        assert!(matches!(err, StoreError::LeaseNotHeld { .. }));
        idem.complete(&k, "a", b"\x01answer").await?;
        assert_eq!(
            idem.begin(&k, "fp-1", "c", LEASE).await?,
            Begin::Completed(b"\x01answer".to_vec())
        );
        assert_eq!(idem.begin(&k, "fp-2", "c", LEASE).await?, Begin::Mismatch);
        assert!(
            idem.complete(&k, "a", b"again").await.is_err(),
            "completed once"
        );
        // Same request id in another scope is independent.
        assert_eq!(
            idem.begin(&key("refund", "REQ-1"), "fp-9", "d", LEASE)
                .await?,
            Begin::Fresh { taken_over: false }
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn expired_lease_is_taken_over_by_exactly_one() {
    each_backend(|store| async move {
        let k = key("pay", "REQ-CRASH");
        // A zero lease is expired as soon as it is written: the owner "crashed".
        assert_eq!(
            store
                .idempotency()
                .begin(&k, "fp", "crashed", Duration::ZERO)
                .await?,
            Begin::Fresh { taken_over: false }
        );
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            let k = k.clone();
            tasks.push(tokio::spawn(async move {
                let owner = format!("taker-{i}");
                let outcome = store.idempotency().begin(&k, "fp", &owner, LEASE).await;
                outcome.map(|b| (owner, b))
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.expect("join")? {
                (owner, Begin::Fresh { taken_over: true }) => winners.push(owner),
                (_, Begin::InProgress { .. }) => {}
                (_, other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1);
        let err = store
            .idempotency()
            .complete(&k, "crashed", b"late")
            .await
            .expect_err("lost");
        assert!(matches!(err, StoreError::LeaseNotHeld { .. }));
        store.idempotency().complete(&k, &winners[0], b"ok").await?;
        assert_eq!(
            store.idempotency().get(&k).await?.and_then(|r| r.response),
            Some(b"ok".to_vec())
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn release_lets_the_client_start_over() {
    each_backend(|store| async move {
        let idem = store.idempotency();
        let k = key("pay", "REQ-REL");
        idem.begin(&k, "fp", "a", LEASE).await?;
        assert!(
            idem.release(&k, "b").await.is_err(),
            "only the owner releases"
        );
        idem.release(&k, "a").await?;
        assert!(idem.get(&k).await?.is_none());
        assert_eq!(
            idem.begin(&k, "fp-new", "b", LEASE).await?,
            Begin::Fresh { taken_over: false }
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_failed_attempt_replays_its_failure_to_any_content_and_commits_its_compensation() {
    each_backend(|store| async move {
        let idem = store.idempotency();
        let k = key("apply_token", "CODE-1");
        assert_eq!(
            idem.begin(&k, "fp-1", "a", LEASE).await?,
            Begin::Fresh { taken_over: false }
        );
        let revoke = NewJob::new(
            JobKind::RevokeTokens,
            "0190aaaa-0000-7000-8000-000000000001",
            chrono::Utc::now(),
        )
        .with_payload(serde_json::json!({"sealed_access_token": "x"}));
        let err = idem
            .fail(&k, "b", b"spent", Some(&revoke))
            .await
            .expect_err("not the owner");
        assert!(matches!(err, StoreError::LeaseNotHeld { .. }));
        assert!(
            store
                .jobs()
                .list_for_subject(&revoke.subject_id)
                .await?
                .is_empty(),
            "a refused failure leaves no compensation behind"
        );
        idem.fail(&k, "a", b"spent", Some(&revoke)).await?;
        for print in ["fp-1", "fp-2"] {
            assert_eq!(
                idem.begin(&k, print, "c", LEASE).await?,
                Begin::Failed(b"spent".to_vec()),
                "{print}"
            );
        }
        let jobs = store.jobs().list_for_subject(&revoke.subject_id).await?;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].kind, JobKind::RevokeTokens);
        assert_eq!(jobs[0].payload, revoke.payload);
        let err = idem.complete(&k, "a", b"late").await.expect_err("ended");
        assert!(matches!(err, StoreError::LeaseNotHeld { .. }));
        Ok(())
    })
    .await;
}
