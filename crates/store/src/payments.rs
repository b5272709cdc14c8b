//! Payments: the write-ahead intent, guarded status transitions and listing.
//!
//! The engine's flow is: [`Payments::insert_intent`] commits a CREATED row (with the request
//! fingerprint) *before* Alipay is called, so a crash can never lose a charge; every answer from
//! Alipay (pay response, inquiry, notification, cancel) then goes through
//! [`Payments::transition`], which refuses to move a final payment and detects lost races.

use crate::card_facts::{self, CardReport};
use crate::db::{
    begin_write, check_len, check_money, check_opt_len, new_id, now, placeholders, write_turn,
};
use crate::entity::payment::{self, Column};
use crate::entity::state_change::EntityKind;
use crate::entity::wallet_binding;
use crate::error::Result;
use crate::inserted::Inserted;
use crate::jobs::{JobKind, NewJob};
use crate::next_action::NextAction;
use crate::page::{self, Page, PageRequest};
use crate::status::{Lifecycle, OperationStatus, PaymentStatus};
use crate::transition::{self, Answered, ResultInfo, Transition, Versioned};
use crate::vocabulary::{CaptureMode, ProductCode, Wallet};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Statement, Value,
};
use std::collections::{BTreeMap, HashMap};

/// A stored payment.
pub type Payment = payment::Model;

/// What the engine knows before calling Alipay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    /// Alipay's idempotency key (1..=64).
    pub payment_request_id: String,
    /// `AGREEMENT_PAYMENT`, `IN_STORE_PAYMENT` or `CASHIER_PAYMENT` (Alipay's `productCode`).
    pub product_code: ProductCode,
    /// Minor units, > 0.
    pub amount_value: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
    /// The merchant's order id (`order.referenceOrderId`).
    pub order_reference_id: Option<String>,
    /// Shown to the buyer (`order.orderDescription`).
    pub order_description: Option<String>,
    /// Alipay's `paymentMethod.paymentMethodType`: the wallet, e.g. `GCASH`.
    pub payment_method_type: Wallet,
    /// The binding charged by an agreement payment.
    pub binding_id: Option<String>,
    /// The version of the binding the caller checked and charges with: when set (with `binding_id`), the intent is
    /// written only if the binding still stands at it, so a binding refreshed or revoked meanwhile (here or on
    /// another replica) is never charged with what the caller knew of it ([`crate::StoreError::DependencyChanged`]).
    pub binding_version: Option<i64>,
    /// The caller's customer, for listing and for matching the binding's.
    pub customer_id: Option<String>,
    /// Hash of the canonical request: a retry with the same request id must carry the same one.
    pub request_fingerprint: String,
    /// Card authorisation (capture later) rather than a sale.
    pub is_authorization: bool,
    /// How the authorization is captured.
    pub capture_mode: Option<CaptureMode>,
    /// Caller metadata kept with the payment (never sent to Alipay); empty means none.
    pub metadata: BTreeMap<String, String>,
    /// `merchantRegion` the payment was made for.
    pub merchant_region: Option<String>,
    /// `paymentExpiryTime` the caller asked for; `None` leaves Alipay's default.
    pub payment_expiry_time: Option<DateTime<Utc>>,
}

/// Money moved after a payment, in minor units of its currency: the sums of its SUCCESS refunds and captures
/// (pending ones are not money moved yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaymentTotals {
    /// Sum of SUCCESS refunds.
    pub refunded: i64,
    /// Sum of SUCCESS captures.
    pub captured: i64,
}

/// Columns to write alongside a transition. `None` leaves a column unchanged. The next action
/// is cleared automatically when the payment reaches a final status (there is nothing left for
/// the buyer to do).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaymentUpdate {
    /// Alipay's `paymentId`, needed to cancel, refund and capture.
    pub alipay_payment_id: Option<String>,
    /// Alipay's last result envelope.
    pub result: Option<ResultInfo>,
    /// Redirect/challenge data from a PAYMENT_IN_PROCESS answer.
    pub next_action: Option<NextAction>,
    /// Alipay's `paymentTime`: when the payment succeeded.
    pub payment_time: Option<DateTime<Utc>>,
    /// Alipay's `paymentCreateTime`.
    pub payment_create_time: Option<DateTime<Utc>>,
    /// Alipay's `authExpiryTime`: the last moment a MANUAL authorization can be captured.
    pub auth_expiry_time: Option<DateTime<Utc>>,
    /// Alipay's `cancelTime`.
    pub cancel_time: Option<DateTime<Utc>>,
    /// What the same answer said about a card payment's card, recorded in the move's transaction. Boxed: the
    /// update travels through every payment move's future, and most payments are not card payments.
    pub card: Option<Box<CardReport>>,
}

/// Filters for [`Payments::list`]; every set field must match. The time range is on creation
/// time, `created_from` inclusive and `created_to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    /// The payment's status must be one of these; empty matches any status.
    pub statuses: Vec<PaymentStatus>,
    /// Only payments of this product code.
    pub product_code: Option<ProductCode>,
    /// Only this customer's payments.
    pub customer_id: Option<String>,
    /// Only payments charged to this binding.
    pub binding_id: Option<String>,
    /// Created at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before this time.
    pub created_to: Option<DateTime<Utc>>,
}

impl Versioned for payment::Entity {
    type Status = PaymentStatus;
    const KIND: EntityKind = EntityKind::Payment;
    const ID: Column = Column::Id;
    const STATUS: Column = Column::Status;
    const VERSION: Column = Column::Version;
    const UPDATED_AT: Column = Column::UpdatedAt;
    fn id_of(model: &Payment) -> &str {
        &model.id
    }
    fn status_of(model: &Payment) -> PaymentStatus {
        model.status
    }
    fn version_of(model: &Payment) -> i64 {
        model.version
    }
}

impl Answered for payment::Entity {
    const ALIPAY_ID: Column = Column::AlipayPaymentId;
    const LAST_RESULT_STATUS: Column = Column::LastResultStatus;
    const LAST_RESULT_CODE: Column = Column::LastResultCode;
    const LAST_RESULT_MESSAGE: Column = Column::LastResultMessage;
}

/// Payment repository; get one from [`crate::Store::payments`].
#[derive(Debug, Clone, Copy)]
pub struct Payments<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Payments<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// Commits the CREATED row before Alipay is called, together with its INQUIRE_PAYMENT job
    /// due at `inquire_at` (one transaction: a crash can never leave the row without the job
    /// that resolves it). A second call with the same `payment_request_id` never creates a
    /// second row: it returns [`Inserted::Existing`] with the stored row, whose fingerprint the
    /// caller compares.
    pub async fn insert_intent(
        &self,
        new: NewPayment,
        inquire_at: DateTime<Utc>,
    ) -> Result<Inserted<Payment>> {
        check_len("payment_request_id", &new.payment_request_id, 64)?;
        check_money(new.amount_value, &new.currency)?;
        check_opt_len("order_reference_id", new.order_reference_id.as_deref(), 64)?;
        check_opt_len("order_description", new.order_description.as_deref(), 256)?;
        check_opt_len("binding_id", new.binding_id.as_deref(), 36)?;
        check_opt_len("customer_id", new.customer_id.as_deref(), 64)?;
        check_len("request_fingerprint", &new.request_fingerprint, 128)?;
        check_opt_len("merchant_region", new.merchant_region.as_deref(), 16)?;
        let metadata = (!new.metadata.is_empty()).then(|| {
            serde_json::Value::Object(
                new.metadata
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            )
        });
        let id = new_id();
        let at = now();
        let still_at = match (&new.binding_id, new.binding_version) {
            (Some(binding_id), Some(version)) => Some(transition::StillAt::of::<
                wallet_binding::Entity,
            >(binding_id, version)),
            _ => None,
        };
        let row = payment::ActiveModel {
            id: Set(id.clone()),
            payment_request_id: Set(new.payment_request_id.clone()),
            product_code: Set(new.product_code),
            amount_value: Set(new.amount_value),
            currency: Set(new.currency),
            order_reference_id: Set(new.order_reference_id),
            order_description: Set(new.order_description),
            payment_method_type: Set(new.payment_method_type),
            binding_id: Set(new.binding_id.clone()),
            customer_id: Set(new.customer_id),
            alipay_payment_id: Set(None),
            status: Set(PaymentStatus::Created),
            last_result_status: Set(None),
            last_result_code: Set(None),
            last_result_message: Set(None),
            next_action: Set(None),
            payment_time: Set(None),
            request_fingerprint: Set(new.request_fingerprint),
            is_authorization: Set(new.is_authorization),
            capture_mode: Set(new.capture_mode),
            card_token: Set(None),
            card_brand: Set(None),
            card_last_four: Set(None),
            card_masked_no: Set(None),
            card_issuing_country: Set(None),
            card_funding: Set(None),
            three_ds_result: Set(None),
            avs_result_raw: Set(None),
            cvv_result_raw: Set(None),
            network_transaction_id: Set(None),
            auth_expiry_time: Set(None),
            metadata: Set(metadata),
            merchant_region: Set(new.merchant_region),
            payment_expiry_time: Set(new.payment_expiry_time),
            payment_create_time: Set(None),
            cancel_time: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            version: Set(1),
        };
        transition::insert_intent::<payment::Entity>(
            self.db,
            row,
            &id,
            Column::PaymentRequestId,
            &new.payment_request_id,
            PaymentStatus::Created,
            at,
            Some(&NewJob::new(JobKind::InquirePayment, &id, inquire_at)),
            still_at,
        )
        .await
    }

    /// Moves the payment to `transition.to` and writes `update`, if and only if the move is
    /// allowed from the current status and the row is still at `expected_version`. Errors:
    /// [`crate::StoreError::IllegalTransition`], [`crate::StoreError::VersionConflict`],
    /// [`crate::StoreError::NotFound`]. Reads the row first: a caller holding it calls
    /// [`Self::transition_from`].
    pub async fn transition(
        &self,
        id: &str,
        expected_version: i64,
        transition: Transition<PaymentStatus>,
        update: PaymentUpdate,
    ) -> Result<Payment> {
        let current =
            transition::read_at::<payment::Entity, _>(self.db, id, expected_version, &transition)
                .await?;
        self.transition_from(&current, transition, update).await
    }

    /// [`Self::transition`] of `before`, the payment as the caller read it, without reading it again: the move
    /// is written only if the row still stands at `before`'s version and status, and the row written (and its
    /// event) is `before` with `update` applied. Without card facts to record it is one statement on PostgreSQL
    /// and one call in a write transaction on SQLite.
    pub async fn transition_from(
        &self,
        before: &Payment,
        transition: Transition<PaymentStatus>,
        mut update: PaymentUpdate,
    ) -> Result<Payment> {
        let card = update.card.take();
        let changes = changes(transition.to, update)?;
        let Some(report) = card else {
            return transition::apply::<payment::Entity>(self.db, before, &transition, changes)
                .await;
        };
        let _turn = write_turn(self.db).await;
        let txn = begin_write(self.db).await?;
        card_facts::record_report_on(&txn, before, transition.to, *report).await?;
        transition::apply_and_commit::<payment::Entity>(txn, before, &transition, changes).await
    }

    /// The payment with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Payment>> {
        transition::find::<payment::Entity, _>(self.db, Column::Id, id).await
    }

    /// The payment with this paymentRequestId, if any.
    pub async fn get_by_request_id(&self, payment_request_id: &str) -> Result<Option<Payment>> {
        transition::find::<payment::Entity, _>(
            self.db,
            Column::PaymentRequestId,
            payment_request_id,
        )
        .await
    }

    /// Payments matching `filter`, newest first, one page at a time.
    pub async fn list(&self, filter: &PaymentFilter, page: &PageRequest) -> Result<Page<Payment>> {
        let mut select = payment::Entity::find();
        if !filter.statuses.is_empty() {
            select = select.filter(Column::Status.is_in(filter.statuses.iter().copied()));
        }
        if let Some(product) = &filter.product_code {
            select = select.filter(Column::ProductCode.eq(*product));
        }
        if let Some(customer) = &filter.customer_id {
            select = select.filter(Column::CustomerId.eq(customer.as_str()));
        }
        if let Some(binding) = &filter.binding_id {
            select = select.filter(Column::BindingId.eq(binding.as_str()));
        }
        if let Some(from) = filter.created_from {
            select = select.filter(Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.created_to {
            select = select.filter(Column::CreatedAt.lt(to));
        }
        let scope = page::scope(filter);
        let (select, size) = page::apply(select, page, scope, Column::CreatedAt, Column::Id)?;
        let rows = select.all(self.db).await?;
        Ok(page::finish(rows, size, scope, |p| {
            (p.created_at, p.id.clone())
        }))
    }

    /// What has been refunded and captured of each payment in `ids` (gateway ids, not request ids): the sums of
    /// their SUCCESS refunds and captures, in one grouped query whatever the number of payments. A payment with
    /// neither is absent from the map (its totals are zero).
    pub async fn totals(&self, ids: &[&str]) -> Result<HashMap<String, PaymentTotals>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let backend = self.db.get_database_backend();
        let list = (1..=ids.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let success = OperationStatus::Success.as_str();
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back so both backends answer a 64-bit integer.
        let grouped = |table: &str, kind: &str| {
            format!(
                "SELECT payment_id, '{kind}' AS kind, CAST(SUM(amount_value) AS BIGINT) AS total FROM {table} \
                 WHERE status = '{success}' AND payment_id IN ({list}) GROUP BY payment_id"
            )
        };
        let sql = format!(
            "{} UNION ALL {}",
            grouped("refunds", "refund"),
            grouped("captures", "capture")
        );
        let values: Vec<Value> = ids.iter().map(|id| (*id).into()).collect();
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                placeholders(backend, &sql),
                values,
            ))
            .await?;
        let mut totals = HashMap::<String, PaymentTotals>::new();
        for row in rows {
            let id: String = row.try_get("", "payment_id")?;
            let kind: String = row.try_get("", "kind")?;
            let total: i64 = row.try_get("", "total")?;
            let entry = totals.entry(id).or_default();
            if kind == "refund" {
                entry.refunded = total;
            } else {
                entry.captured = total;
            }
        }
        Ok(totals)
    }

    /// Payments not yet final whose last update is older than `older_than`, oldest first: the
    /// reconciler's safety net for a payment whose follow-up job is gone.
    pub async fn list_stale_unfinished(
        &self,
        older_than: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Payment>> {
        transition::stale_unfinished::<payment::Entity>(self.db, older_than, limit).await
    }
}

/// The columns a payment transition to `to` writes from `update` (shared by RPC-driven transitions and those
/// applied inside a notification's transaction).
pub(crate) fn changes(to: PaymentStatus, update: PaymentUpdate) -> Result<payment::ActiveModel> {
    check_opt_len("alipay_payment_id", update.alipay_payment_id.as_deref(), 64)?;
    let mut changes =
        transition::answer_changes::<payment::Entity>(update.alipay_payment_id, update.result)?;
    changes.payment_time = set_some(update.payment_time);
    changes.payment_create_time = set_some(update.payment_create_time);
    changes.auth_expiry_time = set_some(update.auth_expiry_time);
    changes.cancel_time = set_some(update.cancel_time);
    if to.is_final() {
        changes.next_action = Set(None);
    } else if let Some(action) = update.next_action {
        changes.next_action = Set(Some(action));
    }
    Ok(changes)
}

/// `Some(v)` becomes a write of `v`; `None` leaves the column alone.
fn set_some<T>(value: Option<T>) -> sea_orm::ActiveValue<Option<T>>
where
    T: Into<sea_orm::Value>,
    Option<T>: Into<sea_orm::Value>,
{
    match value {
        Some(v) => Set(Some(v)),
        None => NotSet,
    }
}
