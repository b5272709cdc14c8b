//! Wallet authorization: consult (→ the H5 page), applyToken (authCode and refresh token grants), revoke,
//! and inquiryUserInfo. Tokens are opaque random strings, valid for the configured TTLs.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::codes;
use crate::payments::{OS_TYPES, TERMINAL_TYPES};
use crate::reply::Reply;
use crate::state::{AuthCode, AuthSession, State, Token, iso, new_id};
use crate::validate::{Checked, Fields, absolute_url};
use crate::wallets::{self, WALLETS};

/// The documented `scopes` values.
const SCOPES: &[&str] = &[
    "BASE_USER_INFO",
    "AGREEMENT_PAY",
    "USER_INFO",
    "USER_LOGIN_ID",
    "HASH_LOGIN_ID",
    "SEND_OTP",
    "TAOBAO_REBIND",
];

fn ttl(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn plus(now: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    now.checked_add_signed(ttl(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn parse_consult(body: &Value) -> Checked<AuthSession> {
    let f = Fields::root(body)?;
    let wallet = f.required_enum("customerBelongsTo", WALLETS)?;
    f.str("authClientId", 64)?;
    let redirect_url = f.required_str("authRedirectUrl", 1024)?;
    absolute_url("authRedirectUrl", redirect_url)?;
    let scopes = f
        .str_array("scopes")?
        .ok_or_else(|| Box::new(Reply::param_illegal("scopes is required")))?;
    if scopes.is_empty() || scopes.len() > 4 {
        return Err(Box::new(Reply::param_illegal(
            "scopes must hold 1 to 4 elements",
        )));
    }
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(s)) {
        return Err(Box::new(Reply::param_illegal(format!(
            "scopes holds {bad:?}; allowed: {}",
            SCOPES.join(", ")
        ))));
    }
    let auth_state = f.required_str("authState", 256)?;
    let terminal = f.required_enum("terminalType", TERMINAL_TYPES)?;
    let os_type = f.enum_str("osType", OS_TYPES)?;
    if terminal != "WEB" && os_type.is_none() {
        return Err(Box::new(Reply::param_illegal(format!(
            "osType is required when terminalType is {terminal}"
        ))));
    }
    f.str("osVersion", 16)?;
    f.str("merchantRegion", 2)?;
    let notify_url = f.str("authNotifyUrl", 2048)?;
    if let Some(url) = notify_url {
        absolute_url("authNotifyUrl", url)?;
    }
    Ok(AuthSession {
        client_id: String::new(),
        wallet: wallet.to_owned(),
        redirect_url: redirect_url.to_owned(),
        auth_state: auth_state.to_owned(),
        scopes: scopes.into_iter().map(str::to_owned).collect(),
        notify_url: notify_url.map(str::to_owned),
    })
}

/// `POST /v1/authorizations/consult`: registers an authorization session and links to its H5 page.
pub fn consult(app: &App, client_id: &str, body: &Value) -> Reply {
    let mut session = match parse_consult(body) {
        Ok(session) => session,
        Err(reply) => return *reply,
    };
    session.client_id = client_id.to_owned();
    session.notify_url = app.notifier.url_for(session.notify_url.as_deref());
    let id = uuid::Uuid::new_v4().simple().to_string();
    let url = format!("{}/sandbox/auth/{id}", app.base_url);
    app.state().auth_sessions.insert(id, session);
    let mut fields = Map::new();
    fields.insert("authUrl".into(), json!(url));
    fields.insert("normalUrl".into(), json!(url));
    Reply::success(fields)
}

/// Issues an authCode for a session (the H5 page's login); `None` for an unknown session.
pub(crate) fn issue_auth_code(app: &App, session_id: &str) -> Option<(String, AuthSession)> {
    let now = app.clock.now();
    let mut state = app.state();
    let session = state.auth_sessions.get(session_id)?.clone();
    let code = uuid::Uuid::new_v4().hyphenated().to_string();
    state.auth_codes.insert(
        code.clone(),
        AuthCode {
            client_id: session.client_id.clone(),
            wallet: session.wallet.clone(),
            scopes: session.scopes.clone(),
            expires_at: plus(now, app.limits.auth_code_ttl),
            used: false,
            notify_url: session.notify_url.clone(),
        },
    );
    Some((code, session))
}

/// A token usable at `now` by `client_id`; `Err` says why not (for the INVALID_ACCESS_TOKEN message).
pub(crate) fn usable_token<'s>(
    state: &'s State,
    client_id: &str,
    access_token: &str,
    now: DateTime<Utc>,
) -> Result<&'s Token, &'static str> {
    let token = state
        .tokens
        .get(access_token)
        .filter(|t| t.client_id == client_id)
        .ok_or("the access token does not exist")?;
    if token.revoked {
        return Err("the access token has been revoked");
    }
    if now >= token.access_expires {
        return Err("the access token has expired");
    }
    Ok(token)
}

fn issue_token(app: &App, state: &mut State, template: Token, now: DateTime<Utc>) -> Reply {
    let access_token = new_id(now);
    let token = Token {
        refresh_token: new_id(now),
        access_expires: plus(now, app.limits.access_token_ttl),
        refresh_expires: plus(now, app.limits.refresh_token_ttl),
        revoked: false,
        ..template
    };
    let mut fields = Map::new();
    fields.insert("accessToken".into(), json!(access_token));
    fields.insert(
        "accessTokenExpiryTime".into(),
        json!(iso(token.access_expires)),
    );
    fields.insert("refreshToken".into(), json!(token.refresh_token));
    fields.insert(
        "refreshTokenExpiryTime".into(),
        json!(iso(token.refresh_expires)),
    );
    fields.insert("userLoginId".into(), json!(token.user.user_login_id));
    fields.insert(
        "pspCustomerInfo".into(),
        json!({"pspName": token.wallet, "pspCustomerId": token.user.user_id, "displayCustomerId": token.user.user_login_id}),
    );
    state
        .refresh_index
        .insert(token.refresh_token.clone(), access_token.clone());
    state.tokens.insert(access_token, token);
    Reply::success(fields)
}

/// `POST /v1/authorizations/applyToken`.
pub fn apply_token(app: &App, client_id: &str, body: &Value) -> Reply {
    let parsed = (|| -> Checked<_> {
        let f = Fields::root(body)?;
        let grant = f.required_enum("grantType", &["AUTHORIZATION_CODE", "REFRESH_TOKEN"])?;
        let wallet = f.required_enum("customerBelongsTo", WALLETS)?;
        f.str("merchantRegion", 2)?;
        let secret = if grant == "AUTHORIZATION_CODE" {
            f.str("authCode", 128)?.ok_or_else(|| {
                Box::new(Reply::param_illegal(
                    "authCode is required when grantType is AUTHORIZATION_CODE",
                ))
            })?
        } else {
            f.str("refreshToken", 128)?.ok_or_else(|| {
                Box::new(Reply::param_illegal(
                    "refreshToken is required when grantType is REFRESH_TOKEN",
                ))
            })?
        };
        Ok((grant, wallet, secret))
    })();
    let (grant, wallet, secret) = match parsed {
        Ok(parsed) => parsed,
        Err(reply) => return *reply,
    };
    let now = app.clock.now();
    let mut state = app.state();
    if grant == "AUTHORIZATION_CODE" {
        let Some(code) = state
            .auth_codes
            .get_mut(secret)
            .filter(|c| c.client_id == client_id && c.wallet == wallet)
        else {
            return Reply::failed_with(codes::INVALID_CODE, "the authCode does not exist");
        };
        if code.used {
            return Reply::failed_with(codes::INVALID_CODE, "the authCode has already been used");
        }
        if now >= code.expires_at {
            return Reply::failed(codes::EXPIRED_CODE);
        }
        code.used = true;
        let template = Token {
            refresh_token: String::new(),
            client_id: client_id.to_owned(),
            wallet: code.wallet.clone(),
            scopes: code.scopes.clone(),
            user: wallets::test_user(&code.wallet),
            access_expires: now,
            refresh_expires: now,
            revoked: false,
            notify_url: code.notify_url.clone(),
        };
        return issue_token(app, &mut state, template, now);
    }
    let Some(old_access) = state.refresh_index.get(secret).cloned() else {
        return Reply::failed_with(
            codes::INVALID_REFRESH_TOKEN,
            "the refresh token does not exist",
        );
    };
    let Some(old) = state
        .tokens
        .get(&old_access)
        .filter(|t| t.client_id == client_id && t.wallet == wallet)
        .cloned()
    else {
        return Reply::failed_with(
            codes::INVALID_REFRESH_TOKEN,
            "the refresh token does not exist",
        );
    };
    if old.revoked {
        return Reply::failed_with(
            codes::INVALID_REFRESH_TOKEN,
            "the authorization has been revoked",
        );
    }
    if now >= old.refresh_expires {
        return Reply::failed_with(
            codes::INVALID_REFRESH_TOKEN,
            "the refresh token has expired",
        );
    }
    // Rotation: the old pair stops working as soon as the new one exists.
    state.refresh_index.remove(secret);
    if let Some(t) = state.tokens.get_mut(&old_access) {
        t.revoked = true;
    }
    issue_token(app, &mut state, old, now)
}

fn access_token_field(body: &Value) -> Result<&str, Reply> {
    Fields::root(body)
        .and_then(|f| f.required_str("accessToken", 128))
        .map_err(|r| *r)
}

/// `POST /v1/authorizations/revoke`: revoking twice is S (the authorization is gone either way).
pub fn revoke(app: &App, client_id: &str, body: &Value) -> Reply {
    let access_token = match access_token_field(body) {
        Ok(token) => token,
        Err(reply) => return reply,
    };
    let mut state = app.state();
    let Some(token) = state
        .tokens
        .get_mut(access_token)
        .filter(|t| t.client_id == client_id)
    else {
        return Reply::failed_with(
            codes::INVALID_ACCESS_TOKEN,
            "the access token does not exist",
        );
    };
    token.revoked = true;
    Reply::success(Map::new())
}

/// `POST /v1/users/inquiryUserInfo`: needs BASE_USER_INFO or USER_INFO among the token's scopes.
pub fn inquiry_user_info(app: &App, client_id: &str, body: &Value) -> Reply {
    let access_token = match access_token_field(body) {
        Ok(token) => token,
        Err(reply) => return reply,
    };
    let now = app.clock.now();
    let state = app.state();
    let token = match usable_token(&state, client_id, access_token, now) {
        Ok(token) => token,
        Err(message) => return Reply::failed_with(codes::INVALID_ACCESS_TOKEN, message),
    };
    if !token
        .scopes
        .iter()
        .any(|s| s == "BASE_USER_INFO" || s == "USER_INFO")
    {
        return Reply::failed_with(
            codes::ACCESS_DENIED,
            "the authorization did not grant BASE_USER_INFO or USER_INFO",
        );
    }
    let mut fields = Map::new();
    fields.insert("userId".into(), json!(token.user.user_id));
    fields.insert("userLoginId".into(), json!(token.user.user_login_id));
    fields.insert(
        "hashUserLoginId".into(),
        json!(token.user.hash_user_login_id),
    );
    Reply::success(fields)
}
