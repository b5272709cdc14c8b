//! `payment_card_facts`: what Alipay reported about the card of one payment (1:1 with `payments`).
//!
//! There is deliberately no column for a card number, CVV, cardholder name, billing address or CAVV.

use sea_orm::entity::prelude::*;

/// Stored row; every fact is optional because each source (pay answer, inquiry, notification) brings some.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_card_facts")]
pub struct Model {
    /// The gateway's id of the payment (not Alipay's).
    #[sea_orm(primary_key, auto_increment = false)]
    pub payment_id: String,
    /// Card brand, e.g. `VISA`.
    pub brand: Option<String>,
    /// Last four digits.
    pub last_four: Option<String>,
    /// Expiry month, `MM`.
    pub expiry_month: Option<String>,
    /// Expiry year as Alipay reports it (`YY`).
    pub expiry_year: Option<String>,
    /// `CREDIT`, `DEBIT`, ...
    pub funding: Option<String>,
    /// ISO 3166 alpha-2 country of the issuing bank.
    pub issuing_country: Option<String>,
    /// The issuing bank's name.
    pub issuer_name: Option<String>,
    /// `threeDSResult.threeDSVersion`.
    pub three_ds_version: Option<String>,
    /// `threeDSResult.eci`.
    pub eci: Option<String>,
    /// `threeDSResult.challenged`.
    pub challenged: Option<bool>,
    /// `threeDSResult.challengeCancel` ("01".."08").
    pub challenge_cancel_code: Option<String>,
    /// `threeDSResult.exemptionType`.
    pub exemption_type: Option<String>,
    /// `threeDSResult.threeDSOffered`.
    pub three_ds_offered: Option<bool>,
    /// `avsResultRaw`, verbatim.
    pub avs_result_raw: Option<String>,
    /// `cvvResultRaw`, verbatim (never the CVV).
    pub cvv_result_raw: Option<String>,
    /// `networkTransactionId`.
    pub network_transaction_id: Option<String>,
    /// The issuer's authorization code.
    pub authorization_code: Option<String>,
    /// `refusalCodeRaw`, verbatim.
    pub refusal_code_raw: Option<String>,
    /// `refusalReasonRaw`, verbatim.
    pub refusal_reason_raw: Option<String>,
    /// `merchantAdviceCode`.
    pub merchant_advice_code: Option<String>,
    /// The stored card the payment used or created, when there is one.
    pub card_token_id: Option<String>,
    /// When the row was inserted.
    pub created_at: DateTimeUtc,
    /// When a source last added a fact.
    pub updated_at: DateTimeUtc,
}

/// sea-orm's relations of the table.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The payment described.
    #[sea_orm(
        belongs_to = "super::payment::Entity",
        from = "Column::PaymentId",
        to = "super::payment::Column::Id"
    )]
    Payment,
    /// The stored card used or created.
    #[sea_orm(
        belongs_to = "super::card_token::Entity",
        from = "Column::CardTokenId",
        to = "super::card_token::Column::Id"
    )]
    CardToken,
}

impl ActiveModelBehavior for ActiveModel {}
