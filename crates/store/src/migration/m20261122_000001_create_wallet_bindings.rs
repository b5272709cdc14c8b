use super::cols::{id_pk, status, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(super) enum WalletBindings {
    Table,
    Id,
    CustomerId,
    Wallet,
    Scopes,
    AccessTokenEnc,
    AccessTokenExpiresAt,
    RefreshTokenEnc,
    RefreshTokenExpiresAt,
    UserLoginId,
    AlipayUserId,
    Status,
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
                    .table(WalletBindings::Table)
                    .if_not_exists()
                    .col(id_pk(WalletBindings::Id))
                    .col(text(WalletBindings::CustomerId, 64).not_null())
                    .col(text(WalletBindings::Wallet, 32).not_null())
                    .col(ColumnDef::new(WalletBindings::Scopes).json().not_null())
                    .col(
                        ColumnDef::new(WalletBindings::AccessTokenEnc)
                            .text()
                            .not_null(),
                    )
                    .col(ts(WalletBindings::AccessTokenExpiresAt).not_null())
                    .col(
                        ColumnDef::new(WalletBindings::RefreshTokenEnc)
                            .text()
                            .null(),
                    )
                    .col(ts(WalletBindings::RefreshTokenExpiresAt).null())
                    .col(text(WalletBindings::UserLoginId, 128).null())
                    .col(text(WalletBindings::AlipayUserId, 64).null())
                    .col(status(WalletBindings::Status))
                    .col(ts(WalletBindings::CreatedAt).not_null())
                    .col(ts(WalletBindings::UpdatedAt).not_null())
                    .col(
                        ColumnDef::new(WalletBindings::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Listing a customer's bindings newest first is the common read.
        manager
            .create_index(
                Index::create()
                    .name("idx_wallet_bindings_customer_created")
                    .table(WalletBindings::Table)
                    .col(WalletBindings::CustomerId)
                    .col(WalletBindings::CreatedAt)
                    .col(WalletBindings::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WalletBindings::Table).to_owned())
            .await
    }
}
