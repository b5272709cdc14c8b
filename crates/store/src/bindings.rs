//! Wallet bindings: a customer's authorised wallet account and its tokens.
//!
//! Tokens are sealed with [`TokenCipher`] on the way in and opened on the way out, so the
//! database only ever holds ciphertext and callers only ever see [`Secret`]s (which do not print).

use crate::crypto::{Secret, TokenCipher};
use crate::db::{begin_write, check_len, check_opt_len, new_id, now};
use crate::entity::state_change::EntityKind;
use crate::entity::wallet_binding::{self, Column};
use crate::error::{Result, StoreError};
use crate::idempotency::{self, Claim, IdempotencyState};
use crate::jobs::{self, JobKind, NewJob};
use crate::page::{self, Page, PageRequest};
use crate::status::BindingStatus;
use crate::transition::{self, Transition, Versioned};
use crate::vocabulary::Wallet;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// Access and refresh tokens with their expiry, as applyToken returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletCredentials {
    /// Bearer credential for agreement payments on the user's behalf (encrypted at rest).
    pub access_token: Secret,
    /// After this Alipay refuses the access token; the engine refreshes before it.
    pub access_token_expires_at: DateTime<Utc>,
    /// Renews the access token without asking the user again; `None` when the wallet gives none.
    pub refresh_token: Option<Secret>,
    /// After this only a new authorization by the user renews the binding.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
}

/// A binding to create after a successful applyToken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBinding {
    /// The caller's customer the binding belongs to: payments for it must name the same one.
    pub customer_id: String,
    /// e.g. `GCASH`.
    pub wallet: Wallet,
    /// What the user granted (`AGREEMENT_PAY`, `USER_LOGIN_ID`, ...), as Alipay returned them.
    pub scopes: Vec<String>,
    /// The tokens applyToken returned.
    pub credentials: WalletCredentials,
    /// The user's masked login id, when the `USER_LOGIN_ID` scope was granted.
    pub user_login_id: Option<String>,
    /// Alipay's id of the user, when returned: ties later notifications to the binding.
    pub alipay_user_id: Option<String>,
    /// `merchantRegion` the authorization was made for (refreshes repeat it).
    pub merchant_region: Option<String>,
}

/// A binding with its tokens decrypted. `Debug` is safe: the tokens are [`Secret`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The gateway's binding id, the one callers hold.
    pub id: String,
    /// The caller's customer the binding belongs to.
    pub customer_id: String,
    /// The wallet bound, e.g. `GCASH`.
    pub wallet: Wallet,
    /// What the user granted, as Alipay returned them.
    pub scopes: Vec<String>,
    /// The current tokens, decrypted.
    pub credentials: WalletCredentials,
    /// The user's masked login id, when granted.
    pub user_login_id: Option<String>,
    /// Alipay's id of the user, when returned.
    pub alipay_user_id: Option<String>,
    /// `merchantRegion` the authorization was made for.
    pub merchant_region: Option<String>,
    /// Only an ACTIVE binding can be charged.
    pub status: BindingStatus,
    /// When the binding was first stored.
    pub created_at: DateTime<Utc>,
    /// When the binding last changed (refresh, revoke).
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: a write against an older one is refused.
    pub version: i64,
}

/// Filters for [`Bindings::list`]; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindingFilter {
    /// Only this customer's bindings.
    pub customer_id: Option<String>,
    /// Only bindings of this wallet.
    pub wallet: Option<Wallet>,
    /// Only bindings in this status.
    pub status: Option<BindingStatus>,
}

impl Versioned for wallet_binding::Entity {
    type Status = BindingStatus;
    const KIND: EntityKind = EntityKind::Binding;
    const ID: Column = Column::Id;
    const STATUS: Column = Column::Status;
    const VERSION: Column = Column::Version;
    const UPDATED_AT: Column = Column::UpdatedAt;
    fn id_of(model: &wallet_binding::Model) -> &str {
        &model.id
    }
    fn status_of(model: &wallet_binding::Model) -> BindingStatus {
        model.status
    }
    fn version_of(model: &wallet_binding::Model) -> i64 {
        model.version
    }
}

/// Binding repository; get one from [`crate::Store::bindings`].
#[derive(Debug, Clone, Copy)]
pub struct Bindings<'a> {
    db: &'a DatabaseConnection,
    cipher: &'a TokenCipher,
}

impl<'a> Bindings<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection, cipher: &'a TokenCipher) -> Self {
        Self { db, cipher }
    }

    /// Stores a new ACTIVE binding.
    pub async fn insert(&self, new: NewBinding) -> Result<Binding> {
        self.insert_with(new, None, None).await
    }

    /// Stores a new ACTIVE binding and, in the same transaction, schedules its REFRESH_TOKEN job
    /// at `refresh_at` (when set) and completes the idempotency `claim` with the binding's id
    /// (when set): tokens are never stored without their refresh job, and the record of the
    /// applyToken that issued them is never left IN_PROGRESS once they are.
    pub async fn insert_with(
        &self,
        new: NewBinding,
        refresh_at: Option<DateTime<Utc>>,
        claim: Option<Claim<'_>>,
    ) -> Result<Binding> {
        check_len("customer_id", &new.customer_id, 64)?;
        check_opt_len("user_login_id", new.user_login_id.as_deref(), 128)?;
        check_opt_len("alipay_user_id", new.alipay_user_id.as_deref(), 64)?;
        check_opt_len("merchant_region", new.merchant_region.as_deref(), 16)?;
        let at = now();
        let (access, refresh) = self.seal(&new.credentials)?;
        let id = new_id();
        let model = wallet_binding::ActiveModel {
            id: Set(id.clone()),
            customer_id: Set(new.customer_id),
            wallet: Set(new.wallet),
            scopes: Set(serde_json::Value::from(new.scopes)),
            access_token_enc: Set(access),
            access_token_expires_at: Set(new.credentials.access_token_expires_at),
            refresh_token_enc: Set(refresh),
            refresh_token_expires_at: Set(new.credentials.refresh_token_expires_at),
            user_login_id: Set(new.user_login_id),
            alipay_user_id: Set(new.alipay_user_id),
            merchant_region: Set(new.merchant_region),
            access_token_hash: Set(Some(
                self.cipher
                    .lookup_hash(new.credentials.access_token.expose()),
            )),
            status: Set(BindingStatus::Active),
            created_at: Set(at),
            updated_at: Set(at),
            version: Set(1),
        };
        let txn = begin_write(self.db).await?;
        let model = model.insert(&txn).await?;
        if let Some(at) = refresh_at {
            jobs::enqueue_on(&txn, &NewJob::new(JobKind::RefreshToken, &id, at)).await?;
        }
        if let Some(claim) = claim {
            idempotency::finish_on(&txn, &claim, IdempotencyState::Completed, id.as_bytes())
                .await?;
        }
        txn.commit().await?;
        self.open(model)
    }

    /// The binding with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Binding>> {
        transition::find::<wallet_binding::Entity, _>(self.db, Column::Id, id)
            .await?
            .map(|m| self.open(m))
            .transpose()
    }

    /// Bindings matching `filter`, newest first.
    pub async fn list(&self, filter: &BindingFilter, page: &PageRequest) -> Result<Page<Binding>> {
        let mut select = wallet_binding::Entity::find();
        if let Some(customer) = &filter.customer_id {
            select = select.filter(Column::CustomerId.eq(customer.as_str()));
        }
        if let Some(wallet) = &filter.wallet {
            select = select.filter(Column::Wallet.eq(*wallet));
        }
        if let Some(status) = filter.status {
            select = select.filter(Column::Status.eq(status));
        }
        let scope = page::scope(filter);
        let (select, size) = page::apply(select, page, scope, Column::CreatedAt, Column::Id)?;
        let rows = select.all(self.db).await?;
        let rows = rows
            .into_iter()
            .map(|m| self.open(m))
            .collect::<Result<Vec<_>>>()?;
        Ok(page::finish(rows, size, scope, |b| {
            (b.created_at, b.id.clone())
        }))
    }

    /// Replaces the tokens after a refresh and makes the binding ACTIVE again; refused for a
    /// REVOKED binding ([`StoreError::IllegalTransition`]) or a stale version.
    pub async fn update_credentials(
        &self,
        id: &str,
        expected_version: i64,
        tokens: WalletCredentials,
        source: &str,
    ) -> Result<Binding> {
        let (access, refresh) = self.seal(&tokens)?;
        let changes = wallet_binding::ActiveModel {
            access_token_enc: Set(access),
            access_token_expires_at: Set(tokens.access_token_expires_at),
            refresh_token_enc: Set(refresh),
            refresh_token_expires_at: Set(tokens.refresh_token_expires_at),
            access_token_hash: Set(Some(self.cipher.lookup_hash(tokens.access_token.expose()))),
            ..Default::default()
        };
        let transition = Transition::new(BindingStatus::Active, source);
        let current = transition::read_at::<wallet_binding::Entity, _>(
            self.db,
            id,
            expected_version,
            &transition,
        )
        .await?;
        let model =
            transition::apply::<wallet_binding::Entity>(self.db, &current, &transition, changes)
                .await?;
        self.open(model)
    }

    /// Changes the status (e.g. REVOKED after revoke, EXPIRED when the refresh token lapsed).
    pub async fn set_status(
        &self,
        id: &str,
        expected_version: i64,
        transition: Transition<BindingStatus>,
    ) -> Result<Binding> {
        let current = transition::read_at::<wallet_binding::Entity, _>(
            self.db,
            id,
            expected_version,
            &transition,
        )
        .await?;
        let model = transition::apply::<wallet_binding::Entity>(
            self.db,
            &current,
            &transition,
            <wallet_binding::ActiveModel as Default>::default(),
        )
        .await?;
        self.open(model)
    }

    fn seal(&self, tokens: &WalletCredentials) -> Result<(String, Option<String>)> {
        let access = self.cipher.encrypt(tokens.access_token.expose())?;
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| self.cipher.encrypt(t.expose()))
            .transpose()?;
        Ok((access, refresh))
    }

    fn open(&self, m: wallet_binding::Model) -> Result<Binding> {
        let scopes: Vec<String> =
            serde_json::from_value(m.scopes).map_err(|e| StoreError::Corrupt {
                field: "scopes",
                id: m.id.clone(),
                reason: e.to_string(),
            })?;
        let access_token = self.cipher.decrypt(&m.access_token_enc)?;
        let refresh_token = m
            .refresh_token_enc
            .as_deref()
            .map(|t| self.cipher.decrypt(t))
            .transpose()?;
        Ok(Binding {
            id: m.id,
            customer_id: m.customer_id,
            wallet: m.wallet,
            scopes,
            credentials: WalletCredentials {
                access_token,
                access_token_expires_at: m.access_token_expires_at,
                refresh_token,
                refresh_token_expires_at: m.refresh_token_expires_at,
            },
            user_login_id: m.user_login_id,
            alipay_user_id: m.alipay_user_id,
            merchant_region: m.merchant_region,
            status: m.status,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        })
    }
}
