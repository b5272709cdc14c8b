//! Several replicas on one PostgreSQL (issue 11, acceptance 6), with the real binary twice over one fresh database:
//! both start together and both serve (migrations are applied once, under the advisory lock); payments Alipay
//! answers U are inquired by both replicas but never by two at once; when one replica is SIGKILLed the other takes
//! its jobs over once their leases expire and finishes every payment; Alipay sees one pay per `paymentRequestId`.
//!
//! Each replica reaches the sandbox through its own recording proxy, so every inquiry is attributed to the replica
//! that made it, with the time it was on the wire. PostgreSQL only: SQLite serves a single instance.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails (clippy.toml)

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alipay_gateway::pb::v1 as pb;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use common::*;
use sea_orm::ConnectionTrait;
use tokio::time::Instant;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const PAYMENTS: usize = 20;
/// `930NN`: U `PAYMENT_IN_PROCESS`, then PROCESSING to NN inquiries, then SUCCESS (docs/sandbox.md).
const PROCESSING_INQUIRIES: i64 = 40;
const AMOUNT: i64 = 93_000 + PROCESSING_INQUIRIES;
const INQUIRY_INTERVAL: Duration = Duration::from_millis(100);
const JOB_LEASE: Duration = Duration::from_secs(2);
/// Scheduling slack of a loaded 2-core machine on top of the protocol's own bounds.
const SLACK: Duration = Duration::from_secs(10);

/// One inquiryPayment seen by a replica's proxy: who sent it, for which payment, and when it was on the wire.
#[derive(Debug, Clone)]
struct Inquiry {
    replica: usize,
    payment_request_id: String,
    start: Instant,
    end: Instant,
}

/// A recording proxy in front of the sandbox for one replica. Requests and responses pass unchanged (the
/// signatures cover path, headers and body, all kept).
#[derive(Clone)]
struct Proxy {
    replica: usize,
    upstream: String,
    client: reqwest::Client,
    inquiries: Arc<Mutex<Vec<Inquiry>>>,
}

/// Records an inquiry when dropped: at the response, or when the replica is killed mid-call (the handler is then
/// dropped with the connection).
struct InFlight {
    proxy: Proxy,
    payment_request_id: String,
    start: Instant,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.proxy.inquiries.lock().unwrap().push(Inquiry {
            replica: self.proxy.replica,
            payment_request_id: std::mem::take(&mut self.payment_request_id),
            start: self.start,
            end: Instant::now(),
        });
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("request body");
    let path = parts.uri.path().to_owned();
    let _in_flight = path.ends_with("/payments/inquiryPayment").then(|| {
        let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON body");
        InFlight {
            proxy: proxy.clone(),
            payment_request_id: json["paymentRequestId"]
                .as_str()
                .expect("inquiry by paymentRequestId")
                .to_owned(),
            start: Instant::now(),
        }
    });
    let mut headers = parts.headers.clone();
    headers.remove(axum::http::header::HOST);
    headers.remove(axum::http::header::CONTENT_LENGTH);
    let answer = proxy
        .client
        .request(parts.method, format!("{}{path}", proxy.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("sandbox answers");
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != axum::http::header::CONTENT_LENGTH
            && name != axum::http::header::TRANSFER_ENCODING
        {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.expect("sandbox body");
    response.body(Body::from(bytes)).expect("response")
}

/// Starts replica `replica`'s proxy on a loopback port; returns its base URL.
async fn start_proxy(
    replica: usize,
    sandbox: &sandbox::RunningSandbox,
    inquiries: Arc<Mutex<Vec<Inquiry>>>,
) -> String {
    let proxy = Proxy {
        replica,
        upstream: sandbox.base_url(),
        client: reqwest::Client::new(),
        inquiries,
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("proxy addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn health(gateway: &GatewayProcess) -> ServingStatus {
    let channel = tonic::transport::Endpoint::from_shared(gateway.endpoint())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect health");
    let mut client = HealthClient::new(channel);
    let status = client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("Check")
        .into_inner()
        .status;
    ServingStatus::try_from(status).expect("known status")
}

/// The `applied=N` count of the "database migrations applied" line in a replica's log.
fn migrations_applied(log: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.contains("database migrations applied"))
        .unwrap_or_else(|| panic!("no migration line in the log:\n{log}"));
    // `applied=N` in text logs, `"applied":N` in JSON ones.
    let after = line
        .split_once("applied=")
        .or_else(|| line.split_once("\"applied\":"))
        .map(|(_, after)| after)
        .expect("applied=N");
    let count: String = after.chars().take_while(char::is_ascii_digit).collect();
    count.parse().expect("a count")
}

fn by_payment(inquiries: &[Inquiry]) -> BTreeMap<&str, Vec<&Inquiry>> {
    let mut map: BTreeMap<&str, Vec<&Inquiry>> = BTreeMap::new();
    for inquiry in inquiries {
        map.entry(&inquiry.payment_request_id)
            .or_default()
            .push(inquiry);
    }
    for calls in map.values_mut() {
        calls.sort_by_key(|c| c.start);
    }
    map
}

/// How long after its death a request the killed replica had already written may still reach its proxy.
const IN_FLIGHT_MARGIN: Duration = Duration::from_millis(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_postgresql() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|url| url.is_empty())
        || std::env::var_os("TEST_DATABASE_URL").is_none()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but TEST_DATABASE_URL is not: the replicas test cannot be skipped"
        );
        eprintln!("TEST_DATABASE_URL is unset: skipping the replicas test (PostgreSQL only)");
        return;
    }
    for_each_backend(|db| async move {
        if db.postgres_name().is_none() {
            return; // SQLite: one instance per file, nothing to share.
        }
        let sandbox = start_sandbox(Duration::from_secs(10)).await;
        let inquiries = Arc::new(Mutex::new(Vec::new()));
        let proxies = [
            start_proxy(0, &sandbox, inquiries.clone()).await,
            start_proxy(1, &sandbox, inquiries.clone()).await,
        ];
        let options = |replica: usize| GatewayOptions {
            inquiry_interval: "100ms",
            max_inquiries: 100,
            // One short attempt keeps the write-ahead grace (which must cover it) short.
            request_timeout: "2s",
            call_attempts: 1,
            write_ahead_grace: "3s",
            extra_env: vec![
                ("ALIPAY_GATEWAY_UPSTREAM", proxies[replica].clone()),
                ("ALIPAY_GATEWAY_JOB_LEASE", "2s".into()),
            ],
            ..GatewayOptions::default()
        };

        // Started together on the fresh database: each migrates at start (the chart's `startup` mode).
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| GatewayProcess::start(&db, &sandbox, &options(0)));
            let b = s.spawn(|| GatewayProcess::start(&db, &sandbox, &options(1)));
            (a.join().expect("replica a"), b.join().expect("replica b"))
        });
        assert_eq!(health(&a).await, ServingStatus::Serving);
        assert_eq!(health(&b).await, ServingStatus::Serving);
        let store = db.store().await;
        let recorded = store
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(
                store.backend(),
                "SELECT COUNT(*) AS n FROM seaql_migrations",
            ))
            .await
            .expect("count migrations")
            .expect("a row")
            .try_get::<i64>("", "n")
            .expect("n");
        let mut applied = [migrations_applied(&a.log()), migrations_applied(&b.log())];
        applied.sort_unstable();
        assert_eq!(
            applied,
            [0, u64::try_from(recorded).expect("count")],
            "one replica applied every migration, the other none"
        );

        // 20 payments answered U, half through each replica.
        let binding = bind_wallet(&a, "customer-replicas").await;
        let mut ids = Vec::new();
        for i in 0..PAYMENTS {
            let gateway = if i % 2 == 0 { &a } else { &b };
            let id = request_id(&format!("replica{}", i % 2));
            let payment = gateway
                .payments()
                .await
                .pay(agreement_pay(&id, &binding.binding_id, AMOUNT))
                .await
                .expect("an unknown outcome is not an error")
                .into_inner()
                .payment
                .expect("payment");
            assert_eq!(payment.status, pb::PaymentStatus::Processing as i32);
            ids.push(id);
        }

        // Both replicas work the jobs; then one dies while every payment is still in progress.
        let inquired = |replica: Option<usize>| {
            let all = inquiries.lock().unwrap().clone();
            let mut counts = BTreeMap::<String, usize>::new();
            for i in all.iter().filter(|i| replica.is_none_or(|r| i.replica == r)) {
                *counts.entry(i.payment_request_id.clone()).or_default() += 1;
            }
            counts
        };
        eventually(
            "every payment inquired twice, by both replicas",
            Duration::from_secs(60),
            || {
                let ready = ids
                    .iter()
                    .all(|id| inquired(None).get(id).copied().unwrap_or(0) >= 2)
                    && !inquired(Some(0)).is_empty()
                    && !inquired(Some(1)).is_empty();
                async move { ready.then_some(()) }
            },
        )
        .await;
        a.kill_hard();
        // Reaped: nothing new leaves the dead replica from here on (a request it wrote just before dying may still
        // be read by its proxy, hence the margin in the check below).
        let killed_at = Instant::now();
        let before_kill = inquired(None);
        let unfinished: Vec<&String> = ids
            .iter()
            .filter(|id| before_kill.get(*id).copied().unwrap_or(0) <= PROCESSING_INQUIRIES as usize)
            .collect();
        assert!(
            !unfinished.is_empty(),
            "the kill came while payments were in progress: {before_kill:?}"
        );

        // The survivor finishes everything: the jobs the dead replica held come back when their leases expire.
        let remaining = INQUIRY_INTERVAL * (PROCESSING_INQUIRIES as u32 + 1);
        for id in &ids {
            wait_for_status(
                &b,
                id,
                pb::PaymentStatus::Success,
                JOB_LEASE + remaining + SLACK,
            )
            .await;
        }
        let all = inquiries.lock().unwrap().clone();
        let mut takeover = Duration::ZERO;
        for id in &unfinished {
            let first_after = all
                .iter()
                .filter(|i| &&i.payment_request_id == id && i.start > killed_at)
                .map(|i| i.start)
                .min()
                .unwrap_or_else(|| panic!("{id} was finished by someone after the kill"));
            takeover = takeover.max(first_after - killed_at);
        }
        eprintln!(
            "takeover after SIGKILL: {takeover:?} (job lease {JOB_LEASE:?} + inquiry interval {INQUIRY_INTERVAL:?})"
        );
        assert!(
            takeover <= JOB_LEASE + INQUIRY_INTERVAL + SLACK,
            "jobs resumed {takeover:?} after the kill"
        );
        assert!(
            all.iter()
                .filter(|i| i.start > killed_at + IN_FLIGHT_MARGIN)
                .all(|i| i.replica == 1),
            "only the survivor inquires after the kill"
        );

        // Never two inquiries of one payment on the wire at once, across replicas.
        for (id, calls) in by_payment(&all) {
            for pair in calls.windows(2) {
                assert!(
                    pair[1].start >= pair[0].end,
                    "{id}: replica {} inquired while replica {}'s inquiry was in flight",
                    pair[1].replica,
                    pair[0].replica
                );
            }
        }
        // One Alipay pay (and one charge) per paymentRequestId.
        let stats = sandbox.stats();
        for id in &ids {
            assert_eq!(stats.request_calls("payments/pay", id), 1, "{id}");
            assert_eq!(stats.charges_for(id), 1, "{id}");
        }
        b.terminate();
        sandbox.shutdown().await;
    })
    .await;
}
