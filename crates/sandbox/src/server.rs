//! Lifecycle: binding, the accept loop, graceful shutdown. The sandbox runs its own hyper accept loop (not
//! `axum::serve`) because scenario 94002 must close a connection without answering, which needs a handle on
//! each connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::TokioIo;
use rsa::RsaPublicKey;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

use crate::app::{App, ConnectionKill, Limits};
use crate::clock::Clock;
use crate::config::SandboxConfig;
use crate::delivery::{self, Notifier};
use crate::error::SandboxError;
use crate::keys;
use crate::shutdown::stopped;
use crate::state::State;
use crate::stats::Stats;

/// Entry point of the simulator.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Parses the keys, binds `addr` (port 0 picks a free port) and serves until [`RunningSandbox::shutdown`].
    pub async fn start(
        config: SandboxConfig,
        addr: SocketAddr,
    ) -> Result<RunningSandbox, SandboxError> {
        let signing_key = keys::private_key(&config.signing_key_pem, "sandbox signing key")?;
        let public_key_pem = keys::public_key_pem(&RsaPublicKey::from(&signing_key))?;
        let merchants = config
            .merchants
            .iter()
            .map(|(id, pem)| {
                Ok((
                    id.clone(),
                    keys::public_key(pem, &format!("public key of merchant {id}"))?,
                ))
            })
            .collect::<Result<HashMap<_, _>, SandboxError>>()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let base_url = match &config.public_base_url {
            Some(url) => {
                url::Url::parse(url).map_err(|_| SandboxError::BaseUrl(url.clone()))?;
                url.trim_end_matches('/').to_owned()
            }
            None => format!("http://{local}"),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let notifier = Notifier::start(
            delivery::Settings {
                default_url: config.notify_url.clone(),
                time_scale: config.notify_time_scale,
                redelivery: config.notify_redelivery,
                agreement_payments: config.notify_agreement_payments,
            },
            signing_key.clone(),
            config.clock.clone(),
            stop_rx.clone(),
        )?;
        let app = Arc::new(App {
            limits: Limits {
                slow_response: config.slow_response,
                access_token_ttl: config.access_token_ttl,
                refresh_token_ttl: config.refresh_token_ttl,
                auth_code_ttl: config.auth_code_ttl,
                cancel_window: config.cancel_window,
                refund_window: config.refund_window,
            },
            signing_key,
            merchants,
            clock: config.clock.clone(),
            base_url: base_url.clone(),
            state: Mutex::new(State::default()),
            digest_key: rand::random(),
            notifier,
            shutdown: stop_rx.clone(),
        });
        let router = crate::routes::router(app.clone());
        let task = tokio::spawn(accept_loop(listener, router, stop_rx));
        tracing::info!(%local, "sandbox listening");
        Ok(RunningSandbox {
            addr: local,
            base_url,
            public_key_pem,
            app,
            stop: stop_tx,
            task: Some(task),
        })
    }
}

async fn accept_loop(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Like Alipay's front ends: an answer is never held back for the caller's delayed ACK.
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, "cannot set TCP_NODELAY on a sandbox connection");
                    }
                    connections.spawn(serve_connection(stream, router.clone(), stop.clone()));
                }
                Err(error) => {
                    // Typically EMFILE: back off briefly rather than spin.
                    tracing::warn!(%error, "sandbox accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let kill = ConnectionKill::default();
    let for_requests = kill.clone();
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(for_requests.clone());
        router.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "sandbox connection ended with an error");
            }
        }
        // Dropping the connection future closes the socket with nothing written.
        () = kill.killed() => {}
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// See [`RunningSandbox::credentials_probe`].
#[derive(Clone)]
pub struct CredentialsProbe(Arc<App>);

impl CredentialsProbe {
    /// The credentials so far ([`State::credentials`](crate::state::State::credentials)).
    pub fn credentials(&self) -> Vec<String> {
        self.0.state().credentials()
    }
}

impl std::fmt::Debug for CredentialsProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialsProbe")
    }
}

/// A started sandbox. Dropping it stops the server too, but [`RunningSandbox::shutdown`] waits for that.
#[derive(Debug)]
pub struct RunningSandbox {
    addr: SocketAddr,
    base_url: String,
    public_key_pem: String,
    app: Arc<App>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningSandbox {
    /// A handle that lists every credential this sandbox issued or received, usable after the sandbox stopped:
    /// test harnesses scan the merchant side's logs for them.
    pub fn credentials_probe(&self) -> CredentialsProbe {
        CredentialsProbe(Arc::clone(&self.app))
    }

    /// `http://<addr>` (or the configured public base URL): the client's endpoint.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The bound address (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The SPKI PEM of the key responses are signed with: configure it as the client's Alipay public key.
    pub fn alipay_public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// A snapshot of the call and charge counters.
    pub fn stats(&self) -> Stats {
        self.app.state().stats.clone()
    }

    /// The clock the sandbox reads (a clone of the configured one; advancing it moves the sandbox's time).
    pub fn clock(&self) -> Clock {
        self.app.clock.clone()
    }

    /// Stops accepting, lets in-flight requests finish (scenario delays are cut short) and waits.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "sandbox server task failed");
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
