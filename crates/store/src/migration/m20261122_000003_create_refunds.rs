use super::cols::{id_pk, id_ref, status, text, ts};
use super::m20261122_000002_create_payments::Payments;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    RefundRequestId,
    PaymentId,
    AmountValue,
    Currency,
    Reason,
    AlipayRefundId,
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
                    .table(Refunds::Table)
                    .if_not_exists()
                    .col(id_pk(Refunds::Id))
                    .col(text(Refunds::RefundRequestId, 64).not_null().unique_key())
                    .col(id_ref(Refunds::PaymentId).not_null())
                    .col(
                        ColumnDef::new(Refunds::AmountValue)
                            .big_integer()
                            .not_null(),
                    )
                    .col(text(Refunds::Currency, 3).not_null())
                    .col(text(Refunds::Reason, 256).null())
                    .col(text(Refunds::AlipayRefundId, 64).null())
                    .col(status(Refunds::Status))
                    .col(text(Refunds::LastResultStatus, 1).null())
                    .col(text(Refunds::LastResultCode, 64).null())
                    .col(ColumnDef::new(Refunds::LastResultMessage).text().null())
                    .col(text(Refunds::RequestFingerprint, 128).not_null())
                    .col(ts(Refunds::CreatedAt).not_null())
                    .col(ts(Refunds::UpdatedAt).not_null())
                    .col(ColumnDef::new(Refunds::Version).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refunds_payment")
                            .from(Refunds::Table, Refunds::PaymentId)
                            .to(Payments::Table, Payments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Refund totals are summed per payment before a new refund is accepted.
        manager
            .create_index(
                Index::create()
                    .name("idx_refunds_payment")
                    .table(Refunds::Table)
                    .col(Refunds::PaymentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Refunds::Table).to_owned())
            .await
    }
}
