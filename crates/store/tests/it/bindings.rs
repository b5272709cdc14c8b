use crate::common::each_backend;
use base64::Engine as _;
use chrono::{Duration, Utc};
use sea_orm::EntityTrait;
use store::bindings::{BindingFilter, NewBinding, WalletCredentials};
use store::idempotency::{Begin, Claim};
use store::jobs::JobKind;
use store::{BindingStatus, CryptoError, PageRequest, Secret, StoreError, TokenCipher, Transition};

pub(crate) fn cipher(byte: u8) -> TokenCipher {
    let key = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    TokenCipher::from_base64_key(&key).expect("key")
}

pub(crate) fn credentials(tag: &str) -> WalletCredentials {
    WalletCredentials {
        access_token: Secret::new(format!("access-{tag}")),
        access_token_expires_at: (Utc::now() + Duration::days(30)).trunc_micros(),
        refresh_token: Some(Secret::new(format!("refresh-{tag}"))),
        refresh_token_expires_at: Some((Utc::now() + Duration::days(90)).trunc_micros()),
    }
}

trait TruncMicros {
    fn trunc_micros(self) -> Self;
}
impl TruncMicros for chrono::DateTime<Utc> {
    fn trunc_micros(self) -> Self {
        use chrono::SubsecRound;
        self.trunc_subsecs(6)
    }
}

pub(crate) fn new_binding(customer: &str, wallet: store::Wallet, tag: &str) -> NewBinding {
    NewBinding {
        customer_id: customer.into(),
        wallet,
        scopes: vec!["AGREEMENT_PAY".into(), "USER_LOGIN_ID".into()],
        credentials: credentials(tag),
        user_login_id: Some("63***1234".into()),
        alipay_user_id: Some("2188001".into()),
        merchant_region: Some("SG".into()),
    }
}

#[tokio::test]
async fn tokens_are_encrypted_at_rest_and_decrypted_on_read() {
    each_backend(|store| async move {
        let c = cipher(1);
        let b = store
            .bindings(&c)
            .insert(new_binding("C1", store::Wallet::Gcash, "one"))
            .await?;
        assert_eq!(b.credentials.access_token.expose(), "access-one");
        assert_eq!(b.status, BindingStatus::Active);
        assert_eq!(b.scopes, ["AGREEMENT_PAY", "USER_LOGIN_ID"]);
        assert_eq!(b.merchant_region.as_deref(), Some("SG"));
        assert!(
            !format!("{b:?}").contains("access-one"),
            "Debug redacts tokens"
        );

        let raw = store::entity::wallet_binding::Entity::find_by_id(b.id.clone())
            .one(store.connection())
            .await?
            .expect("row");
        assert!(raw.access_token_enc.starts_with("v1:"));
        assert!(!raw.access_token_enc.contains("access-one"));
        assert!(
            !raw.refresh_token_enc
                .as_deref()
                .unwrap_or_default()
                .contains("refresh-one")
        );

        assert_eq!(store.bindings(&c).get(&b.id).await?, Some(b.clone()));
        let wrong = store.bindings(&cipher(2)).get(&b.id).await;
        assert!(
            matches!(
                wrong,
                Err(StoreError::Crypto(CryptoError::WrongKeyOrTampered))
            ),
            "{wrong:?}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn token_refresh_status_changes_and_listing() {
    each_backend(|store| async move {
        let c = cipher(3);
        let bindings = store.bindings(&c);
        let a = bindings
            .insert(new_binding("C1", store::Wallet::Gcash, "a"))
            .await?;
        let b = bindings
            .insert(new_binding("C1", store::Wallet::Dana, "b"))
            .await?;
        let _other = bindings
            .insert(new_binding("C2", store::Wallet::Gcash, "c"))
            .await?;

        let expired = bindings
            .set_status(
                &a.id,
                1,
                Transition::new(BindingStatus::Expired, "reconciler"),
            )
            .await?;
        assert_eq!(
            (expired.status, expired.version),
            (BindingStatus::Expired, 2)
        );
        let refreshed = bindings
            .update_credentials(&a.id, 2, credentials("a2"), "token_refresh")
            .await?;
        assert_eq!(refreshed.status, BindingStatus::Active);
        assert_eq!(refreshed.version, 3);
        assert_eq!(refreshed.credentials.access_token.expose(), "access-a2");
        let stale = bindings
            .update_credentials(&a.id, 2, credentials("a3"), "token_refresh")
            .await;
        assert!(matches!(stale, Err(StoreError::VersionConflict { .. })));

        bindings
            .set_status(
                &b.id,
                1,
                Transition::new(BindingStatus::Revoked, "api_revoke"),
            )
            .await?;
        let revived = bindings
            .update_credentials(&b.id, 2, credentials("b2"), "token_refresh")
            .await;
        assert!(
            matches!(revived, Err(StoreError::IllegalTransition { .. })),
            "{revived:?}"
        );

        let by_customer = BindingFilter {
            customer_id: Some("C1".into()),
            ..Default::default()
        };
        let first = bindings
            .list(
                &by_customer,
                &PageRequest {
                    page_size: 1,
                    page_token: None,
                },
            )
            .await?;
        assert_eq!(first.items.len(), 1);
        assert_eq!(first.items[0].id, b.id, "newest first");
        let second = bindings
            .list(
                &by_customer,
                &PageRequest {
                    page_size: 1,
                    page_token: first.next_page_token.clone(),
                },
            )
            .await?;
        assert_eq!(second.items[0].id, a.id);
        assert_eq!(second.next_page_token, None, "last page");

        let active_gcash = BindingFilter {
            wallet: Some(store::Wallet::Gcash),
            status: Some(BindingStatus::Active),
            ..Default::default()
        };
        assert_eq!(
            bindings
                .list(&active_gcash, &PageRequest::default())
                .await?
                .items
                .len(),
            2
        );
        let revoked = BindingFilter {
            status: Some(BindingStatus::Revoked),
            ..Default::default()
        };
        assert_eq!(
            bindings
                .list(&revoked, &PageRequest::default())
                .await?
                .items
                .len(),
            1
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_binding_commits_with_its_refresh_job_and_completes_its_idempotency_record() {
    each_backend(|store| async move {
        let c = cipher(1);
        let idem = store.idempotency();
        let k = store::idempotency::key("apply_token", "CODE-B");
        let lease = std::time::Duration::from_secs(60);
        idem.begin(&k, "fp", "owner-a", lease).await?;
        let refresh_at = Utc::now().trunc_micros() + Duration::minutes(30);
        let stranger = Claim {
            key: &k,
            owner: "owner-b",
        };
        let err = store
            .bindings(&c)
            .insert_with(
                new_binding("C9", store::Wallet::Gcash, "x"),
                Some(refresh_at),
                Some(stranger),
            )
            .await
            .expect_err("the record is not ours");
        assert!(matches!(err, StoreError::LeaseNotHeld { .. }));
        let none = store
            .bindings(&c)
            .list(&Default::default(), &Default::default())
            .await?;
        assert!(none.items.is_empty(), "rolled back with the completion");
        let owner = Claim {
            key: &k,
            owner: "owner-a",
        };
        let b = store
            .bindings(&c)
            .insert_with(
                new_binding("C9", store::Wallet::Gcash, "x"),
                Some(refresh_at),
                Some(owner),
            )
            .await?;
        let jobs = store.jobs().list_for_subject(&b.id).await?;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].kind, JobKind::RefreshToken);
        assert_eq!(jobs[0].next_run_at, refresh_at);
        assert_eq!(
            idem.begin(&k, "fp", "owner-c", lease).await?,
            Begin::Completed(b.id.as_bytes().to_vec())
        );
        Ok(())
    })
    .await;
}
