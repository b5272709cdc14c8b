//! SQLite group commit (`store/src/group_commit.rs`): the one-call transactions of concurrent writers commit together,
//! one `fsync` for many, and each writer still gets its own batch's outcome. The commits are counted in the WAL file
//! itself: every transaction ends with one commit frame there.

use crate::common::{inquire_at, new_payment};
use sea_orm::{ConnectionTrait, Database};
use std::path::{Path, PathBuf};
use store::payments::Payment;
use store::{Inserted, PaymentStatus, Store, StoreError, Transition};

/// A fresh SQLite store in `dir`, and its file.
async fn sqlite_store(dir: &Path) -> (Store, PathBuf) {
    let path = dir.join("group.db");
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    (store, path)
}

/// Empties the WAL of `path` into the database file, so that [`commits_in_wal`] counts from zero.
async fn empty_wal(path: &Path) {
    let db = Database::connect(format!("sqlite://{}", path.display()))
        .await
        .expect("connect for checkpoint");
    db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .expect("checkpoint");
    db.close().await.expect("close");
}

/// Transactions committed to the WAL of `path` since it was last reset: its frames of the current generation (their
/// salts are the header's) whose "database size after commit" field is set. SQLite's WAL format: a 32-byte header
/// (page size at 8, salts at 16 and 20), then frames of a 24-byte header (commit size at 4, salts at 8 and 12) and a
/// page.
fn commits_in_wal(path: &Path) -> usize {
    let wal = std::fs::read(format!("{}-wal", path.display())).expect("read the WAL");
    if wal.len() < 32 {
        return 0;
    }
    let word = |at: usize| u32::from_be_bytes(wal[at..at + 4].try_into().expect("4 bytes"));
    let page_size = word(8) as usize;
    let salts = (word(16), word(20));
    let mut commits = 0;
    let mut at = 32;
    while at + 24 + page_size <= wal.len() {
        if (word(at + 8), word(at + 12)) != salts {
            break;
        }
        if word(at + 4) != 0 {
            commits += 1;
        }
        at += 24 + page_size;
    }
    commits
}

/// Forty write-aheads queued at once commit in a handful of transactions (the test's runtime has one thread, so all
/// forty are queued before the drain task first runs), each answered with its own row, all of them stored.
#[tokio::test]
async fn concurrent_writes_commit_together_each_answered_with_its_own_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, path) = sqlite_store(dir.path()).await;
    empty_wal(&path).await;
    assert_eq!(commits_in_wal(&path), 0);
    let writers: Vec<_> = (0..40u32)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .payments()
                    .insert_intent(new_payment(n), inquire_at())
                    .await
            })
        })
        .collect();
    for (n, writer) in (0..40u32).zip(writers) {
        let inserted = writer.await.expect("writer").expect("insert");
        assert!(inserted.is_created(), "{n}");
        let row = inserted.into_inner();
        assert_eq!(row.payment_request_id, format!("REQ-{n}"));
        assert_eq!(row.amount_value, 10_000 + i64::from(n));
    }
    let commits = commits_in_wal(&path);
    assert!(
        (1..=4).contains(&commits),
        "40 writes took {commits} commits"
    );
    for n in 0..40u32 {
        let row = store
            .payments()
            .get_by_request_id(&format!("REQ-{n}"))
            .await
            .expect("read")
            .expect("committed");
        assert_eq!(row.status, PaymentStatus::Created);
    }
    store.close().await.expect("close");
}

/// A group in which some batches fail (duplicate request ids) and some find their row moved on (stale moves): the
/// others commit, the duplicates are answered with the stored row, the stale moves are refused and wrote nothing.
#[tokio::test]
async fn a_failing_batch_does_not_fail_the_others_in_its_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _path) = sqlite_store(dir.path()).await;
    let payments = store.payments();
    let mut first = Vec::new();
    for n in 0..10u32 {
        first.push(
            payments
                .insert_intent(new_payment(n), inquire_at())
                .await
                .expect("insert")
                .into_inner(),
        );
    }
    // Rows 0..5 move on, so a move from the row as first read is stale.
    for row in &first[..5] {
        payments
            .transition_from(
                row,
                Transition::new(PaymentStatus::Processing, "pay_response"),
                Default::default(),
            )
            .await
            .expect("move");
    }
    let mut writers = Vec::new();
    for n in 0..30u32 {
        let store = store.clone();
        let from = n.checked_sub(20).map(|k| first[k as usize].clone());
        writers.push(tokio::spawn(async move {
            let payments = store.payments();
            match from {
                // 0..10 duplicate stored request ids (a unique violation inside the group); 10..20 are new.
                None => Written::Intent(payments.insert_intent(new_payment(n), inquire_at()).await),
                // Moves of rows 0..10 as first read: stale for 0..5, current for 5..10.
                Some(row) => Written::Move(
                    payments
                        .transition_from(
                            &row,
                            Transition::new(PaymentStatus::Success, "pay_response"),
                            Default::default(),
                        )
                        .await,
                ),
            }
        }));
    }
    for (n, writer) in (0..30u32).zip(writers) {
        match (n, writer.await.expect("writer")) {
            (0..10, Written::Intent(Ok(Inserted::Existing(row)))) => {
                assert_eq!(row.id, first[n as usize].id, "{n}: the stored row answers");
            }
            (10..20, Written::Intent(Ok(Inserted::Created(row)))) => {
                assert_eq!(row.payment_request_id, format!("REQ-{n}"));
            }
            (
                20..25,
                Written::Move(Err(
                    StoreError::IllegalTransition { .. } | StoreError::VersionConflict { .. },
                )),
            ) => {}
            (25..30, Written::Move(Ok(row))) => assert_eq!(row.status, PaymentStatus::Success),
            (n, other) => panic!("writer {n}: {other:?}"),
        }
    }
    for (k, row) in first.iter().enumerate() {
        let stored = payments.get(&row.id).await.expect("read").expect("stored");
        let expected = if k < 5 {
            PaymentStatus::Processing
        } else {
            PaymentStatus::Success
        };
        assert_eq!(stored.status, expected, "row {k}");
    }
    for n in 10..20u32 {
        assert!(
            payments
                .get_by_request_id(&format!("REQ-{n}"))
                .await
                .expect("read")
                .is_some()
        );
    }
    store.close().await.expect("close");
}

/// What one writer of a mixed group wrote.
#[derive(Debug)]
enum Written {
    Intent(Result<Inserted<Payment>, StoreError>),
    Move(Result<Payment, StoreError>),
}
