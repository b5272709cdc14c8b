//! Stored cards: the cardTokens Alipay issued for a customer's saved cards.
//!
//! A cardToken charges the card without the buyer, so it is a credential: the database holds it sealed with the
//! store's [`TokenCipher`] (as wallet access tokens are) plus a keyed hash to find it by, and callers name a stored
//! card by the row's opaque id, never by the token. The token may be reported by the pay answer, inquiryPayment or
//! notifyPayment, in any order and more than once: [`CardTokens::record`] is an idempotent upsert keyed by
//! (customer, token hash) that only fills facts still missing.
//!
//! Deleting is a soft delete that erases the sealed token: the row stays as a tombstone so payments' card facts
//! keep pointing at the card they used, and so a late notification of an older payment cannot bring a deleted
//! card back. Only a payment started after the delete (the customer saving the card again) revives it.

use crate::card_facts::{self, CardFacts, CardIdentity, Fill as _, for_update};
use crate::crypto::{Secret, TokenCipher};
use crate::db::{begin_write, check_len, check_opt_len, new_id, now};
use crate::entity::card_token::{self, Column};
use crate::entity::payment;
use crate::error::Result;
use crate::page::{self, Page, PageRequest};
use crate::store::Store;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

/// The longest cardToken Alipay issues.
const MAX_TOKEN_LEN: usize = 2048;
/// Plain `payments.card_token` values sealed per transaction by [`CardTokens::seal_plain_payment_tokens`].
const SEAL_BATCH: u64 = 100;

/// A token reported by one source (pay answer, inquiry or notification) of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCardToken {
    /// The payment's customer; the token is usable by this customer only.
    pub customer_id: String,
    /// The cardToken (1..=2048 bytes); sealed before it is stored.
    pub token: Secret,
    /// What the source said about the card.
    pub card: CardIdentity,
    /// The `networkTransactionId` of the payment, for later merchant-initiated charges.
    pub network_transaction_id: Option<String>,
    /// `paymentRequestId` of the payment that brought the token.
    pub payment_request_id: String,
    /// When that payment was created: a payment started after the card was deleted saves it again, an older
    /// one's late report does not.
    pub payment_created_at: DateTime<Utc>,
}

/// A stored card, its token opened. `Debug` is safe: the token is a [`Secret`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardToken {
    /// The opaque id callers hold for the card.
    pub id: String,
    /// The customer the card belongs to.
    pub customer_id: String,
    /// The cardToken, for the one call that sends it to Alipay (`paymentMethodId`).
    pub token: Secret,
    /// Brand, last four, expiry, funding, issuing country.
    pub card: CardIdentity,
    /// The scheme's id of the first transaction with the card.
    pub network_transaction_id: Option<String>,
    /// `paymentRequestId` of the payment that brought the token.
    pub first_payment_request_id: String,
    /// When the card was first stored.
    pub created_at: DateTime<Utc>,
    /// When a source last added a fact.
    pub updated_at: DateTime<Utc>,
    /// When a payment last charged the card; `None` until one does.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What [`CardTokens::record`] did with a reported token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The card is stored (new, merged, revived or unchanged) and usable.
    Live(Box<CardToken>),
    /// The customer deleted this card after the reporting payment started: it stays deleted. The id still names
    /// the row, for the payment's card facts.
    Deleted {
        /// The stored card's id.
        id: String,
    },
}

impl Recorded {
    /// The stored card's id, live or deleted.
    pub fn id(&self) -> &str {
        match self {
            Recorded::Live(token) => &token.id,
            Recorded::Deleted { id } => id,
        }
    }
}

/// Stored-card repository.
#[derive(Debug, Clone, Copy)]
pub struct CardTokens<'a> {
    db: &'a DatabaseConnection,
    cipher: &'a TokenCipher,
}

impl<'a> CardTokens<'a> {
    /// The repository on `store`'s database; `cipher` seals and opens the tokens (the wallet tokens' cipher).
    pub fn new(store: &'a Store, cipher: &'a TokenCipher) -> Self {
        Self {
            db: store.connection(),
            cipher,
        }
    }

    /// Stores the token for its customer, or merges the report into the stored card (filling facts still missing,
    /// never erasing or rewriting one). Idempotent: the same report twice leaves one unchanged row.
    pub async fn record(&self, new: NewCardToken) -> Result<Recorded> {
        let txn = begin_write(self.db).await?;
        let recorded = self.record_on(&txn, new).await?;
        txn.commit().await?;
        Ok(recorded)
    }

    /// The customer's live stored card with this id; `None` for another customer's, a deleted or an unknown one.
    pub async fn get(&self, customer_id: &str, id: &str) -> Result<Option<CardToken>> {
        let row = card_token::Entity::find_by_id(id.to_owned())
            .filter(Column::CustomerId.eq(customer_id))
            .filter(Column::DeletedAt.is_null())
            .one(self.db)
            .await?;
        row.map(|m| self.open(m)).transpose().map(Option::flatten)
    }

    /// The customer's live stored card holding this plaintext token (found through its keyed hash).
    pub async fn find_by_token(&self, customer_id: &str, token: &str) -> Result<Option<CardToken>> {
        let row = card_token::Entity::find()
            .filter(Column::CustomerId.eq(customer_id))
            .filter(Column::TokenHash.eq(self.cipher.lookup_hash(token)))
            .filter(Column::DeletedAt.is_null())
            .one(self.db)
            .await?;
        row.map(|m| self.open(m)).transpose().map(Option::flatten)
    }

    /// The customer's live stored cards, newest first. A page token is valid only for the customer it was issued
    /// for ([`crate::StoreError::InvalidPageToken`] otherwise).
    pub async fn list(&self, customer_id: &str, request: &PageRequest) -> Result<Page<CardToken>> {
        let select = card_token::Entity::find()
            .filter(Column::CustomerId.eq(customer_id))
            .filter(Column::DeletedAt.is_null());
        // Page tokens are bound to the listing and its customer.
        let scope = page::scope(&("card_tokens", customer_id));
        let (select, size) = page::apply(select, request, scope, Column::CreatedAt, Column::Id)?;
        let mut cards = Vec::new();
        for row in select.all(self.db).await? {
            cards.extend(self.open(row)?);
        }
        Ok(page::finish(cards, size, scope, |c| {
            (c.created_at, c.id.clone())
        }))
    }

    /// Deletes the customer's stored card: it is no longer listed or usable and its sealed token is erased.
    /// Idempotent: `false` when there was nothing live to delete (unknown, another customer's, already deleted).
    pub async fn delete(&self, customer_id: &str, id: &str) -> Result<bool> {
        let at = now();
        let deleted = card_token::Entity::update_many()
            .col_expr(Column::DeletedAt, Expr::value(at))
            .col_expr(Column::UpdatedAt, Expr::value(at))
            .col_expr(Column::TokenEnc, Expr::value(Option::<String>::None))
            .filter(Column::Id.eq(id))
            .filter(Column::CustomerId.eq(customer_id))
            .filter(Column::DeletedAt.is_null())
            .exec(self.db)
            .await?;
        Ok(deleted.rows_affected == 1)
    }

    /// Moves the plaintext `payments.card_token` values of the first schema into stored cards (see the migration
    /// `m20261201_500001_create_card_tokens`): each is recorded under the payment's customer, the payment's card
    /// facts link to it, and the column is set to NULL. A value on a payment without a customer is only erased
    /// (no one could reuse it). Idempotent; returns how many payments were cleared.
    pub async fn seal_plain_payment_tokens(&self) -> Result<u64> {
        let mut cleared = 0;
        loop {
            let txn = begin_write(self.db).await?;
            let select = payment::Entity::find()
                .filter(payment::Column::CardToken.is_not_null())
                .order_by_asc(payment::Column::Id)
                .limit(SEAL_BATCH);
            let batch = for_update(select, txn.get_database_backend())
                .all(&txn)
                .await?;
            if batch.is_empty() {
                txn.commit().await?;
                return Ok(cleared);
            }
            for p in batch {
                let token = p.card_token.clone().filter(|t| !t.is_empty());
                if let (Some(token), Some(customer_id)) = (token, p.customer_id.clone()) {
                    let new = NewCardToken {
                        customer_id,
                        token: Secret::new(token),
                        card: CardIdentity {
                            brand: p.card_brand.clone(),
                            last_four: p.card_last_four.clone(),
                            issuing_country: p.card_issuing_country.clone(),
                            funding: p.card_funding.clone(),
                            ..CardIdentity::default()
                        },
                        network_transaction_id: p.network_transaction_id.clone(),
                        payment_request_id: p.payment_request_id.clone(),
                        payment_created_at: p.created_at,
                    };
                    let recorded = self.record_on(&txn, new).await?;
                    let link = CardFacts {
                        card_token_id: Some(recorded.id().to_owned()),
                        ..CardFacts::default()
                    };
                    card_facts::merge_on(&txn, &p.id, link).await?;
                }
                // A new version, as every write of a payment (see `transition::Versioned`).
                payment::Entity::update_many()
                    .col_expr(
                        payment::Column::CardToken,
                        Expr::value(Option::<String>::None),
                    )
                    .col_expr(
                        payment::Column::Version,
                        Expr::col(payment::Column::Version).add(1),
                    )
                    .filter(payment::Column::Id.eq(p.id.as_str()))
                    .exec(&txn)
                    .await?;
                cleared += 1;
            }
            txn.commit().await?;
        }
    }

    /// [`CardTokens::record`] inside the caller's write transaction.
    async fn record_on<C: ConnectionTrait>(&self, txn: &C, new: NewCardToken) -> Result<Recorded> {
        let sealed = SealedCardToken::seal(self.cipher, &new.token)?;
        match record_sealed_on(txn, SealedReport::of(new, sealed)).await? {
            Stored::Live(model) => self.live(*model),
            Stored::Deleted { id } => Ok(Recorded::Deleted { id }),
        }
    }

    fn live(&self, model: card_token::Model) -> Result<Recorded> {
        let id = model.id.clone();
        Ok(self.open(model)?.map_or(Recorded::Deleted { id }, |card| {
            Recorded::Live(Box::new(card))
        }))
    }

    /// The row as a [`CardToken`]; `None` for a deleted card (its token is erased).
    fn open(&self, m: card_token::Model) -> Result<Option<CardToken>> {
        let Some(sealed) = m.token_enc.as_deref().filter(|_| m.deleted_at.is_none()) else {
            return Ok(None);
        };
        let token = self.cipher.decrypt(sealed)?;
        Ok(Some(CardToken {
            card: identity_of(&m),
            id: m.id,
            customer_id: m.customer_id,
            token,
            network_transaction_id: m.network_transaction_id,
            first_payment_request_id: m.first_payment_request_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
            last_used_at: m.last_used_at,
        }))
    }
}

/// The card columns of a row.
fn identity_of(m: &card_token::Model) -> CardIdentity {
    CardIdentity {
        brand: m.brand.clone(),
        last_four: m.last_four.clone(),
        expiry_month: m.expiry_month.clone(),
        expiry_year: m.expiry_year.clone(),
        funding: m.funding.clone(),
        issuing_country: m.issuing_country.clone(),
    }
}

/// Writes `card` into the columns that differ from the stored ones.
fn set_identity(changes: &mut card_token::ActiveModel, card: CardIdentity) {
    changes.brand.set_if_not_equals(card.brand);
    changes.last_four.set_if_not_equals(card.last_four);
    changes.expiry_month.set_if_not_equals(card.expiry_month);
    changes.expiry_year.set_if_not_equals(card.expiry_year);
    changes.funding.set_if_not_equals(card.funding);
    changes
        .issuing_country
        .set_if_not_equals(card.issuing_country);
}

/// A cardToken sealed for storage, with the keyed hash that finds it again. Sealing needs the cipher, which only
/// the engine holds; a transaction that records a reported token (a payment's move, a notification's inbox row)
/// needs only this, so the token is stored in the same commit as the status it came with.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCardToken {
    sealed: String,
    hash: String,
}

impl SealedCardToken {
    /// Seals `token` (1..=2048 bytes, [`crate::StoreError::Invalid`] otherwise) with `cipher`.
    pub fn seal(cipher: &TokenCipher, token: &Secret) -> Result<Self> {
        check_len("card_token", token.expose(), MAX_TOKEN_LEN)?;
        Ok(Self {
            sealed: cipher.encrypt(token.expose())?,
            hash: cipher.lookup_hash(token.expose()),
        })
    }
}

impl std::fmt::Debug for SealedCardToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedCardToken(<redacted>)")
    }
}

/// A [`NewCardToken`] whose token is sealed already.
pub(crate) struct SealedReport {
    pub(crate) customer_id: String,
    pub(crate) token: SealedCardToken,
    pub(crate) card: CardIdentity,
    pub(crate) network_transaction_id: Option<String>,
    pub(crate) payment_request_id: String,
    pub(crate) payment_created_at: DateTime<Utc>,
}

impl SealedReport {
    fn of(new: NewCardToken, token: SealedCardToken) -> Self {
        Self {
            customer_id: new.customer_id,
            token,
            card: new.card,
            network_transaction_id: new.network_transaction_id,
            payment_request_id: new.payment_request_id,
            payment_created_at: new.payment_created_at,
        }
    }
}

/// The row [`record_sealed_on`] left.
pub(crate) enum Stored {
    /// Stored, merged, revived or unchanged, and usable.
    Live(Box<card_token::Model>),
    /// Deleted by the customer after the reporting payment started: it stays deleted.
    Deleted {
        /// The stored card's id.
        id: String,
    },
}

impl Stored {
    /// The stored card's id, live or deleted.
    pub(crate) fn id(&self) -> &str {
        match self {
            Stored::Live(model) => &model.id,
            Stored::Deleted { id } => id,
        }
    }
}

/// Stores the sealed token for its customer, or merges the report into the stored card (filling facts still
/// missing, never erasing or rewriting one), inside the caller's write transaction. Idempotent.
pub(crate) async fn record_sealed_on<C: ConnectionTrait>(
    txn: &C,
    new: SealedReport,
) -> Result<Stored> {
    check_len("customer_id", &new.customer_id, 64)?;
    check_len("payment_request_id", &new.payment_request_id, 64)?;
    // Blank facts are no facts: dropped before the checks and the merge.
    let mut card = CardIdentity::default();
    card.fill(new.card);
    card.check()?;
    let mut nti = None;
    nti.fill(new.network_transaction_id);
    check_opt_len("network_transaction_id", nti.as_deref(), 256)?;

    let SealedCardToken { sealed, hash } = new.token;
    let at = now();
    let row = card_token::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(new.customer_id.clone()),
        token_enc: Set(Some(sealed.clone())),
        token_hash: Set(hash.clone()),
        brand: Set(card.brand.clone()),
        last_four: Set(card.last_four.clone()),
        expiry_month: Set(card.expiry_month.clone()),
        expiry_year: Set(card.expiry_year.clone()),
        funding: Set(card.funding.clone()),
        issuing_country: Set(card.issuing_country.clone()),
        network_transaction_id: Set(nti.clone()),
        first_payment_request_id: Set(new.payment_request_id.clone()),
        created_at: Set(at),
        updated_at: Set(at),
        last_used_at: Set(None),
        deleted_at: Set(None),
    };
    card_token::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::CustomerId, Column::TokenHash])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let select = card_token::Entity::find()
        .filter(Column::CustomerId.eq(new.customer_id.as_str()))
        .filter(Column::TokenHash.eq(hash));
    let Some(stored) = for_update(select, txn.get_database_backend())
        .one(txn)
        .await?
    else {
        return Err(crate::StoreError::Corrupt {
            field: "card_tokens",
            id: new.customer_id,
            reason: "stored card vanished inside its transaction".into(),
        });
    };

    let mut changes: card_token::ActiveModel = stored.clone().into();
    match stored.deleted_at {
        Some(deleted_at) if new.payment_created_at <= deleted_at => {
            return Ok(Stored::Deleted { id: stored.id });
        }
        Some(_) => {
            // Saved again by a payment started after the delete: a fresh card, the old facts dropped.
            changes.token_enc = Set(Some(sealed));
            changes.deleted_at = Set(None);
            changes.last_used_at = Set(None);
            changes.first_payment_request_id = Set(new.payment_request_id);
            changes.created_at = Set(at);
            set_identity(&mut changes, card);
            changes.network_transaction_id.set_if_not_equals(nti);
        }
        None => {
            let mut merged = identity_of(&stored);
            merged.fill(card);
            let mut merged_nti = stored.network_transaction_id.clone();
            merged_nti.fill(nti);
            set_identity(&mut changes, merged);
            changes.network_transaction_id.set_if_not_equals(merged_nti);
        }
    }
    if changes.is_changed() {
        changes.updated_at = Set(at);
        return Ok(Stored::Live(Box::new(changes.update(txn).await?)));
    }
    Ok(Stored::Live(Box::new(stored)))
}

/// Records that a payment charged the stored card `id` now (its `last_used_at`), inside the caller's transaction.
pub(crate) async fn mark_used_on<C: ConnectionTrait>(txn: &C, id: &str) -> Result<()> {
    card_token::Entity::update_many()
        .col_expr(Column::LastUsedAt, Expr::value(now()))
        .filter(Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}
