//! Wallet authorization: consult validation, the H5 page, applyToken (code and refresh grants), expiry,
//! revoke and inquiryUserInfo scopes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::time::Duration;

use common::*;
use sandbox::{Clock, SandboxConfig};
use serde_json::json;

fn consult_body() -> serde_json::Value {
    json!({
        "customerBelongsTo": "GCASH",
        "authRedirectUrl": "https://merchant.example/back",
        "scopes": ["AGREEMENT_PAY"],
        "authState": "663A8FA9-D836-48EE-8AA1-1FF682989DC7",
        "terminalType": "APP",
        "osType": "IOS",
        "osVersion": "11.0.2"
    })
}

#[tokio::test]
async fn consult_validates_fields_and_names_them() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("customerBelongsTo", json!("PAYPAL"), "customerBelongsTo"),
        (
            "authRedirectUrl",
            json!(format!("https://m.example/{}", "x".repeat(1024))),
            "authRedirectUrl",
        ),
        ("authRedirectUrl", json!("not a url"), "authRedirectUrl"),
        ("scopes", json!([]), "scopes"),
        ("scopes", json!(["A", "B", "C", "D", "E"]), "scopes"),
        ("scopes", json!(["AGREEMENT_PAYMENT"]), "scopes"),
        ("authState", json!("s".repeat(257)), "authState"),
        ("terminalType", json!("TV"), "terminalType"),
        ("osType", json!(null), "osType"),
        ("osVersion", json!("1".repeat(17)), "osVersion"),
        ("merchantRegion", json!("USA"), "merchantRegion"),
    ];
    for (field, value, mention) in cases {
        let mut body = consult_body();
        body[field] = value;
        let answer = m.call("authorizations/consult", &body).await;
        answer.expect("F", "PARAM_ILLEGAL");
        let message = answer.body["result"]["resultMessage"].as_str().unwrap();
        assert!(message.contains(mention), "{field}: {message}");
    }
    let mut web = consult_body();
    web["terminalType"] = json!("WEB");
    web.as_object_mut().unwrap().remove("osType");
    m.call("authorizations/consult", &web)
        .await
        .expect("S", "SUCCESS");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn h5_page_logs_in_with_four_digits_and_redirects_with_code_and_state() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let mut body = consult_body();
    body["authRedirectUrl"] = json!("https://merchant.example/back?order=42");
    let consult = m.call("authorizations/consult", &body).await;
    consult.expect("S", "SUCCESS");
    let auth_url = consult.field("authUrl").to_owned();
    assert!(
        auth_url.starts_with(&format!("{}/sandbox/auth/", sandbox.base_url())),
        "{auth_url}"
    );
    assert_eq!(consult.field("normalUrl"), auth_url);

    let page = m.get_page(&auth_url).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("GCASH") && html.contains("<form"), "{html}");

    for bad in ["otp=123", "otp=12345", "otp=abcd", ""] {
        let response = m.post_form(&auth_url, bad).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert!(response.text().await.unwrap().contains("4 digits"));
    }
    let response = m.post_form(&auth_url, "otp=0000").await;
    assert_eq!(response.status(), 303);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.path(), "/back");
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["order"], "42");
    assert_eq!(pairs["authState"], "663A8FA9-D836-48EE-8AA1-1FF682989DC7");
    assert!(!pairs["authCode"].is_empty());

    let unknown = m
        .get_page(&format!("{}/sandbox/auth/nope", sandbox.base_url()))
        .await;
    assert_eq!(unknown.status(), 404);
    sandbox.shutdown().await;
}

async fn auth_code(m: &Merchant, scopes: &[&str]) -> String {
    let mut body = consult_body();
    body["scopes"] = json!(scopes);
    let consult = m.call("authorizations/consult", &body).await;
    let response = m.post_form(consult.field("authUrl"), "otp=1234").await;
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "authCode")
        .unwrap()
        .1
        .into_owned()
}

fn apply(code: &str) -> serde_json::Value {
    json!({"grantType": "AUTHORIZATION_CODE", "customerBelongsTo": "GCASH", "authCode": code})
}

#[tokio::test]
async fn auth_codes_are_single_use_and_expire() {
    let clock = Clock::new();
    let sandbox = start(SandboxConfig::development().with_clock(clock.clone())).await;
    let m = Merchant::new(&sandbox);
    let code = auth_code(&m, &["AGREEMENT_PAY"]).await;
    let token = m.call("authorizations/applyToken", &apply(&code)).await;
    token.expect("S", "SUCCESS");
    for field in ["accessToken", "refreshToken", "userLoginId"] {
        assert!(!token.field(field).is_empty());
    }
    for field in ["accessTokenExpiryTime", "refreshTokenExpiryTime"] {
        chrono::DateTime::parse_from_rfc3339(token.field(field)).unwrap();
    }
    assert_eq!(token.body["pspCustomerInfo"]["pspName"], "GCASH");
    m.call("authorizations/applyToken", &apply(&code))
        .await
        .expect("F", "INVALID_CODE");
    m.call("authorizations/applyToken", &apply("made-up"))
        .await
        .expect("F", "INVALID_CODE");

    let late = auth_code(&m, &["AGREEMENT_PAY"]).await;
    clock.advance(Duration::from_secs(11 * 60));
    m.call("authorizations/applyToken", &apply(&late))
        .await
        .expect("F", "EXPIRED_CODE");

    let mut other_wallet = apply(&auth_code(&m, &["AGREEMENT_PAY"]).await);
    other_wallet["customerBelongsTo"] = json!("DANA");
    m.call("authorizations/applyToken", &other_wallet)
        .await
        .expect("F", "INVALID_CODE");
    m.call(
        "authorizations/applyToken",
        &json!({"grantType": "AUTHORIZATION_CODE", "customerBelongsTo": "GCASH"}),
    )
    .await
    .expect("F", "PARAM_ILLEGAL");
    m.call(
        "authorizations/applyToken",
        &json!({"grantType": "PASSWORD", "customerBelongsTo": "GCASH"}),
    )
    .await
    .expect("F", "PARAM_ILLEGAL");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn refresh_rotates_tokens_and_expiry_is_enforced() {
    let clock = Clock::new();
    let config = SandboxConfig::development()
        .with_clock(clock.clone())
        .with_access_token_ttl(Duration::from_secs(60))
        .with_refresh_token_ttl(Duration::from_secs(600));
    let sandbox = start(config).await;
    let m = Merchant::new(&sandbox);
    let first = m.authorize("GCASH", &["AGREEMENT_PAY"]).await;
    first.expect("S", "SUCCESS");
    let old_access = first.field("accessToken").to_owned();
    let old_refresh = first.field("refreshToken").to_owned();

    m.call(
        "payments/pay",
        &agreement_pay(&unique("p"), &old_access, "800"),
    )
    .await
    .expect("S", "SUCCESS");
    clock.advance(Duration::from_secs(61));
    m.call(
        "payments/pay",
        &agreement_pay(&unique("p"), &old_access, "800"),
    )
    .await
    .expect("F", "INVALID_ACCESS_TOKEN");

    let refresh = json!({"grantType": "REFRESH_TOKEN", "customerBelongsTo": "GCASH", "refreshToken": old_refresh});
    let second = m.call("authorizations/applyToken", &refresh).await;
    second.expect("S", "SUCCESS");
    let new_access = second.field("accessToken").to_owned();
    assert_ne!(new_access, old_access);
    m.call(
        "payments/pay",
        &agreement_pay(&unique("p"), &new_access, "800"),
    )
    .await
    .expect("S", "SUCCESS");
    // The old refresh token was rotated away.
    m.call("authorizations/applyToken", &refresh)
        .await
        .expect("F", "INVALID_REFRESH_TOKEN");

    let second_refresh = json!({"grantType": "REFRESH_TOKEN", "customerBelongsTo": "GCASH", "refreshToken": second.field("refreshToken")});
    clock.advance(Duration::from_secs(601));
    m.call("authorizations/applyToken", &second_refresh)
        .await
        .expect("F", "INVALID_REFRESH_TOKEN");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn revoke_invalidates_the_token() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let token = m.access_token("GCASH").await;
    m.call("authorizations/revoke", &json!({"accessToken": token}))
        .await
        .expect("S", "SUCCESS");
    m.call("payments/pay", &agreement_pay(&unique("p"), &token, "800"))
        .await
        .expect("F", "INVALID_ACCESS_TOKEN");
    m.call("users/inquiryUserInfo", &json!({"accessToken": token}))
        .await
        .expect("F", "INVALID_ACCESS_TOKEN");
    m.call(
        "authorizations/revoke",
        &json!({"accessToken": "never-issued"}),
    )
    .await
    .expect("F", "INVALID_ACCESS_TOKEN");
    m.call("authorizations/revoke", &json!({}))
        .await
        .expect("F", "PARAM_ILLEGAL");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn inquiry_user_info_needs_a_user_info_scope() {
    let sandbox = start(SandboxConfig::development()).await;
    let m = Merchant::new(&sandbox);
    let with_scope = m.access_token("GCASH").await;
    let info = m
        .call("users/inquiryUserInfo", &json!({"accessToken": with_scope}))
        .await;
    info.expect("S", "SUCCESS");
    assert!(!info.field("userId").is_empty());
    assert_eq!(info.field("userLoginId"), "test***@sandbox.example");
    assert_eq!(info.field("hashUserLoginId").len(), 64);

    let pay_only = m.authorize("GCASH", &["AGREEMENT_PAY"]).await;
    m.call(
        "users/inquiryUserInfo",
        &json!({"accessToken": pay_only.field("accessToken")}),
    )
    .await
    .expect("F", "ACCESS_DENIED");
    let info_only = m.authorize("GCASH", &["USER_INFO"]).await;
    // A token without AGREEMENT_PAY cannot debit.
    m.call(
        "payments/pay",
        &agreement_pay(&unique("p"), info_only.field("accessToken"), "800"),
    )
    .await
    .expect("F", "ACCESS_DENIED");
    sandbox.shutdown().await;
}
