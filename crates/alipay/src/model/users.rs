//! `users/inquiryUserInfo`.

use serde::{Deserialize, Serialize};

use super::common::{ResultInfo, Secret};

/// Request of `/v1/users/inquiryUserInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryUserInfoRequest {
    /// Access token from applyToken.
    pub access_token: Secret,
}

impl InquiryUserInfoRequest {
    /// Asks who `access_token` belongs to.
    pub fn new(access_token: impl Into<Secret>) -> Self {
        Self {
            access_token: access_token.into(),
        }
    }
}

/// Wallet user details (shape differs between docs versions, so both flat and nested forms are modelled).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// Wallet user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Login id (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_login_id: Option<String>,
    /// Hashed login id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_user_login_id: Option<String>,
}

/// Response of inquiryUserInfo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryUserInfoResponse {
    /// Result envelope.
    pub result: ResultInfo,
    /// Flat form: wallet user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Flat form: login id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_login_id: Option<String>,
    /// Flat form: hashed login id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_user_login_id: Option<String>,
    /// Nested form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_info: Option<UserInfo>,
}

impl InquiryUserInfoResponse {
    /// The wallet user id, whichever form it came in.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id
            .as_deref()
            .or_else(|| self.user_info.as_ref()?.user_id.as_deref())
    }
}
