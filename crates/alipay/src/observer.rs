//! The hook through which every outbound call is reported (the store persists these as the audit trail).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::outcome::{Endpoint, Outcome};

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// A verified (or acceptably unsigned) answer, classified for the endpoint.
    Answered(Outcome),
    /// No usable answer.
    Error {
        /// [`crate::CallError::kind`].
        kind: &'static str,
        /// The error's message (never contains secrets).
        message: String,
        /// [`crate::CallError::outcome_unknown`].
        outcome_unknown: bool,
    },
}

/// One outbound call, with secrets masked.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// paymentRequestId / refundRequestId / captureRequestId / authState, when the request has one.
    pub request_id: Option<String>,
    /// When the call started.
    pub started_at: DateTime<Utc>,
    /// The `request-time` header sent.
    pub request_time: String,
    /// How it ended.
    pub outcome: CallOutcome,
    /// HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// Wall-clock duration.
    pub latency: Duration,
    /// Masked request JSON.
    pub request: Value,
    /// Masked response JSON, when a response body arrived.
    pub response: Option<Value>,
}

/// Receives a record of every call. Called synchronously on the calling task, so implementations should only
/// hand the record off (e.g. to a channel) rather than do I/O.
pub trait CallObserver: Send + Sync {
    /// Called once per call, after it ends.
    fn on_call(&self, record: &CallRecord);
}
