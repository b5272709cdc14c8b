//! Typed errors. Every variant says whether Alipay may have acted ([`CallError::outcome_unknown`]), because that
//! decides between "safe to give up" and "must inquire before anything else" for money movements.

use std::time::Duration;

use crate::keys::KeyError;
use crate::signing::SignatureError;
use crate::validate::ValidationError;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Client id empty or not a valid header value.
    #[error("invalid client id: {0}")]
    InvalidClientId(&'static str),
    /// The merchant private key could not be loaded.
    #[error("merchant private key: {0}")]
    PrivateKey(#[source] KeyError),
    /// Alipay's public key could not be loaded.
    #[error("Alipay public key: {0}")]
    PublicKey(#[source] KeyError),
    /// The base URL is not an http(s) origin.
    #[error("invalid base URL: {0}")]
    InvalidBaseUrl(String),
    /// The HTTP client could not be created.
    #[error("HTTP client: {0}")]
    Http(String),
}

/// Why a call did not produce a verified answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request failed validation and was not sent.
    #[error("invalid request: {0}")]
    Invalid(#[from] ValidationError),
    /// The request could not be serialised or signed; not sent.
    #[error("request could not be built: {0}")]
    Build(String),
    /// No connection could be made (refused, DNS, TLS, connect timeout); not sent.
    #[error("could not connect to Alipay: {0}")]
    Connect(String),
    /// No complete answer within the timeout after the request was sent: Alipay may have acted.
    #[error("no answer from Alipay within {0:?}")]
    Timeout(Duration),
    /// The connection failed after the request was (possibly) sent, e.g. closed without a response.
    #[error("connection to Alipay lost: {0}")]
    Transport(String),
    /// A non-200 HTTP status.
    #[error("HTTP status {status} from Alipay")]
    Http {
        /// The status code.
        status: u16,
    },
    /// The answer's signature is missing, partial or wrong; it cannot be trusted.
    #[error("response signature: {0}")]
    Signature(#[source] SignatureError),
    /// The verified answer is not the expected JSON.
    #[error("response could not be decoded: {0}")]
    Decode(String),
}

impl CallError {
    /// True when Alipay may have processed the request: the caller must inquire (or retry with the same
    /// idempotency key) before concluding anything. False only when the request surely never took effect.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            CallError::Invalid(_) | CallError::Build(_) | CallError::Connect(_) => false,
            CallError::Http { status } => *status >= 500,
            CallError::Timeout(_)
            | CallError::Transport(_)
            | CallError::Signature(_)
            | CallError::Decode(_) => true,
        }
    }

    /// A stable short name for records and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Invalid(_) => "invalid",
            CallError::Build(_) => "build",
            CallError::Connect(_) => "connect",
            CallError::Timeout(_) => "timeout",
            CallError::Transport(_) => "transport",
            CallError::Http { .. } => "http",
            CallError::Signature(_) => "signature",
            CallError::Decode(_) => "decode",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_unknown_per_variant() {
        assert!(!CallError::Connect("refused".into()).outcome_unknown());
        assert!(!CallError::Build("x".into()).outcome_unknown());
        assert!(CallError::Timeout(Duration::from_secs(1)).outcome_unknown());
        assert!(CallError::Transport("closed".into()).outcome_unknown());
        assert!(CallError::Signature(SignatureError::Invalid).outcome_unknown());
        assert!(CallError::Decode("x".into()).outcome_unknown());
        assert!(CallError::Http { status: 502 }.outcome_unknown());
        assert!(!CallError::Http { status: 404 }.outcome_unknown());
    }
}
