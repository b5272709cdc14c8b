//! Errors of the sandbox's own lifecycle (configuration, key loading, binding). Errors *inside* the simulated
//! API are not Rust errors: they are Alipay result codes in an HTTP 200 body (see [`crate::reply`]).

use std::path::PathBuf;

/// Why the sandbox could not be configured or started.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A key could not be parsed; `what` says which one (never the key material itself).
    #[error("invalid {what}: {reason}")]
    Key {
        /// Which key, e.g. "signing key" or "public key of merchant X".
        what: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A key or configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A `CLIENT_ID=PUBLIC_KEY_FILE` argument was malformed.
    #[error("invalid merchant argument {0:?}: expected CLIENT_ID=PUBLIC_KEY_FILE")]
    MerchantArg(String),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: std::net::SocketAddr,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The configured public base URL is not a valid absolute URL.
    #[error("invalid public base URL {0:?}")]
    BaseUrl(String),
    /// The configured notify URL is not an absolute http(s) URL.
    #[error("invalid notify URL {0:?}: expected an absolute http(s) URL")]
    NotifyUrl(String),
    /// The notify time scale is negative, infinite or not a number.
    #[error("invalid notify time scale {0}: expected a finite number >= 0")]
    NotifyTimeScale(f64),
    /// The HTTP client that delivers notifications could not be built.
    #[error("cannot build the notification HTTP client: {0}")]
    HttpClient(String),
}
