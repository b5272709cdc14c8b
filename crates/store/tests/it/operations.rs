use crate::common::{each_backend, new_payment};
use store::captures::NewCapture;
use store::refunds::NewRefund;
use store::{EntityKind, OperationStatus, OperationUpdate, ResultInfo, StoreError, Transition};

fn refund(n: u32, payment_id: &str, amount: i64) -> NewRefund {
    NewRefund {
        refund_request_id: format!("RF-{n}"),
        payment_id: payment_id.into(),
        amount_value: amount,
        currency: "PHP".into(),
        reason: Some("customer asked".into()),
        request_fingerprint: format!("rf-fp-{n}"),
    }
}

#[tokio::test]
async fn refunds_are_written_ahead_and_transition_like_payments() {
    each_backend(|store| async move {
        let missing = store
            .refunds()
            .insert_intent(refund(1, "no-such-payment", 100))
            .await;
        assert!(matches!(missing, Err(StoreError::UnknownPayment(_))));

        let p = store
            .payments()
            .insert_intent(new_payment(1))
            .await?
            .into_inner();
        let r1 = store.refunds().insert_intent(refund(1, &p.id, 300)).await?;
        assert!(r1.is_created());
        let r1 = r1.into_inner();
        assert_eq!(
            store
                .refunds()
                .insert_intent(refund(1, &p.id, 999))
                .await?
                .into_inner(),
            r1
        );
        let r2 = store
            .refunds()
            .insert_intent(refund(2, &p.id, 200))
            .await?
            .into_inner();

        let r1 = store
            .refunds()
            .transition(
                &r1.id,
                1,
                Transition::new(OperationStatus::Success, "refund_response"),
                OperationUpdate {
                    alipay_id: Some("ALI-RF-1".into()),
                    result: Some(ResultInfo {
                        status: "S".into(),
                        code: "SUCCESS".into(),
                        message: None,
                    }),
                },
            )
            .await?;
        assert_eq!((r1.status, r1.version), (OperationStatus::Success, 2));
        assert_eq!(r1.alipay_refund_id.as_deref(), Some("ALI-RF-1"));
        store
            .refunds()
            .transition(
                &r2.id,
                1,
                Transition::new(OperationStatus::Fail, "refund_response"),
                Default::default(),
            )
            .await?;
        let late = store
            .refunds()
            .transition(
                &r1.id,
                2,
                Transition::new(OperationStatus::Processing, "inquiry"),
                Default::default(),
            )
            .await;
        assert!(matches!(
            late,
            Err(StoreError::IllegalTransition {
                entity: EntityKind::Refund,
                ..
            })
        ));

        assert_eq!(
            store.refunds().committed_amount(&p.id).await?,
            300,
            "failed refund excluded"
        );
        assert_eq!(store.refunds().list_for_payment(&p.id).await?.len(), 2);
        assert_eq!(
            store
                .refunds()
                .get_by_request_id("RF-2")
                .await?
                .map(|r| r.status),
            Some(OperationStatus::Fail)
        );
        let audit = store.audit().list_for(EntityKind::Refund, &r1.id).await?;
        assert_eq!(audit.len(), 2);
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn captures_are_written_ahead_and_transition() {
    each_backend(|store| async move {
        let mut auth = new_payment(2);
        auth.is_authorization = true;
        auth.capture_mode = Some("MANUAL".into());
        let p = store.payments().insert_intent(auth).await?.into_inner();
        assert!(p.is_authorization);
        let new = NewCapture {
            capture_request_id: "CAP-1".into(),
            payment_id: p.id.clone(),
            amount_value: p.amount_value,
            currency: "PHP".into(),
            is_last_capture: true,
            request_fingerprint: "cap-fp".into(),
        };
        let c = store
            .captures()
            .insert_intent(new.clone())
            .await?
            .into_inner();
        assert!(!store.captures().insert_intent(new).await?.is_created());
        let c = store
            .captures()
            .transition(
                &c.id,
                1,
                Transition::new(OperationStatus::Processing, "capture_response"),
                OperationUpdate {
                    alipay_id: Some("ALI-CAP".into()),
                    result: None,
                },
            )
            .await?;
        let c = store
            .captures()
            .transition(
                &c.id,
                2,
                Transition::new(OperationStatus::Success, "notification"),
                Default::default(),
            )
            .await?;
        assert_eq!(c.status, OperationStatus::Success);
        assert_eq!(c.alipay_capture_id.as_deref(), Some("ALI-CAP"));
        assert!(c.is_last_capture);
        assert_eq!(
            store.captures().committed_amount(&p.id).await?,
            p.amount_value
        );
        assert_eq!(store.captures().get(&c.id).await?, Some(c));
        Ok(())
    })
    .await;
}
