//! A write that is a transaction of its own goes to the store as one call (on SQLite `BEGIN IMMEDIATE`, the
//! statements and `COMMIT` together, see `store/src/batch.rs`). Neither a statement that fails inside it nor a caller
//! that gives up halfway may leave a transaction open on a pooled connection: the next writers would then wait on
//! its lock, or write into a transaction nobody commits.

use crate::common::{each_backend, inquire_at, new_payment};
use std::time::Duration;
use store::{PaymentStatus, StoreError, Transition};

/// More failing writes than the pool has connections, then writes that must all commit and be seen by a new pool.
#[tokio::test]
async fn a_failed_write_leaves_its_connection_out_of_any_transaction() {
    each_backend(|store| async move {
        let payments = store.payments();
        let first = payments
            .insert_intent(new_payment(1), inquire_at())
            .await?
            .into_inner();
        for _ in 0..24 {
            // The row insert fails on the unique request id, after `BEGIN IMMEDIATE` ran: rolled back on its
            // connection, and the stored row answered.
            let replay = payments.insert_intent(new_payment(1), inquire_at()).await?;
            assert!(!replay.is_created());
            assert_eq!(replay.into_inner().id, first.id);
        }
        let mut ids = Vec::new();
        for n in 2..26 {
            let created = payments
                .insert_intent(new_payment(n), inquire_at())
                .await?
                .into_inner();
            ids.push(created.id);
        }
        for id in &ids {
            let row = payments.get(id).await?.expect("committed");
            assert_eq!(row.status, PaymentStatus::Created);
        }
        Ok(())
    })
    .await;
}

/// Callers that give up at every moment of their write (a cancelled RPC drops its future): each write committed
/// whole or not at all, and the store keeps taking writes afterwards.
#[tokio::test]
async fn a_caller_giving_up_midway_leaves_no_open_transaction() {
    each_backend(|store| async move {
        let payments = store.payments();
        let mut given_up = Vec::new();
        for n in 0..40u32 {
            let request = new_payment(100 + n);
            let store = store.clone();
            let write = async move {
                let created = store
                    .payments()
                    .insert_intent(request, inquire_at())
                    .await?
                    .into_inner();
                store
                    .payments()
                    .transition_from(
                        &created,
                        Transition::new(PaymentStatus::Success, "pay_response"),
                        Default::default(),
                    )
                    .await
            };
            // From not at all to well past the end, in steps of 50 µs.
            let patience = Duration::from_micros(50 * u64::from(n));
            if tokio::time::timeout(patience, write).await.is_err() {
                given_up.push(100 + n);
            }
        }
        for n in 100..140u32 {
            // Each write committed whole or not at all: a stored payment is CREATED (the move never ran, was given
            // up, or is still running: a given-up caller's call finishes on its own) or SUCCESS with its move. A
            // second write-ahead answers the stored row, or writes it when the given-up one had not begun.
            let replay = payments.insert_intent(new_payment(n), inquire_at()).await?;
            let row = replay.into_inner();
            assert!(
                matches!(row.status, PaymentStatus::Created | PaymentStatus::Success),
                "{n}: {:?}",
                row.status
            );
            if row.status == PaymentStatus::Created {
                let moved = payments
                    .transition_from(
                        &row,
                        Transition::new(PaymentStatus::Success, "pay_response"),
                        Default::default(),
                    )
                    .await;
                // The given-up caller's own move may commit first; then this one is refused, never doubled.
                match moved {
                    Ok(_)
                    | Err(StoreError::IllegalTransition {
                        from: "SUCCESS", ..
                    }) => {}
                    Err(other) => return Err(other),
                }
            }
            assert_eq!(
                payments.get(&row.id).await?.expect("stored").status,
                PaymentStatus::Success
            );
        }
        assert!(!given_up.is_empty(), "some callers must have given up");
        Ok(())
    })
    .await;
}
