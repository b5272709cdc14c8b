//! A notification's inbox row and the transition it asks for commit together: applied once, whatever the number
//! of redeliveries; kept for later when its object is not recorded yet; flagged when it contradicts a final state.

use crate::bindings::{cipher, credentials, new_binding};
use crate::common::{each_backend, inquire_at, new_payment};
use crate::operations::capture as capture_intent;
use store::notifications::{Applied, Effect, Ingested, NewNotification, NotificationState};
use store::payments::PaymentUpdate;
use store::{BindingStatus, EntityKind, PaymentStatus, ResultInfo, StoreError};

fn arrival(key: &str) -> NewNotification {
    NewNotification {
        notify_type: "PAYMENT_SUCCEEDED".into(),
        dedup_key: key.into(),
        raw_body: "v1:sealed".into(),
        headers: serde_json::json!({"client-id": "C"}),
        verified: true,
    }
}

fn pay(request_id: &str, to: PaymentStatus, alipay_id: &str) -> Effect {
    Effect::Payment {
        payment_request_id: request_id.into(),
        to,
        update: Box::new(PaymentUpdate {
            alipay_payment_id: Some(alipay_id.into()),
            result: Some(ResultInfo {
                status: store::ResultStatus::Success,
                code: "SUCCESS".into(),
                message: None,
            }),
            ..PaymentUpdate::default()
        }),
    }
}

fn applied(result: &Ingested) -> Option<Applied> {
    match result {
        Ingested::New { applied, .. } => Some(*applied),
        Ingested::Duplicate(_) => None,
    }
}

#[tokio::test]
async fn applied_once_with_its_inbox_row_whatever_the_redeliveries() {
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(1), inquire_at())
            .await?
            .into_inner();
        let effect = pay("REQ-1", PaymentStatus::Success, "ALI-1");
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (store, effect) = (store.clone(), effect.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .notifications()
                    .ingest(arrival("PAY:REQ-1:S"), &effect)
                    .await
            }));
        }
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(applied(&t.await.expect("join")?));
        }
        assert_eq!(
            outcomes.iter().filter(|o| o.is_some()).count(),
            1,
            "{outcomes:?}"
        );
        assert!(outcomes.contains(&Some(Applied::Changed)));
        let paid = store.payments().get(&p.id).await?.expect("payment");
        assert_eq!(paid.status, PaymentStatus::Success);
        assert_eq!(paid.alipay_payment_id.as_deref(), Some("ALI-1"));
        let audit = store.audit().list_for(EntityKind::Payment, &p.id).await?;
        let last = audit.last().expect("audit");
        assert_eq!(
            (last.to_status.as_str(), last.source.as_str()),
            ("SUCCESS", "notification")
        );

        // Pending after final is stale, not a contradiction; F after S is.
        let stale = pay("REQ-1", PaymentStatus::Processing, "ALI-1");
        let r = store
            .notifications()
            .ingest(arrival("PAY:REQ-1:PENDING"), &stale)
            .await?;
        assert_eq!(applied(&r), Some(Applied::Unchanged));
        let contra = pay("REQ-1", PaymentStatus::Fail, "ALI-1");
        let r = store
            .notifications()
            .ingest(arrival("PAY:REQ-1:F"), &contra)
            .await?;
        assert_eq!(
            applied(&r),
            Some(Applied::Contradicts { current: "SUCCESS" })
        );
        let Ingested::New { notification, .. } = r else {
            unreachable!()
        };
        assert_eq!(notification.flag.as_deref(), Some("CONTRADICTS_FINAL"));
        assert_eq!(
            store.payments().get(&p.id).await?.expect("payment").status,
            PaymentStatus::Success
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_failed_transition_leaves_no_inbox_row() {
    each_backend(|store| async move {
        store
            .payments()
            .insert_intent(new_payment(2), inquire_at())
            .await?;
        // An over-long Alipay id fails inside the transaction: the row must not stay, so a redelivery applies.
        let bad = pay("REQ-2", PaymentStatus::Success, &"x".repeat(65));
        let err = store
            .notifications()
            .ingest(arrival("PAY:REQ-2:S"), &bad)
            .await;
        assert!(matches!(err, Err(StoreError::Invalid { .. })), "{err:?}");
        let good = pay("REQ-2", PaymentStatus::Success, "ALI-2");
        let r = store
            .notifications()
            .ingest(arrival("PAY:REQ-2:S"), &good)
            .await?;
        assert_eq!(applied(&r), Some(Applied::Changed));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn early_notifications_wait_for_their_payment() {
    each_backend(|store| async move {
        let effect = pay("REQ-3", PaymentStatus::Success, "ALI-3");
        let r = store
            .notifications()
            .ingest(arrival("PAY:REQ-3:S"), &effect)
            .await?;
        assert_eq!(applied(&r), Some(Applied::Missing));
        let Ingested::New { notification, .. } = r else {
            unreachable!()
        };
        assert_eq!(notification.state, NotificationState::Received);
        assert_eq!(notification.subject.as_deref(), Some("PAY:REQ-3"));
        let pending = store.notifications().list_unprocessed(10).await?;
        assert_eq!(pending.len(), 1);

        let p = store
            .payments()
            .insert_intent(new_payment(3), inquire_at())
            .await?
            .into_inner();
        assert_eq!(
            store
                .notifications()
                .apply_pending(&notification.id, &effect)
                .await?,
            Applied::Changed
        );
        assert_eq!(
            store.payments().get(&p.id).await?.expect("payment").status,
            PaymentStatus::Success
        );
        assert!(store.notifications().list_unprocessed(10).await?.is_empty());
        // A second sweep (another replica) leaves it alone.
        assert_eq!(
            store
                .notifications()
                .apply_pending(&notification.id, &effect)
                .await?,
            Applied::Unchanged
        );

        let lost = pay("REQ-404", PaymentStatus::Success, "ALI-404");
        let r = store
            .notifications()
            .ingest(arrival("PAY:REQ-404:S"), &lost)
            .await?;
        let Ingested::New { notification, .. } = r else {
            unreachable!()
        };
        let flagged = store
            .notifications()
            .flag_missing(&notification.id, "never matched")
            .await?;
        assert_eq!(flagged.state, NotificationState::Failed);
        assert_eq!(flagged.flag.as_deref(), Some("SUBJECT_MISSING"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn token_canceled_finds_the_binding_by_its_keyed_hash() {
    each_backend(|store| async move {
        let c = cipher(7);
        let b = store
            .bindings(&c)
            .insert(new_binding("C1", store::Wallet::Gcash, "one"))
            .await?;
        // After a refresh only the new token finds the binding.
        let b = store
            .bindings(&c)
            .update_credentials(&b.id, b.version, credentials("two"), "refresh")
            .await?;
        let old = Effect::RevokeBinding {
            access_token_hash: c.lookup_hash("access-one"),
        };
        let r = store
            .notifications()
            .ingest(arrival("AUTH:old"), &old)
            .await?;
        assert_eq!(applied(&r), Some(Applied::Unchanged));
        let current = Effect::RevokeBinding {
            access_token_hash: c.lookup_hash("access-two"),
        };
        let r = store
            .notifications()
            .ingest(arrival("AUTH:new"), &current)
            .await?;
        assert_eq!(applied(&r), Some(Applied::Changed));
        let revoked = store.bindings(&c).get(&b.id).await?.expect("binding");
        assert_eq!(revoked.status, BindingStatus::Revoked);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn captures_by_request_id_or_automatic_by_payment_id() {
    each_backend(|store| async move {
        let p = store
            .payments()
            .insert_intent(new_payment(4), inquire_at())
            .await?
            .into_inner();
        let paid = pay("REQ-4", PaymentStatus::Success, "ALI-4");
        store
            .notifications()
            .ingest(arrival("PAY:REQ-4:S"), &paid)
            .await?;
        let capture = |request_id: &str, alipay: &str| Effect::Capture {
            capture_request_id: request_id.into(),
            alipay_payment_id: Some(alipay.into()),
            to: store::OperationStatus::Success,
            update: store::OperationUpdate {
                alipay_id: Some(format!("CAPID-{request_id}")),
                result: None,
            },
        };
        let automatic = store
            .notifications()
            .ingest(arrival("CAP:AUTO:S"), &capture("AUTO", "ALI-4"))
            .await?;
        assert_eq!(applied(&automatic), Some(Applied::Unchanged));
        let unknown = store
            .notifications()
            .ingest(arrival("CAP:NOPE:S"), &capture("NOPE", "ALI-404"))
            .await?;
        assert_eq!(applied(&unknown), Some(Applied::Missing));

        let own = store
            .captures()
            .insert_intent(capture_intent(4, &p.id, 100), inquire_at())
            .await?
            .into_inner();
        let r = store
            .notifications()
            .ingest(arrival("CAP:CAP-4:S"), &capture("CAP-4", "ALI-4"))
            .await?;
        assert_eq!(applied(&r), Some(Applied::Changed));
        let captured = store.captures().get(&own.id).await?.expect("capture");
        assert_eq!(captured.status, store::OperationStatus::Success);
        assert_eq!(captured.alipay_capture_id.as_deref(), Some("CAPID-CAP-4"));
        Ok(())
    })
    .await;
}
