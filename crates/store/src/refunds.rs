//! Refunds of payments, written ahead of the Alipay call like payments are.
//!
//! The refundRequestId is Alipay's idempotency key for the operation, so it is unique here too:
//! resending after a U or a timeout reuses the same row.

use crate::db::{check_len, check_money, check_opt_len, new_id, now};
use crate::entity::payment;
use crate::entity::refund::{self, Column};
use crate::entity::state_change::EntityKind;
use crate::error::{Result, StoreError};
use crate::payments::set_some;
use crate::status::OperationStatus;
use crate::transition::{self, Inserted, OperationUpdate, Transition, Versioned};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

/// A stored refund.
pub type Refund = refund::Model;

/// What the engine knows before calling Alipay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub refund_request_id: String,
    /// The gateway's payment id (not Alipay's).
    pub payment_id: String,
    pub amount_value: i64,
    pub currency: String,
    /// Shown to the buyer by some wallets (≤256).
    pub reason: Option<String>,
    pub request_fingerprint: String,
}

impl Versioned for refund::Entity {
    type Status = OperationStatus;
    const KIND: EntityKind = EntityKind::Refund;
    const ID: Column = Column::Id;
    const STATUS: Column = Column::Status;
    const VERSION: Column = Column::Version;
    const UPDATED_AT: Column = Column::UpdatedAt;
    fn status_of(model: &Refund) -> OperationStatus {
        model.status
    }
    fn version_of(model: &Refund) -> i64 {
        model.version
    }
}

/// Refund repository; get one from [`crate::Store::refunds`].
#[derive(Debug, Clone, Copy)]
pub struct Refunds<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Refunds<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// Commits the CREATED row before Alipay is called; a repeated refund_request_id returns
    /// [`Inserted::Existing`]. Fails with [`StoreError::UnknownPayment`] if the payment does
    /// not exist.
    pub async fn insert_intent(&self, new: NewRefund) -> Result<Inserted<Refund>> {
        check_len("refund_request_id", &new.refund_request_id, 64)?;
        check_len("payment_id", &new.payment_id, 36)?;
        check_money(new.amount_value, &new.currency)?;
        check_opt_len("reason", new.reason.as_deref(), 256)?;
        check_len("request_fingerprint", &new.request_fingerprint, 128)?;
        if payment::Entity::find_by_id(new.payment_id.clone())
            .one(self.db)
            .await?
            .is_none()
        {
            return Err(StoreError::UnknownPayment(new.payment_id));
        }
        let id = new_id();
        let at = now();
        let row = refund::ActiveModel {
            id: Set(id.clone()),
            refund_request_id: Set(new.refund_request_id.clone()),
            payment_id: Set(new.payment_id),
            amount_value: Set(new.amount_value),
            currency: Set(new.currency),
            reason: Set(new.reason),
            alipay_refund_id: Set(None),
            status: Set(OperationStatus::Created),
            last_result_status: Set(None),
            last_result_code: Set(None),
            last_result_message: Set(None),
            request_fingerprint: Set(new.request_fingerprint),
            created_at: Set(at),
            updated_at: Set(at),
            version: Set(1),
        };
        transition::insert_intent::<refund::Entity>(
            self.db,
            row,
            &id,
            Column::RefundRequestId,
            &new.refund_request_id,
            OperationStatus::Created,
            at,
        )
        .await
    }

    /// Guarded status change; same rules and errors as [`crate::payments::Payments::transition`].
    pub async fn transition(
        &self,
        id: &str,
        expected_version: i64,
        transition: Transition<OperationStatus>,
        update: OperationUpdate,
    ) -> Result<Refund> {
        check_opt_len("alipay_id", update.alipay_id.as_deref(), 64)?;
        let mut changes = refund::ActiveModel {
            alipay_refund_id: set_some(update.alipay_id),
            ..Default::default()
        };
        if let Some(result) = update.result {
            changes.last_result_status = Set(Some(result.status));
            changes.last_result_code = Set(Some(result.code));
            changes.last_result_message = Set(result.message);
        }
        transition::apply::<refund::Entity>(self.db, id, expected_version, &transition, changes)
            .await
    }

    /// The refund with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Refund>> {
        transition::find::<refund::Entity, _>(self.db, Column::Id, id).await
    }

    /// The refund with this refundRequestId, if any.
    pub async fn get_by_request_id(&self, request_id: &str) -> Result<Option<Refund>> {
        transition::find::<refund::Entity, _>(self.db, Column::RefundRequestId, request_id).await
    }

    /// All refunds of a payment, oldest first.
    pub async fn list_for_payment(&self, payment_id: &str) -> Result<Vec<Refund>> {
        Ok(refund::Entity::find()
            .filter(Column::PaymentId.eq(payment_id))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(self.db)
            .await?)
    }

    /// The amount of a payment's refunds that succeeded or may still succeed (everything but
    /// FAIL), so the engine can refuse one that would exceed the payment before asking Alipay.
    pub async fn committed_amount(&self, payment_id: &str) -> Result<i64> {
        let rows = self.list_for_payment(payment_id).await?;
        Ok(rows
            .iter()
            .filter(|r| r.status != OperationStatus::Fail)
            .map(|r| r.amount_value)
            .sum())
    }
}
