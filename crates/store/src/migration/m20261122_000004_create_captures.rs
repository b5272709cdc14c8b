use super::cols::{id_pk, id_ref, status, text, ts};
use super::m20261122_000002_create_payments::Payments;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Captures {
    Table,
    Id,
    CaptureRequestId,
    PaymentId,
    AmountValue,
    Currency,
    IsLastCapture,
    AlipayCaptureId,
    Status,
    LastResultStatus,
    LastResultCode,
    LastResultMessage,
    RequestFingerprint,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Captures::Table)
                    .if_not_exists()
                    .col(id_pk(Captures::Id))
                    .col(text(Captures::CaptureRequestId, 64).not_null().unique_key())
                    .col(id_ref(Captures::PaymentId).not_null())
                    .col(
                        ColumnDef::new(Captures::AmountValue)
                            .big_integer()
                            .not_null(),
                    )
                    .col(text(Captures::Currency, 3).not_null())
                    .col(ColumnDef::new(Captures::IsLastCapture).boolean().not_null())
                    .col(text(Captures::AlipayCaptureId, 64).null())
                    .col(status(Captures::Status))
                    .col(text(Captures::LastResultStatus, 1).null())
                    .col(text(Captures::LastResultCode, 64).null())
                    .col(ColumnDef::new(Captures::LastResultMessage).text().null())
                    .col(text(Captures::RequestFingerprint, 128).not_null())
                    .col(ts(Captures::CreatedAt).not_null())
                    .col(ts(Captures::UpdatedAt).not_null())
                    .col(ColumnDef::new(Captures::Version).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_captures_payment")
                            .from(Captures::Table, Captures::PaymentId)
                            .to(Payments::Table, Payments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_captures_payment")
                    .table(Captures::Table)
                    .col(Captures::PaymentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Captures::Table).to_owned())
            .await
    }
}
