use super::cols::{id_pk, id_ref, status, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReconciliationJobs {
    Table,
    Id,
    Kind,
    SubjectId,
    Status,
    Attempts,
    NextRunAt,
    LeaseOwner,
    LeaseExpiresAt,
    LastError,
    Payload,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReconciliationJobs::Table)
                    .if_not_exists()
                    .col(id_pk(ReconciliationJobs::Id))
                    .col(text(ReconciliationJobs::Kind, 32).not_null())
                    .col(id_ref(ReconciliationJobs::SubjectId).not_null())
                    .col(status(ReconciliationJobs::Status))
                    .col(
                        ColumnDef::new(ReconciliationJobs::Attempts)
                            .integer()
                            .not_null(),
                    )
                    .col(ts(ReconciliationJobs::NextRunAt).not_null())
                    .col(text(ReconciliationJobs::LeaseOwner, 128).null())
                    .col(ts(ReconciliationJobs::LeaseExpiresAt).null())
                    .col(ColumnDef::new(ReconciliationJobs::LastError).text().null())
                    .col(
                        ColumnDef::new(ReconciliationJobs::Payload)
                            .json()
                            .not_null(),
                    )
                    .col(ts(ReconciliationJobs::CreatedAt).not_null())
                    .col(ts(ReconciliationJobs::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        // At most one active job per (kind, subject): a payment never has two pollers. A partial
        // unique index (same syntax on SQLite and PostgreSQL) lets finished jobs pile up as history.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS uq_reconciliation_jobs_active \
                 ON reconciliation_jobs (kind, subject_id) \
                 WHERE status IN ('PENDING', 'RUNNING')",
            )
            .await?;
        // The claim query scans due jobs in run order.
        manager
            .create_index(
                Index::create()
                    .name("idx_reconciliation_jobs_due")
                    .table(ReconciliationJobs::Table)
                    .col(ReconciliationJobs::Status)
                    .col(ReconciliationJobs::NextRunAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReconciliationJobs::Table).to_owned())
            .await
    }
}
