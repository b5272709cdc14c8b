//! Captures of payments, written ahead of the Alipay call like payments are.
//!
//! The captureRequestId is Alipay's idempotency key for the operation, so it is unique here too:
//! resending after a U or a timeout reuses the same row. The rules are shared with refunds in
//! the crate's `operations` module; this module adds the capture's own `is_last_capture`.

use crate::entity::capture;
use crate::error::Result;
use crate::inserted::Inserted;
use crate::operations::{self, Intent};
use sea_orm::ActiveValue::Set;

/// A stored capture.
pub type Capture = capture::Model;

/// What the engine knows before calling Alipay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCapture {
    /// Alipay's idempotency key of the capture (`captureRequestId`).
    pub capture_request_id: String,
    /// The gateway's payment id (not Alipay's).
    pub payment_id: String,
    /// Minor units to capture, > 0 and within what the authorization has left.
    pub amount_value: i64,
    /// ISO 4217; must be the payment's currency.
    pub currency: String,
    /// Tells Alipay no further capture follows, releasing the rest of the authorisation.
    pub is_last_capture: bool,
    /// Hash of the canonical request: a retry with the same request id must carry the same one.
    pub request_fingerprint: String,
}

operations::repository!(
    /// Capture repository; get one from [`crate::Store::captures`].
    Captures,
    capture,
    Capture
);

impl Captures<'_> {
    /// Commits the CREATED row before Alipay is called, with its INQUIRE_CAPTURE job due at
    /// `inquire_at` in the same transaction (no row without the job that finishes it); a
    /// repeated capture_request_id returns [`Inserted::Existing`]. Fails with [`crate::StoreError::UnknownPayment`] if the payment
    /// does not exist.
    pub async fn insert_intent(
        &self,
        new: NewCapture,
        inquire_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Inserted<Capture>> {
        let NewCapture {
            capture_request_id,
            payment_id,
            amount_value,
            currency,
            is_last_capture,
            request_fingerprint,
        } = new;
        let intent = Intent {
            request_id: capture_request_id,
            payment_id,
            amount_value,
            currency,
            request_fingerprint,
        };
        operations::insert_intent::<capture::Entity>(self.db, intent, inquire_at, || {
            Ok(capture::ActiveModel {
                is_last_capture: Set(is_last_capture),
                ..Default::default()
            })
        })
        .await
    }
}
