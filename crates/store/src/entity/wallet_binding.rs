//! `wallet_bindings`: a customer's authorised wallet account and its (encrypted) tokens.

use crate::status::BindingStatus;
use crate::vocabulary::Wallet;
use sea_orm::entity::prelude::*;

/// Stored row. Token columns hold `v1:` ciphertext from [`crate::TokenCipher`], never plaintext.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wallet_bindings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub customer_id: String,
    pub wallet: Wallet,
    /// JSON array of granted scopes.
    pub scopes: Json,
    pub access_token_enc: String,
    pub access_token_expires_at: DateTimeUtc,
    pub refresh_token_enc: Option<String>,
    pub refresh_token_expires_at: Option<DateTimeUtc>,
    pub user_login_id: Option<String>,
    pub alipay_user_id: Option<String>,
    /// `merchantRegion` the binding was authorised for; its refreshes name the same region.
    pub merchant_region: Option<String>,
    /// Keyed hash of the access token (HMAC-SHA256 under a key derived from the token key): TOKEN_CANCELED
    /// names the token, and the sealed value cannot be searched.
    pub access_token_hash: Option<String>,
    pub status: BindingStatus,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
