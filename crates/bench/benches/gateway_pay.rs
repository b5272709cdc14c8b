//! Load through the whole gateway: gRPC `PaymentService.Pay` (IN_STORE_PAYMENT, which Alipay settles at once) →
//! validation → idempotency record → write-ahead payment row and job → signed call to the built-in sandbox →
//! transition, audit row and call log. Run on SQLite and, when `BENCH_DATABASE_URL` (or `TEST_DATABASE_URL`) names
//! a PostgreSQL server, on a fresh PostgreSQL database too; in the same run, the bare signed client call to the same
//! sandbox, so the ratios say what the gateway's durability costs on top of Alipay's round trip.
//!
//! Run with `cargo bench -p bench --bench gateway_pay`; see `docs/performance.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alipay::{AlipayClient, ClientConfig, PathPrefix};
use alipay_gateway::config::{ServeArgs, Settings};
use alipay_gateway::pb::v1 as pb;
use alipay_gateway::pb::v1::payment_service_client::PaymentServiceClient;
use alipay_gateway::server::{Gateway, RunningGateway};
use bench::fixtures::{CLIENT_ID, MERCHANT_PRIVATE_KEY_PEM};
use bench::harness::{BenchError, Case, Ratio, Round, Settings as BenchSettings, measure};
use bench::load::{closed_loop, signed_pays};
use bench::postgres::{Database, server_url};
use bench::report;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tonic::transport::Channel;

/// Payments in flight at once: a busy gateway.
const CONCURRENCY: usize = 16;
/// A payment code the sandbox charges (16–24 digits starting 25–30).
const PAYMENT_CODE: &str = "281234567890123456";

fn main() -> Result<(), BenchError> {
    let settings = BenchSettings::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let sqlite_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let sqlite = runtime.block_on(start_gateway(&sqlite_url))?;
    let postgres = match server_url() {
        Some(admin) => Some(runtime.block_on(PostgresGateway::start(&admin))?),
        None => {
            eprintln!("no BENCH_DATABASE_URL / TEST_DATABASE_URL: PostgreSQL is not measured");
            None
        }
    };

    // The bare signed call goes to the SQLite gateway's own sandbox, so both sides share one upstream.
    let sandbox_url = sqlite
        .sandbox_url()
        .ok_or("the gateway runs without its built-in sandbox")?;
    let client = AlipayClient::new(
        ClientConfig::new(
            CLIENT_ID,
            MERCHANT_PRIVATE_KEY_PEM,
            sandbox::dev::ALIPAY_PUBLIC_KEY_PEM,
            sandbox_url,
        )
        .with_path_prefix(PathPrefix::Sandbox)
        .with_request_timeout(Duration::from_secs(10)),
    )?;
    let sqlite_channel = runtime.block_on(channel(&sqlite))?;
    let postgres_channel = match &postgres {
        Some(pg) => Some(runtime.block_on(channel(&pg.gateway))?),
        None => None,
    };
    let ids = Arc::new(AtomicU64::new(0));

    let mut cases = vec![
        Case::new(
            format!("bare signed client pay → sandbox, concurrency {CONCURRENCY}"),
            |budget| runtime.block_on(signed_pays(&client, &ids, CONCURRENCY, budget)),
        ),
        Case::new(
            format!("gateway Pay over gRPC, SQLite, concurrency {CONCURRENCY}"),
            |budget| runtime.block_on(gateway_calls(&sqlite_channel, &ids, CONCURRENCY, budget)),
        ),
        Case::new("gateway Pay over gRPC, SQLite, concurrency 1", |budget| {
            runtime.block_on(gateway_calls(&sqlite_channel, &ids, 1, budget))
        }),
    ];
    if let Some(channel) = &postgres_channel {
        cases.push(Case::new(
            format!("gateway Pay over gRPC, PostgreSQL, concurrency {CONCURRENCY}"),
            |budget| runtime.block_on(gateway_calls(channel, &ids, CONCURRENCY, budget)),
        ));
    }
    let results = measure(&mut cases, &settings)?;
    drop(cases);

    let recorded = runtime.block_on(recorded_successes(&sqlite))?;
    runtime.block_on(sqlite.shutdown())?;
    if let Some(pg) = postgres {
        runtime.block_on(pg.stop())?;
    }

    println!("## gateway_pay ({})\n", report::conditions(&settings));
    println!(
        "gRPC `Pay` (IN_STORE_PAYMENT, fresh `payment_request_id` each, settled SUCCESS by the built-in sandbox) \
         through the whole gateway, against the bare signed `AlipayClient::pay` (a ~1 KB cashier request) to the \
         same sandbox; client, gateway and sandbox share this process. {recorded} payments were recorded SUCCESS \
         in the SQLite store.\n"
    );
    println!("{}", report::table("call", &results));
    let [bare, sqlite16, sqlite1, rest @ ..] = results.as_slice() else {
        return Err("expected at least three results".into());
    };
    println!(
        "- {}",
        report::ratio_line(
            "Pay/s through the gateway (SQLite) / bare signed calls/s",
            &Ratio::of(sqlite16, bare)
        )
    );
    println!(
        "- {}",
        report::ratio_line(
            &format!("gateway (SQLite) Pay/s, concurrency {CONCURRENCY} / concurrency 1"),
            &Ratio::of(sqlite16, sqlite1)
        )
    );
    if let [postgres16] = rest {
        println!(
            "- {}",
            report::ratio_line(
                "gateway Pay/s, PostgreSQL / SQLite",
                &Ratio::of(postgres16, sqlite16)
            )
        );
    }
    println!(
        "- one Pay at concurrency 1: {:.0} µs",
        sqlite1.micros_per_op()
    );
    Ok(())
}

/// A gateway on its own fresh PostgreSQL database, dropped afterwards.
struct PostgresGateway {
    gateway: RunningGateway,
    database: Database,
}

impl PostgresGateway {
    async fn start(admin_url: &str) -> Result<Self, BenchError> {
        let database =
            Database::create(admin_url, &format!("gw_bench_{}", std::process::id())).await?;
        let gateway = start_gateway(&database.url).await?;
        Ok(Self { gateway, database })
    }

    async fn stop(self) -> Result<(), BenchError> {
        self.gateway.shutdown().await?;
        self.database.drop().await
    }
}

/// The gateway as `serve` runs it by default (built-in sandbox upstream), on `database_url` and a free port.
async fn start_gateway(database_url: &str) -> Result<RunningGateway, BenchError> {
    let settings = Settings::resolve(&ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        notify_listen: Some("127.0.0.1:0".into()),
        database_url: Some(database_url.to_owned()),
        ..ServeArgs::default()
    })?;
    Ok(Gateway::start(settings).await?)
}

async fn channel(gateway: &RunningGateway) -> Result<Channel, BenchError> {
    Ok(
        tonic::transport::Endpoint::from_shared(format!("http://{}", gateway.addr()))?
            .connect()
            .await?,
    )
}

/// An in-store payment of 10.00 PHP with the merchant and store Alipay requires.
fn in_store_pay(payment_request_id: String) -> pb::PayRequest {
    pb::PayRequest {
        payment_request_id: payment_request_id.clone(),
        payment_amount: Some(pb::Amount {
            currency: "PHP".into(),
            value: 1000,
        }),
        order: Some(pb::Order {
            reference_order_id: format!("order-{payment_request_id}"),
            order_description: "Flat white and a croissant".into(),
            merchant: Some(pb::Merchant {
                reference_merchant_id: "merchant-1".into(),
                merchant_mcc: "5812".into(),
                merchant_name: "Bench Cafe".into(),
                store: Some(pb::Store {
                    reference_store_id: "store-1".into(),
                    store_name: "Bench Cafe Makati".into(),
                    store_mcc: "5812".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        source: Some(pb::pay_request::Source::InStore(pb::InStorePaymentSource {
            payment_code: PAYMENT_CODE.into(),
        })),
        ..Default::default()
    }
}

/// `concurrency` callers each sending `Pay` back to back until `budget` has passed. Anything but a SUCCESS
/// payment ends the bench: it must time the real path.
async fn gateway_calls(
    channel: &Channel,
    ids: &Arc<AtomicU64>,
    concurrency: usize,
    budget: Duration,
) -> Result<Round, BenchError> {
    let (client, ids) = (PaymentServiceClient::new(channel.clone()), Arc::clone(ids));
    closed_loop(concurrency, budget, move || {
        let (mut client, ids) = (client.clone(), Arc::clone(&ids));
        async move {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            let payment = client
                .pay(in_store_pay(format!("bench-gw-{id:08}")))
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

/// SUCCESS payments in the gateway's store: every timed Pay must have been recorded, not just answered.
async fn recorded_successes(gateway: &RunningGateway) -> Result<u64, BenchError> {
    use store::entity::payment;
    Ok(payment::Entity::find()
        .filter(payment::Column::Status.eq(store::PaymentStatus::Success))
        .count(gateway.store().connection())
        .await?)
}
