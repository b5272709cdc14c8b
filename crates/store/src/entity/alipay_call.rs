//! `alipay_calls`: a record of every outbound Alipay call, for support and audits.

use crate::vocabulary::ResultStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Stored row. The JSON columns hold the already-masked text the Alipay client produced.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "alipay_calls")]
pub struct Model {
    /// The gateway's own id of the row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The Alipay API called, e.g. `pay`, `inquiryPayment`.
    pub endpoint: String,
    /// The request id the call carried (paymentRequestId, refundRequestId, ...), when it has one.
    pub request_id: Option<String>,
    /// `resultStatus` of the answer; `None` when no answer was read.
    pub result_status: Option<ResultStatus>,
    /// `resultCode` of the answer.
    pub result_code: Option<String>,
    /// `resultMessage` of the answer.
    pub result_message: Option<String>,
    /// HTTP status of the answer; `None` when the call failed before one arrived.
    pub http_status: Option<i32>,
    /// Wall time of the call as the client measured it.
    pub latency_ms: i64,
    /// The request body, masked.
    #[sea_orm(column_type = "Text", nullable)]
    pub request_json: Option<String>,
    /// The answer body, masked.
    #[sea_orm(column_type = "Text", nullable)]
    pub response_json: Option<String>,
    /// Why the call failed without a usable answer (transport, signature, decoding).
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// When the call was made.
    pub created_at: DateTimeUtc,
}

/// sea-orm's relation list; this table has none.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
