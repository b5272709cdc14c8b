//! Real parts for every test: the in-process sandbox on an ephemeral port, a real signed Alipay client, and a real
//! store on a temporary SQLite file and (when `TEST_DATABASE_URL` is set) on PostgreSQL in a schema of its own.
//! With `CI` set and no `TEST_DATABASE_URL`, tests fail rather than silently skip PostgreSQL.

use std::future::Future;
use std::time::Duration;

use alipay::checked::{Currency, Money, Scopes, Wallet};
use alipay::model::{Order, Scope, TerminalType};
use alipay::{AlipayClient, ClientConfig, PathPrefix};
use engine::{
    ApplyTokenCommand, BindingRecord, ConsultCommand, Engine, EngineConfig, PayCommand, PaySource,
};
use sandbox::{RunningSandbox, Sandbox, SandboxConfig};
use sea_orm::ConnectionTrait;
use store::{Store, TokenCipher};

/// A 32-byte test key for token encryption.
const TEST_TOKEN_KEY: [u8; 32] = [7; 32];

/// One database to run a test body against.
pub struct Backend {
    pub name: &'static str,
    pub url: String,
    cleanup: Option<(Store, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    async fn drop_schema(self) {
        if let Some((admin, schema)) = self.cleanup {
            admin
                .connection()
                .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .expect("drop schema");
        }
    }
}

async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Backend {
        name: "sqlite",
        url: format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("engine.db").display()
        ),
        cleanup: None,
        _dir: Some(dir),
    };
    let mut all = vec![sqlite];
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let admin = Store::connect(&admin_url)
                .await
                .expect("connect TEST_DATABASE_URL");
            let schema = format!("engine_test_{}", uuid::Uuid::new_v4().simple());
            admin
                .connection()
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create schema");
            let sep = if admin_url.contains('?') { '&' } else { '?' };
            all.push(Backend {
                name: "postgres",
                url: format!("{admin_url}{sep}options[search_path]={schema}"),
                cleanup: Some((admin, schema)),
                _dir: None,
            });
        }
        _ => assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but TEST_DATABASE_URL is not: the PostgreSQL tests must run in CI"
        ),
    }
    all
}

/// Runs `body` once per backend; a failure names the backend.
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn(&'static str, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for backend in backends().await {
        let name = backend.name;
        let outcome = tokio::spawn(body(name, backend.url.clone())).await;
        backend.drop_schema().await;
        if let Err(error) = outcome {
            panic!("[{name}] {error}");
        }
    }
}

/// Fast timings for tests: 50 ms inquiries, a write-ahead grace just above the longest in-flight pay call
/// (3 attempts x 300 ms client timeout + backoff).
pub fn fast_config() -> EngineConfig {
    let cipher = TokenCipher::from_key_bytes(&TEST_TOKEN_KEY).expect("cipher");
    EngineConfig {
        call_attempts: 3,
        retry_backoff: Duration::from_millis(20),
        inquiry_interval: Duration::from_millis(50),
        max_inquiries: 20,
        write_ahead_grace: Duration::from_millis(1200),
        job_lease: Duration::from_secs(10),
        poll_interval: Duration::from_millis(20),
        duplicate_wait: Duration::from_secs(10),
        duplicate_poll: Duration::from_millis(10),
        token_refresh_margin: Duration::from_secs(60),
        ..EngineConfig::new(cipher)
    }
}

/// Client timeout used by every test client.
pub const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);

/// A signed client for `sandbox`.
pub fn client(sandbox: &RunningSandbox) -> AlipayClient {
    let config = ClientConfig::new(
        sandbox::dev::CLIENT_ID,
        sandbox::dev::MERCHANT_PRIVATE_KEY_PEM,
        sandbox.alipay_public_key_pem(),
        sandbox.base_url(),
    )
    .with_path_prefix(PathPrefix::Sandbox)
    .with_request_timeout(CLIENT_TIMEOUT)
    .with_connect_timeout(Duration::from_millis(300));
    AlipayClient::new(config).expect("client")
}

/// Starts a sandbox (development keys, slow responses of 2 s: longer than the client timeout).
pub async fn start_sandbox(config: SandboxConfig) -> RunningSandbox {
    Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox")
}

pub fn sandbox_config() -> SandboxConfig {
    SandboxConfig::development().with_slow_response(Duration::from_secs(2))
}

/// Sandbox + store + engine for one test.
pub struct Env {
    pub sandbox: RunningSandbox,
    pub store: Store,
    pub engine: Engine,
}

impl Env {
    pub async fn start(url: &str) -> Env {
        Env::with(url, sandbox_config(), fast_config()).await
    }

    pub async fn with(url: &str, sandbox_config: SandboxConfig, config: EngineConfig) -> Env {
        let sandbox = start_sandbox(sandbox_config).await;
        let store = Store::connect(url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let engine = Engine::new(store.clone(), client(&sandbox), config);
        Env {
            sandbox,
            store,
            engine,
        }
    }

    /// Another engine (a second replica) on the same store and sandbox.
    pub fn replica(&self, config: EngineConfig) -> Engine {
        Engine::new(self.store.clone(), client(&self.sandbox), config)
    }

    pub fn stats(&self) -> sandbox::Stats {
        self.sandbox.stats()
    }

    /// The stored log of every Alipay call made with request id `id`, oldest first (pending records flushed).
    pub async fn call_log(&self, id: &str) -> Vec<store::calls::AlipayCall> {
        self.engine.flush_call_records().await;
        self.store
            .calls()
            .list_for_request(id)
            .await
            .expect("calls")
    }

    /// Runs the reconciler of `engine` in the background; dropping the guard stops it.
    pub fn reconcile(engine: &Engine) -> ReconcilerGuard {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let engine = engine.clone();
        let task = tokio::spawn(async move {
            engine
                .run_reconciler(async {
                    let _ = stopped.await;
                })
                .await
                .expect("reconciler");
        });
        ReconcilerGuard {
            stop: Some(stop),
            task,
        }
    }

    /// Goes through consult → H5 authorization page → applyToken and returns the binding.
    pub async fn bind(&self, scopes: Vec<Scope>) -> BindingRecord {
        let auth_code = self.authorize(&scopes).await;
        self.engine
            .apply_token(ApplyTokenCommand {
                customer_id: checked("cust-1"),
                wallet: Wallet::Gcash,
                auth_code: checked(&auth_code),
                scopes: Scopes::new(scopes).expect("scopes"),
                merchant_region: None,
            })
            .await
            .expect("apply_token")
    }

    /// Goes through consult → H5 authorization page and returns the authCode of the redirect.
    pub async fn authorize(&self, scopes: &[Scope]) -> String {
        let outcome = self
            .engine
            .consult(ConsultCommand {
                customer_id: Some(checked("cust-1")),
                wallet: Wallet::Gcash,
                auth_redirect_url: checked("https://merchant.example/auth/return"),
                auth_state: checked(&format!("state-{}", uuid::Uuid::new_v4().simple())),
                scopes: Scopes::new(scopes.to_vec()).expect("scopes"),
                terminal_type: TerminalType::Web,
                os_type: None,
                os_version: None,
                merchant_region: None,
            })
            .await
            .expect("consult");
        let auth_url = outcome.auth_url.expect("authUrl");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let answer = http
            .post(&auth_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("otp=1234")
            .send()
            .await
            .expect("auth page");
        assert_eq!(
            answer.status().as_u16(),
            303,
            "authorization page should redirect"
        );
        let location = answer.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        url_param(&location, "authCode").expect("authCode in redirect")
    }
}

pub struct ReconcilerGuard {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl ReconcilerGuard {
    /// Stops the reconciler and waits for it to return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("reconciler task");
    }
}

impl Drop for ReconcilerGuard {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn url_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A checked value for a test literal: panics on one its constructor refuses.
pub fn checked<T: std::str::FromStr>(value: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    value.parse().expect("a valid test value")
}

/// `value` PHP minor units.
pub fn php(value: u64) -> Money {
    let currency = Currency::new("PHP").expect("PHP");
    Money::new(currency, i64::try_from(value).expect("i64")).expect("a valid amount")
}

/// A GCASH agreement pay command for `value` PHP minor units.
pub fn agreement_pay(id: &str, binding_id: &str, value: u64) -> PayCommand {
    let amount = php(value);
    PayCommand {
        payment_request_id: checked(id),
        order: Order::new(format!("order-{id}"), "Mi Band strap", amount.to_wire()),
        amount,
        env: None,
        customer_id: None,
        source: PaySource::Agreement {
            binding_id: checked(binding_id),
        },
        payment_notify_url: None,
        merchant_region: None,
        metadata: Default::default(),
        is_authorization: false,
        capture_mode: None,
        payment_expiry_time: None,
    }
}

/// A GCASH cashier pay command for `value` PHP minor units: answered PAYMENT_IN_PROCESS with the cashier URL.
pub fn cashier_pay(id: &str, value: u64) -> PayCommand {
    PayCommand {
        customer_id: None,
        source: PaySource::Cashier {
            wallet: Wallet::Gcash,
            redirect_url: checked("https://merchant.example/paid"),
        },
        env: Some(alipay::model::Env::new(TerminalType::Web)),
        ..agreement_pay(id, "unused", value)
    }
}

/// An AUTOMATIC card authorization of an approving VISA for `customer`, saving the card: its answer brings the card
/// facts and a cardToken.
pub fn card_pay(id: &str, customer: &str, value: u64) -> PayCommand {
    let mut env = alipay::model::Env::new(TerminalType::Web);
    env.client_ip = Some("203.0.113.7".into());
    PayCommand {
        customer_id: Some(checked(customer)),
        source: PaySource::Card(Box::new(engine::CardPay {
            source: engine::CardSource::New {
                card: Box::new(engine::CardDetails {
                    number: alipay::model::CardNumber::new("4111111111111111"),
                    cvv: Some(alipay::model::Secret::new("123")),
                    expiry_month: "12".into(),
                    expiry_year: "39".into(),
                    cardholder_name: None,
                    billing_address: None,
                }),
                tokenize: true,
            },
            three_ds: false,
            authentication_upgrade: false,
            mpi_data: None,
            redirect_url: Some(checked("https://merchant.example/paid")),
            selected_card_brand: None,
        })),
        env: Some(env),
        is_authorization: true,
        capture_mode: Some(alipay::model::CaptureMode::Automatic),
        ..agreement_pay(id, "unused", value)
    }
}

/// An in-store pay command with a user-presented payment code.
pub fn in_store_pay(id: &str, payment_code: &str, value: u64) -> PayCommand {
    PayCommand {
        customer_id: None,
        source: PaySource::InStore {
            payment_code: checked(payment_code),
        },
        ..agreement_pay(id, "unused", value)
    }
}

/// Presses a button (`pay` or `fail`) on the sandbox cashier page of a PROCESSING cashier payment, as the buyer's
/// browser would. Returns the HTTP status of the answer.
pub async fn press_cashier_button(payment: &engine::PaymentView, action: &str) -> u16 {
    let Some(engine::NextAction::Redirect(redirect)) = &payment.payment.next_action else {
        panic!("a cashier payment carries a redirect in next_action")
    };
    let url = redirect.normal_url.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    http.post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("action={action}"))
        .send()
        .await
        .expect("cashier page")
        .status()
        .as_u16()
}

/// Waits until the payment is SUCCESS, FAIL or CANCELLED.
pub async fn settled(env: &Env, id: &str, within: Duration) -> engine::PaymentRecord {
    eventually(within, "a final payment status", || async {
        let p = env.engine.get_payment(id).await.ok()?.payment;
        matches!(
            p.status,
            engine::PaymentStatus::Success
                | engine::PaymentStatus::Fail
                | engine::PaymentStatus::Cancelled
        )
        .then_some(p)
    })
    .await
}

/// Runs the reconciler until the refund is SUCCESS or FAIL (settled by its inquiries), then stops it.
pub async fn reconcile_refund(env: &Env, refund_request_id: &str) -> store::refunds::Refund {
    let reconciler = Env::reconcile(&env.engine);
    let settled = eventually(Duration::from_secs(10), "a final refund status", || async {
        let refund = env
            .store
            .refunds()
            .get_by_request_id(refund_request_id)
            .await
            .ok()??;
        matches!(
            refund.status,
            engine::OperationStatus::Success | engine::OperationStatus::Fail
        )
        .then_some(refund)
    })
    .await;
    reconciler.stop().await;
    settled
}

/// Waits for the write-ahead intent of payment request `id` (its original call is then under way).
pub async fn intent_written(env: &Env, id: &str) -> store::payments::Payment {
    eventually(Duration::from_secs(5), "the write-ahead intent", || async {
        env.store
            .payments()
            .get_by_request_id(id)
            .await
            .ok()
            .flatten()
    })
    .await
}

/// The gateway's own id of payment request `id` (what its jobs, refunds and captures refer to).
pub async fn stored_id(env: &Env, id: &str) -> String {
    env.store
        .payments()
        .get_by_request_id(id)
        .await
        .expect("read")
        .expect("payment")
        .id
}

/// Asserts that `answer` is a payment whose outcome is not final yet: the PROCESSING record with a retry hint.
pub fn assert_pending_view(
    backend: &str,
    answer: Result<engine::PaymentView, engine::EngineError>,
) {
    let Ok(answer) = answer else {
        panic!("[{backend}] a pending view expected: {answer:?}")
    };
    assert_eq!(
        (answer.payment.status, answer.retry_after.is_some()),
        (engine::PaymentStatus::Processing, true),
        "[{backend}] not final yet: the record with a retry hint"
    );
}

/// The access token a binding holds now, read from the store (the engine never answers tokens).
pub async fn access_token(env: &Env, binding_id: &str) -> String {
    let cipher = TokenCipher::from_key_bytes(&TEST_TOKEN_KEY).expect("cipher");
    env.store
        .bindings(&cipher)
        .get(binding_id)
        .await
        .expect("read")
        .expect("binding")
        .credentials
        .access_token
        .expose()
        .to_owned()
}

/// A unique payment request id.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Polls `check` until it returns `Some`, failing after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
