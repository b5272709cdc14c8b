//! `alipay_calls`: a record of every outbound Alipay call, for support and audits.

use crate::vocabulary::ResultStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Stored row. The JSON columns hold the already-masked text the Alipay client produced.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "alipay_calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub endpoint: String,
    pub request_id: Option<String>,
    pub result_status: Option<ResultStatus>,
    pub result_code: Option<String>,
    pub result_message: Option<String>,
    pub http_status: Option<i32>,
    pub latency_ms: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub request_json: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response_json: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
