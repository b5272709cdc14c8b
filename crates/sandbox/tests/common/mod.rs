//! Test harness: a merchant that signs requests with its own RSA code (not the sandbox's), sends them over
//! real loopback HTTP, and verifies every response signature with the sandbox's public key.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod card;
pub mod receiver;

use std::time::Duration;

use base64::Engine as _;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sandbox::{RunningSandbox, Sandbox, SandboxConfig, dev};
use serde_json::{Value, json};
use sha2::Sha256;

pub const PROD: &str = "/ams/api/v1/";
pub const SANDBOX_PREFIX: &str = "/ams/sandbox/api/v1/";

pub async fn start(config: SandboxConfig) -> RunningSandbox {
    Sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub fn merchant_key() -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs8_pem(dev::MERCHANT_PRIVATE_KEY_PEM).unwrap()
}

pub fn sign_b64(key: &RsaPrivateKey, content: &str) -> String {
    let sig: Signature = SigningKey::<Sha256>::new(key.clone()).sign(content.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
}

pub fn signature_header(
    key: &RsaPrivateKey,
    method: &str,
    path: &str,
    client_id: &str,
    time: &str,
    body: &str,
) -> String {
    let b64 = sign_b64(key, &format!("{method} {path}\n{client_id}.{time}.{body}"));
    format!(
        "algorithm=RSA256,keyVersion=1,signature={}",
        utf8_percent_encode(&b64, NON_ALPHANUMERIC)
    )
}

pub fn now_ms() -> String {
    chrono::Utc::now().timestamp_millis().to_string()
}

/// A response with its signature checked.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub raw: String,
    pub body: Value,
    pub signature_valid: bool,
}

/// Replaces (or, with an empty value, removes) a header, matching names case-insensitively.
pub fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    if !value.is_empty() {
        headers.push((name.to_owned(), value.to_owned()));
    }
}

impl Answer {
    pub fn result(&self) -> (&str, &str) {
        let r = &self.body["result"];
        (
            r["resultStatus"].as_str().unwrap_or(""),
            r["resultCode"].as_str().unwrap_or(""),
        )
    }

    pub fn field(&self, name: &str) -> &str {
        self.body[name]
            .as_str()
            .unwrap_or_else(|| panic!("no string field {name} in {}", self.raw))
    }

    #[track_caller]
    pub fn expect(&self, status: &str, code: &str) -> &Self {
        assert_eq!(
            self.result(),
            (status, code),
            "unexpected answer: {}",
            self.raw
        );
        assert!(
            self.signature_valid,
            "response signature does not verify: {:?}",
            self.headers
        );
        self
    }
}

pub fn verify_response(
    alipay: &RsaPublicKey,
    path: &str,
    client_id: &str,
    headers: &reqwest::header::HeaderMap,
    raw: &str,
) -> bool {
    let (Some(time), Some(sig)) = (headers.get("response-time"), headers.get("signature")) else {
        return false;
    };
    let sig = sig.to_str().unwrap();
    let value = sig
        .split(',')
        .find_map(|p| p.trim().strip_prefix("signature="))
        .unwrap();
    let decoded = percent_decode_str(value).decode_utf8().unwrap();
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(decoded.as_bytes()) else {
        return false;
    };
    let content = format!("POST {path}\n{client_id}.{}.{raw}", time.to_str().unwrap());
    let signature = Signature::try_from(&bytes[..]).unwrap();
    VerifyingKey::<Sha256>::new(alipay.clone())
        .verify(content.as_bytes(), &signature)
        .is_ok()
}

/// A signing merchant bound to one sandbox.
pub struct Merchant {
    pub http: reqwest::Client,
    pub base: String,
    pub client_id: String,
    pub key: RsaPrivateKey,
    pub alipay: RsaPublicKey,
}

impl Merchant {
    pub fn new(sandbox: &RunningSandbox) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: sandbox.base_url(),
            client_id: dev::CLIENT_ID.to_owned(),
            key: merchant_key(),
            alipay: RsaPublicKey::from_public_key_pem(sandbox.alipay_public_key_pem()).unwrap(),
        }
    }

    /// Signs and posts a compact body to `/ams/api/v1/<endpoint>`.
    pub async fn call(&self, endpoint: &str, body: &Value) -> Answer {
        self.post_raw(&format!("{PROD}{endpoint}"), &body.to_string())
            .await
    }

    /// Signs and posts exactly `body` to `path`.
    pub async fn post_raw(&self, path: &str, body: &str) -> Answer {
        self.send(path, body, |_, _| {}).await.unwrap()
    }

    /// Signs and posts, letting `alter` replace headers (names are case-insensitive) or the body sent.
    pub async fn send(
        &self,
        path: &str,
        body: &str,
        alter: impl FnOnce(&mut Vec<(String, String)>, &mut String),
    ) -> reqwest::Result<Answer> {
        let time = now_ms();
        let signature = signature_header(&self.key, "POST", path, &self.client_id, &time, body);
        let mut headers = vec![
            (
                "content-type".to_owned(),
                "application/json; charset=UTF-8".to_owned(),
            ),
            ("client-id".to_owned(), self.client_id.clone()),
            ("request-time".to_owned(), time),
            ("signature".to_owned(), signature),
        ];
        let mut sent = body.to_owned();
        alter(&mut headers, &mut sent);
        let mut request = self.http.post(format!("{}{path}", self.base)).body(sent);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let raw = response.text().await?;
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        let signature_valid = verify_response(&self.alipay, path, &self.client_id, &headers, &raw);
        Ok(Answer {
            status,
            headers,
            raw,
            body,
            signature_valid,
        })
    }

    /// A GET of a sandbox page.
    pub async fn get_page(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    /// A form POST to a sandbox page.
    pub async fn post_form(&self, url: &str, form: &str) -> reqwest::Response {
        self.http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// consult → H5 page → applyToken: a fresh access token for `wallet` with `scopes`.
    pub async fn authorize(&self, wallet: &str, scopes: &[&str]) -> Answer {
        let consult = self
            .call(
                "authorizations/consult",
                &json!({
                    "customerBelongsTo": wallet,
                    "authRedirectUrl": "https://merchant.example/return?from=sandbox",
                    "scopes": scopes,
                    "authState": "state-1",
                    "terminalType": "WEB",
                }),
            )
            .await;
        consult.expect("S", "SUCCESS");
        let page = self.post_form(consult.field("authUrl"), "otp=1234").await;
        assert_eq!(page.status(), 303);
        let location = page.headers()["location"].to_str().unwrap().to_owned();
        let url = url::Url::parse(&location).unwrap();
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "authCode")
            .unwrap()
            .1
            .into_owned();
        self.call(
            "authorizations/applyToken",
            &json!({"grantType": "AUTHORIZATION_CODE", "customerBelongsTo": wallet, "authCode": code}),
        )
        .await
    }

    /// A cashier payment of 1000 (notifications to `notify_url`, if given) that the buyer settles on the cashier
    /// page with `action` (`pay` or `fail`); returns the pay answer.
    pub async fn cashier_settled(&self, notify_url: Option<&str>, action: &str) -> Answer {
        let mut body = cashier_pay(&unique("cashier"), "1000");
        if let Some(url) = notify_url {
            body["paymentNotifyUrl"] = json!(url);
        }
        let answer = self.call("payments/pay", &body).await;
        answer.expect("U", "PAYMENT_IN_PROCESS");
        let page = self
            .post_form(answer.field("normalUrl"), &format!("action={action}"))
            .await;
        assert!(page.status().is_success(), "cashier: {}", page.status());
        answer
    }

    pub async fn access_token(&self, wallet: &str) -> String {
        let answer = self
            .authorize(wallet, &["AGREEMENT_PAY", "BASE_USER_INFO"])
            .await;
        answer.expect("S", "SUCCESS");
        answer.field("accessToken").to_owned()
    }
}

/// A pay body for an agreement payment.
pub fn agreement_pay(request_id: &str, token: &str, value: &str) -> Value {
    json!({
        "productCode": "AGREEMENT_PAYMENT",
        "paymentRequestId": request_id,
        "paymentAmount": {"currency": "PHP", "value": value},
        "order": {
            "referenceOrderId": format!("order-{request_id}"),
            "orderDescription": "Sandbox test order",
            "orderAmount": {"currency": "PHP", "value": value},
        },
        "paymentMethod": {"paymentMethodType": "GCASH", "paymentMethodId": token},
    })
}

/// A pay body for a cashier payment.
pub fn cashier_pay(request_id: &str, value: &str) -> Value {
    json!({
        "productCode": "CASHIER_PAYMENT",
        "paymentRequestId": request_id,
        "paymentAmount": {"currency": "PHP", "value": value},
        "order": {"referenceOrderId": "order-1", "orderDescription": "Sandbox test order"},
        "paymentMethod": {"paymentMethodType": "GCASH"},
        "env": {"terminalType": "WEB"},
    })
}

/// A refund body for `value` PHP minor units of a payment.
pub fn refund_body(request_id: &str, payment_id: &str, value: &str) -> Value {
    json!({
        "refundRequestId": request_id,
        "paymentId": payment_id,
        "refundAmount": {"currency": "PHP", "value": value},
        "refundReason": "customer request"
    })
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
