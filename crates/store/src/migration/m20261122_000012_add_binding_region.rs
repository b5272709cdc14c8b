use super::added_columns;
use super::m20261122_000001_create_wallet_bindings::WalletBindings;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The merchant region (`merchantRegion`) a binding was authorised for: its token refreshes must name the same
/// region, so it is kept with the binding.
#[derive(DeriveIden)]
enum Added {
    MerchantRegion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        added_columns::add(
            manager,
            WalletBindings::Table,
            [ColumnDef::new(Added::MerchantRegion)
                .string_len(16)
                .to_owned()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        added_columns::drop(manager, WalletBindings::Table, [Added::MerchantRegion]).await
    }
}
