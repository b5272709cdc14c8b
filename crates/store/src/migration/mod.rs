//! Schema migrations, one per file so `DeriveMigrationName` gives each a stable name. Applied by
//! [`crate::Store::migrate`]; sea-orm-migration records applied ones, so re-running is a no-op.

use sea_orm_migration::prelude::*;

mod added_columns;
mod m20261122_000001_create_wallet_bindings;
mod m20261122_000002_create_payments;
mod m20261122_000003_create_refunds;
mod m20261122_000004_create_captures;
mod m20261122_000005_create_alipay_calls;
mod m20261122_000006_create_state_changes;
mod m20261122_000007_create_idempotency_records;
mod m20261122_000008_create_reconciliation_jobs;
mod m20261122_000009_create_notifications;
mod m20261122_000010_add_payment_metadata;
mod m20261122_000011_add_payment_expiry;
mod m20261122_000012_add_binding_region;
mod m20261201_200001_create_payment_events;
mod m20261201_300001_notification_ingress;
mod m20261201_400001_add_payment_alipay_times;
mod m20261201_500001_create_card_tokens;
mod m20261201_500002_create_payment_card_facts;

/// Every migration of the store, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_wallet_bindings::Migration),
            Box::new(m20261122_000002_create_payments::Migration),
            Box::new(m20261122_000003_create_refunds::Migration),
            Box::new(m20261122_000004_create_captures::Migration),
            Box::new(m20261122_000005_create_alipay_calls::Migration),
            Box::new(m20261122_000006_create_state_changes::Migration),
            Box::new(m20261122_000007_create_idempotency_records::Migration),
            Box::new(m20261122_000008_create_reconciliation_jobs::Migration),
            Box::new(m20261122_000009_create_notifications::Migration),
            Box::new(m20261122_000010_add_payment_metadata::Migration),
            Box::new(m20261122_000011_add_payment_expiry::Migration),
            Box::new(m20261122_000012_add_binding_region::Migration),
            Box::new(m20261201_200001_create_payment_events::Migration),
            Box::new(m20261201_300001_notification_ingress::Migration),
            Box::new(m20261201_400001_add_payment_alipay_times::Migration),
            Box::new(m20261201_500001_create_card_tokens::Migration),
            Box::new(m20261201_500002_create_payment_card_facts::Migration),
        ]
    }
}

/// Column helpers shared by the migrations so every table spells ids, timestamps and statuses
/// the same way on both backends.
pub(crate) mod cols {
    use sea_orm_migration::prelude::*;

    /// Ids are UUID strings: portable across SQLite and PostgreSQL and readable in logs.
    pub fn id_pk<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name)
            .string_len(36)
            .not_null()
            .primary_key()
            .to_owned()
    }

    pub fn id_ref<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).string_len(36).to_owned()
    }

    pub fn text<T: IntoIden>(name: T, len: u32) -> ColumnDef {
        ColumnDef::new(name).string_len(len).to_owned()
    }

    pub fn ts<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).timestamp_with_time_zone().to_owned()
    }

    pub fn status<T: IntoIden>(name: T) -> ColumnDef {
        ColumnDef::new(name).string_len(16).not_null().to_owned()
    }
}
