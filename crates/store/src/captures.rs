//! Captures of payments, written ahead of the Alipay call like payments are.
//!
//! The captureRequestId is Alipay's idempotency key for the operation, so it is unique here too:
//! resending after a U or a timeout reuses the same row. The rules are shared with refunds in
//! the crate's `operations` module; this module adds the capture's own `is_last_capture`.

use crate::entity::capture;
use crate::error::Result;
use crate::operations::{self, Intent};
use crate::status::OperationStatus;
use crate::transition::{Inserted, OperationUpdate, Transition};
use sea_orm::ActiveValue::Set;
use sea_orm::DatabaseConnection;

/// A stored capture.
pub type Capture = capture::Model;

/// What the engine knows before calling Alipay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCapture {
    pub capture_request_id: String,
    /// The gateway's payment id (not Alipay's).
    pub payment_id: String,
    pub amount_value: i64,
    pub currency: String,
    /// Tells Alipay no further capture follows, releasing the rest of the authorisation.
    pub is_last_capture: bool,
    pub request_fingerprint: String,
}

/// Capture repository; get one from [`crate::Store::captures`].
#[derive(Debug, Clone, Copy)]
pub struct Captures<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Captures<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// Commits the CREATED row before Alipay is called; a repeated capture_request_id returns
    /// [`Inserted::Existing`]. Fails with [`crate::StoreError::UnknownPayment`] if the payment
    /// does not exist.
    pub async fn insert_intent(&self, new: NewCapture) -> Result<Inserted<Capture>> {
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
        operations::insert_intent::<capture::Entity>(self.db, intent, || {
            Ok(capture::ActiveModel {
                is_last_capture: Set(is_last_capture),
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
    ) -> Result<Capture> {
        operations::transition::<capture::Entity>(self.db, id, expected_version, transition, update)
            .await
    }

    /// The capture with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Capture>> {
        operations::get::<capture::Entity>(self.db, id).await
    }

    /// The capture with this captureRequestId, if any.
    pub async fn get_by_request_id(&self, request_id: &str) -> Result<Option<Capture>> {
        operations::get_by_request_id::<capture::Entity>(self.db, request_id).await
    }

    /// All captures of a payment, oldest first.
    pub async fn list_for_payment(&self, payment_id: &str) -> Result<Vec<Capture>> {
        operations::list_for_payment::<capture::Entity>(self.db, payment_id).await
    }

    /// The amount of a payment's captures that succeeded or may still succeed (everything but
    /// FAIL), so the engine can refuse one that would exceed the payment before asking Alipay.
    pub async fn committed_amount(&self, payment_id: &str) -> Result<i64> {
        operations::committed_amount::<capture::Entity>(self.db, payment_id).await
    }
}
