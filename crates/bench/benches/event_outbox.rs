//! What the event outbox's commit ordering costs on PostgreSQL. Every state change appends its event under a
//! transaction-level advisory lock taken right before the insert and held through the commit (see
//! `crates/store/src/outbox.rs`), so state-change commits are serialised. This bench runs the same workload (write
//! a payment intent, then move it to SUCCESS: two state changes, two events) through the real store on two schemas
//! of one PostgreSQL database in the same run: one as shipped, and one where `pg_advisory_xact_lock` is shadowed by
//! a no-op function earlier on the search path, i.e. a plain sequence without the ordering guarantee.
//!
//! Needs `BENCH_DATABASE_URL` or `TEST_DATABASE_URL` (a PostgreSQL server; the bench creates and drops its own
//! database). Run with `cargo bench -p bench --bench event_outbox`; see `docs/performance.md`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bench::harness::{BenchError, Case, Ratio, Round, Settings as BenchSettings, measure};
use bench::load::closed_loop;
use bench::postgres::{Database, server_url};
use bench::report;
use sea_orm::ConnectionTrait;
use store::payments::{NewPayment, PaymentUpdate};
use store::{PaymentStatus, Store, Transition};

/// Writers at once (the store's PostgreSQL pool holds 16 connections).
const CONCURRENCY: usize = 16;
/// The schema whose advisory lock is a no-op.
const UNLOCKED: &str = "outbox_unlocked";

fn main() -> Result<(), BenchError> {
    let settings = BenchSettings::from_env()?;
    let Some(admin_url) = server_url() else {
        eprintln!("no BENCH_DATABASE_URL / TEST_DATABASE_URL: the outbox bench needs PostgreSQL");
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let database = runtime.block_on(Database::create(
        &admin_url,
        &format!("gw_outbox_bench_{}", std::process::id()),
    ))?;
    let (locked, unlocked) = runtime.block_on(setup(&database.url))?;
    let ids = Arc::new(AtomicU64::new(0));
    let mut cases = vec![
        Case::new(
            format!("commit-ordered outbox (advisory lock), concurrency {CONCURRENCY}"),
            |budget| runtime.block_on(state_changes(&locked, &ids, CONCURRENCY, budget)),
        ),
        Case::new(
            format!("plain sequence (lock shadowed), concurrency {CONCURRENCY}"),
            |budget| runtime.block_on(state_changes(&unlocked, &ids, CONCURRENCY, budget)),
        ),
        Case::new(
            "commit-ordered outbox (advisory lock), concurrency 1",
            |budget| runtime.block_on(state_changes(&locked, &ids, 1, budget)),
        ),
        Case::new("plain sequence (lock shadowed), concurrency 1", |budget| {
            runtime.block_on(state_changes(&unlocked, &ids, 1, budget))
        }),
    ];
    let results = measure(&mut cases, &settings)?;
    drop(cases);
    runtime.block_on(async {
        locked.close().await?;
        unlocked.close().await?;
        database.drop().await
    })?;

    println!("## event_outbox ({})\n", report::conditions(&settings));
    println!(
        "One operation = a payment intent written and moved to SUCCESS through `store::Store` (two state changes, \
         two outbox events, each its own transaction), PostgreSQL at `{}`.\n",
        redact(&admin_url)
    );
    println!("{}", report::table("payment", &results));
    let [locked16, plain16, locked1, plain1] = results.as_slice() else {
        return Err("expected four results".into());
    };
    println!(
        "- {}",
        report::ratio_line(
            &format!("with / without the commit-order lock, concurrency {CONCURRENCY}"),
            &Ratio::of(locked16, plain16)
        )
    );
    println!(
        "- {}",
        report::ratio_line(
            "with / without the commit-order lock, concurrency 1",
            &Ratio::of(locked1, plain1)
        )
    );
    println!(
        "- state changes/s with the lock at concurrency {CONCURRENCY}: {}",
        report::thousands(2.0 * locked16.median())
    );
    Ok(())
}

/// The shipped schema in `public` of the fresh database at `url`, and a second, migrated copy whose advisory lock is
/// a no-op (a function of the same name earlier on that connection's search path than `pg_catalog`).
async fn setup(url: &str) -> Result<(Store, Store), BenchError> {
    let locked = Store::connect(url).await?;
    locked.migrate().await?;
    locked
        .connection()
        .execute_unprepared(&format!(
            "CREATE SCHEMA {UNLOCKED}; \
             CREATE FUNCTION {UNLOCKED}.pg_advisory_xact_lock(bigint) RETURNS void \
             LANGUAGE sql AS 'SELECT NULL::void'"
        ))
        .await?;
    let unlocked =
        Store::connect(&format!("{url}?options[search_path]={UNLOCKED},pg_catalog")).await?;
    unlocked.migrate().await?;
    for (store, expected) in [(&locked, 1), (&unlocked, 0)] {
        let held = advisory_locks_after_locking(store).await?;
        if held != expected {
            return Err(format!("expected {expected} advisory lock(s), found {held}").into());
        }
    }
    Ok((locked, unlocked))
}

/// How many advisory locks a transaction holds after calling `pg_advisory_xact_lock` the way the outbox does:
/// proves the shadowing works (and is confined to its schema) before anything is measured.
async fn advisory_locks_after_locking(store: &Store) -> Result<i64, BenchError> {
    use sea_orm::TransactionTrait;
    let txn = store.connection().begin().await?;
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(1)")
        .await?;
    let row = txn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) AS held FROM pg_catalog.pg_locks \
             WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid()",
        ))
        .await?
        .ok_or("no row")?;
    let held: i64 = row.try_get("", "held")?;
    txn.rollback().await?;
    Ok(held)
}

/// `concurrency` writers, each writing an intent and moving it to SUCCESS back to back.
async fn state_changes(
    store: &Store,
    ids: &Arc<AtomicU64>,
    concurrency: usize,
    budget: Duration,
) -> Result<Round, BenchError> {
    let (store, ids) = (store.clone(), Arc::clone(ids));
    closed_loop(concurrency, budget, move || {
        let (store, n) = (store.clone(), ids.fetch_add(1, Ordering::Relaxed));
        async move {
            let payment = store
                .payments()
                // The write-ahead inquiry job is due far in the future: only the writes are measured.
                .insert_intent(intent(n), chrono::Utc::now() + chrono::Duration::hours(1))
                .await?
                .into_inner();
            store
                .payments()
                .transition(
                    &payment.id,
                    payment.version,
                    Transition::new(PaymentStatus::Success, "bench"),
                    PaymentUpdate::default(),
                )
                .await?;
            Ok(())
        }
    })
    .await
}

fn intent(n: u64) -> NewPayment {
    NewPayment {
        payment_request_id: format!("bench-outbox-{n}"),
        product_code: store::ProductCode::AgreementPayment,
        amount_value: 1000,
        currency: "PHP".into(),
        order_reference_id: Some(format!("order-{n}")),
        order_description: Some("bench".into()),
        payment_method_type: store::Wallet::Gcash,
        binding_id: None,
        binding_version: None,
        customer_id: Some("bench-customer".into()),
        request_fingerprint: format!("fp-{n}"),
        is_authorization: false,
        capture_mode: None,
        metadata: BTreeMap::new(),
        merchant_region: None,
        payment_expiry_time: None,
    }
}

/// The server URL without its password, for the report.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}
