use super::cols::{id_pk, id_ref, status, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StateChanges {
    Table,
    Id,
    EntityKind,
    EntityId,
    FromStatus,
    ToStatus,
    Source,
    Reason,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StateChanges::Table)
                    .if_not_exists()
                    .col(id_pk(StateChanges::Id))
                    .col(text(StateChanges::EntityKind, 16).not_null())
                    .col(id_ref(StateChanges::EntityId).not_null())
                    .col(text(StateChanges::FromStatus, 16).null())
                    .col(status(StateChanges::ToStatus))
                    .col(text(StateChanges::Source, 64).not_null())
                    .col(ColumnDef::new(StateChanges::Reason).text().null())
                    .col(ts(StateChanges::CreatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_state_changes_entity")
                    .table(StateChanges::Table)
                    .col(StateChanges::EntityKind)
                    .col(StateChanges::EntityId)
                    .col(StateChanges::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StateChanges::Table).to_owned())
            .await
    }
}
