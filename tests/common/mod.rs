//! Shared harness of the black-box tests: a real sandbox (in this process, so it outlives gateway restarts and
//! its counters are readable), the real `alipay-gateway` binary on an ephemeral port, and a fresh store per test
//! on every backend (SQLite always; PostgreSQL from `TEST_DATABASE_URL`, mandatory when `CI` is set).
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use pb::authorization_service_client::AuthorizationServiceClient;
use pb::card_service_client::CardServiceClient;
use pb::payment_service_client::PaymentServiceClient;
use sea_orm::ConnectionTrait;
use tonic::transport::Channel;

/// The test merchant's development keys (committed, throw-away).
pub const MERCHANT_PRIVATE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/keys/dev/merchant-private.TEST-ONLY.pem"
);
/// The fixed development token key (any valid 32-byte key works for tests).
pub const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Polls `check` until it returns `Some`, failing after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A database backend the suite runs against.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database created on the server named by `TEST_DATABASE_URL`.
    Postgres(String),
}

/// The backends to run every scenario on.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => all.push(Backend::Postgres(url)),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but TEST_DATABASE_URL is not: the PostgreSQL half of the suite cannot be skipped"
            )
        }
        _ => eprintln!("TEST_DATABASE_URL is unset: running on SQLite only"),
    }
    all
}

/// Runs `scenario` once per backend, each time with a fresh store.
pub async fn for_each_backend<F, Fut>(scenario: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        eprintln!("--- backend: {}", backend.name());
        let db = TestDb::create(&backend).await;
        let drop_after = db.postgres_name.clone();
        scenario(db).await;
        if let (Backend::Postgres(admin_url), Some(name)) = (&backend, drop_after) {
            let admin = sea_orm::Database::connect(admin_url.as_str())
                .await
                .expect("connect TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .expect("DROP DATABASE");
            admin.close().await.expect("close admin connection");
        }
    }
}

impl Backend {
    /// Short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// A fresh store: its URL and the directory the gateway runs in.
#[derive(Debug)]
pub struct TestDb {
    /// The store URL handed to the gateway.
    pub url: String,
    /// Which backend.
    pub backend: &'static str,
    /// Working directory of the gateway (holds the SQLite file and the gateway logs).
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database created for this test (dropped afterwards).
    postgres_name: Option<String>,
}

impl TestDb {
    async fn create(backend: &Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut postgres_name = None;
        let url = match backend {
            Backend::Sqlite => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("gateway.db").display()
            ),
            Backend::Postgres(admin_url) => {
                let name = format!("gw_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(admin_url.as_str())
                    .await
                    .expect("connect TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("CREATE DATABASE (the role needs CREATEDB)");
                admin.close().await.expect("close admin connection");
                let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                postgres_name = Some(name);
                url.to_string()
            }
        };
        TestDb {
            url,
            backend: backend.name(),
            dir,
            postgres_name,
        }
    }

    /// The PostgreSQL database of this test, if it runs on PostgreSQL.
    pub fn postgres_name(&self) -> Option<&str> {
        self.postgres_name.as_deref()
    }

    /// A direct store handle (for waiting on write-ahead rows).
    pub async fn store(&self) -> store::Store {
        store::Store::connect(&self.url)
            .await
            .expect("connect test store")
    }
}

/// A sandbox started in this process on a loopback ephemeral port.
pub async fn start_sandbox(slow_response: Duration) -> sandbox::RunningSandbox {
    sandbox::Sandbox::start(
        sandbox::SandboxConfig::development().with_slow_response(slow_response),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("sandbox starts")
}

/// Settings of one gateway process; the defaults keep the suite fast.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub request_timeout: &'static str,
    pub call_attempts: u32,
    pub retry_backoff: &'static str,
    pub inquiry_interval: &'static str,
    pub max_inquiries: u32,
    pub write_ahead_grace: &'static str,
    /// More environment for the process, applied last (so it can override the settings above, e.g. the upstream).
    pub extra_env: Vec<(&'static str, String)>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            request_timeout: "5s",
            call_attempts: 3,
            retry_backoff: "50ms",
            inquiry_interval: "100ms",
            max_inquiries: 5,
            write_ahead_grace: "16s",
            extra_env: Vec::new(),
        }
    }
}

/// The usual pair of a black-box test: a sandbox (10 s slow answers) and the gateway binary on `db` with the
/// default test options.
pub async fn start_default(db: &TestDb) -> (sandbox::RunningSandbox, GatewayProcess) {
    let sandbox = start_sandbox(Duration::from_secs(10)).await;
    let gateway = GatewayProcess::start(db, &sandbox, &GatewayOptions::default());
    (sandbox, gateway)
}

/// The `alipay-gateway serve` process; killed when dropped.
#[derive(Debug)]
pub struct GatewayProcess {
    child: Child,
    /// The bound gRPC address.
    pub addr: SocketAddr,
    /// The bound notification listener address.
    pub notify_addr: Option<SocketAddr>,
    log: PathBuf,
    /// The upstream sandbox's credentials, written beside the log for the suite's credential scan.
    credentials: sandbox::CredentialsProbe,
}

/// `ALIPAY_GATEWAY_TEST_LOG_DIR`: when set (scripts/test sets it), every gateway process logs at trace level in
/// JSON into this directory, and the credentials its sandbox issued or received are written beside the log, so
/// that the whole suite's logs can be scanned for them afterwards (tests/scan_logs.py).
pub fn log_scan_dir() -> Option<PathBuf> {
    std::env::var_os("ALIPAY_GATEWAY_TEST_LOG_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

impl GatewayProcess {
    /// Starts the binary against `db` with the sandbox at `sandbox_url` as upstream and waits until it prints
    /// its bound address.
    pub fn start(
        db: &TestDb,
        sandbox: &sandbox::RunningSandbox,
        options: &GatewayOptions,
    ) -> GatewayProcess {
        let key_file = db.dir.path().join("alipay-public.pem");
        std::fs::write(&key_file, sandbox.alipay_public_key_pem()).expect("write sandbox key");
        let scan_dir = log_scan_dir();
        let log = scan_dir
            .as_deref()
            .unwrap_or(db.dir.path())
            .join(format!("gateway-{}.log", uuid::Uuid::new_v4().simple()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_alipay-gateway"));
        command
            .current_dir(db.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.url)
            .env("ALIPAY_GATEWAY_UPSTREAM", sandbox.base_url())
            .env("ALIPAY_GATEWAY_CLIENT_ID", sandbox::dev::CLIENT_ID)
            .env(
                "ALIPAY_GATEWAY_MERCHANT_PRIVATE_KEY_FILE",
                MERCHANT_PRIVATE_KEY,
            )
            .env("ALIPAY_GATEWAY_ALIPAY_PUBLIC_KEY_FILE", &key_file)
            .env("ALIPAY_GATEWAY_TOKEN_KEY", TOKEN_KEY)
            .env("ALIPAY_GATEWAY_REQUEST_TIMEOUT", options.request_timeout)
            .env(
                "ALIPAY_GATEWAY_CALL_ATTEMPTS",
                options.call_attempts.to_string(),
            )
            .env("ALIPAY_GATEWAY_RETRY_BACKOFF", options.retry_backoff)
            .env("ALIPAY_GATEWAY_INQUIRY_INTERVAL", options.inquiry_interval)
            .env(
                "ALIPAY_GATEWAY_MAX_INQUIRIES",
                options.max_inquiries.to_string(),
            )
            .env(
                "ALIPAY_GATEWAY_WRITE_AHEAD_GRACE",
                options.write_ahead_grace,
            )
            .env("ALIPAY_GATEWAY_RECONCILER_POLL_INTERVAL", "50ms")
            .env("ALIPAY_GATEWAY_HEALTH_PROBE_INTERVAL", "200ms")
            .env("ALIPAY_GATEWAY_NOTIFY_LISTEN", "127.0.0.1:0")
            .envs(match scan_dir {
                // The whole suite's logs are scanned for credentials: log everything, as JSON.
                Some(_) => [
                    ("ALIPAY_GATEWAY_LOG", "trace"),
                    ("ALIPAY_GATEWAY_LOG_FORMAT", "json"),
                ],
                None => [
                    ("ALIPAY_GATEWAY_LOG", "info,engine=debug"),
                    ("ALIPAY_GATEWAY_LOG_FORMAT", "text"),
                ],
            })
            .envs(options.extra_env.iter().map(|(name, value)| (name, value)))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("log file"));
        let mut child = command.spawn().expect("spawn alipay-gateway");
        let (addr, before) = read_until_listening(&mut child, "alipay-gateway listening on ", &log);
        let notify_addr = before.iter().find_map(|line| {
            line.strip_prefix("alipay-gateway notifications on ")
                .and_then(|a| a.trim().parse().ok())
        });
        GatewayProcess {
            child,
            addr,
            notify_addr,
            log,
            credentials: sandbox.credentials_probe(),
        }
    }

    /// `http://ADDR` for tonic clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An AuthorizationService client.
    pub async fn auth(&self) -> AuthorizationServiceClient<Channel> {
        AuthorizationServiceClient::connect(self.endpoint())
            .await
            .expect("connect")
    }

    /// A PaymentService client.
    pub async fn payments(&self) -> PaymentServiceClient<Channel> {
        PaymentServiceClient::connect(self.endpoint())
            .await
            .expect("connect")
    }

    /// A CardService client.
    pub async fn cards(&self) -> CardServiceClient<Channel> {
        CardServiceClient::connect(self.endpoint())
            .await
            .expect("connect")
    }

    /// SIGKILL: no graceful anything.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.wait()
    }

    /// Waits for the process to exit (after [`Self::send_sigterm`]).
    pub fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().expect("wait")
    }

    /// Sends SIGTERM (the start of a graceful shutdown) without waiting for the exit.
    pub fn send_sigterm(&self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    /// The process's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if log_scan_dir().is_some() {
            let mut credentials = self.credentials.credentials();
            credentials.push(String::new());
            let _ = std::fs::write(
                self.log.with_extension("credentials"),
                credentials.join("\n"),
            );
        }
    }
}

/// The binary started the way the README's run command starts it, in `dir`: no configuration at all (the built-in
/// sandbox, SQLite under `./data`), only loopback ports for gRPC and notifications and the extra `env`. Returns
/// the child, its gRPC address and its log file.
pub fn spawn_default_serve(dir: &Path, env: &[(&str, &str)]) -> (Child, SocketAddr, PathBuf) {
    let log = dir.join("gateway.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_alipay-gateway"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--notify-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(File::create(&log).expect("log"))
        .spawn()
        .expect("spawn");
    let addr = read_listening_line(&mut child, "alipay-gateway listening on ", &log);
    (child, addr, log)
}

/// Reads the child's stdout until a line starting with `prefix` and parses the address after it.
pub fn read_listening_line(child: &mut Child, prefix: &str, log: &Path) -> SocketAddr {
    read_until_listening(child, prefix, log).0
}

/// [`read_listening_line`], also returning the lines printed before it.
pub fn read_until_listening(
    child: &mut Child,
    prefix: &str,
    log: &Path,
) -> (SocketAddr, Vec<String>) {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut before = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.strip_prefix(prefix) {
                    let addr = rest.trim().trim_start_matches("http://");
                    // Keep draining stdout in the background so the child never blocks on a full pipe.
                    std::thread::spawn(move || for _ in lines.by_ref() {});
                    return (addr.parse().expect("bound address"), before);
                }
                before.push(line);
            }
            _ => panic!(
                "the process exited before listening; log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
    }
}

/// A unique request id for one test step.
pub fn request_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// The merchant region `bind_wallet` authorises for (and the binding must keep).
pub const BINDING_REGION: &str = "SG";

/// The scopes `bind_wallet` asks for: auto debit and the user's identity.
pub const DEFAULT_SCOPES: &[pb::AuthScope] =
    &[pb::AuthScope::AgreementPay, pb::AuthScope::UserInfo];

/// Consult → the sandbox H5 page (GET, then POST 4 digits) → the redirect's authCode → ApplyToken, recording the
/// consult's scopes on the binding. Returns the binding.
pub async fn bind_wallet(gateway: &GatewayProcess, customer_id: &str) -> pb::Binding {
    bind_wallet_with(gateway, customer_id, DEFAULT_SCOPES, DEFAULT_SCOPES).await
}

/// [`bind_wallet`] with the scopes Consult requests and the (possibly different, possibly empty) scopes the
/// caller reports at ApplyToken.
pub async fn bind_wallet_with(
    gateway: &GatewayProcess,
    customer_id: &str,
    consult_scopes: &[pb::AuthScope],
    recorded_scopes: &[pb::AuthScope],
) -> pb::Binding {
    let as_ints = |scopes: &[pb::AuthScope]| scopes.iter().map(|s| *s as i32).collect::<Vec<_>>();
    let mut auth = gateway.auth().await;
    let state = request_id("state");
    let consult = auth
        .consult(consult_request(&state, consult_scopes))
        .await
        .expect("consult")
        .into_inner();
    assert!(!consult.auth_url.is_empty(), "consult returned an authUrl");
    let auth_code = follow_auth_page(&consult.auth_url, &state).await;
    auth.apply_token(pb::ApplyTokenRequest {
        auth_code,
        wallet: pb::Wallet::Gcash as i32,
        customer_id: customer_id.into(),
        scopes: as_ints(recorded_scopes),
        merchant_region: BINDING_REGION.into(),
    })
    .await
    .expect("apply token")
    .into_inner()
    .binding
    .expect("binding")
}

/// A GCASH web Consult for `scopes` in [`BINDING_REGION`], returning to the merchant's page with `state`.
pub fn consult_request(state: &str, scopes: &[pb::AuthScope]) -> pb::ConsultRequest {
    pb::ConsultRequest {
        wallet: pb::Wallet::Gcash as i32,
        auth_redirect_url: "https://merchant.example/wallet/return".into(),
        auth_state: state.into(),
        scopes: scopes.iter().map(|s| *s as i32).collect(),
        terminal_type: pb::TerminalType::Web as i32,
        merchant_region: BINDING_REGION.into(),
        ..Default::default()
    }
}

/// What a browser does on one of the sandbox's pages (authorization, cashier): open it, submit the form's `form`
/// fields, and return where the 303 sends the buyer.
pub async fn submit_sandbox_page(url: &str, form: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    let page = http.get(url).send().await.expect("GET the page");
    assert!(
        page.status().is_success(),
        "{url} answered {}",
        page.status()
    );
    let submitted = http
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form.to_owned())
        .send()
        .await
        .expect("POST the form");
    assert_eq!(submitted.status(), reqwest::StatusCode::SEE_OTHER);
    submitted
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("Location header")
        .to_owned()
}

/// The sandbox's H5 authorization page: submit 4 digits, read the authCode from the redirect.
pub async fn follow_auth_page(auth_url: &str, expected_state: &str) -> String {
    let location = submit_sandbox_page(auth_url, "otp=1234").await;
    let location = url::Url::parse(&location).expect("Location is a URL");
    assert!(
        location
            .as_str()
            .starts_with("https://merchant.example/wallet/return")
    );
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("authState").map(String::as_str),
        Some(expected_state)
    );
    query
        .get("authCode")
        .cloned()
        .expect("authCode in the redirect")
}

/// A GCASH auto-debit pay request.
pub fn agreement_pay(payment_request_id: &str, binding_id: &str, value: i64) -> pb::PayRequest {
    pb::PayRequest {
        payment_request_id: payment_request_id.into(),
        payment_amount: Some(pb::Amount {
            currency: "PHP".into(),
            value,
        }),
        order: Some(pb::Order {
            reference_order_id: format!("order-{payment_request_id}"),
            order_description: "Test order".into(),
            ..Default::default()
        }),
        source: Some(pb::pay_request::Source::Agreement(
            pb::AgreementPaymentSource {
                binding_id: binding_id.into(),
                env: None,
            },
        )),
        ..Default::default()
    }
}

/// An in-store payment of the scanned `code`, with the merchant and store Alipay requires.
pub fn in_store_pay(id: &str, code: &str, value: i64) -> pb::PayRequest {
    let mut request = agreement_pay(id, "", value);
    request.source = Some(pb::pay_request::Source::InStore(pb::InStorePaymentSource {
        payment_code: code.into(),
    }));
    if let Some(order) = request.order.as_mut() {
        order.merchant = Some(pb::Merchant {
            reference_merchant_id: "merchant-1".into(),
            merchant_mcc: "5812".into(),
            merchant_name: "Test Cafe".into(),
            store: Some(pb::Store {
                reference_store_id: "store-1".into(),
                store_name: "Test Cafe Makati".into(),
                store_mcc: "5812".into(),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    request
}

/// Pays [`cashier_pay`] of 10.00 and checks the payment is PROCESSING (the buyer has not paid on Alipay's page).
pub async fn processing_payment(gateway: &GatewayProcess, id: &str) {
    let answer = gateway
        .payments()
        .await
        .pay(cashier_pay(id, 1000))
        .await
        .expect("pay")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!(answer.status, pb::PaymentStatus::Processing as i32);
}

/// The Python interpreter of the cross-language checks (`ALIPAY_GATEWAY_PYTHON`, a venv from
/// tests/python/requirements.txt). `None` skips the check locally; under CI a missing one fails.
pub fn python_interpreter(check: &str) -> Option<String> {
    match std::env::var("ALIPAY_GATEWAY_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but ALIPAY_GATEWAY_PYTHON is not")
        }
        _ => {
            eprintln!("ALIPAY_GATEWAY_PYTHON is unset: skipping the {check}");
            None
        }
    }
}

/// The `ErrorInfo` (reason, domain) of a status.
pub fn error_info(status: &tonic::Status) -> (String, String) {
    use tonic_types::StatusExt;
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    (info.reason, info.domain)
}

/// The payment as stored, read through GetPayment.
pub async fn get_payment(gateway: &GatewayProcess, id: &str) -> pb::Payment {
    gateway
        .payments()
        .await
        .get_payment(pb::GetPaymentRequest {
            payment_request_id: id.into(),
        })
        .await
        .expect("get payment")
        .into_inner()
        .payment
        .expect("payment")
}

/// Waits until GetPayment reports `status`.
pub async fn wait_for_status(
    gateway: &GatewayProcess,
    id: &str,
    status: pb::PaymentStatus,
    deadline: Duration,
) -> pb::Payment {
    let client = gateway.payments().await;
    eventually(
        &format!("payment {id} to become {status:?}"),
        deadline,
        || {
            let mut client = client.clone();
            let id = id.to_owned();
            async move {
                let p = client
                    .get_payment(pb::GetPaymentRequest {
                        payment_request_id: id,
                    })
                    .await
                    .ok()?
                    .into_inner()
                    .payment?;
                (p.status == status as i32).then_some(p)
            }
        },
    )
    .await
}

/// Moves every stored event eight days into the past, beyond the 7-day retention.
pub async fn age_all_events(db: &TestDb) {
    let store = db.store().await;
    let conn = store.connection();
    let backend = conn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Sqlite => "UPDATE payment_events SET created_at = ?1",
        _ => "UPDATE payment_events SET created_at = $1",
    };
    let old = chrono::Utc::now() - chrono::Duration::days(8);
    conn.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [old.into()],
    ))
    .await
    .expect("age events");
    store.close().await.expect("close");
}

/// `value` minor units of PHP.
pub fn php(value: i64) -> Option<pb::Amount> {
    Some(pb::Amount {
        currency: "PHP".into(),
        value,
    })
}

/// A GCASH cashier payment returning to the merchant's page.
pub fn cashier_pay(id: &str, value: i64) -> pb::PayRequest {
    let mut request = agreement_pay(id, "", value);
    request.source = Some(pb::pay_request::Source::Cashier(pb::CashierPaymentSource {
        wallet: pb::Wallet::Gcash as i32,
        payment_redirect_url: "https://merchant.example/paid".into(),
        env: Some(pb::Env {
            terminal_type: pb::TerminalType::Web as i32,
            ..Default::default()
        }),
    }));
    request
}

/// Holds the store's write lock (SQLite) or the notifications table (PostgreSQL) until dropped or released.
pub struct StoreOutage {
    connection: sea_orm::DatabaseConnection,
}

impl StoreOutage {
    pub async fn begin(db: &TestDb) -> StoreOutage {
        let connection = sea_orm::Database::connect(db.url.as_str())
            .await
            .expect("connect");
        let lock = if db.backend == "sqlite" {
            "BEGIN EXCLUSIVE"
        } else {
            "BEGIN; LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE"
        };
        connection
            .execute_unprepared(lock)
            .await
            .expect("lock the store");
        StoreOutage { connection }
    }

    pub async fn end(self) {
        self.connection
            .execute_unprepared("ROLLBACK")
            .await
            .expect("unlock");
        self.connection.close().await.expect("close");
    }
}

/// A PostgreSQL test database taken away from under a running gateway: new connections refused and the current
/// ones ended, until [`DatabaseGone::restore`]. `None` for SQLite (a file in the gateway's own directory).
pub struct DatabaseGone {
    admin: sea_orm::DatabaseConnection,
    name: String,
}

impl DatabaseGone {
    pub async fn begin(db: &TestDb) -> Option<DatabaseGone> {
        let name = db.postgres_name()?.to_owned();
        let url = std::env::var("TEST_DATABASE_URL").expect("a PostgreSQL backend has a URL");
        let admin = sea_orm::Database::connect(url.as_str())
            .await
            .expect("admin");
        admin
            .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
            .await
            .expect("refuse connections");
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .await
            .expect("terminate connections");
        Some(DatabaseGone { admin, name })
    }

    pub async fn restore(self) {
        self.admin
            .execute_unprepared(&format!(
                "ALTER DATABASE {} ALLOW_CONNECTIONS true",
                self.name
            ))
            .await
            .expect("allow connections");
        self.admin.close().await.expect("close admin");
    }
}

/// The access token the gateway stored for `binding_id`, decrypted with the test token key: what a wallet-side
/// action (the sandbox's token cancellation, a forged notification) needs, and what a secret scan looks for.
pub async fn stored_access_token(db: &TestDb, binding_id: &str) -> String {
    let cipher = store::TokenCipher::from_base64_key(TOKEN_KEY).expect("key");
    db.store()
        .await
        .bindings(&cipher)
        .get(binding_id)
        .await
        .expect("read binding")
        .expect("binding")
        .credentials
        .access_token
        .expose()
        .to_owned()
}

/// Where the buyer returns after 3DS or the hosted card page.
pub const CARD_RETURN_URL: &str = "https://merchant.example/card-return";

/// A sandbox test card (see docs/sandbox.md for what each number does), valid in every other field.
pub fn card(number: &str) -> pb::CardDetails {
    let amex = number.starts_with("34") || number.starts_with("37");
    pb::CardDetails {
        card_no: number.into(),
        cvv: if amex { "1234" } else { "123" }.into(),
        expiry_month: "12".into(),
        expiry_year: "39".into(),
        cardholder_name: Some(pb::Name {
            first_name: "Jane".into(),
            last_name: "Roe".into(),
            ..Default::default()
        }),
        billing_address: None,
    }
}

/// A valid AuthorizeCard of 10.00 PHP charging `source`, the buyer present.
pub fn authorize(
    id: &str,
    source: pb::authorize_card_request::CardSource,
) -> pb::AuthorizeCardRequest {
    pb::AuthorizeCardRequest {
        payment_request_id: id.into(),
        payment_amount: php(1000),
        order: Some(pb::Order {
            reference_order_id: format!("order-{id}"),
            order_description: "Shoes".into(),
            ..Default::default()
        }),
        card_source: Some(source),
        env: Some(pb::Env {
            terminal_type: pb::TerminalType::Web as i32,
            client_ip: "203.0.113.7".into(),
            ..Default::default()
        }),
        payment_redirect_url: CARD_RETURN_URL.into(),
        ..Default::default()
    }
}

/// [`authorize`] with new card data.
pub fn with_card(id: &str, card: pb::CardDetails) -> pb::AuthorizeCardRequest {
    authorize(id, pb::authorize_card_request::CardSource::Card(card))
}

/// A valid CreateHostedCardPayment of 10.00 PHP (the card is entered on the sandbox's page).
pub fn hosted_card(id: &str) -> pb::CreateHostedCardPaymentRequest {
    let pb::AuthorizeCardRequest {
        payment_amount,
        order,
        env,
        payment_redirect_url,
        ..
    } = with_card(id, card("4111111111111111"));
    pb::CreateHostedCardPaymentRequest {
        payment_request_id: id.into(),
        payment_amount,
        order,
        env,
        payment_redirect_url,
        ..Default::default()
    }
}

/// Where a PROCESSING card payment sends the buyer (the 3DS or the hosted card page).
pub fn card_redirect_url(c: &pb::CardPayment) -> String {
    match c
        .payment
        .as_ref()
        .and_then(|p| p.next_action.as_ref())
        .and_then(|a| a.action.as_ref())
    {
        Some(pb::next_action::Action::Redirect(r)) => {
            if r.normal_url.is_empty() {
                r.url.clone()
            } else {
                r.normal_url.clone()
            }
        }
        other => panic!("no redirect in {other:?}"),
    }
}
