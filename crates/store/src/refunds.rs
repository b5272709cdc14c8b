//! Refunds of payments, written ahead of the Alipay call like payments are.
//!
//! The refundRequestId is Alipay's idempotency key for the operation, so it is unique here too:
//! resending after a U or a timeout reuses the same row. The rules are shared with captures in
//! the crate's `operations` module; this module adds the refund's own `reason`.

use crate::db::check_opt_len;
use crate::entity::refund;
use crate::error::Result;
use crate::inserted::Inserted;
use crate::operations::{self, Intent};
use sea_orm::ActiveValue::Set;

/// A stored refund.
pub type Refund = refund::Model;

/// What the engine knows before calling Alipay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// Alipay's idempotency key of the refund (`refundRequestId`).
    pub refund_request_id: String,
    /// The gateway's payment id (not Alipay's).
    pub payment_id: String,
    /// Minor units to refund, > 0 and within what the payment has left.
    pub amount_value: i64,
    /// ISO 4217; must be the payment's currency.
    pub currency: String,
    /// Shown to the buyer by some wallets (≤256).
    pub reason: Option<String>,
    /// Hash of the canonical request: a retry with the same request id must carry the same one.
    pub request_fingerprint: String,
}

operations::repository!(
    /// Refund repository; get one from [`crate::Store::refunds`].
    Refunds,
    refund,
    Refund
);

impl Refunds<'_> {
    /// Commits the CREATED row before Alipay is called, with its INQUIRE_REFUND job due at
    /// `inquire_at` in the same transaction (no row without the job that finishes it); a
    /// repeated refund_request_id returns [`Inserted::Existing`]. Fails with [`crate::StoreError::UnknownPayment`] if the payment
    /// does not exist.
    pub async fn insert_intent(
        &self,
        new: NewRefund,
        inquire_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Inserted<Refund>> {
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
        operations::insert_intent::<refund::Entity>(self.db, intent, inquire_at, || {
            check_opt_len("reason", reason.as_deref(), 256)?;
            Ok(refund::ActiveModel {
                reason: Set(reason),
                ..Default::default()
            })
        })
        .await
    }
}
