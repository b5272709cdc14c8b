use super::cols::{id_pk, text, ts};
use sea_orm_migration::prelude::*;

/// Stored cards: `card_tokens`, one row per (customer, cardToken), the token sealed with the store's token cipher
/// and found through its keyed hash.
///
/// `payments.card_token` (plain text, at most 128 characters) predates this table. Moving its values here needs
/// the token key, which a schema migration never has (`alipay-gateway migrate` runs without it), so the move is
/// [`crate::card_tokens::CardTokens::seal_plain_payment_tokens`]: idempotent, run with the cipher after
/// migrating. It seals and hashes each value into this table under the payment's customer (a value on a payment
/// without a customer cannot be reused by anyone and is only erased), links the payment's card facts to the row,
/// and writes NULL into `payments.card_token`. The column itself stays in the schema for now; dropping it is
/// left to the card engine work, once nothing writes it.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(super) enum CardTokens {
    Table,
    Id,
    CustomerId,
    TokenEnc,
    TokenHash,
    FirstPaymentRequestId,
    CreatedAt,
    UpdatedAt,
    LastUsedAt,
    DeletedAt,
}

/// The card columns both card tables have (`card_tokens` and `payment_card_facts`), with one name and one limit
/// each: the same facts about a card, reported by the same Alipay fields.
#[derive(DeriveIden)]
pub(super) enum CardColumns {
    Brand,
    LastFour,
    ExpiryMonth,
    ExpiryYear,
    Funding,
    IssuingCountry,
    NetworkTransactionId,
}

/// The [`CardColumns`], nullable (each source reports some).
pub(super) fn card_columns() -> [ColumnDef; 7] {
    use CardColumns as C;
    [
        text(C::Brand, 32).null().to_owned(),
        text(C::LastFour, 4).null().to_owned(),
        text(C::ExpiryMonth, 2).null().to_owned(),
        text(C::ExpiryYear, 4).null().to_owned(),
        text(C::Funding, 32).null().to_owned(),
        text(C::IssuingCountry, 2).null().to_owned(),
        text(C::NetworkTransactionId, 256).null().to_owned(),
    ]
}

/// One row per token and customer: the upsert's conflict target, and the lookup by hash.
const TOKEN_INDEX: &str = "idx_card_tokens_customer_token_hash";
/// A customer's cards newest first.
const LIST_INDEX: &str = "idx_card_tokens_customer_created";
/// Payments still holding a plain `card_token` (none once the start-up move has run).
const PLAIN_TOKEN_INDEX: &str = "idx_payments_plain_card_token";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(CardTokens::Table)
            .if_not_exists()
            .col(id_pk(CardTokens::Id))
            .col(text(CardTokens::CustomerId, 64).not_null())
            .col(ColumnDef::new(CardTokens::TokenEnc).text().null())
            .col(text(CardTokens::TokenHash, 64).not_null());
        for column in card_columns() {
            table.col(column);
        }
        table
            .col(text(CardTokens::FirstPaymentRequestId, 64).not_null())
            .col(ts(CardTokens::CreatedAt).not_null())
            .col(ts(CardTokens::UpdatedAt).not_null())
            .col(ts(CardTokens::LastUsedAt).null())
            .col(ts(CardTokens::DeletedAt).null());
        manager.create_table(table).await?;
        manager
            .create_index(
                Index::create()
                    .name(TOKEN_INDEX)
                    .table(CardTokens::Table)
                    .col(CardTokens::CustomerId)
                    .col(CardTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(LIST_INDEX)
                    .table(CardTokens::Table)
                    .col(CardTokens::CustomerId)
                    .col(CardTokens::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // The start-up move looks for plain values on every start: a partial index keeps that a probe of an empty
        // index instead of a scan of every payment (SQLite and PostgreSQL both support this form).
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {PLAIN_TOKEN_INDEX} ON payments (id) WHERE card_token IS NOT NULL"
            ))
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {PLAIN_TOKEN_INDEX}"))
            .await?;
        manager
            .drop_table(Table::drop().table(CardTokens::Table).to_owned())
            .await
    }
}
