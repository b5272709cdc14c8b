//! Assembling and running the gateway: store, upstream (the built-in sandbox or Alipay), engine, reconciler,
//! and the gRPC server with health and reflection.
//!
//! [`Gateway::start`] returns once the server is listening (tests start it in-process with `127.0.0.1:0`);
//! [`RunningGateway::shutdown`] stops it gracefully: health goes NOT_SERVING, open event streams end with
//! UNAVAILABLE (`SHUTTING_DOWN`: reconnect with the last cursor), the listener closes, in-flight calls finish (up
//! to the configured grace), the reconciler stops between jobs (unfinished jobs stay in the
//! store and resume on the next start), and the call log is flushed.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::config::{Settings, Upstream};
use crate::grpc::{AuthorizationApi, CardApi, PaymentApi};
use crate::pb::v1::authorization_service_server::AuthorizationServiceServer;
use crate::pb::v1::card_service_server::CardServiceServer;
use crate::pb::v1::payment_service_server::PaymentServiceServer;

/// Why the gateway could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened, migrated or reached.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// The built-in sandbox could not start.
    #[error("built-in sandbox: {0}")]
    Sandbox(#[from] sandbox::SandboxError),
    /// The Alipay client configuration is invalid (bad key, bad URL).
    #[error("Alipay client: {0}")]
    Client(#[from] alipay::ConfigError),
    /// The gRPC address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection service could not load a descriptor set.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Opens the store named by `settings`, applies migrations when auto-migrate is on, and seals any plaintext
/// `payments.card_token` of the first schema (a data move that needs the token key, which `migrate` lacks).
pub async fn open_store(settings: &Settings) -> Result<store::Store, ServerError> {
    let store = store::Store::connect(&settings.database_url).await?;
    if settings.auto_migrate {
        store.migrate().await?;
    }
    let sealed = store::card_tokens::CardTokens::new(&store, &settings.engine.token_cipher)
        .seal_plain_payment_tokens()
        .await?;
    if sealed > 0 {
        tracing::info!(
            payments = sealed,
            "plaintext card tokens sealed into card_tokens"
        );
    }
    Ok(store)
}

/// Entry point.
#[derive(Debug)]
pub struct Gateway;

impl Gateway {
    /// Starts everything and returns once gRPC is listening and health says SERVING.
    pub async fn start(settings: Settings) -> Result<RunningGateway, ServerError> {
        let mut store = open_store(&settings).await?;
        if settings.otlp_endpoint.is_some() {
            crate::telemetry::store::trace_statements(&mut store);
        }
        store.ping().await?;

        let (sandbox, client_config) = upstream(&settings).await?;
        let call_metrics = crate::telemetry::calls::CallMetrics::new(&client_config.base_url);
        let client = alipay::AlipayClient::new(client_config)?
            .with_observer(std::sync::Arc::new(call_metrics));
        let notify_listener = match settings.notify_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let notify_addr = notify_listener.as_ref().map(|(_, addr)| *addr);
        let mut engine_config = settings.engine.clone();
        engine_config.notify_url = settings.notify_url(notify_addr);
        let webhook = alipay::webhook::AlipayWebhook::new(
            client.verifier().clone(),
            client.client_id(),
            settings.notify_path(),
            vec![settings.key_version.to_string()],
            settings.notify_max_age,
        );
        let engine = engine::Engine::new(store.clone(), client, engine_config);
        let ingress = engine::NotifyIngress::new(engine.clone(), webhook);

        let (health, health_service) = tonic_health::server::health_reporter();
        // The overall status starts NOT_SERVING and turns SERVING only after the store answered (just above);
        // a load balancer never sees a gateway that cannot record payments as healthy.
        set_all(&health, ServingStatus::NotServing).await;
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        let (listener, addr) = bind(settings.listen).await?;

        let (stop_tx, stop_rx) = watch::channel(false);
        let reconciler = {
            let engine = engine.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                if let Err(error) = engine.run_reconciler(stopped).await {
                    tracing::error!(%error, "reconciler stopped with an error");
                }
            })
        };

        let mut builder = Server::builder();
        if let Some(age) = settings.grpc_max_connection_age {
            // Clients reconnect after `age`, so a scaled-up Deployment gets its share of long-lived connections.
            builder = builder.max_connection_age(age);
        }
        let router = builder
            .layer(crate::telemetry::rpc::RpcLayer::new())
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(AuthorizationServiceServer::new(AuthorizationApi::new(
                engine.clone(),
            )))
            .add_service(PaymentServiceServer::new(PaymentApi::new(engine.clone())))
            .add_service(CardServiceServer::new(CardApi::new(engine.clone())));
        let server = {
            let mut stop = stop_rx.clone();
            // Nagle off: a unary answer is written as several HTTP/2 frames (headers, data, trailers); with Nagle
            // the later ones wait for the caller's delayed ACK (~40 ms on Linux), the p99 of a Pay at
            // concurrency 1. `Server::tcp_nodelay` applies only when the server binds the listener itself.
            tokio::spawn(router.serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            ))
        };
        let notify = notify_listener.map(|(listener, _)| {
            let mut stop = stop_rx.clone();
            tokio::spawn(crate::notify::serve(
                listener,
                ingress.clone(),
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            ))
        });
        let sweep = {
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                ingress
                    .run_pending_sweep(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await;
            })
        };
        set_all(&health, ServingStatus::Serving).await;
        health
            .set_service_status(LIVENESS_SERVICE, ServingStatus::Serving)
            .await;
        let prober = tokio::spawn(probe_store(
            store.clone(),
            health.clone(),
            settings.health_probe_interval,
        ));
        tracing::info!(%addr, "gRPC listening on {addr}");
        if let Some(notify_addr) = notify_addr {
            tracing::info!(%notify_addr, path = %settings.notify_path(), "notifications listening on {notify_addr}");
        }

        Ok(RunningGateway {
            addr,
            notify_addr,
            notify,
            sweep,
            sandbox,
            engine,
            store,
            health,
            stop: stop_tx,
            server,
            reconciler,
            prober,
            shutdown_grace: settings.shutdown_grace,
        })
    }

    /// Starts the gateway and runs it until `shutdown` resolves (SIGTERM/SIGINT in the binary), then stops it
    /// gracefully.
    pub async fn run(
        settings: Settings,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        let running = Self::start(settings).await?;
        shutdown.await;
        tracing::info!("shutting down");
        running.shutdown().await
    }
}

/// Binds a listener and reports the bound address (the real port when asked for port 0).
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServerError> {
    let bind_error = |source| ServerError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    Ok((listener, bound))
}

/// Builds the Alipay client configuration; in development mode starts the sandbox first.
async fn upstream(
    settings: &Settings,
) -> Result<(Option<sandbox::RunningSandbox>, alipay::ClientConfig), ServerError> {
    let (sandbox, base_url, public_key) = match &settings.upstream {
        Upstream::Sandbox => {
            let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
            let running =
                sandbox::Sandbox::start(sandbox::SandboxConfig::development(), loopback).await?;
            let base_url = running.base_url();
            let key = settings
                .alipay_public_key
                .clone()
                .unwrap_or_else(|| running.alipay_public_key_pem().to_owned());
            tracing::warn!(
                %base_url,
                "development mode: the built-in sandbox is the upstream and the development keys are in use"
            );
            (Some(running), base_url, key)
        }
        Upstream::Url(url) => (
            None,
            url.clone(),
            settings.alipay_public_key.clone().unwrap_or_default(),
        ),
    };
    if settings.development_token_key {
        tracing::warn!(
            "development mode: wallet tokens are encrypted with the fixed development key"
        );
    }
    let private_key = settings
        .merchant_private_key
        .clone()
        .unwrap_or_else(|| sandbox::dev::MERCHANT_PRIVATE_KEY_PEM.to_owned());
    let config = alipay::ClientConfig::new(
        settings.client_id.clone(),
        private_key,
        public_key,
        base_url,
    )
    .with_path_prefix(settings.path_prefix)
    .with_key_version(settings.key_version)
    .with_request_timeout(settings.request_timeout)
    .with_connect_timeout(settings.connect_timeout);
    Ok((sandbox, config))
}

/// The health service name for liveness probes. Unlike readiness (the `""` service, which follows the store), it
/// stays SERVING from start until shutdown: a database outage is not cured by restarting the gateway.
pub const LIVENESS_SERVICE: &str = "liveness";

/// Sets every readiness service (the overall `""` and each API); the liveness service is left alone.
async fn set_all(health: &HealthReporter, status: ServingStatus) {
    for service in [
        "",
        "alipay.gateway.v1.AuthorizationService",
        "alipay.gateway.v1.PaymentService",
        "alipay.gateway.v1.CardService",
    ] {
        health.set_service_status(service, status).await;
    }
}

/// Keeps the health service truthful after start: a gateway whose store stopped answering cannot record payments,
/// so it reports NOT_SERVING (load balancers and Kubernetes readiness probes then route around it) until the store
/// answers again. A probe slower than `interval` counts as a failure.
async fn probe_store(store: store::Store, health: HealthReporter, interval: std::time::Duration) {
    let mut serving = true;
    loop {
        tokio::time::sleep(interval).await;
        let reachable = matches!(
            tokio::time::timeout(interval, store.ping()).await,
            Ok(Ok(()))
        );
        if reachable == serving {
            continue;
        }
        serving = reachable;
        if reachable {
            tracing::info!("the store answers again; health is SERVING");
            set_all(&health, ServingStatus::Serving).await;
        } else {
            tracing::error!("the store does not answer; health is NOT_SERVING until it does");
            set_all(&health, ServingStatus::NotServing).await;
        }
    }
}

/// A started gateway.
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
    notify_addr: Option<SocketAddr>,
    notify: Option<JoinHandle<std::io::Result<()>>>,
    sweep: JoinHandle<()>,
    sandbox: Option<sandbox::RunningSandbox>,
    engine: engine::Engine,
    store: store::Store,
    health: HealthReporter,
    stop: watch::Sender<bool>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    reconciler: JoinHandle<()>,
    prober: JoinHandle<()>,
    shutdown_grace: std::time::Duration,
}

impl RunningGateway {
    /// The bound gRPC address (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound notification listener address, unless `notify_listen` is `off`.
    pub fn notify_addr(&self) -> Option<SocketAddr> {
        self.notify_addr
    }

    /// The built-in sandbox's base URL, in development mode.
    pub fn sandbox_url(&self) -> Option<String> {
        self.sandbox.as_ref().map(sandbox::RunningSandbox::base_url)
    }

    /// The store the gateway writes to.
    pub fn store(&self) -> &store::Store {
        &self.store
    }

    /// Graceful stop (see the module documentation).
    pub async fn shutdown(self) -> Result<(), ServerError> {
        // The prober holds no state worth finishing, and must not report SERVING again once shutdown began.
        self.prober.abort();
        let _ = self.prober.await;
        set_all(&self.health, ServingStatus::NotServing).await;
        self.health
            .set_service_status(LIVENESS_SERVICE, ServingStatus::NotServing)
            .await;
        // Event streams never finish by themselves: end them (UNAVAILABLE, reconnect elsewhere) so that the
        // server's graceful stop does not wait for them until the grace runs out.
        self.engine.close_event_streams();
        let _ = self.stop.send(true);
        let mut server = self.server;
        let served = match tokio::time::timeout(self.shutdown_grace, &mut server).await {
            Ok(Ok(result)) => result.map_err(ServerError::from),
            Ok(Err(join)) => {
                tracing::error!(%join, "gRPC server task failed");
                Ok(())
            }
            Err(_) => {
                tracing::warn!(grace = ?self.shutdown_grace, "in-flight calls did not finish in time; aborting them");
                server.abort();
                Ok(())
            }
        };
        if let Err(join) = self.reconciler.await {
            tracing::error!(%join, "reconciler task failed");
        }
        if let Some(notify) = self.notify {
            match notify.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "notification listener failed"),
                Err(join) => tracing::error!(%join, "notification listener task failed"),
            }
        }
        if let Err(join) = self.sweep.await {
            tracing::error!(%join, "pending notification sweep failed");
        }
        self.engine.flush_call_records().await;
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
        tracing::info!("stopped");
        served
    }
}
