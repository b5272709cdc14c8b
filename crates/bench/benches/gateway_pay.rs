//! What the gateway itself costs per successful auto-debit `Pay`, with every party in its own process: the sandbox
//! (`GATEWAY_PAY_ROLE=sandbox`), one gateway per store (`GATEWAY_PAY_ROLE=gateway`: SQLite, and PostgreSQL when
//! `BENCH_DATABASE_URL` or `TEST_DATABASE_URL` names a server), PostgreSQL itself, and this load generator. The
//! children are this same executable, so one release build measures all of them.
//!
//! Per store and per concurrency (1, 8, 32) it reports: the gateway process's CPU time per Pay (from
//! `/proc/<pid>/stat`, so neither the sandbox nor the load generator is counted), that figure in units of one
//! aws-lc-rs RSA-2048 signature timed in the same round, Pays per second, p50/p99 latency; and the same for the
//! bare signed client call to the same sandbox process (this process's own CPU per call), so "added latency"
//! (gateway minus bare, same concurrency, same round) is what the gateway adds to Alipay's round trip. Rounds are
//! interleaved and every figure is the median over rounds.
//!
//! Run with `cargo bench -p bench --bench gateway_pay`; see `docs/performance.md`. `BENCH_GATEWAY_WORKERS=n` runs
//! the gateways on `n` tokio workers.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alipay::signing::Signer;
use alipay::{AlipayClient, ClientConfig, PathPrefix};
use alipay_gateway::config::{ServeArgs, Settings};
use alipay_gateway::pb::v1 as pb;
use alipay_gateway::pb::v1::authorization_service_client::AuthorizationServiceClient;
use alipay_gateway::pb::v1::payment_service_client::PaymentServiceClient;
use alipay_gateway::server::Gateway;
use bench::fixtures::{CLIENT_ID, MERCHANT_PRIVATE_KEY_PEM};
use bench::harness::{BenchError, Settings as BenchSettings, cpu_time_of, median, resident_bytes};
use bench::load::{TimedRound, signed_pays, timed_loop};
use bench::postgres::{Database, server_url};
use bench::report;
use tonic::transport::Channel;

/// Names the gateways' tokio worker count, when set (the default is one per CPU).
const GATEWAY_WORKERS: &str = "BENCH_GATEWAY_WORKERS";

/// Callers with a Pay in flight at once.
const CONCURRENCIES: [usize; 3] = [1, 8, 32];
/// Which part a child process of this bench plays.
const ROLE: &str = "GATEWAY_PAY_ROLE";
/// RSA-2048 signatures timed per round for the unit.
const SIGNS: u32 = 400;
/// The dev token key (32 bytes, base64) the gateway seals access tokens with.
const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn main() -> Result<(), BenchError> {
    match std::env::var(ROLE).as_deref() {
        Ok("sandbox") => serve_sandbox(),
        Ok("gateway") => serve_gateway(),
        _ => load_generator(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, BenchError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// A child serves until its stdin closes (the parent exits or drops it).
async fn until_stdin_closes() {
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
}

fn serve_sandbox() -> Result<(), BenchError> {
    runtime()?.block_on(async {
        let sandbox = sandbox::Sandbox::start(
            sandbox::SandboxConfig::development(),
            "127.0.0.1:0".parse()?,
        )
        .await?;
        println!("listening {}", sandbox.base_url());
        until_stdin_closes().await;
        sandbox.shutdown().await;
        Ok(())
    })
}

fn serve_gateway() -> Result<(), BenchError> {
    runtime()?.block_on(async {
        let settings =
            Settings::resolve_in(&ServeArgs::default(), &|name| std::env::var(name).ok())?;
        let gateway = Gateway::start(settings).await?;
        println!("listening http://{}", gateway.addr());
        until_stdin_closes().await;
        gateway.shutdown().await?;
        Ok(())
    })
}

/// A child process of this bench and the URL it printed.
struct Part {
    child: Child,
    url: String,
}

impl Part {
    fn spawn(role: &str, env: &[(&str, String)]) -> Result<Self, BenchError> {
        let mut child = Command::new(std::env::current_exe()?)
            .env(ROLE, role)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| format!("the {role} did not start: {line:?}"))?
            .to_owned();
        Ok(Self { child, url })
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn cpu(&self) -> Result<Duration, BenchError> {
        Ok(cpu_time_of(&self.pid()).ok_or("no /proc/<pid>/stat")?)
    }

    fn stop(mut self) -> Result<(), BenchError> {
        drop(self.child.stdin.take());
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One store's gateway process, its channel and the binding it charges.
struct Store {
    name: &'static str,
    gateway: Part,
    channel: Channel,
    binding_id: String,
    idle_rss: u64,
    postgres: Option<Database>,
}

fn key_file(name: &str) -> String {
    format!("{}/../../keys/dev/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn start_store(
    name: &'static str,
    database_url: String,
    sandbox_url: &str,
    postgres: Option<Database>,
) -> Result<Store, BenchError> {
    let mut env = vec![
        ("DATABASE_URL", database_url),
        ("ALIPAY_GATEWAY_UPSTREAM", sandbox_url.to_owned()),
        ("ALIPAY_GATEWAY_CLIENT_ID", CLIENT_ID.to_owned()),
        (
            "ALIPAY_GATEWAY_MERCHANT_PRIVATE_KEY_FILE",
            key_file("merchant-private.TEST-ONLY.pem"),
        ),
        (
            "ALIPAY_GATEWAY_ALIPAY_PUBLIC_KEY_FILE",
            key_file("alipay-sandbox-public.TEST-ONLY.pem"),
        ),
        ("ALIPAY_GATEWAY_TOKEN_KEY", TOKEN_KEY.to_owned()),
        ("ALIPAY_GATEWAY_LISTEN", "127.0.0.1:0".to_owned()),
        ("ALIPAY_GATEWAY_NOTIFY_LISTEN", "off".to_owned()),
    ];
    // The gateway's tokio worker count alone (tokio reads `TOKIO_WORKER_THREADS`), the sandbox and this load
    // generator keeping theirs.
    if let Ok(workers) = std::env::var(GATEWAY_WORKERS) {
        env.push(("TOKIO_WORKER_THREADS", workers));
    }
    let gateway = Part::spawn("gateway", &env)?;
    let channel = tonic::transport::Endpoint::from_shared(gateway.url.clone())?
        .connect()
        .await?;
    let binding_id = bind_wallet(&channel).await?;
    let idle_rss = resident_bytes(&gateway.pid()).unwrap_or_default();
    Ok(Store {
        name,
        gateway,
        channel,
        binding_id,
        idle_rss,
        postgres,
    })
}

/// Consult → the sandbox's H5 page (4 digits) → applyToken: a GCASH auto-debit binding.
async fn bind_wallet(channel: &Channel) -> Result<String, BenchError> {
    let mut auth = AuthorizationServiceClient::new(channel.clone());
    let consult = auth
        .consult(pb::ConsultRequest {
            wallet: pb::Wallet::Gcash as i32,
            auth_redirect_url: "https://merchant.example/bound".into(),
            auth_state: "bench".into(),
            scopes: vec![pb::AuthScope::AgreementPay as i32],
            terminal_type: pb::TerminalType::Web as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let submitted = http
        .post(&consult.auth_url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body("otp=1234")
        .send()
        .await?;
    let location = submitted
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("the authorization page did not redirect")?;
    let auth_code = location
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("authCode="))
        .ok_or("no authCode in the redirect")?
        .to_owned();
    let binding = auth
        .apply_token(pb::ApplyTokenRequest {
            auth_code,
            wallet: pb::Wallet::Gcash as i32,
            customer_id: "bench-customer".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .binding
        .ok_or("applyToken answered without a binding")?;
    Ok(binding.binding_id)
}

/// A GCASH auto debit of PHP 10.00 on `binding_id`.
fn agreement_pay(payment_request_id: String, binding_id: &str) -> pb::PayRequest {
    pb::PayRequest {
        payment_amount: Some(pb::Amount {
            currency: "PHP".into(),
            value: 1000,
        }),
        order: Some(pb::Order {
            reference_order_id: format!("order-{payment_request_id}"),
            order_description: "Monthly plan".into(),
            ..Default::default()
        }),
        source: Some(pb::pay_request::Source::Agreement(
            pb::AgreementPaymentSource {
                binding_id: binding_id.into(),
                env: None,
            },
        )),
        payment_request_id,
        ..Default::default()
    }
}

/// `concurrency` callers sending auto-debit Pays back to back for `budget`; anything but SUCCESS ends the bench.
async fn gateway_pays(
    store: &Store,
    ids: &Arc<AtomicU64>,
    concurrency: usize,
    budget: Duration,
) -> Result<TimedRound, BenchError> {
    let client = PaymentServiceClient::new(store.channel.clone());
    let (ids, binding) = (Arc::clone(ids), store.binding_id.clone());
    timed_loop(concurrency, budget, move || {
        let (mut client, ids, binding) = (client.clone(), Arc::clone(&ids), binding.clone());
        async move {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            let payment = client
                .pay(agreement_pay(format!("bench-gw-{id:08}"), &binding))
                .await?
                .into_inner()
                .payment
                .ok_or("Pay answered without a payment")?;
            if payment.status != pb::PaymentStatus::Success as i32 {
                return Err(format!("unexpected payment: {payment:?}").into());
            }
            Ok(())
        }
    })
    .await
}

/// One timed case in one round.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rate: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_op: Duration,
}

impl Sample {
    fn of(round: &TimedRound, cpu: Duration) -> Self {
        let ops = round.round.ops.max(1);
        Self {
            rate: round.round.rate(),
            p50: round.percentile(50.0),
            p99: round.percentile(99.0),
            cpu_per_op: cpu / u32::try_from(ops).unwrap_or(u32::MAX),
        }
    }
}

/// Medians over rounds.
#[derive(Debug, Clone, Copy)]
struct Summary {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us: f64,
}

fn summarise(samples: &[Sample]) -> Summary {
    let pick = |f: &dyn Fn(&Sample) -> f64| median(&samples.iter().map(f).collect::<Vec<_>>());
    Summary {
        rate: pick(&|s| s.rate),
        p50_ms: pick(&|s| s.p50.as_secs_f64() * 1e3),
        p99_ms: pick(&|s| s.p99.as_secs_f64() * 1e3),
        cpu_us: pick(&|s| s.cpu_per_op.as_secs_f64() * 1e6),
    }
}

/// CPU time of one aws-lc-rs RSA-2048 signature, timed on this (otherwise idle) process.
fn sign_unit(signer: &Signer) -> Result<Duration, BenchError> {
    let content = alipay::signing::sign_content(
        "POST",
        "/ams/api/v1/payments/pay",
        CLIENT_ID,
        "2026-12-01T00:00:00+00:00",
        &[b'x'; 1024],
    );
    let before = cpu_time_of("self").ok_or("no /proc/self/stat")?;
    for _ in 0..SIGNS {
        signer.sign(&content)?;
    }
    let after = cpu_time_of("self").ok_or("no /proc/self/stat")?;
    Ok((after - before) / SIGNS)
}

fn load_generator() -> Result<(), BenchError> {
    let settings = BenchSettings::from_env()?;
    let rt = runtime()?;
    let sandbox = Part::spawn("sandbox", &[])?;
    let dir = tempfile::tempdir()?;
    let sqlite_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let mut stores = vec![rt.block_on(start_store("SQLite", sqlite_url, &sandbox.url, None))?];
    match server_url() {
        Some(admin) => {
            let database = rt.block_on(Database::create(
                &admin,
                &format!("gw_pay_{}", std::process::id()),
            ))?;
            let url = database.url.clone();
            stores.push(rt.block_on(start_store(
                "PostgreSQL",
                url,
                &sandbox.url,
                Some(database),
            ))?);
        }
        None => eprintln!("no BENCH_DATABASE_URL / TEST_DATABASE_URL: PostgreSQL is not measured"),
    }
    let client = AlipayClient::new(
        ClientConfig::new(
            CLIENT_ID,
            MERCHANT_PRIVATE_KEY_PEM,
            sandbox::dev::ALIPAY_PUBLIC_KEY_PEM,
            sandbox.url.clone(),
        )
        .with_path_prefix(PathPrefix::Sandbox)
        .with_request_timeout(Duration::from_secs(10)),
    )?;
    let signer = Signer::from_text(MERCHANT_PRIVATE_KEY_PEM)?;
    let ids = Arc::new(AtomicU64::new(0));

    // Warm-up: connections, pools, page caches.
    for store in &stores {
        rt.block_on(gateway_pays(store, &ids, 8, settings.warmup))?;
    }
    rt.block_on(signed_pays(&client, &ids, 8, settings.warmup))?;

    let mut signs = Vec::new();
    let mut bare: Vec<Vec<Sample>> = vec![Vec::new(); CONCURRENCIES.len()];
    let mut gateway: Vec<Vec<Vec<Sample>>> =
        vec![vec![Vec::new(); CONCURRENCIES.len()]; stores.len()];
    let mut pays = 0u64;
    for round in 0..settings.rounds {
        eprintln!("round {} of {}", round + 1, settings.rounds);
        signs.push(sign_unit(&signer)?.as_secs_f64() * 1e6);
        for (c, &concurrency) in CONCURRENCIES.iter().enumerate() {
            let before = cpu_time_of("self").ok_or("no /proc/self/stat")?;
            let timed = rt.block_on(bare_pays(&client, &ids, concurrency, settings.round))?;
            let cpu = cpu_time_of("self").ok_or("no /proc/self/stat")? - before;
            bare[c].push(Sample::of(&timed, cpu));
            for (s, store) in stores.iter().enumerate() {
                let before = store.gateway.cpu()?;
                let timed = rt.block_on(gateway_pays(store, &ids, concurrency, settings.round))?;
                let cpu = store.gateway.cpu()? - before;
                pays += timed.round.ops;
                gateway[s][c].push(Sample::of(&timed, cpu));
            }
        }
    }
    let sign_us = median(&signs);

    println!("## gateway_pay ({})\n", report::conditions(&settings));
    println!(
        "Successful auto-debit `Pay` (AGREEMENT_PAYMENT, GCASH, fresh `payment_request_id` each; {pays} timed Pays, \
         every one answered SUCCESS) through a gateway process per store, against the bare signed \
         `AlipayClient::pay` (a ~1 KB cashier request) from this process to the same sandbox process. One \
         aws-lc-rs RSA-2048 signature costs {sign_us:.0} µs of CPU here (median of the rounds). Latencies in ms; \
         \"added\" is gateway minus bare at the same concurrency.\n"
    );
    println!(
        "| store | callers | Pays/s | p50 | p99 | gateway CPU µs/Pay | in signs | bare calls/s | bare p50 | bare p99 \
         | added p50 | added p99 | Pays per CPU-s ÷ bare calls per CPU-s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (s, store) in stores.iter().enumerate() {
        for (c, &concurrency) in CONCURRENCIES.iter().enumerate() {
            let g = summarise(&gateway[s][c]);
            let b = summarise(&bare[c]);
            println!(
                "| {} | {concurrency} | {} | {:.2} | {:.2} | {:.0} | {:.1} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                store.name,
                report::thousands(g.rate),
                g.p50_ms,
                g.p99_ms,
                g.cpu_us,
                g.cpu_us / sign_us,
                report::thousands(b.rate),
                b.p50_ms,
                b.p99_ms,
                g.p50_ms - b.p50_ms,
                g.p99_ms - b.p99_ms,
                b.cpu_us / g.cpu_us,
            );
        }
    }
    println!();
    for store in &stores {
        let rss = resident_bytes(&store.gateway.pid()).unwrap_or_default();
        println!(
            "- {} gateway resident memory: {:.0} MB after binding, {:.0} MB after the run",
            store.name,
            store.idle_rss as f64 / 1e6,
            rss as f64 / 1e6
        );
    }
    for store in stores {
        store.gateway.stop()?;
        if let Some(database) = store.postgres {
            rt.block_on(database.drop())?;
        }
    }
    sandbox.stop()?;
    Ok(())
}

/// [`signed_pays`] with latencies: the bare signed call, timed like the gateway's Pays.
async fn bare_pays(
    client: &AlipayClient,
    ids: &Arc<AtomicU64>,
    concurrency: usize,
    budget: Duration,
) -> Result<TimedRound, BenchError> {
    let (client, ids) = (client.clone(), Arc::clone(ids));
    timed_loop(concurrency, budget, move || {
        let (client, ids) = (client.clone(), Arc::clone(&ids));
        async move {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            bench::load::check_signed_pay(&client, &format!("bench-{id:08}")).await
        }
    })
    .await
}
