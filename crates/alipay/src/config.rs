//! Client configuration. Keys are held as text and parsed once by [`crate::AlipayClient::new`]; `Debug` redacts
//! them so a logged config never leaks a private key.

use std::fmt;
use std::time::Duration;

/// North America gateway (recommended by the docs for most merchants outside Asia/Europe).
pub const GATEWAY_NORTH_AMERICA: &str = "https://open-na-global.alipay.com";
/// Southeast Asia gateway.
pub const GATEWAY_SOUTHEAST_ASIA: &str = "https://open-sea-global.alipay.com";
/// Europe gateway.
pub const GATEWAY_EUROPE: &str = "https://open-de-global.alipay.com";
/// Gateway for US-domiciled merchants.
pub const GATEWAY_US_DOMICILED: &str = "https://open.antglobal-us.com";

/// Which path prefix requests use. Chosen explicitly rather than guessed from a `SANDBOX_` client id (as the SDKs
/// do), so a misnamed client can never silently hit the wrong environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPrefix {
    /// `/ams/api` — production, and in-store payments in every environment.
    Production,
    /// `/ams/sandbox/api` — Alipay's sandbox for online payments.
    Sandbox,
}

impl PathPrefix {
    /// The prefix string.
    pub fn as_str(self) -> &'static str {
        match self {
            PathPrefix::Production => "/ams/api",
            PathPrefix::Sandbox => "/ams/sandbox/api",
        }
    }

    /// The prefix for a call: in-store payments stay on `/ams/api` even in the sandbox (reference §1.7).
    pub fn for_call(self, in_store: bool) -> PathPrefix {
        if in_store {
            PathPrefix::Production
        } else {
            self
        }
    }
}

/// Everything needed to talk to one Alipay merchant account.
#[derive(Clone)]
pub struct ClientConfig {
    /// Merchant client id (`client-id` header).
    pub client_id: String,
    /// Merchant private key: PEM or bare base64, PKCS#8 or PKCS#1.
    pub merchant_private_key: String,
    /// Alipay's public key: PEM or bare base64, SubjectPublicKeyInfo or PKCS#1.
    pub alipay_public_key: String,
    /// `keyVersion` sent in the signature header.
    pub key_version: u32,
    /// Scheme and host (and port), e.g. [`GATEWAY_NORTH_AMERICA`] or a local sandbox URL.
    pub base_url: String,
    /// Path prefix for online calls.
    pub path_prefix: PathPrefix,
    /// Whole-call timeout (connect, send, wait, read).
    pub request_timeout: Duration,
    /// TCP/TLS connect timeout; a call that fails here surely never reached Alipay.
    pub connect_timeout: Duration,
}

impl ClientConfig {
    /// Default whole-call timeout.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
    /// Default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A config with key version 1, the production prefix and default timeouts.
    pub fn new(
        client_id: impl Into<String>,
        merchant_private_key: impl Into<String>,
        alipay_public_key: impl Into<String>,
        base_url: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            merchant_private_key: merchant_private_key.into(),
            alipay_public_key: alipay_public_key.into(),
            key_version: 1,
            base_url: base_url.into(),
            path_prefix: PathPrefix::Production,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Sets the path prefix.
    pub fn with_path_prefix(mut self, prefix: PathPrefix) -> Self {
        self.path_prefix = prefix;
        self
    }

    /// Sets the key version.
    pub fn with_key_version(mut self, version: u32) -> Self {
        self.key_version = version;
        self
    }

    /// Sets the whole-call timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("client_id", &self.client_id)
            .field("merchant_private_key", &"[redacted]")
            .field("alipay_public_key", &"[redacted]")
            .field("key_version", &self.key_version)
            .field("base_url", &self.base_url)
            .field("path_prefix", &self.path_prefix)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_keys() {
        let c = ClientConfig::new("C", "PRIVATE-SECRET", "PUBLIC-SECRET", GATEWAY_EUROPE);
        let d = format!("{c:?}");
        assert!(!d.contains("PRIVATE-SECRET"));
        assert!(!d.contains("PUBLIC-SECRET"));
        assert!(d.contains("open-de-global"));
    }

    #[test]
    fn in_store_stays_on_production_prefix() {
        assert_eq!(PathPrefix::Sandbox.for_call(true).as_str(), "/ams/api");
        assert_eq!(
            PathPrefix::Sandbox.for_call(false).as_str(),
            "/ams/sandbox/api"
        );
        assert_eq!(PathPrefix::Production.for_call(false).as_str(), "/ams/api");
    }
}
