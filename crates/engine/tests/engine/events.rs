//! Event subscriptions through the engine: a consumer that does not read stalls only itself and loses nothing,
//! shutdown ends subscriptions with `Closing`, and the reconciler prunes events past retention.

use std::time::Duration;

use engine::{EngineError, EventFilter, EventStream, EventSubject, PaymentStatus};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::harness::{
    Env, each_backend, eventually, fast_config, in_store_pay, new_id, sandbox_config,
};

const CODE: &str = "2812345678901234";

async fn next(stream: &mut EventStream) -> Result<engine::PaymentEvent, EngineError> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event in time")
        .expect("the stream is open")
}

fn payment_status(event: &engine::PaymentEvent) -> PaymentStatus {
    match &event.subject {
        EventSubject::Payment(view) => view.payment.status,
        other => panic!("payment event expected: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_does_not_read_stalls_only_itself_and_loses_nothing() {
    each_backend(|backend, url| async move {
        let config = engine::EngineConfig {
            event_buffer: 2,
            ..fast_config()
        };
        let env = Env::with(&url, sandbox_config(), config).await;
        let mut stalled = env
            .engine
            .stream_payment_events(None, EventFilter::default())
            .await
            .expect("subscribe");
        let mut reading = env
            .engine
            .stream_payment_events(None, EventFilter::default())
            .await
            .expect("subscribe");
        let ids: Vec<String> = (0..12).map(|_| new_id("stall")).collect();
        for id in &ids {
            // Every payment completes although one subscriber has not read anything for the whole time.
            let paid = tokio::time::timeout(
                Duration::from_secs(20),
                env.engine.pay(in_store_pay(id, CODE, 1000)),
            )
            .await
            .expect("writers never wait for readers")
            .expect("pay");
            assert_eq!(paid.payment.status, PaymentStatus::Success, "[{backend}]");
            for expected in [PaymentStatus::Created, PaymentStatus::Success] {
                let event = next(&mut reading).await.expect("event");
                assert_eq!(
                    (event.payment_request_id.as_str(), payment_status(&event)),
                    (id.as_str(), expected),
                    "[{backend}]"
                );
            }
        }
        // The stalled subscriber then gets every event, in the same order, none dropped.
        let mut previous = 0;
        for id in &ids {
            for expected in [PaymentStatus::Created, PaymentStatus::Success] {
                let event = next(&mut stalled).await.expect("event");
                assert_eq!(
                    (event.payment_request_id.as_str(), payment_status(&event)),
                    (id.as_str(), expected),
                    "[{backend}]"
                );
                assert!(event.seq > previous);
                previous = event.seq;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_ends_subscriptions_with_closing() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let mut open = env
            .engine
            .stream_payment_events(None, EventFilter::default())
            .await
            .expect("subscribe");
        let id = new_id("closing");
        env.engine
            .pay(in_store_pay(&id, CODE, 1000))
            .await
            .expect("pay");
        for _ in 0..2 {
            assert_eq!(next(&mut open).await.expect("event").payment_request_id, id);
        }
        env.engine.close_event_streams();
        assert!(
            matches!(next(&mut open).await, Err(EngineError::Closing)),
            "[{backend}]"
        );
        assert!(open.next().await.is_none(), "[{backend}] ended");
        let mut late = env
            .engine
            .stream_payment_events(None, EventFilter::default())
            .await
            .expect("subscribe");
        assert!(matches!(next(&mut late).await, Err(EngineError::Closing)));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_prunes_events_past_retention() {
    each_backend(|backend, url| async move {
        let env = Env::start(&url).await;
        let mut stream = env
            .engine
            .stream_payment_events(None, EventFilter::default())
            .await
            .expect("subscribe");
        let id = new_id("prune");
        env.engine
            .pay(in_store_pay(&id, CODE, 1000))
            .await
            .expect("pay");
        let first = next(&mut stream).await.expect("event");
        let last = next(&mut stream).await.expect("event");
        let conn = env.store.connection();
        let backend_kind = conn.get_database_backend();
        let sql = match backend_kind {
            DbBackend::Sqlite => "UPDATE payment_events SET created_at = ?1",
            _ => "UPDATE payment_events SET created_at = $1",
        };
        let old = chrono::Utc::now() - chrono::Duration::days(8);
        conn.execute_raw(Statement::from_sql_and_values(
            backend_kind,
            sql,
            [old.into()],
        ))
        .await
        .expect("age events");
        let _reconciler = Env::reconcile(&env.engine);
        eventually(Duration::from_secs(10), "pruning", || async {
            let head = env.store.events().head().await.ok()?;
            (head.pruned_through >= last.seq).then_some(())
        })
        .await;
        for cursor in [&first.cursor, &last.cursor] {
            let resumed = env
                .engine
                .stream_payment_events(Some(cursor), EventFilter::default())
                .await;
            assert!(
                matches!(resumed, Err(EngineError::CursorExpired)) == (cursor == &first.cursor),
                "[{backend}] only a cursor below the pruning horizon is expired"
            );
        }
    })
    .await;
}
