use super::added_columns;
use super::m20261122_000002_create_payments::Payments;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Alipay's own clock for a payment: `paymentCreateTime` (pay and inquiry answers) and `cancelTime` (the cancel
/// answer). The caller sees Alipay's times, not the gateway's, and a reconciliation against Alipay's reports lines
/// up. Both are unknown until an answer carries them.
#[derive(DeriveIden)]
enum Added {
    PaymentCreateTime,
    CancelTime,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        added_columns::add(
            manager,
            Payments::Table,
            [
                ColumnDef::new(Added::PaymentCreateTime)
                    .timestamp_with_time_zone()
                    .to_owned(),
                ColumnDef::new(Added::CancelTime)
                    .timestamp_with_time_zone()
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        added_columns::drop(
            manager,
            Payments::Table,
            [Added::PaymentCreateTime, Added::CancelTime],
        )
        .await
    }
}
