//! A merchant's notification endpoint: a real HTTP server that verifies every notification with the `alipay`
//! crate's verifier (aws-lc-rs, sharing no code with the sandbox's RustCrypto signer), records it, and answers
//! with the acknowledgement or whatever a test scripts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alipay::Verifier;
use alipay::notification::{ACK_RETRY, ACK_SUCCESS, verify_notification};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::Value;
use tokio::sync::Notify;

/// What the receiver answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// HTTP 200 with the exact acknowledgement.
    pub fn ack() -> Self {
        Self::with(200, ACK_SUCCESS)
    }

    /// HTTP 200 with the failure answer that asks for redelivery.
    pub fn retry() -> Self {
        Self::with(200, ACK_RETRY)
    }

    pub fn with(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
        }
    }
}

/// One notification as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The `alipay` crate's verdict on the signature.
    pub verified: Result<(), String>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn assert_verified(&self) -> Value {
        assert_eq!(
            self.verified,
            Ok(()),
            "notification to {} does not verify",
            self.path
        );
        self.json()
    }
}

struct Shared {
    verifier: Verifier,
    client_id: String,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

/// A running receiver; every path is served.
pub struct Receiver {
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let path = uri.path().to_owned();
    let verified = verify_notification(&shared.verifier, &shared.client_id, &path, &headers, &body)
        .map_err(|e| e.to_string());
    let reply = {
        let mut script = shared.script.lock().unwrap();
        script
            .pop_front()
            .unwrap_or_else(|| shared.default.lock().unwrap().clone())
    };
    shared.received.lock().unwrap().push(Received {
        path,
        headers,
        body: body.to_vec(),
        verified,
    });
    shared.arrived.notify_waiters();
    (StatusCode::from_u16(reply.status).unwrap(), reply.body)
}

impl Receiver {
    /// Starts a receiver that verifies with `alipay_public_key` and expects `client_id`, acknowledging by default.
    pub async fn start(alipay_public_key: &str, client_id: &str) -> Self {
        let shared = Arc::new(Shared {
            verifier: Verifier::from_text(alipay_public_key).unwrap(),
            client_id: client_id.to_owned(),
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(Reply::ack()),
            received: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        });
        let router = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { base, shared, task }
    }

    /// `http://<receiver><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answers every notification after the scripted ones with `reply`.
    pub fn answer(&self, reply: Reply) {
        *self.shared.default.lock().unwrap() = reply;
    }

    /// Answers the next notifications with these replies, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` notifications have arrived (failing after a generous guard) and returns all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let wait = async {
            loop {
                let arrived = self.shared.arrived.notified();
                tokio::pin!(arrived);
                arrived.as_mut().enable();
                let received = self.received();
                if received.len() >= n {
                    return received;
                }
                arrived.await;
            }
        };
        match tokio::time::timeout(Duration::from_secs(60), wait).await {
            Ok(received) => received,
            Err(_) => panic!(
                "expected {n} notifications, got {}: {:?}",
                self.received().len(),
                self.received()
                    .iter()
                    .map(|r| String::from_utf8_lossy(&r.body).into_owned())
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// Waits for the first notification whose JSON satisfies `matches`.
    pub async fn wait_for_match(&self, matches: impl Fn(&Value) -> bool) -> Received {
        let mut n = 1;
        loop {
            let received = self.wait_for(n).await;
            if let Some(found) = received.iter().find(|r| matches(&r.json())) {
                return found.clone();
            }
            n = received.len() + 1;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
