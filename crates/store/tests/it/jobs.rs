use crate::common::each_backend;
use chrono::{Duration as ChronoDuration, Utc};
use std::collections::HashMap;
use std::time::Duration;
use store::jobs::{JobKind, JobStatus, NewJob};
use store::{Inserted, StoreError};

const LEASE: Duration = Duration::from_secs(60);

fn due(kind: JobKind, subject: &str) -> NewJob {
    NewJob::new(kind, subject, Utc::now() - ChronoDuration::seconds(1))
}

#[tokio::test]
async fn one_active_job_per_kind_and_subject() {
    each_backend(|store| async move {
        let first = store
            .jobs()
            .enqueue(due(JobKind::InquirePayment, "P1"))
            .await?;
        let Inserted::Created(job) = first else {
            panic!("created")
        };
        assert_eq!((job.status, job.attempts), (JobStatus::Pending, 0));
        let again = store
            .jobs()
            .enqueue(due(JobKind::InquirePayment, "P1"))
            .await?;
        assert_eq!(again, Inserted::Existing(job.clone()));
        // Another kind for the same subject is independent.
        assert!(
            store
                .jobs()
                .enqueue(due(JobKind::CancelPayment, "P1"))
                .await?
                .is_created()
        );

        // Concurrent enqueues of a new pair: exactly one creates.
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .jobs()
                    .enqueue(due(JobKind::InquireRefund, "R1"))
                    .await
            }));
        }
        let mut created = 0;
        for t in tasks {
            created += usize::from(t.await.expect("join")?.is_created());
        }
        assert_eq!(created, 1);

        // Once finished, a new job of the same pair may be scheduled.
        let claimed = store.jobs().claim_due("w", 10, LEASE).await?;
        let p1 = claimed
            .iter()
            .find(|j| j.subject_id == "P1" && j.kind == JobKind::InquirePayment)
            .expect("claimed P1");
        store.jobs().complete(&p1.id, "w").await?;
        assert!(
            store
                .jobs()
                .find_active(JobKind::InquirePayment, "P1")
                .await?
                .is_none()
        );
        assert!(
            store
                .jobs()
                .enqueue(due(JobKind::InquirePayment, "P1"))
                .await?
                .is_created()
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn claim_lease_and_owner_checks() {
    each_backend(|store| async move {
        let jobs = store.jobs();
        let now_job = jobs
            .enqueue(due(JobKind::InquirePayment, "A"))
            .await?
            .into_inner();
        let later = NewJob::new(
            JobKind::InquirePayment,
            "B",
            Utc::now() + ChronoDuration::hours(1),
        );
        let later = jobs.enqueue(later).await?.into_inner();

        let claimed = jobs.claim_due("w1", 10, LEASE).await?;
        assert_eq!(claimed.len(), 1, "the future job is not due");
        let job = &claimed[0];
        assert_eq!(job.id, now_job.id);
        assert_eq!((job.status, job.attempts), (JobStatus::Running, 1));
        assert_eq!(job.lease_owner.as_deref(), Some("w1"));
        assert!(job.lease_expires_at.expect("lease") > Utc::now());
        assert!(jobs.claim_due("w2", 10, LEASE).await?.is_empty(), "leased");

        // Only the lease holder may write.
        let next = Utc::now() - ChronoDuration::seconds(1);
        for err in [
            jobs.complete(&job.id, "w2").await.expect_err("w2"),
            jobs.fail(&job.id, "w2", "x").await.expect_err("w2"),
            jobs.reschedule(&job.id, "w2", next, None)
                .await
                .expect_err("w2"),
            jobs.extend_lease(&job.id, "w2", LEASE)
                .await
                .expect_err("w2"),
            jobs.complete(&later.id, "w1")
                .await
                .expect_err("not running"),
        ] {
            assert!(matches!(err, StoreError::LeaseNotHeld { .. }), "{err:?}");
        }
        let extended = jobs
            .extend_lease(&job.id, "w1", Duration::from_secs(600))
            .await?;
        assert!(extended.lease_expires_at > job.lease_expires_at);

        let back = jobs
            .reschedule(&job.id, "w1", next, Some("inquiry U"))
            .await?;
        assert_eq!(back.status, JobStatus::Pending);
        assert_eq!(back.lease_owner, None);
        assert_eq!(back.last_error.as_deref(), Some("inquiry U"));
        let again = jobs.claim_due("w2", 10, LEASE).await?;
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 2);
        let failed = jobs.fail(&job.id, "w2", "support").await?;
        assert_eq!(failed.status, JobStatus::Failed);
        assert!(jobs.claim_due("w3", 10, LEASE).await?.is_empty());
        assert!(matches!(
            jobs.claim_due("w3", 0, LEASE).await,
            Err(StoreError::Invalid { field: "limit", .. })
        ));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn expired_lease_is_claimable_again() {
    each_backend(|store| async move {
        let jobs = store.jobs();
        let job = jobs
            .enqueue(due(JobKind::RefreshToken, "BIND-1"))
            .await?
            .into_inner();
        // The first worker "crashes": its zero lease is already over.
        let first = jobs.claim_due("crashed", 1, Duration::ZERO).await?;
        assert_eq!(first.len(), 1);
        let second = jobs.claim_due("healthy", 1, LEASE).await?;
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].id, job.id);
        assert_eq!(second[0].attempts, 2);
        let err = jobs
            .complete(&job.id, "crashed")
            .await
            .expect_err("lease lost");
        assert!(matches!(err, StoreError::LeaseNotHeld { .. }));
        let done = jobs.complete(&job.id, "healthy").await?;
        assert_eq!(done.status, JobStatus::Done);
        Ok(())
    })
    .await;
}

/// Never two replicas polling the same job: parallel claimers each get disjoint jobs, and
/// together they get every job exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_claimers_never_share_a_job() {
    each_backend(|store| async move {
        const JOBS: usize = 60;
        for i in 0..JOBS {
            store
                .jobs()
                .enqueue(due(JobKind::InquirePayment, &format!("PAY-{i}")))
                .await?;
        }
        let mut tasks = Vec::new();
        for w in 0..6 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let owner = format!("replica-{w}");
                let mut mine = Vec::new();
                loop {
                    let batch = store.jobs().claim_due(&owner, 4, LEASE).await?;
                    if batch.is_empty() {
                        break;
                    }
                    for job in batch {
                        assert_eq!(job.lease_owner.as_deref(), Some(owner.as_str()));
                        mine.push(job.id);
                    }
                    tokio::task::yield_now().await;
                }
                Ok::<_, StoreError>((owner, mine))
            }));
        }
        let mut claimed_by: HashMap<String, Vec<String>> = HashMap::new();
        for t in tasks {
            let (owner, ids) = t.await.expect("join")?;
            for id in ids {
                claimed_by.entry(id).or_default().push(owner.clone());
            }
        }
        assert_eq!(claimed_by.len(), JOBS, "every job claimed");
        for (id, owners) in &claimed_by {
            assert_eq!(owners.len(), 1, "job {id} claimed by {owners:?}");
            let stored = store.jobs().get(id).await?.expect("job");
            assert_eq!(stored.attempts, 1);
            assert_eq!(stored.lease_owner.as_ref(), Some(&owners[0]));
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn reschedule_pending_moves_only_a_pending_job() {
    each_backend(|store| async move {
        let jobs = store.jobs();
        let later = Utc::now() + ChronoDuration::hours(1);
        let Inserted::Created(job) = jobs
            .enqueue(NewJob::new(JobKind::InquirePayment, "P-PULL", later))
            .await?
        else {
            panic!("created")
        };
        assert!(
            jobs.claim_due("w", 10, LEASE).await?.is_empty(),
            "not due yet"
        );

        // Pulled forward without a lease: it becomes due and claimable.
        let soon = Utc::now() - ChronoDuration::seconds(1);
        assert!(
            jobs.reschedule_pending(JobKind::InquirePayment, "P-PULL", soon)
                .await?
        );
        let moved = jobs.get(&job.id).await?.expect("job");
        assert_eq!(moved.status, JobStatus::Pending);
        assert!(moved.next_run_at < later);
        assert_eq!(moved.attempts, 0, "rescheduling is not a run");
        // Other kinds and subjects are untouched (and nothing to move is `false`).
        assert!(
            !jobs
                .reschedule_pending(JobKind::CancelPayment, "P-PULL", soon)
                .await?
        );
        assert!(
            !jobs
                .reschedule_pending(JobKind::InquirePayment, "P-OTHER", soon)
                .await?
        );

        let claimed = jobs.claim_due("w", 10, LEASE).await?;
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].id, job.id);

        // A RUNNING job belongs to its lease holder: never moved.
        assert!(
            !jobs
                .reschedule_pending(JobKind::InquirePayment, "P-PULL", later)
                .await?
        );
        let running = jobs.get(&job.id).await?.expect("job");
        assert_eq!(running.status, JobStatus::Running);
        assert_eq!(running.next_run_at, claimed[0].next_run_at);
        assert_eq!(running.lease_owner.as_deref(), Some("w"));

        // A finished job is not brought back either.
        jobs.complete(&job.id, "w").await?;
        assert!(
            !jobs
                .reschedule_pending(JobKind::InquirePayment, "P-PULL", soon)
                .await?
        );
        assert_eq!(
            jobs.get(&job.id).await?.expect("job").status,
            JobStatus::Done
        );
        Ok(())
    })
    .await;
}
