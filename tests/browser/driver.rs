//! The Rust side of the shared browser driver (`tests/browser/card_checkout.js`), included by every browser test
//! (`#[path]`): its prerequisites, the merchant's return server, and one run of the driver.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::{OriginalUri, State};
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";

/// The driver's prerequisites: playwright-core's `node_modules` (`ALIPAY_GATEWAY_NODE_MODULES`) and a Chromium
/// binary. `None` skips the test locally; under CI a missing one fails it.
pub fn prerequisites() -> Option<(String, String)> {
    let modules = std::env::var("ALIPAY_GATEWAY_NODE_MODULES").unwrap_or_default();
    let chromium = std::env::var("ALIPAY_GATEWAY_CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
    let ready = !modules.is_empty()
        && Path::new(&modules).join("playwright-core").is_dir()
        && Path::new(&chromium).is_file();
    if ready {
        return Some((modules, chromium));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but the browser test cannot run: it needs playwright-core in ALIPAY_GATEWAY_NODE_MODULES \
         ({modules:?}) and Chromium at {chromium} (apt-get install chromium chromium-driver)"
    );
    eprintln!("playwright-core or Chromium missing: skipping the browser test");
    None
}

/// The merchant's return page (`/return`): records every URL the browser lands on there.
pub struct ReturnServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The path and query of every page served, in order.
    pub hits: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ReturnServer {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .route(
                "/return",
                axum::routing::get(|State(hits): State<Arc<Mutex<Vec<String>>>>, OriginalUri(uri): OriginalUri| async move {
                    hits.lock().unwrap().push(uri.to_string());
                    axum::response::Html("<!doctype html><title>Merchant</title><h1>Back at the merchant</h1>")
                }),
            )
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { base, hits, task }
    }
}

impl ReturnServer {
    /// Asserts the driver's `report`: it saw `pages` (titles, in order), ended on the merchant's page, and that
    /// page was served here once more, last, at `path_and_query`.
    pub fn assert_landed(&self, report: &Value, pages: &[&str], path_and_query: &str) {
        assert_eq!(report["pages"], serde_json::json!(pages), "{report}");
        assert!(
            report["finalText"]
                .as_str()
                .unwrap_or_default()
                .contains("Back at the merchant"),
            "{report}"
        );
        assert_eq!(
            self.hits.lock().unwrap().last().map(String::as_str),
            Some(path_and_query)
        );
    }
}

impl Drop for ReturnServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The order of the acceptance scenario on the hosted page: the buyer enters 4000000000003220 (which needs the
/// 3DS challenge) expiring 12/`expiry_year`, ticks "save card" and passes the OTP.
pub fn save_3220_with_3ds(url: &str, expiry_year: &str) -> Value {
    serde_json::json!({
        "url": url,
        "card": {"cardNo": "4000000000003220", "expiryMonth": "12", "expiryYear": expiry_year, "cvv": "123",
                 "cardholderName": "Jane Roe", "zipCode": "10001"},
        "saveCard": true,
        "otp": "1234",
    })
}

/// Runs the shared driver with `order`; returns its JSON report.
pub async fn checkout(modules: &str, chromium: &str, order: Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("tests/browser/card_checkout.js"))
        .find(|path| path.is_file())
        .expect("tests/browser/card_checkout.js");
    let (modules, chromium) = (modules.to_owned(), chromium.to_owned());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(order.to_string())
            .env("NODE_PATH", modules)
            .env("ALIPAY_GATEWAY_CHROMIUM", chromium)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser driver failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}
