//! Notification ingest through the gateway's listener: 10,000 signed notifications over 1,000 cashier payments
//! (per payment one PAYMENT_PENDING, one PAYMENT_RESULT and four redeliveries of each), posted by 32 concurrent
//! senders over HTTP/1.1 to `POST /alipay/notify`, on SQLite and (with `BENCH_DATABASE_URL` or `TEST_DATABASE_URL`)
//! PostgreSQL. Every notification is verified, stored with its transition in one transaction and acknowledged; the
//! run fails if any answer is not the acknowledgement or any payment is not SUCCESS afterwards (none lost), or if a
//! StreamPaymentEvents subscriber opened before the load did not receive exactly the outbox's events in commit order.
//! Reports notifications per second, p50/p99 ingest latency and the CPU cores the process (gateway, in-process
//! sandbox and senders) kept busy, from /proc.
//!
//! Run with `cargo bench -p bench --bench notify_ingest`; without `--bench` (under `cargo test`) it runs a tenth of
//! the work as a smoke test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use alipay_gateway::config::{ServeArgs, Settings};
use alipay_gateway::pb::v1 as pb;
use alipay_gateway::pb::v1::payment_service_client::PaymentServiceClient;
use alipay_gateway::server::{Gateway, RunningGateway};
use bench::harness::{BenchError, process_cpu_time};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tokio::task::JoinSet;

const SENDERS: usize = 32;
const PER_PAYMENT: usize = 10;
const ACK: &str =
    r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#;

/// One pre-signed notification.
struct Signed {
    headers: [(&'static str, String); 3],
    body: Vec<u8>,
}

/// What one run measured.
struct Run {
    store: &'static str,
    notifications: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    cores_busy: Option<f64>,
}

fn main() -> Result<(), BenchError> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let payments = if full { 1_000 } else { 100 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let sqlite_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let mut runs = vec![runtime.block_on(run("SQLite", &sqlite_url, payments))?];
    if let Some(admin) = server_url() {
        let database = format!("gw_notify_bench_{}", std::process::id());
        runtime.block_on(recreate(&admin, &database, false))?;
        let (base, _) = admin
            .rsplit_once('/')
            .ok_or("the PostgreSQL URL has no database path")?;
        let result = runtime.block_on(run("PostgreSQL", &format!("{base}/{database}"), payments));
        runtime.block_on(recreate(&admin, &database, true))?;
        runs.push(result?);
    } else {
        eprintln!("no BENCH_DATABASE_URL / TEST_DATABASE_URL: PostgreSQL is not measured");
    }

    println!(
        "## notify_ingest ({} notifications over {payments} payments, {SENDERS} concurrent senders; {} CPUs visible{})\n",
        payments * PER_PAYMENT,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        bench::report::load_average()
    );
    println!(
        "| store | notifications/s | p50 ms | p99 ms | CPU cores busy |\n|---|---:|---:|---:|---:|"
    );
    for r in &runs {
        println!(
            "| {} | {:.0} | {:.1} | {:.1} | {} |",
            r.store,
            r.notifications as f64 / r.elapsed.as_secs_f64(),
            quantile(&r.latencies, 0.50).as_secs_f64() * 1e3,
            quantile(&r.latencies, 0.99).as_secs_f64() * 1e3,
            r.cores_busy.map_or("n/a".to_owned(), |c| format!("{c:.2}"))
        );
    }
    println!(
        "\nEvery notification was acknowledged and every payment reached SUCCESS (none lost)."
    );
    Ok(())
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn server_url() -> Option<String> {
    ["BENCH_DATABASE_URL", "TEST_DATABASE_URL"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|url| !url.is_empty())
}

async fn recreate(admin_url: &str, database: &str, drop_only: bool) -> Result<(), BenchError> {
    let admin = sea_orm::Database::connect(admin_url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .await?;
    if !drop_only {
        admin
            .execute_unprepared(&format!("CREATE DATABASE {database}"))
            .await?;
    }
    admin.close().await?;
    Ok(())
}

async fn run(store: &'static str, database_url: &str, payments: usize) -> Result<Run, BenchError> {
    let settings = Settings::resolve(&ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        notify_listen: Some("127.0.0.1:0".into()),
        database_url: Some(database_url.to_owned()),
        // Only notifications settle the payments here: the reconciler stays out of the measurement.
        inquiry_interval: Some("1h".into()),
        buyer_inquiry_max_interval: Some("1h".into()),
        ..ServeArgs::default()
    })?;
    let gateway = Gateway::start(settings).await?;
    let ids = create_payments(&gateway, store, payments).await?;
    // A StreamPaymentEvents subscriber opened before the load: it must see every event the load commits, in the
    // order of the outbox's commit-ordered sequence, none twice.
    let events = PaymentServiceClient::connect(format!("http://{}", gateway.addr()))
        .await?
        .stream_payment_events(pb::StreamPaymentEventsRequest::default())
        .await?
        .into_inner();
    let stream = tokio::spawn(stream_events(events, payments));
    let signed = Arc::new(sign_all(&ids)?);
    let url = Arc::new(format!(
        "http://{}/alipay/notify",
        gateway.notify_addr().ok_or("no notify listener")?
    ));

    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = process_cpu_time();
    let started = Instant::now();
    let mut senders = JoinSet::new();
    for _ in 0..SENDERS {
        let (signed, next, url) = (Arc::clone(&signed), Arc::clone(&next), Arc::clone(&url));
        senders.spawn(async move {
            let http = reqwest::Client::new();
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(n) = signed.get(i) else { break };
                let mut request = http
                    .post(url.as_str())
                    .header("content-type", "application/json")
                    .body(n.body.clone());
                for (name, value) in &n.headers {
                    request = request.header(*name, value);
                }
                let sent = Instant::now();
                let response = request.send().await?;
                let status = response.status();
                let body = response.text().await?;
                latencies.push(sent.elapsed());
                if status != 200 || body != ACK {
                    return Err::<_, BenchError>(
                        format!("notification {i}: {status} {body}").into(),
                    );
                }
            }
            Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = senders.join_next().await {
        latencies.extend(joined??);
    }
    let elapsed = started.elapsed();
    let cores_busy = match (cpu_before, process_cpu_time()) {
        (Some(before), Some(after)) => Some((after - before).as_secs_f64() / elapsed.as_secs_f64()),
        _ => None,
    };
    latencies.sort();

    let streamed = tokio::time::timeout(Duration::from_secs(60), stream)
        .await
        .map_err(|_| {
            format!("{store}: the event stream did not deliver every SUCCESS within 60 s")
        })???;
    check_commit_order(&gateway, store, &streamed).await?;

    use store::entity::payment;
    let settled = payment::Entity::find()
        .filter(payment::Column::Status.eq(store::PaymentStatus::Success))
        .count(gateway.store().connection())
        .await?;
    let stored = store::entity::notification::Entity::find()
        .count(gateway.store().connection())
        .await?;
    gateway.shutdown().await?;
    if settled != payments as u64 || stored != 2 * payments as u64 {
        return Err(format!("{store}: {settled} SUCCESS payments and {stored} stored notifications for {payments} payments").into());
    }
    Ok(Run {
        store,
        notifications: signed.len(),
        elapsed,
        latencies,
        cores_busy,
    })
}

/// Reads the stream (opened before the load) until `payments` SUCCESS payment events have arrived; returns their event ids in the
/// order received.
async fn stream_events(
    mut stream: tonic::Streaming<pb::StreamPaymentEventsResponse>,
    payments: usize,
) -> Result<Vec<String>, BenchError> {
    let (mut ids, mut succeeded) = (Vec::new(), 0);
    while succeeded < payments {
        let Some(message) = stream.message().await? else {
            return Err("the event stream ended early".into());
        };
        let event = message.event.ok_or("an empty event")?;
        if let Some(pb::payment_event::Subject::Payment(p)) = &event.subject
            && p.status == pb::PaymentStatus::Success as i32
        {
            succeeded += 1;
        }
        ids.push(event.event_id);
    }
    Ok(ids)
}

/// The streamed events are exactly the outbox's events committed after the stream opened, in sequence order.
async fn check_commit_order(
    gateway: &RunningGateway,
    store: &str,
    streamed: &[String],
) -> Result<(), BenchError> {
    use sea_orm::QueryOrder;
    use store::entity::payment_event;
    let first = streamed.first().ok_or("no event streamed")?;
    let rows = payment_event::Entity::find()
        .order_by_asc(payment_event::Column::Seq)
        .all(gateway.store().connection())
        .await?;
    let start = rows
        .iter()
        .position(|r| &r.event_id == first)
        .ok_or("the first streamed event is not in the outbox")?;
    let committed: Vec<&String> = rows[start..].iter().map(|r| &r.event_id).collect();
    if committed.len() != streamed.len() || committed.iter().zip(streamed).any(|(a, b)| *a != b) {
        return Err(format!(
            "{store}: the stream ({} events) is not the outbox in commit order ({} events)",
            streamed.len(),
            committed.len()
        )
        .into());
    }
    println!(
        "{store}: {} events streamed, in commit order, none missed or repeated",
        streamed.len()
    );
    Ok(())
}

/// `count` cashier payments, PROCESSING until their notification arrives.
async fn create_payments(
    gateway: &RunningGateway,
    store: &str,
    count: usize,
) -> Result<Vec<String>, BenchError> {
    let mut client = PaymentServiceClient::connect(format!("http://{}", gateway.addr())).await?;
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let id = format!("bench-notify-{store}-{i:05}");
        let payment = client
            .pay(pb::PayRequest {
                payment_request_id: id.clone(),
                payment_amount: Some(pb::Amount {
                    currency: "PHP".into(),
                    value: 1000,
                }),
                order: Some(pb::Order {
                    reference_order_id: format!("order-{id}"),
                    order_description: "Bench order".into(),
                    ..Default::default()
                }),
                source: Some(pb::pay_request::Source::Cashier(pb::CashierPaymentSource {
                    wallet: pb::Wallet::Gcash as i32,
                    payment_redirect_url: "https://merchant.example/paid".into(),
                    env: Some(pb::Env {
                        terminal_type: pb::TerminalType::Web as i32,
                        ..Default::default()
                    }),
                })),
                ..Default::default()
            })
            .await?
            .into_inner()
            .payment
            .ok_or("Pay answered without a payment")?;
        if payment.status != pb::PaymentStatus::Processing as i32 {
            return Err(format!("unexpected payment: {payment:?}").into());
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Per payment: PAYMENT_PENDING and PAYMENT_RESULT, each delivered five times, interleaved across payments.
fn sign_all(ids: &[String]) -> Result<Vec<Signed>, BenchError> {
    let signer = alipay::Signer::from_text(sandbox::dev::ALIPAY_PRIVATE_KEY_PEM)?;
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut distinct = Vec::new();
    for id in ids {
        for (notify_type, code) in [
            ("PAYMENT_PENDING", "PAYMENT_IN_PROCESS"),
            ("PAYMENT_RESULT", "SUCCESS"),
        ] {
            let body = serde_json::json!({
                "notifyType": notify_type,
                "result": {"resultCode": code, "resultStatus": "S", "resultMessage": "success"},
                "paymentRequestId": id,
                "paymentId": format!("alipay-{id}"),
                "paymentAmount": {"value": "1000", "currency": "PHP"},
                "paymentCreateTime": "2026-11-30T10:00:00+08:00",
                "paymentTime": "2026-11-30T10:01:00+08:00"
            })
            .to_string()
            .into_bytes();
            let signature = signer.header_value(
                1,
                "POST",
                "/alipay/notify",
                sandbox::dev::CLIENT_ID,
                &time,
                &body,
            )?;
            distinct.push(Signed {
                headers: [
                    ("client-id", sandbox::dev::CLIENT_ID.to_owned()),
                    ("request-time", time.clone()),
                    ("signature", signature),
                ],
                body,
            });
        }
    }
    let mut all = Vec::with_capacity(distinct.len() * PER_PAYMENT / 2);
    for _ in 0..PER_PAYMENT / 2 {
        for n in &distinct {
            all.push(Signed {
                headers: n.headers.clone(),
                body: n.body.clone(),
            });
        }
    }
    Ok(all)
}
