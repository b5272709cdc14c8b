use super::added_columns;
use super::m20261122_000002_create_payments::Payments;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The caller's `paymentExpiryTime`: the reconciler keeps inquiring a payment that waits for the buyer until then
/// (instead of cancelling it after the auto-debit inquiry budget), so it must survive a restart. Most payments have
/// none (Alipay's default window applies).
#[derive(DeriveIden)]
enum Added {
    PaymentExpiryTime,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        added_columns::add(
            manager,
            Payments::Table,
            [ColumnDef::new(Added::PaymentExpiryTime)
                .timestamp_with_time_zone()
                .to_owned()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        added_columns::drop(manager, Payments::Table, [Added::PaymentExpiryTime]).await
    }
}
