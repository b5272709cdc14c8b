//! The settings of `serve`, one declaration each: flag, environment variable, TOML key, default, type and
//! `--help` text all come from here (the syntax is explained in the [module documentation](super)).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use super::ConfigError;
use super::declare::{CONFIG_ENV, Declared, FileValue, Layers, Source, parse_from, settings};
use super::value::{
    AddrOrOff, DatabaseUrl, HttpUrl, LogFilter, LogFormat, PositiveDuration, PublicBaseUrl, Secret,
    Upstream,
};
use super::{DEFAULT_DATABASE_URL, DEFAULT_LISTEN, DEFAULT_NOTIFY_LISTEN};

settings! {
    /// gRPC listen address; port 0 picks a free port (the bound address is printed).
    listen: SocketAddr = DEFAULT_LISTEN, env "ALIPAY_GATEWAY_LISTEN", value "ADDR";
    /// Store URL: `sqlite://PATH?mode=rwc` or `postgres://USER:PASS@HOST/DB`.
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL, env "DATABASE_URL", value "URL", secret;
    /// Do not apply database migrations at start (run `alipay-gateway migrate` instead).
    no_migrate: bool = "false", env "ALIPAY_GATEWAY_NO_MIGRATE", value "true|false", switch;
    /// Upstream: `sandbox` (start the built-in simulator in-process) or the Alipay base URL.
    upstream: Upstream = "sandbox", env "ALIPAY_GATEWAY_UPSTREAM", value "sandbox|URL";
    /// Merchant client id (default with the sandbox upstream: SANDBOX_DEV_CLIENT; required otherwise).
    client_id: Option<String>, env "ALIPAY_GATEWAY_CLIENT_ID", value "ID";
    /// Merchant private key file (PEM or base64, PKCS#8 or PKCS#1); required with a real upstream.
    merchant_private_key_file: Option<PathBuf>, env "ALIPAY_GATEWAY_MERCHANT_PRIVATE_KEY_FILE", value "FILE";
    /// Alipay public key file (PEM or base64); required with a real upstream.
    alipay_public_key_file: Option<PathBuf>, env "ALIPAY_GATEWAY_ALIPAY_PUBLIC_KEY_FILE", value "FILE";
    /// `keyVersion` sent in the signature header.
    key_version: u32 = "1", env "ALIPAY_GATEWAY_KEY_VERSION", value "N";
    /// API path prefix: `production` (`/ams/api`) or `sandbox` (`/ams/sandbox/api`, Alipay's own sandbox).
    path_prefix: alipay::PathPrefix = "production", env "ALIPAY_GATEWAY_PATH_PREFIX", value "production|sandbox";
    /// Whole-call timeout of one Alipay request (e.g. `15s`, `500ms`; default 15s).
    request_timeout: Option<PositiveDuration>, env "ALIPAY_GATEWAY_REQUEST_TIMEOUT", value "DURATION";
    /// Connect timeout of one Alipay request (default 5s).
    connect_timeout: Option<PositiveDuration>, env "ALIPAY_GATEWAY_CONNECT_TIMEOUT", value "DURATION";
    /// Same-id attempts of pay/refund/capture/cancel before the reconciler takes over (default 3).
    call_attempts: Option<NonZeroU32>, env "ALIPAY_GATEWAY_CALL_ATTEMPTS", value "N";
    /// Pause before the first same-id retry, doubled each time (default 200ms).
    retry_backoff: Option<Duration>, env "ALIPAY_GATEWAY_RETRY_BACKOFF", value "DURATION";
    /// Interval between reconciler inquiries of one payment or refund (default 3s).
    inquiry_interval: Option<PositiveDuration>, env "ALIPAY_GATEWAY_INQUIRY_INTERVAL", value "DURATION";
    /// Inquiries before an unresolved payment is cancelled (default 20).
    max_inquiries: Option<NonZeroU32>, env "ALIPAY_GATEWAY_MAX_INQUIRIES", value "N";
    /// How long a payment waiting for the buyer (cashier page, challenge) stays payable without an explicit
    /// `payment_expiry_time` (Alipay's default is about 14 minutes); it is cancelled only afterwards (default 14m).
    buyer_action_window: Option<Duration>, env "ALIPAY_GATEWAY_BUYER_ACTION_WINDOW", value "DURATION";
    /// Wait after a buyer's payment expired before cancelling it, for Alipay's final answer (default 1m).
    buyer_action_grace: Option<Duration>, env "ALIPAY_GATEWAY_BUYER_ACTION_GRACE", value "DURATION";
    /// Longest interval between inquiries of a payment waiting for the buyer; the interval doubles up to it
    /// (default 30s).
    buyer_inquiry_max_interval: Option<PositiveDuration>,
        env "ALIPAY_GATEWAY_BUYER_INQUIRY_MAX_INTERVAL", value "DURATION";
    /// Delay before the reconciler may look at a payment whose pay call is still in flight (crash recovery);
    /// default and minimum: the longest in-flight pay call, and at least 60s by default.
    write_ahead_grace: Option<Duration>, env "ALIPAY_GATEWAY_WRITE_AHEAD_GRACE", value "DURATION";
    /// Reconciler sleep when no job is due (default 500ms).
    reconciler_poll_interval: Option<PositiveDuration>, env "ALIPAY_GATEWAY_RECONCILER_POLL_INTERVAL", value "DURATION";
    /// How long a reconciler job is leased to one instance (default 30s).
    job_lease: Option<PositiveDuration>, env "ALIPAY_GATEWAY_JOB_LEASE", value "DURATION";
    /// Token-encryption key (base64 of 32 bytes). Required with a real upstream.
    token_key: Option<Secret>, env "ALIPAY_GATEWAY_TOKEN_KEY", value "BASE64", secret;
    /// File holding the token-encryption key (base64 of 32 bytes), instead of `--token-key`.
    token_key_file: Option<PathBuf>, env "ALIPAY_GATEWAY_TOKEN_KEY_FILE", value "FILE";
    /// How long payment events stay streamable (at least 168h, the contract's 7 days; default 168h).
    event_retention: Option<Duration>, env "ALIPAY_GATEWAY_EVENT_RETENTION", value "DURATION";
    /// How long shutdown waits for in-flight calls.
    shutdown_grace: Duration = "30s", env "ALIPAY_GATEWAY_SHUTDOWN_GRACE", value "DURATION";
    /// How often the store is probed for the health service (NOT_SERVING while it does not answer).
    health_probe_interval: PositiveDuration = "5s", env "ALIPAY_GATEWAY_HEALTH_PROBE_INTERVAL", value "DURATION";
    /// Close each client connection after this long (clients reconnect), so new replicas get a share of
    /// long-lived HTTP/2 connections. Unlimited when unset.
    grpc_max_connection_age: Option<PositiveDuration>, env "ALIPAY_GATEWAY_GRPC_MAX_CONNECTION_AGE", value "DURATION";
    /// Notification listener (HTTP/1.1, `POST /alipay/notify`): an address, or `off`.
    notify_listen: AddrOrOff = DEFAULT_NOTIFY_LISTEN, env "ALIPAY_GATEWAY_NOTIFY_LISTEN", value "ADDR|off";
    /// Externally reachable base URL of the notification listener; calls then carry `<base>/alipay/notify`.
    notify_public_base_url: Option<PublicBaseUrl>, env "ALIPAY_GATEWAY_NOTIFY_PUBLIC_BASE_URL", value "URL";
    /// Notifications signed longer ago than this are stored but not believed; an inquiry decides (default 48h).
    notify_max_age: Option<PositiveDuration>, env "ALIPAY_GATEWAY_NOTIFY_MAX_AGE", value "DURATION";
    /// AVS / CVV verdicts that void an approved MANUAL card authorization (whichever answer brings the approval), e.g.
    /// `avs:NO_MATCH,cvv:NO_MATCH` (reason AVS_REJECTED / CVV_REJECTED); unset voids nothing.
    card_void_on: Option<engine::CardVoidPolicy>, env "ALIPAY_GATEWAY_CARD_VOID_ON", value "avs:VERDICT,cvv:VERDICT";
    /// Log format: `text` or `json`.
    log_format: LogFormat = "text", env "ALIPAY_GATEWAY_LOG_FORMAT", value "text|json";
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info,engine=debug`).
    log_level: LogFilter = "info", env "ALIPAY_GATEWAY_LOG", value "FILTER";
    /// OTLP/gRPC collector for traces and metrics (e.g. `http://otel-collector:4317`); telemetry is off without it.
    otlp_endpoint: Option<HttpUrl>, env "OTEL_EXPORTER_OTLP_ENDPOINT", value "URL";
    /// Serve the metrics for Prometheus at `GET /metrics` on this address (conventionally `0.0.0.0:9464`).
    metrics_listen: Option<SocketAddr>, env "ALIPAY_GATEWAY_METRICS_LISTEN", value "ADDR";
}
