//! `card_tokens`: cards a customer saved (Alipay's cardToken), sealed, one row per customer and token.

use sea_orm::entity::prelude::*;

/// Stored row. `token_enc` holds `v1:` ciphertext from [`crate::TokenCipher`], never the plaintext token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "card_tokens")]
pub struct Model {
    /// The gateway's id of the stored card: the only handle callers get (never the token itself).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The caller's customer the card belongs to: a stored-card charge must name the same one.
    pub customer_id: String,
    /// The cardToken, sealed; `None` once the card is deleted (the credential is erased, the row stays).
    pub token_enc: Option<String>,
    /// Keyed hash of the token ([`crate::TokenCipher::lookup_hash`]), unique per customer: finds the row for a
    /// token a pay answer, inquiry or notification brings, since the sealed value cannot be searched.
    pub token_hash: String,
    /// Card brand, e.g. `VISA`.
    pub brand: Option<String>,
    /// Last four digits, for the buyer to recognise the card.
    pub last_four: Option<String>,
    /// Expiry month, `MM`.
    pub expiry_month: Option<String>,
    /// Expiry year as Alipay reports it (`YY`).
    pub expiry_year: Option<String>,
    /// `CREDIT`, `DEBIT`, ... as Alipay reports it.
    pub funding: Option<String>,
    /// ISO 3166 alpha-2 country of the issuing bank.
    pub issuing_country: Option<String>,
    /// The scheme's id of the first transaction with the card: merchant-initiated charges quote it.
    pub network_transaction_id: Option<String>,
    /// `paymentRequestId` of the payment that first brought the token (or brought it back after a delete).
    pub first_payment_request_id: String,
    /// When the row was inserted.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
    /// When a payment last charged the stored card (`None` until one does), so a customer can tell a card in use
    /// from a forgotten one.
    pub last_used_at: Option<DateTimeUtc>,
    /// When the customer deleted the card; a deleted card is neither listed nor usable.
    pub deleted_at: Option<DateTimeUtc>,
}

/// sea-orm's relation list; this table refers to no other.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
