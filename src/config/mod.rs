//! Configuration of `alipay-gateway serve`.
//!
//! Every setting can come from four places; the first one that sets it wins:
//! 1. a command-line flag (`--listen`, ...),
//! 2. an environment variable (`ALIPAY_GATEWAY_*`; the store URL is `DATABASE_URL`, as in every other tool; an
//!    empty variable counts as unset),
//! 3. the TOML file given with `--config FILE` or `ALIPAY_GATEWAY_CONFIG` (keys are the flag names with `_`
//!    instead of `-`; unknown keys are rejected),
//! 4. the built-in default.
//!
//! With nothing configured the gateway runs the whole job on development defaults: SQLite in `./data`, the
//! built-in sandbox as upstream with the committed development keys, gRPC on `0.0.0.0:50051`. Everything is
//! checked here, before anything starts, so a bad setting fails start-up (exit status 2) with a message naming
//! the setting and where its value came from.
//!
//! # One declaration per setting
//!
//! Each setting is declared once, in [`catalog`]: its doc comment (the `--help` text), its name (the TOML key;
//! the flag is the name with `-`), its type, its default, its environment variable and its `--help`
//! placeholder. From that one line the `settings!` macro (in `declare.rs`) generates the flag of [`ServeArgs`],
//! the key of the file, the environment lookup, the typed field of [`Values`] and the entry of [`SETTINGS`] (what
//! the help, the README check and the generated precedence tests walk). [`Layers::first_set`] is the precedence rule,
//! written once; [`value::SettingValue::parse`] reads the text of every source the same way, so a type carries
//! each single-value rule (more than zero, at least 1, `off`, an http(s) URL). Then one validation step,
//! [`Settings::validate`], applies the rules that relate settings (development defaults with the sandbox
//! upstream, key files, the token key, the write-ahead grace against the in-flight bound, event retention).
//!
//! Adding a setting costs one declaration. The card work's void trigger, for instance:
//!
//! ```text
//! /// When a card authorization that was not captured is voided.
//! card_void_on: CardVoidOn = "expiry", env "ALIPAY_GATEWAY_CARD_VOID_ON", value "expiry|never";
//! ```
//!
//! gives `--card-void-on`, `ALIPAY_GATEWAY_CARD_VOID_ON`, the `card_void_on` key and the default `expiry`, and
//! the gateway reads it as `settings.declared.card_void_on` (a new type implements
//! [`value::SettingValue`] once; existing types are reused as they are). A setting without a default is an
//! `Option<T>`; `secret` keeps a value out of `Debug`; `switch` lets a boolean flag stand alone.
//!
//! Why a macro of our own rather than figment or config: flags and their `--help` text would still be declared
//! a second time for clap, since neither library produces a command line; figment 0.10 would add a second
//! `toml` version to the tree (it is on toml 0.8, with serde_yaml beside it); and the environment names here
//! are not one prefix (`DATABASE_URL`, `OTEL_EXPORTER_OTLP_ENDPOINT`), so each would need mapping
//! by hand anyway. The macro and the layering are one small file (`declare.rs`) over clap, serde and toml,
//! which the gateway already uses.

pub mod catalog;
mod declare;
pub mod value;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use catalog::{FileSettings, SETTINGS, ServeArgs, Values};
pub use declare::{CONFIG_ENV, Declared, Environment, FileValue, Layers, Source};
pub use value::{LogFormat, Upstream, parse_duration};

/// The built-in default store: a SQLite file under `./data`, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/gateway.db?mode=rwc";
/// The built-in default gRPC address.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:50051";
/// The notification listener's default address (port 8080 on all interfaces).
pub const DEFAULT_NOTIFY_LISTEN: &str = "0.0.0.0:8080";
/// The token-encryption key used ONLY with the built-in sandbox (32 zero-to-31 bytes, base64). It protects
/// nothing: development tokens come from the simulator. A real upstream refuses to start without a real key.
pub const DEVELOPMENT_TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The notification route, under the public base URL.
pub const NOTIFY_PATH: &str = "/alipay/notify";

/// The process environment, as [`Settings::resolve_in`] reads it for `serve` (a value that is not UTF-8 is
/// read lossily, so it fails the setting's parse rather than passing for unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
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
        /// What is wrong, and where the value came from.
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
    /// Every declared setting as parsed, before the cross-setting rules: the fields above are the forms the
    /// gateway has always read; a setting added later needs no field of its own and is read from here.
    pub declared: Values,
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
            .field("declared", &self.declared)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Layers the flags over the file and the defaults, with no environment: what a program that builds
    /// [`ServeArgs`] itself (a bench, a test) means. `serve` uses [`Settings::resolve_in`] with [`process_env`].
    pub fn resolve(args: &ServeArgs) -> Result<Settings, ConfigError> {
        Self::resolve_in(args, &|_: &str| None)
    }

    /// Layers the flags over the environment `env`, the file and the defaults, and validates the result.
    pub fn resolve_in(args: &ServeArgs, env: Environment<'_>) -> Result<Settings, ConfigError> {
        let layers = Layers::read(args, env)?;
        Self::validate(Values::resolve(&layers)?)
    }

    /// The one validation step: the rules that relate settings, and the values that are read from files.
    pub fn validate(values: Values) -> Result<Settings, ConfigError> {
        let v = &values;
        let development = v.upstream == Upstream::Sandbox;
        let client_id = match &v.client_id {
            Some(id) => id.clone(),
            None if development => sandbox::dev::CLIENT_ID.to_owned(),
            None => return Err(missing("client_id", "required with a real upstream")),
        };
        let merchant_private_key = read_key(
            "merchant_private_key_file",
            v.merchant_private_key_file.as_ref(),
            development,
        )?;
        let alipay_public_key = read_key(
            "alipay_public_key_file",
            v.alipay_public_key_file.as_ref(),
            development,
        )?;
        let token_key = match (&v.token_key, &v.token_key_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "token_key",
                    "set token_key or token_key_file, not both",
                ));
            }
            (Some(key), None) => key.0.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
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

        let request_timeout = v
            .request_timeout
            .map_or(alipay::ClientConfig::DEFAULT_REQUEST_TIMEOUT, |d| d.0);
        let connect_timeout = v
            .connect_timeout
            .map_or(alipay::ClientConfig::DEFAULT_CONNECT_TIMEOUT, |d| d.0);
        let call_attempts = v.call_attempts.map_or(defaults.call_attempts, |n| n.get());
        let retry_backoff = v.retry_backoff.unwrap_or(defaults.retry_backoff);
        // The reconciler must not inquire (and then cancel) a payment whose pay call may still be on the wire:
        // by default the grace covers every attempt at the full timeout plus the backoffs.
        let in_flight_bound = in_flight_bound(request_timeout, call_attempts, retry_backoff);
        let write_ahead_grace = v
            .write_ahead_grace
            .unwrap_or(in_flight_bound.max(defaults.write_ahead_grace));
        if write_ahead_grace < in_flight_bound {
            return Err(invalid(
                "write_ahead_grace",
                format!(
                    "must cover the longest in-flight pay call ({} with these timeouts and attempts)",
                    value::format_duration(in_flight_bound)
                ),
            ));
        }
        let event_retention = v.event_retention.unwrap_or(defaults.event_retention);
        if event_retention < defaults.event_retention {
            return Err(invalid(
                "event_retention",
                "must be at least 168h: StreamPaymentEvents promises 7 days of resumable history",
            ));
        }
        let engine = engine::EngineConfig {
            call_attempts,
            retry_backoff,
            inquiry_interval: v
                .inquiry_interval
                .map_or(defaults.inquiry_interval, |d| d.0),
            max_inquiries: v.max_inquiries.map_or(defaults.max_inquiries, |n| n.get()),
            buyer_action_window: v
                .buyer_action_window
                .unwrap_or(defaults.buyer_action_window),
            buyer_action_grace: v.buyer_action_grace.unwrap_or(defaults.buyer_action_grace),
            buyer_inquiry_max_interval: v
                .buyer_inquiry_max_interval
                .map_or(defaults.buyer_inquiry_max_interval, |d| d.0),
            write_ahead_grace,
            job_lease: v.job_lease.map_or(defaults.job_lease, |d| d.0),
            poll_interval: v
                .reconciler_poll_interval
                .map_or(defaults.poll_interval, |d| d.0),
            event_retention,
            card_void_policy: v.card_void_on.clone().unwrap_or_default(),
            ..defaults
        };

        Ok(Settings {
            listen: v.listen,
            database_url: v.database_url.0.clone(),
            auto_migrate: !v.no_migrate,
            upstream: v.upstream.clone(),
            client_id,
            merchant_private_key,
            alipay_public_key,
            key_version: v.key_version,
            path_prefix: v.path_prefix,
            request_timeout,
            connect_timeout,
            engine,
            development_token_key: token_key == DEVELOPMENT_TOKEN_KEY,
            shutdown_grace: v.shutdown_grace,
            health_probe_interval: v.health_probe_interval.0,
            grpc_max_connection_age: v.grpc_max_connection_age.map(|d| d.0),
            notify_listen: v.notify_listen.0,
            notify_public_base_url: v.notify_public_base_url.clone().map(|url| url.0),
            notify_max_age: v
                .notify_max_age
                .map_or(alipay::webhook::AlipayWebhook::DEFAULT_MAX_AGE, |d| d.0),
            log_format: v.log_format,
            log_level: v.log_level.0.clone(),
            otlp_endpoint: v.otlp_endpoint.clone().map(|url| url.0),
            metrics_listen: v.metrics_listen,
            declared: values,
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

/// Reads a key file; without one, the development key applies, but only with the sandbox upstream.
fn read_key(
    setting: &'static str,
    path: Option<&PathBuf>,
    development: bool,
) -> Result<Option<String>, ConfigError> {
    match path {
        Some(path) => std::fs::read_to_string(path)
            .map(Some)
            .map_err(|e| invalid(setting, format!("{}: {e}", path.display()))),
        None if development => Ok(None),
        None => Err(missing(setting, "required with a real upstream")),
    }
}

#[cfg(test)]
mod tests;
