//! PostgreSQL connections kept from one batch to the next (`store/src/kept.rs`): a batch's connection stays out of
//! the pool for the next batch, goes back once idle, never keeps `Store::close` waiting, and one that the server
//! ended costs at most the statements sent on it before the store works again.

use crate::common::{inquire_at, new_payment, postgres_store};
use sea_orm::ConnectionTrait;
use std::time::Duration;
use store::{Store, StoreError};

/// Waits (at most 10 s) until every connection of the store's pool is back in it.
async fn all_back_in_pool(store: &Store) {
    let pool = store.connection().get_postgres_connection_pool();
    for _ in 0..1_000 {
        if pool.num_idle() == pool.size() as usize {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} of {} connections still out of the pool",
        pool.size() as usize - pool.num_idle(),
        pool.size()
    );
}

#[tokio::test]
async fn a_batch_keeps_its_connection_for_the_next_and_returns_it_once_idle() {
    let Some(postgres) = postgres_store("&application_name=kept_reuse").await else {
        return;
    };
    let store = &postgres.store;
    let pool = store.connection().get_postgres_connection_pool().clone();
    let payments = store.payments();
    payments
        .insert_intent(new_payment(1), inquire_at())
        .await
        .expect("first intent");
    // The write-ahead batch's connection is kept, out of the pool.
    assert_eq!(pool.num_idle(), pool.size() as usize - 1);
    let size = pool.size();
    for n in 2..50 {
        payments
            .insert_intent(new_payment(n), inquire_at())
            .await
            .expect("intent");
        // One after another, every batch runs on the kept connection: none is taken from the pool.
        assert_eq!(pool.num_idle(), pool.size() as usize - 1, "batch {n}");
    }
    assert_eq!(pool.size(), size, "the pool opened no connection for them");
    all_back_in_pool(store).await;
    // And closing does not wait for a kept connection: one is kept right now.
    payments
        .insert_intent(new_payment(50), inquire_at())
        .await
        .expect("last intent");
    tokio::time::timeout(Duration::from_secs(10), postgres.close())
        .await
        .expect("close returns");
}

#[tokio::test]
async fn a_caller_queued_for_a_connection_is_not_passed_by_a_kept_one() {
    let Some(postgres) = postgres_store("&application_name=kept_queue").await else {
        return;
    };
    let store = &postgres.store;
    let pool = store.connection().get_postgres_connection_pool().clone();
    let max = pool.options().get_max_connections();
    // Every connection but one held elsewhere: the next batch takes the last, leaving the pool with none.
    let mut held = Vec::new();
    for _ in 1..max {
        held.push(pool.acquire().await.expect("hold a connection"));
    }
    let payments = store.payments();
    payments
        .insert_intent(new_payment(1), inquire_at())
        .await
        .expect("first intent");
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (queuing, queued) = tokio::sync::oneshot::channel();
    let waiter = {
        let (pool, order) = (pool.clone(), order.clone());
        tokio::spawn(async move {
            let acquire = pool.acquire();
            queuing.send(()).expect("the test listens");
            // Polled here for the first time, in the same turn of this task as the send above: on the test's
            // single-threaded runtime the caller is in the pool's queue before the test goes on.
            let conn = acquire.await.expect("the queued caller's connection");
            order.lock().unwrap().push("queued caller");
            drop(conn);
        })
    };
    queued.await.expect("the caller queues");
    payments
        .insert_intent(new_payment(2), inquire_at())
        .await
        .expect("second intent");
    order.lock().unwrap().push("next batch");
    waiter.await.expect("waiter");
    assert_eq!(
        *order.lock().unwrap(),
        ["queued caller", "next batch"],
        "the batch's connection went back to the caller waiting for one"
    );
    drop(held);
    postgres.close().await;
}

#[tokio::test]
async fn connections_the_server_ended_cost_at_most_one_failed_batch_each() {
    let Some(postgres) = postgres_store("&application_name=kept_ended").await else {
        return;
    };
    let store = &postgres.store;
    // Several connections at once, so the pool holds some and some are kept.
    let mut writes = tokio::task::JoinSet::new();
    for n in 1..=8 {
        let store = store.clone();
        writes.spawn(async move {
            store
                .payments()
                .insert_intent(new_payment(n), inquire_at())
                .await
        });
    }
    while let Some(written) = writes.join_next().await {
        written.expect("task").expect("intent");
    }
    let payments = store.payments();
    let pool = store.connection().get_postgres_connection_pool();
    let open = pool.size();
    let ended = postgres
        .admin
        .query_all_raw(sea_orm::Statement::from_string(
            postgres.admin.get_database_backend(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kept_ended'",
        ))
        .await
        .expect("terminate the store's connections");
    assert_eq!(
        ended.len(),
        open as usize,
        "every connection of the store ended"
    );
    // Right away, each dead connection may fail the one batch sent on it (a typed database error, nothing
    // written), and is then closed; a fresh one follows.
    let mut failed = 0;
    let mut n = 100;
    loop {
        n += 1;
        match payments.insert_intent(new_payment(n), inquire_at()).await {
            Ok(created) => {
                assert!(created.is_created());
                break;
            }
            Err(StoreError::Database(_)) => {
                failed += 1;
                assert!(
                    failed <= open,
                    "{failed} failures with {open} connections ended"
                );
            }
            Err(other) => panic!("untyped failure: {other:?}"),
        }
    }
    // Nothing half-written: every failed intent left no row. (Read through the admin connection, which the server
    // did not end, so that no dead connection left in the store's pool meets these reads.)
    let stored = postgres
        .admin
        .query_one_raw(sea_orm::Statement::from_string(
            postgres.admin.get_database_backend(),
            format!(
                "SELECT count(*) AS stored FROM {}.payments WHERE payment_request_id IN ({})",
                postgres.schema,
                (101..n)
                    .map(|m| format!("'REQ-{m}'"))
                    .chain(["''".into()])
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
        .await
        .expect("read")
        .expect("a count")
        .try_get::<i64>("", "stored")
        .expect("the count");
    assert_eq!(
        stored,
        0,
        "failed intents REQ-101..REQ-{} were stored",
        n - 1
    );
    postgres.close().await;
}
