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
    /// Alipay could not be reached (or gave no usable answer) for a call that changes nothing by itself: a consult,
    /// an inquiry, a token exchange that can simply be repeated. Nothing is pending on the gateway's side.
    #[error("Alipay is unreachable; retry after {retry_after:?}")]
    Unreachable {
        /// A hint for when asking again is useful.
        retry_after: Duration,
    },
    /// The gateway is shutting down; an event stream ends with this so its caller reconnects with its last cursor.
    #[error("the gateway is shutting down; reconnect with the last cursor")]
    Closing,
    /// An event-stream cursor older than the retention window: the events after it are gone; resynchronise.
    #[error("event cursor is older than the retention window")]
    CursorExpired,
    /// A concurrent writer changed the record first, or took over the work: retrying the request is safe.
    #[error("store: {0}")]
    ConcurrentUpdate(#[source] store::StoreError),
    /// The record's status table refused the change (it reached a state the change cannot follow).
    #[error("store: {0}")]
    IllegalTransition(#[source] store::StoreError),
    /// The gateway's database cannot be reached right now; the same request can be retried.
    #[error("the gateway's database is unavailable")]
    StoreUnavailable(#[source] store::StoreError),
    /// The store failed in a way a retry does not fix (a corrupt row, a failed migration, a token that does not
    /// decrypt): the operator's problem.
    #[error("store: {0}")]
    StoreFailure(#[source] store::StoreError),
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

/// Store errors become the engine variant that says what the caller can do about them, so the edge maps engine
/// errors only and never needs the store's vocabulary.
impl From<store::StoreError> for EngineError {
    fn from(error: store::StoreError) -> Self {
        use store::StoreError as S;
        match error {
            S::NotFound { entity, id } => Self::NotFound {
                what: entity.name(),
                id,
            },
            S::UnknownPayment(id) => Self::NotFound {
                what: "payment",
                id,
            },
            S::Invalid { field, reason } => Self::invalid(field, reason),
            S::InvalidPageToken => Self::invalid("page_token", "not a token issued for this list"),
            S::InvalidCursor => Self::invalid("cursor", "not a cursor issued by this stream"),
            S::CursorExpired => Self::CursorExpired,
            e @ (S::VersionConflict { .. }
            | S::LeaseNotHeld { .. }
            | S::DependencyChanged { .. }) => Self::ConcurrentUpdate(e),
            e @ S::IllegalTransition { .. } => Self::IllegalTransition(e),
            e @ (S::Connect(_) | S::Database(_)) => Self::StoreUnavailable(e),
            e @ (S::UnsupportedUrl
            | S::CreateDir { .. }
            | S::Migration(_)
            | S::Corrupt { .. }
            | S::Crypto(_)) => Self::StoreFailure(e),
        }
    }
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
