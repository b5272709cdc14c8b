use crate::common::each_backend;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use store::calls::NewCall;
use store::notifications::{NewNotification, NotificationState};
use store::{Store, StoreError};

#[tokio::test]
async fn migrate_is_idempotent_and_ping_works() {
    each_backend(|store| async move {
        store.migrate().await?;
        store.migrate().await?;
        store.ping().await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn sqlite_is_configured_for_durability() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a").join("b").join("gw.db");
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display())).await?;
    assert!(path.parent().is_some_and(|p| p.is_dir()), "parent created");
    store.migrate().await?;
    let pragma = |sql: &'static str| {
        let store = store.clone();
        async move {
            let row = store
                .connection()
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await?
                .expect("pragma row");
            Ok::<_, StoreError>(row)
        }
    };
    let mode: String = pragma("PRAGMA journal_mode").await?.try_get_by_index(0)?;
    assert_eq!(mode, "wal");
    let fk: i64 = pragma("PRAGMA foreign_keys").await?.try_get_by_index(0)?;
    assert_eq!(fk, 1);
    let busy: i64 = pragma("PRAGMA busy_timeout").await?.try_get_by_index(0)?;
    assert!(busy >= 1000);
    assert!(matches!(
        Store::connect("mysql://x@localhost/db").await,
        Err(StoreError::UnsupportedUrl)
    ));
    Ok(())
}

#[tokio::test]
async fn calls_are_recorded_as_given() {
    each_backend(|store| async move {
        let masked = r#"{"paymentMethod":{"paymentMethodId":"****"},"paymentRequestId":"REQ-1"}"#;
        for (i, status) in [store::ResultStatus::Unknown, store::ResultStatus::Success]
            .into_iter()
            .enumerate()
        {
            store
                .calls()
                .record_calls(&[NewCall {
                    endpoint: "pay".into(),
                    request_id: Some("REQ-1".into()),
                    result_status: Some(status),
                    result_code: Some(
                        if i == 0 {
                            "UNKNOWN_EXCEPTION"
                        } else {
                            "SUCCESS"
                        }
                        .into(),
                    ),
                    http_status: Some(200),
                    latency_ms: 42,
                    request_json: Some(masked.into()),
                    response_json: Some(r#"{"result":{}}"#.into()),
                    ..Default::default()
                }])
                .await?;
        }
        store
            .calls()
            .record_calls(&[NewCall {
                endpoint: "inquiryPayment".into(),
                request_id: Some("REQ-2".into()),
                error: Some("timeout after send".into()),
                ..Default::default()
            }])
            .await?;
        let calls = store.calls().list_for_request("REQ-1").await?;
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].result_status, Some(store::ResultStatus::Unknown));
        assert_eq!(calls[1].result_status, Some(store::ResultStatus::Success));
        assert_eq!(
            calls[0].request_json.as_deref(),
            Some(masked),
            "stored verbatim"
        );
        let errs = store.calls().list_for_request("REQ-2").await?;
        assert_eq!(errs[0].error.as_deref(), Some("timeout after send"));
        assert!(matches!(
            store
                .calls()
                .record_calls(&[
                    NewCall {
                        endpoint: "pay".into(),
                        request_id: Some("REQ-3".into()),
                        ..Default::default()
                    },
                    NewCall::default(),
                ])
                .await,
            Err(StoreError::Invalid {
                field: "endpoint",
                ..
            })
        ));
        assert!(
            store.calls().list_for_request("REQ-3").await?.is_empty(),
            "a batch with an invalid record writes nothing"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn notifications_are_stored_once_and_marked() {
    each_backend(|store| async move {
        let new = |verified| NewNotification {
            notify_type: "PAYMENT_RESULT".into(),
            dedup_key: "PAYMENT_RESULT:REQ-1:S".into(),
            raw_body: r#"{"paymentRequestId":"REQ-1"}"#.into(),
            headers: serde_json::json!({"request-time": "2026-11-22T10:00:00+08:00"}),
            verified,
        };
        let first = store.notifications().receive(new(true)).await?;
        assert!(first.is_created());
        let first = first.into_inner();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let store = store.clone();
            let n = new(true);
            tasks.push(tokio::spawn(async move {
                store.notifications().receive(n).await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.expect("join")?.into_inner().id, first.id);
        }
        let mut unverified = new(false);
        unverified.dedup_key = "other".into();
        store.notifications().receive(unverified).await?;
        let pending = store.notifications().list_unprocessed(10).await?;
        assert_eq!(pending.len(), 1, "unverified ones are not applied");
        let done = store
            .notifications()
            .mark(&first.id, NotificationState::Processed, None)
            .await?;
        assert_eq!(done.state, NotificationState::Processed);
        assert!(done.processed_at.is_some());
        assert!(store.notifications().list_unprocessed(10).await?.is_empty());
        assert!(matches!(
            store
                .notifications()
                .mark("missing", NotificationState::Failed, Some("x"))
                .await,
            Err(StoreError::NotFound { .. })
        ));
        Ok(())
    })
    .await;
}
