//! One helper that runs a test body against every configured backend.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use std::future::Future;
use store::{Store, StoreError};

/// Runs `body` on a fresh, migrated SQLite store, then (if `TEST_DATABASE_URL` is set) on a
/// fresh PostgreSQL schema. With `CI` set and no `TEST_DATABASE_URL`, panics rather than
/// silently testing only SQLite.
pub async fn each_backend<F, Fut>(body: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
{
    // SQLite: a file in a directory that does not exist yet (connect must create it).
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("store.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let store = Store::connect(&url).await.expect("connect sqlite");
    store.migrate().await.expect("migrate sqlite");
    run("sqlite", store.clone(), &body).await;
    store.close().await.expect("close sqlite");

    if let Some(postgres) = postgres_store("").await {
        let result = run_catching("postgres", postgres.store.clone(), &body).await;
        postgres.close().await;
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}

/// A migrated store in a PostgreSQL schema of its own, made through the admin connection it keeps to drop it.
pub struct PostgresStore {
    pub store: Store,
    pub admin: DatabaseConnection,
    pub schema: String,
}

impl PostgresStore {
    /// Closes the store and drops its schema.
    pub async fn close(self) {
        self.store.close().await.expect("close postgres");
        self.admin
            .execute_unprepared(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .expect("drop schema");
    }
}

/// A store on `TEST_DATABASE_URL` in a fresh schema, its URL carrying the query parameters `extra` (`&name=value`...)
/// too; `None` when the variable is unset. With `CI` set and no `TEST_DATABASE_URL`, panics rather than silently
/// testing only SQLite.
pub async fn postgres_store(extra: &str) -> Option<PostgresStore> {
    let admin_url = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "CI is set but TEST_DATABASE_URL is not: PostgreSQL tests must run in CI \
                     (e.g. TEST_DATABASE_URL=postgres://payments:payments@127.0.0.1:5432/payments)"
                );
            }
            return None;
        }
    };
    let admin = Database::connect(admin_url.as_str())
        .await
        .expect("connect to TEST_DATABASE_URL");
    let schema = format!("store_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create schema");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options[search_path]={schema}{extra}");
    let store = Store::connect(&url).await.expect("connect postgres");
    store.migrate().await.expect("migrate postgres");
    Some(PostgresStore {
        store,
        admin,
        schema,
    })
}

async fn run<F, Fut>(backend: &str, store: Store, body: &F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
{
    if let Err(panic) = run_catching(backend, store, body).await {
        std::panic::resume_unwind(panic);
    }
}

/// Runs the body in a task so a panic can be caught, the schema cleaned up, and then re-raised.
async fn run_catching<F, Fut>(
    backend: &str,
    store: Store,
    body: &F,
) -> Result<(), Box<dyn std::any::Any + Send>>
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
{
    match tokio::spawn(body(store)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Box::new(format!("[{backend}] store error: {e} ({e:?})"))),
        Err(join) => {
            eprintln!("[{backend}] test body panicked");
            Err(join.into_panic())
        }
    }
}

/// A valid payment intent for tests; `n` makes the request id unique.
pub fn new_payment(n: u32) -> store::payments::NewPayment {
    store::payments::NewPayment {
        payment_request_id: format!("REQ-{n}"),
        product_code: store::ProductCode::AgreementPayment,
        amount_value: 10_000 + i64::from(n),
        currency: "PHP".into(),
        order_reference_id: Some(format!("ORDER-{n}")),
        order_description: Some("test order".into()),
        payment_method_type: store::Wallet::Gcash,
        binding_id: None,
        binding_version: None,
        customer_id: Some("CUST-1".into()),
        request_fingerprint: format!("fp-{n}"),
        is_authorization: false,
        capture_mode: None,
        metadata: Default::default(),
        merchant_region: None,
        payment_expiry_time: None,
    }
}

/// When the write-ahead inquiry job of a test intent becomes due: far enough out that no test sees it due.
pub fn inquire_at() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::hours(1)
}
