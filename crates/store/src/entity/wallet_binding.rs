//! `wallet_bindings`: a customer's authorised wallet account and its (encrypted) tokens.

use crate::status::BindingStatus;
use crate::vocabulary::Wallet;
use sea_orm::entity::prelude::*;

/// Stored row. Token columns hold `v1:` ciphertext from [`crate::TokenCipher`], never plaintext.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wallet_bindings")]
pub struct Model {
    /// The gateway's binding id, the one callers hold.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The caller's customer the binding belongs to.
    pub customer_id: String,
    /// The wallet bound, e.g. `GCASH`.
    pub wallet: Wallet,
    /// JSON array of granted scopes.
    pub scopes: Json,
    /// The access token, sealed.
    pub access_token_enc: String,
    /// After this Alipay refuses the access token; the reconciler refreshes before it.
    pub access_token_expires_at: DateTimeUtc,
    /// The refresh token, sealed; `None` when the wallet gives none.
    pub refresh_token_enc: Option<String>,
    /// After this only a new authorization by the user renews the binding.
    pub refresh_token_expires_at: Option<DateTimeUtc>,
    /// The user's masked login id, when the `USER_LOGIN_ID` scope was granted.
    pub user_login_id: Option<String>,
    /// Alipay's id of the user, when returned.
    pub alipay_user_id: Option<String>,
    /// `merchantRegion` the binding was authorised for; its refreshes name the same region.
    pub merchant_region: Option<String>,
    /// Keyed hash of the access token (HMAC-SHA256 under a key derived from the token key): TOKEN_CANCELED
    /// names the token, and the sealed value cannot be searched.
    pub access_token_hash: Option<String>,
    /// Only an ACTIVE binding can be charged.
    pub status: BindingStatus,
    /// When the row was inserted.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
    /// Optimistic-concurrency version, bumped by every write: a write against an older one is refused.
    pub version: i64,
}

/// sea-orm's relation list; this table has none.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
