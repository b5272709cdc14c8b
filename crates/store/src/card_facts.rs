//! Card facts of payments: what Alipay reported about the card, merged from every source that brings some.
//!
//! A card result arrives in pieces and in any order (the pay answer, inquiryPayment, notifyPayment), so facts are
//! merged monotonically: a later source fills what is still empty and never erases or rewrites what is known.
//! Only masked and derived data has a field here; a card number, CVV, cardholder name, billing address or CAVV has
//! none, so no caller can store one by mistake.

use std::collections::HashMap;

use crate::card_tokens::{self, SealedCardToken, SealedReport};
use crate::db::{begin_write, check_opt_len, now};
use crate::entity::{card_token, payment, payment_card_facts};
use crate::error::{Result, StoreError};
use crate::jobs::{self, JobKind, NewJob};
use crate::status::PaymentStatus;
use crate::store::Store;
use crate::vocabulary::CaptureMode;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Select,
};

/// A value that a later source may fill but never erase: blank text counts as absent.
pub(crate) trait Fill {
    /// Keeps `self` when it holds a fact, else takes `later`'s.
    fn fill(&mut self, later: Self);
}

impl Fill for Option<String> {
    fn fill(&mut self, later: Self) {
        let known = self.take().filter(|v| !v.is_empty());
        *self = known.or(later.filter(|v| !v.is_empty()));
    }
}

impl Fill for Option<bool> {
    fn fill(&mut self, later: Self) {
        *self = self.or(later);
    }
}

/// What identifies a card to its holder, shared by a payment's facts and a stored card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardIdentity {
    /// Card brand, e.g. `VISA` (at most 32 bytes).
    pub brand: Option<String>,
    /// Last four digits (4 bytes).
    pub last_four: Option<String>,
    /// Expiry month, `MM`.
    pub expiry_month: Option<String>,
    /// Expiry year as Alipay reports it (`YY`, at most 4 bytes).
    pub expiry_year: Option<String>,
    /// `CREDIT`, `DEBIT`, ... (at most 32 bytes).
    pub funding: Option<String>,
    /// ISO 3166 alpha-2 country of the issuing bank.
    pub issuing_country: Option<String>,
}

impl CardIdentity {
    /// Fills what `self` lacks from `later` (see [`Fill`]).
    pub(crate) fn fill(&mut self, later: CardIdentity) {
        self.brand.fill(later.brand);
        self.last_four.fill(later.last_four);
        self.expiry_month.fill(later.expiry_month);
        self.expiry_year.fill(later.expiry_year);
        self.funding.fill(later.funding);
        self.issuing_country.fill(later.issuing_country);
    }

    /// Rejects values longer than their columns, so both backends fail the same typed way.
    pub(crate) fn check(&self) -> Result<()> {
        check_opt_len("card.brand", self.brand.as_deref(), 32)?;
        check_opt_len("card.last_four", self.last_four.as_deref(), 4)?;
        check_opt_len("card.expiry_month", self.expiry_month.as_deref(), 2)?;
        check_opt_len("card.expiry_year", self.expiry_year.as_deref(), 4)?;
        check_opt_len("card.funding", self.funding.as_deref(), 32)?;
        check_opt_len("card.issuing_country", self.issuing_country.as_deref(), 2)
    }
}

/// Everything the gateway keeps about a payment's card. `None` (or blank text) means "not reported".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFacts {
    /// Brand, last four, expiry, funding, issuing country.
    pub card: CardIdentity,
    /// The issuing bank's name (at most 128 bytes).
    pub issuer_name: Option<String>,
    /// `threeDSResult.threeDSVersion` (at most 16 bytes).
    pub three_ds_version: Option<String>,
    /// `threeDSResult.eci` (2 bytes): 02/05 authenticated, 01/06 attempted, 00/07 not authenticated.
    pub eci: Option<String>,
    /// `threeDSResult.challenged`.
    pub challenged: Option<bool>,
    /// `threeDSResult.challengeCancel`, "01".."08".
    pub challenge_cancel_code: Option<String>,
    /// `threeDSResult.exemptionType`: dataOnly, lowValue, transactionRiskAnalysis (at most 32 bytes).
    pub exemption_type: Option<String>,
    /// `threeDSResult.threeDSOffered`.
    pub three_ds_offered: Option<bool>,
    /// `avsResultRaw`, verbatim (at most 8 bytes).
    pub avs_result_raw: Option<String>,
    /// `cvvResultRaw`, verbatim (at most 8 bytes); never the CVV itself.
    pub cvv_result_raw: Option<String>,
    /// `networkTransactionId` (at most 256 bytes).
    pub network_transaction_id: Option<String>,
    /// The issuer's authorization code (at most 32 bytes).
    pub authorization_code: Option<String>,
    /// `refusalCodeRaw`, verbatim (at most 32 bytes).
    pub refusal_code_raw: Option<String>,
    /// `refusalReasonRaw`, verbatim (at most 256 bytes).
    pub refusal_reason_raw: Option<String>,
    /// `merchantAdviceCode` (at most 8 bytes).
    pub merchant_advice_code: Option<String>,
    /// Id of the stored card ([`crate::card_tokens::CardToken::id`]) the payment used or created.
    pub card_token_id: Option<String>,
}

impl CardFacts {
    /// `self` with what it lacks taken from `later`: known facts are kept, blanks are dropped. Merging is
    /// monotonic: after any sequence of merges a fact, once known, keeps its first value.
    pub fn merge(mut self, later: CardFacts) -> CardFacts {
        self.card.fill(later.card);
        self.issuer_name.fill(later.issuer_name);
        self.three_ds_version.fill(later.three_ds_version);
        self.eci.fill(later.eci);
        self.challenged.fill(later.challenged);
        self.challenge_cancel_code.fill(later.challenge_cancel_code);
        self.exemption_type.fill(later.exemption_type);
        self.three_ds_offered.fill(later.three_ds_offered);
        self.avs_result_raw.fill(later.avs_result_raw);
        self.cvv_result_raw.fill(later.cvv_result_raw);
        self.network_transaction_id
            .fill(later.network_transaction_id);
        self.authorization_code.fill(later.authorization_code);
        self.refusal_code_raw.fill(later.refusal_code_raw);
        self.refusal_reason_raw.fill(later.refusal_reason_raw);
        self.merchant_advice_code.fill(later.merchant_advice_code);
        self.card_token_id.fill(later.card_token_id);
        self
    }

    /// Rejects values longer than their columns ([`StoreError::Invalid`] naming the field): a report from Alipay
    /// that breaks a limit is checked before it joins a status change, which must not fail because of it.
    pub fn check(&self) -> Result<()> {
        self.card.check()?;
        check_opt_len("issuer_name", self.issuer_name.as_deref(), 128)?;
        check_opt_len("three_ds_version", self.three_ds_version.as_deref(), 16)?;
        check_opt_len("eci", self.eci.as_deref(), 2)?;
        check_opt_len(
            "challenge_cancel_code",
            self.challenge_cancel_code.as_deref(),
            2,
        )?;
        check_opt_len("exemption_type", self.exemption_type.as_deref(), 32)?;
        check_opt_len("avs_result_raw", self.avs_result_raw.as_deref(), 8)?;
        check_opt_len("cvv_result_raw", self.cvv_result_raw.as_deref(), 8)?;
        check_opt_len(
            "network_transaction_id",
            self.network_transaction_id.as_deref(),
            256,
        )?;
        check_opt_len("authorization_code", self.authorization_code.as_deref(), 32)?;
        check_opt_len("refusal_code_raw", self.refusal_code_raw.as_deref(), 32)?;
        check_opt_len(
            "refusal_reason_raw",
            self.refusal_reason_raw.as_deref(),
            256,
        )?;
        check_opt_len(
            "merchant_advice_code",
            self.merchant_advice_code.as_deref(),
            8,
        )?;
        check_opt_len("card_token_id", self.card_token_id.as_deref(), 36)
    }

    fn from_row(m: payment_card_facts::Model) -> CardFacts {
        CardFacts {
            card: CardIdentity {
                brand: m.brand,
                last_four: m.last_four,
                expiry_month: m.expiry_month,
                expiry_year: m.expiry_year,
                funding: m.funding,
                issuing_country: m.issuing_country,
            },
            issuer_name: m.issuer_name,
            three_ds_version: m.three_ds_version,
            eci: m.eci,
            challenged: m.challenged,
            challenge_cancel_code: m.challenge_cancel_code,
            exemption_type: m.exemption_type,
            three_ds_offered: m.three_ds_offered,
            avs_result_raw: m.avs_result_raw,
            cvv_result_raw: m.cvv_result_raw,
            network_transaction_id: m.network_transaction_id,
            authorization_code: m.authorization_code,
            refusal_code_raw: m.refusal_code_raw,
            refusal_reason_raw: m.refusal_reason_raw,
            merchant_advice_code: m.merchant_advice_code,
            card_token_id: m.card_token_id,
        }
    }

    fn into_row(
        self,
        payment_id: String,
        created_at: chrono::DateTime<chrono::Utc>,
    ) -> payment_card_facts::ActiveModel {
        payment_card_facts::ActiveModel {
            payment_id: Set(payment_id),
            brand: Set(self.card.brand),
            last_four: Set(self.card.last_four),
            expiry_month: Set(self.card.expiry_month),
            expiry_year: Set(self.card.expiry_year),
            funding: Set(self.card.funding),
            issuing_country: Set(self.card.issuing_country),
            issuer_name: Set(self.issuer_name),
            three_ds_version: Set(self.three_ds_version),
            eci: Set(self.eci),
            challenged: Set(self.challenged),
            challenge_cancel_code: Set(self.challenge_cancel_code),
            exemption_type: Set(self.exemption_type),
            three_ds_offered: Set(self.three_ds_offered),
            avs_result_raw: Set(self.avs_result_raw),
            cvv_result_raw: Set(self.cvv_result_raw),
            network_transaction_id: Set(self.network_transaction_id),
            authorization_code: Set(self.authorization_code),
            refusal_code_raw: Set(self.refusal_code_raw),
            refusal_reason_raw: Set(self.refusal_reason_raw),
            merchant_advice_code: Set(self.merchant_advice_code),
            card_token_id: Set(self.card_token_id),
            created_at: Set(created_at),
            updated_at: Set(now()),
        }
    }
}

/// What one source (the pay answer, inquiryPayment or notifyPayment) reported about a card payment's card,
/// recorded in the same transaction as the status it came with: a caller that sees the payment's new status also
/// sees its card facts and stored card, and a crash cannot keep the one without the other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardReport {
    /// The facts reported; [`CardFacts::card_token_id`] is filled by the recording.
    pub facts: CardFacts,
    /// A cardToken issued for the payment's customer, sealed.
    pub token: Option<SealedCardToken>,
    /// The stored card ([`crate::card_tokens::CardToken::id`]) the payment charged: linked to the payment, and its
    /// last use recorded.
    pub stored_card: Option<String>,
    /// The void the `card_void_on` policy asks for, given the AVS/CVV results reported.
    pub void: Option<PlannedVoid>,
}

/// A void the engine's `card_void_on` policy asks for: committed as a [`JobKind::VoidCard`] job with the approval
/// of a MANUAL authorization, so the void happens even if the process dies right after the approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVoid {
    /// The code the voided payment will report (`AVS_REJECTED`, `CVV_REJECTED`), kept in the job's payload.
    pub reason: String,
    /// When the job may run: after the caller's own answer had its chance to void at once.
    pub run_at: chrono::DateTime<chrono::Utc>,
}

/// Records `report` for `payment`, whose status is (or is becoming) `status`, inside the caller's write
/// transaction: the stored card (new or merged), the merged facts, and the planned void of an approved MANUAL
/// authorization. Only a card payment has card facts; a report for another payment changes nothing.
pub(crate) async fn record_report_on<C: ConnectionTrait>(
    txn: &C,
    payment: &payment::Model,
    status: PaymentStatus,
    report: CardReport,
) -> Result<()> {
    if payment.payment_method_type != crate::Wallet::Card {
        return Ok(());
    }
    let CardReport {
        mut facts,
        token,
        stored_card,
        void,
    } = report;
    if let Some(void) = void
        && status == PaymentStatus::Success
        && payment.capture_mode == Some(CaptureMode::Manual)
    {
        let mut job = NewJob::new(JobKind::VoidCard, payment.id.clone(), void.run_at);
        job.payload = serde_json::json!({ "reason": void.reason });
        jobs::enqueue_on(txn, &job).await?;
    }
    if let Some(card) = stored_card {
        card_tokens::mark_used_on(txn, &card).await?;
        facts.card_token_id = Some(card);
    } else if let (Some(token), Some(customer_id)) = (token, &payment.customer_id) {
        let stored = card_tokens::record_sealed_on(
            txn,
            SealedReport {
                customer_id: customer_id.clone(),
                token,
                card: facts.card.clone(),
                network_transaction_id: facts.network_transaction_id.clone(),
                payment_request_id: payment.payment_request_id.clone(),
                payment_created_at: payment.created_at,
            },
        )
        .await?;
        facts.card_token_id = Some(stored.id().to_owned());
    }
    if facts != CardFacts::default() {
        merge_on(txn, &payment.id, facts).await?;
    }
    Ok(())
}

/// `select` locking its rows until the transaction ends, on PostgreSQL. SQLite needs no lock: a write transaction
/// there holds the database's only write lock from its start ([`begin_write`]).
pub(crate) fn for_update<E: EntityTrait>(select: Select<E>, backend: DbBackend) -> Select<E> {
    if backend == DbBackend::Postgres {
        select.lock_exclusive()
    } else {
        select
    }
}

/// Card facts repository (1:1 with payments).
#[derive(Debug, Clone, Copy)]
pub struct PaymentCardFacts<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> PaymentCardFacts<'a> {
    /// The repository on `store`'s database.
    pub fn new(store: &'a Store) -> Self {
        Self {
            db: store.connection(),
        }
    }

    /// Merges `facts` into the payment's card facts (creating them on the first source) and returns the result.
    /// [`StoreError::UnknownPayment`] when the payment does not exist; [`StoreError::Invalid`] for an over-long
    /// value or a `card_token_id` that names no stored card.
    pub async fn merge(&self, payment_id: &str, facts: CardFacts) -> Result<CardFacts> {
        let txn = begin_write(self.db).await?;
        let merged = merge_on(&txn, payment_id, facts).await?;
        txn.commit().await?;
        Ok(merged)
    }

    /// Records a source's report for a payment whose status it did not move (a later source adding to what the
    /// moving one recorded with the move); see [`record_report_on`].
    pub async fn record(&self, payment: &payment::Model, report: CardReport) -> Result<()> {
        let txn = begin_write(self.db).await?;
        record_report_on(&txn, payment, payment.status, report).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The payment's card facts; `None` when no source reported any.
    pub async fn get(&self, payment_id: &str) -> Result<Option<CardFacts>> {
        Ok(self.get_many(&[payment_id]).await?.remove(payment_id))
    }

    /// The card facts of those of `payment_ids` that have some, by payment id: one query for a whole page of
    /// payments (none for an empty list), as the totals are read.
    pub async fn get_many(&self, payment_ids: &[&str]) -> Result<HashMap<String, CardFacts>> {
        if payment_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = payment_card_facts::Entity::find()
            .filter(payment_card_facts::Column::PaymentId.is_in(payment_ids.iter().copied()))
            .all(self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.payment_id.clone(), CardFacts::from_row(row)))
            .collect())
    }
}

/// [`PaymentCardFacts::merge`] inside the caller's write transaction.
pub(crate) async fn merge_on<C: ConnectionTrait>(
    txn: &C,
    payment_id: &str,
    facts: CardFacts,
) -> Result<CardFacts> {
    let facts = CardFacts::default().merge(facts);
    facts.check()?;
    if payment::Entity::find_by_id(payment_id.to_owned())
        .one(txn)
        .await?
        .is_none()
    {
        return Err(StoreError::UnknownPayment(payment_id.to_owned()));
    }
    if let Some(token_id) = &facts.card_token_id
        && card_token::Entity::find_by_id(token_id.clone())
            .one(txn)
            .await?
            .is_none()
    {
        return Err(StoreError::Invalid {
            field: "card_token_id",
            reason: "names no stored card".into(),
        });
    }
    let at = now();
    let inserted =
        payment_card_facts::Entity::insert(facts.clone().into_row(payment_id.into(), at))
            .on_conflict(
                OnConflict::column(payment_card_facts::Column::PaymentId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    if inserted == 1 {
        return Ok(facts);
    }
    let select = payment_card_facts::Entity::find_by_id(payment_id.to_owned());
    let existing = for_update(select, txn.get_database_backend())
        .one(txn)
        .await?
        .ok_or_else(|| StoreError::UnknownPayment(payment_id.to_owned()))?;
    let created_at = existing.created_at;
    let known = CardFacts::from_row(existing);
    let merged = known.clone().merge(facts);
    if merged != known {
        merged
            .clone()
            .into_row(payment_id.into(), created_at)
            .update(txn)
            .await?;
    }
    Ok(merged)
}
