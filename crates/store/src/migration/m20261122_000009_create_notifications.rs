use super::cols::{id_pk, status, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    NotifyType,
    DedupKey,
    RawBody,
    Headers,
    Verified,
    State,
    ProcessingError,
    ReceivedAt,
    ProcessedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .if_not_exists()
                    .col(id_pk(Notifications::Id))
                    .col(text(Notifications::NotifyType, 64).not_null())
                    // Alipay redelivers until acknowledged: the dedup key stores each event once.
                    .col(text(Notifications::DedupKey, 256).not_null().unique_key())
                    .col(ColumnDef::new(Notifications::RawBody).text().not_null())
                    .col(ColumnDef::new(Notifications::Headers).json().not_null())
                    .col(ColumnDef::new(Notifications::Verified).boolean().not_null())
                    .col(status(Notifications::State))
                    .col(ColumnDef::new(Notifications::ProcessingError).text().null())
                    .col(ts(Notifications::ReceivedAt).not_null())
                    .col(ts(Notifications::ProcessedAt).null())
                    .col(ts(Notifications::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_state")
                    .table(Notifications::Table)
                    .col(Notifications::State)
                    .col(Notifications::ReceivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await
    }
}
