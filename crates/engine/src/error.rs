//! The engine's typed errors. The gRPC layer maps every variant to a status in one exhaustive function, so each
//! variant names a distinct caller-visible situation rather than an internal cause.

use std::time::Duration;

/// One invalid request field, reported back to the caller (google.rpc.BadRequest style).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Dotted field path as the caller spelled it, e.g. `order.order_description`.
    pub field: String,
    /// Why it is invalid; never echoes secrets (tokens, payment codes).
    pub description: String,
}

/// Everything that can go wrong in an engine operation.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The command broke a documented limit; nothing was sent to Alipay.
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The referenced payment, refund, capture or binding does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// Kind of object (`payment`, `refund`, `binding`, ...).
        what: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// The idempotency key was used before with different content (Alipay's REPEAT_REQ_INCONSISTENT).
    #[error("request id {request_id} was already used with different content")]
    RequestMismatch {
        /// The reused idempotency key.
        request_id: String,
    },
    /// Alipay answered F: a final business failure. The record (if any) stores the same code.
    #[error("declined by Alipay: {code}: {message}")]
    Declined {
        /// Alipay `resultCode` (e.g. `USER_BALANCE_NOT_ENOUGH`).
        code: String,
        /// Alipay `resultMessage`.
        message: String,
    },
    /// The wallet binding is revoked or expired; detected before Alipay was called.
    #[error("wallet binding is {status}")]
    BindingInactive {
        /// The binding's status (`REVOKED`, `EXPIRED`).
        status: String,
    },
    /// The operation is not allowed in the object's current state (e.g. refunding an unpaid payment). Nothing was
    /// sent to Alipay.
    #[error("illegal state ({reason}): {message}")]
    IllegalState {
        /// Machine-readable gateway code, one of [`crate::reasons`]: callers branch on it, never on `message`.
        reason: &'static str,
        /// What is wrong, for the caller.
        message: String,
    },
    /// Alipay's outcome is unknown after the bounded retries. The object is PROCESSING and the reconciler owns it;
    /// the caller should read it again after `retry_after`.
    #[error("outcome not yet known; retry after {retry_after:?}")]
    Unavailable {
        /// A hint for when asking again is useful.
        retry_after: Duration,
    },
    /// The gateway is shutting down; an event stream ends with this so its caller reconnects with its last cursor.
    #[error("the gateway is shutting down; reconnect with the last cursor")]
    Closing,
    /// Persistence failed.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// A configuration-class failure of the Alipay client (bad key, unbuildable request, Alipay-side client error).
    #[error("alipay: {0}")]
    Alipay(#[from] alipay::CallError),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl EngineError {
    /// An [`EngineError::IllegalState`] with one of the [`crate::reasons`] codes.
    pub fn illegal_state(reason: &'static str, message: impl Into<String>) -> Self {
        Self::IllegalState {
            reason,
            message: message.into(),
        }
    }

    /// A single-field [`EngineError::InvalidArgument`].
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}
