use super::cols::{status, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyRecords {
    Table,
    Key,
    Fingerprint,
    State,
    Response,
    Owner,
    LeaseExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyRecords::Table)
                    .if_not_exists()
                    // The primary key is what makes `begin` race-safe: one insert wins.
                    .col(text(IdempotencyRecords::Key, 128).not_null().primary_key())
                    .col(text(IdempotencyRecords::Fingerprint, 128).not_null())
                    .col(status(IdempotencyRecords::State))
                    .col(ColumnDef::new(IdempotencyRecords::Response).blob().null())
                    .col(text(IdempotencyRecords::Owner, 128).not_null())
                    .col(ts(IdempotencyRecords::LeaseExpiresAt).not_null())
                    .col(ts(IdempotencyRecords::CreatedAt).not_null())
                    .col(ts(IdempotencyRecords::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyRecords::Table).to_owned())
            .await
    }
}
