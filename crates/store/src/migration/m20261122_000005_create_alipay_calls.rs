use super::cols::{id_pk, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AlipayCalls {
    Table,
    Id,
    Endpoint,
    RequestId,
    ResultStatus,
    ResultCode,
    ResultMessage,
    HttpStatus,
    LatencyMs,
    RequestJson,
    ResponseJson,
    Error,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AlipayCalls::Table)
                    .if_not_exists()
                    .col(id_pk(AlipayCalls::Id))
                    .col(text(AlipayCalls::Endpoint, 64).not_null())
                    .col(text(AlipayCalls::RequestId, 64).null())
                    .col(text(AlipayCalls::ResultStatus, 1).null())
                    .col(text(AlipayCalls::ResultCode, 64).null())
                    .col(ColumnDef::new(AlipayCalls::ResultMessage).text().null())
                    .col(ColumnDef::new(AlipayCalls::HttpStatus).integer().null())
                    .col(
                        ColumnDef::new(AlipayCalls::LatencyMs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AlipayCalls::RequestJson).text().null())
                    .col(ColumnDef::new(AlipayCalls::ResponseJson).text().null())
                    .col(ColumnDef::new(AlipayCalls::Error).text().null())
                    .col(ts(AlipayCalls::CreatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        // Support looks calls up by the request id they carried.
        manager
            .create_index(
                Index::create()
                    .name("idx_alipay_calls_request")
                    .table(AlipayCalls::Table)
                    .col(AlipayCalls::RequestId)
                    .col(AlipayCalls::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AlipayCalls::Table).to_owned())
            .await
    }
}
