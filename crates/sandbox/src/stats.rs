//! Call and charge counters. Tests of the gateway assert on them ("retried three times, charged once"),
//! so they count what the sandbox actually saw and did, not what a client believes it sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A snapshot of the counters, also served as JSON at `GET /sandbox/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Calls per endpoint, named like `payments/pay` whatever prefix was used. Every request to a known
    /// endpoint counts, including rejected ones.
    pub calls: BTreeMap<String, u64>,
    /// Calls per endpoint per request id (`paymentRequestId`, `refundRequestId`, `captureRequestId`; for
    /// inquiries and cancel the `paymentId` or else `paymentRequestId`; for inquiryRefund the `refundId` or
    /// else `refundRequestId`; for consult the `authState`).
    pub calls_by_request_id: BTreeMap<String, BTreeMap<String, u64>>,
    /// Payment records created per `paymentRequestId` (whatever their outcome). Must never exceed 1.
    pub charges: BTreeMap<String, u64>,
    /// The W3C `traceparent` headers received per endpoint, in order (the gateway propagates its trace context to
    /// Alipay; tests check which trace a call belonged to).
    #[serde(default)]
    pub trace_parents: BTreeMap<String, Vec<String>>,
}

impl Stats {
    /// Calls seen for an endpoint such as `payments/pay`.
    pub fn endpoint_calls(&self, endpoint: &str) -> u64 {
        self.calls.get(endpoint).copied().unwrap_or(0)
    }

    /// Calls seen for an endpoint with a given request id.
    pub fn request_calls(&self, endpoint: &str, request_id: &str) -> u64 {
        self.calls_by_request_id
            .get(endpoint)
            .and_then(|ids| ids.get(request_id))
            .copied()
            .unwrap_or(0)
    }

    /// Payments created for a `paymentRequestId`.
    pub fn charges_for(&self, payment_request_id: &str) -> u64 {
        self.charges.get(payment_request_id).copied().unwrap_or(0)
    }

    /// The `traceparent` headers received for an endpoint such as `payments/pay`.
    pub fn trace_parents(&self, endpoint: &str) -> &[String] {
        self.trace_parents.get(endpoint).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn record_call(
        &mut self,
        endpoint: &str,
        request_id: Option<&str>,
        trace_parent: Option<&str>,
    ) {
        *self.calls.entry(endpoint.to_owned()).or_default() += 1;
        if let Some(trace_parent) = trace_parent {
            self.trace_parents
                .entry(endpoint.to_owned())
                .or_default()
                .push(trace_parent.to_owned());
        }
        if let Some(id) = request_id {
            *self
                .calls_by_request_id
                .entry(endpoint.to_owned())
                .or_default()
                .entry(id.to_owned())
                .or_default() += 1;
        }
    }

    pub(crate) fn record_charge(&mut self, payment_request_id: &str) {
        *self
            .charges
            .entry(payment_request_id.to_owned())
            .or_default() += 1;
    }
}
