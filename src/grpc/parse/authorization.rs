//! `AuthorizationService` requests → engine commands and queries.

use alipay::checked::{AuthCode, CustomerId, HttpsUrl, Problem, RegionCode, Scopes, Text};
use alipay::limits::{
    MAX_AUTH_REDIRECT_URL_LEN, MAX_AUTH_STATE_LEN, MAX_OS_VERSION_LEN, MAX_SCOPES,
};
use alipay::model as wire;
use engine::limits::Violations;
use engine::{ApplyTokenCommand, ConsultCommand, EngineError};

use super::{optional, page, rejected, required, terminal, wallet, wallet_of};
use crate::pb::v1 as pb;

impl TryFrom<&pb::ConsultRequest> for ConsultCommand {
    type Error = EngineError;

    fn try_from(r: &pb::ConsultRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let wallet = wallet(&mut v, "wallet", r.wallet);
        let auth_redirect_url = required::<HttpsUrl<MAX_AUTH_REDIRECT_URL_LEN>>(
            &mut v,
            "auth_redirect_url",
            &r.auth_redirect_url,
        );
        let auth_state = required::<Text<MAX_AUTH_STATE_LEN>>(&mut v, "auth_state", &r.auth_state);
        if r.scopes.is_empty() {
            v.push("scopes", "at least one scope is required");
        }
        let scopes = scopes(&mut v, &r.scopes);
        let terminal_type = terminal(&mut v, "terminal_type", r.terminal_type, true);
        let os_type = super::os(&mut v, "os_type", r.os_type);
        let os_version = optional::<Text<MAX_OS_VERSION_LEN>>(&mut v, "os_version", &r.os_version);
        let merchant_region = optional::<RegionCode>(&mut v, "merchant_region", &r.merchant_region);
        let (
            Some(wallet),
            Some(auth_redirect_url),
            Some(auth_state),
            Some(scopes),
            Ok(Some(terminal_type)),
        ) = (wallet, auth_redirect_url, auth_state, scopes, terminal_type)
        else {
            return Err(rejected(v));
        };
        v.finish(Self {
            // The API names the customer at ApplyToken, when the binding is created, not at consult.
            customer_id: None,
            wallet,
            auth_redirect_url,
            auth_state,
            scopes,
            terminal_type,
            os_type,
            os_version,
            merchant_region,
        })
    }
}

impl TryFrom<&pb::ApplyTokenRequest> for ApplyTokenCommand {
    type Error = EngineError;

    fn try_from(r: &pb::ApplyTokenRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let auth_code = required::<AuthCode>(&mut v, "auth_code", &r.auth_code);
        let wallet = wallet(&mut v, "wallet", r.wallet);
        let customer_id = required::<CustomerId>(&mut v, "customer_id", &r.customer_id);
        let merchant_region = optional::<RegionCode>(&mut v, "merchant_region", &r.merchant_region);
        // Optional here (empty = let Alipay decide), but when given, held to the rules Consult applies.
        let scopes = scopes(&mut v, &r.scopes);
        let (Some(auth_code), Some(wallet), Some(customer_id), Some(scopes)) =
            (auth_code, wallet, customer_id, scopes)
        else {
            return Err(rejected(v));
        };
        v.finish(Self {
            customer_id,
            wallet,
            auth_code,
            scopes,
            merchant_region,
        })
    }
}

/// At most [`MAX_SCOPES`] known, distinct scopes, each problem under its index (whether any is required is the
/// RPC's rule).
fn scopes(v: &mut Violations, raw: &[i32]) -> Option<Scopes> {
    if raw.len() > MAX_SCOPES {
        v.push("scopes", format!("at most {MAX_SCOPES} scopes"));
    }
    let mut scopes = Scopes::default();
    let mut ok = raw.len() <= MAX_SCOPES;
    for (i, value) in raw.iter().enumerate() {
        let field = format!("scopes[{i}]");
        let pushed = scope(*value).and_then(|s| match scopes.push(s) {
            // Past the count limit, already reported once for the whole list.
            Err(_) if i >= MAX_SCOPES => Ok(()),
            other => other,
        });
        ok &= v.check(field, pushed).is_some();
    }
    ok.then_some(scopes)
}

fn scope(value: i32) -> Result<wire::Scope, Problem> {
    Ok(match pb::AuthScope::try_from(value) {
        Ok(pb::AuthScope::Unspecified) | Err(_) => return Err(Problem::new("unknown scope")),
        Ok(pb::AuthScope::BaseUserInfo) => wire::Scope::BaseUserInfo,
        Ok(pb::AuthScope::UserInfo) => wire::Scope::UserInfo,
        Ok(pb::AuthScope::AgreementPay) => wire::Scope::AgreementPay,
        Ok(pb::AuthScope::UserLoginId) => wire::Scope::UserLoginId,
        Ok(pb::AuthScope::HashLoginId) => wire::Scope::HashLoginId,
        Ok(pb::AuthScope::SendOtp) => wire::Scope::SendOtp,
        Ok(pb::AuthScope::TaobaoRebind) => wire::Scope::TaobaoRebind,
    })
}

/// Requests that only name a binding parse into its id.
macro_rules! binding_id_of {
    ($($request:ty),+ $(,)?) => {$(
        impl TryFrom<&$request> for CustomerId {
            type Error = EngineError;

            fn try_from(r: &$request) -> Result<Self, EngineError> {
                let mut v = Violations::new();
                let id = required(&mut v, "binding_id", &r.binding_id);
                id.ok_or_else(|| rejected(v))
            }
        }
    )+};
}

binding_id_of!(
    pb::RefreshBindingRequest,
    pb::RevokeBindingRequest,
    pb::InquireUserInfoRequest,
    pb::GetBindingRequest,
);

/// A parsed `ListBindings`: the filter and the page.
#[derive(Debug)]
pub struct BindingQuery {
    /// What to match.
    pub filter: engine::BindingFilter,
    /// Which page.
    pub page: engine::PageRequest,
}

impl TryFrom<&pb::ListBindingsRequest> for BindingQuery {
    type Error = EngineError;

    fn try_from(r: &pb::ListBindingsRequest) -> Result<Self, EngineError> {
        let mut v = Violations::new();
        let customer_id = optional::<CustomerId>(&mut v, "customer_id", &r.customer_id);
        let wallet = match pb::Wallet::try_from(r.wallet) {
            Err(_) => {
                v.push("wallet", "unknown wallet");
                None
            }
            Ok(pb::Wallet::Unspecified) => None,
            Ok(w) => v.check("wallet", wallet_of(w)),
        };
        let status = match pb::BindingStatus::try_from(r.status) {
            Err(_) => {
                v.push("status", "unknown binding status");
                None
            }
            Ok(pb::BindingStatus::Unspecified) => None,
            Ok(pb::BindingStatus::Active) => Some(engine::BindingStatus::Active),
            Ok(pb::BindingStatus::Revoked) => Some(engine::BindingStatus::Revoked),
            Ok(pb::BindingStatus::Expired) => Some(engine::BindingStatus::Expired),
        };
        let Some(page) = page(&mut v, r.page_size, &r.page_token) else {
            return Err(rejected(v));
        };
        v.finish(Self {
            filter: engine::BindingFilter {
                customer_id: customer_id.map(String::from),
                wallet: wallet.map(engine::stored_wallet),
                status,
            },
            page,
        })
    }
}
