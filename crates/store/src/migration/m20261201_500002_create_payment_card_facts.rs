use super::cols::{id_ref, text, ts};
use super::m20261122_000002_create_payments::Payments;
use super::m20261201_500001_create_card_tokens::{CardTokens, card_columns};
use sea_orm_migration::prelude::*;

/// What Alipay reported about a card payment's card, 1:1 with `payments`, in a table of its own so card facts
/// grow without widening every payment row. There is no column for a card number, CVV, cardholder name, billing
/// address or CAVV: the gateway must never keep them.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaymentCardFacts {
    Table,
    PaymentId,
    IssuerName,
    ThreeDsVersion,
    Eci,
    Challenged,
    ChallengeCancelCode,
    ExemptionType,
    ThreeDsOffered,
    AvsResultRaw,
    CvvResultRaw,
    AuthorizationCode,
    RefusalCodeRaw,
    RefusalReasonRaw,
    MerchantAdviceCode,
    CardTokenId,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PaymentCardFacts as F;
        let mut table = Table::create();
        table
            .table(F::Table)
            .if_not_exists()
            .col(id_ref(F::PaymentId).not_null().primary_key());
        for column in card_columns() {
            table.col(column);
        }
        table
            .col(text(F::IssuerName, 128).null())
            .col(text(F::ThreeDsVersion, 16).null())
            .col(text(F::Eci, 2).null())
            .col(ColumnDef::new(F::Challenged).boolean().null())
            .col(text(F::ChallengeCancelCode, 2).null())
            .col(text(F::ExemptionType, 32).null())
            .col(ColumnDef::new(F::ThreeDsOffered).boolean().null())
            .col(text(F::AvsResultRaw, 8).null())
            .col(text(F::CvvResultRaw, 8).null())
            .col(text(F::AuthorizationCode, 32).null())
            .col(text(F::RefusalCodeRaw, 32).null())
            .col(text(F::RefusalReasonRaw, 256).null())
            .col(text(F::MerchantAdviceCode, 8).null())
            .col(id_ref(F::CardTokenId).null())
            .col(ts(F::CreatedAt).not_null())
            .col(ts(F::UpdatedAt).not_null())
            .foreign_key(
                ForeignKey::create()
                    .name("fk_payment_card_facts_payment")
                    .from(F::Table, F::PaymentId)
                    .to(Payments::Table, Payments::Id),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_payment_card_facts_card_token")
                    .from(F::Table, F::CardTokenId)
                    .to(CardTokens::Table, CardTokens::Id),
            );
        manager.create_table(table).await?;
        // The payments that used a stored card (deleting a customer's data, support questions).
        manager
            .create_index(
                Index::create()
                    .name("idx_payment_card_facts_card_token")
                    .table(F::Table)
                    .col(F::CardTokenId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentCardFacts::Table).to_owned())
            .await
    }
}
