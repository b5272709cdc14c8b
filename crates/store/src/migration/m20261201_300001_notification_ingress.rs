use super::added_columns;
use super::m20261122_000001_create_wallet_bindings::WalletBindings;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What the notification ingress needs beyond the first notifications table: the object a notification is about
/// (so one that arrived before its payment is applied when the payment appears) and a flag for the ones support
/// must look at (contradicting a final state, never matched, outside the age window); on bindings, a keyed hash of
/// the access token, since TOKEN_CANCELED names the token and the sealed token cannot be looked up.
#[derive(DeriveIden)]
enum Notifications {
    Table,
    Subject,
    Flag,
}

#[derive(DeriveIden)]
enum Added {
    AccessTokenHash,
}

const TOKEN_HASH_INDEX: &str = "idx_wallet_bindings_access_token_hash";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        added_columns::add(
            manager,
            Notifications::Table,
            [
                ColumnDef::new(Notifications::Subject)
                    .string_len(160)
                    .to_owned(),
                ColumnDef::new(Notifications::Flag)
                    .string_len(32)
                    .to_owned(),
            ],
        )
        .await?;
        added_columns::add(
            manager,
            WalletBindings::Table,
            [ColumnDef::new(Added::AccessTokenHash)
                .string_len(64)
                .to_owned()],
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name(TOKEN_HASH_INDEX)
                    .table(WalletBindings::Table)
                    .col(Added::AccessTokenHash)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(TOKEN_HASH_INDEX)
                    .table(WalletBindings::Table)
                    .to_owned(),
            )
            .await?;
        added_columns::drop(manager, WalletBindings::Table, [Added::AccessTokenHash]).await?;
        added_columns::drop(
            manager,
            Notifications::Table,
            [Notifications::Subject, Notifications::Flag],
        )
        .await
    }
}
