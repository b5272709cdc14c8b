use super::cols::{id_pk, id_ref, status, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Also used by the refund and capture migrations for their foreign keys.
#[derive(DeriveIden)]
pub(super) enum Payments {
    Table,
    Id,
    PaymentRequestId,
    ProductCode,
    AmountValue,
    Currency,
    OrderReferenceId,
    OrderDescription,
    PaymentMethodType,
    BindingId,
    CustomerId,
    AlipayPaymentId,
    Status,
    LastResultStatus,
    LastResultCode,
    LastResultMessage,
    NextAction,
    PaymentTime,
    RequestFingerprint,
    IsAuthorization,
    CaptureMode,
    CardToken,
    CardBrand,
    CardLastFour,
    CardMaskedNo,
    CardIssuingCountry,
    CardFunding,
    ThreeDsResult,
    AvsResultRaw,
    CvvResultRaw,
    NetworkTransactionId,
    AuthExpiryTime,
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
                    .table(Payments::Table)
                    .if_not_exists()
                    .col(id_pk(Payments::Id))
                    // paymentRequestId is Alipay's idempotency key (max 64): one row per id, ever.
                    .col(text(Payments::PaymentRequestId, 64).not_null().unique_key())
                    .col(text(Payments::ProductCode, 32).not_null())
                    .col(
                        ColumnDef::new(Payments::AmountValue)
                            .big_integer()
                            .not_null(),
                    )
                    .col(text(Payments::Currency, 3).not_null())
                    .col(text(Payments::OrderReferenceId, 64).null())
                    .col(text(Payments::OrderDescription, 256).null())
                    .col(text(Payments::PaymentMethodType, 32).not_null())
                    .col(id_ref(Payments::BindingId).null())
                    .col(text(Payments::CustomerId, 64).null())
                    .col(text(Payments::AlipayPaymentId, 64).null())
                    .col(status(Payments::Status))
                    .col(text(Payments::LastResultStatus, 1).null())
                    .col(text(Payments::LastResultCode, 64).null())
                    .col(ColumnDef::new(Payments::LastResultMessage).text().null())
                    .col(ColumnDef::new(Payments::NextAction).json().null())
                    .col(ts(Payments::PaymentTime).null())
                    .col(text(Payments::RequestFingerprint, 128).not_null())
                    .col(
                        ColumnDef::new(Payments::IsAuthorization)
                            .boolean()
                            .not_null(),
                    )
                    .col(text(Payments::CaptureMode, 16).null())
                    .col(text(Payments::CardToken, 128).null())
                    .col(text(Payments::CardBrand, 64).null())
                    .col(text(Payments::CardLastFour, 4).null())
                    .col(text(Payments::CardMaskedNo, 32).null())
                    .col(text(Payments::CardIssuingCountry, 2).null())
                    .col(text(Payments::CardFunding, 16).null())
                    .col(ColumnDef::new(Payments::ThreeDsResult).json().null())
                    .col(text(Payments::AvsResultRaw, 32).null())
                    .col(text(Payments::CvvResultRaw, 32).null())
                    .col(text(Payments::NetworkTransactionId, 100).null())
                    .col(ts(Payments::AuthExpiryTime).null())
                    .col(ts(Payments::CreatedAt).not_null())
                    .col(ts(Payments::UpdatedAt).not_null())
                    .col(ColumnDef::new(Payments::Version).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payments_binding")
                            .from(Payments::Table, Payments::BindingId)
                            .to(Alias::new("wallet_bindings"), Alias::new("id")),
                    )
                    .to_owned(),
            )
            .await?;
        // The list API pages newest-first by (created_at, id), optionally per customer/status.
        for (name, cols) in [
            (
                "idx_payments_created",
                vec![Payments::CreatedAt, Payments::Id],
            ),
            (
                "idx_payments_customer_created",
                vec![Payments::CustomerId, Payments::CreatedAt],
            ),
            (
                "idx_payments_status_created",
                vec![Payments::Status, Payments::CreatedAt],
            ),
            (
                "idx_payments_alipay_payment_id",
                vec![Payments::AlipayPaymentId],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Payments::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Payments::Table).to_owned())
            .await
    }
}
