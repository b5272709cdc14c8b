//! The record of every outbound Alipay call.
//!
//! When a payment's outcome is disputed, support needs to see exactly what was sent and what
//! came back. The Alipay client masks tokens, auth codes and card data before handing the JSON
//! over; it is stored as given.

use crate::db::{check_len, new_id, now, write_turn};
use crate::entity::alipay_call::{self, Column};
use crate::error::Result;
use crate::vocabulary::ResultStatus;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QueryTrait,
    Statement,
};

/// A stored call.
pub type AlipayCall = alipay_call::Model;

/// One outbound call as the client observed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCall {
    /// e.g. `pay`, `inquiryPayment`.
    pub endpoint: String,
    /// paymentRequestId / refundRequestId / ... when the endpoint has one.
    pub request_id: Option<String>,
    /// Alipay's `result.resultStatus` (`S`, `F`, `U`); `None` when no answer was read.
    pub result_status: Option<ResultStatus>,
    /// Alipay's `result.resultCode`, for support and the per-code metrics.
    pub result_code: Option<String>,
    /// Alipay's `result.resultMessage`.
    pub result_message: Option<String>,
    /// HTTP status of the answer; `None` when the call failed before one arrived.
    pub http_status: Option<i32>,
    /// Wall time of the call as the client measured it.
    pub latency_ms: i64,
    /// Masked request body.
    pub request_json: Option<String>,
    /// Masked response body.
    pub response_json: Option<String>,
    /// Transport or verification error, if the call did not produce a usable answer.
    pub error: Option<String>,
}

/// The insert of `call`, for a transaction that records the calls which brought its answer (see
/// [`crate::Transition::with_call_records`]).
pub(crate) fn insert(backend: DbBackend, call: &NewCall) -> Result<Statement> {
    check_len("endpoint", &call.endpoint, 64)?;
    Ok(backend.build(&alipay_call::Entity::insert(row(call.clone(), now())).into_query()))
}

fn row(call: NewCall, at: DateTime<Utc>) -> alipay_call::ActiveModel {
    alipay_call::ActiveModel {
        id: Set(new_id()),
        endpoint: Set(call.endpoint),
        request_id: Set(call.request_id),
        result_status: Set(call.result_status),
        result_code: Set(call.result_code),
        result_message: Set(call.result_message),
        http_status: Set(call.http_status),
        latency_ms: Set(call.latency_ms),
        request_json: Set(call.request_json),
        response_json: Set(call.response_json),
        error: Set(call.error),
        created_at: Set(at),
    }
}

/// Call log repository; get one from [`crate::Store::calls`].
#[derive(Debug, Clone, Copy)]
pub struct Calls<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Calls<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// Appends call records, all in one statement (the recorder writes what queued up meanwhile as one batch, so
    /// under load the call log costs one commit per batch rather than one per call). Nothing is written if any
    /// record is invalid.
    pub async fn record_calls(&self, calls: &[NewCall]) -> Result<()> {
        for call in calls {
            check_len("endpoint", &call.endpoint, 64)?;
        }
        if calls.is_empty() {
            return Ok(());
        }
        let at = now();
        let rows = calls.iter().cloned().map(|call| row(call, at));
        let _turn = write_turn(self.db).await;
        alipay_call::Entity::insert_many(rows)
            .exec_without_returning(self.db)
            .await?;
        Ok(())
    }

    /// Every call that carried `request_id`, oldest first.
    pub async fn list_for_request(&self, request_id: &str) -> Result<Vec<AlipayCall>> {
        Ok(alipay_call::Entity::find()
            .filter(Column::RequestId.eq(request_id))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(self.db)
            .await?)
    }
}
