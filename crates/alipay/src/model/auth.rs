//! `authorizations/consult`, `authorizations/applyToken`, `authorizations/revoke` (auto-debit binding).

use serde::{Deserialize, Serialize};

use super::common::{Env, OsType, PspCustomerInfo, ResultInfo, Secret, TerminalType};
use super::serde_helpers::opt_bool;

/// Authorization scope requested in consult.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scope {
    /// Unique user id.
    BaseUserInfo,
    /// Full user information.
    UserInfo,
    /// Auto debit.
    AgreementPay,
    /// Login id.
    UserLoginId,
    /// Hashed login id.
    HashLoginId,
    /// OTP.
    SendOtp,
    /// Taobao rebind.
    TaobaoRebind,
}

/// Request of `/v1/authorizations/consult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsultRequest {
    /// Wallet (e.g. `GCASH`), ≤64.
    pub customer_belongs_to: String,
    /// Secondary merchant id (acquirers), ≤64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_client_id: Option<String>,
    /// Where the wallet sends the user back with authCode, ≤1024.
    pub auth_redirect_url: String,
    /// Scopes, 1..=4.
    pub scopes: Vec<Scope>,
    /// Merchant's id for this consult, echoed in the redirect, ≤256.
    pub auth_state: String,
    /// Terminal type.
    pub terminal_type: TerminalType,
    /// OS type (required unless WEB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<OsType>,
    /// OS version, ≤16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Merchant region (GAGW), 2 letters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_region: Option<String>,
    /// Recurring payment.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool"
    )]
    pub recurring_payment: Option<bool>,
    /// Where notifyAuthorization goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_notify_url: Option<String>,
    /// Environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Env>,
    /// Merchant account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_account_id: Option<String>,
}

/// Response of consult.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsultResponse {
    /// Result envelope.
    pub result: ResultInfo,
    /// Authorization page URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<String>,
    /// WAP/WEB URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normal_url: Option<String>,
    /// App scheme URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_url: Option<String>,
    /// Universal/app link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applink_url: Option<String>,
    /// Android package name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_identifier: Option<String>,
    /// QR-code authorization form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code_form: Option<serde_json::Value>,
}

/// applyToken grant type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GrantType {
    /// Exchange an authCode.
    AuthorizationCode,
    /// Refresh an access token.
    RefreshToken,
}

/// Request of `/v1/authorizations/applyToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyTokenRequest {
    /// Grant type.
    pub grant_type: GrantType,
    /// Wallet.
    pub customer_belongs_to: String,
    /// authCode (AUTHORIZATION_CODE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<Secret>,
    /// refreshToken (REFRESH_TOKEN only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Merchant region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_region: Option<String>,
    /// Merchant account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_account_id: Option<String>,
    /// Extension data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl ApplyTokenRequest {
    /// Exchanges an authCode from the redirect for tokens.
    pub fn authorization_code(wallet: impl Into<String>, auth_code: impl Into<Secret>) -> Self {
        Self {
            grant_type: GrantType::AuthorizationCode,
            customer_belongs_to: wallet.into(),
            auth_code: Some(auth_code.into()),
            refresh_token: None,
            merchant_region: None,
            merchant_account_id: None,
            extend_info: None,
        }
    }

    /// Obtains a fresh access token with a refresh token.
    pub fn refresh_token(wallet: impl Into<String>, refresh_token: impl Into<Secret>) -> Self {
        Self {
            grant_type: GrantType::RefreshToken,
            customer_belongs_to: wallet.into(),
            auth_code: None,
            refresh_token: Some(refresh_token.into()),
            merchant_region: None,
            merchant_account_id: None,
            extend_info: None,
        }
    }
}

/// Response of applyToken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyTokenResponse {
    /// Result envelope.
    pub result: ResultInfo,
    /// Access token (use as `paymentMethodId` in AGREEMENT_PAYMENT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    /// Access token expiry (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expiry_time: Option<String>,
    /// Refresh token, if the wallet supports refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Refresh token expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expiry_time: Option<String>,
    /// User login id (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_login_id: Option<String>,
    /// Wallet customer info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psp_customer_info: Option<PspCustomerInfo>,
}

/// Request of `/v1/authorizations/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeRequest {
    /// The token to revoke.
    pub access_token: Secret,
    /// Merchant account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_account_id: Option<String>,
    /// Extension data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl RevokeRequest {
    /// Revokes `access_token`.
    pub fn new(access_token: impl Into<Secret>) -> Self {
        Self {
            access_token: access_token.into(),
            merchant_account_id: None,
            extend_info: None,
        }
    }
}

/// Response of revoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeResponse {
    /// Result envelope.
    pub result: ResultInfo,
    /// Extension data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}
