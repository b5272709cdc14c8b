//! Shared set-up for the tests that talk to the real sandbox over loopback HTTP.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alipay::model::*;
use alipay::{AlipayClient, CallObserver, CallRecord, ClientConfig, PathPrefix};
use sandbox::{RunningSandbox, Sandbox, SandboxConfig};

pub const CLIENT_ID: &str = "SANDBOX_DEV_CLIENT";
pub const MERCHANT_PRIVATE_KEY: &str =
    include_str!("../../../../keys/dev/merchant-private.TEST-ONLY.pem");
pub const WALLET: &str = "GCASH";

/// Collects every call record.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<CallRecord>>);

impl CallObserver for Recorder {
    fn on_call(&self, record: &CallRecord) {
        self.0.lock().unwrap().push(record.clone());
    }
}

impl Recorder {
    pub fn records(&self) -> Vec<CallRecord> {
        self.0.lock().unwrap().clone()
    }
}

pub struct TestEnv {
    pub sandbox: RunningSandbox,
    pub client: AlipayClient,
    pub recorder: Arc<Recorder>,
}

pub async fn start_with(config: SandboxConfig) -> TestEnv {
    let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts");
    let recorder = Arc::new(Recorder::default());
    let client = AlipayClient::new(client_config(&sandbox))
        .expect("client builds")
        .with_observer(recorder.clone());
    TestEnv {
        sandbox,
        client,
        recorder,
    }
}

pub async fn start() -> TestEnv {
    start_with(SandboxConfig::development()).await
}

pub fn client_config(sandbox: &RunningSandbox) -> ClientConfig {
    ClientConfig::new(
        CLIENT_ID,
        MERCHANT_PRIVATE_KEY,
        sandbox.alipay_public_key_pem(),
        sandbox.base_url(),
    )
    .with_path_prefix(PathPrefix::Sandbox)
    .with_request_timeout(Duration::from_secs(10))
}

/// Consult → H5 page (4 digits) → 303 with authCode → applyToken: returns the access and refresh tokens.
pub async fn bind_wallet(client: &AlipayClient, auth_state: &str) -> (Secret, Option<Secret>) {
    let auth_code = authorize(client, auth_state).await;
    let token = client
        .apply_token(&ApplyTokenRequest::authorization_code(
            WALLET,
            auth_code.as_str(),
        ))
        .await
        .expect("applyToken answers");
    assert_eq!(token.outcome, alipay::Outcome::Success);
    (
        token.body.access_token.expect("access token"),
        token.body.refresh_token,
    )
}

/// Consult → H5 page (4 digits) → 303: returns the authCode from the redirect.
pub async fn authorize(client: &AlipayClient, auth_state: &str) -> String {
    let consult = client
        .consult(&ConsultRequest {
            customer_belongs_to: WALLET.into(),
            auth_client_id: None,
            auth_redirect_url: "https://merchant.example/alipay/return".into(),
            scopes: vec![Scope::AgreementPay, Scope::UserInfo],
            auth_state: auth_state.into(),
            terminal_type: TerminalType::Web,
            os_type: None,
            os_version: None,
            merchant_region: None,
            recurring_payment: None,
            auth_notify_url: None,
            env: None,
            merchant_account_id: None,
        })
        .await
        .expect("consult answers");
    assert_eq!(consult.outcome, alipay::Outcome::Success);
    let auth_url = consult
        .body
        .auth_url
        .or(consult.body.normal_url)
        .expect("consult returns an authUrl");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser
        .get(&auth_url)
        .send()
        .await
        .expect("auth page loads");
    assert_eq!(page.status(), 200);
    let submitted = browser
        .post(&auth_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("otp=1234")
        .send()
        .await
        .expect("auth form posts");
    assert_eq!(submitted.status(), 303);
    let location = submitted.headers()["location"].to_str().unwrap().to_owned();
    let location = url::Url::parse(&location).unwrap();
    assert!(
        location
            .as_str()
            .starts_with("https://merchant.example/alipay/return")
    );
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("authState").as_deref(), Some(auth_state));
    param("authCode").expect("authCode in redirect")
}

/// An AGREEMENT_PAYMENT pay request in PHP.
pub fn agreement_pay(request_id: &str, value: u64, access_token: &Secret) -> PayRequest {
    let amount = Amount::new("PHP", value);
    PayRequest::new(
        ProductCode::AgreementPayment,
        request_id,
        amount.clone(),
        Order::new(format!("order-{request_id}"), "Sandbox test order", amount),
        PaymentMethod::with_id(WALLET, access_token.clone()),
    )
}

/// A CASHIER_PAYMENT pay request in PHP (no token needed).
pub fn cashier_pay(request_id: &str, value: u64) -> PayRequest {
    let amount = Amount::new("PHP", value);
    let mut pay = PayRequest::new(
        ProductCode::CashierPayment,
        request_id,
        amount.clone(),
        Order::new(format!("order-{request_id}"), "Sandbox test order", amount),
        PaymentMethod::of_type(WALLET),
    );
    pay.env = Some(alipay::model::Env::new(TerminalType::Web));
    pay
}
