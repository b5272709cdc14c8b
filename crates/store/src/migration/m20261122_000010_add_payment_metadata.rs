use super::added_columns;
use super::m20261122_000002_create_payments::Payments;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns added after the first release: caller metadata (a JSON object of string → string, stored for the caller
/// and never sent to Alipay) and the merchant region the payment was made for.
#[derive(DeriveIden)]
enum Added {
    Metadata,
    MerchantRegion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        added_columns::add(
            manager,
            Payments::Table,
            [
                ColumnDef::new(Added::Metadata).json().to_owned(),
                ColumnDef::new(Added::MerchantRegion)
                    .string_len(16)
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        added_columns::drop(
            manager,
            Payments::Table,
            [Added::Metadata, Added::MerchantRegion],
        )
        .await
    }
}
