//! The outbox behind `StreamPaymentEvents`: one row per committed payment, refund or capture change, numbered in
//! commit order (see `crate::outbox`), and a one-row table recording how far retention pruning has gone, so a
//! cursor that points into pruned history is told so instead of silently skipping events.

use super::cols::{id_ref, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaymentEvents {
    Table,
    Seq,
    EventId,
    EventType,
    EntityId,
    PaymentRequestId,
    CustomerId,
    ProductCode,
    Snapshot,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PaymentEventHorizon {
    Table,
    Id,
    PrunedThrough,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PaymentEvents::Table)
                    .if_not_exists()
                    // BIGSERIAL on PostgreSQL; INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, which never reuses a
                    // number even after pruning emptied the table (a reused number would alias an old cursor).
                    .col(
                        ColumnDef::new(PaymentEvents::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(id_ref(PaymentEvents::EventId).not_null().unique_key())
                    .col(text(PaymentEvents::EventType, 16).not_null())
                    .col(id_ref(PaymentEvents::EntityId).not_null())
                    .col(text(PaymentEvents::PaymentRequestId, 64).not_null())
                    .col(text(PaymentEvents::CustomerId, 64).null())
                    .col(text(PaymentEvents::ProductCode, 32).not_null())
                    .col(ColumnDef::new(PaymentEvents::Snapshot).json().not_null())
                    .col(ts(PaymentEvents::CreatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payment_events_created_at")
                    .table(PaymentEvents::Table)
                    .col(PaymentEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PaymentEventHorizon::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(PaymentEventHorizon::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(PaymentEventHorizon::PrunedThrough)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let mut row = Query::insert();
        row.into_table(PaymentEventHorizon::Table)
            .columns([PaymentEventHorizon::Id, PaymentEventHorizon::PrunedThrough])
            .values([1.into(), 0_i64.into()])
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        manager.exec_stmt(row).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentEventHorizon::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PaymentEvents::Table).to_owned())
            .await
    }
}
