//! Configuration of `alipay-gateway serve`.
//!
//! Every setting can come from four places; the first one that sets it wins:
//! 1. a command-line flag (`--listen`, ...),
//! 2. an environment variable (`ALIPAY_GATEWAY_*`; the store URL is `DATABASE_URL`, as in every other tool),
//! 3. the TOML file given with `--config FILE` (keys are the flag names with `_` instead of `-`),
//! 4. the built-in default.
//!
//! With nothing configured the gateway runs the whole job on development defaults: SQLite in `./data`, the
//! built-in sandbox as upstream with the committed development keys, gRPC on `0.0.0.0:50051`. Everything is
//! checked here, before anything starts, so a bad setting fails start-up with a message naming the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

/// The built-in default store: a SQLite file under `./data`, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/gateway.db?mode=rwc";
/// The built-in default gRPC address.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:50051";
/// The token-encryption key used ONLY with the built-in sandbox (32 zero-to-31 bytes, base64). It protects
/// nothing: development tokens come from the simulator. A real upstream refuses to start without a real key.
pub const DEVELOPMENT_TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Flags and environment variables of `serve`. Every value is optional here; [`Settings::resolve`] merges them
/// with the file and the defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file (settings named like the flags, with `_`).
    #[arg(long, value_name = "FILE", env = "ALIPAY_GATEWAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// gRPC listen address; port 0 picks a free port (the bound address is printed).
    #[arg(long, value_name = "ADDR", env = "ALIPAY_GATEWAY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Store URL: `sqlite://PATH?mode=rwc` or `postgres://USER:PASS@HOST/DB`.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Do not apply database migrations at start (run `alipay-gateway migrate` instead).
    #[arg(long, env = "ALIPAY_GATEWAY_NO_MIGRATE", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub no_migrate: Option<bool>,
    /// Upstream: `sandbox` (start the built-in simulator in-process) or the Alipay base URL.
    #[arg(long, value_name = "sandbox|URL", env = "ALIPAY_GATEWAY_UPSTREAM")]
    pub upstream: Option<String>,
    /// Merchant client id (default with the sandbox upstream: SANDBOX_DEV_CLIENT).
    #[arg(long, value_name = "ID", env = "ALIPAY_GATEWAY_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Merchant private key file (PEM or base64, PKCS#8 or PKCS#1).
    #[arg(
        long,
        value_name = "FILE",
        env = "ALIPAY_GATEWAY_MERCHANT_PRIVATE_KEY_FILE"
    )]
    pub merchant_private_key_file: Option<PathBuf>,
    /// Alipay public key file (PEM or base64).
    #[arg(
        long,
        value_name = "FILE",
        env = "ALIPAY_GATEWAY_ALIPAY_PUBLIC_KEY_FILE"
    )]
    pub alipay_public_key_file: Option<PathBuf>,
    /// `keyVersion` sent in the signature header.
    #[arg(long, value_name = "N", env = "ALIPAY_GATEWAY_KEY_VERSION")]
    pub key_version: Option<u32>,
    /// API path prefix: `production` (`/ams/api`) or `sandbox` (`/ams/sandbox/api`, Alipay's own sandbox).
    #[arg(
        long,
        value_name = "production|sandbox",
        env = "ALIPAY_GATEWAY_PATH_PREFIX"
    )]
    pub path_prefix: Option<String>,
    /// Whole-call timeout of one Alipay request (e.g. `15s`, `500ms`).
    #[arg(long, value_name = "DURATION", env = "ALIPAY_GATEWAY_REQUEST_TIMEOUT")]
    pub request_timeout: Option<String>,
    /// Connect timeout of one Alipay request.
    #[arg(long, value_name = "DURATION", env = "ALIPAY_GATEWAY_CONNECT_TIMEOUT")]
    pub connect_timeout: Option<String>,
    /// Same-id attempts of pay/refund/capture/cancel before the reconciler takes over.
    #[arg(long, value_name = "N", env = "ALIPAY_GATEWAY_CALL_ATTEMPTS")]
    pub call_attempts: Option<u32>,
    /// Pause before the first same-id retry (doubled each time).
    #[arg(long, value_name = "DURATION", env = "ALIPAY_GATEWAY_RETRY_BACKOFF")]
    pub retry_backoff: Option<String>,
    /// Interval between reconciler inquiries of one payment or refund.
    #[arg(long, value_name = "DURATION", env = "ALIPAY_GATEWAY_INQUIRY_INTERVAL")]
    pub inquiry_interval: Option<String>,
    /// Inquiries before an unresolved payment is cancelled.
    #[arg(long, value_name = "N", env = "ALIPAY_GATEWAY_MAX_INQUIRIES")]
    pub max_inquiries: Option<u32>,
    /// How long a payment waiting for the buyer (cashier page, challenge) stays payable without an explicit
    /// `payment_expiry_time` (Alipay's default is about 14 minutes); it is cancelled only afterwards.
    #[arg(
        long,
        value_name = "DURATION",
        env = "ALIPAY_GATEWAY_BUYER_ACTION_WINDOW"
    )]
    pub buyer_action_window: Option<String>,
    /// Wait after a buyer's payment expired before cancelling it, for Alipay's final answer.
    #[arg(
        long,
        value_name = "DURATION",
        env = "ALIPAY_GATEWAY_BUYER_ACTION_GRACE"
    )]
    pub buyer_action_grace: Option<String>,
    /// Longest interval between inquiries of a payment waiting for the buyer (the interval doubles up to it).
    #[arg(
        long,
        value_name = "DURATION",
        env = "ALIPAY_GATEWAY_BUYER_INQUIRY_MAX_INTERVAL"
    )]
    pub buyer_inquiry_max_interval: Option<String>,
    /// Delay before the reconciler may look at a payment whose pay call is still in flight (crash recovery).
    #[arg(
        long,
        value_name = "DURATION",
        env = "ALIPAY_GATEWAY_WRITE_AHEAD_GRACE"
    )]
    pub write_ahead_grace: Option<String>,
    /// Reconciler sleep when no job is due.
    #[arg(
        long,
        value_name = "DURATION",
        env = "ALIPAY_GATEWAY_RECONCILER_POLL_INTERVAL"
    )]
    pub reconciler_poll_interval: Option<String>,
    /// How long a reconciler job is leased to one instance.
    #[arg(long, value_name = "DURATION", env = "ALIPAY_GATEWAY_JOB_LEASE")]
    pub job_lease: Option<String>,
    /// Token-encryption key (base64 of 32 bytes). Required with a real upstream.
    #[arg(
        long,
        value_name = "BASE64",
        env = "ALIPAY_GATEWAY_TOKEN_KEY",
        hide_env_values = true
    )]
    pub token_key: Option<String>,
    /// File holding the token-encryption key (base64 of 32 bytes), instead of `--token-key`.
    #[arg(long, value_name = "FILE", env = "ALIPAY_GATEWAY_TOKEN_KEY_FILE")]
    pub token_key_file: Option<PathBuf>,
    /// How long payment events stay streamable (at least 168h, the contract's 7 days).
    #[arg(long, value_name = "DURATION", env = "ALIPAY_GATEWAY_EVENT_RETENTION")]
    pub event_retention: Option<String>,
    /// How long shutdown waits for in-flight calls.
    #[arg(long, value_name = "DURATION", env = "ALIPAY_GATEWAY_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<String>,
    /// How often the store is probed for the health service (NOT_SERVING while it does not answer).
    #[arg(
        long,
        value_name = "DURATION",
        env = "ALIPAY_GATEWAY_HEALTH_PROBE_INTERVAL"
    )]
    pub health_probe_interval: Option<String>,
    /// Close each client connection after this long (clients reconnect), so new replicas get a share of
    /// long-lived HTTP/2 connections. Unlimited when unset.
    #[arg(
        long,
        value_name = "DURATION",
        env = "ALIPAY_GATEWAY_GRPC_MAX_CONNECTION_AGE"
    )]
    pub grpc_max_connection_age: Option<String>,
    /// Notification listener (HTTP/1.1, `POST /alipay/notify`): an address, or `off`.
    #[arg(long, value_name = "ADDR|off", env = "ALIPAY_GATEWAY_NOTIFY_LISTEN")]
    pub notify_listen: Option<String>,
    /// Externally reachable base URL of the notification listener; calls then carry `<base>/alipay/notify`.
    #[arg(
        long,
        value_name = "URL",
        env = "ALIPAY_GATEWAY_NOTIFY_PUBLIC_BASE_URL"
    )]
    pub notify_public_base_url: Option<String>,
    /// Notifications signed longer ago than this are stored but not believed (an inquiry decides).
    #[arg(long, value_name = "DURATION", env = "ALIPAY_GATEWAY_NOTIFY_MAX_AGE")]
    pub notify_max_age: Option<String>,
    /// Log format: `text` or `json`.
    #[arg(long, value_name = "text|json", env = "ALIPAY_GATEWAY_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info,engine=debug`).
    #[arg(long, value_name = "FILTER", env = "ALIPAY_GATEWAY_LOG")]
    pub log_level: Option<String>,
    /// OTLP/gRPC collector for traces and metrics (e.g. `http://otel-collector:4317`); telemetry is off without it.
    #[arg(long, value_name = "URL", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Serve the metrics for Prometheus at `GET /metrics` on this address (conventionally `0.0.0.0:9464`).
    #[arg(long, value_name = "ADDR", env = "ALIPAY_GATEWAY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

/// The TOML file: the same settings as [`ServeArgs`], unknown keys rejected (a typo must not be ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database_url: Option<String>,
    no_migrate: Option<bool>,
    upstream: Option<String>,
    client_id: Option<String>,
    merchant_private_key_file: Option<PathBuf>,
    alipay_public_key_file: Option<PathBuf>,
    key_version: Option<u32>,
    path_prefix: Option<String>,
    request_timeout: Option<String>,
    connect_timeout: Option<String>,
    call_attempts: Option<u32>,
    retry_backoff: Option<String>,
    inquiry_interval: Option<String>,
    max_inquiries: Option<u32>,
    buyer_action_window: Option<String>,
    buyer_action_grace: Option<String>,
    buyer_inquiry_max_interval: Option<String>,
    write_ahead_grace: Option<String>,
    reconciler_poll_interval: Option<String>,
    job_lease: Option<String>,
    token_key: Option<String>,
    token_key_file: Option<PathBuf>,
    event_retention: Option<String>,
    shutdown_grace: Option<String>,
    health_probe_interval: Option<String>,
    grpc_max_connection_age: Option<String>,
    notify_listen: Option<String>,
    notify_public_base_url: Option<String>,
    notify_max_age: Option<String>,
    log_format: Option<String>,
    log_level: Option<String>,
    otlp_endpoint: Option<String>,
    metrics_listen: Option<String>,
}

/// A configuration problem, reported at start-up with the setting's name.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML or has unknown keys.
    #[error("invalid configuration file {path}: {message}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A setting has an invalid value.
    #[error("invalid setting {setting}: {message}")]
    Invalid {
        /// The setting's name (as in the file).
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A setting is required in this configuration.
    #[error("missing setting {setting}: {message}")]
    Missing {
        /// The setting's name (as in the file).
        setting: &'static str,
        /// Why it is needed.
        message: String,
    },
}

/// Where the gateway sends its Alipay calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// Start the built-in simulator on a loopback ephemeral port and use it (development mode).
    Sandbox,
    /// A real (or externally run) Alipay endpoint.
    Url(String),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The validated configuration of `serve` (and of `migrate`, which uses only the store part).
#[derive(Clone)]
pub struct Settings {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Store URL (may hold a password: never logged).
    pub database_url: String,
    /// Apply migrations at start.
    pub auto_migrate: bool,
    /// The upstream.
    pub upstream: Upstream,
    /// Merchant client id.
    pub client_id: String,
    /// Merchant private key text; `None` means the development key (sandbox upstream only).
    pub merchant_private_key: Option<String>,
    /// Alipay public key text; `None` means the in-process sandbox's key (sandbox upstream only).
    pub alipay_public_key: Option<String>,
    /// `keyVersion`.
    pub key_version: u32,
    /// API path prefix.
    pub path_prefix: alipay::PathPrefix,
    /// Whole-call timeout of one Alipay request.
    pub request_timeout: Duration,
    /// Connect timeout of one Alipay request.
    pub connect_timeout: Duration,
    /// Engine and reconciler tuning.
    pub engine: engine::EngineConfig,
    /// Whether the token key is the fixed development key (logged as a warning at start).
    pub development_token_key: bool,
    /// How long shutdown waits for in-flight calls.
    pub shutdown_grace: Duration,
    /// Interval of the store probe behind the health service (also its timeout).
    pub health_probe_interval: Duration,
    /// Maximum age of a client connection (tonic's `max_connection_age`); `None`: unlimited.
    pub grpc_max_connection_age: Option<Duration>,
    /// The notification listener's address; `None` when `off`.
    pub notify_listen: Option<SocketAddr>,
    /// The public base URL of the notification listener, without a trailing `/`.
    pub notify_public_base_url: Option<String>,
    /// Age beyond which a notification is stored but not applied.
    pub notify_max_age: Duration,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// OTLP/gRPC collector URL; `None`: no traces and no pushed metrics.
    pub otlp_endpoint: Option<String>,
    /// Prometheus scrape address; `None`: not served.
    pub metrics_listen: Option<SocketAddr>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &"[redacted]")
            .field("auto_migrate", &self.auto_migrate)
            .field("upstream", &self.upstream)
            .field("client_id", &self.client_id)
            .field("key_version", &self.key_version)
            .field("path_prefix", &self.path_prefix)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("engine", &self.engine)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("health_probe_interval", &self.health_probe_interval)
            .field("grpc_max_connection_age", &self.grpc_max_connection_age)
            .field("notify_listen", &self.notify_listen)
            .field("notify_public_base_url", &self.notify_public_base_url)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("otlp_endpoint", &self.otlp_endpoint)
            .field("metrics_listen", &self.metrics_listen)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Merges flags/environment (`args`), the optional file and the defaults, and validates the result.
    pub fn resolve(args: &ServeArgs) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };

        let listen = match (&args.listen, &file.listen) {
            (Some(addr), _) => *addr,
            (None, Some(text)) => text
                .parse()
                .map_err(|e| invalid("listen", format!("{text:?}: {e}")))?,
            (None, None) => DEFAULT_LISTEN
                .parse()
                .map_err(|e| invalid("listen", format!("{e}")))?,
        };
        let database_url = pick(&args.database_url, &file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres:",
            ));
        }
        let auto_migrate = !pick(&args.no_migrate, &file.no_migrate).unwrap_or(false);

        let upstream = match pick(&args.upstream, &file.upstream).as_deref() {
            None | Some("sandbox") => Upstream::Sandbox,
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Upstream::Url(url.trim_end_matches('/').to_owned())
            }
            Some(other) => {
                return Err(invalid(
                    "upstream",
                    format!("{other:?} is neither `sandbox` nor an http(s) URL"),
                ));
            }
        };
        let development = upstream == Upstream::Sandbox;

        let client_id = match pick(&args.client_id, &file.client_id) {
            Some(id) if !id.trim().is_empty() => id,
            Some(_) => return Err(invalid("client_id", "must not be empty")),
            None if development => sandbox::dev::CLIENT_ID.to_owned(),
            None => return Err(missing("client_id", "required with a real upstream")),
        };
        let merchant_private_key = read_key(
            "merchant_private_key_file",
            pick(
                &args.merchant_private_key_file,
                &file.merchant_private_key_file,
            ),
            development,
        )?;
        let alipay_public_key = read_key(
            "alipay_public_key_file",
            pick(&args.alipay_public_key_file, &file.alipay_public_key_file),
            development,
        )?;
        let key_version = pick(&args.key_version, &file.key_version).unwrap_or(1);
        let path_prefix = match pick(&args.path_prefix, &file.path_prefix).as_deref() {
            None | Some("production") => alipay::PathPrefix::Production,
            Some("sandbox") => alipay::PathPrefix::Sandbox,
            Some(other) => {
                return Err(invalid(
                    "path_prefix",
                    format!("{other:?} is neither production nor sandbox"),
                ));
            }
        };

        let duration =
            |setting: &'static str, a: &Option<String>, f: &Option<String>, default: Duration| {
                match pick(a, f) {
                    Some(text) => parse_duration(&text).map_err(|m| invalid(setting, m)),
                    None => Ok(default),
                }
            };
        // Timeouts, intervals and leases: zero would time out every call or spin a loop.
        let positive = |setting: &'static str, a: &Option<String>, f: &Option<String>, default| {
            duration(setting, a, f, default).and_then(|d: Duration| {
                if d.is_zero() {
                    Err(invalid(setting, "must be more than zero"))
                } else {
                    Ok(d)
                }
            })
        };
        let request_timeout = positive(
            "request_timeout",
            &args.request_timeout,
            &file.request_timeout,
            alipay::ClientConfig::DEFAULT_REQUEST_TIMEOUT,
        )?;
        let connect_timeout = positive(
            "connect_timeout",
            &args.connect_timeout,
            &file.connect_timeout,
            alipay::ClientConfig::DEFAULT_CONNECT_TIMEOUT,
        )?;
        let token_key = match (
            pick(&args.token_key, &file.token_key),
            pick(&args.token_key_file, &file.token_key_file),
        ) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "token_key",
                    "set token_key or token_key_file, not both",
                ));
            }
            (Some(key), None) => key,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map_err(|e| invalid("token_key_file", format!("{}: {e}", path.display())))?
                .trim()
                .to_owned(),
            (None, None) if development => DEVELOPMENT_TOKEN_KEY.to_owned(),
            (None, None) => {
                return Err(missing(
                    "token_key",
                    "a token-encryption key (base64 of 32 bytes) is required with a real upstream",
                ));
            }
        };
        let cipher = store::TokenCipher::from_base64_key(&token_key)
            .map_err(|e| invalid("token_key", e.to_string()))?;
        let defaults = engine::EngineConfig::new(cipher);

        let call_attempts =
            pick(&args.call_attempts, &file.call_attempts).unwrap_or(defaults.call_attempts);
        if call_attempts == 0 {
            return Err(invalid("call_attempts", "must be at least 1"));
        }
        let max_inquiries =
            pick(&args.max_inquiries, &file.max_inquiries).unwrap_or(defaults.max_inquiries);
        if max_inquiries == 0 {
            return Err(invalid("max_inquiries", "must be at least 1"));
        }
        let retry_backoff = duration(
            "retry_backoff",
            &args.retry_backoff,
            &file.retry_backoff,
            defaults.retry_backoff,
        )?;
        let inquiry_interval = positive(
            "inquiry_interval",
            &args.inquiry_interval,
            &file.inquiry_interval,
            defaults.inquiry_interval,
        )?;
        let buyer_action_window = duration(
            "buyer_action_window",
            &args.buyer_action_window,
            &file.buyer_action_window,
            defaults.buyer_action_window,
        )?;
        let buyer_action_grace = duration(
            "buyer_action_grace",
            &args.buyer_action_grace,
            &file.buyer_action_grace,
            defaults.buyer_action_grace,
        )?;
        let buyer_inquiry_max_interval = positive(
            "buyer_inquiry_max_interval",
            &args.buyer_inquiry_max_interval,
            &file.buyer_inquiry_max_interval,
            defaults.buyer_inquiry_max_interval,
        )?;
        let poll_interval = positive(
            "reconciler_poll_interval",
            &args.reconciler_poll_interval,
            &file.reconciler_poll_interval,
            defaults.poll_interval,
        )?;
        let job_lease = positive(
            "job_lease",
            &args.job_lease,
            &file.job_lease,
            defaults.job_lease,
        )?;
        // The reconciler must not inquire (and then cancel) a payment whose pay call may still be on the wire:
        // by default the grace covers every attempt at the full timeout plus the backoffs.
        let in_flight_bound = in_flight_bound(request_timeout, call_attempts, retry_backoff);
        let write_ahead_grace = duration(
            "write_ahead_grace",
            &args.write_ahead_grace,
            &file.write_ahead_grace,
            in_flight_bound.max(defaults.write_ahead_grace),
        )?;
        if write_ahead_grace < in_flight_bound {
            return Err(invalid(
                "write_ahead_grace",
                format!(
                    "must cover the longest in-flight pay call ({} with these timeouts and attempts)",
                    format_duration(in_flight_bound)
                ),
            ));
        }
        let event_retention = duration(
            "event_retention",
            &args.event_retention,
            &file.event_retention,
            defaults.event_retention,
        )?;
        if event_retention < defaults.event_retention {
            return Err(invalid(
                "event_retention",
                "must be at least 168h: StreamPaymentEvents promises 7 days of resumable history",
            ));
        }
        let engine = engine::EngineConfig {
            call_attempts,
            retry_backoff,
            inquiry_interval,
            max_inquiries,
            buyer_action_window,
            buyer_action_grace,
            buyer_inquiry_max_interval,
            write_ahead_grace,
            job_lease,
            poll_interval,
            event_retention,
            ..defaults
        };

        let shutdown_grace = duration(
            "shutdown_grace",
            &args.shutdown_grace,
            &file.shutdown_grace,
            Duration::from_secs(30),
        )?;
        let health_probe_interval = positive(
            "health_probe_interval",
            &args.health_probe_interval,
            &file.health_probe_interval,
            Duration::from_secs(5),
        )?;
        let grpc_max_connection_age =
            pick(&args.grpc_max_connection_age, &file.grpc_max_connection_age)
                .map(|_| {
                    positive(
                        "grpc_max_connection_age",
                        &args.grpc_max_connection_age,
                        &file.grpc_max_connection_age,
                        Duration::ZERO,
                    )
                })
                .transpose()?;
        let notify_listen = match pick(&args.notify_listen, &file.notify_listen).as_deref() {
            Some("off") => None,
            Some(text) => Some(
                text.parse()
                    .map_err(|e| invalid("notify_listen", format!("{text:?}: {e}")))?,
            ),
            None => Some(SocketAddr::from(([0, 0, 0, 0], DEFAULT_NOTIFY_PORT))),
        };
        let notify_public_base_url =
            match pick(&args.notify_public_base_url, &file.notify_public_base_url) {
                Some(url) => Some(public_base_url(&url)?),
                None => None,
            };
        let notify_max_age = positive(
            "notify_max_age",
            &args.notify_max_age,
            &file.notify_max_age,
            alipay::webhook::AlipayWebhook::DEFAULT_MAX_AGE,
        )?;
        let log_format = match pick(&args.log_format, &file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "log_format",
                    format!("{other:?} is neither text nor json"),
                ));
            }
        };
        let log_level = pick(&args.log_level, &file.log_level).unwrap_or_else(|| "info".into());
        tracing_subscriber::EnvFilter::try_new(&log_level)
            .map_err(|e| invalid("log_level", e.to_string()))?;
        let otlp_endpoint = match pick(&args.otlp_endpoint, &file.otlp_endpoint) {
            Some(url) if url.trim().is_empty() => None,
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => Some(url),
            Some(other) => {
                return Err(invalid(
                    "otlp_endpoint",
                    format!("{other:?} is not an http(s) URL"),
                ));
            }
            None => None,
        };
        let metrics_listen = match (&args.metrics_listen, &file.metrics_listen) {
            (Some(addr), _) => Some(*addr),
            (None, Some(text)) => Some(
                text.parse()
                    .map_err(|e| invalid("metrics_listen", format!("{text:?}: {e}")))?,
            ),
            (None, None) => None,
        };

        Ok(Settings {
            listen,
            database_url,
            auto_migrate,
            upstream,
            client_id,
            merchant_private_key,
            alipay_public_key,
            key_version,
            path_prefix,
            request_timeout,
            connect_timeout,
            engine,
            development_token_key: token_key == DEVELOPMENT_TOKEN_KEY,
            shutdown_grace,
            health_probe_interval,
            grpc_max_connection_age,
            notify_listen,
            notify_public_base_url,
            notify_max_age,
            log_format,
            log_level,
            otlp_endpoint,
            metrics_listen,
        })
    }

    /// The path Alipay posts notifications to, as the signature covers it: the public base URL's path plus
    /// `/alipay/notify` (a proxy may forward to another path; the signature is over the public one).
    pub fn notify_path(&self) -> String {
        let base_path = self
            .notify_public_base_url
            .as_deref()
            .and_then(|base| url::Url::parse(base).ok())
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{base_path}{NOTIFY_PATH}")
    }

    /// The notify URL sent to Alipay: `<public base>/alipay/notify`; with the built-in sandbox and no base, the
    /// listener's own loopback address (the sandbox runs in this process); otherwise none (the dashboard's URL).
    pub fn notify_url(&self, bound: Option<SocketAddr>) -> Option<String> {
        match (&self.notify_public_base_url, bound, &self.upstream) {
            (Some(base), _, _) => Some(format!("{base}{NOTIFY_PATH}")),
            (None, Some(addr), Upstream::Sandbox) => Some(format!(
                "http://{}{NOTIFY_PATH}",
                SocketAddr::from(([127, 0, 0, 1], addr.port()))
            )),
            (None, _, _) => None,
        }
    }
}

/// The notification route, under the public base URL.
pub const NOTIFY_PATH: &str = "/alipay/notify";
/// The notification listener's default port (on all interfaces).
pub const DEFAULT_NOTIFY_PORT: u16 = 8080;

/// Validates `notify_public_base_url`: an absolute http(s) URL without query or fragment, kept without a trailing `/`.
fn public_base_url(text: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(text)
        .map_err(|e| invalid("notify_public_base_url", format!("{text:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(invalid(
            "notify_public_base_url",
            "must be an http(s) URL without query or fragment",
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// The longest a pay call can stay in flight: every attempt at the full timeout plus the doubling backoffs.
fn in_flight_bound(timeout: Duration, attempts: u32, backoff: Duration) -> Duration {
    let mut total = Duration::ZERO;
    let mut pause = backoff;
    for attempt in 0..attempts {
        total = total.saturating_add(timeout);
        if attempt + 1 < attempts {
            total = total.saturating_add(pause);
            pause = pause.saturating_mul(2);
        }
    }
    total
}

fn pick<T: Clone>(flag_or_env: &Option<T>, file: &Option<T>) -> Option<T> {
    flag_or_env.clone().or_else(|| file.clone())
}

fn invalid(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        message: message.into(),
    }
}

fn missing(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Missing {
        setting,
        message: message.into(),
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Reads a key file; without one, the development key applies, but only with the sandbox upstream.
fn read_key(
    setting: &'static str,
    path: Option<PathBuf>,
    development: bool,
) -> Result<Option<String>, ConfigError> {
    match path {
        Some(path) => std::fs::read_to_string(&path)
            .map(Some)
            .map_err(|e| invalid(setting, format!("{}: {e}", path.display()))),
        None if development => Ok(None),
        None => Err(missing(setting, "required with a real upstream")),
    }
}

/// Parses `250ms`, `15s`, `2m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 250ms, 15s, 2m or 1h"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
        other => Err(format!(
            "unknown duration unit {other:?} in {text:?} (use ms, s, m or h)"
        )),
    }
}

fn format_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 weeks").is_err());
    }

    #[test]
    fn defaults_are_development_mode() {
        let s = Settings::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(s.upstream, Upstream::Sandbox);
        assert_eq!(s.listen, DEFAULT_LISTEN.parse().unwrap());
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(s.client_id, sandbox::dev::CLIENT_ID);
        assert!(s.development_token_key);
        assert!(s.auto_migrate);
    }

    #[test]
    fn notify_listener_and_url() {
        let s = Settings::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(s.notify_listen, Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(s.notify_max_age, Duration::from_secs(48 * 3600));
        assert_eq!(s.notify_path(), "/alipay/notify");
        // Built-in sandbox, no public base: the listener's own loopback address.
        assert_eq!(
            s.notify_url(Some("0.0.0.0:9999".parse().unwrap()))
                .as_deref(),
            Some("http://127.0.0.1:9999/alipay/notify")
        );
        assert_eq!(s.notify_url(None), None);
        let public = Settings::resolve(&ServeArgs {
            notify_listen: Some("off".into()),
            notify_public_base_url: Some("https://gw.example/hooks/".into()),
            notify_max_age: Some("1h".into()),
            ..ServeArgs::default()
        })
        .unwrap();
        assert_eq!(public.notify_listen, None);
        assert_eq!(public.notify_path(), "/hooks/alipay/notify");
        assert_eq!(
            public.notify_url(None).as_deref(),
            Some("https://gw.example/hooks/alipay/notify")
        );
        for (setting, args) in [
            (
                "notify_public_base_url",
                ServeArgs {
                    notify_public_base_url: Some("gw.example".into()),
                    ..ServeArgs::default()
                },
            ),
            (
                "notify_listen",
                ServeArgs {
                    notify_listen: Some("everywhere".into()),
                    ..ServeArgs::default()
                },
            ),
            (
                "notify_max_age",
                ServeArgs {
                    notify_max_age: Some("0s".into()),
                    ..ServeArgs::default()
                },
            ),
        ] {
            let error = Settings::resolve(&args).unwrap_err().to_string();
            assert!(error.contains(setting), "{error}");
        }
    }

    #[test]
    fn real_upstream_requires_keys_and_token_key() {
        let args = ServeArgs {
            upstream: Some("https://open-na-global.alipay.com".into()),
            client_id: Some("C1".into()),
            ..ServeArgs::default()
        };
        let err = Settings::resolve(&args).unwrap_err().to_string();
        assert!(err.contains("merchant_private_key_file"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.pem");
        std::fs::write(&key, "x").unwrap();
        let args = ServeArgs {
            merchant_private_key_file: Some(key.clone()),
            alipay_public_key_file: Some(key),
            ..args
        };
        let err = Settings::resolve(&args).unwrap_err().to_string();
        assert!(err.contains("token_key"), "{err}");
    }

    #[test]
    fn file_is_read_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:7000\"\ninquiry_interval = \"100ms\"\nlog_format = \"json\"\n\
             buyer_action_window = \"5m\"\nbuyer_inquiry_max_interval = \"10s\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            listen: Some("127.0.0.1:7001".parse().unwrap()),
            ..ServeArgs::default()
        };
        let s = Settings::resolve(&args).unwrap();
        assert_eq!(s.listen.port(), 7001);
        assert_eq!(s.engine.inquiry_interval, Duration::from_millis(100));
        assert_eq!(s.engine.buyer_action_window, Duration::from_secs(300));
        assert_eq!(s.engine.buyer_inquiry_max_interval, Duration::from_secs(10));
        assert_eq!(s.engine.buyer_action_grace, Duration::from_secs(60));
        assert_eq!(s.log_format, LogFormat::Json);

        std::fs::write(&path, "listn = \"x\"\n").unwrap();
        let err = Settings::resolve(&ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let bad = |args: ServeArgs, setting: &str| {
            let err = Settings::resolve(&args).unwrap_err().to_string();
            assert!(err.contains(setting), "{err}");
        };
        bad(
            ServeArgs {
                upstream: Some("ftp://x".into()),
                ..ServeArgs::default()
            },
            "upstream",
        );
        bad(
            ServeArgs {
                database_url: Some("mysql://x".into()),
                ..ServeArgs::default()
            },
            "database_url",
        );
        bad(
            ServeArgs {
                token_key: Some("short".into()),
                ..ServeArgs::default()
            },
            "token_key",
        );
        bad(
            ServeArgs {
                health_probe_interval: Some("0s".into()),
                ..ServeArgs::default()
            },
            "health_probe_interval: must be more than zero",
        );
        bad(
            ServeArgs {
                job_lease: Some("0".into()),
                ..ServeArgs::default()
            },
            "job_lease: must be more than zero",
        );
        bad(
            ServeArgs {
                request_timeout: Some("soon".into()),
                ..ServeArgs::default()
            },
            "request_timeout",
        );
        bad(
            ServeArgs {
                write_ahead_grace: Some("1s".into()),
                ..ServeArgs::default()
            },
            "write_ahead_grace",
        );
        bad(
            ServeArgs {
                otlp_endpoint: Some("otel-collector:4317".into()),
                ..ServeArgs::default()
            },
            "otlp_endpoint",
        );
        bad(
            ServeArgs {
                event_retention: Some("167h".into()),
                ..ServeArgs::default()
            },
            "event_retention: must be at least 168h",
        );
    }

    #[test]
    fn event_retention_defaults_to_seven_days_and_may_be_longer() {
        let resolve = |event_retention: Option<&str>| {
            Settings::resolve(&ServeArgs {
                event_retention: event_retention.map(str::to_owned),
                ..ServeArgs::default()
            })
            .expect("valid")
            .engine
            .event_retention
        };
        assert_eq!(resolve(None), Duration::from_secs(7 * 24 * 3600));
        assert_eq!(resolve(Some("720h")), Duration::from_secs(30 * 24 * 3600));
    }

    #[test]
    fn grpc_max_connection_age_is_unlimited_unless_set() {
        let age = |value: Option<&str>| {
            Settings::resolve(&ServeArgs {
                grpc_max_connection_age: value.map(Into::into),
                ..ServeArgs::default()
            })
            .map(|s| s.grpc_max_connection_age)
            .map_err(|e| e.to_string())
        };
        assert_eq!(age(None), Ok(None));
        assert_eq!(age(Some("5m")), Ok(Some(Duration::from_secs(300))));
        let err = age(Some("0s")).unwrap_err();
        assert!(
            err.contains("grpc_max_connection_age: must be more than zero"),
            "{err}"
        );
    }
}
