//! Refunds of payments, written ahead of the Alipay call like payments are.
//!
//! The refundRequestId is Alipay's idempotency key for the operation, so it is unique here too:
//! resending after a U or a timeout reuses the same row. The rules are shared with captures in
//! the crate's `operations` module; this module adds the refund's own `reason`.

use crate::db::check_opt_len;
use crate::entity::refund;
use crate::error::Result;
use crate::operations::{self, Intent};
use crate::status::OperationStatus;
use crate::transition::{Inserted, OperationUpdate, Transition};
use sea_orm::ActiveValue::Set;
use sea_orm::DatabaseConnection;

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
    /// [`Inserted::Existing`]. Fails with [`crate::StoreError::UnknownPayment`] if the payment
    /// does not exist.
    pub async fn insert_intent(&self, new: NewRefund) -> Result<Inserted<Refund>> {
        let NewRefund {
            refund_request_id,
            payment_id,
            amount_value,
            currency,
            reason,
            request_fingerprint,
        } = new;
        let intent = Intent {
            request_id: refund_request_id,
            payment_id,
            amount_value,
            currency,
            request_fingerprint,
        };
        operations::insert_intent::<refund::Entity>(self.db, intent, || {
            check_opt_len("reason", reason.as_deref(), 256)?;
            Ok(refund::ActiveModel {
                reason: Set(reason),
                ..Default::default()
            })
        })
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
        operations::transition::<refund::Entity>(self.db, id, expected_version, transition, update)
            .await
    }

    /// The refund with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Refund>> {
        operations::get::<refund::Entity>(self.db, id).await
    }

    /// The refund with this refundRequestId, if any.
    pub async fn get_by_request_id(&self, request_id: &str) -> Result<Option<Refund>> {
        operations::get_by_request_id::<refund::Entity>(self.db, request_id).await
    }

    /// All refunds of a payment, oldest first.
    pub async fn list_for_payment(&self, payment_id: &str) -> Result<Vec<Refund>> {
        operations::list_for_payment::<refund::Entity>(self.db, payment_id).await
    }

    /// The amount of a payment's refunds that succeeded or may still succeed (everything but
    /// FAIL), so the engine can refuse one that would exceed the payment before asking Alipay.
    pub async fn committed_amount(&self, payment_id: &str) -> Result<i64> {
        operations::committed_amount::<refund::Entity>(self.db, payment_id).await
    }
}
